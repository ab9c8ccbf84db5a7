"""The mixer: the pull-model Source that turns a plan and its clips into sample blocks.

The sound card's callback, the file sink and the text clock all pull from `Mixer.fill`.
Its only clock is its sample counter: the plan clock (``position_frames``) advances only
while the plan plays, and a separate output counter (``output_frames``) counts every frame
written, including inserted audio (the resume lead-in, the stop-pain message) that never
shifts the plan's own frame positions.

`fill` follows python-sounddevice's callback contract: it fills the whole buffer, takes
no lock that can block (commands arrive through a `queue.SimpleQueue` drained with
``get_nowait``), logs nothing, touches no file, and reuses preallocated scratch buffers.
All state changes happen at exact frames, so any block size gives identical output.
"""

from __future__ import annotations

import bisect
import collections
import queue
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, NamedTuple

import numpy as np

from voicecoach.commands import Command
from voicecoach.dsp import CEILING, PeakLimiter
from voicecoach.outcome import Outcome
from voicecoach.phrases import PAIN_QUESTION, RESUMING, SAFETY_MESSAGE, countdown_text
from voicecoach.schedule import Plan, PlannedCue, tone_lead_frames
from voicecoach.timeline import Cue

FADE_S = 0.005
# After "stop, pain" fades the session out: a breath of silence, the safety message,
# a pause to take it in, then the pain question.
STOP_SILENCE_S = 0.25
PAIN_QUESTION_GAP_S = 0.5
# After "Resuming...": a pause before the fresh countdown (inside work) or before the
# session continues (outside work).
RESUME_GAP_S = 0.5
RESUME_COUNTDOWN = 3
INITIAL_BLOCK_FRAMES = 4096
# Catching up after the device lost time (an underrun): the plan skips ahead only inside a
# stretch of silence at least this long outside work, never in the beat of a countdown,
# and leaves at least CATCH_UP_KEEP_S of it, so no word, tone or hold is ever cut.
CATCH_UP_MIN_GAP_S = 1.0
CATCH_UP_KEEP_S = 0.5


class _Sounding(StrEnum):
    """What the output is playing."""

    SILENCE = "silence"  # paused, or the session is over
    PLAN = "plan"  # the plan, on the plan clock
    INSERT = "insert"  # an inserted sequence (resume lead-in, stop-pain message)


# `fill` tests what is sounding several times a block, and Python 3.11 loads an enum
# member as a class attribute several times slower than a module global.
_SILENCE, _PLAN, _INSERT = _Sounding.SILENCE, _Sounding.PLAN, _Sounding.INSERT
_PAUSING = frozenset({Command.PAUSE, Command.PAUSE_ONLY, Command.RESUME})


class _OnSilence(StrEnum):
    """What a fade-out is for: done once it reaches silence."""

    PAUSE = "pause"
    JUMP = "jump"  # to the segment "next" or "back" chose
    STOP = "stop"  # stop, pain: the safety message and the pain question follow
    QUIT = "quit"


class _AfterInsert(StrEnum):
    """What follows an inserted sequence."""

    RESTART_WORK = "restart_work"  # the work bout again from its start (resume inside work)
    START = "start"  # the plan from its first frame (after the lead-in of the device)
    CONTINUE = "continue"  # the plan where it was paused
    FINISH = "finish"  # the end of the session (after the stop-pain message)


def fade_frames(samplerate: int) -> int:
    """Frames of a fade (about 5 ms): short enough to feel immediate, long enough not to click."""
    return max(1, round(FADE_S * samplerate))


@dataclass(frozen=True, slots=True)
class StopReport:
    """Where "stop, pain" stopped the session.

    ``seconds`` is how far into the current work segment (0 outside work), on the plan
    clock; ``paused`` says the session was paused (or in its resume lead-in) at the time.
    """

    exercise: int | None
    name: str | None
    set: int | None
    rep: int | None
    side: str | None
    phase: str
    seconds: float
    plan_frame: int
    segment_index: int
    paused: bool


class MixerState(NamedTuple):
    """Where the mixer is, published whole by one assignment at the end of every `Mixer.fill`.

    Other threads read `Mixer.state` once and then its fields, so that they never mix
    values from two different blocks. A NamedTuple rather than a frozen dataclass: it is
    built once per block in the audio callback, and costs a fifth as much.
    """

    position_frames: int  # the plan clock
    output_frames: int  # every frame written, inserted audio included
    segment_index: int  # the plan segment the plan clock is in
    paused: bool
    finished: bool
    # How the session ends: set by a quit or stop-pain at once (while it fades out),
    # and `Outcome.COMPLETED` at the end of the plan; ``None`` before.
    outcome: Outcome | None
    ended_at_output_frame: int | None  # where the last frame of the session went
    stop_report: StopReport | None  # set by stop-pain


@dataclass(frozen=True, slots=True)
class WorkEntry:
    """A work segment that was played: completed, or cut short by stop-pain or quit."""

    segment_index: int
    exercise: int | None
    name: str | None
    set: int | None
    rep: int | None
    side: str | None
    seconds: float
    completed: bool


@dataclass(frozen=True, slots=True)
class CatchUp:
    """Plan frames skipped in a silent stretch to make up for time the device lost.

    Negative ``frames`` replay that much of the silence instead: the device gained time
    (a stream that took over from another started early).
    """

    output_frame: int  # where in the output the skip happened
    plan_frame: int  # the plan clock before the skip
    frames: int  # how many plan frames were skipped


@dataclass(frozen=True, slots=True)
class _Item:
    """One sound of an inserted sequence, at ``start``..``end`` frames into the sequence."""

    start: int
    end: int
    audio: np.ndarray | None
    role: str
    kind: Literal["speech", "tone"]
    key: str


@dataclass(frozen=True, slots=True)
class _Insert:
    """Audio played outside the plan clock (resume lead-in, stop-pain message)."""

    items: tuple[_Item, ...]
    frames: int


def _as_clip(clip: np.ndarray | int) -> tuple[np.ndarray | None, int]:
    """A clip as (float32 mono array or ``None`` for silence, length in frames)."""
    if isinstance(clip, (int, np.integer)):
        return None, int(clip)
    audio = np.ascontiguousarray(np.asarray(clip, dtype=np.float32).reshape(-1))
    return audio, len(audio)


class Mixer:
    """Plays a `Plan`: mixes its clips block by block and obeys player commands.

    Parameters
    ----------
    plan
        The session on the sample clock; the mixer runs at ``plan.samplerate``.
    clips
        Speech clips keyed by text: float32 mono arrays, shape ``(frames,)``, at
        ``plan.samplerate``; or an int, meaning silence of that many frames (text mode).
    tones
        Earcons keyed by tone name, float32 mono arrays at ``plan.samplerate``.
    channels
        Output channels; the mono mix is copied to each.
    extra
        Clips for `phrases.RESUMING`, `phrases.SAFETY_MESSAGE`, `phrases.PAIN_QUESTION` and
        the countdown texts (`phrases.countdown_text`). A missing one is silent.

    Notes
    -----
    Readable from other threads: ``state``, a `MixerState` replaced at the end of each
    `fill`; ``work_log``, the `WorkEntry` list; and ``events``, a deque of
    ``(output_frame, plan_frame, PlannedCue)`` appended when a cue begins sounding.
    Inserted sounds appear there too, with roles ``"resume"``, ``"countdown"``,
    ``"safety"`` and ``"pain_question"``; their ``PlannedCue`` spans the plan frame
    where it was inserted plus the sound's length. A listener uses the lengths to know
    when the coach is speaking.
    ``limiter.limited_frames`` counts the output frames the safety limiter turned down.
    """

    def __init__(
        self,
        plan: Plan,
        clips: Mapping[str, np.ndarray | int],
        tones: Mapping[str, np.ndarray],
        *,
        channels: int = 2,
        extra: Mapping[str, np.ndarray | int] | None = None,
    ) -> None:
        if channels < 1:
            raise ValueError(f"channels must be at least 1, got {channels}")
        extra = {} if extra is None else extra
        self.plan = plan
        self.samplerate = plan.samplerate
        self.channels = channels
        sr = plan.samplerate
        self._fade = fade_frames(sr)
        ramp = np.arange(1, self._fade + 1, dtype=np.float64) / self._fade
        # Gain after j + 1 frames of a fade: up to exactly 1, down to exactly 0.
        self._up = ramp.astype(np.float32)
        self._down = (1.0 - ramp).astype(np.float32)

        sounds: dict[tuple[str, str], np.ndarray | None] = {}
        for text, clip in clips.items():
            sounds["speech", text] = _as_clip(clip)[0]
        for name, tone in tones.items():
            sounds["tone", name] = _as_clip(tone)[0]
        self._events = plan.events
        self._starts = [e.start_frame for e in plan.events]
        self._ends = [e.end_frame for e in plan.events]
        self._audio: list[np.ndarray | None] = []
        for ev in plan.events:
            if (ev.kind, ev.key) not in sounds:
                raise KeyError(f"no {ev.kind} clip for {ev.key!r}")
            audio = sounds[ev.kind, ev.key]
            self._audio.append(None if audio is None else audio[: ev.end_frame - ev.start_frame])
        self._longest = max(
            (e - s for s, e in zip(self._starts, self._ends, strict=True)), default=0
        )
        # _sounding_until[j]: the latest end of the events before event j, so that "is
        # anything sounding at the plan clock?" is one lookup when catching up.
        # _may_catch_up[j]: the silence before event j is not a countdown's beat.
        self._sounding_until = [0]
        self._may_catch_up = [True]
        last_role = ""
        for ev in plan.events:
            if ev.end_frame >= self._sounding_until[-1]:
                last_role = ev.cue.role
            self._may_catch_up[-1] = self._may_catch_up[-1] and ev.cue.role != "countdown"
            self._sounding_until.append(max(self._sounding_until[-1], ev.end_frame))
            self._may_catch_up.append(last_role != "countdown")
        self._catch_up_gap = round(CATCH_UP_MIN_GAP_S * sr)
        self._catch_up_keep = round(CATCH_UP_KEEP_S * sr)
        self._seg_starts = [s.start_frame for s in plan.segments]
        # A start tone leads the work's first word (schedule.TONE_LEAD_S), so it sounds a
        # little before the work: a hold restarted after a pause restarts from its tone.
        work_at = {
            ps.segment.start: ps.start_frame for ps in plan.segments if ps.segment.phase == "work"
        }
        self._restart_from: dict[int, int] = {}
        for ev in plan.events:
            ws = work_at.get(ev.cue.at)
            if ev.cue.role == "start" and ws is not None and ev.start_frame < ws:
                self._restart_from[ws] = ev.start_frame

        self._extra = extra
        self._tick = _as_clip(tones["tick"]) if "tick" in tones else (None, 0)
        self._resume_work = self._resume_insert(countdown=True)
        self._resume_rest = self._resume_insert(countdown=False)
        self._stop_insert = self._build_stop_insert(extra)

        self._commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._deferred: collections.deque[Command] = collections.deque()
        self._mono = np.zeros(INITIAL_BLOCK_FRAMES, dtype=np.float32)
        self.limiter = PeakLimiter(sr, CEILING, INITIAL_BLOCK_FRAMES)

        # Playback state (audio thread only).
        self._src = _PLAN
        self._pos = 0
        self._seg = 0
        self._played = False  # the plan clock has advanced inside the current segment
        self._next_ev = 0
        self._active: list[int] = []
        self._ramp = 0  # +1 fading in, -1 fading out, 0 steady
        self._ramp_pos = 0
        self._on_silent = _OnSilence.PAUSE
        self._jump_to = 0
        self._insert: _Insert | None = None
        self._ins_pos = 0
        self._after_insert = _AfterInsert.CONTINUE
        self._resume_at = 0
        self._terminal = False
        self._paused = False
        self._finished = False
        self._outcome: Outcome | None = None
        self._out = 0  # output frames before the current block
        self._ended_at: int | None = None
        self._stop_report: StopReport | None = None
        # Frames the device lost that the plan has not made up yet (negative: gained).
        self._behind = 0

        # Read by other threads.
        self.state = MixerState(0, 0, 0, False, False, None, None, None)
        self.work_log: list[WorkEntry] = []
        self.catch_ups: list[CatchUp] = []
        self.events: collections.deque[tuple[int, int, PlannedCue]] = collections.deque()

    # --- Inserted sequences, built once -----------------------------------------------

    def _resume_insert(self, *, countdown: bool, lead_in: int = 0) -> _Insert:
        sr = self.samplerate
        extra, tick = self._extra, self._tick
        items: list[_Item] = []
        t = lead_in
        if RESUMING in extra:
            audio, n = _as_clip(extra[RESUMING])
            items.append(_Item(t, t + n, audio, "resume", "speech", RESUMING))
            t += n + round(RESUME_GAP_S * sr)
        if not countdown:
            return _Insert(tuple(items), t)
        # Each tick leads its number, as in the plan (schedule.TONE_LEAD_S): a tone on top
        # of a word masks it.
        lead = tone_lead_frames(tick[1], sr)
        for k in range(RESUME_COUNTDOWN, 0, -1):
            if tick[1] > 0:
                items.append(_Item(t, t + tick[1], tick[0], "countdown", "tone", "tick"))
            text = countdown_text(k)
            if text in extra:
                audio, n = _as_clip(extra[text])
                items.append(_Item(t + lead, t + lead + n, audio, "countdown", "speech", text))
            t += sr
        return _Insert(tuple(items), t)

    def _build_stop_insert(self, extra: Mapping[str, np.ndarray | int]) -> _Insert:
        sr = self.samplerate
        items: list[_Item] = []
        t = round(STOP_SILENCE_S * sr)
        for role, text in (("safety", SAFETY_MESSAGE), ("pain_question", PAIN_QUESTION)):
            if text in extra:
                audio, n = _as_clip(extra[text])
                items.append(_Item(t, t + n, audio, role, "speech", text))
                t += n + round(PAIN_QUESTION_GAP_S * sr)
        # The session ends when the question has been asked, not after the gap.
        end = items[-1].end if items else t
        return _Insert(tuple(items), end)

    # --- Commands ---------------------------------------------------------------------

    def send(self, command: Command) -> None:
        """Queue a command for the next block (thread-safe, never blocks)."""
        self._commands.put(command)

    def lead_in(self, frames: int) -> None:
        """Play ``frames`` of silence before the session starts and before each "Resuming".

        A Bluetooth sink wakes up slowly and cuts the first syllables after a silence:
        the device sink calls this (from its first callback, with a length sized by the
        device's output latency) so that the first word is heard whole. Before the first
        `fill` it delays the whole plan; later, only what follows a resume.
        """
        frames = max(0, frames)
        self._resume_work = self._resume_insert(countdown=True, lead_in=frames)
        self._resume_rest = self._resume_insert(countdown=False, lead_in=frames)
        if frames and self._out == 0 and self._src is _PLAN and self._pos == 0:
            self._start_insert(_Insert((), frames), _AfterInsert.START)
            self._resume_at = 0

    def lost(self, frames: int) -> None:
        """The device played ``frames`` frames of silence that were not ours: catch up.

        Call it from the thread that calls `fill` (the sound card's callback), when the
        device reports an underrun. The plan skips that much of the next silent stretch
        outside work (see `CATCH_UP_MIN_GAP_S`), so every later cue sounds at its scheduled
        time again; nothing is skipped inside a word or a hold. Time lost while paused, in
        a resume lead-in or in the stop-pain message is not owed: the plan restarts from
        there anyway. Negative ``frames``: the device gained that much (a stream that took
        over from another started early); the plan replays as much of a silence.
        """
        if frames and self._src is _PLAN and not (self._paused or self._terminal):
            self._behind += frames

    def quiet_ahead(self, frames: int) -> bool:
        """Whether the plan is playing and nothing sounds for at least ``frames`` frames.

        A hint for another thread (the player swaps the device stream in such a stretch):
        it reads the audio thread's state without a lock, so it may be a block stale.
        """
        if self._src is not _PLAN or self._ramp or self._terminal or self._finished:
            return False
        pos, j = self._pos, self._next_ev
        if j > len(self._starts) or self._sounding_until[j] > pos:
            return False
        next_sound = self._starts[j] if j < len(self._starts) else self.plan.total_frames
        return next_sound - pos >= frames

    @property
    def behind_frames(self) -> int:
        """Frames lost to underruns that no silent stretch has made up yet (negative: gained)."""
        return self._behind

    def _catch_up(self, offset: int) -> None:
        """Skip plan frames owed to the device, if the plan clock is in a long enough silence."""
        ps = self.plan.segments[self._seg]
        if ps.segment.phase == "work":
            return
        pos = self._pos
        j = self._next_ev
        quiet_since = self._sounding_until[j]
        if quiet_since > pos or not self._may_catch_up[j]:
            return  # a word or tone is sounding, or this is a countdown's beat
        quiet_until = ps.end_frame
        if j < len(self._starts):
            quiet_until = min(quiet_until, self._starts[j])
        if quiet_until - quiet_since < self._catch_up_gap:
            return
        if self._behind > 0:
            skip = min(self._behind, quiet_until - pos - self._catch_up_keep)
            if skip <= 0:
                return
        else:
            # Ahead: replay silence already played, within this segment and this quiet
            # stretch; all of it at once, as soon as the plan is that far into it.
            behind_quiet = pos - max(quiet_since, ps.start_frame)
            if behind_quiet < min(-self._behind, self._catch_up_keep):
                return
            skip = max(self._behind, -behind_quiet)
        self.catch_ups.append(CatchUp(self._out + offset, pos, skip))
        self._behind -= skip
        self._seek(pos + skip, partial=True)

    def _drain(self) -> None:
        # empty() first: raising queue.Empty on every block would cost more than the mix.
        while not self._commands.empty():
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            self._apply(command, 0)

    def _gain(self) -> float:
        """The gain the output has reached right now (1 when no fade is running)."""
        if self._ramp > 0:
            return float(self._up[self._ramp_pos - 1]) if self._ramp_pos else 0.0
        if self._ramp < 0:
            return float(self._down[self._ramp_pos - 1]) if self._ramp_pos else 1.0
        return 1.0

    def _fade_out(self, then: _OnSilence) -> None:
        if self._ramp >= 0:
            gain = self._gain()
            self._ramp = -1
            # Start the fade where the current gain already is, so a fade never jumps.
            self._ramp_pos = min(self._fade, round((1.0 - gain) * self._fade))
        self._on_silent = then

    def _apply(self, command: Command, offset: int) -> None:
        """Act on ``command`` at frame ``offset`` of the current block."""
        if self._finished:
            return
        if self._terminal:
            # Pain outranks a quit still fading out: the safety message must be heard.
            if command is Command.STOP_PAIN and self._outcome is Outcome.QUIT:
                self._outcome = Outcome.STOP_PAIN
                self._report_stop(True, log=False)
                self._fade_out(_OnSilence.STOP)
            return
        if command is Command.STOP_PAIN or command is Command.QUIT:
            stop = command is Command.STOP_PAIN
            self._terminal = True
            self._outcome = Outcome.STOP_PAIN if stop else Outcome.QUIT
            self._report_stop(stop)
            then = _OnSilence.STOP if stop else _OnSilence.QUIT
            if self._src is _SILENCE:
                self._on_faded(then, offset)
            else:
                self._fade_out(then)
            return
        if self._ramp < 0:
            # A pause or jump is fading out: act on this once it is silent.
            self._deferred.append(command)
            return
        if command in _PAUSING:
            if not self._paused and command is not Command.RESUME:
                self._paused = True
                self._fade_out(_OnSilence.PAUSE)
            elif self._paused and command is not Command.PAUSE_ONLY:
                self._resume()
        elif (command is Command.NEXT or command is Command.BACK) and self.plan.segments:
            target = self._next_target() if command is Command.NEXT else self._back_target()
            if self._src is _SILENCE:
                self._seek(target, partial=False)
            else:
                self._jump_to = target
                self._fade_out(_OnSilence.JUMP)

    def _resume(self) -> None:
        self._paused = False
        self._behind = 0  # the plan is timed from the resume on
        seg = self.plan.segments[self._seg] if self.plan.segments else None
        if seg is not None and seg.segment.phase == "work":
            # The brace was let go: a fresh countdown, then the hold again from its start.
            self._start_insert(self._resume_work, _AfterInsert.RESTART_WORK)
            self._resume_at = self._restart_from.get(seg.start_frame, seg.start_frame)
        else:
            self._start_insert(self._resume_rest, _AfterInsert.CONTINUE)
            self._resume_at = self._pos
        self._ramp = 1
        self._ramp_pos = 0

    def _start_insert(self, insert: _Insert, then: _AfterInsert) -> None:
        self._src = _INSERT
        self._insert = insert
        self._ins_pos = 0
        self._after_insert = then

    def _on_faded(self, action: _OnSilence, offset: int) -> None:
        """The output has faded to silence (or was silent): do what the fade was for."""
        self._ramp = 0
        self._ramp_pos = 0
        if action is _OnSilence.PAUSE:
            self._src = _SILENCE
        elif action is _OnSilence.JUMP:
            self._src = _PLAN
            self._seek(self._jump_to, partial=False)
        elif action is _OnSilence.STOP:
            self._start_insert(self._stop_insert, _AfterInsert.FINISH)
        else:
            self._finish(offset)
            return
        while self._deferred and not self._finished:
            self._apply(self._deferred.popleft(), offset)
            if self._ramp < 0:
                return

    def _finish(self, offset: int) -> None:
        self._src = _SILENCE
        self._finished = True
        if self._outcome is None:
            self._outcome = Outcome.COMPLETED
        self._ended_at = self._out + offset

    # --- Where things are -------------------------------------------------------------

    def _seek(self, frame: int, *, partial: bool) -> None:
        """Move the plan clock to ``frame``; ``partial`` keeps sounds already under way."""
        self._pos = frame
        last = len(self._seg_starts) - 1
        self._seg = max(0, min(last, bisect.bisect_right(self._seg_starts, frame) - 1))
        self._next_ev = bisect.bisect_left(self._starts, frame)
        if partial:
            first = bisect.bisect_left(self._starts, frame - self._longest)
            self._active = [j for j in range(first, self._next_ev) if self._ends[j] > frame]
            return
        self._played = False
        self._active = []
        self._behind = 0  # a jump starts the schedule afresh from where it lands
        # Landing on a segment start: the stop tone that closed the work before it
        # belongs to what was left, not to what comes next.
        while (
            self._next_ev < len(self._starts)
            and self._starts[self._next_ev] == frame
            and self._events[self._next_ev].cue.role == "stop"
        ):
            self._next_ev += 1

    def _next_target(self) -> int:
        segs = self.plan.segments
        current = segs[self._seg].segment.exercise
        for ps in segs[self._seg + 1 :]:
            if ps.segment.exercise is not None and ps.segment.exercise != current:
                return ps.start_frame
        for ps in segs[self._seg + 1 :]:
            if ps.segment.phase == "outro":
                return ps.start_frame
        return self.plan.total_frames

    def _back_target(self) -> int:
        segs = self.plan.segments
        where: tuple[int | None, int | None] | None = None
        for ps in reversed(segs[: self._seg + 1]):
            s = ps.segment
            if s.phase == "work" or (s.set is not None and s is segs[self._seg].segment):
                where = (s.exercise, s.set)
                break
        if where is None:
            return segs[self._seg].start_frame
        for ps in reversed(segs[: self._seg + 1]):
            s = ps.segment
            if s.phase == "get_ready" and (s.exercise, s.set) == where:
                return ps.start_frame
        return segs[self._seg].start_frame

    def _report_stop(self, pain: bool, *, log: bool = True) -> None:
        """Record where the session stopped, and the work cut short, for the history."""
        sr = self.samplerate
        # A resume lead-in is a pause; the device's lead-in before the start is not.
        paused = self._paused or (
            self._src is _INSERT and self._after_insert is not _AfterInsert.START
        )
        if not self.plan.segments:
            if pain:
                self._stop_report = StopReport(
                    None, None, None, None, None, "outro", 0.0, self._pos, 0, paused
                )
            return
        ps = self.plan.segments[self._seg]
        s = ps.segment
        into = self._pos - ps.start_frame if s.phase == "work" else 0
        if pain:
            self._stop_report = StopReport(
                s.exercise,
                s.name,
                s.set,
                s.rep,
                s.side,
                s.phase,
                into / sr,
                self._pos,
                self._seg,
                paused,
            )
        if log and into > 0:
            self.work_log.append(
                WorkEntry(self._seg, s.exercise, s.name, s.set, s.rep, s.side, into / sr, False)
            )

    # --- Filling blocks ---------------------------------------------------------------

    def _settle(self, offset: int) -> None:
        """Apply every transition due at the current frame (boundary reached, fade done)."""
        while not self._finished:
            if self._src is _PLAN and self._plan_boundary(offset):
                continue
            if self._src is _INSERT and self._insert_boundary(offset):
                continue
            if self._ramp != 0 and self._ramp_pos >= self._fade:
                if self._ramp > 0:
                    self._ramp = 0
                    self._ramp_pos = 0
                else:
                    self._on_faded(self._on_silent, offset)
                continue
            return

    def _plan_boundary(self, offset: int) -> bool:
        """Cross a segment end or reach the end of the plan; ``True`` if anything changed."""
        segs = self.plan.segments
        if self._seg < len(segs) and self._pos >= segs[self._seg].end_frame:
            ps = segs[self._seg]
            if ps.segment.phase == "work" and self._played:
                s = ps.segment
                self.work_log.append(
                    WorkEntry(
                        self._seg,
                        s.exercise,
                        s.name,
                        s.set,
                        s.rep,
                        s.side,
                        ps.frames / self.samplerate,
                        True,
                    )
                )
            if self._seg + 1 < len(segs):
                self._seg += 1
                self._played = False
                return True
        if self._pos < self.plan.total_frames:
            return False
        if self._ramp < 0:
            # The session ended inside a fade-out: do what the fade was for right away
            # (a stop-pain message must still be spoken).
            self._on_faded(self._on_silent, offset)
        else:
            self._finish(offset)
        return True

    def _insert_boundary(self, offset: int) -> bool:
        """Leave an inserted sequence that has played out; ``True`` if it did."""
        assert self._insert is not None
        if self._ins_pos < self._insert.frames:
            return False
        then = self._after_insert
        self._insert = None
        if then is _AfterInsert.FINISH:
            self._finish(offset)
            return True
        self._src = _PLAN
        if then is _AfterInsert.RESTART_WORK or then is _AfterInsert.START:
            self._seek(self._resume_at, partial=False)
        else:
            self._seek(self._resume_at, partial=True)
            # Sounds under way resume mid-clip: fade them in, never click.
            self._ramp = 1
            self._ramp_pos = 0
        return True

    def _mix_plan(self, mono: np.ndarray, offset: int, frames: int) -> None:
        pos = self._pos
        end = pos + frames
        starts, ends, audio = self._starts, self._ends, self._audio
        active = self._active
        j = self._next_ev
        count = len(starts)
        while j < count and starts[j] < end:
            active.append(j)
            self.events.append((self._out + offset + starts[j] - pos, starts[j], self._events[j]))
            j += 1
        self._next_ev = j
        finished_any = False
        for e in active:
            s = starts[e]
            a = s if s > pos else pos
            b = ends[e] if ends[e] < end else end
            clip = audio[e]
            if clip is not None and b > a:
                # A clip shorter than its event is silent for the rest.
                lo, hi = a - s, min(b - s, len(clip))
                if hi > lo:
                    mono[offset + a - pos : offset + a - pos + hi - lo] += clip[lo:hi]
            if ends[e] <= end:
                finished_any = True
        if finished_any:
            self._active = [e for e in active if ends[e] > end]
        self._pos = end
        self._played = True

    def _mix_insert(self, mono: np.ndarray, offset: int, frames: int) -> None:
        assert self._insert is not None
        pos = self._ins_pos
        end = pos + frames
        for item in self._insert.items:
            if pos <= item.start < end:
                # Rare (a resume or a stop), so building the cue here costs nothing.
                cue = Cue(
                    self._pos / self.samplerate,
                    item.role,
                    item.key if item.kind == "speech" else None,
                    item.key if item.kind == "tone" else None,
                )
                self.events.append(
                    (
                        self._out + offset + item.start - pos,
                        self._pos,
                        # Outside the plan clock: the span says only how long it sounds.
                        PlannedCue(
                            cue, self._pos, self._pos + item.end - item.start, item.kind, item.key
                        ),
                    )
                )
            a = max(item.start, pos)
            b = min(item.end, end)
            if item.audio is not None and b > a:
                mono[offset + a - pos : offset + b - pos] += item.audio[
                    a - item.start : b - item.start
                ]
        self._ins_pos = end

    def fill(self, outdata: np.ndarray) -> bool:
        """Write the next ``len(outdata)`` frames of the session.

        Parameters
        ----------
        outdata
            float32 array, shape ``(frames, channels)`` (or ``(frames,)``), overwritten
            entirely: the mono mix through the safety limiter (never above `CEILING`,
            -1 dBFS), in every channel; silence after the end.

        Returns
        -------
        bool
            ``False`` once the session is over (this block holds its last frames).
        """
        n = len(outdata)
        if n > len(self._mono):
            self._mono = np.zeros(n, dtype=np.float32)  # grows once, for a larger block
        mono = self._mono[:n]
        mono.fill(0.0)
        self._drain()
        i = 0
        while True:
            self._settle(i)
            if i >= n or self._finished or self._src is _SILENCE:
                break
            # Spans end at every frame where something changes, so the output does not
            # depend on how the stream is cut into blocks.
            k = n - i
            if self._ramp != 0:
                k = min(k, self._fade - self._ramp_pos)
            if self._src is _PLAN:
                if self._behind and self._ramp == 0:
                    self._catch_up(i)
                k = min(k, self.plan.segments[self._seg].end_frame - self._pos)
                self._mix_plan(mono, i, k)
            else:
                assert self._insert is not None
                k = min(k, self._insert.frames - self._ins_pos)
                self._mix_insert(mono, i, k)
            if self._ramp != 0:
                gains = self._up if self._ramp > 0 else self._down
                mono[i : i + k] *= gains[self._ramp_pos : self._ramp_pos + k]
                self._ramp_pos += k
            i += k
        # The last stage of every output (sound card, file, text clock): nothing above
        # -1 dBFS reaches the listener, whatever the clips and however they overlap.
        self.limiter.process(mono)
        if outdata.ndim == 2:
            outdata[:] = mono[:, None]
        else:
            outdata[:] = mono
        self._out += n
        # Publish for other threads: one attribute store (atomic under the GIL), no lock.
        self.state = MixerState(
            self._pos,
            self._out,
            self._seg,
            self._paused,
            self._finished,
            self._outcome,
            self._ended_at,
            self._stop_report,
        )
        return not self._finished
