"""A live session: the mixer on a sink, keys forwarded to it, the display and the history."""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from voicecoach.commands import Command
from voicecoach.display import LiveDisplay, TextLog, TimelineViews
from voicecoach.keys import ENTER, NO_TTY_MESSAGE, Key, KeyReader, PainEntry, RawKeys, command_for
from voicecoach.mixer import Mixer, StopReport
from voicecoach.paths import cache_dir
from voicecoach.quiet import stderr_to
from voicecoach.schedule import Plan
from voicecoach.timeline import Timeline

if TYPE_CHECKING:
    from voicecoach.history import History
    from voicecoach.model import Routine

UI_PERIOD_S = 0.1
# Fixed 256-frame blocks (5.3 ms at 48 kHz): measured here, silence after Space or x
# comes at p99 18 ms (512 frames: 31 ms) for 8 % of a core (PortAudio's own tiny blocks
# at latency="low": 13 ms for 10 %).
BLOCK_FRAMES = 256
PAIN_ANSWER_TIMEOUT_S = 60.0
RESUME_KEY = "r"


@dataclass
class PlayResult:
    """How a session ended, where, and the pain rating given (if any)."""

    outcome: str  # completed | quit | stop_pain | device_lost
    stop: StopReport | None = None
    pain_rating: int | None = None
    pain_recorded: bool = False
    interrupted: bool = False  # ended by Ctrl-C
    # Blocks the device asked for too late: each delays every later cue by its length.
    underflows: int = 0


class Recorder:
    """Mirrors the mixer's progress into the history: one transaction per event.

    Called from the player's loop (never from the audio callback), often enough that a
    stop-pain report is committed long before the safety message ends.
    """

    def __init__(self, history: History | None, session_id: int | None, routine: Routine) -> None:
        self.history = history
        self.session_id = session_id
        self.kinds = {ex.index: ex.kind for ex in routine.exercises}
        self.seen = 0
        self.stop_id: int | None = None

    def sync(self, mixer: Mixer) -> None:
        """Record work entries and the stop-pain report that appeared since the last call."""
        if self.history is None or self.session_id is None:
            return
        log = mixer.work_log
        while self.seen < len(log):
            entry = log[self.seen]
            if entry.exercise is not None:
                self.history.record_work(
                    self.session_id, exercise_index=entry.exercise,
                    exercise_name=entry.name or "", kind=self.kinds.get(entry.exercise, "hold"),
                    set=entry.set, rep=entry.rep, side=entry.side, seconds=entry.seconds,
                    completed=entry.completed)
            self.seen += 1
        stop = mixer.stop_report
        if stop is not None and mixer.outcome == "stop_pain" and self.stop_id is None:
            self.stop_id = self.history.record_pain_stop(
                self.session_id, exercise_index=stop.exercise, exercise_name=stop.name,
                set=stop.set, rep=stop.rep, side=stop.side, seconds_into_work=stop.seconds)

    @property
    def pain_recorded(self) -> bool:
        """True once the stop-pain report is committed."""
        return self.stop_id is not None

    def rate(self, rating: int | None) -> None:
        """Store the pain rating given after a stop."""
        if self.history is not None and self.stop_id is not None:
            self.history.set_pain_rating(self.stop_id, rating)

    def end(self, outcome: str) -> None:
        """Close the session with how it ended."""
        if self.history is not None and self.session_id is not None:
            self.history.end_session(self.session_id, outcome)


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

    def __init__(self, timeline: Timeline, plan: Plan, mixer: Mixer, recorder: Recorder, *,
                 device: str | int | None = None, text: bool = False, speed: float = 1.0,
                 out: Callable[[str], None] | None = None) -> None:
        self.timeline = timeline
        self.plan = plan
        self.mixer = mixer
        self.recorder = recorder
        self.device = device
        self.text = text
        self.speed = speed
        self.out = out or (lambda line: print(line, file=sys.stderr))
        self.views = TimelineViews(timeline)
        self.pain_keys: queue.SimpleQueue[Key] = queue.SimpleQueue()
        self.resume_requested = threading.Event()
        self.quit_requested = threading.Event()
        self.device_lost = False
        self.resume_error = ""
        self.underflows = 0
        self.last_spoken = ""
        self.seen_events = 0

    # -- keys (called on the key thread: forward at once for the lowest latency) --------
    def on_key(self, key: Key) -> None:
        """Forward a key: a command to the mixer, or a digit to the pain question."""
        if self.mixer.outcome == "stop_pain":
            self.pain_keys.put(key)
            return
        command = command_for(key)
        if self.device_lost:
            if key.lower() == RESUME_KEY:
                self.resume_requested.set()
            elif command is Command.QUIT or command is Command.STOP_PAIN:
                # The mixer must know: otherwise the silent drain below would run the rest
                # of the session and record it as completed.
                self.mixer.send(command)
                self.quit_requested.set()
            return
        if command is not None:
            self.mixer.send(command)

    # -- the session --------------------------------------------------------------------
    def run(self) -> PlayResult:
        """Play to the end; the terminal is restored and the session recorded however it ends.

        Ctrl-C ends the session as quit (``interrupted`` is set). SIGTERM and SIGHUP, which
        `RawKeys` turns into ``SystemExit``, also end it as quit, and the ``SystemExit`` is
        raised again once the history has the ending.
        """
        interrupted = False
        exiting: SystemExit | None = None
        rating: int | None = None
        with RawKeys() as keys:
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
                if self.mixer.outcome == "stop_pain" and keys.available and not interrupted \
                        and exiting is None:
                    try:
                        rating = self._ask_pain()
                    except KeyboardInterrupt:  # Ctrl-C at the question: no rating
                        interrupted = True
                    except SystemExit as request:
                        exiting = request
            finally:
                if reader is not None:
                    reader.stop(raise_error=False)
                # Even when an error ends the session, keep what was done and any pain
                # stop; the session itself then stays "running" (shown as crashed).
                self.recorder.sync(self.mixer)
        outcome = self._outcome()
        self.recorder.rate(rating)
        self.recorder.end(outcome)
        if exiting is not None:
            raise exiting
        return PlayResult(outcome, self.mixer.stop_report if outcome == "stop_pain" else None,
                          rating, self.recorder.pain_recorded, interrupted, self.underflows)

    def _quit_now(self) -> None:
        """End the session as quit after the sink stopped: the mixer logs the work cut short.

        The sink (device stream or text clock) is no longer pulling, so this thread may
        pull the few blocks the mixer needs to act on the command (a 5 ms fade).
        """
        self.mixer.send(Command.QUIT)
        self._drain_silently(max_frames=self.mixer.samplerate)

    def _outcome(self) -> str:
        if self.mixer.outcome == "stop_pain":
            return "stop_pain"
        if self.device_lost and self.mixer.outcome != "completed":
            return "device_lost"
        return self.mixer.outcome or "quit"

    def _message(self) -> str:
        m = self.mixer
        if m.outcome == "stop_pain":
            saved = "recorded" if self.recorder.pain_recorded else "recording..."
            return f"Stopped for pain ({saved}). Release the brace and breathe easily."
        if self.device_lost:
            failed = f" (no luck: {self.resume_error})" if self.resume_error else ""
            return (f"Audio device lost{failed}: press {RESUME_KEY} to resume on the default "
                    "device, q to quit")
        return "Paused: Space to resume" if m.paused else ""

    def _view(self):  # -> PlayerView
        seconds = timeline_seconds(self.plan, self.timeline, self.mixer.position_frames)
        return self.views.at(seconds, message=self._message(), last_spoken=self.last_spoken)

    def _drain_events(self, on_event: Callable[[object], None] | None = None) -> None:
        events = self.mixer.events
        while events:
            _, _, planned = events.popleft()
            if planned.kind == "speech":
                self.last_spoken = planned.key
            if on_event is not None:
                on_event(planned)

    def _run_device(self) -> None:
        from voicecoach.sinks import DeviceSink

        # The CLI resolved the device a moment ago: no second PortAudio rescan.
        sink = DeviceSink(self.mixer, self.device, scan=False, blocksize=BLOCK_FRAMES)
        # Closed on every way out (Ctrl-C even during start): after this returns or raises,
        # no audio thread pulls the mixer any more, so the caller may pull it itself.
        try:
            with stderr_to(cache_dir() / "audio.log"), LiveDisplay() as display:
                sink.start()
                while not self.mixer.finished:
                    self.recorder.sync(self.mixer)
                    self._drain_events()
                    if sink.error and not self.device_lost:
                        self.device_lost = True
                        sink.close()
                    if self.device_lost:
                        sink = self._handle_lost_device(sink)
                        if self.quit_requested.is_set():
                            break
                    display.update(self._view())
                    time.sleep(UI_PERIOD_S)
                self.recorder.sync(self.mixer)
                display.update(self._view())
                if self.mixer.finished and not self.device_lost:
                    sink.wait(timeout=1.0)
        finally:
            sink.close()
            self.underflows += sink.underflows

    def _handle_lost_device(self, sink):  # -> DeviceSink
        from voicecoach.errors import VoicecoachError
        from voicecoach.sinks import DeviceSink

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
            fresh = DeviceSink(self.mixer, None, blocksize=BLOCK_FRAMES)
            fresh.start()
        except VoicecoachError as error:
            # stderr is diverted while the display runs: say it on the display.
            self.resume_error = str(error).splitlines()[0]
            return sink
        self.resume_error = ""
        self.device_lost = False
        self.underflows += sink.underflows
        # Resume with the usual lead-in: pause then resume, handled on the next block.
        self.mixer.send(Command.PAUSE)
        self.mixer.send(Command.PAUSE)
        return fresh

    def _drain_silently(self, max_frames: int | None = None) -> None:
        """Pull the mixer until it ends (or ``max_frames``); only while no sink pulls it."""
        import numpy as np

        if self.mixer.finished:
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

        def show(planned: object) -> None:
            log.cue(planned.cue)  # type: ignore[attr-defined]

        def on_block() -> None:
            self.recorder.sync(self.mixer)
            self._drain_events(show)
            if self.mixer.outcome == "stop_pain" and self.recorder.pain_recorded \
                    and not getattr(self, "_acknowledged", False):
                self._acknowledged = True
                self.out("Stopped for pain: recorded. Release the brace and breathe easily.")

        run_clock(self.mixer, speed=self.speed, on_block=on_block)
        on_block()

    def _ask_pain(self) -> int | None:
        """Ask for a 0-10 rating on the number keys; Enter or a timeout skips."""
        self.out("How bad is the pain, 0 to 10? Type a number (t or 1 then 0 for ten), "
                 "Enter to skip.")
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
