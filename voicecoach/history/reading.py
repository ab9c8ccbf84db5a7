"""Reading the history into a `Snapshot`: each row checked, damaged rows skipped and counted.

A pain stop is kept with whatever can be read of it, even without its session, because
a pain stop always counts. Only a missing table, or a missing column that ties rows
together, fails the read.
"""

from __future__ import annotations

from typing import Any, cast

from voicecoach.adapt import exercise_key
from voicecoach.history.rows import (
    KINDS,
    SessionRow,
    Snapshot,
    StopRow,
    WorkRow,
    read_int,
    read_real,
    read_text,
    read_time,
    read_written,
)
from voicecoach.history.schema import COLUMNS, STRUCTURE
from voicecoach.history.store import HistoryError, Store
from voicecoach.outcome import Outcome


class Damage:
    """What reads so far had to skip or do without: damaged rows, missing columns."""

    def __init__(self) -> None:
        self.rows: set[tuple[str, int]] = set()
        self.missing: set[str] = set()

    def mark(self, table: str, row: Any) -> None:
        """Count ``row`` (a rowid, or anything when it is unreadable) of ``table`` as damaged."""
        self.rows.add((table, row if isinstance(row, int) else -1))

    def describe(self) -> str:
        """The damage in a few words ("" when nothing)."""
        parts = []
        if self.rows:
            per_table: dict[str, int] = {}
            for table, _ in self.rows:
                per_table[table] = per_table.get(table, 0) + 1
            where = ", ".join(f"{n} in {t}" for t, n in sorted(per_table.items()))
            count = len(self.rows)
            parts.append(
                f"{count} damaged row{'' if count == 1 else 's'} ({where}) skipped or read in part"
            )
        if self.missing:
            names = ", ".join(sorted(self.missing))
            parts.append(f"missing column{'' if len(self.missing) == 1 else 's'} {names}")
        return "; ".join(parts)


def read_snapshot(
    store: Store, damage: Damage, routine_path: str | None, *, work: bool = True
) -> Snapshot:
    """Read sessions (of one routine, or all), their work and pain stops, checking each row.

    Raises `HistoryError` when the file cannot be read or a table or a column that ties
    rows together is missing; damaged rows are skipped and counted in ``damage`` instead.
    """
    present = {table: store.columns(table) for table in STRUCTURE}
    for table, needed in STRUCTURE.items():
        if not present[table]:
            raise HistoryError(store.path, "read", f"its table {table} is missing")
        for column in needed:
            if column not in present[table]:
                raise HistoryError(store.path, "read", f"the column {table}.{column} is missing")
    for table, columns in COLUMNS.items():
        damage.missing.update(f"{table}.{c}" for c in columns if c not in present[table])
    where, params = "", cast(tuple[str, ...], ())
    if routine_path is not None:
        where, params = "WHERE routine_path = ?", (routine_path,)
    snap = Snapshot()
    for r in store.rows(f"SELECT rowid AS _row, * FROM sessions {where}", params):
        _session_row(r, snap, damage)
    for table in ("work", "pain_stops") if work else ("pain_stops",):
        inside = f"WHERE session_id IN (SELECT id FROM sessions {where})" if where else ""
        for r in store.rows(
            f"SELECT rowid AS _row, * FROM {table} {inside} ORDER BY rowid", params
        ):
            if table == "work":
                _work_row(r, snap, damage)
            else:
                _stop_row(r, snap, damage)
    if where:
        # Read for one routine: a pain stop of no session may still be this routine's.
        for r in store.rows(
            """SELECT rowid AS _row, * FROM pain_stops WHERE session_id IS NULL
                   OR session_id NOT IN (SELECT id FROM sessions) ORDER BY rowid"""
        ):
            _stop_row(r, snap, damage)
    return snap


def _session_row(r: dict[str, Any], snap: Snapshot, damage: Damage) -> None:
    sid = read_int(r.get("id"))
    if sid is None:
        damage.mark("sessions", r.get("_row"))
        return
    written, bad_written = read_written(r.get("written"))
    ended = r.get("ended_at")
    s = SessionRow(
        sid,
        read_text(r.get("routine_path")),
        read_text(r.get("routine_title")),
        read_time(r.get("started_at")),
        read_time(ended),
        Outcome.read(r.get("outcome")),
        read_int(r.get("pid")),
        written,
    )
    if (
        bad_written
        or s.routine_path is None
        or s.title is None
        or s.started_at is None
        or s.outcome is None
        or (ended is not None and s.ended_at is None)
        or (r.get("pid") is not None and s.pid is None)
    ):
        damage.mark("sessions", sid)
    snap.sessions[sid] = s


def _work_row(r: dict[str, Any], snap: Snapshot, damage: Damage) -> None:
    sid = read_int(r.get("session_id"))
    name = read_text(r.get("exercise_name"))
    kind, set_no, rep = r.get("kind"), read_int(r.get("set")), r.get("rep")
    side, seconds = r.get("side"), read_real(r.get("seconds"))
    completed = read_int(r.get("completed"))
    if sid is None or sid not in snap.sessions:
        damage.mark("work", r.get("_row"))  # no session to belong to
        return
    if (
        name is None
        or kind not in KINDS
        or set_no is None
        or set_no < 1
        or (rep is not None and (read_int(rep) is None or rep < 1))
        or (side is not None and not isinstance(side, str))
        or seconds is None
        or seconds < 0
        or completed not in (0, 1)
    ):
        damage.mark("work", r.get("_row"))
        if name is None:
            snap.broken_sessions.add(sid)
        else:
            snap.broken_pairs.add((exercise_key(name), sid))
        return
    snap.work.append(
        WorkRow(sid, name, kind, set_no, rep, side, seconds, completed == 1, read_time(r.get("at")))
    )


def _stop_row(r: dict[str, Any], snap: Snapshot, damage: Damage) -> None:
    # A pain stop counts with whatever can be read of it, even without its session.
    sid = read_int(r.get("session_id"))
    orphan = sid is None or sid not in snap.sessions
    if sid is None or orphan:
        damage.mark("pain_stops", r.get("_row"))
        # A session id of its own that no real session has (real ones are positive).
        row = r.get("_row")
        sid = -row if isinstance(row, int) and row > 0 else -len(snap.orphan_stops) - 1
    raw = {
        k: r.get(k)
        for k in (
            "exercise_name",
            "set",
            "rep",
            "side",
            "seconds_into_work",
            "rating",
            "recorded_at",
        )
    }
    set_no, rep = read_int(raw["set"]), read_int(raw["rep"])
    seconds, rating = read_real(raw["seconds_into_work"]), read_int(raw["rating"])
    stop = StopRow(
        sid,
        read_text(raw["exercise_name"]),
        set_no if set_no is not None and set_no >= 1 else None,
        rep if rep is not None and rep >= 1 else None,
        read_text(raw["side"]),
        seconds if seconds is not None and seconds >= 0 else None,
        rating if rating is not None and 0 <= rating <= 10 else None,
        read_time(raw["recorded_at"]),
    )
    read = (stop.name, stop.set, stop.rep, stop.side, stop.seconds, stop.rating, stop.recorded_at)
    if any(v is None and raw[k] is not None for k, v in zip(raw, read, strict=True)):
        damage.mark("pain_stops", r.get("_row"))
    (snap.orphan_stops if orphan else snap.stops).append(stop)
