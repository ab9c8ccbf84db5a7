"""The session's record: the mixer's progress mirrored into the history as it happens."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from voicecoach.dropouts import Dropouts
from voicecoach.history import HistoryError
from voicecoach.mixer import Mixer, StopReport, WorkEntry
from voicecoach.outcome import Outcome

if TYPE_CHECKING:
    from voicecoach.adapt import Dose
    from voicecoach.history import History
    from voicecoach.model import Routine

PREVIEW_NOTE = "preview: not recorded"


def is_preview(text: bool, speed: float) -> bool:
    """Whether a session is a preview: the text clock run faster (or slower) than real time.

    A preview is not training, so it never counts towards progression: nothing of it is
    recorded except a pain stop, which always counts.
    """
    return text and speed != 1.0


@dataclass(frozen=True)
class SessionInfo:
    """What the history stores about a session when it starts."""

    routine_path: str
    title: str
    timeline_hash: str
    # The file's doses before adaptation, keyed by `adapt.exercise_key`.
    written: Mapping[str, Dose] | None = None


class Recorder:
    """Mirrors the mixer's progress into the history: one transaction per event.

    Called from the player's loop (never from the audio callback), often enough that a
    stop-pain report is committed long before the safety message ends.

    A preview records nothing but a pain stop: its session row is created at the stop.
    A write that fails (read-only file, disk full, a lock held too long) never stops the
    session: work stops being recorded (``problem`` says why), a pain stop is still
    tried, and the session is closed as 'crashed' so its partial record never counts as
    completed training.
    """

    def __init__(
        self,
        history: History | None,
        routine: Routine,
        session: SessionInfo | None = None,
        *,
        preview: bool = False,
    ) -> None:
        self.history = history
        self.info = session
        self.preview = preview
        self.session_id: int | None = None
        self.kinds = {ex.index: ex.kind for ex in routine.exercises}
        self.seen = 0
        self.stop_id: int | None = None
        self.broken = False  # a write failed: this session's record is incomplete
        self.problem = ""  # why, in a few words ("disk full")
        self.error = ""  # why, with the file named
        self._stop: StopReport | None = None
        self._pain_tries = 0

    @property
    def recording(self) -> bool:
        """True while work is being recorded: a real session whose writes succeed."""
        return not self.preview and self.session_id is not None and not self.broken

    def start(self) -> None:
        """Record the start of a real session (a preview records nothing until a pain stop).

        Check ``problem`` afterwards: when it is set, the session will not be recorded.
        """
        if not self.preview:
            self._ensure_session()

    def _ensure_session(self) -> bool:
        if self.session_id is not None:
            return True
        if self.history is None or self.info is None:
            return False
        try:
            self.session_id = self.history.start_session(
                self.info.routine_path,
                self.info.title,
                self.info.timeline_hash,
                written=self.info.written,
            )
        except HistoryError as error:
            self._failed(error)
            return False
        return True

    def _failed(self, error: HistoryError) -> None:
        self.broken = True
        if not self.problem:
            self.problem, self.error = error.problem, str(error)

    def _write_work(self, entry: WorkEntry) -> bool:
        assert self.history is not None and self.session_id is not None
        assert entry.exercise is not None
        try:
            self.history.record_work(
                self.session_id,
                exercise_index=entry.exercise,
                exercise_name=entry.name or "",
                kind=self.kinds.get(entry.exercise, "hold"),
                set=entry.set or 1,
                rep=entry.rep,
                side=entry.side,
                seconds=entry.seconds,
                completed=entry.completed,
            )
        except HistoryError as error:
            self._failed(error)
            return False
        return True

    def sync(self, mixer: Mixer) -> None:
        """Record work entries and the stop-pain report that appeared since the last call."""
        if self.history is None:
            return
        log = mixer.work_log
        while self.recording and self.seen < len(log):
            entry = log[self.seen]
            if entry.exercise is not None and not self._write_work(entry):
                break
            self.seen += 1
        state = mixer.state
        stop = state.stop_report
        if stop is not None and state.outcome is Outcome.STOP_PAIN and self._stop is None:
            self._stop = stop
            self._record_pain()

    def _record_pain(self) -> None:
        # Tried when the stop happens and once more at the end: a lock may have gone.
        stop = self._stop
        if stop is None or self.stop_id is not None:
            return
        self._pain_tries += 1
        if self.history is None or not self._ensure_session():  # or it refuses to record
            return
        assert self.session_id is not None
        try:
            self.stop_id = self.history.record_pain_stop(
                self.session_id,
                exercise_index=stop.exercise,
                exercise_name=stop.name,
                set=stop.set,
                rep=stop.rep,
                side=stop.side,
                seconds_into_work=stop.seconds,
            )
        except HistoryError as error:
            self._failed(error)

    @property
    def pain_recorded(self) -> bool:
        """True once the stop-pain report is committed."""
        return self.stop_id is not None

    @property
    def pain_failed(self) -> bool:
        """True when a stop-pain report could not be committed (yet)."""
        return self._stop is not None and self.stop_id is None and self._pain_tries > 0

    def rate(self, rating: int | None) -> None:
        """Store the pain rating given after a stop."""
        if self.history is not None and self.stop_id is not None:
            try:
                self.history.set_pain_rating(self.stop_id, rating)
            except HistoryError as error:
                self._failed(error)

    def end(
        self,
        outcome: Outcome,
        skipped: Sequence[WorkEntry] = (),
        dropouts: Dropouts | None = None,
    ) -> None:
        """Close the session with how it ended, after the bouts ``skipped`` with "next".

        ``dropouts`` (the sound device's) are stored with the session.

        Skipped bouts are stored as unfinished work, so that an exercise skipped through
        never counts as completed. A session whose record is incomplete ends as
        'crashed' (a pain stop's outcome is never overwritten).
        """
        if self._stop is not None and self.stop_id is None:
            self._record_pain()
        if self.history is None or self.session_id is None:
            return
        for entry in skipped:
            if not self.recording:
                break
            if entry.exercise is not None:
                self._write_work(entry)
        try:
            self.history.end_session(
                self.session_id, Outcome.CRASHED if self.broken else outcome, dropouts=dropouts
            )
        except HistoryError as error:
            self._failed(error)

    def discard(self) -> None:
        """Take back the start of a session that never played (nothing recorded in it)."""
        if self.history is None or self.session_id is None or self.stop_id is not None:
            return
        try:
            if self.history.discard_session(self.session_id):
                self.session_id = None
        except HistoryError as error:
            self._failed(error)

    def note(self) -> str:
        """What the history did not get, for the summary ("" when all was recorded).

        After a pain stop that could not be recorded: only why (the summary says "NOT
        recorded" itself).
        """
        if self._stop is not None and self.stop_id is None:
            return self.problem or "the history could not be opened"
        if self.preview:
            return "" if self.pain_recorded else PREVIEW_NOTE
        if self.history is None:
            return "not recorded: the history could not be opened"
        if self.session_id is None:
            return f"not recorded: {self.problem}" if self.problem else "not recorded"
        if self.broken:
            return f"only partly recorded: {self.problem}; it will not count towards progression"
        return ""
