"""The routine loader: valid files become the model; every mistake is one located line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import tomlkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicecoach.errors import RoutineError, VoicecoachError
from voicecoach.model import Breathing, Progression, Voice
from voicecoach.routine import load_routine, parse_routine

HEAD = '[routine]\ntitle = "T"\n'


def errors(text: str) -> list[str]:
    """The formatted problems of routine ``text`` (dedented), named ``r.toml``."""
    with pytest.raises(RoutineError) as info:
        parse_routine(textwrap.dedent(text), "r.toml")
    return [p.format() for p in info.value.problems]


def one_error(text: str) -> str:
    found = errors(text)
    assert len(found) == 1, found
    return found[0]


def parse(text: str):
    return parse_routine(textwrap.dedent(text), "r.toml")


# ---------------------------------------------------------------- valid routines


def test_a_full_routine_resolves_every_key_into_the_model():
    routine = parse(
        """
        #:schema ./routine.schema.json
        [routine]
        title = "Back-safe core basics"
        notes = "Mornings."
        voice = { name = "gmw/en-us", rate = 170, volume = 0.9 }

        [defaults]
        rest = 20
        get_ready = 6
        between_reps = 2.5
        switch_sides = 4
        brace = false
        breathing = { inhale = 4, exhale = 5 }
        breathing_sound = "tone"
        countdown = 5

        [[exercise]]
        name = "Bird dog"
        kind = "hold"
        hold = 10
        reps = [6, 4, 2]
        sides = "alternate"
        side_labels = ["left", "right"]
        cues = ["Reach long.", "Keep the hips level."]
        rest = 0

        [exercise.progression]
        step = 2
        max = 30
        after = 3
        """
    )
    assert routine.title == "Back-safe core basics"
    assert routine.notes == "Mornings."
    assert routine.voice == Voice(name="gmw/en-us", rate=170, volume=0.9)
    (ex,) = routine.exercises
    assert (ex.index, ex.name, ex.kind, ex.reps, ex.hold) == (0, "Bird dog", "hold", (6, 4, 2), 10)
    assert (ex.sides, ex.side_labels) == ("alternate", ("left", "right"))
    assert ex.cues == ("Reach long.", "Keep the hips level.")
    assert (ex.rest, ex.get_ready, ex.between_reps, ex.switch_sides) == (0, 6, 2.5, 4)
    assert (ex.brace, ex.breathing_sound, ex.countdown) == (False, "tone", 5)
    assert ex.breathing == Breathing(inhale=4, exhale=5)
    assert ex.progression == Progression(step=2, max=30, after=3)


def test_an_int_reps_with_sets_repeats_the_set():
    routine = parse(HEAD + '[[exercise]]\nname = "D"\nkind = "reps"\nreps = 8\nsets = 3\n')
    assert routine.exercises[0].reps == (8, 8, 8)
    assert routine.exercises[0].tempo == 3


def test_a_timed_exercise_has_one_bout_per_set():
    routine = parse(HEAD + '[[exercise]]\nname = "C"\nkind = "timed"\nduration = 40\nsets = 2\n')
    ex = routine.exercises[0]
    assert (ex.reps, ex.duration, ex.hold) == ((1, 1), 40, None)


def test_use_starts_from_the_library_and_the_file_overrides_it():
    routine = parse(HEAD + '[[exercise]]\nuse = "side-plank"\nhold = 15\nname = "Side bridge"\n')
    ex = routine.exercises[0]
    assert (ex.name, ex.kind, ex.hold, ex.reps, ex.sides, ex.use) == (
        "Side bridge",
        "hold",
        15,
        (3,),
        "each",
        "side-plank",
    )
    assert len(ex.cues) >= 2


def test_a_list_of_reps_replaces_the_library_sets():
    routine = parse(
        HEAD + '[[exercise]]\nuse = "farmer-carry"\nkind = "hold"\nhold = 5\nreps = [2, 1]\n'
    )
    assert routine.exercises[0].reps == (2, 1)


def test_choosing_another_kind_takes_the_library_dose_for_that_kind():
    routine = parse(HEAD + '[[exercise]]\nuse = "pallof-press"\nkind = "reps"\n')
    ex = routine.exercises[0]
    assert (ex.kind, ex.reps, ex.hold, ex.tempo) == ("reps", (8,), None, 3)


def test_breathing_false_disables_it_and_an_exercise_table_fills_from_defaults():
    routine = parse(
        HEAD
        + "[defaults]\nbreathing = { inhale = 4, exhale = 6 }\n"
        + '[[exercise]]\nuse = "curl-up"\nbreathing = false\n'
        + '[[exercise]]\nuse = "curl-up"\nbreathing = { exhale = 2 }\n'
        + '[[exercise]]\nuse = "curl-up"\n'
    )
    first, second, third = routine.exercises
    assert first.breathing is None
    assert second.breathing == Breathing(inhale=4, exhale=2)
    assert third.breathing == Breathing(inhale=4, exhale=6)


def test_exercises_may_be_written_as_an_inline_array():
    text = 'exercise = [{ use = "bird-dog" }, { use = "curl-up", hold = 8 }]\n' + HEAD
    routine = parse(text)
    assert [e.name for e in routine.exercises] == ["Bird dog", "Curl-up"]


def test_a_thousand_exercises_load():
    text = HEAD + '[[exercise]]\nuse = "bird-dog"\n' * 1000
    assert len(parse_routine(text).exercises) == 1000


# ---------------------------------------------------------------- the examples of the brief


def test_an_unknown_key_suggests_the_nearest_one():
    text = """\
        [routine]
        title = "T"

        [[exercise]]
        use = "bird-dog"

        [[exercise]]
        name = "Side plank"
        kind = "hold"
        reps = 3
        hold = 10
          hodl = 10
        """
    assert one_error(text) == (
        "r.toml:12:3: error: unknown key 'hodl' in exercise 2 (Side plank); did you mean 'hold'?"
    )


def test_a_misspelled_required_key_is_reported_once_not_also_as_missing():
    text = HEAD + '[[exercise]]\nnmae = "Plank"\nknid = "hold"\nhodl = 10\nrpes = 3\n'
    assert errors(text) == [
        "r.toml:4:1: error: unknown key 'nmae' in exercise 1; did you mean 'name'?",
        "r.toml:5:1: error: unknown key 'knid' in exercise 1; did you mean 'kind'?",
        "r.toml:6:1: error: unknown key 'hodl' in exercise 1; did you mean 'hold'?",
        "r.toml:7:1: error: unknown key 'rpes' in exercise 1; did you mean 'reps'?",
    ]


def test_a_hold_out_of_range_says_the_range_and_what_was_found():
    assert one_error(HEAD + '[[exercise]]\nuse = "bird-dog"\nhold = 0\n') == (
        "r.toml:5:1: error: 'hold' in exercise 1 (Bird dog) must be a number of seconds "
        "from 1 to 300, found 0"
    )


def test_an_unknown_kind_lists_the_kinds():
    text = HEAD + (
        '[[exercise]]\nuse = "curl-up"\n[[exercise]]\nuse = "curl-up"\n'
        '[[exercise]]\nname = "Plank"\n    kind = "hodl"\nhold = 10\nreps = 1\n'
    )
    assert one_error(text) == (
        'r.toml:9:5: error: \'kind\' in exercise 3 (Plank) must be one of "hold", "reps", '
        '"timed", found "hodl"; did you mean "hold"?'
    )


def test_an_unknown_library_exercise_suggests_the_nearest_one():
    assert one_error(HEAD + '[[exercise]]\nuse = "bird-dgo"\n') == (
        "r.toml:4:1: error: unknown exercise 'bird-dgo' in exercise 1; did you mean 'bird-dog'?"
    )


def test_a_missing_key_points_at_the_exercise_header():
    text = HEAD + (
        '[[exercise]]\nuse = "bird-dog"\n\n  [[exercise]]\nname = "Curl-up"\nkind = "hold"\n'
        "reps = 3\n"
    )
    assert one_error(text) == (
        "r.toml:6:3: error: missing 'hold' in exercise 2 (Curl-up): "
        "a hold exercise needs seconds per hold"
    )


def test_a_routine_without_exercises_says_to_add_one():
    assert one_error(HEAD) == (
        "r.toml: error: the routine has no exercises; add an [[exercise]] table"
    )


# ---------------------------------------------------------------- more problems, located


def test_an_inner_key_of_an_inline_table_is_located_at_its_own_column():
    text = HEAD + '[[exercise]]\nuse = "bird-dog"\nbreathing = { inhale = 3, exhale = 0 }\n'
    assert one_error(text) == (
        "r.toml:5:27: error: 'breathing.exhale' in exercise 1 (Bird dog) must be a number of "
        "seconds from 1 to 20, found 0"
    )


def test_a_bad_entry_of_a_reps_list_is_located_at_the_entry():
    text = HEAD + '[[exercise]]\nuse = "bird-dog"\nreps = [6, 4,\n        0]\n'
    assert one_error(text) == (
        "r.toml:6:9: error: 'reps' entry 3 in exercise 1 (Bird dog) must be a whole number "
        "of reps from 1 to 100, found 0"
    )


def test_dotted_and_quoted_keys_are_located():
    text = (
        'routine.title = "T"\n'
        'routine.voice.rate = 1000\n[[exercise]]\nuse = "curl-up"\n"hold" = "ten"\n'
        "'breathing'.'inhale' = -1\n"
    )
    assert errors(text) == [
        "r.toml:2:15: error: 'voice.rate' in [routine] must be a whole number of words per "
        "minute from 50 to 500, found 1000",
        "r.toml:5:1: error: 'hold' in exercise 1 (Curl-up) must be a number of seconds "
        'from 1 to 300, found "ten"',
        "r.toml:6:13: error: 'breathing.inhale' in exercise 1 (Curl-up) must be a number of "
        "seconds from 1 to 20, found -1",
    ]


def test_a_key_meaningless_for_the_kind_says_so():
    text = HEAD + '[[exercise]]\nuse = "dead-bug"\nhold = 10\n'
    assert one_error(text) == (
        "r.toml:5:1: error: 'hold' does not apply to exercise 1 (Dead bug), a reps exercise; "
        "set kind = \"hold\" for holds, or remove 'hold'"
    )


def test_reps_on_a_timed_exercise_is_an_error():
    text = HEAD + '[[exercise]]\nuse = "farmer-carry"\nreps = 5\n'
    assert one_error(text).startswith(
        "r.toml:5:1: error: 'reps' does not apply to exercise 1 (Farmer carry), a timed exercise"
    )


def test_sets_with_a_list_of_reps_is_an_error_at_sets():
    text = HEAD + '[[exercise]]\nuse = "bird-dog"\nreps = [6, 4]\nsets = 2\n'
    assert one_error(text).startswith(
        "r.toml:6:1: error: 'sets' in exercise 1 (Bird dog) cannot be combined with a list "
        "of 'reps'"
    )


def test_more_than_twenty_sets_is_an_error():
    text = HEAD + '[[exercise]]\nuse = "dead-bug"\nsets = 21\n'
    assert one_error(text) == (
        "r.toml:5:1: error: 'sets' in exercise 1 (Dead bug) must be a whole number of sets "
        "from 1 to 20, found 21"
    )


def test_missing_name_and_kind_are_reported_at_the_header():
    assert errors(HEAD + "[[exercise]]\nhold = 10\n") == [
        "r.toml:3:1: error: missing 'kind' in exercise 1: say what it is, kind = \"hold\", "
        '"reps" or "timed"',
        "r.toml:3:1: error: missing 'name' in exercise 1: name it, e.g. name = \"Bird dog\"",
    ]


def test_a_timed_exercise_needs_a_duration():
    assert one_error(HEAD + '[[exercise]]\nname = "Carry"\nkind = "timed"\n') == (
        "r.toml:3:1: error: missing 'duration' in exercise 1 (Carry): a timed exercise needs "
        "seconds of work per set"
    )


def test_a_reps_exercise_needs_reps():
    assert one_error(HEAD + '[[exercise]]\nname = "Bug"\nkind = "reps"\n') == (
        "r.toml:3:1: error: missing 'reps' in exercise 1 (Bug): a reps exercise needs reps per "
        "set (reps = 5, or reps = [6, 4, 2] for one set per entry)"
    )


def test_routine_level_problems_are_located():
    text = (
        '[routine]\ntitle = ""\nvoice = { volume = 2 }\ntempo = 3\n[[exercise]]\nuse = "curl-up"\n'
    )
    assert errors(text) == [
        "r.toml:2:1: error: 'title' in [routine] must not be empty",
        "r.toml:3:11: error: 'voice.volume' in [routine] must be a number from 0 to 1, found 2",
        "r.toml:4:1: error: unknown key 'tempo' in [routine]; keys after [routine] belong to "
        "it; 'tempo' belongs inside an [[exercise]] table",
    ]


def test_a_missing_routine_table_is_reported_without_a_line():
    assert errors('[[exercise]]\nuse = "curl-up"\n') == [
        "r.toml: error: missing [routine] table; start the file with [routine] and a title, "
        'e.g. title = "Morning core"',
    ]


def test_defaults_reject_exercise_only_keys_and_bad_values():
    text = (
        HEAD
        + "[defaults]\nhold = 5\nrest = -1\ncountdown = 2.5\nbrace = 1\n"
        + "breathing_sound = 'tones'\nrets = 3\n"
    )
    text += '[[exercise]]\nuse = "curl-up"\n'
    assert errors(text) == [
        "r.toml:4:1: error: 'hold' cannot be set in [defaults]; set it in each [[exercise]]",
        "r.toml:5:1: error: 'rest' in [defaults] must be 0 (none) or a number of seconds from 1 "
        "to 600, found -1",
        "r.toml:6:1: error: 'countdown' in [defaults] must be a whole number from 0 to 10, "
        "found 2.5",
        "r.toml:7:1: error: 'brace' in [defaults] must be true or false, found 1",
        'r.toml:8:1: error: \'breathing_sound\' in [defaults] must be one of "voice", "tone", '
        'found "tones"; did you mean "tone"?',
        "r.toml:9:1: error: unknown key 'rets' in [defaults]; did you mean 'rest'?",
    ]


def test_keys_written_after_a_progression_header_are_explained():
    text = HEAD + '[[exercise]]\nuse = "bird-dog"\n[exercise.progression]\nstep = 2\ncues = ["x"]\n'
    assert one_error(text) == (
        "r.toml:7:1: error: unknown key 'cues' in 'progression' of exercise 1 (Bird dog); keys "
        "after an [exercise.progression] header belong to it, so move 'cues' above that header"
    )


def test_progression_values_are_checked_in_the_exercise_unit():
    text = HEAD + '[[exercise]]\nuse = "dead-bug"\nprogression = { step = 1.5, after = 0 }\n'
    assert errors(text) == [
        "r.toml:5:17: error: 'progression.step' in exercise 1 (Dead bug) must be a whole "
        "number of reps from 1 to 100, found 1.5",
        "r.toml:5:29: error: 'progression.after' in exercise 1 (Dead bug) must be a whole "
        "number of sessions from 1 to 100, found 0",
    ]


def test_a_single_bracket_exercise_table_says_to_double_the_brackets():
    assert one_error(HEAD + '[exercise]\nuse = "curl-up"\n') == (
        "r.toml:3:1: error: [exercise] must be written [[exercise]], with double brackets, "
        "once before each exercise"
    )


def test_a_misspelled_top_level_table_suggests_the_right_header():
    assert errors(HEAD + '[[exercises]]\nuse = "curl-up"\n') == [
        "r.toml:3:1: error: unknown table [[exercises]]; did you mean [[exercise]]?",
        "r.toml: error: the routine has no exercises; add an [[exercise]] table",
    ]


def test_asking_for_weight_explains_endurance_not_load():
    text = HEAD + '[[exercise]]\nuse = "farmer-carry"\nweight = 20\n'
    assert one_error(text) == (
        "r.toml:5:1: error: unknown key 'weight' in exercise 1 (Farmer carry); there is no "
        "'weight': this coach builds endurance (longer holds, more reps) over weeks, never load"
    )


def test_a_number_of_thousands_of_digits_is_located():
    text = HEAD + '[[exercise]]\nuse = "curl-up"\nhold = ' + "9" * 5000
    assert one_error(text) == (
        "r.toml:5:8: error: invalid TOML: a number too long to read (thousands of digits)"
    )


def test_non_finite_and_huge_numbers_are_reported_not_raised():
    text = HEAD + '[[exercise]]\nuse = "curl-up"\nhold = nan\nrest = inf\nreps = ' + "9" * 4000
    assert errors(text) == [
        "r.toml:5:1: error: 'hold' in exercise 1 (Curl-up) must be a number of seconds from 1 "
        "to 300, found nan",
        "r.toml:6:1: error: 'rest' in exercise 1 (Curl-up) must be 0 (none) or a number of "
        "seconds from 1 to 600, found inf",
        "r.toml:7:1: error: 'reps' in exercise 1 (Curl-up) must be a whole number of reps from "
        "1 to 100, or a list of them with one entry per set (e.g. [6, 4, 2]), found a very "
        "large number",
    ]


def test_a_duplicate_key_names_both_lines():
    text = HEAD + '[[exercise]]\nuse = "curl-up"\nhold = 5\n  hold = 6\n'
    assert one_error(text) == (
        "r.toml:6:3: error: 'hold' in exercise 1 appears twice; it is first set on line 5"
    )


def test_a_toml_syntax_error_keeps_its_line_and_column_with_a_hint():
    assert one_error("[routine]\ntitle = Morning core\n") == (
        "r.toml:2:9: error: invalid TOML: invalid value; text needs quotes "
        '(name = "Bird dog"), numbers have no units, true/false are lowercase'
    )


def test_every_problem_is_reported_at_once_in_source_order():
    text = """\
        [routine]
        title = "T"
        [[exercise]]
        use = "bird-dgo"
        [[exercise]]
        use = "curl-up"
        hold = 400
        [[exercise]]
        name = "Bug"
        kind = "reps"
        reps = [0]
        tempo = 0
        """
    assert [e.split(": error")[0] for e in errors(text)] == [
        "r.toml:4:1",
        "r.toml:7:1",
        "r.toml:11:9",
        "r.toml:12:1",
    ]


# ---------------------------------------------------------------- files


def test_a_missing_file_is_named_as_typed(tmp_path: Path):
    with pytest.raises(RoutineError) as info:
        load_routine(tmp_path / "nope.toml", display_name="nope.toml")
    assert str(info.value) == (
        "nope.toml: error: no such file; check the path, or make one with `voicecoach new`"
    )


def test_a_directory_is_not_a_routine(tmp_path: Path):
    with pytest.raises(RoutineError) as info:
        load_routine(tmp_path, display_name="dir")
    assert str(info.value) == "dir: error: is a directory, not a routine file"


def test_non_utf8_bytes_are_located(tmp_path: Path):
    path = tmp_path / "r.toml"
    path.write_bytes(b'[routine]\ntitle = "caf\xe9"\n')
    with pytest.raises(RoutineError) as info:
        load_routine(path, display_name="r.toml")
    assert str(info.value) == (
        "r.toml:2:13: error: not UTF-8 text (byte 0xe9); save the file as UTF-8"
    )


def test_binary_content_is_refused(tmp_path: Path):
    path = tmp_path / "r.toml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(RoutineError) as info:
        load_routine(path)
    assert str(info.value) == (
        f"{path}:3:1: error: binary data (a NUL byte), not a TOML routine; save it as text"
    )


def test_a_byte_order_mark_is_accepted(tmp_path: Path):
    path = tmp_path / "r.toml"
    path.write_text('\ufeff[routine]\ntitle = "T"\n[[exercise]]\nuse = "curl-up"\n', "utf-8")
    assert load_routine(path).title == "T"


def test_routine_errors_are_voicecoach_errors():
    assert issubclass(RoutineError, VoicecoachError)


# ---------------------------------------------------------------- never anything but RoutineError

_KEYS = st.sampled_from(
    [
        "routine", "title", "exercise", "defaults", "use", "name", "kind", "hold", "reps",
        "sets", "sides", "side_labels", "tempo", "duration", "cues", "progression", "step",
        "max", "after", "breathing", "inhale", "exhale", "voice", "rate", "volume", "rest",
        "countdown", "brace", "breathing_sound", "get_ready", "x",
    ]
)  # fmt: skip
_SCALARS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.sampled_from(["hold", "reps", "timed", "each", "bird-dog", "", "x" * 300, "tone"]),
    st.text(max_size=8),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=12,
)
_DOCS = st.dictionaries(_KEYS, _VALUES, max_size=4).map(
    lambda d: {**d, "exercise": d.get("exercise", [])}
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=_DOCS)
def test_any_toml_document_gives_a_routine_or_a_routine_error(doc):
    try:
        text = tomlkit.dumps(doc)
    except Exception:  # tomlkit cannot write every value (e.g. NaN in some positions)
        return
    try:
        parse_routine(text)
    except RoutineError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert "\n" not in problem.message


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.sampled_from("[]{}=\"'.,#\n x1e-_abu\\"), max_size=60))
def test_any_text_gives_a_routine_or_a_routine_error(text):
    try:
        parse_routine(HEAD + text)
    except RoutineError as exc:
        assert exc.problems


def test_deep_nesting_is_a_routine_error():
    with pytest.raises(RoutineError):
        parse_routine(HEAD + "x = " + "[" * 50_000 + "]" * 50_000 + "\n")
