"""Adaptation rules: work up to it, stop before pain (pure: routine + past sessions -> doses).

The level of an exercise is a fold over the past sessions of its routine, oldest first,
so the same history always gives the same routine (``compile`` shows it twice alike):

- A pain stop in the exercise regresses it below where pain began: holds and timed work
  to 75 percent of the seconds reached, reps to one fewer per set, never below the floor.
  The regressed level stays until the exercise is completed pain-free again.
- A completed, pain-free session anchors the level to the dose actually played (so a
  level written back into the file is not counted twice) and counts towards progression;
  after ``after`` of them in a row at the same level, the level steps up by ``step``, up to
  ``max``. Endurance, not strength: only seconds and reps grow, never load.
- A session that did not complete the exercise, or ended for pain anywhere, breaks the
  run of pain-free sessions without changing the level.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from voicecoach.model import Exercise, Kind, Routine

# Regression keeps this fraction of the seconds reached before the pain stop.
REGRESS_FRACTION = 0.75
# Floors: regression never goes below these (seconds per hold, reps per set, seconds timed).
FLOOR_HOLD_S = 3.0
FLOOR_REPS = 1
FLOOR_TIMED_S = 10.0
# Built-in progression per kind: (step, max) in the kind's unit.
DEFAULT_STEP: dict[str, float] = {"hold": 1.0, "reps": 1.0, "timed": 5.0}
DEFAULT_MAX: dict[str, float] = {"hold": 60.0, "reps": 20.0, "timed": 300.0}
DEFAULT_AFTER = 2

Reason = Literal["regress", "regressed", "progress", "level"]

_COUNT_WORDS = ("No", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten")


@dataclass(frozen=True, slots=True)
class Dose:
    """How much of an exercise: reps per set, plus seconds per hold or per timed bout.

    ``hold`` is set for hold exercises, ``duration`` for timed ones (seconds); ``reps`` has
    one entry per set, as in `Exercise.reps`.
    """

    kind: Kind
    reps: tuple[int, ...]
    hold: float | None = None
    duration: float | None = None

    @classmethod
    def of(cls, ex: Exercise) -> Dose:
        """The dose an exercise prescribes."""
        return cls(
            ex.kind,
            ex.reps,
            ex.hold if ex.kind == "hold" else None,
            ex.duration if ex.kind == "timed" else None,
        )

    def describe(self) -> str:
        """A short human description, e.g. ``"3 x 10 s holds"`` or ``"8, 6, 4 reps"``."""
        if self.kind == "hold":
            return f"{_sets_text(self.reps)} x {_num(self.hold or 0)} s holds"
        if self.kind == "timed":
            return f"{len(self.reps)} x {_num(self.duration or 0)} s"
        return f"{_sets_text(self.reps)} reps"


@dataclass(frozen=True, slots=True)
class PainPoint:
    """Where a pain stop happened inside an exercise: 1-based set and rep, seconds into work."""

    set: int
    rep: int | None
    side: str | None
    seconds_into_work: float


@dataclass(frozen=True, slots=True)
class ExerciseSession:
    """What one past session of a routine did with one exercise.

    ``played`` is the dose seen in the recorded work (``None`` if nothing was recorded);
    ``completed`` means the session was completed and every recorded work of the
    exercise finished; ``pain`` is set when the session was stopped for pain in this
    exercise; ``session_pain`` when it was stopped for pain in any exercise;
    ``written`` is the dose the routine file prescribed then (``None`` if unknown).
    """

    session_id: int
    started_at: datetime
    played: Dose | None
    completed: bool
    pain: PainPoint | None = None
    session_pain: bool = False
    written: Dose | None = None


# Past sessions per exercise, keyed by `exercise_key` (case-folded name), oldest first.
ExerciseRecords = Mapping[str, Sequence[ExerciseSession]]


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One exercise whose dose today differs from the routine file, and why.

    ``reason``: ``"regress"`` (the last session stopped for pain here), ``"regressed"``
    (still below an earlier pain stop, not yet completed pain-free), ``"progress"``
    (stepped up today after pain-free sessions) or ``"level"`` (a level reached earlier,
    carried silently). ``spoken`` is the sentence set into `Exercise.adjustment`.
    """

    index: int
    name: str
    old: Dose
    new: Dose
    reason: Reason
    spoken: str | None


def exercise_key(name: str) -> str:
    """The identity of an exercise across sessions within one routine: its case-folded name."""
    return name.strip().casefold()


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.1f}"


def _seconds(x: float) -> str:
    return f"{_num(x)} second{'' if x == 1 else 's'}"


def _sets_text(reps: tuple[int, ...]) -> str:
    if len(set(reps)) == 1:
        return f"{len(reps)} x {reps[0]}"
    return ", ".join(str(r) for r in reps)


def _reps_phrase(reps: tuple[int, ...]) -> str:
    if len(set(reps)) == 1:
        return f"{reps[0]} rep{'' if reps[0] == 1 else 's'} per set"
    head = ", ".join(str(r) for r in reps[:-1])
    return f"{head} and {reps[-1]} reps"


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _whole(x: float) -> float:
    return float(math.floor(x + 1e-9))


def _regress(level: Dose, pain: PainPoint) -> Dose:
    """Start below where pain began: 75 percent of the seconds reached, or one rep fewer."""
    if level.kind == "reps":
        return dataclasses.replace(level, reps=tuple(max(FLOOR_REPS, r - 1) for r in level.reps))
    floor = FLOOR_HOLD_S if level.kind == "hold" else FLOOR_TIMED_S
    current = (level.hold if level.kind == "hold" else level.duration) or floor
    # A stop outside work (getting ready, resting) gives no seconds reached: step down
    # from today's level instead of to the floor.
    reached = pain.seconds_into_work if pain.seconds_into_work > 0 else current
    seconds = max(floor, _whole(REGRESS_FRACTION * reached))
    # Never more than before the pain, even when the file's dose sits below the floor.
    seconds = min(seconds, current)
    if level.kind == "hold":
        return dataclasses.replace(level, hold=seconds)
    return dataclasses.replace(level, duration=seconds)


def _step(level: Dose, step: float, ceiling: float) -> Dose:
    """One level up, endurance only: more seconds or more reps, each capped at ``ceiling``."""
    if level.kind == "hold" and level.hold is not None:
        return dataclasses.replace(level, hold=max(level.hold, min(level.hold + step, ceiling)))
    if level.kind == "timed" and level.duration is not None:
        return dataclasses.replace(
            level, duration=max(level.duration, min(level.duration + step, ceiling))
        )
    # Adding the same step to every set keeps a reverse pyramid's shape.
    add = int(step)
    return dataclasses.replace(
        level, reps=tuple(max(r, min(r + add, int(ceiling))) for r in level.reps)
    )


def _same_shape(a: Dose, b: Dose) -> bool:
    return a.kind == b.kind and len(a.reps) == len(b.reps)


@dataclass(slots=True)
class _Fold:
    level: Dose
    streak: int = 0
    # Last change and the pain point behind it, for the spoken sentence.
    last: Reason | None = None
    pain: PainPoint | None = None


def _fold(
    ex: Exercise, sessions: Sequence[ExerciseSession], step: float, ceiling: float, after: int
) -> _Fold:
    state = _Fold(Dose.of(ex))
    pending = False  # regressed and not yet completed pain-free
    ordered = sorted(sessions, key=lambda s: (s.started_at, s.session_id))
    # The file was edited since these sessions (by hand, or by `progress --write`): the
    # person's own dose is the new starting point, never overridden by older history.
    edits = [i for i, s in enumerate(ordered) if s.written is not None and s.written != Dose.of(ex)]
    if edits:
        ordered = ordered[edits[-1] + 1 :]
    for s in ordered:
        if s.pain is not None:
            state.level = _regress(state.level, s.pain)
            state.streak, pending = 0, True
            state.last, state.pain = "regress", s.pain
        elif s.completed and not s.session_pain and s.played is not None:
            played = s.played
            if not _same_shape(played, state.level):
                # Sets or kind changed in the file: only its dose is comparable now.
                played = Dose.of(ex)
            if played != state.level:
                state.level, state.streak = played, 0
            pending = False
            state.streak += 1
            state.last = None
            if state.streak >= after:
                stepped = _step(state.level, step, ceiling)
                state.streak = 0
                if stepped != state.level:
                    state.level, state.last = stepped, "progress"
        else:
            # Not completed, or pain elsewhere: the run is broken, the level stays.
            state.streak = 0
            state.last = "regressed" if pending else None
    return state


def _spoken(ex: Exercise, state: _Fold, after: int) -> str | None:
    new = state.level
    if state.last in ("regress", "regressed") and state.pain is not None:
        p = state.pain
        if ex.kind == "reps":
            where = f"at rep {p.rep}" if p.rep is not None else f"in set {p.set}"
            today = f"today's sets are one rep shorter: {_reps_phrase(new.reps)}"
        else:
            where = (
                f"at {_seconds(_whole(p.seconds_into_work))}"
                if p.seconds_into_work > 0
                else "before the work began"
            )
            if ex.kind == "hold":
                today = f"today's holds are {_seconds(new.hold or 0)}"
            else:
                today = f"today's work is {_seconds(new.duration or 0)}"
        if state.last == "regress":
            return f"Last time {ex.name} hurt {where}, so {today}."
        return _capitalized(
            f"{ex.name} hurt {where} recently, so {today} until you finish it pain-free."
        )
    if state.last == "progress":
        count = _COUNT_WORDS[after] if after < len(_COUNT_WORDS) else str(after)
        run = f"{count} pain-free session{'' if after == 1 else 's'}"
        run += " in a row" if after > 1 else ""
        if ex.kind == "hold":
            what = f"{ex.name} holds go up to {_seconds(new.hold or 0)}"
        elif ex.kind == "timed":
            what = f"{ex.name} goes up to {_seconds(new.duration or 0)}"
        else:
            what = f"{ex.name} goes up to {_reps_phrase(new.reps)}"
        return _capitalized(f"{run}: {what}.")
    return None


def _progression(ex: Exercise, progress_after: int) -> tuple[float, float, int]:
    p = ex.progression
    step = p.step if p is not None and p.step is not None else DEFAULT_STEP[ex.kind]
    ceiling = p.max if p is not None and p.max is not None else DEFAULT_MAX[ex.kind]
    after = p.after if p is not None and p.after is not None else progress_after
    return step, ceiling, max(1, after)


def adapt_routine(
    routine: Routine, records: ExerciseRecords, *, progress_after: int = DEFAULT_AFTER
) -> tuple[Routine, list[Adjustment]]:
    """Today's routine: each exercise at the level its history of this routine calls for.

    Parameters
    ----------
    routine
        The routine as loaded from its file.
    records
        Past sessions of this routine per exercise, keyed by `exercise_key`
        (`History.records` gives them); exercises without records keep the file's dose.
    progress_after
        Consecutive completed pain-free sessions before stepping up, unless the exercise's
        ``[exercise.progression] after`` says otherwise.

    Returns
    -------
    The adapted routine (doses replaced, spoken reasons in `Exercise.adjustment`) and one
    `Adjustment` per exercise whose dose differs from the file or that was regressed.
    """
    exercises: list[Exercise] = []
    adjustments: list[Adjustment] = []
    for ex in routine.exercises:
        sessions = records.get(exercise_key(ex.name), ())
        step, ceiling, after = _progression(ex, progress_after)
        state = _fold(ex, sessions, step, ceiling, after)
        old, new = Dose.of(ex), state.level
        spoken = _spoken(ex, state, after)
        if new == old and spoken is None:
            exercises.append(ex)
            continue
        reason: Reason = state.last or "level"
        adjustments.append(Adjustment(ex.index, ex.name, old, new, reason, spoken))
        exercises.append(
            dataclasses.replace(
                ex,
                reps=new.reps,
                hold=new.hold if ex.kind == "hold" else ex.hold,
                duration=new.duration if ex.kind == "timed" else ex.duration,
                adjustment=spoken if spoken is not None else ex.adjustment,
            )
        )
    return dataclasses.replace(routine, exercises=tuple(exercises)), adjustments


def levels(adjustments: Sequence[Adjustment]) -> dict[int, Dose]:
    """The adapted dose per exercise index, as `writeback.write_levels` takes it."""
    return {a.index: a.new for a in adjustments}
