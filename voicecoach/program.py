"""Today's session: the routine loaded, adapted from the history, and compiled."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from voicecoach.adapt import Adjustment, Dose, adapt_routine, exercise_key
from voicecoach.history import History, routine_key
from voicecoach.model import Routine
from voicecoach.paths import find_routine
from voicecoach.routine import load_routine
from voicecoach.timeline import Timeline, compile_routine


@dataclass
class Today:
    """What will be played: the file, the routine as adapted, its timeline and the changes."""

    spec: str
    path: Path
    routine: Routine
    timeline: Timeline
    adjustments: list[Adjustment] = field(default_factory=list)
    # The doses the file prescribes, before adaptation (stored with each session).
    written: dict[str, Dose] = field(default_factory=dict)


def load_today(spec: str, history: History | None, *, as_written: bool = False) -> Today:
    """Load ROUTINE ``spec`` and, unless ``as_written``, adapt it from ``history``.

    Errors name ``spec`` exactly as the user typed it.
    """
    path = find_routine(spec)
    routine = load_routine(path, display_name=spec)
    adjustments: list[Adjustment] = []
    written = {exercise_key(ex.name): Dose.of(ex) for ex in routine.exercises}
    if history is not None and not as_written:
        routine, adjustments = adapt_routine(routine, history.records(routine_key(path)))
    return Today(spec, path, routine, compile_routine(routine, file=spec), adjustments,
                 written)


def describe_adjustments(today: Today) -> list[str]:
    """One line per exercise whose dose differs from the file, for compile and play."""
    return [f"{a.name}: {a.old.describe()} -> {a.new.describe()} ({a.reason})"
            for a in today.adjustments if a.old != a.new]
