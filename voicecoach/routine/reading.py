"""Reading a routine file: bytes to text (UTF-8 only, regular files only) and text to TOML.

Every refusal is a RoutineError with one located Problem: a missing or special file, a
foreign encoding, binary data, text bigger or deeper than any routine (checked before
tomllib spends seconds on it), or a TOML syntax error in plain words.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tomllib
from typing import Any, Final

from voicecoach.errors import Problem, RoutineError
from voicecoach.files import NotAFile, open_regular
from voicecoach.routine.keys import KeyPath
from voicecoach.routine.limits import (
    MAX_FILE_BYTES,
    MAX_KEY_PARTS,
    MAX_LINES,
    MAX_NESTING,
    MAX_NOTES_CHARS,
    MAX_TOKENS,
    MAX_VALUE_CHARS,
)
from voicecoach.routine.locating import Locator
from voicecoach.routine.messages import escape, quote

# What stat says a path is, for the files that are not regular files (refused before
# opening by `files.open_regular`: reading a FIFO or a terminal blocks).
_NOT_FILES: Final = (
    (stat.S_ISDIR, "is a directory, not a routine file"),
    (
        stat.S_ISFIFO,
        "is a named pipe (FIFO), not a routine file; save the routine in a file and give its path",
    ),
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
    return escape(name) if name else "''"


def read_file(path: str | os.PathLike[str], display_name: str | None) -> tuple[str, str]:
    """The name problems give the file, and the file's text (or RoutineError)."""
    file = _file_label(path, display_name)
    if display_name == "" or os.fspath(path) == "":
        # `voicecoach validate ''`: KeyPath("") is ".", which would read as "is a directory".
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
        raise fail(
            next(
                (message for test, message in _NOT_FILES if test(exc.mode)),
                "is not a regular file, not a routine file",
            )
        ) from None
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


def parse_toml(text: str, file: str) -> dict[str, Any]:
    """tomllib's parse, with its errors turned into one located Problem.

    The text's shape is checked first (``check_shape``), so tomllib never works on more
    than a routine could need.
    """
    check_shape(text, file)
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


# One token of TOML for check_shape: a run of line ends with the blank and comment lines
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


def check_shape(text: str, file: str) -> None:
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
    locator = Locator(text, wanted=set(), duplicates=True)  # the duplicate is all it needs
    locator.scan()
    if locator.duplicate is None:
        return None
    path, offset, first = locator.duplicate
    line, col = locator.position(offset)
    first_line, _ = locator.position(first)
    what = _describe_path(path)
    return Problem(file, line, col, f"{what} appears twice; it is first set on line {first_line}")


def _describe_path(path: KeyPath) -> str:
    """Human words for a key path: ``'hold' in exercise 2``, ``[routine]``."""
    if len(path) >= 2 and path[0] == "exercise" and isinstance(path[1], int):
        inner = ".".join(str(p) for p in path[2:])
        where = f"exercise {path[1] + 1}"
        return f"{quote(inner)} in {where}" if inner else where
    if len(path) == 1:
        return f"[{path[0]}]" if path[0] in ("routine", "defaults") else quote(str(path[0]))
    if len(path) >= 2 and path[0] in ("routine", "defaults"):
        return f"{quote('.'.join(str(p) for p in path[1:]))} in [{path[0]}]"
    return quote(".".join(str(p) for p in path))
