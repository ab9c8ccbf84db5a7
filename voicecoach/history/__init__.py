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

The rooms:

- ``database``: `History`, the one object callers hold;
- ``store``: the file and its connection (private file, WAL, locks, transactions,
  `HistoryError` in plain words); ``schema``: the numbered migrations and the upgrade;
- ``recording``: the writes, one transaction per event, and crash recovery at open;
- ``rows``: values and rows as read from a file that may be damaged; ``reading``: every
  row checked into a snapshot, damage counted;
- ``training``: what counts as training (the records `adapt` takes); ``summaries``:
  ``history`` and ``progress``; ``export``: JSON and CSV;
- ``identity``: how a routine and a played session are named.
"""

from __future__ import annotations

from voicecoach.history.database import History
from voicecoach.history.identity import routine_key, timeline_hash
from voicecoach.history.schema import MIGRATIONS, SCHEMA_VERSION
from voicecoach.history.store import (
    DB_NAME,
    FALLBACK_ADVICE,
    PARTIAL_ADVICE,
    HistoryError,
    default_data_dir,
)
from voicecoach.history.summaries import ExerciseSessionStats, SessionSummary

__all__ = [
    "DB_NAME",
    "FALLBACK_ADVICE",
    "MIGRATIONS",
    "PARTIAL_ADVICE",
    "SCHEMA_VERSION",
    "ExerciseSessionStats",
    "History",
    "HistoryError",
    "SessionSummary",
    "default_data_dir",
    "routine_key",
    "timeline_hash",
]
