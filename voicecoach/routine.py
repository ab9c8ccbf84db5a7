"""Routine files: TOML text in, a validated model.Routine out; problems located FILE:LINE:COL."""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import errno
import functools
import json
import math
import os
import re
import stat
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

import tomlkit

from voicecoach.errors import Problem, RoutineError
from voicecoach.files import NotAFile, open_regular
from voicecoach.library import LIBRARY
from voicecoach.model import (
    BREATH_SECONDS,
    COUNTDOWN,
    DEFAULT_BETWEEN_REPS,
    DEFAULT_COUNTDOWN,
    DEFAULT_GET_READY,
    DEFAULT_REST,
    DEFAULT_SIDE_LABELS,
    DEFAULT_SWITCH_SIDES,
    DEFAULT_TEMPO,
    DURATION_SECONDS,
    HOLD_SECONDS,
    KINDS,
    MAX_SETS,
    PAUSE_SECONDS,
    PROGRESSION_AFTER,
    PROGRESSION_STEP_MIN,
    REPS_PER_SET,
    SIDES,
    TEMPO_SECONDS,
    VOICE_RATE,
    VOICE_VOLUME,
    Breathing,
    Exercise,
    Kind,
    Progression,
    Routine,
    Voice,
)

# Limits of the format: generous for real routines, tight enough that a typo (hold = 1000)
# is caught here, with its line, rather than as a four-hour session. The ranges of values
# are the model's (model.py); schema.py reads both.
MAX_EXERCISES: Final = 2000
MAX_TITLE_CHARS: Final = 200
MAX_NAME_CHARS: Final = 100
MAX_NOTES_CHARS: Final = 5000
MAX_CUE_CHARS: Final = 500
MAX_CUES: Final = 50
MAX_LABEL_CHARS: Final = 40
MAX_FILE_BYTES: Final = 5_000_000
# What tomllib may be given, checked by a cheap scan of the text before it parses (see
# _check_shape). tomllib's cost grows with the count of keys, values and brackets (about
# 3 us each, 5 us per table), with the square of a dotted key's parts (20,000 parts in a
# 40 KB file took 12 s and 2.3 GB) and with each long literal (its number pattern keeps a
# backtracking frame per digit: 600 MB for 4.9 MB of digits). A real routine is inside
# every one of these: 2,000 exercises (the most a routine may have) with every key written
# out come to 160,000 tokens, the deepest key has three parts (defaults.breathing.inhale),
# the deepest value three levels (exercise = [{ reps = [...] }]) and the longest text
# 5,000 characters (notes).
MAX_LINES: Final = 200_000
MAX_TOKENS: Final = 200_000
MAX_KEY_PARTS: Final = 8
MAX_NESTING: Final = 8
MAX_VALUE_CHARS: Final = 50_000
# A compiler stops listing at some point; the rest are counted in a final line.
MAX_PROBLEMS: Final = 100
# "Did you mean" is worked out for this many unknown words, at most: past MAX_PROBLEMS
# nobody reads them, and difflib costs tens of microseconds each (480,000 unknown keys took
# 20 s). Twice the printed limit, as the checker's order is not quite the file's.
MAX_SUGGESTIONS: Final = 2 * MAX_PROBLEMS

TOP_KEYS: Final = ("routine", "defaults", "exercise")
ROUTINE_KEYS: Final = ("title", "notes", "voice")
VOICE_KEYS: Final = ("name", "rate", "volume")
PAUSE_KEYS: Final = ("rest", "get_ready", "between_reps", "switch_sides")
DEFAULT_KEYS: Final = (*PAUSE_KEYS, "brace", "breathing", "breathing_sound", "countdown")
BREATHING_KEYS: Final = ("inhale", "exhale")
BREATHING_SOUNDS: Final = ("voice", "tone")
EXERCISE_KEYS: Final = (
    "use",
    "name",
    "kind",
    "hold",
    "reps",
    "sets",
    "sides",
    "side_labels",
    "tempo",
    "duration",
    "cues",
    "progression",
    *DEFAULT_KEYS,
)
PROGRESSION_KEYS: Final = ("step", "max", "after")

# Keys that only make sense for some kinds, and what to say when they appear elsewhere.
_KIND_ONLY: Final[dict[str, tuple[tuple[Kind, ...], str]]] = {
    "hold": (("hold",), "set kind = \"hold\" for holds, or remove 'hold'"),
    "tempo": (("reps",), "'tempo' is seconds per rep of a reps exercise; remove it"),
    "duration": (
        ("timed",),
        "'duration' is for timed exercises; use 'hold' for seconds per hold of a hold "
        "exercise, or 'tempo' for seconds per rep",
    ),
    "reps": (
        ("hold", "reps"),
        "use 'duration' for seconds of work per set and 'sets' for how many sets",
    ),
    "between_reps": (
        ("hold", "reps"),
        "there is one bout per set and side; use 'rest' for the pause after a set",
    ),
}

# Words people reach for that the format spells differently (or deliberately lacks).
_KEY_HINTS: Final = {
    "weight": "there is no 'weight': this coach builds endurance (longer holds, more reps) "
    "over weeks, never load",
    "load": "there is no 'load': this coach builds endurance (longer holds, more reps) "
    "over weeks, never load",
    "title": "an exercise's name is 'name'",
    "notes": "lines the coach speaks are 'cues'",
    "description": "lines the coach speaks are 'cues'",
    "seconds": "did you mean 'hold' (seconds per hold) or 'duration' (seconds of timed work)?",
    "time": "did you mean 'hold' (seconds per hold) or 'duration' (seconds of timed work)?",
    "rounds": "did you mean 'sets'?",
    "repetitions": "did you mean 'reps'?",
    "side": "did you mean 'sides'?",
}

# `(at line 3, column 5)` or `(at end of document)`, as tomllib appends them.
_TOML_WHERE = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)\s*$")
_TOML_HINTS: Final = (
    (
        "Invalid value",
        'text needs quotes (name = "Bird dog"), numbers have no units, true/false are lowercase',
    ),
    ("Illegal character '\\n'", "a string is not closed on its line; add the closing quote"),
    ("Expected newline or end of document", "put each key = value on its own line"),
    ("Unclosed array", "add the closing ]"),
    ("Unclosed inline table", "close the { ... } on the same line"),
)

Path = tuple[str | int, ...]


class _Invalid:
    """Marker for a value that failed validation (its problem is already recorded)."""


INVALID: Final = _Invalid()


# ---------------------------------------------------------------- reading files


def load_routine(path: str | os.PathLike[str], display_name: str | None = None) -> Routine:
    """Read and validate the routine file at ``path``.

    Parameters
    ----------
    path
        The routine file (TOML, UTF-8).
    display_name
        How to name the file in problems (the path as the user typed it); default
        ``str(path)``.

    Raises
    ------
    RoutineError
        With every problem found, each located ``FILE:LINE:COL`` where possible: the file
        is missing, not a regular file (a directory, a pipe, a device), unreadable,
        binary, UTF-16 or otherwise not UTF-8, bigger or deeper than any routine, not
        TOML, or not a valid routine.
    """
    file, text = _read_file(path, display_name)
    return parse_routine(text, file)


def load_document(
    path: str | os.PathLike[str], display_name: str | None = None
) -> tomlkit.TOMLDocument:
    """Read the routine file at ``path`` as a tomlkit document (comments kept, for rewriting).

    The text must be valid TOML; it is not validated as a routine (use ``load_routine``).

    Raises
    ------
    RoutineError
        As ``load_routine`` does for unreadable files and TOML syntax errors.
    """
    file, text = _read_file(path, display_name)
    _parse_toml(text, file)  # tomllib's errors are located and strict; tomlkit is lenient
    try:
        return tomlkit.parse(text)
    except Exception as exc:  # tomlkit raises assorted types on odd input; none may escape
        raise RoutineError([Problem(file, None, None, f"cannot read the TOML: {exc}")]) from None


# What stat says a path is, for the files that are not regular files (refused before
# opening by `files.open_regular`: reading a FIFO or a terminal blocks).
_NOT_FILES: Final = (
    (stat.S_ISDIR, "is a directory, not a routine file"),
    (stat.S_ISFIFO, "is a named pipe (FIFO), not a routine file; save the routine in a "
     "file and give its path"),
    (stat.S_ISCHR, "is a character device (a terminal, /dev/null...), not a routine file"),
    (stat.S_ISBLK, "is a block device (a disk), not a routine file"),
    (stat.S_ISSOCK, "is a socket, not a routine file"),
)
# Byte-order marks of the encodings people save by mistake; UTF-32's first, as UTF-32 LE's
# starts with UTF-16 LE's.
_FOREIGN_BOMS: Final = (
    (b"\xff\xfe\x00\x00", "UTF-32 text (little-endian)"),
    (b"\x00\x00\xfe\xff", "UTF-32 text (big-endian)"),
    (b"\xff\xfe", "UTF-16 text (little-endian)"),
    (b"\xfe\xff", "UTF-16 text (big-endian)"),
)


def _file_label(path: str | os.PathLike[str], display_name: str | None) -> str:
    """How problems name the file: as typed, '' when empty, control characters escaped.

    A file name is text from the user like any other: a newline or an escape sequence in
    it must not reach the terminal raw, nor split one problem into two lines.
    """
    name = display_name if display_name is not None else str(path)
    return _escape(name) if name else "''"


def _read_file(path: str | os.PathLike[str], display_name: str | None) -> tuple[str, str]:
    """The name problems give the file, and the file's text (or RoutineError)."""
    file = _file_label(path, display_name)
    if display_name == "" or os.fspath(path) == "":
        # `voicecoach validate ''`: Path("") is ".", which would read as "is a directory".
        raise RoutineError(
            [Problem(file, None, None, "empty file name; give the path of a routine file")]
        )
    return file, _read_text(path, file)


def _read_text(path: str | os.PathLike[str], file: str) -> str:
    """The file's text, or RoutineError saying why it cannot be a routine file."""

    def fail(message: str, line: int | None = None, col: int | None = None) -> RoutineError:
        return RoutineError([Problem(file, line, col, message)])

    try:
        handle, _ = open_regular(path)
        with handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except NotAFile as exc:
        if exc.swapped:
            raise fail("is not a regular file (it changed while being opened)") from None
        raise fail(next((message for test, message in _NOT_FILES if test(exc.mode)),
                        "is not a regular file, not a routine file")) from None
    except OSError as exc:
        raise fail(_os_error_message(exc)) from None
    except ValueError as exc:
        if "null" in str(exc):  # os.stat: "embedded null byte"
            raise fail("the file name contains a NUL byte (\\x00); no file can have it") from None
        raise fail(f"cannot read the file: {exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise fail(f"the file is over {MAX_FILE_BYTES // 1_000_000} MB; a routine is small text")
    foreign = _foreign_encoding(data)
    if foreign is not None:
        raise fail(f"{foreign}, not UTF-8; save the file as UTF-8")
    nul = data.find(b"\x00")
    if nul >= 0:
        line, col = _byte_position(data, nul)
        raise fail("binary data (a NUL byte), not a TOML routine; save it as text", line, col)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _byte_position(data, exc.start)
        raise fail(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8", line, col
        ) from None
    # Editors on Windows may start the file with a byte-order mark, which TOML forbids.
    return text.removeprefix("\ufeff")


def _os_error_message(exc: OSError) -> str:
    """What an OSError from stat, open or read means for the user, in words."""
    errors = {
        errno.ENOENT: "no such file; check the path, or make one with `voicecoach new`",
        errno.ENOTDIR: "no such file: a part of the path before the file name is a file, "
        "not a directory",
        errno.EISDIR: "is a directory, not a routine file",
        errno.EACCES: "permission denied; the file cannot be read",
        errno.EPERM: "permission denied; the file cannot be read",
        errno.ENAMETOOLONG: "the file name is too long for the system; check the path",
        errno.ELOOP: "the path is a loop of symbolic links (a link that leads back to "
        "itself); check the path",
        errno.EAGAIN: "the file is not ready to read (a pipe or device?); save the routine "
        "in a regular file",
    }
    if exc.errno in errors:
        return errors[exc.errno]
    return f"cannot read the file: {exc.strerror or exc}"


def _foreign_encoding(data: bytes) -> str | None:
    """``"UTF-16 text (little-endian)"`` and the like, for text saved as UTF-16 or UTF-32.

    With a byte-order mark, or without one when the NUL bytes fall in the pattern that
    ASCII makes in those encodings: the high byte of every other byte pair in UTF-16, of
    three bytes in four in UTF-32. Letters past Latin-1 fill some of those bytes, so half
    of them NUL is enough, as long as the other bytes (almost) never are.
    """
    for bom, name in _FOREIGN_BOMS:
        if data.startswith(bom):
            return name + " with a byte-order mark"
    sample = data[:4096]
    sample = sample[: len(sample) // 4 * 4]
    if len(sample) < 4 or b"\x00" not in sample:
        return None

    def zeros(lane: bytes) -> float:
        return lane.count(0) / len(lane)

    for width, order, zero_lanes in (
        (4, "little-endian", (1, 2, 3)),
        (4, "big-endian", (0, 1, 2)),
        (2, "little-endian", (1,)),
        (2, "big-endian", (0,)),
    ):
        lanes = [sample[i::width] for i in range(width)]
        if all(zeros(lanes[i]) >= 0.5 for i in zero_lanes) and all(
            zeros(lanes[i]) <= 0.1 for i in range(width) if i not in zero_lanes
        ):
            return f"UTF-{width * 8} text ({order})"
    return None


def _byte_position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and character column of byte ``offset``."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    col = len(data[line_start:offset].decode("utf-8", errors="replace")) + 1
    return data.count(b"\n", 0, offset) + 1, col


# ---------------------------------------------------------------- parsing text


def parse_routine(text: str, file: str = "<string>") -> Routine:
    """Validate routine ``text`` (TOML) into a Routine. Pure: no I/O.

    Every problem is collected before raising, so one run reports them all.

    Raises
    ------
    RoutineError
        With the problems, each naming the exercise (number and name), the key, what was
        expected and what was found, located at the key's line and column (or the table
        header's, for a missing key).
    """
    if not isinstance(text, str):
        raise RoutineError([Problem(file, None, None, "a routine must be text")])
    data = _parse_toml(text, file)
    checker = _Checker()
    try:
        routine = checker.routine(data)
    except RecursionError:  # only absurdly nested values get here; keep the promise anyway
        checker.problem(None, "the TOML nests too deeply to be a routine")
        routine = None
    if checker.problems or routine is None:
        raise RoutineError(_locate_problems(text, file, checker.problems))
    return routine


def _parse_toml(text: str, file: str) -> dict[str, Any]:
    """tomllib's parse, with its errors turned into one located Problem.

    The text's shape is checked first (``_check_shape``), so tomllib never works on more
    than a routine could need.
    """
    _check_shape(text, file)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RoutineError([_syntax_problem(text, file, str(exc))]) from None
    except RecursionError:
        raise RoutineError(
            [Problem(file, None, None, "invalid TOML: values nest too deeply")]
        ) from None
    except ValueError as exc:  # int() refuses numbers over 4300 digits
        digits = re.search(r"\d{1000,}", text)
        if digits is None:
            raise RoutineError([Problem(file, None, None, f"invalid TOML: {exc}")]) from None
        line = text.count("\n", 0, digits.start()) + 1
        col = digits.start() - (text.rfind("\n", 0, digits.start()) + 1) + 1
        message = "invalid TOML: a number too long to read (thousands of digits)"
        raise RoutineError([Problem(file, line, col, message)]) from None


# One token of TOML for _check_shape: a run of line ends with the blank and comment lines
# after it, a string, a bare word (key, number, date, true...), a punctuation mark, or any
# other character (an unclosed quote: tomllib will say what is wrong). Blanks and comments
# go with the token they precede. Every repetition is possessive: the regex engine keeps
# no backtracking state per character, so a 4.9 MB string is one cheap token.
_SHAPE_TOKEN = re.compile(
    r"""(?:[ \t\r]++|\#[^\n]*+)*+
    (?:
        (?P<newline>\n(?:[ \t\r\n]++|\#[^\n]*+)*+)
      | (?P<string>
            \"\"\"[^"\\]*+(?:(?:\\.|"(?!""))[^"\\]*+)*+\"\"\"(?:""?)?
          | '''[^']*+(?:'(?!'')[^']*+)*+'''(?:''?)?
          | "[^"\\\n]*+(?:\\.[^"\\\n]*+)*+"
          | '[^'\n]*+'
        )
      | (?P<word>[^\s\[\]{},=.\#"']++)
      | (?P<punct>[\[\]{},=.])
      | (?P<end>\Z)
      | (?P<other>.)
    )""",
    re.VERBOSE | re.DOTALL,
)


def _check_shape(text: str, file: str) -> None:
    """Refuse text whose shape no routine has, before tomllib spends seconds on it.

    A cheap scan of the tokens, stopped at the first limit passed: the lines, the tokens
    (keys, values and punctuation), the parts of one dotted key or table header, how deep
    arrays and inline tables nest, and the length of one value. Each refusal is located at
    the line and column where the limit is passed. Text that passes may still be invalid
    TOML; tomllib says so, with its own position.

    Raises
    ------
    RoutineError
        With one Problem naming the limit.
    """

    def refuse(offset: int, message: str) -> RoutineError:
        line = text.count("\n", 0, offset) + 1
        col = offset - (text.rfind("\n", 0, offset) + 1) + 1
        return RoutineError([Problem(file, line, col, message)])

    if text.count("\n") >= MAX_LINES:
        offset = -1  # the end of line MAX_LINES
        for _ in range(MAX_LINES):
            offset = text.find("\n", offset + 1)
        if offset + 1 < len(text):  # a line after it
            raise refuse(
                offset + 1,
                f"the file has more than {MAX_LINES:,} lines; a routine is far shorter",
            )
    tokens = 0
    nesting: list[str] = []  # the open [ and { of values (table headers are not values)
    want_key = True  # a key may come next: at a line's start, after { or , in { }
    header = False  # inside the brackets of a [table] or [[table]] header
    parts = 0  # parts of the key being read (a.b.c has 3)
    key_at = 0
    for match in _SHAPE_TOKEN.finditer(text):
        kind = match.lastgroup or "other"  # every alternative is a named group
        if kind == "end":
            return
        if kind == "newline":
            if not nesting:  # a new line of the document (not inside a multi-line array)
                want_key, header, parts = True, False, 0
            continue
        start = match.start(kind)
        tokens += 1
        if tokens > MAX_TOKENS:
            raise refuse(
                start,
                f"the file has more than {MAX_TOKENS:,} keys, values and punctuation marks "
                f"(this is where the count passes); a routine needs fewer",
            )
        token = match.group(kind)
        if kind == "other" and token in "\"'":
            # A quote that opens no complete string: tomllib stops at it (at the end of its
            # line, or of the file for a multi-line string) and says where; the text after
            # it is never parsed, so it needs no checking.
            return
        if kind in ("string", "word", "other"):
            if len(token) > MAX_VALUE_CHARS:
                limit = (
                    f"a text of {len(token):,} characters; the longest text of a routine "
                    f"(notes) has at most {MAX_NOTES_CHARS:,}"
                    if kind == "string"
                    else f"a value of {len(token):,} characters; a routine's numbers have a "
                    f"few digits"
                )
                raise refuse(start, limit)
            if want_key:
                if parts == 0:
                    key_at = start
                parts += 1
                if parts > MAX_KEY_PARTS:
                    raise refuse(
                        key_at,
                        f"a dotted key of more than {MAX_KEY_PARTS} parts (a.b.c...); the "
                        f"deepest key of a routine has 3 (defaults.breathing.inhale)",
                    )
            continue
        if token == ".":
            continue  # a dot joins the parts of a key, or sits in a number
        if token == "=":
            want_key, parts = False, 0
        elif token == "[" and want_key and not nesting and parts == 0:
            header = True  # [table] or [[table]]: its name is a key
        elif token in "[{":
            nesting.append(token)
            if len(nesting) > MAX_NESTING:
                raise refuse(
                    start,
                    f"values nested more than {MAX_NESTING} deep ([ and {{ inside one "
                    f"another); a routine nests 3 deep at most (exercise = [{{ reps = [6, 4] }}])",
                )
            want_key, parts = token == "{", 0
        elif token in "]}":
            if header and not nesting:
                want_key, header, parts = False, False, 0
            elif nesting:
                nesting.pop()
                want_key = False
        elif token == ",":
            want_key, parts = bool(nesting) and nesting[-1] == "{", 0


def _syntax_problem(text: str, file: str, message: str) -> Problem:
    match = _TOML_WHERE.search(message)
    line: int | None = None
    col: int | None = None
    if match:
        message = message[: match.start()]
        if match.group(1):
            line, col = int(match.group(1)), int(match.group(2))
        else:
            line = text.count("\n") + 1
            col = len(text) - (text.rfind("\n") + 1) + 1
    if message.startswith(("Cannot overwrite", "Cannot declare", "Cannot mutate")):
        duplicate = _find_duplicate(text, file)
        if duplicate is not None:
            return duplicate
    hint = next((h for prefix, h in _TOML_HINTS if message.startswith(prefix)), None)
    message = message[:1].lower() + message[1:]
    return Problem(file, line, col, f"invalid TOML: {message}" + (f"; {hint}" if hint else ""))


def _find_duplicate(text: str, file: str) -> Problem | None:
    locator = _Locator(text, wanted=set(), duplicates=True)  # the duplicate is all it needs
    locator.scan()
    if locator.duplicate is None:
        return None
    path, offset, first = locator.duplicate
    line, col = locator.position(offset)
    first_line, _ = locator.position(first)
    what = _describe_path(path)
    return Problem(file, line, col, f"{what} appears twice; it is first set on line {first_line}")


def _describe_path(path: Path) -> str:
    """Human words for a key path: ``'hold' in exercise 2``, ``[routine]``."""
    if len(path) >= 2 and path[0] == "exercise" and isinstance(path[1], int):
        inner = ".".join(str(p) for p in path[2:])
        where = f"exercise {path[1] + 1}"
        return f"{_q(inner)} in {where}" if inner else where
    if len(path) == 1:
        return f"[{path[0]}]" if path[0] in ("routine", "defaults") else _q(str(path[0]))
    if len(path) >= 2 and path[0] in ("routine", "defaults"):
        return f"{_q('.'.join(str(p) for p in path[1:]))} in [{path[0]}]"
    return _q(".".join(str(p) for p in path))


# ---------------------------------------------------------------- validation


@dataclass(slots=True)
class _Exercise:
    """What the checker knows about the exercise being checked: for messages and merging."""

    index: int
    label: str
    given: frozenset[str]
    # Keys suggested for misspelled ones: their "did you mean" stands for "missing" too.
    misspelled: frozenset[str]


def _q(key: str) -> str:
    """A key in quotes, safe to print on one line."""
    if key.isprintable() and "'" not in key and len(key) <= 40:
        return f"'{key}'"
    return _escape(json.dumps(key[:40] + ("..." if len(key) > 40 else ""), ensure_ascii=False))


def _printable(text: str, limit: int = 40) -> str:
    """Text safe to print inside a one-line message: white space folded, control
    characters (terminal escapes among them) shown as escapes, at most ``limit`` chars."""
    return _escape(" ".join(text.split())[:limit])


def _escape(text: str) -> str:
    """Non-printable characters (controls, bidi overrides, DEL) as visible escapes."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


# Names of the control characters people meet; unicodedata has none for controls.
_CONTROL_NAMES: Final = {
    0x00: "NULL",
    0x09: "CHARACTER TABULATION (a tab)",
    0x0A: "LINE FEED (a line break)",
    0x0D: "CARRIAGE RETURN (a line break)",
    0x1B: "ESCAPE (starts terminal control sequences)",
    0x7F: "DELETE",
    0x85: "NEXT LINE (a line break)",
}
_ZERO_WIDTH_JOINERS: Final = frozenset("\u200c\u200d")
_EMOJI_TAGS: Final = range(0xE0020, 0xE0080)  # subdivision flags: U+1F3F4, tags, U+E007F
_BLACK_FLAG: Final = "\U0001f3f4"


def _char_name(char: str) -> str:
    """``U+200B ZERO WIDTH SPACE``: a character by code point and Unicode name."""
    code = ord(char)
    name = unicodedata.name(char, "") or _CONTROL_NAMES.get(code, "")
    if not name:
        name = "a control character" if unicodedata.category(char) == "Cc" else "(no name)"
    return f"U+{code:04X} {name}"


def _hidden_characters(text: str, *, fold_spaces: bool = False) -> list[int]:
    """Indexes of the characters of ``text`` that one line of plain text must not hold.

    Refused: controls (line breaks, tabs, escape sequences), line and paragraph
    separators, bidirectional controls (which can make a terminal show text out of order)
    and other invisible formatting characters. Allowed: anything printable, other spaces
    (no-break, ideographic), and the invisible parts of emoji and of scripts that need
    them: zero-width joiners and non-joiners between two non-ASCII characters
    (U+1F469 U+200D U+1F467; Persian, Devanagari), tags after a black flag (the flags of
    England, Scotland, Wales), and unassigned code points (emoji newer than this Python's
    Unicode tables). Variation selectors and skin tones are printable already. With
    ``fold_spaces``, white space of any kind is allowed too (it is folded to one space).
    """
    hidden = []
    for i, char in enumerate(text):
        if char.isprintable() or (fold_spaces and char.isspace()):
            continue
        category = unicodedata.category(char)
        if category in ("Zs", "Co", "Cn"):
            continue
        if char in _ZERO_WIDTH_JOINERS and 0 < i < len(text) - 1:
            before, after = text[i - 1], text[i + 1]
            if not (before.isascii() or after.isascii() or before.isspace() or after.isspace()):
                continue
        if ord(char) in _EMOJI_TAGS and i > 0:
            before = text[i - 1]
            if before == _BLACK_FLAG or ord(before) in _EMOJI_TAGS:
                continue
        hidden.append(i)
    return hidden


def _hidden_problem(text: str, hidden: list[int], lead: int = 0) -> str:
    """``it contains U+202E RIGHT-TO-LEFT OVERRIDE at character 7`` (and how many more).

    ``lead`` is how many characters were stripped from the front of the value as written.
    """
    first = hidden[0]
    message = f"it contains {_char_name(text[first])} at character {first + lead + 1}"
    if len(hidden) > 1:
        more = len(hidden) - 1
        message += f" (and {more} more such character{'s' if more > 1 else ''})"
    return message


def _show(value: Any) -> str:
    """A found value as the user would have written it in TOML (short)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        # str() refuses ints above 4300 digits; nobody needs to see those digits anyway.
        return str(value) if value.bit_length() <= 64 else "a very large number"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return _escape(json.dumps(shown, ensure_ascii=False))
    if isinstance(value, list):
        if not value:
            return "an empty list"
        if len(value) <= 6 and not any(isinstance(v, list | dict) for v in value):
            shown = "[" + ", ".join(_show(v) for v in value) + "]"
            if len(shown) <= 60:
                return shown
        return f"a list of {len(value)} items"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return f"the date/time {value.isoformat()}"
    return type(value).__name__


def _suggest(word: str, choices: Iterable[str]) -> str | None:
    if len(word) > 60:  # difflib is quadratic; a 60-char key is not a typo of ours
        return None
    word = word.lower()
    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    # difflib ranks 'rest' level with 'reps' for 'rpes'; a swap of two letters is the
    # likelier typo, so the fewest edits (transpositions counted as one) win.
    return min(close, key=lambda c: _edits(word, c)) if close else None


def _edits(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, swaps."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


@functools.cache  # asked for once per unknown key; the answer never changes
def _misplaced_hints(table: str) -> dict[str, str]:
    """Hints for keys that belong in another table than ``table``, where they were written."""
    after = f"keys after {table} belong to it"
    hints = {"exercise": f"{after}; start each exercise with its own [[exercise]] header"}
    for key in EXERCISE_KEYS:
        hints.setdefault(key, f"{after}; {_q(key)} belongs inside an [[exercise]] table")
    for key in DEFAULT_KEYS:
        hints[key] = f"{after}; {_q(key)} belongs under [defaults] (or in an exercise)"
    for key in ROUTINE_KEYS:
        hints[key] = f"{after}; {_q(key)} belongs under [routine]"
    return hints


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _fmt(n: float) -> str:
    return str(int(n)) if float(n).is_integer() else str(n)


class _Checker:
    """Walks the parsed TOML, records every problem with its key path, builds the model."""

    def __init__(self) -> None:
        self.problems: list[tuple[Path | None, str]] = []
        self.suggestions_left = MAX_SUGGESTIONS

    def problem(self, path: Path | None, message: str) -> None:
        self.problems.append((path, message))

    def suggest(self, word: str, choices: Iterable[str]) -> str | None:
        """``_suggest``, until MAX_SUGGESTIONS have been worked out; then ``None``.

        Past that many unknown words the problems are beyond the printed ones, and a file
        of 480,000 unknown keys must not cost a difflib run for each.
        """
        if self.suggestions_left <= 0:
            return None
        self.suggestions_left -= 1
        return _suggest(word, choices)

    # -- generic value checks; each returns the value or INVALID (problem recorded)

    def number(
        self,
        value: Any,
        path: Path,
        key: str,
        where: str,
        lo: float,
        hi: float,
        *,
        unit: str = "seconds",
        whole: bool = False,
        or_zero: bool = False,
    ) -> float | _Invalid:
        """A finite number within [lo, hi] (or 0, when ``or_zero``); ints only when ``whole``.

        -0.0 comes back as 0.0, so it never shows as "-0" in a timeline or a message.
        """
        ok_type = _is_whole(value) if whole else _is_number(value)
        ok = ok_type and (lo <= value <= hi or (or_zero and value == 0))
        if ok and isinstance(value, float):
            ok = math.isfinite(value)
        if ok:
            return int(value) if whole else float(value) + 0.0
        noun = f"a whole number of {unit}" if whole else f"a number of {unit}"
        if unit == "":
            noun = "a whole number" if whole else "a number"
        span = f"from {_fmt(lo)} to {_fmt(hi)}"
        if or_zero:
            noun = f"0 (none) or {noun}"
        self.problem(path, f"{_q(key)} in {where} must be {noun} {span}, found {_show(value)}")
        return INVALID

    def choice(
        self, value: Any, path: Path, key: str, where: str, choices: Iterable[str]
    ) -> str | _Invalid:
        options = tuple(choices)
        if isinstance(value, str) and value in options:
            return value
        listed = ", ".join(f'"{c}"' for c in options)
        message = f"{_q(key)} in {where} must be one of {listed}, found {_show(value)}"
        if isinstance(value, str):
            close = self.suggest(value, options)
            if close:
                message += f'; did you mean "{close}"?'
        self.problem(path, message)
        return INVALID

    def text(
        self, value: Any, path: Path, key: str, where: str, max_chars: int, *, one_line: bool
    ) -> str | _Invalid:
        if isinstance(value, str):
            stripped = value.strip()
            if not stripped:
                self.problem(path, f"{_q(key)} in {where} must not be empty")
            elif len(stripped) > max_chars:
                self.problem(
                    path,
                    f"{_q(key)} in {where} must be at most {max_chars} characters, "
                    f"found {len(stripped)}",
                )
            elif one_line and (hidden := _hidden_characters(stripped)):
                lead = len(value) - len(value.lstrip())  # count characters as written
                self.problem(
                    path,
                    f"{_q(key)} in {where} must be one line of plain text; "
                    f"{_hidden_problem(stripped, hidden, lead)}",
                )
            else:
                return stripped
            return INVALID
        self.problem(path, f"{_q(key)} in {where} must be text in quotes, found {_show(value)}")
        return INVALID

    def boolean(self, value: Any, path: Path, key: str, where: str) -> bool | _Invalid:
        if isinstance(value, bool):
            return value
        self.problem(path, f"{_q(key)} in {where} must be true or false, found {_show(value)}")
        return INVALID

    def table(self, value: Any, path: Path, key: str, where: str, example: str) -> bool:
        if isinstance(value, dict):
            return True
        self.problem(
            path, f"{_q(key)} in {where} must be a table like {example}, found {_show(value)}"
        )
        return False

    def unknown_keys(
        self,
        table: dict[str, Any],
        path: Path,
        allowed: Iterable[str],
        where: str,
        hints: dict[str, str] | None = None,
    ) -> set[str]:
        """Report keys not in ``allowed``; return the keys suggested for them."""
        allowed = tuple(allowed)
        suggested: set[str] = set()
        for key in table:
            if key in allowed:
                continue
            message = f"unknown key {_q(key)} in {where}"
            close = self.suggest(key, allowed)
            if close:
                message += f"; did you mean {_q(close)}?"
                suggested.add(close)
            elif hints and key.lower() in hints:
                message += f"; {hints[key.lower()]}"
            self.problem((*path, key), message)
        return suggested

    # -- the document

    def routine(self, data: dict[str, Any]) -> Routine | None:
        for key, value in data.items():
            if key not in TOP_KEYS:
                self.unknown_top(key, value)
        title, notes, voice = self.routine_table(data)
        defaults = self.defaults(data.get("defaults"))
        exercises = self.exercises(data, defaults)
        if self.problems or title is None or voice is None or exercises is None:
            return None
        return Routine(title=title, exercises=exercises, notes=notes, voice=voice)

    def unknown_top(self, key: str, value: Any) -> None:
        if isinstance(value, dict):
            what = f"unknown table [{_printable(key)}]"
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            what = f"unknown table [[{_printable(key)}]]"
        else:
            what = f"unknown key {_q(key)} at the top of the file"
        close = self.suggest(key, TOP_KEYS)
        if close:
            header = "[[exercise]]" if close == "exercise" else f"[{close}]"
            what += f"; did you mean {header}?"
        elif key in ROUTINE_KEYS:
            what += "; it belongs under [routine]"
        elif key in DEFAULT_KEYS:
            what += "; it belongs under [defaults]"
        elif key in EXERCISE_KEYS:
            what += "; it belongs inside an [[exercise]] table"
        self.problem((key,), what)

    def routine_table(self, data: dict[str, Any]) -> tuple[str | None, str | None, Voice | None]:
        if "routine" not in data:
            self.problem(
                None,
                "missing [routine] table; start the file with [routine] and a title, "
                'e.g. title = "Morning core"',
            )
            return None, None, None
        table = data["routine"]
        path: Path = ("routine",)
        if not isinstance(table, dict):
            self.problem(
                path,
                f"'routine' must be a table: write [routine] on its own line, then "
                f'title = "..." below it; found {_show(table)}',
            )
            return None, None, None
        where = "[routine]"
        self.unknown_keys(table, path, ROUTINE_KEYS, where, _misplaced_hints("[routine]"))
        title: str | None = None
        if "title" not in table:
            self.problem(
                path,
                "missing 'title' in [routine]; name the routine, e.g. title = \"Morning core\"",
            )
        else:
            value = self.text(
                table["title"], (*path, "title"), "title", where, MAX_TITLE_CHARS, one_line=True
            )
            title = None if isinstance(value, _Invalid) else value
        notes: str | None = None
        if "notes" in table:
            value = self.text(
                table["notes"], (*path, "notes"), "notes", where, MAX_NOTES_CHARS, one_line=False
            )
            notes = None if isinstance(value, _Invalid) else value
        voice = self.voice(table.get("voice"), (*path, "voice"))
        return title, notes, voice

    def voice(self, value: Any, path: Path) -> Voice | None:
        if value is None:
            return Voice()
        example = '{ name = "gmw/en-us", rate = 170, volume = 0.9 }'
        if not self.table(value, path, "voice", "[routine]", example):
            return None
        where = "[routine]"
        self.unknown_keys(value, path, VOICE_KEYS, "'voice' of [routine]")
        before = len(self.problems)
        name = rate = volume = None
        if "name" in value:
            name = self.text(
                value["name"], (*path, "name"), "voice.name", where, 100, one_line=True
            )
        if "rate" in value:
            rate = self.number(
                value["rate"],
                (*path, "rate"),
                "voice.rate",
                where,
                *VOICE_RATE,
                unit="words per minute",
                whole=True,
            )
        if "volume" in value:
            volume = self.number(
                value["volume"], (*path, "volume"), "voice.volume", where, *VOICE_VOLUME, unit=""
            )
        if len(self.problems) > before:
            return None
        return Voice(name=name, rate=rate, volume=volume)  # type: ignore[arg-type]

    # -- settings shared by [defaults] and each exercise

    def settings(self, table: dict[str, Any], path: Path, where: str) -> dict[str, Any]:
        """The valid [defaults]-style keys of ``table`` (``breathing``: partial dict or False)."""
        out: dict[str, Any] = {}
        for key in DEFAULT_KEYS:
            if key not in table:
                continue
            value, key_path = table[key], (*path, key)
            result: Any
            if key in PAUSE_KEYS:
                # 0 is none; a pause of 1e-9 s would round to an empty span of the timeline.
                result = self.number(value, key_path, key, where, *PAUSE_SECONDS, or_zero=True)
            elif key == "brace":
                result = self.boolean(value, key_path, key, where)
            elif key == "breathing":
                result = self.breathing(value, key_path, where)
            elif key == "breathing_sound":
                result = self.choice(value, key_path, key, where, BREATHING_SOUNDS)
            else:  # countdown
                result = self.number(value, key_path, key, where, *COUNTDOWN, unit="", whole=True)
            if not isinstance(result, _Invalid):
                out[key] = result
        return out

    def breathing(self, value: Any, path: Path, where: str) -> dict[str, float] | bool | _Invalid:
        if isinstance(value, bool):
            return {} if value else False
        if not isinstance(value, dict):
            self.problem(
                path,
                f"'breathing' in {where} must be a table like {{ inhale = 3, exhale = 3 }} "
                f"or false, found {_show(value)}",
            )
            return INVALID
        self.unknown_keys(value, path, BREATHING_KEYS, f"'breathing' of {where}")
        out: dict[str, float] = {}
        for key in BREATHING_KEYS:
            if key in value:
                result = self.number(
                    value[key], (*path, key), f"breathing.{key}", where, *BREATH_SECONDS
                )
                if not isinstance(result, _Invalid):
                    out[key] = result
        return out

    def defaults(self, value: Any) -> dict[str, Any]:
        if value is None:
            return {}
        path: Path = ("defaults",)
        if not isinstance(value, dict):
            self.problem(
                path,
                f"'defaults' must be a table: write [defaults] on its own line, then keys "
                f"like rest = 30 below it; found {_show(value)}",
            )
            return {}
        for key in value:
            if key in DEFAULT_KEYS:
                continue
            if key in EXERCISE_KEYS:
                self.problem(
                    (*path, key),
                    f"{_q(key)} cannot be set in [defaults]; set it in each [[exercise]]",
                )
            else:
                self.unknown_keys(
                    {key: None}, path, DEFAULT_KEYS, "[defaults]", _misplaced_hints("[defaults]")
                )
        return self.settings(value, path, "[defaults]")

    # -- exercises

    def exercises(
        self, data: dict[str, Any], defaults: dict[str, Any]
    ) -> tuple[Exercise, ...] | None:
        path: Path = ("exercise",)
        value = data.get("exercise")
        if value is None or (isinstance(value, list) and not value):
            self.problem(
                path if value is not None else None,
                "the routine has no exercises; add an [[exercise]] table",
            )
            return None
        if isinstance(value, dict):
            self.problem(
                path,
                "[exercise] must be written [[exercise]], with double brackets, "
                "once before each exercise",
            )
            return None
        if not isinstance(value, list):
            self.problem(
                path,
                f"'exercise' must be a list of tables, one [[exercise]] per exercise, "
                f"found {_show(value)}",
            )
            return None
        if len(value) > MAX_EXERCISES:
            self.problem(
                path, f"a routine has at most {MAX_EXERCISES} exercises, found {len(value)}"
            )
            return None
        built = [self.exercise(i, raw, defaults) for i, raw in enumerate(value)]
        if any(e is None for e in built):
            return None
        return tuple(e for e in built if e is not None)

    def exercise(self, index: int, raw: Any, defaults: dict[str, Any]) -> Exercise | None:
        path: Path = ("exercise", index)
        number = index + 1
        if not isinstance(raw, dict):
            self.problem(
                path,
                f"exercise {number} must be a table of keys (name, kind, ...), found {_show(raw)}",
            )
            return None
        before = len(self.problems)

        entry = None
        use: str | None = None
        name_value = raw.get("name")
        plain_name = _printable(name_value) if isinstance(name_value, str) else ""
        if "use" in raw:
            use_value = raw["use"]
            if isinstance(use_value, str) and use_value in LIBRARY:
                entry = LIBRARY[use_value]
                use = use_value
        if not plain_name and entry is not None:
            plain_name = entry.name
        label = f"exercise {number}" + (f" ({plain_name})" if plain_name else "")
        if "use" in raw and entry is None:
            self.unknown_use(raw["use"], (*path, "use"), label)
        misspelled = self.unknown_keys(raw, path, EXERCISE_KEYS, label, _KEY_HINTS)
        ex = _Exercise(index, label, frozenset(raw), frozenset(misspelled))

        kind = self.kind(raw, entry, ex)
        merged: dict[str, Any] = {}
        if entry is not None:
            merged.update(entry.routine_keys(kind if kind is not None else None))
            # A list of reps carries its own set count; the library's 'sets' would clash.
            if isinstance(raw.get("reps"), list) and "sets" not in raw:
                merged.pop("sets", None)
        merged.update(raw)

        name = self.exercise_name(merged, raw, ex)
        if kind is not None:
            self.kind_only_keys(ex, kind)
        reps = self.reps(merged, ex, kind)
        dose = self.dose(merged, ex, kind)
        sides, side_labels = self.sides(merged, ex)
        cues = self.cues(merged, ex)
        settings = self.settings(raw, path, label)
        progression = self.progression(raw.get("progression"), ex, kind)

        if len(self.problems) > before or kind is None or name is None or reps is None:
            return None
        resolved = {**defaults, **settings}
        breathing: Breathing | None = Breathing()
        for partial in (defaults.get("breathing"), settings.get("breathing")):
            if partial is False:
                breathing = None
            elif isinstance(partial, dict):
                base = breathing or Breathing()
                breathing = Breathing(
                    inhale=partial.get("inhale", base.inhale),
                    exhale=partial.get("exhale", base.exhale),
                )
        return Exercise(
            index=index,
            name=name,
            kind=kind,
            reps=reps,
            hold=dose.get("hold"),
            tempo=dose.get("tempo", DEFAULT_TEMPO),
            duration=dose.get("duration"),
            sides=sides,  # type: ignore[arg-type]
            side_labels=side_labels,
            cues=cues,
            rest=resolved.get("rest", DEFAULT_REST),
            get_ready=resolved.get("get_ready", DEFAULT_GET_READY),
            between_reps=resolved.get("between_reps", DEFAULT_BETWEEN_REPS),
            switch_sides=resolved.get("switch_sides", DEFAULT_SWITCH_SIDES),
            brace=resolved.get("brace", True),
            breathing=breathing,
            breathing_sound=resolved.get("breathing_sound", "voice"),
            countdown=resolved.get("countdown", DEFAULT_COUNTDOWN),
            use=use,
            progression=progression,
        )

    def unknown_use(self, value: Any, path: Path, label: str) -> None:
        if not isinstance(value, str):
            self.problem(
                path,
                f"'use' in {label} must be the name of a built-in exercise in quotes, "
                f'e.g. use = "bird-dog", found {_show(value)}',
            )
            return
        normal = re.sub(r"[\s_]+", "-", value.strip().lower())
        close = normal if normal in LIBRARY else self.suggest(normal, LIBRARY)
        message = f"unknown exercise {_q(value)} in {label}"
        if close:
            message += f"; did you mean {_q(close)}?"
        else:
            message += "; run `voicecoach exercises` to list the built-in ones"
        self.problem(path, message)

    def kind(self, raw: dict[str, Any], entry: Any, ex: _Exercise) -> Kind | None:
        path: Path = ("exercise", ex.index)
        label = ex.label
        if "kind" in raw:
            value = self.choice(raw["kind"], (*path, "kind"), "kind", label, KINDS)
            return None if isinstance(value, _Invalid) else value  # type: ignore[return-value]
        if entry is not None:
            return entry.kind  # type: ignore[no-any-return]
        # An unknown `use`, or a misspelled `kind`, is reported already; do not pile on.
        if "use" not in raw and "kind" not in ex.misspelled:
            self.problem(
                path,
                f'missing \'kind\' in {label}: say what it is, kind = "hold", "reps" or "timed"',
            )
        return None

    def exercise_name(
        self, merged: dict[str, Any], raw: dict[str, Any], ex: _Exercise
    ) -> str | None:
        path: Path = ("exercise", ex.index)
        label = ex.label
        if "name" not in merged:
            if "use" not in raw and "name" not in ex.misspelled:
                self.problem(path, f"missing 'name' in {label}: name it, e.g. name = \"Bird dog\"")
            return None
        value = self.text(
            merged["name"], (*path, "name"), "name", label, MAX_NAME_CHARS, one_line=True
        )
        return None if isinstance(value, _Invalid) else value

    def kind_only_keys(self, ex: _Exercise, kind: Kind) -> None:
        for key, (kinds, hint) in _KIND_ONLY.items():
            if key in ex.given and kind not in kinds:
                self.problem(
                    ("exercise", ex.index, key),
                    f"{_q(key)} does not apply to {ex.label}, a {kind} exercise; {hint}",
                )

    def reps(
        self, merged: dict[str, Any], ex: _Exercise, kind: Kind | None
    ) -> tuple[int, ...] | None:
        path: Path = ("exercise", ex.index)
        sets = self.sets(merged, ex)
        if kind == "timed":
            return None if sets is None else (1,) * sets
        if kind is None:
            return None
        if "reps" not in merged:
            if "reps" in ex.misspelled:
                return None
            if kind == "hold":  # a plank: one hold per set, as anyone writing one expects
                return None if sets is None else (1,) * sets
            self.problem(
                path,
                f"missing 'reps' in {ex.label}: a reps exercise needs reps per set "
                f"(reps = 5, or reps = [6, 4, 2] for one set per entry)",
            )
            return None
        value = merged["reps"]
        lo, hi = REPS_PER_SET
        if _is_whole(value) and lo <= value <= hi:
            return None if sets is None else (value,) * sets
        if isinstance(value, list) and value:
            if "sets" in ex.given:
                self.problem(
                    (*path, "sets"),
                    f"'sets' in {ex.label} cannot be combined with a list of 'reps': the list "
                    f"already gives one set per entry; remove 'sets'",
                )
            if len(value) > MAX_SETS:
                self.problem(
                    (*path, "reps"),
                    f"'reps' in {ex.label} may list at most {MAX_SETS} sets, found {len(value)}",
                )
                return None
            out: list[int] = []
            for j, item in enumerate(value):
                if _is_whole(item) and lo <= item <= hi:
                    out.append(item)
                else:
                    self.problem(
                        (*path, "reps", j),
                        f"'reps' entry {j + 1} in {ex.label} must be a whole number of reps "
                        f"from {lo} to {hi}, found {_show(item)}",
                    )
            return tuple(out) if len(out) == len(value) else None
        self.problem(
            (*path, "reps"),
            f"'reps' in {ex.label} must be a whole number of reps from {lo} to {hi}, or a "
            f"list of them with one entry per set (e.g. [6, 4, 2]), found {_show(value)}",
        )
        return None

    def sets(self, merged: dict[str, Any], ex: _Exercise) -> int | None:
        if "sets" not in merged:
            return 1
        value = self.number(
            merged["sets"],
            ("exercise", ex.index, "sets"),
            "sets",
            ex.label,
            1,
            MAX_SETS,
            unit="sets",
            whole=True,
        )
        return None if isinstance(value, _Invalid) else int(value)

    def dose(self, merged: dict[str, Any], ex: _Exercise, kind: Kind | None) -> dict[str, float]:
        """hold / tempo / duration for the kind (each checked whenever given)."""
        path: Path = ("exercise", ex.index)
        out: dict[str, float] = {}
        ranges = {"hold": HOLD_SECONDS, "tempo": TEMPO_SECONDS, "duration": DURATION_SECONDS}
        # Keys of other kinds are reported by kind_only_keys; keep them out of the model.
        keep = {"hold": ("hold",), "reps": ("tempo",), "timed": ("duration",)}.get(kind or "")
        for key, (lo, hi) in ranges.items():
            if key in merged and (keep is None or key in keep):
                value = self.number(merged[key], (*path, key), key, ex.label, lo, hi)
                if not isinstance(value, _Invalid):
                    out[key] = value
        needs = {
            "hold": ("hold", "seconds per hold"),
            "timed": ("duration", "seconds of work per set"),
        }
        if kind in needs:
            key, what = needs[kind]
            if key not in merged and key not in ex.misspelled:
                self.problem(
                    path, f"missing {_q(key)} in {ex.label}: a {kind} exercise needs {what}"
                )
        return out if keep is not None else {}

    def sides(self, merged: dict[str, Any], ex: _Exercise) -> tuple[str, tuple[str, str]]:
        path: Path = ("exercise", ex.index)
        sides = "none"
        if "sides" in merged:
            value = self.choice(merged["sides"], (*path, "sides"), "sides", ex.label, SIDES)
            sides = "none" if isinstance(value, _Invalid) else value
        labels: tuple[str, str] = DEFAULT_SIDE_LABELS
        if "side_labels" in merged:
            value = merged["side_labels"]
            ok = (
                isinstance(value, list)
                and len(value) == 2
                and all(isinstance(v, str) and v.strip() for v in value)
                and all(len(v.strip()) <= MAX_LABEL_CHARS for v in value)
            )
            hidden = [_hidden_characters(v.strip()) for v in value] if ok else []
            if any(hidden):
                j = next(j for j, h in enumerate(hidden) if h)
                label = value[j].strip()
                lead = len(value[j]) - len(value[j].lstrip())
                self.problem(
                    (*path, "side_labels", j),
                    f"'side_labels' entry {j + 1} in {ex.label} must be one line of plain "
                    f"text; {_hidden_problem(label, hidden[j], lead)}",
                )
            elif ok and value[0].strip() != value[1].strip():
                labels = (value[0].strip(), value[1].strip())
            else:
                self.problem(
                    (*path, "side_labels"),
                    f"'side_labels' in {ex.label} must be two different names in quotes, "
                    f'e.g. ["left", "right"], found {_show(value)}',
                )
        return sides, labels

    def cues(self, merged: dict[str, Any], ex: _Exercise) -> tuple[str, ...]:
        if "cues" not in merged:
            return ()
        path: Path = ("exercise", ex.index, "cues")
        value = merged["cues"]
        if not isinstance(value, list):
            self.problem(
                path,
                f"'cues' in {ex.label} must be a list of sentences in quotes, "
                f'e.g. ["Keep the hips level."], found {_show(value)}',
            )
            return ()
        if len(value) > MAX_CUES:
            self.problem(
                path, f"'cues' in {ex.label} may have at most {MAX_CUES} lines, found {len(value)}"
            )
            return ()
        out: list[str] = []
        for j, item in enumerate(value):
            ok = isinstance(item, str) and item.strip() and len(item.strip()) <= MAX_CUE_CHARS
            # Line breaks and tabs fold into spaces; escape sequences and bidi controls
            # would reach the terminal through the live display and the cue sheet.
            hidden = _hidden_characters(item, fold_spaces=True) if ok else []
            if hidden:
                self.problem(
                    (*path, j),
                    f"'cues' entry {j + 1} in {ex.label} must be plain text; "
                    f"{_hidden_problem(item, hidden)}",
                )
            elif ok:
                out.append(" ".join(item.split()))
            else:
                found = (
                    f"{len(item.strip())} characters"
                    if isinstance(item, str) and item.strip()
                    else _show(item)
                )
                self.problem(
                    (*path, j),
                    f"'cues' entry {j + 1} in {ex.label} must be a sentence in quotes of 1 to "
                    f"{MAX_CUE_CHARS} characters, found {found}",
                )
        return tuple(out)

    def progression(self, value: Any, ex: _Exercise, kind: Kind | None) -> Progression | None:
        if value is None:
            return None
        path: Path = ("exercise", ex.index, "progression")
        if not self.table(
            value, path, "progression", ex.label, "{ step = 2, max = 30, after = 2 }"
        ):
            return None
        where = f"'progression' of {ex.label}"
        for key in value:
            if key in PROGRESSION_KEYS:
                continue
            message = f"unknown key {_q(key)} in {where}"
            close = self.suggest(key, PROGRESSION_KEYS)
            if close:
                message += f"; did you mean {_q(close)}?"
            elif key in EXERCISE_KEYS:
                # The TOML trap: keys written after [exercise.progression] land inside it.
                message += (
                    f"; keys after an [exercise.progression] header belong to it, so move "
                    f"{_q(key)} above that header"
                )
            self.problem((*path, key), message)
        if kind == "reps":
            (lo, hi), unit, whole = REPS_PER_SET, "reps", True
        elif kind == "hold":
            (lo, hi), unit, whole = HOLD_SECONDS, "seconds", False
        else:
            (lo, hi), unit, whole = DURATION_SECONDS, "seconds", False
        before = len(self.problems)
        found: dict[str, Any] = {}
        if "step" in value:
            # At least a whole rep or a whole second: a step of 1e-9 would take forever
            # to show, and fills the history with levels nobody can feel.
            found["step"] = self.number(
                value["step"],
                (*path, "step"),
                "progression.step",
                ex.label,
                PROGRESSION_STEP_MIN,
                hi,
                unit=unit,
                whole=whole,
            )
        if "max" in value:
            found["max"] = self.number(
                value["max"],
                (*path, "max"),
                "progression.max",
                ex.label,
                lo,
                hi,
                unit=unit,
                whole=whole,
            )
        if "after" in value:
            found["after"] = self.number(
                value["after"],
                (*path, "after"),
                "progression.after",
                ex.label,
                *PROGRESSION_AFTER,
                unit="sessions",
                whole=True,
            )
        if len(self.problems) > before:
            return None
        return Progression(
            step=found.get("step"),
            max=found.get("max"),
            after=int(found["after"]) if "after" in found else None,
        )


# ---------------------------------------------------------------- locating keys


def _locate_problems(text: str, file: str, found: list[tuple[Path | None, str]]) -> list[Problem]:
    """Turn (key path, message) pairs into Problems with the key's line and column.

    Only the MAX_PROBLEMS printed get a line and column, and the locator records only the
    keys the problems name (and their tables), however many keys the file has.
    """
    wanted = {path[:n] for path, _ in found if path for n in range(1, len(path) + 1)}
    locator = _Locator(text, wanted, duplicates=False)
    locator.scan()
    # Source order, like a compiler; problems with no place (a missing table) come last.
    # The sort is stable: problems at one place keep the order they were found in.
    placed = sorted(
        ((locator.find(path), message) for path, message in found),
        key=lambda item: (item[0] is None, item[0] or 0),
    )
    problems = []
    for offset, message in placed[:MAX_PROBLEMS]:
        line, col = (None, None) if offset is None else locator.position(offset)
        problems.append(Problem(file, line, col, message))
    if len(placed) > MAX_PROBLEMS:
        rest = len(placed) - MAX_PROBLEMS
        problems.append(Problem(file, None, None, f"{rest} more problems not shown"))
    return problems


class _StopScan(Exception):
    """The scanner met text it does not understand; keep what it found so far."""


# Possessive repetitions (*+, ++) throughout: Python's regex engine otherwise keeps a
# backtracking frame per repetition, about 150 bytes a character of a long string.
_WS = re.compile(r"[ \t]*+")
_BLANK = re.compile(r"(?:[ \t\r\n]++|#[^\n]*+)*+")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]++")
_BASIC = re.compile(r'"[^"\\\n]*+(?:\\.[^"\\\n]*+)*+"')
_LITERAL = re.compile(r"'[^'\n]*+'")
_ML_BASIC = re.compile(r'"""[^"\\]*+(?:(?:\\.|"(?!""))[^"\\]*+)*+"""(?:""?)?', re.S)
_ML_LITERAL = re.compile(r"'''[^']*+(?:'(?!'')[^']*+)*+'''(?:''?)?", re.S)
_SCALAR = re.compile(r"[^,\]}\n#]++")


class _Locator:
    """Finds where each key of a TOML text sits (tomllib and tomlkit do not say).

    A small scanner over text tomllib has already accepted: table headers, arrays of
    tables, dotted and quoted keys, inline tables and arrays. ``keys`` maps each key path
    (``("exercise", 1, "breathing", "inhale")``; array items by index) to the offset of
    the key itself, or of the ``[`` of its table header.
    """

    def __init__(
        self, text: str, wanted: set[Path] | None = None, *, duplicates: bool = True
    ) -> None:
        self.text = text
        # Only these paths are recorded in ``keys`` (None: all): a file of 200,000 keys
        # with three problems needs three positions, not a dict of every key. Likewise
        # every defined key is kept in ``defined`` only when looking for a duplicate.
        self.wanted = wanted
        self.duplicates = duplicates
        self.keys: dict[Path, int] = {}
        self.defined: dict[Path, int] = {}
        self.duplicate: tuple[Path, int, int] | None = None
        self.arrays: dict[Path, int] = {}  # array-of-tables path -> index of its last table
        self._line = 1  # the line of offset _line_at, for position()
        self._line_at = 0

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of ``offset``.

        Cheapest when asked in increasing order of offset, as _locate_problems does: the
        lines are counted on from the last answer, one pass over the text in all.
        """
        if offset < self._line_at:
            self._line, self._line_at = 1, 0
        self._line += self.text.count("\n", self._line_at, offset)
        self._line_at = offset
        return self._line, offset - (self.text.rfind("\n", 0, offset) + 1) + 1

    def find(self, path: Path | None) -> int | None:
        """Offset of ``path``, or of its nearest located parent (a missing key's table)."""
        if path is None:
            return None
        while path:
            if path in self.keys:
                return self.keys[path]
            path = path[:-1]
        return None

    def _note(self, path: Path, offset: int, *, header: bool = False) -> None:
        """Record where ``path`` is: its first mention, or its table header."""
        if self.wanted is None or path in self.wanted:
            if header:
                self.keys[path] = offset
            else:
                self.keys.setdefault(path, offset)

    def scan(self) -> None:
        """Fill ``keys``; stops quietly at anything it cannot read (positions are a help)."""
        with contextlib.suppress(_StopScan, IndexError, RecursionError):
            self._document()

    def _define(self, path: Path, offset: int) -> None:
        if not self.duplicates:
            return
        if path in self.defined and self.duplicate is None:
            self.duplicate = (path, offset, self.defined[path])
        self.defined.setdefault(path, offset)

    def _document(self) -> None:
        text, i = self.text, 0
        table: Path = ()
        while True:
            i = _BLANK.match(text, i).end()  # type: ignore[union-attr]
            if i >= len(text):
                return
            start = i
            if text.startswith("[[", i):
                parts, i = self._key(i + 2)
                i = self._expect(i, "]]")
                array = (*self._resolve(parts[:-1]), parts[-1][0])
                index = self.arrays.get(array, -1) + 1
                self.arrays[array] = index
                self._note(array, start)
                table = (*array, index)
                self._note(table, start, header=True)
            elif text[i] == "[":
                parts, i = self._key(i + 1)
                i = self._expect(i, "]")
                table = self._resolve(parts)
                self._define(table, start)
                self._note(table, start, header=True)  # not an earlier dotted mention
            else:
                i = self._keyval(i, table)

    def _resolve(self, parts: list[tuple[str, int]]) -> Path:
        """A header's names as a concrete path: arrays of tables step into their last table."""
        path: Path = ()
        for name, offset in parts:
            path = (*path, name)
            self._note(path, offset)  # a parent table made implicitly by the header
            if path in self.arrays:
                path = (*path, self.arrays[path])
        return path

    def _expect(self, i: int, token: str) -> int:
        i = _WS.match(self.text, i).end()  # type: ignore[union-attr]
        if not self.text.startswith(token, i):
            raise _StopScan
        return i + len(token)

    def _key(self, i: int) -> tuple[list[tuple[str, int]], int]:
        text, parts = self.text, []
        while True:
            i = _WS.match(text, i).end()  # type: ignore[union-attr]
            match = _BASIC.match(text, i) or _LITERAL.match(text, i) or _BARE_KEY.match(text, i)
            if match is None:
                raise _StopScan
            raw = match.group()
            if raw[0] == '"':
                name = tomllib.loads(f"k = {raw}")["k"] if "\\" in raw else raw[1:-1]
            elif raw[0] == "'":
                name = raw[1:-1]
            else:
                name = raw
            parts.append((name, i))
            i = _WS.match(text, match.end()).end()  # type: ignore[union-attr]
            if not text.startswith(".", i):
                return parts, i
            i += 1

    def _keyval(self, i: int, table: Path) -> int:
        parts, i = self._key(i)
        path = table
        for name, offset in parts:
            path = (*path, name)
            self._note(path, offset)
        self._define(path, parts[-1][1])
        i = self._expect(i, "=")
        i = _WS.match(self.text, i).end()  # type: ignore[union-attr]
        return self._value(i, path)

    def _value(self, i: int, path: Path) -> int:
        text = self.text
        char = text[i]
        if char == "{":
            i += 1
            while True:
                i = _BLANK.match(text, i).end()  # type: ignore[union-attr]
                if text[i] == "}":
                    return i + 1
                i = self._keyval(i, path)
                i = _BLANK.match(text, i).end()  # type: ignore[union-attr]
                if text[i] == ",":
                    i += 1
        if char == "[":
            i += 1
            index = 0
            while True:
                i = _BLANK.match(text, i).end()  # type: ignore[union-attr]
                if text[i] == "]":
                    return i + 1
                item = (*path, index)
                self._note(item, i)
                i = self._value(i, item)
                index += 1
                i = _BLANK.match(text, i).end()  # type: ignore[union-attr]
                if text[i] == ",":
                    i += 1
        for pattern in (_ML_BASIC, _ML_LITERAL, _BASIC, _LITERAL, _SCALAR):
            match = pattern.match(text, i)
            if match is not None and match.end() > i:
                return match.end()
        raise _StopScan
