"""What a media widget is told: tracks, titles and the truthful can-do flags (pure)."""

from __future__ import annotations

import itertools

from voicecoach.nowplaying import Tracks, title_of, tracks_of
from voicecoach.program import load_today
from voicecoach.timeline import Segment, Timeline


def quick_five() -> Timeline:
    return load_today("quick-five", None, as_written=True).timeline


def test_each_exercise_is_one_track_between_the_intro_and_the_outro() -> None:
    timeline = quick_five()
    tracks = tracks_of(timeline)
    exercises = sorted({s.exercise for s in timeline.segments if s.exercise is not None})
    assert [t.exercise for t in tracks] == [None, *exercises, None]
    assert [t.number for t in tracks] == list(range(len(tracks)))
    # Back to back, covering the whole session: a widget's bar never jumps a gap.
    assert tracks[0].start == 0.0 and tracks[-1].end == timeline.duration
    assert all(a.end == b.start for a, b in itertools.pairwise(tracks))
    # The rest after an exercise belongs to it.
    rest = next(s for s in timeline.segments if s.phase == "rest")
    owner = next(t for t in tracks if t.start <= rest.start < t.end)
    assert owner.exercise == rest.exercise


def test_titles_say_the_exercise_set_and_side_as_the_coach_does() -> None:
    work = Segment(0, 8, "work", 3, "Side plank", set=2, rep=1, side="left")
    assert title_of(work, sets=3) == "Side plank: set 2 of 3, left"
    assert title_of(work, sets=1) == "Side plank: left"  # "set 1 of 1" says nothing
    assert title_of(Segment(0, 8, "work", 0, "Curl-up", set=1, rep=2), sets=1) == "Curl-up"
    assert title_of(Segment(0, 8, "rest", 0, "Curl-up"), sets=2) == "Curl-up: rest"
    assert title_of(Segment(0, 6, "intro"), sets=0) == "Intro"


def test_the_snapshot_follows_the_session_and_says_what_can_be_done() -> None:
    timeline = quick_five()
    tracks = Tracks(timeline)
    side = next(s for s in timeline.segments if s.name == "Side plank" and s.phase == "work")
    track = next(t for t in tracks.tracks if t.exercise == side.exercise)
    now = tracks.at(side.start + 1.5)
    assert now.status == "Playing"
    assert now.title == "Side plank: left"
    assert now.artist == timeline.title
    assert now.track == track.number
    assert now.length_s == track.seconds
    assert now.position_s == side.start + 1.5 - track.start
    assert now.can_next and now.can_previous and now.can_play and now.can_pause

    assert tracks.at(side.start, paused=True).status == "Paused"
    intro = tracks.at(1.0)
    assert intro.title == "Intro" and intro.can_next and not intro.can_previous
    outro = next(s for s in timeline.segments if s.phase == "outro")
    # In the outro there is nothing to skip to: "next" would only end the session.
    assert not tracks.at(outro.start + 0.1).can_next


def test_a_session_ending_or_over_is_stopped_and_offers_nothing() -> None:
    timeline = quick_five()
    tracks = Tracks(timeline)
    for now in (tracks.at(30.0, ended=True), tracks.at(timeline.duration + 5)):
        assert now.status == "Stopped"
        assert not (now.can_next or now.can_previous or now.can_play or now.can_pause)
