"""The history file and its connection: created private, WAL, one lock, plain-word errors.

`Store` knows nothing of sessions: it creates the file owner-only (0600) before SQLite
writes a byte, switches to WAL with ``synchronous=FULL``, serializes statements with a
lock, runs each write in its own transaction, and turns whatever SQLite or the file
system refuses into a `HistoryError` that names the file and the problem ("disk full",
"the file is read-only").
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from voicecoach import paths
from voicecoach.errors import VoicecoachError
from voicecoach.files import os_error_text

DB_NAME = "history.sqlite3"
BUSY_TIMEOUT_MS = 5000
RECOVER_TIMEOUT_MS = 200

# What to tell someone whose history cannot be read at all, or only in part.
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


def problem(error: BaseException, folder: Path | None = None) -> str:
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
        detail = printable(str(error))
        if primary == "SQLITE_CORRUPT":
            return f"the file is damaged ({detail})"
        if primary == "SQLITE_IOERR":
            return f"a disk read or write failed ({detail})"
        return detail or type(error).__name__
    if isinstance(error, UnicodeDecodeError):
        return "the file is damaged (SQLite's own records hold bytes that are not text)"
    if isinstance(error, OSError):
        return os_error_text(error)
    return printable(str(error)) or type(error).__name__


def printable(text: str) -> str:
    """``text`` on one line with every control character escaped.

    SQLite's messages quote the damaged schema itself: raw, its bytes could move the
    cursor, recolor or clear the terminal, or break the one-line message.
    """
    text = " ".join(text.split())
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
    )


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


def default_data_dir() -> Path:
    """Where the history lives: `paths.data_dir`."""
    return paths.data_dir()


class Store:
    """The connection to one history file. Use `Store.connect`, close when done.

    Safe to share between threads: statements are serialized by ``lock``, and each
    write is committed in its own transaction (`tx`).
    """

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.lock = threading.RLock()
        self.path = path

    @classmethod
    def connect(cls, folder: Path) -> Store:
        """Connect to ``folder/history.sqlite3``, creating the folder (0700) and file (0600).

        Raises `HistoryError` when the folder or file cannot be created or opened.
        """
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
            conn = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
            )
        except OSError as e:
            raise HistoryError(path, "open", problem(e, folder)) from e
        except SQLITE_FAILURES as e:
            raise HistoryError(path, "open", problem(e, folder)) from e
        conn.text_factory = _decode
        return cls(conn, path)

    def configure(self) -> None:
        """WAL, ``synchronous=FULL``, foreign keys and the busy timeout."""
        c = self.conn
        c.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = _retry_locked(lambda: c.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        if str(mode).lower() != "wal":
            raise HistoryError(self.path, "open", f"SQLite refused WAL mode (got {mode!r})")
        # FULL: with WAL, every commit is fsynced before it returns.
        c.execute("PRAGMA synchronous = FULL")
        c.execute("PRAGMA foreign_keys = ON")

    def close(self) -> None:
        """Close the connection (everything is already committed)."""
        with self.lock:
            self.conn.close()

    def error(self, action: str, error: BaseException) -> HistoryError:
        """``error`` as a `HistoryError`: "cannot ACTION the history at PATH: PROBLEM"."""
        return HistoryError(self.path, action, problem(error, self.path.parent))

    @contextmanager
    def tx(self, action: str = "record in") -> Iterator[sqlite3.Connection]:
        """One write transaction: committed on success, rolled back on any exception.

        SQLite errors come out as `HistoryError` ("cannot ACTION the history at ...").
        """
        with self.lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except SQLITE_FAILURES as e:
                raise self.error(action, e) from e
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException as e:
                # SQLite may have rolled back already (disk full does): nothing to undo.
                with suppress(*SQLITE_FAILURES):
                    self.conn.execute("ROLLBACK")
                if isinstance(e, SQLITE_FAILURES):
                    raise self.error(action, e) from e
                raise

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """The rows of one read, as dicts (a missing column is simply absent)."""
        with self.lock:
            try:
                self.conn.execute("BEGIN")
                try:
                    cursor = self.conn.execute(sql, params)
                    names = [d[0] for d in cursor.description or ()]
                    rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
                finally:
                    with suppress(*SQLITE_FAILURES):
                        self.conn.execute("COMMIT")
            except SQLITE_FAILURES as e:
                raise self.error("read", e) from e
        return rows

    def columns(self, table: str) -> set[str]:
        """The columns ``table`` has (empty when the table is missing)."""
        # table is one of our own names, never user input.
        return {r["name"] for r in self.rows(f"PRAGMA table_info({table})")}


def _create_private(path: Path) -> None:
    """Create the database file owner-only before SQLite writes a byte to it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)


def _decode(data: bytes) -> str:
    # A damaged row may hold bytes that are not UTF-8: read it (and reject it as a value
    # later) rather than failing the whole read.
    return data.decode("utf-8", "replace")


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
