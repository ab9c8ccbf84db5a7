"""The locator: the line and column of a key path in TOML text (tomllib gives none)."""

from __future__ import annotations

import textwrap
import tomllib

from voicecoach.errors import Problem
from voicecoach.routine.keys import KeyPath
from voicecoach.routine.limits import MAX_PROBLEMS
from voicecoach.routine.locating import Locator, locate_problems


def toml(text: str) -> str:
    """Dedented text, checked to be TOML: the locator only ever reads text tomllib accepted."""
    text = textwrap.dedent(text)
    tomllib.loads(text)
    return text


def where(text: str, path: KeyPath) -> tuple[int, int] | None:
    """(line, column) of ``path`` (or of its nearest located parent), or None."""
    locator = Locator(text)
    locator.scan()
    offset = locator.find(path)
    return None if offset is None else locator.position(offset)


def test_a_plain_key_is_found_at_its_first_character():
    text = toml("""\
        [routine]
        title = "T"
          notes = "indented"
        """)
    assert where(text, ("routine", "title")) == (2, 1)
    assert where(text, ("routine", "notes")) == (3, 3)
    assert where(text, ("routine",)) == (1, 1)


def test_each_part_of_a_dotted_key_is_found_at_its_own_column():
    text = toml("""\
        defaults.breathing.inhale = 4
        defaults . rest = 20
        """)
    assert where(text, ("defaults", "breathing", "inhale")) == (1, 20)
    assert where(text, ("defaults", "breathing")) == (1, 10)
    # A table is where it is first mentioned, not where it is mentioned last.
    assert where(text, ("defaults",)) == (1, 1)
    assert where(text, ("defaults", "rest")) == (2, 12)


def test_a_dotted_table_header_puts_its_keys_under_it():
    text = toml("""\
        [defaults.breathing]
        exhale = 5
        """)
    assert where(text, ("defaults", "breathing", "exhale")) == (2, 1)
    assert where(text, ("defaults", "breathing")) == (1, 1)
    assert where(text, ("defaults",)) == (1, 2)


def test_quoted_keys_are_found_by_their_value():
    text = toml("""\
        [routine]
        "title" = "T"
        'notes' = "N"
        "odd key" = 1
        "vo\\u0069ce" = { rate = 170 }
        """)
    assert where(text, ("routine", "title")) == (2, 1)
    assert where(text, ("routine", "notes")) == (3, 1)
    assert where(text, ("routine", "odd key")) == (4, 1)
    assert where(text, ("routine", "voice", "rate")) == (5, 18)


def test_each_table_of_an_array_of_tables_has_its_index():
    text = toml("""\
        [[exercise]]
        use = "curl-up"

        [[exercise]]
        name = "Plank"
        hold = 20
        """)
    assert where(text, ("exercise",)) == (1, 1)
    assert where(text, ("exercise", 0)) == (1, 1)
    assert where(text, ("exercise", 0, "use")) == (2, 1)
    assert where(text, ("exercise", 1)) == (4, 1)
    assert where(text, ("exercise", 1, "hold")) == (6, 1)


def test_a_sub_table_header_belongs_to_the_last_table_of_the_array():
    text = toml("""\
        [[exercise]]
        use = "curl-up"
        [[exercise]]
        use = "bird-dog"
        [exercise.progression]
        step = 2
        """)
    assert where(text, ("exercise", 1, "progression", "step")) == (6, 1)
    assert where(text, ("exercise", 1, "progression")) == (5, 1)
    assert where(text, ("exercise", 0, "progression")) == (1, 1)  # none: its exercise


def test_keys_inside_inline_tables_and_items_of_arrays_are_found():
    text = toml("""\
        [[exercise]]
        reps = [6, 4,
                2]
        progression = { step = 1, max = { } }
        cues = [ "Brace.", 'Breathe.' ]
        """)
    assert where(text, ("exercise", 0, "reps", 0)) == (2, 9)
    assert where(text, ("exercise", 0, "reps", 1)) == (2, 12)
    assert where(text, ("exercise", 0, "reps", 2)) == (3, 9)
    assert where(text, ("exercise", 0, "progression", "step")) == (4, 17)
    assert where(text, ("exercise", 0, "progression", "max")) == (4, 27)
    assert where(text, ("exercise", 0, "cues", 1)) == (5, 20)


def test_the_text_of_multi_line_strings_is_not_read_as_keys():
    text = toml('''\
        [routine]
        notes = """
        hold = 1
        [[exercise]] "quoted" \\"""
        """
        title = 'T'
        [[exercise]]
        name = \'\'\'
        kind = "hold"
        \'\'\'
        kind = "hold"
        ''')
    assert where(text, ("routine", "title")) == (6, 1)
    assert where(text, ("exercise", 0)) == (7, 1)
    assert where(text, ("exercise", 0, "kind")) == (11, 1)
    assert where(text, ("routine", "hold")) == (1, 1)  # not a key: its table


def test_comments_are_skipped_wherever_they_are():
    text = toml("""\
        # [routine] hold = 1
        [routine] # title = "x"
        # title = "y"
        title = "T" # [[exercise]]
        voice = { rate = 170 } # name = "z"
        reps = [ # a = 1
          1, # b = 2
          2,
        ]
        """)
    assert where(text, ("routine",)) == (2, 1)
    assert where(text, ("routine", "title")) == (4, 1)
    assert where(text, ("routine", "voice", "name")) == (5, 1)  # not present: its table
    assert where(text, ("routine", "reps", 1)) == (8, 3)


def test_a_key_that_is_not_present_is_placed_at_its_nearest_table():
    text = toml("""\
        [routine]
        title = "T"

        [[exercise]]
        use = "curl-up"
        """)
    assert where(text, ("exercise", 0, "hold")) == (4, 1)
    assert where(text, ("routine", "voice", "rate")) == (1, 1)
    assert where(text, ("defaults", "rest")) is None
    assert where(text, ("exercise", 3, "hold")) == (4, 1)  # no such exercise: the array
    locator = Locator(text)
    locator.scan()
    assert locator.find(None) is None
    assert locator.find(()) is None


def test_only_the_wanted_paths_are_recorded():
    text = toml("""\
        [routine]
        title = "T"
        notes = "N"
        """)
    locator = Locator(text, {("routine",), ("routine", "notes")}, duplicates=False)
    locator.scan()
    assert locator.keys == {("routine",): 0, ("routine", "notes"): text.index("notes")}
    assert locator.defined == {}


def test_a_key_set_twice_is_reported_with_both_places():
    # Not TOML (tomllib refuses it), which is why the locator is asked: to say where.
    text = '[routine]\ntitle = "A"\ntitle = "B"\n'
    locator = Locator(text, wanted=set())
    locator.scan()
    assert locator.duplicate == (("routine", "title"), text.rindex("title"), text.index("title"))
    assert locator.keys == {}


def test_a_table_header_written_twice_is_a_duplicate():
    text = "[routine]\n[defaults]\n[routine]\n"
    locator = Locator(text, wanted=set())
    locator.scan()
    assert locator.duplicate == (("routine",), text.rindex("[routine]"), 0)


def test_the_scan_stops_quietly_at_text_it_cannot_read_and_keeps_what_it_found():
    text = '[routine]\ntitle = "T"\n= 3\nnotes = "N"\n'
    locator = Locator(text)
    locator.scan()
    assert ("routine", "title") in locator.keys
    assert ("routine", "notes") not in locator.keys


def test_positions_may_be_asked_in_any_order():
    text = "a = 1\nbb = 2\nccc = 3\n"
    locator = Locator(text)
    assert locator.position(text.index("ccc")) == (3, 1)
    assert locator.position(text.index("bb") + 1) == (2, 2)
    assert locator.position(0) == (1, 1)
    assert locator.position(len(text)) == (4, 1)


def test_problems_are_sorted_into_source_order_with_the_unplaced_last():
    text = toml("""\
        [routine]
        title = "T"
        [[exercise]]
        hold = 0
        """)
    found: list[tuple[KeyPath | None, str]] = [
        (None, "no place"),
        (("exercise", 0, "hold"), "second"),
        (("routine", "title"), "first"),
        (("exercise", 0, "hold"), "second, again"),
    ]
    assert locate_problems(text, "r.toml", found) == [
        Problem("r.toml", 2, 1, "first"),
        Problem("r.toml", 4, 1, "second"),
        Problem("r.toml", 4, 1, "second, again"),
        Problem("r.toml", None, None, "no place"),
    ]


def test_problems_past_the_limit_are_counted_in_one_line():
    text = "[routine]\n"
    found: list[tuple[KeyPath | None, str]] = [
        (("routine", f"k{i}"), f"problem {i}") for i in range(MAX_PROBLEMS + 5)
    ]
    problems = locate_problems(text, "r.toml", found)
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[0] == Problem("r.toml", 1, 1, "problem 0")
    assert problems[-1] == Problem("r.toml", None, None, "5 more problems not shown")
