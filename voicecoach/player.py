"""A live session: the mixer on a sink, keys forwarded to it, the display and the history."""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from voicecoach.commands import Command
from voicecoach.dropouts import Dropouts
from voicecoach.keys import (
    ENTER,
    NO_TTY_MESSAGE,
    CbreakKeys,
    Key,
    KeyReader,
    PainEntry,
    command_for,
)
from voicecoach.mixer import Mixer, StopReport, WorkEntry
from voicecoach.outcome import Outcome
from voicecoach.paths import cache_dir
from voicecoach.quiet import stderr_to
from voicecoach.schedule import Plan, PlannedCue
from voicecoach.timeline import Timeline
from voicecoach.views import TextLog, TimelineViews

if TYPE_CHECKING:
    from voicecoach.hearing import CoachSpeech
    from voicecoach.listening import Listener
    from voicecoach.mpris import MediaKeys
    from voicecoach.nowplaying import NowPlaying, Tracks
    from voicecoach.recording import Recorder
    from voicecoach.sinks import DeviceSink, Gap
    from voicecoach.views import PlayerView

UI_PERIOD_S = 0.1
# A device that lost time this often gets a wider buffer. "low" latency (about 10 ms
# through PulseAudio) keeps a key to silence under 20 ms, but a busy 2-core machine can
# starve it: 40-52 underruns in a 142 s session, none with 30 ms. Gaps are counted, not
# underflow flags: a stream under load often flags a few while it starts, costing nothing.
WIDEN_AFTER_UNDERRUNS = 2
WIDE_LATENCY_S = 0.03
WIDEN_QUIET_S = 0.5  # the streams are swapped only where nothing sounds for this long
# Fixed 256-frame blocks (5.3 ms at 48 kHz): measured here, silence after Space or x
# comes at p99 18 ms (512 frames: 31 ms) for 8 % of a core (PortAudio's own tiny blocks
# at latency="low": 13 ms for 10 %).
BLOCK_FRAMES = 256
PAIN_ANSWER_TIMEOUT_S = 60.0
RESUME_KEY = "r"


@dataclass
class PlayResult:
    """How a session ended, where, and the pain rating given (if any)."""

    outcome: Outcome  # never RUNNING or CRASHED
    stop: StopReport | None = None
    pain_rating: int | None = None
    pain_recorded: bool = False
    interrupted: bool = False  # ended by Ctrl-C
    # Blocks the device asked for too late, the time it lost and how much was made up.
    dropouts: Dropouts = field(default_factory=Dropouts)
    # Ended by SIGTERM or SIGHUP: the status to exit with (128 + the signal), after the
    # summary, as the signal's default action would have.
    exit_status: int | None = None
    preview: bool = False
    # What the history did not get, for the summary ("" when everything was recorded).
    record_note: str = ""


def timeline_seconds(plan: Plan, timeline: Timeline, frame: int) -> float:
    """The timeline time shown for plan ``frame``: stretched lead-ins count down evenly."""
    i = plan.segment_index_at(frame)
    played = plan.segments[i]
    seg = played.segment
    if played.frames <= 0:
        return seg.start
    fraction = min(1.0, max(0.0, (frame - played.start_frame) / played.frames))
    return seg.start + fraction * seg.seconds


class Player:
    """Runs one session to its end: on a device (with a live display) or on the text clock."""

    def __init__(
        self,
        timeline: Timeline,
        plan: Plan,
        mixer: Mixer,
        recorder: Recorder,
        *,
        device: str | int | None = None,
        text: bool = False,
        speed: float = 1.0,
        lead_in: float | None = None,
        buffer: float | None = None,
        media_keys: bool = False,
        listener: Listener | None = None,
        coach: CoachSpeech | None = None,
        out: Callable[[str], None] | None = None,
    ) -> None:
        self.timeline = timeline
        self.plan = plan
        self.mixer = mixer
        self.recorder = recorder
        self.device = device
        self.text = text
        self.speed = speed
        self.out = out or (lambda line: print(line, file=sys.stderr))
        self.views = TimelineViews(timeline)
        # Publish the session to media keys and earbud buttons (MPRIS), with sound only.
        self.media_keys = media_keys and not text
        self.media: MediaKeys | None = None
        self.tracks: Tracks | None = None
        # --listen: spoken keywords, and what the coach says (so it never obeys itself).
        self.listener = listener
        self.coach = coach
        self.sink_latency = 0.0
        self.pain_keys: queue.SimpleQueue[Key] = queue.SimpleQueue()
        self.resume_requested = threading.Event()
        self.quit_requested = threading.Event()
        self.device_lost = False
        self.resume_error = ""
        self.lead_in = lead_in  # seconds of silence before the first word; None: by latency
        self.underflows = 0
        self.gaps: list[Gap] = []  # every device sink's gaps, once it is closed
        # The device's buffer in seconds; None: its lowest, widened after underruns.
        self.buffer = buffer
        self.widen_tried = buffer is not None  # a wider buffer was tried after underruns
        self.widened_to_s = 0.0  # the output latency the wider stream reported
        self.last_spoken = ""
        # Seconds into the work bout that "next" left, per plan segment: the skipped bout
        # is stored with the work actually done.
        self.skip_seconds: dict[int, float] = {}
        # "next" and "back" pressed, with the output frame at the key: text mode says
        # where they led once the mixer has acted on them.
        self.jumps: queue.SimpleQueue[tuple[Command, int]] = queue.SimpleQueue()

    # -- controls (called on the key, bus or listener thread: forwarded at once) ----------
    def on_key(self, key: Key) -> None:
        """Forward a key: a command to the mixer, or a digit to the pain question."""
        if self.mixer.state.outcome is Outcome.STOP_PAIN:
            self.pain_keys.put(key)
            return
        if self.device_lost and key.lower() == RESUME_KEY:
            self.resume_requested.set()
            return
        command = command_for(key)
        if command is not None:
            self.on_command(command)

    def on_command(self, command: Command) -> None:
        """Forward a command from any control: keys, media keys, the voice listener."""
        outcome = self.mixer.state.outcome
        if outcome is Outcome.STOP_PAIN:
            return  # the safety message plays; the pain question has the keys
        if self.device_lost:
            if command in (Command.PAUSE, Command.RESUME):
                self.resume_requested.set()  # a headset's play button: as r
            elif command is Command.QUIT or command is Command.STOP_PAIN:
                # The mixer must know: otherwise the silent drain below would run the rest
                # of the session and record it as completed.
                self.mixer.send(command)
                self.quit_requested.set()
            return
        jump = command is Command.NEXT or command is Command.BACK
        if jump and outcome is not None:
            return  # ending (quit fading out): the mixer ignores it, and so do we
        if command is Command.NEXT:
            self._note_skip()
        frame = self.mixer.state.output_frames
        self.mixer.send(command)
        if jump and self.text:  # the live panel shows where a jump led by itself
            self.jumps.put((command, frame))

    def _note_skip(self) -> None:
        """Remember how far into a work bout "next" came (read from the published position)."""
        state = self.mixer.state
        i = state.segment_index
        if not 0 <= i < len(self.plan.segments) or state.paused:
            return
        played = self.plan.segments[i]
        if played.segment.phase == "work":
            into = (state.position_frames - played.start_frame) / self.plan.samplerate
            self.skip_seconds[i] = max(0.0, into)

    def _skipped(self) -> list[WorkEntry]:
        """The work bouts passed over with "next" before the session ended, as unfinished work.

        Every work segment before where the session ended (all of them, once completed)
        that the mixer never logged was skipped. A bout begun again after "back" and then
        finished is logged, so a set done again is not a skip.
        """
        logged = {e.segment_index for e in self.mixer.work_log}
        segments = self.plan.segments
        state = self.mixer.state
        end = len(segments) if state.outcome is Outcome.COMPLETED else state.segment_index
        out = []
        for i, played in enumerate(segments[:end]):
            s = played.segment
            if s.phase == "work" and s.exercise is not None and i not in logged:
                out.append(
                    WorkEntry(
                        i,
                        s.exercise,
                        s.name,
                        s.set,
                        s.rep,
                        s.side,
                        self.skip_seconds.get(i, 0.0),
                        False,
                    )
                )
        return out

    # -- the session --------------------------------------------------------------------
    def run(self) -> PlayResult:
        """Play to the end; the terminal is restored and the session recorded however it ends.

        Ctrl-C ends the session as quit (``interrupted`` is set). SIGTERM and SIGHUP, which
        `CbreakKeys` turns into ``SystemExit`` with or without a terminal, also end it as quit:
        ``exit_status`` then holds the status to exit with once the summary is shown. The
        microphone (``listener``) is closed however it ends, a device that would not open too.
        """
        try:
            return self._run()
        finally:
            if self.listener is not None:
                self.listener.close()

    def _run(self) -> PlayResult:
        interrupted = False
        exiting: SystemExit | None = None
        rating: int | None = None
        with CbreakKeys() as keys:
            if not keys.available:
                self.out(NO_TTY_MESSAGE)
            reader = KeyReader(keys, self.on_key).start() if keys.available else None
            try:
                try:
                    if self.text:
                        self._run_text()
                    else:
                        self._run_device()
                except KeyboardInterrupt:
                    interrupted = True
                    self._quit_now()
                except SystemExit as request:
                    exiting = request
                    self._quit_now()
                self.recorder.sync(self.mixer)
                if (
                    self.mixer.state.outcome is Outcome.STOP_PAIN
                    and keys.available
                    and not interrupted
                    and exiting is None
                ):
                    try:
                        rating = self._ask_pain()
                    except KeyboardInterrupt:  # Ctrl-C at the question: no rating
                        interrupted = True
                    except SystemExit as request:
                        exiting = request
            except BaseException:
                # Nothing ever played (the sound device would not open): no session took
                # place, so none is left in the history.
                if self.mixer.state.output_frames == 0:
                    self.recorder.discard()
                raise
            finally:
                if reader is not None:
                    reader.stop(raise_error=False)
                # Even when an error ends the session, keep what was done and any pain
                # stop; the session itself then stays "running" (shown as crashed).
                self.recorder.sync(self.mixer)
        outcome = self._outcome()
        self.recorder.rate(rating)
        dropouts = self._dropouts()
        # Text mode has no device: nothing measured, nothing stored.
        self.recorder.end(outcome, self._skipped(), None if self.text else dropouts)
        stop = self.mixer.state.stop_report if outcome is Outcome.STOP_PAIN else None
        return PlayResult(
            outcome,
            stop,
            rating,
            self.recorder.pain_recorded,
            interrupted,
            dropouts,
            _exit_status(exiting),
            self.recorder.preview,
            self.recorder.note(),
        )

    def _dropouts(self) -> Dropouts:
        """The device's dropouts over the session: measured by the sinks, made up by the mixer."""
        sr = self.mixer.samplerate
        # Times it ran short: the gaps measured, which are reliable; PortAudio's underflow
        # flags are not (through PulseAudio a 70 ms stall flags none or one or several),
        # so they count only where no timing measured a gap.
        short = _shortfalls(self.gaps) or self.underflows
        return Dropouts(
            short,
            sum(g.frames for g in self.gaps) / sr,
            sum(c.frames for c in self.mixer.catch_ups) / sr,
            self.mixer.behind_frames / sr,
            self.widened_to_s,
        )

    def _quit_now(self) -> None:
        """End the session as quit after the sink stopped: the mixer logs the work cut short.

        The sink (device stream or text clock) is no longer pulling, so this thread may
        pull the few blocks the mixer needs to act on the command (a 5 ms fade).
        """
        self.mixer.send(Command.QUIT)
        self._drain_silently(max_frames=self.mixer.samplerate)

    def _outcome(self) -> Outcome:
        """How the session ended: the mixer's outcome, unless the device was lost before."""
        outcome = self.mixer.state.outcome
        if outcome is Outcome.STOP_PAIN:
            return outcome
        if self.device_lost and outcome is not Outcome.COMPLETED:
            return Outcome.DEVICE_LOST
        return outcome or Outcome.QUIT

    def _message(self) -> str:
        state = self.mixer.state
        if state.outcome is Outcome.STOP_PAIN:
            return f"Stopped for pain ({self._pain_saved()}). Release the brace and breathe easily."
        if self.device_lost:
            failed = f" (no luck: {self.resume_error})" if self.resume_error else ""
            return (
                f"Audio device lost{failed}: press {RESUME_KEY} to resume on the default "
                "device, q to quit"
            )
        if state.paused:
            return "Paused: Space to resume"
        if self.recorder.problem and not self.recorder.preview:
            # stderr is diverted while the panel is up: the panel must say it.
            return f"History: {self.recorder.problem}; this session is not being recorded"
        if self.listener is not None and self.listener.problem:
            return f"Not listening any more: {self.listener.problem}; the keys still work"
        return ""

    def _pain_saved(self) -> str:
        if self.recorder.pain_recorded:
            return "recorded"
        if self.recorder.pain_failed:
            return f"NOT recorded: {self.recorder.note()}"
        return "recording..."

    def _view(self) -> PlayerView:
        seconds = timeline_seconds(self.plan, self.timeline, self.mixer.state.position_frames)
        view = self.views.at(seconds, message=self._message(), last_spoken=self.last_spoken)
        if self.listener is not None and self.listener.listening:
            view = replace(view, listening=True)
        return view

    def _drain_events(self, on_event: Callable[[PlannedCue], None] | None = None) -> None:
        events = self.mixer.events
        sr = self.mixer.samplerate
        while events:
            out_frame, _, planned = events.popleft()
            speech = planned.kind == "speech"
            if speech:
                self.last_spoken = planned.key
            if self.coach is not None:
                # When it sounds: the frames still ahead of the device, plus its latency.
                # Tones too: pocketsphinx hears "stop" in the start tone's click.
                ahead = (out_frame - self.mixer.state.output_frames) / sr
                start = time.monotonic() + ahead + self.sink_latency
                length = (planned.end_frame - planned.start_frame) / sr
                self.coach.said(planned.key if speech else "", start, start + length)
            if on_event is not None:
                on_event(planned)

    def _run_device(self) -> None:

        # The CLI resolved the device a moment ago: no second PortAudio rescan.
        sink = self._open_sink(self.device, self._latency(), self.lead_in)
        # Closed on every way out (Ctrl-C even during start): after this returns or raises,
        # no audio thread pulls the mixer any more, so the caller may pull it itself.
        try:
            with stderr_to(cache_dir() / "audio.log"):
                sink.start()
                # The lead-in is playing: rich is imported meanwhile, not before it.
                from voicecoach.display import LiveDisplay

                with LiveDisplay() as display:
                    self._start_media_keys()
                    while not self.mixer.state.finished:
                        self.sink_latency = sink.latency
                        self.recorder.sync(self.mixer)
                        self._drain_events()
                        if sink.error and not self.device_lost:
                            self.device_lost = True
                            sink.close()
                        if self.device_lost:
                            sink = self._handle_lost_device(sink)
                            if self.quit_requested.is_set():
                                break
                        elif self._should_widen(sink):
                            sink = self._widen(sink)
                        display.update(self._view())
                        if self.media is not None:
                            self.media.update(self._now_playing())
                        time.sleep(UI_PERIOD_S)
                    self.recorder.sync(self.mixer)
                    display.update(self._view())
                    if self.mixer.state.finished and not self.device_lost:
                        sink.wait(timeout=1.0)
        finally:
            sink.close()
            self._tally(sink)
            self._stop_media_keys()
            if self.listener is not None:
                self.listener.close()  # the microphone is freed as the session ends

    def _start_media_keys(self) -> None:
        """Publish the session on the session bus, in the background (silent without one)."""
        if not self.media_keys:
            return
        from voicecoach.mpris import MediaKeys
        from voicecoach.nowplaying import Tracks

        self.tracks = Tracks(self.timeline)
        self.media = MediaKeys(self.on_command, self._now_playing()).start()

    def _stop_media_keys(self) -> None:
        if self.media is not None:
            self.media.update(self._now_playing())
            self.media.close()

    def _now_playing(self) -> NowPlaying:
        """What a media widget shows now (`voicecoach.nowplaying`)."""
        tracks = self.tracks
        assert tracks is not None  # set before the media keys start
        state = self.mixer.state
        seconds = timeline_seconds(self.plan, self.timeline, state.position_frames)
        ended = state.finished or state.outcome is not None
        if self.device_lost and not ended:
            # Waiting for a device: only "play" (as r) and "stop" (as q) do anything.
            now = tracks.at(seconds, paused=True)
            return replace(now, can_next=False, can_previous=False, can_pause=False)
        return tracks.at(seconds, paused=state.paused, ended=ended)

    def _tally(self, sink: DeviceSink) -> None:
        """Keep a closed sink's underflows and gaps for the session's dropouts."""
        self.underflows += sink.underflows
        self.gaps += sink.gaps

    def _open_sink(
        self,
        device: str | int | None,
        latency: str | float,
        lead_in: float | None,
        *,
        scan: bool = False,
    ) -> DeviceSink:
        """A device stream on the mixer; ``scan`` rescans PortAudio's devices first.

        The CLI resolved the device a moment ago, so only a lost device needs the rescan.
        """
        from voicecoach.sinks import DeviceSink

        return DeviceSink(
            self.mixer, device, scan=scan, latency=latency, blocksize=BLOCK_FRAMES, lead_in=lead_in
        )

    def _latency(self) -> str | float:
        """The buffer a new stream asks for: as chosen, else as widened, else the lowest."""
        if self.buffer is not None:
            return self.buffer
        return WIDE_LATENCY_S if self.widened_to_s else "low"

    def _should_widen(self, sink: DeviceSink) -> bool:
        return (
            not self.widen_tried
            and _shortfalls(sink.gaps) >= WIDEN_AFTER_UNDERRUNS
            and sink.latency < WIDE_LATENCY_S
            and self.mixer.quiet_ahead(round(WIDEN_QUIET_S * self.mixer.samplerate))
        )

    def _widen(self, sink: DeviceSink) -> DeviceSink:
        """Swap ``sink`` for one with a wider buffer, in a silence; the time between is a gap.

        The new stream opens before the old one closes, so a device that refuses a second
        stream keeps playing on the old one.
        """
        from voicecoach.errors import VoicecoachError

        self.widen_tried = True
        try:
            # No lead-in: the mixer keeps the first stream's for resumes.
            fresh = self._open_sink(sink.device, WIDE_LATENCY_S, 0.0)
        except VoicecoachError:
            return sink
        sink.drain()
        sink.close()
        self._tally(sink)
        fresh.start(follows=sink.next_frame_time)
        self.widened_to_s = fresh.latency
        return fresh

    def _handle_lost_device(self, sink: DeviceSink) -> DeviceSink:
        from voicecoach.errors import VoicecoachError

        if self.quit_requested.is_set():
            # No device to play on: run the mixer silently through its quit (or the
            # stop-pain message) so that the work cut short and a stop-pain report still
            # land in the history.
            self._drain_silently()
            return sink
        if not self.resume_requested.is_set():
            return sink
        self.resume_requested.clear()
        try:
            fresh = self._open_sink(None, self._latency(), self.lead_in, scan=True)
            fresh.start()
        except VoicecoachError as error:
            # stderr is diverted while the display runs: say it on the display.
            self.resume_error = str(error).splitlines()[0]
            return sink
        self.resume_error = ""
        self.device_lost = False
        self._tally(sink)
        # Resume with the usual lead-in: pause then resume, handled on the next block.
        self.mixer.send(Command.PAUSE)
        self.mixer.send(Command.PAUSE)
        return fresh

    def _drain_silently(self, max_frames: int | None = None) -> None:
        """Pull the mixer until it ends (or ``max_frames``); only while no sink pulls it."""
        import numpy as np

        if self.mixer.state.finished:
            return
        scratch = np.zeros((4096, self.mixer.channels), dtype=np.float32)
        pulled = 0
        while self.mixer.fill(scratch):
            pulled += len(scratch)
            if max_frames is not None and pulled >= max_frames:
                return

    def _run_text(self) -> None:
        from voicecoach.sinks import run_clock

        log = TextLog()
        paused = False
        acknowledged = False
        # A problem known before the start was said by the caller; say only new ones.
        problem_shown = bool(self.recorder.problem)
        pending: list[tuple[Command, int]] = []

        def show(planned: PlannedCue) -> None:
            log.cue(planned.cue)

        def on_block() -> None:
            nonlocal paused, acknowledged, problem_shown
            self.recorder.sync(self.mixer)
            m = self.mixer.state
            now = timeline_seconds(self.plan, self.timeline, m.position_frames)
            # Say every state change a key made, or the person cannot tell a key was
            # taken: nothing else is printed while paused.
            if m.paused != paused:
                paused = m.paused
                if paused:
                    log.event(now, "paused", "Space to resume")
                else:
                    log.event(now, "resumed")
            while not self.jumps.empty():
                pending.append(self.jumps.get_nowait())
            # A jump is done once a block after the key has been mixed (the fade is 5 ms).
            while pending and m.output_frames > pending[0][1]:
                command, _ = pending.pop(0)
                log.event(now, command.name.lower(), self._jump_text(command, now))
            self._drain_events(show)
            if (
                m.outcome is Outcome.STOP_PAIN
                and not acknowledged
                and (self.recorder.pain_recorded or self.recorder.pain_failed)
            ):
                acknowledged = True
                self.out(
                    f"Stopped for pain: {self._pain_saved()}. Release the brace and breathe easily."
                )
            if self.recorder.problem and not problem_shown and not self.recorder.preview:
                problem_shown = True
                self.out(f"warning: {self.recorder.error}; this session is not being recorded")

        run_clock(self.mixer, speed=self.speed, on_block=on_block)
        on_block()

    def _jump_text(self, command: Command, seconds: float) -> str:
        """Where "next" or "back" led: the exercise and set now starting."""
        view = self.views.at(seconds)
        where = view.exercise
        if where and view.set is not None:
            where += f", set {view.set}"
        if command is Command.NEXT:
            return f"skipped to {where}" if where else "skipped to the end"
        return f"back to the start of {where}" if where else "back"

    def _ask_pain(self) -> int | None:
        """Ask for a 0-10 rating on the number keys; Enter or a timeout skips."""
        self.out(
            "How bad is the pain, 0 to 10? Type a number (t or 1 then 0 for ten), Enter to skip."
        )
        entry = PainEntry()
        deadline = time.monotonic() + PAIN_ANSWER_TIMEOUT_S
        while not entry.done:
            left = deadline - time.monotonic()
            if left <= 0:
                entry.finish()
                break
            try:
                key = self.pain_keys.get(timeout=min(left, 1.5))
            except queue.Empty:
                if entry.pending:  # a lone "1" counts as one after a pause
                    entry.finish()
                continue
            entry.feed(key if key != "\n" else ENTER)
        if entry.rating is not None:
            self.out(f"Pain {entry.rating}/10 recorded. Rest, and go easier next time.")
        return entry.rating


def _shortfalls(gaps: list[Gap]) -> int:
    """How many times the device ran short: its measured gaps that lost time."""
    return sum(1 for gap in gaps if gap.frames > 0)


def _exit_status(request: SystemExit | None) -> int | None:
    """The exit status a ``SystemExit`` asked for (``None`` when there was none)."""
    if request is None:
        return None
    return request.code if isinstance(request.code, int) else 1
