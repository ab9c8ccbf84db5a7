"""The exceptions the library raises; the CLI turns each into a message and an exit status."""

from __future__ import annotations

from dataclasses import dataclass


class VoicecoachError(Exception):
    """A problem the user can fix; its message is complete and printed as is (exit status 1)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One located problem in a routine file.

    ``line`` and ``col`` are 1-based; ``None`` where they do not apply.
    """

    file: str
    line: int | None
    col: int | None
    message: str

    def format(self) -> str:
        """Render as ``FILE:LINE:COL: error: MESSAGE`` (dropping what is unknown)."""
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.col is not None:
                where += f":{self.col}"
        return f"{where}: error: {self.message}"


class RoutineError(VoicecoachError):
    """A routine file has one or more problems; all of them are reported at once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(p.format() for p in self.problems))
