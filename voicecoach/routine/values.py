"""Checks of single values (a number in a range, a choice, a text...) that record problems.

``ValueChecker`` collects (key path, message) pairs; each check returns the valid value,
or ``INVALID`` once its problem is recorded. checking.py walks a routine with it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Final

from voicecoach.routine import messages
from voicecoach.routine.keys import KeyPath, KeySpec
from voicecoach.routine.limits import MAX_SUGGESTIONS
from voicecoach.routine.messages import (
    format_number,
    hidden_characters,
    hidden_problem,
    quote,
    show,
)


class Invalid:
    """Marker for a value that failed validation (its problem is already recorded)."""


INVALID: Final = Invalid()


def is_number(value: Any) -> bool:
    """An int or a float, not a bool (which Python counts as an int)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_whole(value: Any) -> bool:
    """An int, not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


class ValueChecker:
    """Records every problem with its key path; checks one value at a time."""

    def __init__(self) -> None:
        self.problems: list[tuple[KeyPath | None, str]] = []
        self.suggestions_left = MAX_SUGGESTIONS

    def problem(self, path: KeyPath | None, message: str) -> None:
        self.problems.append((path, message))

    def suggest(self, word: str, choices: Iterable[str]) -> str | None:
        """``messages.closest``, until MAX_SUGGESTIONS have been worked out; then ``None``.

        Past that many unknown words the problems are beyond the printed ones, and a file
        of 480,000 unknown keys must not cost a difflib run for each.
        """
        if self.suggestions_left <= 0:
            return None
        self.suggestions_left -= 1
        return messages.closest(word, choices)

    # -- generic value checks; each returns the value or INVALID (problem recorded)

    def number(
        self,
        value: Any,
        path: KeyPath,
        key: str,
        where: str,
        lo: float,
        hi: float,
        *,
        unit: str = "seconds",
        whole: bool = False,
        or_zero: bool = False,
    ) -> float | Invalid:
        """A finite number within [lo, hi] (or 0, when ``or_zero``); ints only when ``whole``.

        -0.0 comes back as 0.0, so it never shows as "-0" in a timeline or a message.
        """
        ok_type = is_whole(value) if whole else is_number(value)
        ok = ok_type and (lo <= value <= hi or (or_zero and value == 0))
        if ok and isinstance(value, float):
            ok = math.isfinite(value)
        if ok:
            return int(value) if whole else float(value) + 0.0
        noun = f"a whole number of {unit}" if whole else f"a number of {unit}"
        if unit == "":
            noun = "a whole number" if whole else "a number"
        span = f"from {format_number(lo)} to {format_number(hi)}"
        if or_zero:
            noun = f"0 (none) or {noun}"
        self.problem(path, f"{quote(key)} in {where} must be {noun} {span}, found {show(value)}")
        return INVALID

    def choice(
        self, value: Any, path: KeyPath, key: str, where: str, choices: Iterable[str]
    ) -> str | Invalid:
        options = tuple(choices)
        if isinstance(value, str) and value in options:
            return value
        listed = ", ".join(f'"{c}"' for c in options)
        message = f"{quote(key)} in {where} must be one of {listed}, found {show(value)}"
        if isinstance(value, str):
            close = self.suggest(value, options)
            if close:
                message += f'; did you mean "{close}"?'
        self.problem(path, message)
        return INVALID

    def text(
        self, value: Any, path: KeyPath, key: str, where: str, max_chars: int, *, one_line: bool
    ) -> str | Invalid:
        if isinstance(value, str):
            stripped = value.strip()
            if not stripped:
                self.problem(path, f"{quote(key)} in {where} must not be empty")
            elif len(stripped) > max_chars:
                self.problem(
                    path,
                    f"{quote(key)} in {where} must be at most {max_chars} characters, "
                    f"found {len(stripped)}",
                )
            elif one_line and (hidden := hidden_characters(stripped)):
                lead = len(value) - len(value.lstrip())  # count characters as written
                self.problem(
                    path,
                    f"{quote(key)} in {where} must be one line of plain text; "
                    f"{hidden_problem(stripped, hidden, lead)}",
                )
            else:
                return stripped
            return INVALID
        self.problem(path, f"{quote(key)} in {where} must be text in quotes, found {show(value)}")
        return INVALID

    def boolean(self, value: Any, path: KeyPath, key: str, where: str) -> bool | Invalid:
        if isinstance(value, bool):
            return value
        self.problem(path, f"{quote(key)} in {where} must be true or false, found {show(value)}")
        return INVALID

    def table(self, value: Any, path: KeyPath, key: str, where: str, example: str) -> bool:
        if isinstance(value, dict):
            return True
        self.problem(
            path, f"{quote(key)} in {where} must be a table like {example}, found {show(value)}"
        )
        return False

    def unknown_keys(
        self,
        table: dict[str, Any],
        path: KeyPath,
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
            message = f"unknown key {quote(key)} in {where}"
            close = self.suggest(key, allowed)
            if close:
                message += f"; did you mean {quote(close)}?"
                suggested.add(close)
            elif hints and key.lower() in hints:
                message += f"; {hints[key.lower()]}"
            self.problem((*path, key), message)
        return suggested

    def setting(
        self, spec: KeySpec, value: Any, path: KeyPath, where: str, key: str | None = None
    ) -> Any:
        """``value`` checked as ``spec`` says: a number, an integer, a boolean or a choice.

        ``key`` is how messages name it (``"voice.rate"``); default the spec's name.
        Returns the value (ints for integers, floats for numbers) or INVALID.
        """
        key = key or spec.name
        if spec.type in ("number", "integer"):
            if spec.minimum is None or spec.maximum is None:
                raise ValueError(f"{spec.name!r} has no range to check; check it by hand")
            return self.number(
                value,
                path,
                key,
                where,
                spec.minimum,
                spec.maximum,
                unit=spec.unit,
                whole=spec.type == "integer",
                or_zero=spec.zero_is_none,
            )
        if spec.type == "boolean":
            return self.boolean(value, path, key, where)
        if spec.type == "choice":
            return self.choice(value, path, key, where, spec.choices)
        raise ValueError(f"{spec.name!r} is a {spec.type} key; check it by hand")
