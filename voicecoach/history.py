"""The session history: a local SQLite health record of sessions, work done and pain reports.

Nothing here leaves the machine. The file is created owner-only (0600) before anything
is written, runs in WAL mode with ``synchronous=FULL`` so that a committed pain stop
survives a SIGKILL or a power cut as far as SQLite can promise, and its schema grows
through numbered migrations recorded in ``PRAGMA user_version``.

The file may be damaged (a disk error, a hand edit, a sync tool): every value read is
checked, damaged rows are skipped and counted rather than failing the whole read, and
a pain stop is kept with whatever can be read of it, because a pain stop always counts.
Whatever SQLite or the file system refuses comes out as a `HistoryError` that names the
file and the problem ("disk full", "the file is read-only").
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO, cast

from voicecoach import paths
from voicecoach.adapt import Dose, ExerciseSession, PainPoint, exercise_key
from voicecoach.errors import VoicecoachError
from voicecoach.files import os_error_text
from voicecoach.outcome import Outcome
from voicecoach.timeline import Timeline

DB_NAME = "history.sqlite3"
BUSY_TIMEOUT_MS = 5000
RECOVER_TIMEOUT_MS = 200

# Numbered migrations, applied in order; migration N brings the schema to user_version N.
# Never edit one that has shipped: add the next. (The outcome CHECK lists `Outcome`'s
# values; a test keeps the two equal.)
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


# The columns each table must have for its rows to be told apart and tied together; any
# other column may be missing (a damaged or hand-edited file) and reads as NULL.
_STRUCTURE: dict[str, tuple[str, ...]] = {
    "sessions": ("id", "routine_path"),
    "work": ("session_id",),
    "pain_stops": ("session_id",),
}
_COLUMNS: dict[str, tuple[str, ...]] = {
    "sessions": ("routine_title", "timeline_hash", "started_at", "ended_at", "outcome", "pid",
                 "written"),
    "work": ("exercise_index", "exercise_name", "kind", "set", "rep", "side", "seconds",
             "completed", "at"),
    "pain_stops": ("exercise_index", "exercise_name", "set", "rep", "side",
                   "seconds_into_work", "rating", "recorded_at"),
}
_KINDS = frozenset({"hold", "reps", "timed"})
# A session whose start time is unreadable but which holds a pain stop is placed after
# everything else: the pain stop must still count, and counting it last is the safe side.
_LAST = datetime(9999, 12, 31, tzinfo=UTC)
# Real work takes real time: a completed session shorter (wall clock) than the work it
# recorded was not trained in real time (a preview recorded by an older voicecoach).
REAL_TIME_SLACK_S = 1.0

FALLBACK_ADVICE = "using the routine's own doses; if you stopped for pain recently, go easier"
PARTIAL_ADVICE = "if you stopped for pain recently, go easier"


class HistoryError(VoicecoachError):
    """The history file cannot be opened, read or written.

    The message names the file and says what is wrong in a few words ("disk full",
    "the file is read-only"); ``problem`` holds those words alone.
    """

    def __init__(self, path: Path, action: str, problem: str) -> None:
        self.path = path
        self.action = action
        self.problem = problem
        super().__init__(f"cannot {action} the history at {path}: {problem}")


# What a call into sqlite3 raises for a damaged file: its own errors, and (a CPython
# quirk) UnicodeDecodeError when SQLite's message quotes bytes of a damaged schema.
SQLITE_FAILURES = (sqlite3.Error, UnicodeDecodeError)

_WAITED = f"another program holds a lock on it (waited {BUSY_TIMEOUT_MS // 1000} s)"
# SQLite's primary result codes, in words a person can act on.
_SQLITE_PROBLEMS: dict[str, str] = {
    "SQLITE_READONLY": "the file is read-only",
    "SQLITE_FULL": "disk full",
    "SQLITE_BUSY": _WAITED,
    "SQLITE_LOCKED": _WAITED,
    "SQLITE_NOTADB": "it is not an SQLite database",
    "SQLITE_CANTOPEN": "the file cannot be opened",
    "SQLITE_PERM": "permission denied",
    "SQLITE_AUTH": "permission denied",
}


def _problem(error: BaseException, folder: Path | None = None) -> str:
    """What went wrong, in a few words on one line (never a traceback's worth).

    ``folder`` is where the file lives: SQLite reports a full disk as an I/O error when
    it cannot even create its journal, so the free space there is checked then.
    """
    if isinstance(error, sqlite3.Error):
        name = getattr(error, "sqlite_errorname", "") or ""
        primary = "_".join(name.split("_")[:2])
        if primary in ("SQLITE_IOERR", "SQLITE_CANTOPEN") and _disk_full(folder):
            return _SQLITE_PROBLEMS["SQLITE_FULL"]
        if primary in _SQLITE_PROBLEMS:
            return _SQLITE_PROBLEMS[primary]
        detail = _printable(str(error))
        if primary == "SQLITE_CORRUPT":
            return f"the file is damaged ({detail})"
        if primary == "SQLITE_IOERR":
            return f"a disk read or write failed ({detail})"
        return detail or type(error).__name__
    if isinstance(error, UnicodeDecodeError):
        return "the file is damaged (SQLite's own records hold bytes that are not text)"
    if isinstance(error, OSError):
        return os_error_text(error)
    return _printable(str(error)) or type(error).__name__


def _printable(text: str) -> str:
    """``text`` on one line with every control character escaped.

    SQLite's messages quote the damaged schema itself: raw, its bytes could move the
    cursor, recolor or clear the terminal, or break the one-line message.
    """
    text = " ".join(text.split())
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)


def _disk_full(folder: Path | None) -> bool:
    """Whether the file system holding ``folder`` has (next to) no room left."""
    if folder is None:
        return False
    try:
        fs = os.statvfs(folder)
    except (OSError, AttributeError):  # gone, or not POSIX
        return False
    # Under a few pages: SQLite cannot add a journal page (4 KiB) plus its header.
    return fs.f_bavail * fs.f_frsize < 16 * 1024


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

    ``completed_reps`` counts finished work bouts (each side counts; a bout done again
    after "back" counts once); ``best_set_reps`` is the most finished reps in one set and
    side; seconds are per bout or summed.
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


# --- Rows as read: every value checked, since the file may have been damaged --------------

@dataclass(slots=True)
class _Session:
    id: int
    routine_path: str | None
    title: str | None
    started_at: datetime | None
    ended_at: datetime | None
    outcome: Outcome | None  # None: not a known outcome
    pid: int | None
    written: dict[str, Dose]


@dataclass(frozen=True, slots=True)
class _Work:
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
class _Stop:
    session_id: int
    name: str | None
    set: int | None
    rep: int | None
    side: str | None
    seconds: float | None
    rating: int | None
    recorded_at: datetime | None


@dataclass(slots=True)
class _Snapshot:
    sessions: dict[int, _Session] = field(default_factory=dict)
    work: list[_Work] = field(default_factory=list)
    stops: list[_Stop] = field(default_factory=list)
    # A work row of these sessions (or of this exercise in this session) was unreadable:
    # what they did cannot be checked, so nothing there counts as completed.
    broken_sessions: set[int] = field(default_factory=set)
    broken_pairs: set[tuple[str, int]] = field(default_factory=set)
    # Pain stops whose session is gone or unreadable: which routine they belong to is
    # unknown, so they count for every routine with an exercise of that name.
    orphan_stops: list[_Stop] = field(default_factory=list)


def _int(value: Any) -> int | None:
    # SQLite gives back whatever was stored: after damage, text or a real in an int column.
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _real(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _time(value: Any) -> datetime | None:
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


def _dose(value: Any) -> Dose | None:
    """One stored dose, ``[kind, reps, hold, duration]``, or None when it has another shape."""
    if not isinstance(value, list) or len(value) != 4:
        return None
    kind, reps, hold, duration = value
    if kind not in _KINDS or not isinstance(reps, list) or not reps:
        return None
    counts = [_int(r) for r in reps]
    if any(c is None or c < 1 for c in counts):
        return None
    seconds: list[float | None] = []
    for x in (hold, duration):
        if x is None:
            seconds.append(None)
            continue
        number = _real(x)
        if number is None or number <= 0:
            return None
        seconds.append(number)
    return Dose(kind, tuple(c for c in counts if c is not None), seconds[0], seconds[1])


def _written(text: Any) -> tuple[dict[str, Dose], bool]:
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
        dose = _dose(value)
        if dose is None:
            damaged = True
        else:
            doses[key] = dose
    return doses, damaged


def _plain(value: Any) -> Any:
    """A stored value as JSON-ready data (a damaged file may hold blobs or NaN anywhere)."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def default_data_dir() -> Path:
    """Where the history lives: `paths.data_dir`."""
    return paths.data_dir()


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


def _pid_alive(pid: int | None) -> bool:
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


def _check_rating(rating: int | None, *, allow_none: bool) -> None:
    if rating is None and allow_none:
        return
    if not isinstance(rating, int) or isinstance(rating, bool) or not 0 <= rating <= 10:
        raise VoicecoachError(f"a pain rating is a whole number from 0 to 10, not {rating!r}")


def _create_private(path: Path) -> None:
    """Create the database file owner-only before SQLite writes a byte to it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)


def _decode(data: bytes) -> str:
    # A damaged row may hold bytes that are not UTF-8: read it (and reject it as a value
    # later) rather than failing the whole read.
    return data.decode("utf-8", "replace")


class History:
    """The history database; owns its connection. Use `History.open`, close when done.

    Safe to share between the player's threads: statements are serialized by a lock,
    and each event is committed in its own transaction. Every SQLite or file problem
    comes out as a `HistoryError` naming the file; rows that are damaged one by one are
    skipped (or, for pain stops, kept with what can be read) and counted in `damage`.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self._lock = threading.RLock()
        self.path = path
        self._damaged: set[tuple[str, int]] = set()
        self._missing: set[str] = set()
        # Set by the caller (the CLI) to show warnings that do not stop a command.
        self.on_warning: Callable[[str], None] | None = None

    # --- Opening and schema ---------------------------------------------------------------

    @classmethod
    def open(cls, data_dir: Path) -> History:
        """Open (creating if needed) ``data_dir/history.sqlite3`` and bring its schema up to date.

        Raises `HistoryError` when the directory or file cannot be created or read, or
        when the file is not a voicecoach history or is from a newer voicecoach.
        """
        folder = Path(data_dir)
        path = folder / DB_NAME
        try:
            if folder.exists() and not folder.is_dir():
                raise HistoryError(path, "open", f"{folder} is a file, not a directory")
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            if path.is_dir():
                raise HistoryError(path, "open", "it is a directory, not a file")
            if not path.exists():
                _create_private(path)
            else:
                mode = stat.S_IMODE(path.stat().st_mode)
                if mode & 0o077:
                    # A health record: take away what others could read, but never give
                    # the owner a write permission the file did not have.
                    with suppress(OSError):
                        path.chmod(mode & 0o700)
            # Autocommit mode: transactions are explicit (BEGIN IMMEDIATE ... COMMIT).
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                   timeout=BUSY_TIMEOUT_MS / 1000)
        except OSError as e:
            raise HistoryError(path, "open", _problem(e, folder)) from e
        except SQLITE_FAILURES as e:
            raise HistoryError(path, "open", _problem(e, folder)) from e
        conn.text_factory = _decode
        history = cls(conn, path)
        try:
            history._configure()
            history._migrate()
        except SQLITE_FAILURES as e:
            conn.close()
            raise HistoryError(path, "open", _problem(e, folder)) from e
        except BaseException:
            conn.close()
            raise
        history._recover()
        return history

    def close(self) -> None:
        """Close the connection (everything is already committed)."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _error(self, action: str, error: BaseException) -> HistoryError:
        return HistoryError(self.path, action, _problem(error, self.path.parent))

    def warn(self, message: str) -> None:
        """Pass a warning that does not stop the command to `on_warning` (if set)."""
        if self.on_warning is not None:
            self.on_warning(message)

    def _configure(self) -> None:
        c = self._conn
        c.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = _retry_locked(lambda: c.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        if str(mode).lower() != "wal":
            raise HistoryError(self.path, "open", f"SQLite refused WAL mode (got {mode!r})")
        # FULL: with WAL, every commit is fsynced before it returns.
        c.execute("PRAGMA synchronous = FULL")
        c.execute("PRAGMA foreign_keys = ON")

    @property
    def schema_version(self) -> int:
        """The schema version of the open file (``PRAGMA user_version``)."""
        with self._lock:
            try:
                return int(self._conn.execute("PRAGMA user_version").fetchone()[0])
            except SQLITE_FAILURES as e:
                raise self._error("read", e) from e

    def _migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise HistoryError(
                self.path, "open",
                f"it was written by a newer voicecoach (schema {version}; this one knows up "
                f"to {SCHEMA_VERSION}); upgrade voicecoach to read it")
        if version < 0:
            raise HistoryError(self.path, "open", f"its schema version {version} is unknown")
        for number in range(version + 1, SCHEMA_VERSION + 1):
            with self._tx("upgrade") as c:
                # Another process may have applied it while this one waited for the lock.
                if int(c.execute("PRAGMA user_version").fetchone()[0]) >= number:
                    continue
                for statement in _statements(MIGRATIONS[number - 1]):
                    try:
                        c.execute(statement)
                    except sqlite3.OperationalError as e:
                        if "already exists" not in str(e) and "duplicate column" not in str(e):
                            raise
                        # The version was reset (by hand, by another tool) under tables
                        # that are already there: say that, not SQLite's words alone.
                        raise HistoryError(
                            self.path, "open",
                            f"its schema version {version} does not match its tables "
                            f"({_printable(str(e))})") from e
                # PRAGMA takes no parameters; number is our own int.
                c.execute(f"PRAGMA user_version = {number:d}")

    @contextmanager
    def _tx(self, action: str = "record in") -> Iterator[sqlite3.Connection]:
        """One write transaction: committed on success, rolled back on any exception.

        SQLite errors come out as `HistoryError` ("cannot ACTION the history at ...").
        """
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except SQLITE_FAILURES as e:
                raise self._error(action, e) from e
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as e:
                # SQLite may have rolled back already (disk full does): nothing to undo.
                with suppress(*SQLITE_FAILURES):
                    self._conn.execute("ROLLBACK")
                if isinstance(e, SQLITE_FAILURES):
                    raise self._error(action, e) from e
                raise

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """The rows of one read, as dicts (a missing column is simply absent)."""
        with self._lock:
            try:
                self._conn.execute("BEGIN")
                try:
                    cursor = self._conn.execute(sql, params)
                    names = [d[0] for d in cursor.description or ()]
                    rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
                finally:
                    with suppress(*SQLITE_FAILURES):
                        self._conn.execute("COMMIT")
            except SQLITE_FAILURES as e:
                raise self._error("read", e) from e
        return rows

    def _columns(self, table: str) -> set[str]:
        """The columns ``table`` has (empty when the table is missing)."""
        # table is one of our own names, never user input.
        return {r["name"] for r in self._rows(f"PRAGMA table_info({table})")}

    def _recover(self) -> None:
        """Mark sessions whose process died while 'running' as 'crashed' (best effort).

        A session still played by a live process (another terminal) is left alone; its
        end time becomes the last thing recorded in it. Reading treats such sessions as
        crashed anyway, so a file that cannot be written (read-only, locked, full) is
        only read.
        """
        try:
            rows = self._rows("SELECT id, pid FROM sessions WHERE outcome = ?",
                              (Outcome.RUNNING,))
            dead = [r["id"] for r in rows if not _pid_alive(_int(r["pid"]))]
            if not dead:
                return
            # Not worth the full busy timeout: a command that only reads would wait 5 s
            # for another program's lock just to tidy up.
            self._conn.execute(f"PRAGMA busy_timeout = {RECOVER_TIMEOUT_MS}")
            with self._tx() as c:
                for session_id in dead:
                    c.execute(
                        """UPDATE sessions SET outcome = ?, ended_at = COALESCE(
                             (SELECT MAX(at) FROM work WHERE session_id = ?), started_at)
                           WHERE id = ? AND outcome = ?""",
                        (Outcome.CRASHED, session_id, session_id, Outcome.RUNNING))
        except (HistoryError, *SQLITE_FAILURES):
            return
        finally:
            with suppress(*SQLITE_FAILURES):
                self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

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
                   VALUES (?, ?, ?, ?, ?, ?, ?)""",
                (routine_key(routine_path), title, timeline_hash, _iso(started_at),
                 Outcome.RUNNING, os.getpid(), doses))
            return int(cur.lastrowid or 0)

    def record_work(self, session_id: int, *, exercise_index: int, exercise_name: str,
                    kind: str, set: int, rep: int | None, side: str | None, seconds: float,
                    completed: bool = True, at: datetime | None = None) -> None:
        """Record one work bout (a hold, a rep, a timed bout): ``seconds`` of work done.

        ``completed=False`` for a bout cut short (quit, skip, pain) with the seconds done,
        and for a bout skipped altogether (0 seconds).
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
            c.execute("UPDATE sessions SET outcome = ?, ended_at = ? WHERE id = ?",
                      (Outcome.STOP_PAIN, recorded, session_id))
            return int(cur.lastrowid or 0)

    def set_pain_rating(self, stop_id: int, rating: int | None) -> None:
        """Set (or clear with ``None``) the 0-10 rating of a pain stop."""
        _check_rating(rating, allow_none=True)
        with self._tx() as c:
            c.execute("UPDATE pain_stops SET rating = ? WHERE id = ?", (rating, stop_id))

    def end_session(self, session_id: int, outcome: Outcome,
                    at: datetime | None = None) -> None:
        """Record how a session ended. A pain stop's outcome is never overwritten."""
        ended = Outcome.read(outcome)
        if ended is None or not ended.ended:
            raise ValueError(f"unknown session outcome {outcome!r}")
        with self._tx() as c:
            c.execute(
                """UPDATE sessions SET ended_at = ?,
                     outcome = CASE WHEN outcome = ? THEN outcome ELSE ? END
                   WHERE id = ?""", (_iso(at), Outcome.STOP_PAIN, ended, session_id))

    def discard_session(self, session_id: int) -> bool:
        """Delete a session in which nothing was recorded (it never played); True if it was.

        A session with any work or a pain stop is never deleted.
        """
        with self._tx() as c:
            cur = c.execute(
                """DELETE FROM sessions WHERE id = ?
                     AND NOT EXISTS (SELECT 1 FROM work WHERE session_id = ?)
                     AND NOT EXISTS (SELECT 1 FROM pain_stops WHERE session_id = ?)""",
                (session_id, session_id, session_id))
            return cur.rowcount > 0

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

    def damage(self) -> str:
        """What reads so far had to skip or do without, in a few words ("" when nothing)."""
        parts = []
        if self._damaged:
            per_table: dict[str, int] = {}
            for table, _ in self._damaged:
                per_table[table] = per_table.get(table, 0) + 1
            where = ", ".join(f"{n} in {t}" for t, n in sorted(per_table.items()))
            count = len(self._damaged)
            parts.append(f"{count} damaged row{'' if count == 1 else 's'} ({where}) "
                         "skipped or read in part")
        if self._missing:
            names = ", ".join(sorted(self._missing))
            parts.append(f"missing column{'' if len(self._missing) == 1 else 's'} {names}")
        return "; ".join(parts)

    def _mark(self, table: str, row: Any) -> None:
        self._damaged.add((table, row if isinstance(row, int) else -1))

    @staticmethod
    def _outcome(session: _Session) -> Outcome | None:
        # A 'running' session whose process is gone crashed (killed, power cut).
        if session.outcome is Outcome.RUNNING and not _pid_alive(session.pid):
            return Outcome.CRASHED
        return session.outcome

    def _load(self, routine_path: str | None, *, work: bool = True) -> _Snapshot:
        """Read sessions (of one routine, or all), their work and pain stops, checking each row.

        Raises `HistoryError` when the file cannot be read or a table or a column that ties
        rows together is missing; damaged rows are skipped and counted instead.
        """
        present = {table: self._columns(table) for table in _STRUCTURE}
        for table, needed in _STRUCTURE.items():
            if not present[table]:
                raise HistoryError(self.path, "read", f"its table {table} is missing")
            for column in needed:
                if column not in present[table]:
                    raise HistoryError(self.path, "read",
                                       f"the column {table}.{column} is missing")
        for table, columns in _COLUMNS.items():
            self._missing.update(f"{table}.{c}" for c in columns if c not in present[table])
        where, params = "", cast(tuple[str, ...], ())
        if routine_path is not None:
            where, params = "WHERE routine_path = ?", (routine_path,)
        snap = _Snapshot()
        for r in self._rows(f"SELECT rowid AS _row, * FROM sessions {where}", params):
            self._session_row(r, snap)
        for table in ("work", "pain_stops") if work else ("pain_stops",):
            inside = f"WHERE session_id IN (SELECT id FROM sessions {where})" if where else ""
            for r in self._rows(f"SELECT rowid AS _row, * FROM {table} {inside} ORDER BY rowid",
                                params):
                if table == "work":
                    self._work_row(r, snap)
                else:
                    self._stop_row(r, snap)
        if where:
            # Read for one routine: a pain stop of no session may still be this routine's.
            for r in self._rows(
                    """SELECT rowid AS _row, * FROM pain_stops WHERE session_id IS NULL
                       OR session_id NOT IN (SELECT id FROM sessions) ORDER BY rowid"""):
                self._stop_row(r, snap)
        return snap

    def _session_row(self, r: dict[str, Any], snap: _Snapshot) -> None:
        sid = _int(r.get("id"))
        if sid is None:
            self._mark("sessions", r.get("_row"))
            return
        written, bad_written = _written(r.get("written"))
        ended = r.get("ended_at")
        s = _Session(sid, _text(r.get("routine_path")), _text(r.get("routine_title")),
                     _time(r.get("started_at")), _time(ended),
                     Outcome.read(r.get("outcome")), _int(r.get("pid")), written)
        if (bad_written or s.routine_path is None or s.title is None or s.started_at is None
                or s.outcome is None or (ended is not None and s.ended_at is None)
                or (r.get("pid") is not None and s.pid is None)):
            self._mark("sessions", sid)
        snap.sessions[sid] = s

    def _work_row(self, r: dict[str, Any], snap: _Snapshot) -> None:
        sid = _int(r.get("session_id"))
        name = _text(r.get("exercise_name"))
        kind, set_no, rep = r.get("kind"), _int(r.get("set")), r.get("rep")
        side, seconds = r.get("side"), _real(r.get("seconds"))
        completed = _int(r.get("completed"))
        if sid is None or sid not in snap.sessions:
            self._mark("work", r.get("_row"))  # no session to belong to
            return
        if (name is None or kind not in _KINDS or set_no is None or set_no < 1
                or (rep is not None and (_int(rep) is None or rep < 1))
                or (side is not None and not isinstance(side, str))
                or seconds is None or seconds < 0 or completed not in (0, 1)):
            self._mark("work", r.get("_row"))
            if name is None:
                snap.broken_sessions.add(sid)
            else:
                snap.broken_pairs.add((exercise_key(name), sid))
            return
        snap.work.append(_Work(sid, name, kind, set_no, rep, side, seconds, completed == 1,
                               _time(r.get("at"))))

    def _stop_row(self, r: dict[str, Any], snap: _Snapshot) -> None:
        # A pain stop counts with whatever can be read of it, even without its session.
        sid = _int(r.get("session_id"))
        orphan = sid is None or sid not in snap.sessions
        if sid is None or orphan:
            self._mark("pain_stops", r.get("_row"))
            # A session id of its own that no real session has (real ones are positive).
            row = r.get("_row")
            sid = -row if isinstance(row, int) and row > 0 else -len(snap.orphan_stops) - 1
        raw = {k: r.get(k) for k in ("exercise_name", "set", "rep", "side",
                                     "seconds_into_work", "rating", "recorded_at")}
        set_no, rep = _int(raw["set"]), _int(raw["rep"])
        seconds, rating = _real(raw["seconds_into_work"]), _int(raw["rating"])
        stop = _Stop(sid, _text(raw["exercise_name"]),
                     set_no if set_no is not None and set_no >= 1 else None,
                     rep if rep is not None and rep >= 1 else None,
                     _text(raw["side"]),
                     seconds if seconds is not None and seconds >= 0 else None,
                     rating if rating is not None and 0 <= rating <= 10 else None,
                     _time(raw["recorded_at"]))
        read = (stop.name, stop.set, stop.rep, stop.side, stop.seconds, stop.rating,
                stop.recorded_at)
        if any(v is None and raw[k] is not None for k, v in zip(raw, read, strict=True)):
            self._mark("pain_stops", r.get("_row"))
        (snap.orphan_stops if orphan else snap.stops).append(stop)

    def _placed(self, s: _Session, snap: _Snapshot) -> datetime | None:
        """When a session happened, for ordering; a damaged start time is replaced if it can be.

        A session with a pain stop is always placed (last of all, if nothing else tells
        when), so that the stop still counts; any other session without a time is left out.
        """
        if s.started_at is not None:
            return s.started_at
        stops = [p for p in snap.stops if p.session_id == s.id]
        times = [p.recorded_at for p in stops if p.recorded_at is not None]
        if s.ended_at is not None:
            times.append(s.ended_at)
        times += [w.at for w in snap.work if w.session_id == s.id and w.at is not None]
        if times:
            return min(times)
        return _LAST if stops else None

    def _real_session(self, s: _Session, work_seconds: float) -> bool:
        """Whether a session ended completed, and took at least as long as its work."""
        if self._outcome(s) is not Outcome.COMPLETED or s.started_at is None or s.ended_at is None:
            return False
        wall = (s.ended_at - s.started_at).total_seconds()
        return wall + REAL_TIME_SLACK_S >= work_seconds

    def sessions(self, limit: int | None = 20,
                 routine_path: str | None = None) -> list[SessionSummary]:
        """The most recent sessions, newest first, optionally of one routine.

        Damaged sessions (no readable start time, title or outcome) are left out and
        counted in `damage`.
        """
        snap = self._load(None if routine_path is None else routine_key(routine_path),
                          work=False)
        stops: dict[int, list[_Stop]] = {}
        for p in snap.stops:
            stops.setdefault(p.session_id, []).append(p)
        out = []
        for s in snap.sessions.values():
            outcome = self._outcome(s)
            if (s.started_at is None or outcome is None or s.title is None
                    or s.routine_path is None):
                continue
            minutes = None
            if s.ended_at is not None:
                minutes = (s.ended_at - s.started_at).total_seconds() / 60
            mine = stops.get(s.id, [])
            ratings = [p.rating for p in mine if p.rating is not None]
            out.append(SessionSummary(s.id, s.started_at, s.routine_path, s.title, minutes,
                                      outcome, len(mine), max(ratings, default=None)))
        out.sort(key=lambda x: (x.started_at, x.id), reverse=True)
        return out if limit is None else out[:max(0, limit)]

    def exercise_history(self, routine_path: str | None,
                         exercise_name: str) -> list[ExerciseSessionStats]:
        """Per session (oldest first), what was done of one exercise (name case-insensitive)."""
        snap = self._load(None if routine_path is None else routine_key(routine_path))
        key = exercise_key(exercise_name)
        by_session: dict[int, list[_Work]] = {}
        for w in snap.work:
            if exercise_key(w.name) == key:
                by_session.setdefault(w.session_id, []).append(w)
        stop_of: dict[int, _Stop] = {}
        for p in snap.stops:
            if p.name is not None and exercise_key(p.name) == key:
                stop_of.setdefault(p.session_id, p)
        out = []
        for sid in by_session.keys() | stop_of.keys():
            s = snap.sessions[sid]
            started, outcome = self._placed(s, snap), self._outcome(s)
            if started is None or started is _LAST or outcome is None or s.routine_path is None:
                continue
            rows = by_session.get(sid, [])
            done = [w for w in rows if w.completed]
            # A bout done again after "back" is the same bout: count it once.
            bouts = {(w.set, w.side, w.rep) for w in done}
            per_set: dict[tuple[int, str | None], int] = {}
            for set_no, side, _ in bouts:
                per_set[(set_no, side)] = per_set.get((set_no, side), 0) + 1
            stop = stop_of.get(sid)
            out.append(ExerciseSessionStats(
                sid, started, s.routine_path, outcome, rows[0].kind if rows else "",
                len({w.set for w in done}), len(bouts), max(per_set.values(), default=0),
                max((w.seconds for w in done), default=0.0),
                sum(w.seconds for w in rows),
                stop is not None,
                None if stop is None else stop.seconds,
                None if stop is None else stop.rep,
                None if stop is None else stop.rating))
        out.sort(key=lambda x: (x.started_at, x.session_id))
        return out

    def records(self, routine_path: str) -> dict[str, list[ExerciseSession]]:
        """Past sessions of one routine per exercise (`adapt.exercise_key`), oldest first.

        This is what `adapt.adapt_routine` takes. Only real, finished work counts: an
        exercise counts as completed in a session when

        - the session ended completed (not quit, stopped for pain, device lost, crashed or
          still running),
        - it took at least as long on the wall clock as the work it recorded (a preview
          stored by an older voicecoach did not),
        - the exercise has finished work there and none of its bouts was cut short or
          skipped (a skip is stored as an unfinished bout; a set done again after "back"
          is finished work), and
        - none of its rows, nor any work row of the session without a readable exercise,
          is damaged.

        A pain stop always counts, however the session ended and however damaged its
        row: with what can be read of it, placed last if its time is unreadable, and for
        every routine with an exercise of its name if its session is gone.
        """
        snap = self._load(routine_key(routine_path))
        pairs: dict[tuple[str, int], list[_Work]] = {}
        work_seconds: dict[int, float] = {}
        for w in snap.work:
            pairs.setdefault((exercise_key(w.name), w.session_id), []).append(w)
            work_seconds[w.session_id] = work_seconds.get(w.session_id, 0.0) + w.seconds
        for pair in snap.broken_pairs:
            pairs.setdefault(pair, [])
        pain_of: dict[tuple[str, int], PainPoint] = {}
        pained: set[int] = set()
        for p in snap.stops:
            pained.add(p.session_id)
            if p.name is not None:
                pair = (exercise_key(p.name), p.session_id)
                pairs.setdefault(pair, [])
                # Unreadable seconds count as a stop outside work: a step down from the level.
                pain_of.setdefault(pair, PainPoint(p.set or 1, p.rep, p.side, p.seconds or 0.0))
        out: dict[str, list[ExerciseSession]] = {}
        for p in snap.orphan_stops:
            if p.name is not None:
                # Placed when it was recorded (last of all if unreadable), alone.
                out.setdefault(exercise_key(p.name), []).append(ExerciseSession(
                    p.session_id, p.recorded_at or _LAST, None, False,
                    PainPoint(p.set or 1, p.rep, p.side, p.seconds or 0.0), True, None))
        for (name, sid), rows in pairs.items():
            s = snap.sessions[sid]
            started = self._placed(s, snap)
            if started is None:
                continue  # unplaceable and without pain: its work cannot count anyway
            completed = (self._real_session(s, work_seconds.get(sid, 0.0)) and bool(rows)
                         and all(w.completed for w in rows)
                         and (name, sid) not in snap.broken_pairs
                         and sid not in snap.broken_sessions)
            out.setdefault(name, []).append(ExerciseSession(
                sid, started, _played(rows), completed, pain_of.get((name, sid)),
                sid in pained, s.written.get(name)))
        for name in out:
            out[name].sort(key=lambda x: (x.started_at, x.session_id))
        return out

    # --- Export ---------------------------------------------------------------------------

    def export(self) -> dict[str, Any]:
        """Everything in the history as plain JSON-ready data (for ``--json``).

        Values are exported as stored, so a damaged value shows as it is (a blob as hex,
        a non-finite number as null); rows that belong to no session are left out.
        """
        present = {t: self._columns(t) for t in ("sessions", "work", "pain_stops",
                                                 "pain_notes")}
        if not present["sessions"]:
            raise HistoryError(self.path, "read", "its table sessions is missing")

        def rows(table: str) -> list[dict[str, Any]]:
            if not present[table]:
                self._missing.add(f"{table} (table)")
                return []
            return self._rows(f"SELECT rowid AS _row, * FROM {table} ORDER BY rowid")

        def when(row: dict[str, Any], column: str) -> tuple[bool, datetime, int]:
            at = _time(row.get(column))
            return (at is None, at or _LAST, row["_row"])

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
                {k: _plain(p.get(k)) for k in _STOP_FIELDS})
        notes = sorted(rows("pain_notes"), key=lambda r: when(r, "at"))
        out = []
        for s in sessions:
            item = {k: _plain(s.get(k)) for k in _SESSION_FIELDS}
            outcome = Outcome.read(s.get("outcome"))
            if outcome is not None:
                pid = _int(s.get("pid"))
                seen = self._outcome(_Session(0, None, None, None, None, outcome, pid, {}))
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


def _played(rows: list[_Work]) -> Dose | None:
    """The dose seen in the finished work of one exercise in one session."""
    done = [w for w in rows if w.completed]
    if not done:
        return None
    kind = done[-1].kind
    sets = sorted({w.set for w in done})
    per_set: dict[int, int] = {}
    for w in done:
        # Reps per set and side: the highest rep number seen (timed work counts as 1).
        per_set[w.set] = max(per_set.get(w.set, 0), w.rep or 1)
    reps = tuple(per_set[s] for s in sets)
    longest = max(w.seconds for w in done)
    if kind == "hold":
        return Dose("hold", reps, hold=longest)
    if kind == "timed":
        return Dose("timed", tuple(1 for _ in sets), duration=longest)
    return Dose("reps", reps)
