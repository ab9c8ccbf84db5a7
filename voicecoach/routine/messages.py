"""Pieces of the routine's problem messages: keys, values and text shown safely on one line.

Everything the user wrote may be echoed in a message; none of it may reach the terminal
raw (an escape sequence, a bidi override) or split one problem into two lines.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import unicodedata
from collections.abc import Iterable
from typing import Any, Final


def quote(key: str) -> str:
    """A key in quotes, safe to print on one line."""
    if key.isprintable() and "'" not in key and len(key) <= 40:
        return f"'{key}'"
    return escape(json.dumps(key[:40] + ("..." if len(key) > 40 else ""), ensure_ascii=False))


def printable(text: str, limit: int = 40) -> str:
    """Text safe to print inside a one-line message: white space folded, control
    characters (terminal escapes among them) shown as escapes, at most ``limit`` chars."""
    return escape(" ".join(text.split())[:limit])


def escape(text: str) -> str:
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


def hidden_characters(text: str, *, fold_spaces: bool = False) -> list[int]:
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


def hidden_problem(text: str, hidden: list[int], lead: int = 0) -> str:
    """``it contains U+202E RIGHT-TO-LEFT OVERRIDE at character 7`` (and how many more).

    ``lead`` is how many characters were stripped from the front of the value as written.
    """
    first = hidden[0]
    message = f"it contains {_char_name(text[first])} at character {first + lead + 1}"
    if len(hidden) > 1:
        more = len(hidden) - 1
        message += f" (and {more} more such character{'s' if more > 1 else ''})"
    return message


def show(value: Any) -> str:
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
        return escape(json.dumps(shown, ensure_ascii=False))
    if isinstance(value, list):
        if not value:
            return "an empty list"
        if len(value) <= 6 and not any(isinstance(v, list | dict) for v in value):
            shown = "[" + ", ".join(show(v) for v in value) + "]"
            if len(shown) <= 60:
                return shown
        return f"a list of {len(value)} items"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return f"the date/time {value.isoformat()}"
    return type(value).__name__


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice that ``word`` is most likely a typo of, or None if none is close."""
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


def format_number(n: float) -> str:
    """``3`` for 3.0, ``2.5`` for 2.5: a bound as the user would write it."""
    return str(int(n)) if float(n).is_integer() else str(n)
