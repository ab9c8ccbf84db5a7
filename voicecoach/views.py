"""What the player shows, without drawing it: the view at any moment of a timeline, the
plain one-line-per-cue text log, and the line that sums up a session when it ends.

Kept apart from the rich panel (`voicecoach.display`) so that the player can start the
sound before rich is imported.
"""

from __future__ import annotations

import bisect
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, TextIO

from voicecoach.outcome import Outcome
from voicecoach.timeline import Cue, Phase, Segment, Timeline
from voicecoach.wording import PHASE_LABELS, duration_text, log_clock

if TYPE_CHECKING:
    from voicecoach.player import PlayResult  # the player imports this module

# The panel shows the phase in capitals over its countdown: during the spoken intro,
# "GET READY" tells the person on the mat what to do, where "INTRO" would not.
VIEW_PHASE_LABELS: Mapping[Phase, str] = MappingProxyType({**PHASE_LABELS, "intro": "Get ready"})


@dataclass(frozen=True, slots=True)
class PlayerView:
    """What the player shows at one moment: a plain snapshot, rendered by `render_view`.

    Seconds are floats; ``exercise_number`` is 1-based (0 before the first exercise);
    ``set``, ``rep`` and their totals are ``None`` where they do not apply (rest, a timed
    exercise); ``phase`` is a label from `VIEW_PHASE_LABELS`.
    """

    title: str
    exercise: str = ""
    exercise_number: int = 0
    exercise_count: int = 0
    set: int | None = None
    sets: int | None = None
    rep: int | None = None
    reps: int | None = None
    side: str | None = None
    phase: str = "Get ready"
    phase_seconds_left: float = 0.0
    elapsed_seconds: float = 0.0
    total_seconds: float = 0.0
    next_up: str = ""
    message: str = ""
    last_spoken: str = ""
    listening: bool = False  # the microphone is open (--listen): the panel shows a mark


class TimelineViews:
    """Builds the `PlayerView` at any time of a compiled timeline (pure; indexed once).

    The player adds the state ``message`` and the ``last_spoken`` line it knows about.
    """

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self._segments = timeline.segments
        self._starts = [s.start for s in self._segments]
        order: list[int] = []
        sets: dict[int, int] = {}
        reps: dict[tuple[int, int], int] = {}
        for seg in self._segments:
            if seg.exercise is None:
                continue
            if seg.exercise not in sets:
                order.append(seg.exercise)
            if seg.set is not None:
                sets[seg.exercise] = max(sets.get(seg.exercise, 0), seg.set)
                if seg.rep is not None:
                    key = (seg.exercise, seg.set)
                    reps[key] = max(reps.get(key, 0), seg.rep)
            else:
                sets.setdefault(seg.exercise, 0)
        self._number = {ex: n for n, ex in enumerate(order, start=1)}
        self._sets = sets
        self._reps = reps
        self._ready = [i for i, s in enumerate(self._segments) if s.phase == "get_ready"]

    def at(self, seconds: float, *, message: str = "", last_spoken: str = "") -> PlayerView:
        """The view ``seconds`` into the session (clamped to the session's length)."""
        tl = self.timeline
        if not self._segments or seconds >= tl.duration:
            return PlayerView(
                title=tl.title,
                phase="Done",
                elapsed_seconds=tl.duration,
                total_seconds=tl.duration,
                exercise_count=len(self._number),
                message=message,
                last_spoken=last_spoken,
            )
        i = max(0, bisect.bisect_right(self._starts, seconds) - 1)
        seg = self._segments[i]
        ex = seg.exercise
        return PlayerView(
            title=tl.title,
            exercise=seg.name or "",
            exercise_number=self._number.get(ex, 0) if ex is not None else 0,
            exercise_count=len(self._number),
            set=seg.set,
            sets=(self._sets.get(ex) or None) if ex is not None else None,
            rep=seg.rep,
            reps=self._reps.get((ex, seg.set)) if ex is not None and seg.set else None,
            side=seg.side,
            phase=VIEW_PHASE_LABELS[seg.phase],
            phase_seconds_left=seg.end - max(0.0, seconds),
            elapsed_seconds=max(0.0, seconds),
            total_seconds=tl.duration,
            next_up=self._next_up(i),
            message=message,
            last_spoken=last_spoken,
        )

    def _next_up(self, i: int) -> str:
        k = bisect.bisect_right(self._ready, i)
        if k == len(self._ready):
            return "the end of the session" if self._segments[i].phase != "outro" else ""
        nxt: Segment = self._segments[self._ready[k]]
        assert nxt.exercise is not None
        sets = self._sets[nxt.exercise]
        # As the coach says it: "set 1 of 1" says nothing.
        text = f"{nxt.name}, set {nxt.set} of {sets}" if sets > 1 else str(nxt.name)
        rest = next((s for s in self._segments[i + 1 : self._ready[k]] if s.phase == "rest"), None)
        if rest is not None:
            text = f"rest {duration_text(rest.seconds)}, then {text}"
        return text


def format_cue(cue: Cue) -> str:
    """One cue as a log line: ``[mm:ss] ROLE      text`` (a tone as ``<name tone>``)."""
    text = cue.text if cue.text is not None else f"<{cue.tone} tone>"
    return f"[{log_clock(cue.at)}] {cue.role.upper():<9} {text}"


class TextLog:
    """The ``--text`` display: one plain line per cue, no cursor movement, no color."""

    def __init__(self, file: TextIO | None = None) -> None:
        self.file = file if file is not None else sys.stdout

    def cue(self, cue: Cue) -> None:
        """Print ``cue`` as one line and flush (a pipe reader sees it at once)."""
        self._line(format_cue(cue))

    def note(self, seconds: float, text: str) -> None:
        """Print a player event (paused, stopped for pain) as one line at ``seconds``."""
        self._line(f"[{log_clock(seconds)}] {'--':<9} {text}")

    def event(self, seconds: float, label: str, text: str = "") -> None:
        """Print what a key did as a cue-shaped line: ``[00:19] PAUSED    Space to resume``.

        ``label`` takes the place of the cue's role (upper-cased), so the line lines up
        with the cues around it.
        """
        self._line(f"[{log_clock(seconds)}] {label.upper():<9} {text}".rstrip())

    def _line(self, line: str) -> None:
        print(line, file=self.file, flush=True)


def session_summary(result: PlayResult) -> str:
    """One line on how the session ended (and where, after a pain stop)."""
    if result.outcome == Outcome.STOP_PAIN and result.stop is not None:
        s = result.stop
        where = ", ".join(
            x
            for x in (
                s.name,
                f"set {s.set}" if s.set else "",
                f"rep {s.rep}" if s.rep else "",
                f"{s.side} side" if s.side else "",
                f"{s.seconds:.1f} s into the work"
                if s.phase == "work"
                else f"during {s.phase.replace('_', ' ')}",
            )
            if x
        )
        pain = f", pain {result.pain_rating}/10" if result.pain_rating is not None else ""
        if not result.pain_recorded:
            # Nothing will lower the next session for the person: say so plainly.
            why = f": {result.record_note}" if result.record_note else ""
            return (
                f"Stopped for pain at {where}{pain} (NOT recorded{why}). Next time, "
                "start lower yourself."
            )
        return f"Stopped for pain at {where}{pain} (recorded). Next time starts below it."
    session = "Preview" if result.preview else "Session"
    line = {
        Outcome.COMPLETED: "Preview complete."
        if result.preview
        else "Session complete. Well done.",
        Outcome.QUIT: f"{session} ended early.",
        Outcome.DEVICE_LOST: f"{session} ended: the audio device was lost.",
    }.get(result.outcome, f"{session} ended: {result.outcome}.")
    return f"{line[:-1]} ({result.record_note})." if result.record_note else line
