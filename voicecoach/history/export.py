"""Export of the whole history: JSON-ready data (``history --json``) and one CSV table.

Values are exported as stored, so a damaged value shows as it is (a blob as hex, a
non-finite number as null); rows that belong to no session are left out.
"""

from __future__ import annotations

import csv
import math
from datetime import datetime
from typing import Any, TextIO

from voicecoach.history.reading import Damage
from voicecoach.history.rows import LAST, read_int, read_time, seen_outcome
from voicecoach.history.schema import SCHEMA_VERSION
from voicecoach.history.store import HistoryError, Store
from voicecoach.outcome import Outcome

_SESSION_FIELDS = (
    "id",
    "routine_path",
    "routine_title",
    "timeline_hash",
    "started_at",
    "ended_at",
    "outcome",
)
_WORK_FIELDS = (
    "exercise_index",
    "exercise_name",
    "kind",
    "set",
    "rep",
    "side",
    "seconds",
    "completed",
    "at",
)
_STOP_FIELDS = (
    "id",
    "exercise_index",
    "exercise_name",
    "set",
    "rep",
    "side",
    "seconds_into_work",
    "rating",
    "recorded_at",
)
_NOTE_FIELDS = ("id", "at", "rating", "text", "exercise_name")
CSV_FIELDS = (
    "record",
    "session_id",
    "session_routine_path",
    "session_routine_title",
    "session_timeline_hash",
    "session_started_at",
    "session_ended_at",
    "session_outcome",
    "id",
    "at",
    "exercise_index",
    "exercise_name",
    "kind",
    "set",
    "rep",
    "side",
    "seconds",
    "completed",
    "seconds_into_work",
    "rating",
    "text",
)


def history_data(store: Store, damage: Damage) -> dict[str, Any]:
    """Everything in the history as plain JSON-ready data; missing tables go to ``damage``."""
    present = {t: store.columns(t) for t in ("sessions", "work", "pain_stops", "pain_notes")}
    if not present["sessions"]:
        raise HistoryError(store.path, "read", "its table sessions is missing")

    def rows(table: str) -> list[dict[str, Any]]:
        if not present[table]:
            damage.missing.add(f"{table} (table)")
            return []
        return store.rows(f"SELECT rowid AS _row, * FROM {table} ORDER BY rowid")

    def when(row: dict[str, Any], column: str) -> tuple[bool, datetime, int]:
        at = read_time(row.get(column))
        return (at is None, at or LAST, row["_row"])

    sessions = sorted(rows("sessions"), key=lambda r: when(r, "started_at"))
    by_work: dict[Any, list[dict[str, Any]]] = {}
    for w in rows("work"):
        item = {k: _plain(w.get(k)) for k in _WORK_FIELDS}
        if item["completed"] in (0, 1):
            item["completed"] = bool(item["completed"])
        by_work.setdefault(w.get("session_id"), []).append(item)
    by_stop: dict[Any, list[dict[str, Any]]] = {}
    for p in rows("pain_stops"):
        by_stop.setdefault(p.get("session_id"), []).append(
            {k: _plain(p.get(k)) for k in _STOP_FIELDS}
        )
    notes = sorted(rows("pain_notes"), key=lambda r: when(r, "at"))
    out = []
    for s in sessions:
        item = {k: _plain(s.get(k)) for k in _SESSION_FIELDS}
        outcome = Outcome.read(s.get("outcome"))
        if outcome is not None:
            seen = seen_outcome(outcome, read_int(s.get("pid")))
            item["outcome"] = None if seen is None else seen.value
        sid = s.get("id")
        key = sid if isinstance(sid, int | str | float) else None
        item["work"] = by_work.get(key, []) if key is not None else []
        item["pain_stops"] = by_stop.get(key, []) if key is not None else []
        out.append(item)
    return {
        "schema": SCHEMA_VERSION,
        "sessions": out,
        "pain_notes": [{k: _plain(n.get(k)) for k in _NOTE_FIELDS} for n in notes],
    }


def write_csv(store: Store, damage: Damage, out: TextIO) -> None:
    """Everything as one CSV table (`CSV_FIELDS`) written to ``out``.

    One row per session, work bout, pain stop and pain note; the ``record`` column says
    which, and session columns repeat on the rows of that session.
    """
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    data = history_data(store, damage)
    for s in data["sessions"]:
        base = {f"session_{k}" if k != "id" else "session_id": s[k] for k in _SESSION_FIELDS}
        writer.writerow(_csv_row({"record": "session", **base}))
        for w in s["work"]:
            writer.writerow(_csv_row({"record": "work", **base, **w}))
        for p in s["pain_stops"]:
            writer.writerow(_csv_row({"record": "pain_stop", **base, **p, "at": p["recorded_at"]}))
    for n in data["pain_notes"]:
        writer.writerow(_csv_row({"record": "pain_note", **n}))


def _plain(value: Any) -> Any:
    """A stored value as JSON-ready data (a damaged file may hold blobs or NaN anywhere)."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _csv_row(values: dict[str, Any]) -> dict[str, Any]:
    return {k: ("" if values.get(k) is None else values[k]) for k in CSV_FIELDS}
