"""The as-played plan: exact work boundaries, lead-in stretch, low-priority drops, no drift."""

from __future__ import annotations

import itertools
import json
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from voicecoach.model import Breathing, Exercise, Routine
from voicecoach.schedule import (
    OVER_A_WORD,
    OVERLAPS_SPEECH,
    PAST_THE_END,
    Plan,
    PlannedCue,
    fallback_tone,
    plan_session,
)
from voicecoach.timeline import TONES, Cue, Phase, Segment, Timeline, compile_routine

SR = 1000  # one frame per millisecond keeps hand-made expectations readable
GAP = 150  # default gap_s = 0.15 s at SR


def tones(frames: int = 50) -> dict[str, int]:
    return {name: frames for name in TONES}


def speech(plan: Plan) -> list[PlannedCue]:
    return [e for e in plan.events if e.kind == "speech"]


def check_plan(plan: Plan, tl: Timeline, gap: int) -> None:
    """Invariants of every plan: contiguity, exact work, no speech over speech, order."""
    sr = plan.samplerate
    segs = plan.segments
    assert segs[0].start_frame == 0
    assert segs[-1].end_frame == plan.total_frames
    for a, b in itertools.pairwise(segs):
        assert a.end_frame == b.start_frame
    for ps in segs:
        assert ps.end_frame >= ps.start_frame
        if ps.segment.phase == "work":
            assert ps.frames == round(ps.segment.end * sr) - round(ps.segment.start * sr)
    starts = [e.start_frame for e in plan.events]
    assert starts == sorted(starts)
    spoken = speech(plan)
    for before, after in itertools.pairwise(spoken):
        assert before.end_frame + gap <= after.start_frame, (before, after)
    # Every cue of the timeline is either played or accounted for.
    assert len(plan.events) + sum(d.replaced_by is None for d in plan.dropped) == len(tl.cues)
    # No tone sounds over a word.
    for tone in (e for e in plan.events if e.kind == "tone"):
        for word in spoken:
            assert tone.end_frame <= word.start_frame or word.end_frame <= tone.start_frame, (
                tone,
                word,
            )


def hand_made() -> Timeline:
    """Intro, get ready with a countdown, a 10 s hold with low-priority cues, outro."""
    segs = (
        Segment(0.0, 3.0, "intro"),
        Segment(3.0, 8.0, "get_ready", 0, "Bird dog", 1, 1, None),
        Segment(8.0, 18.0, "work", 0, "Bird dog", 1, 1, None),
        Segment(18.0, 20.0, "outro"),
    )
    cues = (
        Cue(0.3, "intro", text="Hello."),
        Cue(3.3, "announce", text="Bird dog.", exercise=0),
        Cue(5.0, "countdown", tone="tick", exercise=0),
        Cue(5.0, "countdown", text="3", exercise=0),
        Cue(6.0, "countdown", tone="tick", exercise=0),
        Cue(6.0, "countdown", text="2", exercise=0),
        Cue(7.0, "countdown", tone="tick", exercise=0),
        Cue(7.0, "countdown", text="1", exercise=0),
        Cue(8.0, "start", tone="start", exercise=0),
        Cue(8.0, "count", text="Rep 1", exercise=0),
        Cue(8.2, "breathe", text="Breathe in.", exercise=0),
        Cue(13.0, "halfway", text="Halfway.", exercise=0),
        Cue(17.8, "breathe", text="Breathe out.", exercise=0),
        Cue(18.0, "stop", tone="stop", exercise=0),
        Cue(18.0, "done", tone="done"),
        Cue(18.5, "done", text="Done."),
    )
    return Timeline("Hand made", 20.0, segs, cues)


def hand_clips(hello: int) -> dict[str, int]:
    return {
        "Hello.": hello,
        "Bird dog.": 500,
        "3": 300,
        "2": 300,
        "1": 300,
        "Rep 1": 500,
        "Breathe in.": 400,
        "Halfway.": 600,
        "Breathe out.": 500,
        "Done.": 700,
    }


def test_cues_sit_at_their_rounded_time_when_every_phrase_fits() -> None:
    tl = hand_made()
    plan = plan_session(tl, hand_clips(hello=1000), tones(), SR)
    check_plan(plan, tl, GAP)
    assert plan.total_frames == 20_000
    for ev in speech(plan):
        assert ev.start_frame == round(ev.cue.at * SR)
    # Ticks lead their numbers and the start tone leads "Rep 1" by 200 ms; the inhale
    # that stands in for "Breathe in." waits for "Rep 1" (8000-8500) to end.
    assert [(e.key, e.start_frame) for e in plan.events if e.kind == "tone"] == [
        ("tick", 4800),
        ("tick", 5800),
        ("tick", 6800),
        ("start", 7800),
        ("inhale", 8550),
        ("exhale", 17800),
        ("stop", 18000),
        ("done", 18000),
    ]
    assert [(s.start_frame, s.end_frame) for s in plan.segments] == [
        (0, 3000),
        (3000, 8000),
        (8000, 18000),
        (18000, 20000),
    ]


def test_a_tone_that_cannot_lead_its_word_gives_way_to_it() -> None:
    # A 2 s start tone cannot end before "Rep 1" without sounding over "1": dropped.
    tl = hand_made()
    plan = plan_session(tl, hand_clips(hello=1000), tones() | {"start": 2000}, SR)
    check_plan(plan, tl, GAP)
    assert "start" not in [e.key for e in plan.events]
    assert [(d.cue.tone, d.frame, d.reason) for d in plan.dropped if d.cue.tone] == [
        ("start", 8000, OVER_A_WORD)
    ]


def test_a_long_lead_in_stretches_its_segment_and_shifts_everything_after_by_the_overflow() -> None:
    tl = hand_made()
    short = plan_session(tl, hand_clips(hello=1000), tones(), SR)
    long = plan_session(tl, hand_clips(hello=4000), tones(), SR)
    # "Hello." starts at 300 and ends at 4300; with the gap it needs 4450 of a 3000 slot.
    overflow = 4300 + GAP - 3000
    assert long.segments[0].end_frame == 3000 + overflow
    assert long.total_frames == short.total_frames + overflow
    for a, b in zip(short.segments[1:], long.segments[1:], strict=True):
        assert (b.start_frame, b.end_frame) == (a.start_frame + overflow, a.end_frame + overflow)
    for ea, eb in zip(short.events[1:], long.events[1:], strict=True):
        assert eb.cue == ea.cue
        assert eb.start_frame == ea.start_frame + overflow
    check_plan(long, tl, GAP)


def test_lead_in_speech_waits_for_the_previous_phrase_and_stretches_before_the_countdown() -> None:
    tl = hand_made()
    clips = hand_clips(hello=1000) | {"Bird dog.": 3000}
    plan = plan_session(tl, clips, tones(), SR)
    announce = next(e for e in plan.events if e.cue.role == "announce")
    assert announce.start_frame == 3300
    # It ends at 6300; with the gap the countdown's first tick (200 ms ahead of "3" at
    # 5000) must move 1650 later.
    ready, work = plan.segments[1], plan.segments[2]
    assert ready.end_frame == 8000 + 1650
    countdown = [e.start_frame for e in plan.events if e.cue.role == "countdown"]
    assert countdown == [6450, 6650, 7450, 7650, 8450, 8650]
    assert work.start_frame == 9650
    assert work.frames == 10_000
    check_plan(plan, tl, GAP)


def test_low_priority_speech_that_does_not_fit_gives_way_to_its_tone() -> None:
    tl = hand_made()
    plan = plan_session(tl, hand_clips(hello=1000), tones(), SR)
    # "Rep 1" (8000-8500) leaves no gap for "Breathe in." at 8200; "Breathe out." at
    # 17800 would run 300 frames past the end of the hold at 18000.
    assert [(d.cue.text, d.frame, d.reason, d.replaced_by) for d in plan.dropped] == [
        ("Breathe in.", 8200, OVERLAPS_SPEECH, "inhale"),
        ("Breathe out.", 17800, PAST_THE_END, "exhale"),
    ]
    # The inhale waits for "Rep 1" to end (and a 50-frame clearance), never over it.
    replaced = [(e.start_frame, e.key) for e in plan.events if e.cue.role == "breathe"]
    assert replaced == [(8550, "inhale"), (17800, "exhale")]
    assert all(e.kind == "tone" for e in plan.events if e.cue.role == "breathe")
    assert "Halfway." in [e.key for e in speech(plan)]


def test_counts_become_ticks_and_milestones_are_dropped_when_they_do_not_fit() -> None:
    segs = (Segment(0.0, 2.0, "work", 0, "Carry", 1), Segment(2.0, 4.0, "work", 0, "Carry", 1))
    cues = (
        Cue(0.0, "count", text="1"),
        Cue(0.1, "remaining", text="Soon."),
        Cue(2.0, "count", text="2"),
        Cue(3.5, "halfway", text="Halfway."),
    )
    tl = Timeline("t", 4.0, segs, cues)
    plan = plan_session(tl, {"1": 500, "2": 2500, "Soon.": 100, "Halfway.": 600}, tones(), SR)
    assert [(d.cue.text, d.frame, d.reason, d.replaced_by) for d in plan.dropped] == [
        ("Soon.", 100, OVERLAPS_SPEECH, None),
        ("2", 2000, PAST_THE_END, "tick"),
        ("Halfway.", 3500, PAST_THE_END, None),
    ]
    assert [(e.start_frame, e.kind, e.key) for e in plan.events] == [
        (0, "speech", "1"),
        (2000, "tone", "tick"),
    ]
    assert plan.events[1].cue == Cue(2.0, "count", tone="tick")


def test_fallback_tones_follow_the_role_and_the_breath_direction() -> None:
    assert fallback_tone(Cue(0, "count", text="Rep 2")) == "tick"
    assert fallback_tone(Cue(0, "breathe", text="Breathe in.")) == "inhale"
    assert fallback_tone(Cue(0, "breathe", text="Breathe out.")) == "exhale"
    assert fallback_tone(Cue(0, "halfway", text="Halfway.")) is None
    assert fallback_tone(Cue(0, "remaining", text="10 seconds left.")) is None


def test_work_segments_last_exactly_the_hold_whatever_the_clips() -> None:
    r = Routine(
        "T",
        (
            Exercise(
                0, "Side plank", "hold", (3, 2), hold=7.3, sides="each", cues=("Stack the hips.",)
            ),
            Exercise(1, "Dead bug", "reps", (5,), tempo=2.7, between_reps=0),
        ),
    )
    tl = compile_routine(r)
    sr = 48_000
    # Every phrase three times longer than the compiler's estimate: lead-ins stretch a lot.
    clips = {t: 3 * round((0.25 + 0.38 * len(t.split())) * sr) for t in tl.phrases()}
    plan = plan_session(tl, clips, tones(4800), sr)
    check_plan(plan, tl, round(0.15 * sr))
    works = [s for s in plan.segments if s.segment.phase == "work"]
    assert len(works) == 5 * 2 + 5
    assert {w.frames for w in works if w.segment.exercise == 0} == {round(7.3 * sr)}
    assert plan.total_frames > round(tl.duration * sr)
    # Start and stop tones sit on the work boundaries as played, or lead by 200 ms the
    # word said there ("Rep 2.", "Relax.").
    lead = round(0.2 * sr)
    words = {e.start_frame for e in speech(plan)}
    starts = sorted(e.start_frame for e in plan.events if e.cue.role == "start")
    stops = sorted(e.start_frame for e in plan.events if e.cue.role == "stop")
    assert starts == [w.start_frame - lead * (w.start_frame in words) for w in works]
    assert stops == [w.end_frame - lead * (w.end_frame in words) for w in works]
    assert sum(w.start_frame in words for w in works) >= len(works) - 1  # "Rep 1." is too long


def test_countdown_ends_exactly_one_second_before_the_work_starts_as_played() -> None:
    r = Routine("T", (Exercise(0, "Bird dog", "hold", (2,), hold=10, cues=("A b c d.",)),))
    tl = compile_routine(r)
    sr = 22_050
    clips = {t: 4 * round((0.25 + 0.38 * len(t.split())) * sr) for t in tl.phrases()}
    clips |= {"1": 5000, "2": 5000, "3": 5000}
    plan = plan_session(tl, clips, tones(100), sr)
    work = next(s for s in plan.segments if s.segment.phase == "work")
    numbers = [(e.key, e.start_frame) for e in speech(plan) if e.cue.role == "countdown"]
    assert numbers == [
        ("3", work.start_frame - 3 * sr),
        ("2", work.start_frame - 2 * sr),
        ("1", work.start_frame - sr),
    ]


def test_a_simulated_hour_does_not_drift_by_a_single_sample() -> None:
    # Awkward lengths (rounded to the microsecond, like the compiler) at 44.1 kHz.
    rng = random.Random(7)
    segs: list[Segment] = []
    cues: list[Cue] = []
    t = 0.0
    while t < 3600.0:
        steps: list[tuple[Phase, float]] = [
            ("get_ready", 5.0 + rng.random() * 3),
            ("work", 7.3 + rng.random()),
            ("rest", 12.0 + rng.random() * 20),
        ]
        for phase, seconds in steps:
            end = round(t + seconds, 6)
            segs.append(Segment(t, end, phase, 0, "x", 1))
            if phase == "get_ready":
                cues.append(Cue(round(t + 0.3, 6), "announce", text="Go."))
                for k in (3, 2, 1):
                    cues.append(Cue(round(end - k, 6), "countdown", text=str(k)))
            elif phase == "work":
                cues.append(Cue(t, "start", tone="start"))
                cues.append(Cue(round(t + 2.5, 6), "breathe", text="Breathe in."))
                cues.append(Cue(end, "stop", tone="stop"))
            t = end
    tl = Timeline("hour", t, tuple(segs), tuple(cues))
    sr = 44_100
    clips = {"Go.": 30_000, "1": 15_000, "2": 15_000, "3": 15_000, "Breathe in.": 40_000}
    plan = plan_session(tl, clips, tones(2205), sr)
    assert tl.duration > 3600
    assert plan.total_frames == round(tl.duration * sr)
    assert not plan.dropped
    for ps in plan.segments:
        assert (ps.start_frame, ps.end_frame) == (
            round(ps.segment.start * sr),
            round(ps.segment.end * sr),
        )
    for ev in plan.events:
        assert ev.start_frame == round(ev.cue.at * sr)
    check_plan(plan, tl, round(0.15 * sr))


def test_a_compiled_hour_keeps_every_work_boundary_on_its_rounded_time() -> None:
    r = Routine(
        "Hour",
        tuple(
            Exercise(i, f"Ex {i}", "hold", (8, 8, 8), hold=9.7, rest=40, sides="each")
            for i in range(5)
        ),
    )
    tl = compile_routine(r)
    assert tl.duration > 3600
    sr = 48_000
    clips = {t: round(0.2 * sr) for t in tl.phrases()}  # short: nothing stretches
    plan = plan_session(tl, clips, tones(2400), sr)
    for ps in plan.segments:
        if ps.segment.phase == "work":
            assert ps.start_frame == round(ps.segment.start * sr)
            assert ps.end_frame == round(ps.segment.end * sr)
    assert plan.total_frames == round(tl.duration * sr)


def test_as_rendered_is_the_compile_json_as_played_with_kind_end_and_dropped() -> None:
    tl = hand_made()
    plan = plan_session(tl, hand_clips(hello=4000), tones(), SR)
    doc = json.loads(json.dumps(plan.as_rendered("Hand made")))
    assert doc["version"] == 1
    assert doc["title"] == "Hand made"
    assert doc["duration"] == plan.total_frames / SR == 21.45
    assert set(doc) == {"version", "title", "duration", "segments", "cues", "dropped"}
    assert list(doc["segments"][0]) == [
        "start",
        "end",
        "phase",
        "exercise",
        "name",
        "set",
        "rep",
        "side",
    ]
    assert doc["segments"][0]["end"] == 4.45
    assert list(doc["cues"][0]) == ["at", "role", "text", "tone", "exercise", "kind", "end"]
    hello = doc["cues"][0]
    assert (hello["at"], hello["end"], hello["kind"]) == (0.3, 4.3, "speech")
    starts = [c for c in doc["cues"] if c["role"] == "start"]
    assert starts == [
        {
            "at": 9.25,
            "role": "start",
            "text": None,
            "tone": "start",
            "exercise": 0,
            "kind": "tone",
            "end": 9.3,
        }
    ]
    assert doc["dropped"][0] == {
        "at": 9.65,
        "role": "breathe",
        "text": "Breathe in.",
        "reason": OVERLAPS_SPEECH,
        "replaced_by": "inhale",
    }


def test_a_final_sound_longer_than_the_outro_extends_the_outro() -> None:
    tl = hand_made()
    plan = plan_session(tl, hand_clips(hello=1000) | {"Done.": 5000}, tones(), SR)
    assert plan.segments[-1].end_frame == plan.total_frames == 18_500 + 5000 + GAP
    # The outro's speech stretched it; the gap follows the last word.
    assert max(e.end_frame for e in plan.events) == 23_500


exercises = st.builds(
    lambda kind, hold, reps, sides, between, breathing, rest: Exercise(
        0,
        "Ex",
        kind,
        reps,
        hold=hold if kind == "hold" else None,
        duration=hold * 3 if kind == "timed" else None,
        sides=sides,
        between_reps=between,
        breathing=breathing,
        rest=rest,
    ),
    st.sampled_from(["hold", "reps", "timed"]),
    st.floats(1.0, 15.0).map(lambda x: round(x, 3)),
    st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
    st.sampled_from(["none", "each", "alternate"]),
    st.sampled_from([0.0, 1.5, 3.0]),
    st.sampled_from([None, Breathing(2, 3), Breathing(0.7, 0.9)]),
    st.sampled_from([0.0, 10.0]),
)


@settings(max_examples=40, deadline=None)
@given(
    ex=exercises,
    seed=st.integers(0, 2**32),
    sr=st.sampled_from([8000, 22_050, 48_000]),
    gap_s=st.sampled_from([0.0, 0.15, 0.4]),
)
def test_every_plan_keeps_work_exact_and_speech_apart(
    ex: Exercise, seed: int, sr: int, gap_s: float
) -> None:
    r = Routine("Gen", (ex, Exercise(1, "Two", "hold", (1,), hold=5)))
    tl = compile_routine(r)
    rng = random.Random(seed)
    clips = {t: rng.randrange(0, 4 * sr) for t in tl.phrases()}
    clips |= {str(k): rng.randrange(0, sr // 2) for k in (1, 2, 3)}
    plan = plan_session(tl, clips, tones(rng.randrange(1, sr // 4)), sr, gap_s=gap_s)
    check_plan(plan, tl, round(gap_s * sr))
