"""The compiler's invariants on hand-made and generated routines."""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voicecoach import timeline as timeline_module
from voicecoach.errors import RoutineError
from voicecoach.model import Breathing, Exercise, Kind, Routine
from voicecoach.timeline import (
    LOW_PRIORITY_ROLES,
    PHASES,
    SCHEMA_VERSION,
    Segment,
    Timeline,
    compile_routine,
    estimate_speech_seconds,
)

REQUIRED_ROLES = {
    "announce",
    "cue",
    "brace",
    "countdown",
    "start",
    "stop",
    "breathe",
    "count",
    "halfway",
    "remaining",
    "switch",
    "rest",
    "next",
    "done",
}


def routine(*exercises: Exercise, title: str = "Test") -> Routine:
    return Routine(title, tuple(exercises))


def hold(index: int = 0, **kw: Any) -> Exercise:
    kw.setdefault("reps", (3,))
    return Exercise(index, kw.pop("name", "Bird dog"), "hold", hold=kw.pop("hold", 10), **kw)


def work(tl: Timeline) -> list[Segment]:
    return [s for s in tl.segments if s.phase == "work"]


def check_invariants(tl: Timeline, r: Routine) -> None:
    segs = tl.segments
    assert segs[0].start == 0
    assert segs[-1].end == tl.duration
    for a, b in pairwise(segs):
        assert a.end == b.start
    assert all(s.end > s.start for s in segs)
    assert all(s.phase in PHASES for s in segs)
    ats = [c.at for c in tl.cues]
    assert ats == sorted(ats)
    assert all(0 <= c.at <= tl.duration for c in tl.cues)
    assert tl.cues[-1].role == "done"
    assert all((c.text is None) != (c.tone is None) for c in tl.cues)
    starts = {c.at for c in tl.cues if c.role == "start"}
    stops = {c.at for c in tl.cues if c.role == "stop"}
    for s in work(tl):
        assert s.exercise is not None
        ex = r.exercises[s.exercise]
        expected = {"hold": ex.hold, "reps": ex.tempo, "timed": ex.duration}[ex.kind]
        assert s.seconds == pytest.approx(expected, abs=1e-6)
        assert s.start in starts and s.end in stops
    # One work segment per (set, rep, side), or per (set, side) for timed work.
    for ex in r.exercises:
        n = sum(1 for s in work(tl) if s.exercise == ex.index)
        per_set = 1 if ex.kind == "timed" else None
        assert n == sum((per_set or reps) * len(ex.side_names) for reps in ex.reps)
    # Every set begins with a get_ready of at least get_ready seconds.
    for ex in r.exercises:
        readies = [s for s in segs if s.phase == "get_ready" and s.exercise == ex.index]
        assert len(readies) == ex.sets
        assert all(s.seconds >= ex.get_ready - 1e-6 for s in readies)


def test_hold_segments_last_exactly_the_hold() -> None:
    r = routine(hold(hold=7.5, reps=(2, 1)))
    tl = compile_routine(r)
    assert [s.seconds for s in work(tl)] == [7.5, 7.5, 7.5]
    check_invariants(tl, r)


def test_each_sides_do_all_reps_of_one_side_then_switch() -> None:
    r = routine(hold(reps=(2,), sides="each", side_labels=("left", "right")))
    tl = compile_routine(r)
    phases = [(s.phase, s.side, s.rep) for s in tl.segments if s.exercise == 0]
    assert phases == [
        ("get_ready", "left", 1),
        ("work", "left", 1),
        ("relax", "left", 2),
        ("work", "left", 2),
        ("switch", "right", 1),
        ("work", "right", 1),
        ("relax", "right", 2),
        ("work", "right", 2),
    ]
    assert [c.text for c in tl.cues if c.role == "switch"] == ["Switch to the right side."]


def test_sides_that_are_not_left_and_right_are_named_as_written() -> None:
    r = routine(hold(reps=(1,), sides="each", side_labels=("clockwise", "counterclockwise")))
    tl = compile_routine(r)
    assert [c.text for c in tl.cues if c.role == "switch"] == ["Switch to counterclockwise."]
    assert [c.text for c in tl.cues if c.role == "announce"] == ["Bird dog. Clockwise first."]


def test_alternate_sides_take_turns_rep_by_rep() -> None:
    r = routine(hold(reps=(2,), sides="alternate"))
    tl = compile_routine(r)
    assert [(s.rep, s.side) for s in work(tl)] == [
        (1, "left"),
        (1, "right"),
        (2, "left"),
        (2, "right"),
    ]


def test_reverse_pyramid_makes_one_set_per_entry_with_rest_between() -> None:
    r = routine(hold(reps=(6, 4, 2), rest=20))
    tl = compile_routine(r)
    assert [sum(1 for s in work(tl) if s.set == k) for k in (1, 2, 3)] == [6, 4, 2]
    rests = [s for s in tl.segments if s.phase == "rest"]
    assert [s.seconds for s in rests] == [20, 20]  # none after the routine's last set
    check_invariants(tl, r)


def test_rest_announces_what_comes_next() -> None:
    r = routine(hold(reps=(1,)), hold(1, name="Curl-up", reps=(1,)))
    tl = compile_routine(r)
    assert [c.text for c in tl.cues if c.role == "next"] == ["Next: Curl-up."]
    # "Set 1 of 1" says nothing; with more sets, the set is named (once, briefly).
    two = compile_routine(routine(hold(reps=(1,)), hold(1, name="Curl-up", reps=(1, 1))))
    assert [c.text for c in two.cues if c.role == "next"] == [
        "Next: Curl-up, set 1.",
        "Next: Curl-up, set 2.",
    ]
    assert [c.text for c in two.cues if c.role == "announce"] == [
        "Bird dog.",
        "Curl-up. Set 1 of 2.",
        "Curl-up. Set 2 of 2.",
    ]


def test_zero_pauses_make_no_segment() -> None:
    r = routine(
        hold(reps=(3,), sides="each", between_reps=0, switch_sides=0, rest=0), hold(1, reps=(1,))
    )
    tl = compile_routine(r)
    assert not [s for s in tl.segments if s.phase in ("relax", "switch", "rest")]
    check_invariants(tl, r)


def test_breathing_cues_follow_the_cadence_inside_holds() -> None:
    r = routine(hold(reps=(1,), hold=20, breathing=Breathing(2, 3)))
    tl = compile_routine(r)
    w = work(tl)[0]
    breaths = [(round(c.at - w.start, 6), c.text) for c in tl.cues if c.role == "breathe"]
    assert breaths == [
        (0.5, "Breathe in."),
        (2.5, "Breathe out."),
        (5.5, "Breathe in."),
        (7.5, "Breathe out."),
        (10.5, "Breathe in."),
        (12.5, "Breathe out."),
        (15.5, "Breathe in."),
        (17.5, "Breathe out."),
    ]


def test_breathing_false_and_tone_breathing() -> None:
    off = compile_routine(routine(hold(breathing=None)))
    assert not [c for c in off.cues if c.role == "breathe"]
    tones = compile_routine(routine(hold(breathing_sound="tone")))
    breathes = [c for c in tones.cues if c.role == "breathe"]
    assert breathes and all(c.tone in ("inhale", "exhale") for c in breathes)


def test_reps_are_counted_one_by_one() -> None:
    r = routine(Exercise(0, "Dead bug", "reps", (4,), tempo=4, between_reps=0))
    tl = compile_routine(r)
    # Never a bare "1" right after the countdown's "1".
    assert [c.text for c in tl.cues if c.role == "count"] == ["Rep 1.", "2", "3", "4"]


def test_alternating_reps_name_each_rep_once_and_each_side() -> None:
    r = routine(Exercise(0, "Dead bug", "reps", (2,), tempo=4, sides="alternate"))
    tl = compile_routine(r)
    assert [c.text for c in tl.cues if c.role == "count"] == [
        "Rep 1, left.",
        "Right.",
        "Rep 2, left.",
        "Right.",
    ]
    assert [s.seconds for s in work(tl)] == [4, 4, 4, 4]


def test_timed_work_gets_halfway_and_remaining_cues() -> None:
    r = routine(Exercise(0, "Farmer carry", "timed", (1,), duration=40, sides="each"))
    tl = compile_routine(r)
    w = work(tl)
    assert len(w) == 2
    for bout in w:
        inside = [c for c in tl.cues if bout.start <= c.at < bout.end and c.text is not None]
        halfway = [c for c in inside if c.role == "halfway"]
        remaining = [c for c in inside if c.role == "remaining"]
        assert [c.text for c in halfway] == ["Halfway."]
        assert len(remaining) == 1
        # Each goes into the gap after a breath, within a breath of its time ...
        assert abs(halfway[0].at - (bout.start + 20)) <= 3
        assert abs(remaining[0].at - (bout.end - 10)) <= 3
        # ... and says the time it is really said at.
        left = round(bout.end - remaining[0].at)
        assert remaining[0].text == f"{left} seconds left."
        # The voice never talks over itself, by the compiler's estimate.
        for a, b in pairwise(inside):
            assert a.at + estimate_speech_seconds(a.text or "") <= b.at
        # And the breathing still alternates in, out, in, out.
        breaths = [c.text for c in inside if c.role == "breathe"]
        assert all(a != b for a, b in pairwise(breaths))


def test_short_timed_work_has_no_milestones() -> None:
    tl = compile_routine(routine(Exercise(0, "Stir", "timed", (1,), duration=15)))
    assert not [c for c in tl.cues if c.role in ("halfway", "remaining")]


def test_countdown_ends_exactly_at_the_start_of_work() -> None:
    tl = compile_routine(routine(hold(reps=(1,), countdown=3)))
    start = work(tl)[0].start
    spoken = [(c.text, c.at) for c in tl.cues if c.role == "countdown" and c.text]
    assert spoken == [("3", start - 3), ("2", start - 2), ("1", start - 1)]


def test_get_ready_grows_to_fit_long_coaching_cues() -> None:
    long_cue = " ".join(["word"] * 40)
    tl = compile_routine(routine(hold(reps=(1,), get_ready=5, cues=(long_cue,))))
    ready = tl.segments[1]
    assert ready.phase == "get_ready"
    assert ready.seconds >= estimate_speech_seconds(long_cue) + 3
    # The lead-in speech ends before the countdown begins.
    speech = [
        c for c in tl.cues if c.text and ready.start <= c.at < ready.end and c.role != "countdown"
    ]
    last = speech[-1]
    assert last.text
    assert last.at + estimate_speech_seconds(last.text) <= ready.end - 3


def test_coaching_cues_and_adjustment_are_spoken_on_the_first_set_only() -> None:
    r = routine(hold(reps=(1, 1), cues=("Keep the hips level.",), adjustment="Shorter today."))
    tl = compile_routine(r)
    assert [c.text for c in tl.cues if c.role == "cue"] == ["Keep the hips level."]
    assert [c.text for c in tl.cues if c.role == "adjust"] == ["Shorter today."]


def test_json_has_schema_version_1_and_round_trips() -> None:
    tl = compile_routine(routine(hold()))
    doc = json.loads(json.dumps(tl.to_json_dict()))
    assert doc["version"] == 1
    assert SCHEMA_VERSION == 1
    assert set(doc) == {"version", "title", "duration", "segments", "cues"}
    assert set(doc["segments"][0]) == {
        "start",
        "end",
        "phase",
        "exercise",
        "name",
        "set",
        "rep",
        "side",
    }
    assert set(doc["cues"][0]) == {"at", "role", "text", "tone", "exercise"}


def test_all_required_roles_appear_in_a_full_routine() -> None:
    r = routine(
        hold(reps=(2, 1), sides="each", cues=("Reach long.",)),
        Exercise(1, "Carry", "timed", (1,), duration=30),
        Exercise(2, "Dead bug", "reps", (3,)),
    )
    tl = compile_routine(r)
    assert {c.role for c in tl.cues} >= REQUIRED_ROLES
    check_invariants(tl, r)


def test_over_four_hours_is_refused_before_building(monkeypatch: pytest.MonkeyPatch) -> None:
    # Counted, not timed: no segment is built for a routine the lower bound refuses.
    built: list[object] = []
    real = timeline_module._Builder.segment

    def counting(self: Any, *a: Any, **kw: Any) -> Any:
        built.append(a)
        return real(self, *a, **kw)

    monkeypatch.setattr(timeline_module._Builder, "segment", counting)
    r = routine(*[hold(i, hold=300, reps=(100,) * 20, sides="each") for i in range(2000)])
    with pytest.raises(RoutineError) as err:
        compile_routine(r, file="long.toml")
    assert str(err.value).startswith("long.toml: error: the routine would last at least 16 h ")
    assert built == []


def test_compiling_is_deterministic() -> None:
    r = routine(hold(sides="alternate"), Exercise(1, "Carry", "timed", (2,), duration=45))
    assert compile_routine(r) == compile_routine(r)


def test_low_priority_cues_only_fall_inside_work() -> None:
    r = routine(hold(hold=12), Exercise(1, "Carry", "timed", (1,), duration=45))
    tl = compile_routine(r)
    spans = [(s.start, s.end) for s in work(tl)]
    for c in tl.cues:
        if c.role in LOW_PRIORITY_ROLES:
            assert any(a <= c.at < b for a, b in spans)


numbers = st.one_of(st.integers(1, 40), st.floats(1, 40).map(lambda x: round(x, 2)))
# A pause is none (0) or at least a second, as the loader allows.
pauses = st.one_of(st.just(0), st.integers(1, 20), st.floats(1, 20).map(lambda x: round(x, 2)))


@st.composite
def exercises(draw: st.DrawFn, index: int) -> Exercise:
    kind: Kind = draw(st.sampled_from(["hold", "reps", "timed"]))
    sets = draw(st.integers(1, 3))
    reps = (
        (1,) * sets
        if kind == "timed"
        else tuple(draw(st.lists(st.integers(1, 4), min_size=sets, max_size=sets)))
    )
    return Exercise(
        index,
        draw(st.sampled_from(["Bird dog", "Side plank", "Curl-up", "Ünïcode ✓"])),
        kind,
        reps,
        hold=draw(numbers) if kind == "hold" else None,
        tempo=draw(numbers),
        duration=draw(numbers) if kind == "timed" else None,
        sides=draw(st.sampled_from(["none", "each", "alternate"])),
        rest=draw(pauses),
        get_ready=draw(pauses),
        between_reps=draw(pauses),
        switch_sides=draw(pauses),
        brace=draw(st.booleans()),
        breathing=draw(st.one_of(st.none(), st.builds(Breathing, numbers, numbers))),
        breathing_sound=draw(st.sampled_from(["voice", "tone"])),
        countdown=draw(st.integers(0, 10)),
        cues=tuple(draw(st.lists(st.text(min_size=1, max_size=60), max_size=3))),
    )


@st.composite
def routines(draw: st.DrawFn) -> Routine:
    n = draw(st.integers(1, 4))
    return Routine("Generated", tuple(draw(exercises(i)) for i in range(n)))


@settings(max_examples=200, deadline=None)
@given(routines())
def test_generated_routines_keep_every_invariant(r: Routine) -> None:
    check_invariants(compile_routine(r), r)
