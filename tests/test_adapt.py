"""Adaptation rules over sequences of past sessions: regress after pain, progress when pain-free."""

from __future__ import annotations

from datetime import UTC, datetime

from voicecoach.adapt import (
    Dose,
    ExerciseSession,
    PainPoint,
    adapt_routine,
    exercise_key,
    levels,
)
from voicecoach.model import Exercise, Progression, Routine


def exercise(
    kind: str = "hold",
    name: str = "side plank",
    reps: tuple[int, ...] = (3, 3),
    hold: float | None = 10.0,
    duration: float | None = None,
    progression: Progression | None = None,
    index: int = 0,
) -> Exercise:
    if kind == "reps":
        hold = None
    if kind == "timed":
        hold, reps = None, tuple(1 for _ in reps)
    return Exercise(
        index=index,
        name=name,
        kind=kind,
        reps=reps,
        hold=hold,  # type: ignore[arg-type]
        duration=duration,
        progression=progression,
    )


def routine(*exercises: Exercise) -> Routine:
    return Routine(title="Back", exercises=exercises)


def session(
    day: int,
    played: Dose | None,
    *,
    completed: bool = True,
    pain: PainPoint | None = None,
    session_pain: bool = False,
) -> ExerciseSession:
    return ExerciseSession(
        day,
        datetime(2026, 1, day, 8, tzinfo=UTC),
        played,
        completed and pain is None,
        pain,
        session_pain or pain is not None,
    )


def hold_dose(seconds: float, reps: tuple[int, ...] = (3, 3)) -> Dose:
    return Dose("hold", reps, hold=seconds)


def pain_at(seconds: float, set_: int = 1, rep: int | None = 1) -> PainPoint:
    return PainPoint(set_, rep, None, seconds)


def test_pain_at_7_seconds_makes_the_next_holds_5_seconds_and_says_why() -> None:
    r = routine(exercise())
    records = {"side plank": [session(1, hold_dose(10), pain=pain_at(7.4))]}
    adapted, adjustments = adapt_routine(r, records)
    ex = adapted.exercises[0]
    assert ex.hold == 5.0
    assert ex.reps == (3, 3)
    assert ex.adjustment == (
        "Last time side plank hurt at 7 seconds, so today's holds are 5 seconds."
    )
    assert [(a.index, a.reason, a.old.hold, a.new.hold) for a in adjustments] == [
        (0, "regress", 10.0, 5.0)
    ]
    later = {"side plank": [session(1, hold_dose(10), pain=pain_at(9.9))]}
    assert adapt_routine(r, later)[0].exercises[0].hold == 7.0


def test_two_pain_free_sessions_step_holds_up_one_second() -> None:
    r = routine(exercise(name="bird dog"))
    records = {"bird dog": [session(1, hold_dose(10)), session(2, hold_dose(10))]}
    adapted, adjustments = adapt_routine(r, records)
    assert adapted.exercises[0].hold == 11.0
    assert adapted.exercises[0].adjustment == (
        "Two pain-free sessions in a row: bird dog holds go up to 11 seconds."
    )
    assert adjustments[0].reason == "progress"


def test_one_pain_free_session_changes_nothing() -> None:
    r = routine(exercise())
    adapted, adjustments = adapt_routine(r, {"side plank": [session(1, hold_dose(10))]})
    assert adapted == r
    assert adjustments == []


def test_regression_never_goes_below_the_floors() -> None:
    r = routine(
        exercise(),
        exercise("reps", name="curl up", reps=(1, 2), index=1),
        exercise("timed", name="march", duration=30.0, index=2),
    )
    records = {
        "side plank": [session(1, hold_dose(10), pain=pain_at(2.0))],
        "curl up": [session(1, Dose("reps", (1, 2)), pain=pain_at(1.0, 2, 2))],
        "march": [session(1, Dose("timed", (1, 1), duration=30), pain=pain_at(8.0))],
    }
    adapted, _ = adapt_routine(r, records)
    assert adapted.exercises[0].hold == 3.0
    assert adapted.exercises[1].reps == (1, 1)
    assert adapted.exercises[2].duration == 10.0


def test_regression_never_raises_a_dose_that_already_sits_below_the_floor() -> None:
    r = routine(exercise(hold=2.0))
    adapted, _ = adapt_routine(r, {"side plank": [session(1, hold_dose(2), pain=pain_at(1.5))]})
    assert adapted.exercises[0].hold == 2.0


def test_progression_stops_at_the_built_in_and_the_per_exercise_ceiling() -> None:
    r = routine(
        exercise(hold=60.0),
        exercise(name="bird dog", hold=11.0, index=1, progression=Progression(step=5, max=12)),
    )
    records = {
        "side plank": [session(1, hold_dose(60)), session(2, hold_dose(60))],
        "bird dog": [session(1, hold_dose(11)), session(2, hold_dose(11))],
    }
    adapted, adjustments = adapt_routine(r, records)
    assert adapted.exercises[0].hold == 60.0
    assert adapted.exercises[1].hold == 12.0
    assert [a.name for a in adjustments] == ["bird dog"]


def test_per_exercise_progression_after_and_step_override_the_defaults() -> None:
    r = routine(exercise(progression=Progression(step=2, after=3)))
    two = {"side plank": [session(d, hold_dose(10)) for d in (1, 2)]}
    three = {"side plank": [session(d, hold_dose(10)) for d in (1, 2, 3)]}
    assert adapt_routine(r, two)[0].exercises[0].hold == 10.0
    adapted, _ = adapt_routine(r, three)
    assert adapted.exercises[0].hold == 12.0
    assert adapted.exercises[0].adjustment == (
        "Three pain-free sessions in a row: side plank holds go up to 12 seconds."
    )


def test_progress_after_argument_sets_the_default_run_length() -> None:
    r = routine(exercise())
    records = {"side plank": [session(1, hold_dose(10))]}
    assert adapt_routine(r, records, progress_after=1)[0].exercises[0].hold == 11.0


def test_regressed_level_stays_until_completed_pain_free_then_progresses_from_it() -> None:
    r = routine(exercise())
    history = [
        session(1, hold_dose(10), pain=pain_at(7.0)),
        session(2, hold_dose(5), completed=False),
    ]
    adapted, adjustments = adapt_routine(r, {"side plank": history})
    assert adapted.exercises[0].hold == 5.0
    assert adjustments[0].reason == "regressed"
    assert adapted.exercises[0].adjustment == (
        "Side plank hurt at 7 seconds recently, so today's holds are 5 seconds "
        "until you finish it pain-free."
    )
    history.append(session(3, hold_dose(5)))
    adapted, adjustments = adapt_routine(r, {"side plank": history})
    assert adapted.exercises[0].hold == 5.0
    assert adjustments[0].reason == "level"
    assert adapted.exercises[0].adjustment is None
    history.append(session(4, hold_dose(5)))
    adapted, _ = adapt_routine(r, {"side plank": history})
    assert adapted.exercises[0].hold == 6.0


def test_pain_in_another_exercise_breaks_the_run_without_regressing() -> None:
    r = routine(exercise())
    history = [
        session(1, hold_dose(10)),
        session(2, hold_dose(10), session_pain=True),
        session(3, hold_dose(10)),
    ]
    adapted, adjustments = adapt_routine(r, {"side plank": history})
    assert adapted.exercises[0].hold == 10.0
    assert adjustments == []


def test_reps_regress_one_per_set_and_a_reverse_pyramid_keeps_its_shape() -> None:
    r = routine(exercise("reps", name="curl up", reps=(8, 6, 4)))
    records = {"curl up": [session(1, Dose("reps", (8, 6, 4)), pain=pain_at(1.2, 2, 5))]}
    adapted, adjustments = adapt_routine(r, records)
    assert adapted.exercises[0].reps == (7, 5, 3)
    assert adapted.exercises[0].adjustment == (
        "Last time curl up hurt at rep 5, so today's sets are one rep shorter: 7, 5 and 3 reps."
    )
    records["curl up"] += [session(2, Dose("reps", (7, 5, 3))), session(3, Dose("reps", (7, 5, 3)))]
    adapted, adjustments = adapt_routine(r, records)
    assert adapted.exercises[0].reps == (8, 6, 4)
    assert adjustments[0].spoken == (
        "Two pain-free sessions in a row: curl up goes up to 8, 6 and 4 reps."
    )


def test_reps_progress_caps_each_set_at_the_ceiling() -> None:
    r = routine(exercise("reps", name="curl up", reps=(20, 19)))
    records = {"curl up": [session(d, Dose("reps", (20, 19))) for d in (1, 2)]}
    assert adapt_routine(r, records)[0].exercises[0].reps == (20, 20)


def test_timed_work_regresses_to_75_percent_and_steps_up_5_seconds() -> None:
    r = routine(exercise("timed", name="march", reps=(1, 1), duration=60.0))
    records = {"march": [session(1, Dose("timed", (1, 1), duration=60), pain=pain_at(40.0))]}
    adapted, _ = adapt_routine(r, records)
    assert adapted.exercises[0].duration == 30.0
    assert adapted.exercises[0].adjustment == (
        "Last time march hurt at 40 seconds, so today's work is 30 seconds."
    )
    records["march"] += [session(d, Dose("timed", (1, 1), duration=30)) for d in (2, 3)]
    adapted, _ = adapt_routine(r, records)
    assert adapted.exercises[0].duration == 35.0


def test_a_level_written_back_into_the_file_is_not_counted_twice() -> None:
    history = {"side plank": [session(1, hold_dose(10)), session(2, hold_dose(10))]}
    from_file_10 = adapt_routine(routine(exercise(hold=10.0)), history)[0]
    from_file_11 = adapt_routine(routine(exercise(hold=11.0)), history)[0]
    assert from_file_10.exercises[0].hold == from_file_11.exercises[0].hold == 11.0


def test_the_same_history_in_any_order_gives_the_same_routine() -> None:
    r = routine(exercise())
    history = [
        session(1, hold_dose(10)),
        session(2, hold_dose(10)),
        session(3, hold_dose(11), pain=pain_at(9.0)),
        session(4, hold_dose(6)),
    ]
    a = adapt_routine(r, {"side plank": history})
    b = adapt_routine(r, {"side plank": list(reversed(history))})
    assert a == b
    assert a[0].exercises[0].hold == 6.0


def test_exercise_identity_ignores_case() -> None:
    r = routine(exercise(name="Side Plank"))
    records = {exercise_key("side PLANK"): [session(1, hold_dose(10), pain=pain_at(7.0))]}
    adapted, adjustments = adapt_routine(r, records)
    assert adapted.exercises[0].hold == 5.0
    assert levels(adjustments) == {0: Dose("hold", (3, 3), hold=5.0)}


def test_a_pain_stop_before_the_work_began_steps_down_from_the_level_not_to_the_floor() -> None:
    r = routine(exercise(hold=12.0))
    records = {"side plank": [session(1, None, pain=pain_at(0.0))]}
    adapted, _ = adapt_routine(r, records)
    assert adapted.exercises[0].hold == 9.0
    assert adapted.exercises[0].adjustment == (
        "Last time side plank hurt before the work began, so today's holds are 9 seconds."
    )
