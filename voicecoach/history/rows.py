"""Values and rows as read from a history file that may be damaged: every value checked.

SQLite gives back whatever was stored: after damage (a disk error, a hand edit, a sync
tool), text or a real in an int column, a blob anywhere. Each ``read_*`` function returns
the value when it is what the column should hold, and None when it is not.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from voicecoach.adapt import Dose
from voicecoach.outcome import Outcome

KINDS = frozenset({"hold", "reps", "timed"})
# A session whose start time is unreadable but which holds a pain stop is placed after
# everything else: the pain stop must still count, and counting it last is the safe side.
LAST = datetime(9999, 12, 31, tzinfo=UTC)


@dataclass(slots=True)
class SessionRow:
    """A ``sessions`` row as read: None where the stored value is unreadable."""

    id: int
    routine_path: str | None
    title: str | None
    started_at: datetime | None
    ended_at: datetime | None
    outcome: Outcome | None  # None: not a known outcome
    pid: int | None
    written: dict[str, Dose]


@dataclass(frozen=True, slots=True)
class WorkRow:
    """A readable ``work`` row: one bout (rows with an unreadable value are skipped)."""

    session_id: int
    name: str
    kind: str
    set: int
    rep: int | None
    side: str | None
    seconds: float
    completed: bool
    at: datetime | None


@dataclass(frozen=True, slots=True)
class StopRow:
    """A ``pain_stops`` row as read: None where the stored value is unreadable."""

    session_id: int
    name: str | None
    set: int | None
    rep: int | None
    side: str | None
    seconds: float | None
    rating: int | None
    recorded_at: datetime | None


@dataclass(slots=True)
class Snapshot:
    """What one read found: sessions by id, their work and pain stops, and what was damaged."""

    sessions: dict[int, SessionRow] = field(default_factory=dict)
    work: list[WorkRow] = field(default_factory=list)
    stops: list[StopRow] = field(default_factory=list)
    # A work row of these sessions (or of this exercise in this session) was unreadable:
    # what they did cannot be checked, so nothing there counts as completed.
    broken_sessions: set[int] = field(default_factory=set)
    broken_pairs: set[tuple[str, int]] = field(default_factory=set)
    # Pain stops whose session is gone or unreadable: which routine they belong to is
    # unknown, so they count for every routine with an exercise of that name.
    orphan_stops: list[StopRow] = field(default_factory=list)

    def placed(self, s: SessionRow) -> datetime | None:
        """When a session happened, for ordering; a damaged start time is replaced if it can be.

        A session with a pain stop is always placed (last of all, if nothing else tells
        when), so that the stop still counts; any other session without a time is left out.
        """
        if s.started_at is not None:
            return s.started_at
        stops = [p for p in self.stops if p.session_id == s.id]
        times = [p.recorded_at for p in stops if p.recorded_at is not None]
        if s.ended_at is not None:
            times.append(s.ended_at)
        times += [w.at for w in self.work if w.session_id == s.id and w.at is not None]
        if times:
            return min(times)
        return LAST if stops else None


def seen_outcome(outcome: Outcome | None, pid: int | None) -> Outcome | None:
    """How a session stored with ``outcome`` by process ``pid`` ended, as of now."""
    # A 'running' session whose process is gone crashed (killed, power cut).
    if outcome is Outcome.RUNNING and not pid_alive(pid):
        return Outcome.CRASHED
    return outcome


def pid_alive(pid: int | None) -> bool:
    """Whether a process ``pid`` exists (a stored pid may be damaged: then it does not)."""
    if pid is None or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except (OverflowError, OSError):
        return False  # not a pid this system could have (a damaged row)
    return True


def read_int(value: Any) -> int | None:
    # SQLite gives back whatever was stored: after damage, text or a real in an int column.
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def read_real(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def read_text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def read_time(value: Any) -> datetime | None:
    """A stored ISO time as an aware datetime (naive means UTC), or None if unreadable."""
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    if not 1900 <= at.year <= 9998:
        return None  # shown in local time later: the ends of the range would overflow
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def read_dose(value: Any) -> Dose | None:
    """One stored dose, ``[kind, reps, hold, duration]``, or None when it has another shape."""
    if not isinstance(value, list) or len(value) != 4:
        return None
    kind, reps, hold, duration = value
    if kind not in KINDS or not isinstance(reps, list) or not reps:
        return None
    counts = [read_int(r) for r in reps]
    if any(c is None or c < 1 for c in counts):
        return None
    seconds: list[float | None] = []
    for x in (hold, duration):
        if x is None:
            seconds.append(None)
            continue
        number = read_real(x)
        if number is None or number <= 0:
            return None
        seconds.append(number)
    return Dose(kind, tuple(c for c in counts if c is not None), seconds[0], seconds[1])


def read_written(text: Any) -> tuple[dict[str, Dose], bool]:
    """The file's doses stored with a session, and whether any of it was unreadable.

    None for sessions before migration 3. A damaged entry is left out: that session then
    tells nothing about hand edits of that exercise, as for sessions before migration 3.
    """
    if text is None or text == "":
        return {}, False
    if not isinstance(text, str):
        return {}, True
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return {}, True
    if not isinstance(data, dict):
        return {}, True
    doses: dict[str, Dose] = {}
    damaged = False
    for key, value in data.items():
        dose = read_dose(value)
        if dose is None:
            damaged = True
        else:
            doses[key] = dose
    return doses, damaged
