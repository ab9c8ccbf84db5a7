"""The two ways in: ``load_routine`` (a file) and ``parse_routine`` (text)."""

from __future__ import annotations

import os

from voicecoach.errors import Problem, RoutineError
from voicecoach.model import Routine
from voicecoach.routine.checking import Checker
from voicecoach.routine.locating import locate_problems
from voicecoach.routine.reading import parse_toml, read_file


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
    file, text = read_file(path, display_name)
    return parse_routine(text, file)


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
    data = parse_toml(text, file)
    checker = Checker()
    try:
        routine = checker.routine(data)
    except RecursionError:  # only absurdly nested values get here; keep the promise anyway
        checker.problem(None, "the TOML nests too deeply to be a routine")
        routine = None
    if checker.problems or routine is None:
        raise RoutineError(locate_problems(text, file, checker.problems))
    return routine
