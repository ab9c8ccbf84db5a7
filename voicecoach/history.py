"""The session history: a local SQLite health record of sessions, work done and pain reports.

Nothing here leaves the machine. The file is created owner-only (0600) before anything
is written, runs in WAL mode with ``synchronous=FULL`` so that a committed pain stop
survives a SIGKILL or a power cut as far as SQLite can promise, and its schema grows
through numbered migrations recorded in ``PRAGMA user_version``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TextIO

import platformdirs

from voicecoach.adapt import Dose, ExerciseSession, PainPoint, exercise_key
from voicecoach.errors import VoicecoachError
from voicecoach.timeline import Timeline

DATA_DIR_ENV = "VOICECOACH_DATA_DIR"
DB_NAME = "history.sqlite3"
BUSY_TIMEOUT_MS = 5000

Outcome = Literal["completed", "quit", "stop_pain", "device_lost", "crashed", "running"]
OUTCOMES: tuple[Outcome, ...] = ("completed", "quit", "stop_pain", "device_lost", "crashed",
                                 "running")
# Outcomes a player may end a session with.
END_OUTCOMES = frozenset({"completed", "quit", "stop_pain", "device_lost", "crashed"})

# Numbered migrations, applied in order; migration N brings the schema to user_version N.
# Never edit one that has shipped: add the next.
MIGRATIONS: tuple[str, ...] = (
    # 1: sessions, the work done in them, and pain stops.
    """
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        routine_path TEXT NOT NULL,
        routine_title TEXT NOT NULL,
        timeline_hash TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        outcome TEXT NOT NULL DEFAULT 'running'
            CHECK (outcome IN ('completed', 'quit', 'stop_pain', 'device_lost', 'crashed',
                               'running'))
    );
    CREATE TABLE work (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        exercise_index INTEGER NOT NULL,
        exercise_name TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('hold', 'reps', 'timed')),
        "set" INTEGER NOT NULL,
        rep INTEGER,
        side TEXT,
        seconds REAL NOT NULL,
        completed INTEGER NOT NULL CHECK (completed IN (0, 1)),
        at TEXT NOT NULL
    );
    CREATE TABLE pain_stops (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        exercise_index INTEGER,
        exercise_name TEXT,
        "set" INTEGER,
        rep INTEGER,
        side TEXT,
        seconds_into_work REAL,
        rating INTEGER CHECK (rating IS NULL OR rating BETWEEN 0 AND 10),
        recorded_at TEXT NOT NULL
    );
    """,
    # 2: free pain notes ("my back feels like a 3 today"), the owning process of a running
    # session (to tell a crashed session from one still playing), and lookup indexes.
    """
    CREATE TABLE pain_notes (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        rating INTEGER NOT NULL CHECK (rating BETWEEN 0 AND 10),
        text TEXT,
        exercise_name TEXT
    );
    ALTER TABLE sessions ADD COLUMN pid INTEGER;
    CREATE INDEX sessions_by_routine ON sessions (routine_path, started_at);
    CREATE INDEX work_by_session ON work (session_id, exercise_index);
    CREATE INDEX pain_stops_by_session ON pain_stops (session_id);
    """,
    # 3: the doses the routine file prescribed when the session was played, so that a
    # later hand edit of the file is noticed and respected rather than overridden.
    """
    ALTER TABLE sessions ADD COLUMN written TEXT;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """One row of ``voicecoach history``: when, what, how long (minutes), how it ended, pain."""

    id: int
    started_at: datetime
    routine_path: str
    routine_title: str
    minutes: float | None
    outcome: Outcome
    pain_stops: int
    max_pain: int | None


@dataclass(frozen=True, slots=True)
class ExerciseSessionStats:
    """One exercise in one session, for ``voicecoach history EXERCISE``.

    ``completed_reps`` counts finished work bouts (each side counts); ``best_set_reps``
    is the most finished reps in one set and side; seconds are per bout or summed.
    """

    session_id: int
    started_at: datetime
    routine_path: str
    outcome: Outcome
    kind: str
    completed_sets: int
    completed_reps: int
    best_set_reps: int
    max_hold_seconds: float
    total_seconds: float
    pain_stop: bool
    pain_at_seconds: float | None
    pain_rep: int | None
    pain_rating: int | None


def default_data_dir() -> Path:
    """Where the history lives: ``$VOICECOACH_DATA_DIR``, else the platform's user data dir."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("voicecoach", appauthor=False))


def timeline_hash(timeline: Timeline) -> str:
    """sha256 (hex) of the timeline's canonical JSON: which exact session was played."""
    text = json.dumps(timeline.to_json_dict(), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def routine_key(path: str | os.PathLike[str]) -> str:
    """The stored identity of a routine: its resolved absolute path."""
    return str(Path(path).expanduser().resolve())


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(at: datetime | None) -> str:
    # Naive datetimes are taken as local time; everything is stored in UTC.
    return (at or _now()).astimezone(UTC).isoformat()


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _pid_alive(pid: int | None) -> bool:
    if pid is None or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _check_rating(rating: int | None, *, allow_none: bool) -> None:
    if rating is None and allow_none:
        return
    if not isinstance(rating, int) or isinstance(rating, bool) or not 0 <= rating <= 10:
        raise VoicecoachError(f"a pain rating is a whole number from 0 to 10, not {rating!r}")


def _create_private(path: Path) -> None:
    """Create the database file owner-only before SQLite writes a byte to it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)


class History:
    """The history database; owns its connection. Use `History.open`, close when done.

    Safe to share between the player's threads: statements are serialized by a lock,
    and each event is committed in its own transaction.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self._lock = threading.RLock()
        self.path = path

    # --- Opening and schema ---------------------------------------------------------------

    @classmethod
    def open(cls, data_dir: Path) -> History:
        """Open (creating if needed) ``data_dir/history.sqlite3`` and bring its schema up to date.

        Raises `VoicecoachError` when the directory or file cannot be created or read, or
        when the file is from a newer voicecoach.
        """
        path = Path(data_dir) / DB_NAME
        try:
            Path(data_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
            if not path.exists():
                _create_private(path)
            elif path.stat().st_mode & 0o077:
                path.chmod(0o600)  # a health record: tighten a file others could read
            # Autocommit mode: transactions are explicit (BEGIN IMMEDIATE ... COMMIT).
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                   timeout=BUSY_TIMEOUT_MS / 1000)
        except OSError as e:
            raise VoicecoachError(f"cannot open the history at {path}: {e.strerror or e}") from e
        except sqlite3.Error as e:
            raise VoicecoachError(f"cannot open the history at {path}: {e}") from e
        history = cls(conn, path)
        try:
            history._configure()
            history._migrate()
            history._recover()
        except sqlite3.DatabaseError as e:
            conn.close()
            raise VoicecoachError(f"{path} is not a usable voicecoach history: {e}") from e
        except VoicecoachError:
            conn.close()
            raise
        return history

    def close(self) -> None:
        """Close the connection (everything is already committed)."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _configure(self) -> None:
        c = self._conn
        c.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = _retry_locked(lambda: c.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        if str(mode).lower() != "wal":
            raise VoicecoachError(f"{self.path}: SQLite refused WAL mode (got {mode!r})")
        # FULL: with WAL, every commit is fsynced before it returns.
        c.execute("PRAGMA synchronous = FULL")
        c.execute("PRAGMA foreign_keys = ON")

    @property
    def schema_version(self) -> int:
        """The schema version of the open file (``PRAGMA user_version``)."""
        with self._lock:
            return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise VoicecoachError(
                f"{self.path} was written by a newer voicecoach (schema {version}; this one "
                f"knows up to {SCHEMA_VERSION}); upgrade voicecoach to read it")
        for number in range(version + 1, SCHEMA_VERSION + 1):
            with self._tx() as c:
                # Another process may have applied it while this one waited for the lock.
                if int(c.execute("PRAGMA user_version").fetchone()[0]) >= number:
                    continue
                for statement in _statements(MIGRATIONS[number - 1]):
                    c.execute(statement)
                # PRAGMA takes no parameters; number is our own int.
                c.execute(f"PRAGMA user_version = {number:d}")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed on success, rolled back on any exception."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            self._conn.row_factory = sqlite3.Row
            try:
                self._conn.execute("BEGIN")
                try:
                    rows = self._conn.execute(sql, params).fetchall()
                finally:
                    self._conn.execute("COMMIT")
            finally:
                self._conn.row_factory = None
        return rows

    def _recover(self) -> None:
        """Mark sessions whose process died while 'running' as 'crashed'.

        A session still played by a live process (another terminal) is left alone; its
        end time becomes the last thing recorded in it.
        """
        with self._tx() as c:
            rows = c.execute("SELECT id, pid FROM sessions WHERE outcome = 'running'").fetchall()
            for session_id, pid in rows:
                if _pid_alive(pid):
                    continue
                c.execute(
                    """UPDATE sessions SET outcome = 'crashed', ended_at = COALESCE(
                         (SELECT MAX(at) FROM work WHERE session_id = ?), started_at)
                       WHERE id = ?""", (session_id, session_id))

    # --- Writing, one transaction per event ---------------------------------------------

    def start_session(self, routine_path: str, title: str, timeline_hash: str,
                      started_at: datetime | None = None,
                      written: Mapping[str, Dose] | None = None) -> int:
        """Record the start of a session (outcome 'running'); returns its id.

        ``written`` holds the doses the routine file prescribed (keyed by
        `adapt.exercise_key`), before any adaptation.
        """
        doses = None if written is None else json.dumps(
            {k: [d.kind, list(d.reps), d.hold, d.duration] for k, d in written.items()})
        with self._tx() as c:
            cur = c.execute(
                """INSERT INTO sessions (routine_path, routine_title, timeline_hash, started_at,
                                         outcome, pid, written)
                   VALUES (?, ?, ?, ?, 'running', ?, ?)""",
                (routine_key(routine_path), title, timeline_hash, _iso(started_at), os.getpid(),
                 doses))
            return int(cur.lastrowid or 0)

    def record_work(self, session_id: int, *, exercise_index: int, exercise_name: str,
                    kind: str, set: int, rep: int | None, side: str | None, seconds: float,
                    completed: bool = True, at: datetime | None = None) -> None:
        """Record one work bout (a hold, a rep, a timed bout): ``seconds`` of work done.

        ``completed=False`` for a bout cut short (quit, skip, pain) with the seconds done.
        """
        with self._tx() as c:
            c.execute(
                """INSERT INTO work (session_id, exercise_index, exercise_name, kind, "set", rep,
                                     side, seconds, completed, at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (session_id, exercise_index, exercise_name, kind, set, rep, side,
                 float(seconds), int(bool(completed)), _iso(at)))

    def record_pain_stop(self, session_id: int, *, exercise_index: int | None,
                         exercise_name: str | None, set: int | None, rep: int | None,
                         side: str | None, seconds_into_work: float | None,
                         at: datetime | None = None) -> int:
        """Record a "stop, pain" and end the session as 'stop_pain', committed before returning.

        Call it before the safety message finishes; `set_pain_rating` adds the rating later.
        Returns the pain stop's id.
        """
        recorded = _iso(at)
        with self._tx() as c:
            cur = c.execute(
                """INSERT INTO pain_stops (session_id, exercise_index, exercise_name, "set", rep,
                                           side, seconds_into_work, recorded_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                (session_id, exercise_index, exercise_name, set, rep, side,
                 None if seconds_into_work is None else float(seconds_into_work), recorded))
            c.execute("UPDATE sessions SET outcome = 'stop_pain', ended_at = ? WHERE id = ?",
                      (recorded, session_id))
            return int(cur.lastrowid or 0)

    def set_pain_rating(self, stop_id: int, rating: int | None) -> None:
        """Set (or clear with ``None``) the 0-10 rating of a pain stop."""
        _check_rating(rating, allow_none=True)
        with self._tx() as c:
            c.execute("UPDATE pain_stops SET rating = ? WHERE id = ?", (rating, stop_id))

    def end_session(self, session_id: int, outcome: str, at: datetime | None = None) -> None:
        """Record how a session ended. A pain stop's outcome is never overwritten."""
        if outcome not in END_OUTCOMES:
            raise ValueError(f"unknown session outcome {outcome!r}")
        with self._tx() as c:
            c.execute(
                """UPDATE sessions SET ended_at = ?,
                     outcome = CASE WHEN outcome = 'stop_pain' THEN outcome ELSE ? END
                   WHERE id = ?""", (_iso(at), outcome, session_id))

    def add_pain_note(self, rating: int, text: str | None = None,
                      exercise_name: str | None = None, at: datetime | None = None) -> int:
        """Record how the back feels (0-10), outside any session; returns the note's id."""
        _check_rating(rating, allow_none=False)
        with self._tx() as c:
            cur = c.execute(
                "INSERT INTO pain_notes (at, rating, text, exercise_name) VALUES (?, ?, ?, ?)",
                (_iso(at), rating, text, exercise_name))
            return int(cur.lastrowid or 0)

    # --- Reading --------------------------------------------------------------------------

    def _outcome(self, row: sqlite3.Row) -> Outcome:
        # A 'running' session whose process is gone crashed (killed, power cut).
        if row["outcome"] == "running" and not _pid_alive(row["pid"]):
            return "crashed"
        return row["outcome"]

    def sessions(self, limit: int | None = 20,
                 routine_path: str | None = None) -> list[SessionSummary]:
        """The most recent sessions, newest first, optionally of one routine."""
        where, params = "", ()
        if routine_path is not None:
            where, params = "WHERE s.routine_path = ?", (routine_key(routine_path),)
        rows = self._read(
            f"""SELECT s.*, COUNT(p.id) AS stops, MAX(p.rating) AS max_pain
                FROM sessions s LEFT JOIN pain_stops p ON p.session_id = s.id
                {where} GROUP BY s.id ORDER BY s.started_at DESC, s.id DESC
                LIMIT ?""", (*params, -1 if limit is None else limit))
        out = []
        for r in rows:
            started = _dt(r["started_at"])
            minutes = None
            if r["ended_at"] is not None:
                minutes = (_dt(r["ended_at"]) - started).total_seconds() / 60
            out.append(SessionSummary(r["id"], started, r["routine_path"], r["routine_title"],
                                      minutes, self._outcome(r), r["stops"], r["max_pain"]))
        return out

    def _exercise_rows(self, routine_path: str | None,
                       exercise_name: str | None) -> tuple[list[sqlite3.Row], list[sqlite3.Row]]:
        where, params = [], []
        if routine_path is not None:
            where.append("s.routine_path = ?")
            params.append(routine_key(routine_path))
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        work = self._read(
            f"""SELECT w.*, s.started_at, s.routine_path, s.outcome, s.pid FROM work w
                JOIN sessions s ON s.id = w.session_id {clause}
                ORDER BY s.started_at, s.id, w.id""", tuple(params))
        stops = self._read(
            f"""SELECT p.*, s.started_at, s.routine_path, s.outcome, s.pid FROM pain_stops p
                JOIN sessions s ON s.id = p.session_id {clause}
                ORDER BY s.started_at, s.id, p.id""", tuple(params))
        if exercise_name is not None:
            key = exercise_key(exercise_name)
            work = [w for w in work if exercise_key(w["exercise_name"]) == key]
            stops = [p for p in stops
                     if p["exercise_name"] is not None and exercise_key(p["exercise_name"]) == key]
        return work, stops

    def exercise_history(self, routine_path: str | None,
                         exercise_name: str) -> list[ExerciseSessionStats]:
        """Per session (oldest first), what was done of one exercise (name case-insensitive)."""
        work, stops = self._exercise_rows(routine_path, exercise_name)
        by_session: dict[int, list[sqlite3.Row]] = {}
        heads: dict[int, sqlite3.Row] = {}
        for w in work:
            by_session.setdefault(w["session_id"], []).append(w)
            heads.setdefault(w["session_id"], w)
        stop_of: dict[int, sqlite3.Row] = {}
        for p in stops:
            stop_of.setdefault(p["session_id"], p)
            heads.setdefault(p["session_id"], p)
        out = []
        for sid, head in sorted(heads.items(), key=lambda kv: (kv[1]["started_at"], kv[0])):
            rows = by_session.get(sid, [])
            done = [w for w in rows if w["completed"]]
            per_set: dict[tuple[int, str | None], int] = {}
            for w in done:
                per_set[(w["set"], w["side"])] = per_set.get((w["set"], w["side"]), 0) + 1
            stop = stop_of.get(sid)
            out.append(ExerciseSessionStats(
                sid, _dt(head["started_at"]), head["routine_path"], self._outcome(head),
                rows[0]["kind"] if rows else "",
                len({w["set"] for w in done}), len(done), max(per_set.values(), default=0),
                max((w["seconds"] for w in done), default=0.0),
                sum(w["seconds"] for w in rows),
                stop is not None,
                None if stop is None else stop["seconds_into_work"],
                None if stop is None else stop["rep"],
                None if stop is None else stop["rating"]))
        return out

    def records(self, routine_path: str) -> dict[str, list[ExerciseSession]]:
        """Past sessions of one routine per exercise (`adapt.exercise_key`), oldest first.

        This is what `adapt.adapt_routine` takes. A session counts as completed for an
        exercise when the session was completed and none of its work there was cut short.
        """
        work, stops = self._exercise_rows(routine_path, None)
        written = {r["id"]: _written(r["written"]) for r in self._read(
            "SELECT id, written FROM sessions WHERE routine_path = ?",
            (routine_key(routine_path),))}
        sessions: dict[tuple[str, int], list[sqlite3.Row]] = {}
        heads: dict[int, sqlite3.Row] = {}
        for w in work:
            sessions.setdefault((exercise_key(w["exercise_name"]), w["session_id"]), []).append(w)
            heads.setdefault(w["session_id"], w)
        pain_of: dict[tuple[str, int], PainPoint] = {}
        pained: set[int] = set()
        for p in stops:
            pained.add(p["session_id"])
            heads.setdefault(p["session_id"], p)
            if p["exercise_name"] is not None:
                key = (exercise_key(p["exercise_name"]), p["session_id"])
                sessions.setdefault(key, [])
                pain_of.setdefault(key, PainPoint(p["set"] or 1, p["rep"], p["side"],
                                                  p["seconds_into_work"] or 0.0))
        out: dict[str, list[ExerciseSession]] = {}
        for (name, sid), rows in sessions.items():
            head = heads[sid]
            completed = (self._outcome(head) == "completed" and bool(rows)
                         and all(w["completed"] for w in rows))
            out.setdefault(name, []).append(ExerciseSession(
                sid, _dt(head["started_at"]), _played(rows), completed,
                pain_of.get((name, sid)), sid in pained, written[sid].get(name)))
        for name in out:
            out[name].sort(key=lambda s: (s.started_at, s.session_id))
        return out

    # --- Export ---------------------------------------------------------------------------

    def export(self) -> dict[str, Any]:
        """Everything in the history as plain JSON-ready data (for ``--json``)."""
        sessions = self._read("SELECT * FROM sessions ORDER BY started_at, id")
        work = self._read("SELECT * FROM work ORDER BY id")
        stops = self._read("SELECT * FROM pain_stops ORDER BY id")
        notes = self._read("SELECT * FROM pain_notes ORDER BY at, id")
        by_work: dict[int, list[dict[str, Any]]] = {}
        for w in work:
            item = {k: w[k] for k in _WORK_FIELDS}
            item["completed"] = bool(item["completed"])
            by_work.setdefault(w["session_id"], []).append(item)
        by_stop: dict[int, list[dict[str, Any]]] = {}
        for p in stops:
            by_stop.setdefault(p["session_id"], []).append({k: p[k] for k in _STOP_FIELDS})
        return {
            "schema": SCHEMA_VERSION,
            "sessions": [
                {**{k: s[k] for k in _SESSION_FIELDS}, "outcome": self._outcome(s),
                 "work": by_work.get(s["id"], []), "pain_stops": by_stop.get(s["id"], [])}
                for s in sessions],
            "pain_notes": [{k: n[k] for k in _NOTE_FIELDS} for n in notes],
        }

    def export_csv(self, out: TextIO) -> None:
        """Everything as one CSV table: one row per work bout, pain stop and pain note.

        The ``record`` column says which (``session``, ``work``, ``pain_stop``,
        ``pain_note``); session columns repeat on the rows of that session.
        """
        writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
        writer.writeheader()
        data = self.export()
        for s in data["sessions"]:
            base = {f"session_{k}" if k != "id" else "session_id": s[k]
                    for k in _SESSION_FIELDS}
            writer.writerow(_csv_row({"record": "session", **base}))
            for w in s["work"]:
                writer.writerow(_csv_row({"record": "work", **base, **w}))
            for p in s["pain_stops"]:
                writer.writerow(_csv_row({"record": "pain_stop", **base, **p,
                                          "at": p["recorded_at"]}))
        for n in data["pain_notes"]:
            writer.writerow(_csv_row({"record": "pain_note", **n}))


_SESSION_FIELDS = ("id", "routine_path", "routine_title", "timeline_hash", "started_at",
                   "ended_at", "outcome")
_WORK_FIELDS = ("exercise_index", "exercise_name", "kind", "set", "rep", "side", "seconds",
                "completed", "at")
_STOP_FIELDS = ("id", "exercise_index", "exercise_name", "set", "rep", "side",
                "seconds_into_work", "rating", "recorded_at")
_NOTE_FIELDS = ("id", "at", "rating", "text", "exercise_name")
CSV_FIELDS = ("record", "session_id", "session_routine_path", "session_routine_title",
              "session_timeline_hash", "session_started_at", "session_ended_at",
              "session_outcome", "id", "at", "exercise_index", "exercise_name", "kind", "set",
              "rep", "side", "seconds", "completed", "seconds_into_work", "rating", "text")


def _csv_row(values: dict[str, Any]) -> dict[str, Any]:
    return {k: ("" if values.get(k) is None else values[k]) for k in CSV_FIELDS}


def _statements(script: str) -> list[str]:
    # executescript would COMMIT our transaction; split the migration instead.
    return [s.strip() for s in script.split(";") if s.strip()]


def _retry_locked(action: Callable[[], Any]) -> Any:
    """Run ``action``, retrying while SQLite says "locked" (up to the busy timeout).

    Switching to WAL ignores the busy timeout, so two processes creating the history at
    the same moment would otherwise fail at once.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            return action()
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _written(text: str | None) -> dict[str, Dose]:
    """The file's doses stored with a session (none for sessions before migration 3)."""
    if not text:
        return {}
    return {k: Dose(kind, tuple(reps), hold, duration)
            for k, (kind, reps, hold, duration) in json.loads(text).items()}


def _played(rows: list[sqlite3.Row]) -> Dose | None:
    """The dose seen in the finished work of one exercise in one session."""
    done = [w for w in rows if w["completed"]]
    if not done:
        return None
    kind = done[-1]["kind"]
    sets = sorted({w["set"] for w in done})
    per_set: dict[int, int] = {}
    for w in done:
        # Reps per set and side: the highest rep number seen (timed work counts as 1).
        per_set[w["set"]] = max(per_set.get(w["set"], 0), w["rep"] or 1)
    reps = tuple(per_set[s] for s in sets)
    longest = max(w["seconds"] for w in done)
    if kind == "hold":
        return Dose("hold", reps, hold=longest)
    if kind == "timed":
        return Dose("timed", tuple(1 for _ in sets), duration=longest)
    return Dose("reps", reps)

