"""Today's session: the routine loaded, adapted from the history, and compiled."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from voicecoach.adapt import Adjustment, Dose, ExerciseRecords, adapt_routine, exercise_key
from voicecoach.history import (
    FALLBACK_ADVICE,
    PARTIAL_ADVICE,
    History,
    HistoryError,
    routine_key,
)
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
    # What could not be read from the history (also passed to `History.warn`).
    warnings: list[str] = field(default_factory=list)


def load_today(spec: str, history: History | None, *, as_written: bool = False) -> Today:
    """Load ROUTINE ``spec`` and, unless ``as_written``, adapt it from ``history``.

    Errors name ``spec`` exactly as the user typed it. A history that cannot be read
    does not stop the session: the routine's own doses are used, and a warning (through
    `History.warn`, and in `Today.warnings`) says so, since those doses may be higher
    than the level a recent pain stop set.
    """
    path = find_routine(spec)
    routine = load_routine(path, display_name=spec)
    adjustments: list[Adjustment] = []
    warnings: list[str] = []
    written = {exercise_key(ex.name): Dose.of(ex) for ex in routine.exercises}
    if history is not None and not as_written:
        records: ExerciseRecords = {}
        try:
            records = history.records(routine_key(path))
        except HistoryError as error:
            warnings.append(f"{error}; {FALLBACK_ADVICE}")
        else:
            damage = history.damage()
            if damage:
                warnings.append(
                    f"the history at {history.path} is damaged: {damage}; "
                    f"today's doses adapt from the rest ({PARTIAL_ADVICE})"
                )
        for warning in warnings:
            history.warn(warning)
        routine, adjustments = adapt_routine(routine, records)
    return Today(
        spec, path, routine, compile_routine(routine, file=spec), adjustments, written, warnings
    )


def describe_adjustments(today: Today) -> list[str]:
    """One line per exercise whose dose differs from the file, for compile and play."""
    return [
        f"{a.name}: {a.old.describe()} -> {a.new.describe()} ({a.reason})"
        for a in today.adjustments
        if a.old != a.new
    ]
