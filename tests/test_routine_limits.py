"""Hostile and odd routines: every value has a floor, every loop a bound, every refusal a place.

Each test is a class of problem found in the wild (issue 8, "Trust"): a breathing cadence
of 1e-9 s that hung every command, a plank without `reps`, files whose shape made tomllib
take seconds and gigabytes, and messages that named the wrong thing. Work is asserted by
counting (calls, iterations, bytes traced), never by the clock.
"""

from __future__ import annotations

import errno
import math
import os
import socket
import textwrap
import tomllib
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.conftest import watchdog
from tests.test_routine import HEAD, errors, one_error
from voicecoach import routine as routine_module
from voicecoach import timeline as timeline_module
from voicecoach.cli import cli
from voicecoach.errors import RoutineError
from voicecoach.model import Breathing, Exercise, Routine
from voicecoach.routine import load_routine, messages, parse_routine
from voicecoach.routine.locating import Locator
from voicecoach.timeline import compile_routine


def file_error(path: Path | str, display_name: str | None = "r.toml") -> str:
    with watchdog(), pytest.raises(RoutineError) as info:
        load_routine(path, display_name=display_name)
    return str(info.value)


@pytest.fixture
def tomllib_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The length of each text tomllib.loads is given while the test runs."""
    calls: list[int] = []
    real = tomllib.loads

    def counting(text: str, **kw: Any) -> dict[str, Any]:
        calls.append(len(text))
        return real(text, **kw)

    monkeypatch.setattr(tomllib, "loads", counting)
    return calls


# ---------------------------------------------------------------- 1. every duration has a floor


@pytest.mark.parametrize("value", ["1e-9", "5e-324", "0.5", "0", "-0.0"])
def test_a_breathing_phase_under_a_second_is_refused_with_its_range(value: str):
    text = HEAD + f"[defaults]\nbreathing = {{ inhale = {value}, exhale = 3 }}\n"
    text += '[[exercise]]\nuse = "curl-up"\n'
    shown = {"1e-9": "1e-09", "-0.0": "-0.0"}.get(value, value)
    assert one_error(text) == (
        f"r.toml:4:15: error: 'breathing.inhale' in [defaults] must be a number of seconds "
        f"from 1 to 20, found {shown}"
    )


@pytest.mark.parametrize("key", ["rest", "get_ready", "between_reps", "switch_sides"])
@pytest.mark.parametrize(
    ("value", "shown"), [("1e-9", "1e-09"), ("5e-324", "5e-324"), ("0.5", "0.5"), ("601", "601")]
)
def test_a_pause_is_none_or_at_least_a_second(key: str, value: str, shown: str):
    text = HEAD + f'[[exercise]]\nuse = "curl-up"\n{key} = {value}\n'
    assert one_error(text) == (
        f"r.toml:5:1: error: '{key}' in exercise 1 (Curl-up) must be 0 (none) or a number of "
        f"seconds from 1 to 600, found {shown}"
    )


def test_zero_and_negative_zero_pauses_are_none():
    text = HEAD + '[[exercise]]\nuse = "curl-up"\nrest = -0.0\nbetween_reps = 0\nget_ready = 1\n'
    ex = parse_routine(text).exercises[0]
    assert (ex.rest, ex.between_reps, ex.get_ready) == (0, 0, 1)
    assert math.copysign(1, ex.rest) == 1  # never "-0" in a timeline or a message


@pytest.mark.parametrize(
    ("use", "value", "unit"),
    [
        ("curl-up", "1e-9", "a number of seconds"),
        ("farmer-carry", "0.5", "a number of seconds"),
        ("dead-bug", "0", "a whole number of reps"),
    ],
)
def test_a_progression_step_is_at_least_one(use: str, value: str, unit: str):
    hi = {"curl-up": 300, "farmer-carry": 1800, "dead-bug": 100}[use]
    shown = "1e-09" if value == "1e-9" else value
    text = HEAD + f'[[exercise]]\nuse = "{use}"\nprogression = {{ step = {value} }}\n'
    name = {"curl-up": "Curl-up", "farmer-carry": "Farmer carry", "dead-bug": "Dead bug"}[use]
    assert one_error(text) == (
        f"r.toml:5:17: error: 'progression.step' in exercise 1 ({name}) must be {unit} "
        f"from 1 to {hi}, found {shown}"
    )


@pytest.mark.parametrize(
    "breathing",
    [Breathing(1e-9, 1e-9), Breathing(5e-324, 5e-324), Breathing(3, 0.0), Breathing(math.nan, 3)],
)
def test_compiling_a_model_with_a_vanishing_cadence_is_refused_not_a_hang(breathing: Breathing):
    # Built in code, past the loader: the compiler must refuse, not loop without end.
    r = Routine("T", (Exercise(0, "Plank", "hold", (1,), hold=30, breathing=breathing),))
    with watchdog(), pytest.raises(RoutineError) as info:
        compile_routine(r, file="m")
    assert str(info.value).startswith("m: error: exercise 1 (Plank): breathing.")
    assert "the compiler needs a number of seconds of at least 0.1" in str(info.value)
    # The loader's shortest cadence, a second, in 300 s of hold: a breath a second.
    r = Routine("T", (Exercise(0, "Plank", "hold", (1,), hold=300, breathing=Breathing(1, 1)),))
    breaths = [c for c in compile_routine(r).cues if c.role == "breathe"]
    assert 290 <= len(breaths) <= 300


@pytest.mark.parametrize(
    ("field", "value", "needs"),
    [
        ("hold", 1e-9, "a number of seconds of at least 0.1"),
        ("hold", math.inf, "a number of seconds of at least 0.1"),
        ("hold", None, "a number of seconds of at least 0.1"),
        ("rest", 1e-9, "0, or a number of seconds of at least 0.1"),
        ("between_reps", -1.0, "0, or a number of seconds of at least 0.1"),
        ("get_ready", math.nan, "0, or a number of seconds of at least 0.1"),
        ("countdown", 10**9, "a whole number from 0 to 10"),
        ("reps", (0,), "whole numbers from 1 to 100"),
        ("reps", (10**9,), "whole numbers from 1 to 100"),
        ("reps", (2.5,), "whole numbers from 1 to 100"),
        ("the number of sets", (), "1 to 20"),
        ("the number of sets", (1,) * 21, "1 to 20"),
    ],
)
def test_compiling_a_model_out_of_range_names_the_field(field: str, value: Any, needs: str):
    key = "reps" if field == "the number of sets" else field
    fields: dict[str, Any] = {"reps": (2,), "hold": 10.0, key: value}
    r = Routine("T", (Exercise(0, "Plank", "hold", **fields),))
    with watchdog(), pytest.raises(RoutineError) as info:
        compile_routine(r, file="m")
    message = str(info.value)
    assert message.startswith(f"m: error: exercise 1 (Plank): {field} is ")
    assert message.endswith(f"the compiler needs {needs} (a model the loader would not make)")


class CountingReps(tuple):  # type: ignore[type-arg]
    """A tuple that counts the items taken from it, to show work is bounded."""

    taken = 0

    def __iter__(self) -> Iterator[int]:
        for item in super().__iter__():
            CountingReps.taken += 1
            yield item


def test_a_million_sets_are_refused_without_walking_through_them():
    CountingReps.taken = 0
    reps = CountingReps((1,) * 1_000_000)
    r = Routine("T", (Exercise(0, "Plank", "hold", reps, hold=1.0),))
    with pytest.raises(RoutineError, match="the number of sets is 1000000; "):
        compile_routine(r)
    assert CountingReps.taken <= 20


def test_an_over_long_routine_says_hours_and_minutes():
    # 8 sets of 30 minutes plus their lead-ins: at least 4 h and some minutes.
    text = HEAD + '[[exercise]]\nname = "Carry"\nkind = "timed"\nduration = 1800\nsets = 8\n'
    with pytest.raises(RoutineError) as info:
        compile_routine(parse_routine(text), file="long.toml")
    message = str(info.value)
    assert message.startswith("long.toml: error: the routine would last at least 4 h 0")
    assert message.endswith(" min; at most 4 hours is allowed (check hold, reps, sets and rest)")


def test_a_routine_just_under_four_hours_is_not_refused_for_a_rest_it_never_has():
    # Seven 30-minute sets with 270 s of rest between them: 3 h 58 min. The length check
    # once added a rest after the last set too (7 x 270 s) and refused it as over 4 hours.
    text = HEAD + (
        '[[exercise]]\nname = "Carry"\nkind = "timed"\nduration = 1800\nsets = 7\n'
        "rest = 270\nget_ready = 1\ncountdown = 0\nbrace = false\n"
    )
    timeline = compile_routine(parse_routine(text))
    assert 3.9 * 3600 < timeline.duration <= 4 * 3600
    assert [s.seconds for s in timeline.segments if s.phase == "rest"] == [270] * 6


def test_an_over_long_routine_builds_no_segment(monkeypatch: pytest.MonkeyPatch):
    built = []
    real = timeline_module._Builder.segment

    def counting(self: Any, *args: Any, **kw: Any) -> Any:
        built.append(args)
        return real(self, *args, **kw)

    monkeypatch.setattr(timeline_module._Builder, "segment", counting)
    long = Exercise(0, "Plank", "hold", (100,) * 20, hold=300.0, sides="each")
    with pytest.raises(RoutineError, match="would last at least"):
        compile_routine(Routine("T", (long,) * 2000))
    assert built == []


def test_spans_so_large_their_sum_is_infinite_are_refused_in_plain_words() -> None:
    # Found by the model fuzz: 1e308 + 8e307 overflows to inf, and inf minutes has no
    # integer to print.
    huge = Exercise(
        0,
        "Ex",
        "hold",
        (2,),
        hold=10.0,
        get_ready=1e308,
        between_reps=7.976931348623158e307,
        breathing=None,
        countdown=0,
    )
    with pytest.raises(RoutineError, match="would last more than 100 hours"):
        compile_routine(Routine("T", (huge,)))


# ---------------------------------------------------------------- 2. a hold without reps


def test_a_hold_without_reps_is_one_hold_per_set():
    text = HEAD + '[[exercise]]\nname = "Plank"\nkind = "hold"\nhold = 30\n'
    assert parse_routine(text).exercises[0].reps == (1,)
    three = parse_routine(text + "sets = 3\n").exercises[0]
    assert three.reps == (1, 1, 1)
    timeline = compile_routine(parse_routine(text + "sets = 3\n"))
    assert [s.seconds for s in timeline.segments if s.phase == "work"] == [30, 30, 30]
    # A built-in exercise keeps its own reps; a reps exercise still needs them.
    assert parse_routine(HEAD + '[[exercise]]\nuse = "side-plank"\n').exercises[0].reps == (3,)
    assert one_error(HEAD + '[[exercise]]\nname = "Bug"\nkind = "reps"\nsets = 3\n') == (
        "r.toml:3:1: error: missing 'reps' in exercise 1 (Bug): a reps exercise needs reps per "
        "set (reps = 5, or reps = [6, 4, 2] for one set per entry)"
    )


# ---------------------------------------------------------------- 3. the shape of big files


def test_a_deeply_dotted_key_is_refused_before_tomllib_sees_it(tomllib_calls: list[int]):
    assert one_error(HEAD + "  a" + ".a" * 2000 + " = 1\n") == (
        "r.toml:3:3: error: a dotted key of more than 8 parts (a.b.c...); the deepest key of "
        "a routine has 3 (defaults.breathing.inhale)"
    )
    assert tomllib_calls == []
    # The deepest keys of the format, dotted, are far inside the limit.
    text = 'routine.title = "T"\ndefaults.breathing.inhale = 4\n'
    text += '[[exercise]]\nuse = "curl-up"\nprogression.step = 2\n'
    assert parse_routine(text).exercises[0].breathing == Breathing(4, 3)


def test_a_deeply_dotted_table_header_is_refused(tomllib_calls: list[int]):
    assert one_error(HEAD + "[a" + '."a"' * 2000 + "]\n").startswith(
        "r.toml:3:2: error: a dotted key of more than 8 parts"
    )
    assert tomllib_calls == []


@pytest.mark.parametrize(
    ("value", "col"),
    [
        ("[" * 5000 + "]" * 5000, 13),
        ("{a = " * 5000 + "1" + "}" * 5000, 45),
        ("[{a = [" * 2000 + "]}]" * 2000, 25),
    ],
)
def test_values_nested_too_deeply_are_refused_where_the_limit_is_passed(
    value: str, col: int, tomllib_calls: list[int]
):
    assert one_error(HEAD + "x = " + value + "\n") == (
        f"r.toml:3:{col}: error: values nested more than 8 deep ([ and {{ inside one another); "
        "a routine nests 3 deep at most (exercise = [{ reps = [6, 4] }])"
    )
    assert tomllib_calls == []


def test_too_many_lines_are_refused_at_the_first_line_past_the_limit(tomllib_calls: list[int]):
    text = HEAD + "# a comment\n" * routine_module.MAX_LINES
    assert one_error(text) == (
        "r.toml:200001:1: error: the file has more than 200,000 lines; a routine is far shorter"
    )
    assert tomllib_calls == []
    # Exactly as many lines as allowed, the last one ended by a line break, is fine.
    exactly = HEAD + '[[exercise]]\nuse = "curl-up"\n' + "#\n" * (routine_module.MAX_LINES - 4)
    assert exactly.count("\n") == routine_module.MAX_LINES
    assert parse_routine(exactly).title == "T"


def test_too_many_tokens_are_refused_where_the_count_passes(tomllib_calls: list[int]):
    text = HEAD + "x = [" + "1," * 150_000 + "]\n"
    assert one_error(text) == (
        "r.toml:3:199997: error: the file has more than 200,000 keys, values and punctuation "
        "marks (this is where the count passes); a routine needs fewer"
    )
    assert tomllib_calls == []
    # 2,000 exercises (the most a routine may have) with every key: inside every limit.
    exercise = textwrap.dedent("""\
        [[exercise]]
        name = "Bird dog, with a long name"
        kind = "hold"
        hold = 10.5
        reps = [6, 4, 2]
        sides = "alternate"
        side_labels = ["left", "right"]
        cues = ["Reach long through the heel.", "Keep the hips level, and breathe."]
        breathing = { inhale = 3, exhale = 4 }
        progression = { step = 1, max = 30, after = 2 }
        rest = 0
        get_ready = 1
        between_reps = 0
        countdown = 0
        """)
    routine = parse_routine(HEAD + exercise * 2000)
    assert len(routine.exercises) == 2000


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            '"' + "x" * 60_000 + '"',
            "a text of 60,002 characters; the longest text of a routine (notes) has at most 5,000",
        ),
        (
            '"""' + "x\n" * 30_000 + '"""',
            "a text of 60,006 characters; the longest text of a routine (notes) has at most 5,000",
        ),
        ("9" * 60_000, "a value of 60,000 characters; a routine's numbers have a few digits"),
    ],
)
def test_one_value_too_long_to_be_a_routine_is_refused(
    value: str, message: str, tomllib_calls: list[int]
):
    assert one_error(HEAD + "notes = " + value + "\n") == f"r.toml:3:9: error: {message}"
    assert tomllib_calls == []
    # A string never closed is not a long value: tomllib stops at it and says so.
    assert one_error(HEAD + 'notes = "' + "x" * 60_000 + "\n") == (
        "r.toml:3:60010: error: invalid TOML: illegal character '\\n'; a string is not "
        "closed on its line; add the closing quote"
    )


def test_the_digits_after_a_decimal_point_are_one_value(tomllib_calls: list[int]):
    assert one_error(HEAD + "notes = 0." + "9" * 60_000 + "\n") == (
        "r.toml:3:11: error: a value of 60,000 characters; a routine's numbers have a few digits"
    )
    assert tomllib_calls == []


def test_unknown_keys_get_suggestions_and_places_only_as_far_as_they_are_printed(
    monkeypatch: pytest.MonkeyPatch,
):
    suggested: list[str] = []
    real_closest = messages.closest
    located: list[int] = []
    real_position = Locator.position

    def suggest(word: str, choices: Any) -> str | None:
        suggested.append(word)
        return real_closest(word, choices)

    def position(self: Any, offset: int) -> tuple[int, int]:
        located.append(offset)
        return real_position(self, offset)

    monkeypatch.setattr(messages, "closest", suggest)
    monkeypatch.setattr(Locator, "position", position)
    text = HEAD + '[[exercise]]\nuse = "curl-up"\n' + "".join(f"hodl{i} = 1\n" for i in range(3000))
    found = errors(text)
    assert len(found) == 101
    assert found[0] == (
        "r.toml:5:1: error: unknown key 'hodl0' in exercise 1 (Curl-up); did you mean 'hold'?"
    )
    assert found[-1] == "r.toml: error: 2900 more problems not shown"
    assert 0 < len(suggested) <= routine_module.MAX_SUGGESTIONS
    assert 0 < len(located) <= routine_module.MAX_PROBLEMS


def test_a_long_string_costs_the_locator_no_memory_per_character():
    # The locator's string patterns are possessive: a 49,000-character value is one
    # regex step, not 49,000 backtracking frames (6.8 MB here, 600 MB for 4.9 MB).
    text = HEAD + 'notes = "' + "x" * 49_000 + '"\n[[exercise]]\nuse = "curl-up"\nhold = 0\n'
    tracemalloc.start()
    try:
        with pytest.raises(RoutineError):
            parse_routine(text, "r.toml")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000


# ---------------------------------------------------------------- 4. messages that say what


@pytest.mark.parametrize(
    ("encoding", "bom", "name"),
    [
        ("utf-16-le", b"\xff\xfe", "UTF-16 text (little-endian) with a byte-order mark"),
        ("utf-16-be", b"\xfe\xff", "UTF-16 text (big-endian) with a byte-order mark"),
        ("utf-16-le", b"", "UTF-16 text (little-endian)"),
        ("utf-16-be", b"", "UTF-16 text (big-endian)"),
        ("utf-32-le", b"\xff\xfe\x00\x00", "UTF-32 text (little-endian) with a byte-order mark"),
        ("utf-32-be", b"", "UTF-32 text (big-endian)"),
    ],
)
def test_utf16_and_utf32_files_are_named_as_such(
    tmp_path: Path, encoding: str, bom: bytes, name: str
):
    path = tmp_path / "r.toml"
    path.write_bytes(bom + (HEAD + '[[exercise]]\nname = "Café 日本"\n').encode(encoding))
    assert file_error(path) == f"r.toml: error: {name}, not UTF-8; save the file as UTF-8"
    # Binary data is still binary data.
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00")
    assert file_error(path) == (
        "r.toml:3:1: error: binary data (a NUL byte), not a TOML routine; save it as text"
    )


def test_an_empty_file_name_says_so():
    assert file_error("", display_name=None) == (
        "'': error: empty file name; give the path of a routine file"
    )
    # The CLI turns '' into Path('') == Path('.'), a directory; the name as typed decides.
    assert file_error(Path(""), display_name="") == (
        "'': error: empty file name; give the path of a routine file"
    )


def test_validate_with_an_empty_file_name_says_so():
    result = CliRunner().invoke(cli, ["validate", ""])
    assert result.exit_code == 1
    assert "'': error: empty file name; give the path of a routine file" in result.output
    assert "directory" not in result.output


def test_odd_paths_get_accurate_messages(tmp_path: Path):
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / "file").write_text("x")
    assert file_error(tmp_path, "dir") == "dir: error: is a directory, not a routine file"
    assert file_error(tmp_path / "loop", "loop") == (
        "loop: error: the path is a loop of symbolic links (a link that leads back to itself); "
        "check the path"
    )
    assert file_error(tmp_path / "file" / "r.toml", "file/r.toml") == (
        "file/r.toml: error: no such file: a part of the path before the file name is a file, "
        "not a directory"
    )
    long = tmp_path / ("x" * 300)
    assert file_error(long, "long") == (
        "long: error: the file name is too long for the system; check the path"
    )
    assert file_error("r\x00.toml", None) == (
        "r\\x00.toml: error: the file name contains a NUL byte (\\x00); no file can have it"
    )


def test_a_file_name_with_a_newline_stays_on_one_line(tmp_path: Path):
    message = file_error(tmp_path / "a\nb.toml", None)
    assert "\n" not in message
    assert message.endswith(
        "a\\nb.toml: error: no such file; check the path, or make one with `voicecoach new`"
    )


def test_a_named_pipe_is_refused_without_blocking(tmp_path: Path):
    fifo = tmp_path / "r.toml"
    os.mkfifo(fifo)
    assert file_error(fifo) == (
        "r.toml: error: is a named pipe (FIFO), not a routine file; save the routine in a file "
        "and give its path"
    )


def test_devices_and_sockets_are_refused(tmp_path: Path):
    assert file_error("/dev/null") == (
        "r.toml: error: is a character device (a terminal, /dev/null...), not a routine file"
    )
    path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        assert file_error(path) == "r.toml: error: is a socket, not a routine file"


def test_stdin_as_a_pipe_is_refused_without_blocking():
    read, write = os.pipe()
    try:
        assert file_error(f"/proc/self/fd/{read}").startswith(
            "r.toml: error: is a named pipe (FIFO), not a routine file"
        )
    finally:
        os.close(read)
        os.close(write)


def test_a_fifo_swapped_in_after_the_check_does_not_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # The stat says "regular file"; by the open, it is a FIFO with no writer. O_NONBLOCK
    # makes the open return at once, and the fstat of the open file refuses it.
    fifo = tmp_path / "r.toml"
    os.mkfifo(fifo)
    regular = os.stat(__file__)
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda p, *a, **k: regular if p == fifo else real_stat(p))
    assert file_error(fifo) == (
        "r.toml: error: is not a regular file (it changed while being opened)"
    )


def test_an_unreadable_errno_keeps_the_system_words(monkeypatch: pytest.MonkeyPatch):
    def failing(*args: Any, **kw: Any) -> Any:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "stat", failing)
    assert file_error("r.toml") == "r.toml: error: cannot read the file: Input/output error"


@pytest.mark.parametrize(
    "title",
    [
        "Core 👩\u200d👩\u200d👧",  # family: zero-width joiners between emoji
        "Fire ❤\ufe0f\u200d🔥",  # variation selector, then a joiner
        "Coder 🧑🏽\u200d💻",  # skin tone, then a joiner
        "England 🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",  # tag sequence
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian: a non-joiner between letters
        "Gainage\u00a0: matin",  # a no-break space
        "New emoji \U0001fae8",  # unassigned in this Python's Unicode tables
    ],
)
def test_emoji_sequences_and_scripts_joiners_are_plain_text(title: str):
    text = f'[routine]\ntitle = "{title}"\n[[exercise]]\nuse = "curl-up"\nname = "{title}"\n'
    routine = parse_routine(text)
    assert routine.title == routine.exercises[0].name == title


@pytest.mark.parametrize(
    ("title", "named"),
    [
        ("Core\\u202e basics", "U+202E RIGHT-TO-LEFT OVERRIDE at character 5"),
        ("  Core\\u2066 basics", "U+2066 LEFT-TO-RIGHT ISOLATE at character 7"),
        ("Pl\\u200dank", "U+200D ZERO WIDTH JOINER at character 3"),
        ("Plank\\u200b", "U+200B ZERO WIDTH SPACE at character 6"),
        ("Core\\tbasics", "U+0009 CHARACTER TABULATION (a tab) at character 5"),
        ("Core\\nbasics", "U+000A LINE FEED (a line break) at character 5"),
        (
            "\\u001b[31mRed\\u001b[0m",
            "U+001B ESCAPE (starts terminal control sequences) at "
            "character 1 (and 1 more such character)",
        ),
        ("Core\\u0085x", "U+0085 NEXT LINE (a line break) at character 5"),
        ("Core\\u0091x", "U+0091 a control character at character 5"),
        ("\\u200dCore", "U+200D ZERO WIDTH JOINER at character 1"),
    ],
)
def test_a_refused_character_is_named_by_code_point_and_place(title: str, named: str):
    assert one_error(f'[routine]\ntitle = "{title}"\n[[exercise]]\nuse = "curl-up"\n') == (
        f"r.toml:2:1: error: 'title' in [routine] must be one line of plain text; it contains "
        f"{named}"
    )


def test_names_and_voice_names_name_the_refused_character():
    text = (
        '[routine]\ntitle = "T"\nvoice = { name = "en\\u202e" }\n'
        '[[exercise]]\nuse = "curl-up"\nname = "Curl\\u200b-up"\n'
    )
    assert errors(text) == [
        "r.toml:3:11: error: 'voice.name' in [routine] must be one line of plain text; it "
        "contains U+202E RIGHT-TO-LEFT OVERRIDE at character 3",
        "r.toml:6:1: error: 'name' in exercise 1 (Curl\\u200b-up) must be one line of plain "
        "text; it contains U+200B ZERO WIDTH SPACE at character 5",
    ]


def test_cues_refuse_escape_sequences_and_bidi_controls_but_fold_line_breaks():
    # Cues reach the terminal through the live display and the cue sheet.
    text = HEAD + (
        '[[exercise]]\nuse = "curl-up"\n'
        'cues = ["Keep\\n breathing.\\t", "\\u001b[2JCleared", "Turn \\u202eevil"]\n'
    )
    assert errors(text) == [
        "r.toml:5:32: error: 'cues' entry 2 in exercise 1 (Curl-up) must be plain text; it "
        "contains U+001B ESCAPE (starts terminal control sequences) at character 1",
        "r.toml:5:52: error: 'cues' entry 3 in exercise 1 (Curl-up) must be plain text; it "
        "contains U+202E RIGHT-TO-LEFT OVERRIDE at character 6",
    ]
    fine = HEAD + '[[exercise]]\nuse = "curl-up"\ncues = ["Keep\\n breathing 👩\u200d👧."]\n'
    assert parse_routine(fine).exercises[0].cues == ("Keep breathing 👩\u200d👧.",)


def test_side_labels_name_the_refused_character():
    text = HEAD + '[[exercise]]\nuse = "side-plank"\nside_labels = ["left", "ri\\u202eght"]\n'
    assert one_error(text) == (
        "r.toml:5:24: error: 'side_labels' entry 2 in exercise 1 (Side plank) must be one line "
        "of plain text; it contains U+202E RIGHT-TO-LEFT OVERRIDE at character 3"
    )
