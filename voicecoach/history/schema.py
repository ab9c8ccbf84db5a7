"""The schema of the history file: numbered migrations, the tables and columns read, upgrades.

Migrations are applied in order and recorded in ``PRAGMA user_version``; an existing file
is brought up to date when it is opened.
"""

from __future__ import annotations

import sqlite3

from voicecoach.history.store import SQLITE_FAILURES, HistoryError, Store, printable

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
    # 4: the sound device's dropouts in a played session (NULL: not measured, e.g. text
    # mode or an older version): underruns, time lost, made up, and still owed at the end.
    """
    ALTER TABLE sessions ADD COLUMN underruns INTEGER;
    ALTER TABLE sessions ADD COLUMN lost_ms REAL;
    ALTER TABLE sessions ADD COLUMN caught_up_ms REAL;
    ALTER TABLE sessions ADD COLUMN owed_ms REAL;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


# The columns each table must have for its rows to be told apart and tied together; any
# other column may be missing (a damaged or hand-edited file) and reads as NULL.
STRUCTURE: dict[str, tuple[str, ...]] = {
    "sessions": ("id", "routine_path"),
    "work": ("session_id",),
    "pain_stops": ("session_id",),
}
COLUMNS: dict[str, tuple[str, ...]] = {
    "sessions": (
        "routine_title",
        "timeline_hash",
        "started_at",
        "ended_at",
        "outcome",
        "pid",
        "written",
        "underruns",
        "lost_ms",
        "caught_up_ms",
        "owed_ms",
    ),
    "work": (
        "exercise_index",
        "exercise_name",
        "kind",
        "set",
        "rep",
        "side",
        "seconds",
        "completed",
        "at",
    ),
    "pain_stops": (
        "exercise_index",
        "exercise_name",
        "set",
        "rep",
        "side",
        "seconds_into_work",
        "rating",
        "recorded_at",
    ),
}


def user_version(store: Store) -> int:
    """The schema version of the open file (``PRAGMA user_version``)."""
    with store.lock:
        try:
            return int(store.conn.execute("PRAGMA user_version").fetchone()[0])
        except SQLITE_FAILURES as e:
            raise store.error("read", e) from e


def migrate(store: Store) -> None:
    """Bring the file's schema up to `SCHEMA_VERSION`, one migration per transaction.

    Raises `HistoryError` for a file from a newer voicecoach, an unknown version, or a
    version that does not match the tables already there.
    """
    version = user_version(store)
    if version > SCHEMA_VERSION:
        raise HistoryError(
            store.path,
            "open",
            f"it was written by a newer voicecoach (schema {version}; this one knows up "
            f"to {SCHEMA_VERSION}); upgrade voicecoach to read it",
        )
    if version < 0:
        raise HistoryError(store.path, "open", f"its schema version {version} is unknown")
    for number in range(version + 1, SCHEMA_VERSION + 1):
        with store.tx("upgrade") as c:
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
                        store.path,
                        "open",
                        f"its schema version {version} does not match its tables "
                        f"({printable(str(e))})",
                    ) from e
            # PRAGMA takes no parameters; number is our own int.
            c.execute(f"PRAGMA user_version = {number:d}")


def _statements(script: str) -> list[str]:
    # executescript would COMMIT our transaction; split the migration instead.
    return [s.strip() for s in script.split(";") if s.strip()]
