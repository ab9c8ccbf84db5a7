"""The built-in exercise library: plain data that every routine can `use`."""

from __future__ import annotations

import pytest

from voicecoach.library import LIBRARY, library_entries
from voicecoach.model import KINDS, SIDES
from voicecoach.routine import parse_routine

EXPECTED = {
    "farmer-carry": ("timed", "each"),
    "dead-bug": ("reps", "alternate"),
    "stir-the-pot": ("timed", "each"),
    "leg-drops": ("reps", "alternate"),
    "pallof-press": ("hold", "each"),
    "front-plank": ("hold", "none"),
    "side-plank": ("hold", "each"),
    "bird-dog": ("hold", "alternate"),
    "curl-up": ("hold", "none"),
}


def load_one(keys: str):
    (exercise,) = parse_routine(f'[routine]\ntitle = "T"\n[[exercise]]\n{keys}\n').exercises
    return exercise


def test_the_library_holds_the_nine_exercises_with_their_kind_and_sides():
    assert {slug: (e.kind, e.keys.get("sides", "none")) for slug, e in LIBRARY.items()} == (
        EXPECTED
    )


@pytest.mark.parametrize("slug", sorted(EXPECTED))
def test_every_entry_loads_through_use_with_its_dose_and_cues(slug: str):
    entry = LIBRARY[slug]
    exercise = load_one(f'use = "{slug}"')
    assert (exercise.name, exercise.kind, exercise.use) == (entry.name, entry.kind, slug)
    assert exercise.cues == entry.cues
    assert exercise.sets >= 1
    assert all(1 <= n <= 10 for n in exercise.reps)  # beginner doses: few reps
    assert exercise.hold is None or exercise.hold <= 15  # and short holds
    assert exercise.duration is None or exercise.duration <= 30


@pytest.mark.parametrize("slug", sorted(EXPECTED))
def test_every_kind_an_entry_offers_loads(slug: str):
    for kind in LIBRARY[slug].doses:
        assert load_one(f'use = "{slug}"\nkind = "{kind}"').kind == kind


def test_pallof_press_can_be_holds_or_reps():
    assert tuple(LIBRARY["pallof-press"].doses) == ("hold", "reps")


def test_stir_the_pot_names_its_sides_as_directions():
    assert load_one('use = "stir-the-pot"').side_labels == ("clockwise", "counterclockwise")


def test_each_entry_has_two_to_four_short_cues_and_a_summary():
    for entry in library_entries():
        assert 2 <= len(entry.cues) <= 4, entry.slug
        assert all(10 <= len(cue) <= 100 and cue.endswith(".") for cue in entry.cues)
        assert entry.summary.endswith(".")
        assert entry.kind in KINDS
        assert entry.keys.get("sides", "none") in SIDES


def test_the_cues_teach_bracing_with_breathing():
    for entry in library_entries():
        assert any("breath" in cue.lower() for cue in entry.cues), entry.slug


def test_an_entrys_routine_keys_are_a_fresh_dict_in_routine_form():
    keys = LIBRARY["bird-dog"].routine_keys()
    assert keys == {
        "name": "Bird dog",
        "kind": "hold",
        "sides": "alternate",
        "hold": 10,
        "reps": 4,
        "cues": list(LIBRARY["bird-dog"].cues),
    }
    keys["cues"].append("changed")
    assert LIBRARY["bird-dog"].routine_keys()["cues"] == list(LIBRARY["bird-dog"].cues)


def test_a_kind_without_a_dose_gets_the_shared_keys_only():
    assert LIBRARY["bird-dog"].routine_keys("timed") == {
        "name": "Bird dog",
        "kind": "timed",
        "sides": "alternate",
        "cues": list(LIBRARY["bird-dog"].cues),
    }
