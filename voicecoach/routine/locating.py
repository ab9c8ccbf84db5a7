"""Where each key of a TOML text sits (FILE:LINE:COL), for the routine's problems.

tomllib gives values, not positions; this scanner reads text tomllib has already accepted
and finds the offset of a key path, or of its nearest table.
"""

from __future__ import annotations

import contextlib
import re
import tomllib

from voicecoach.errors import Problem
from voicecoach.routine.keys import KeyPath
from voicecoach.routine.limits import MAX_PROBLEMS


def locate_problems(text: str, file: str, found: list[tuple[KeyPath | None, str]]) -> list[Problem]:
    """Turn (key path, message) pairs into Problems with the key's line and column.

    Only the MAX_PROBLEMS printed get a line and column, and the locator records only the
    keys the problems name (and their tables), however many keys the file has.
    """
    wanted = {path[:n] for path, _ in found if path for n in range(1, len(path) + 1)}
    locator = Locator(text, wanted, duplicates=False)
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


class Locator:
    """Finds where each key of a TOML text sits (tomllib and tomlkit do not say).

    A small scanner over text tomllib has already accepted: table headers, arrays of
    tables, dotted and quoted keys, inline tables and arrays. ``keys`` maps each key path
    (``("exercise", 1, "breathing", "inhale")``; array items by index) to the offset of
    the key itself, or of the ``[`` of its table header.
    """

    def __init__(
        self, text: str, wanted: set[KeyPath] | None = None, *, duplicates: bool = True
    ) -> None:
        self.text = text
        # Only these paths are recorded in ``keys`` (None: all): a file of 200,000 keys
        # with three problems needs three positions, not a dict of every key. Likewise
        # every defined key is kept in ``defined`` only when looking for a duplicate.
        self.wanted = wanted
        self.duplicates = duplicates
        self.keys: dict[KeyPath, int] = {}
        self.defined: dict[KeyPath, int] = {}
        self.duplicate: tuple[KeyPath, int, int] | None = None
        self.arrays: dict[KeyPath, int] = {}  # array-of-tables path -> index of its last table
        self._line = 1  # the line of offset _line_at, for position()
        self._line_at = 0

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of ``offset``.

        Cheapest when asked in increasing order of offset, as locate_problems does: the
        lines are counted on from the last answer, one pass over the text in all.
        """
        if offset < self._line_at:
            self._line, self._line_at = 1, 0
        self._line += self.text.count("\n", self._line_at, offset)
        self._line_at = offset
        return self._line, offset - (self.text.rfind("\n", 0, offset) + 1) + 1

    def find(self, path: KeyPath | None) -> int | None:
        """Offset of ``path``, or of its nearest located parent (a missing key's table)."""
        if path is None:
            return None
        while path:
            if path in self.keys:
                return self.keys[path]
            path = path[:-1]
        return None

    def _note(self, path: KeyPath, offset: int, *, header: bool = False) -> None:
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

    def _define(self, path: KeyPath, offset: int) -> None:
        if not self.duplicates:
            return
        if path in self.defined and self.duplicate is None:
            self.duplicate = (path, offset, self.defined[path])
        self.defined.setdefault(path, offset)

    def _document(self) -> None:
        text, i = self.text, 0
        table: KeyPath = ()
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

    def _resolve(self, parts: list[tuple[str, int]]) -> KeyPath:
        """A header's names as a concrete path: arrays of tables step into their last table."""
        path: KeyPath = ()
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

    def _keyval(self, i: int, table: KeyPath) -> int:
        parts, i = self._key(i)
        path = table
        for name, offset in parts:
            path = (*path, name)
            self._note(path, offset)
        self._define(path, parts[-1][1])
        i = self._expect(i, "=")
        i = _WS.match(self.text, i).end()  # type: ignore[union-attr]
        return self._value(i, path)

    def _value(self, i: int, path: KeyPath) -> int:
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
