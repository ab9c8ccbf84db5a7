"""`History`, the one object callers hold: open the file, record a session, read, export.

The writes are `recording.Recording`'s; each read goes through `reading.read_snapshot`
into the rule of what counts as training (`training`), the summaries (`summaries`) or the
export (`export`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from voicecoach.adapt import ExerciseSession
from voicecoach.history import schema, summaries, training
from voicecoach.history.export import history_data, write_csv
from voicecoach.history.identity import routine_key
from voicecoach.history.reading import Damage, read_snapshot
from voicecoach.history.recording import Recording, recover_crashed
from voicecoach.history.store import SQLITE_FAILURES, Store
from voicecoach.history.summaries import ExerciseSessionStats, SessionSummary


class History(Recording):
    """The history database; owns its connection. Use `History.open`, close when done.

    Safe to share between the player's threads: statements are serialized by a lock,
    and each event is committed in its own transaction. Every SQLite or file problem
    comes out as a `HistoryError` naming the file; rows that are damaged one by one are
    skipped (or, for pain stops, kept with what can be read) and counted in `damage`.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self.path = store.path
        self._damage = Damage()
        # Set by the caller (the CLI) to show warnings that do not stop a command.
        self.on_warning: Callable[[str], None] | None = None

    # --- Opening and closing --------------------------------------------------------------

    @classmethod
    def open(cls, data_dir: Path) -> History:
        """Open (creating if needed) ``data_dir/history.sqlite3`` and bring its schema up to date.

        Raises `HistoryError` when the directory or file cannot be created or read, or
        when the file is not a voicecoach history or is from a newer voicecoach.
        """
        store = Store.connect(Path(data_dir))
        try:
            store.configure()
            schema.migrate(store)
        except SQLITE_FAILURES as e:
            store.close()
            raise store.error("open", e) from e
        except BaseException:
            store.close()
            raise
        recover_crashed(store)
        return cls(store)

    def close(self) -> None:
        """Close the connection (everything is already committed)."""
        self._store.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        """The schema version of the open file (``PRAGMA user_version``)."""
        return schema.user_version(self._store)

    def warn(self, message: str) -> None:
        """Pass a warning that does not stop the command to `on_warning` (if set)."""
        if self.on_warning is not None:
            self.on_warning(message)

    def damage(self) -> str:
        """What reads so far had to skip or do without, in a few words ("" when nothing)."""
        return self._damage.describe()

    # --- Reading --------------------------------------------------------------------------

    def sessions(
        self, limit: int | None = 20, routine_path: str | None = None
    ) -> list[SessionSummary]:
        """The most recent sessions, newest first, optionally of one routine.

        Damaged sessions (no readable start time, title or outcome) are left out and
        counted in `damage`.
        """
        snap = read_snapshot(
            self._store,
            self._damage,
            None if routine_path is None else routine_key(routine_path),
            work=False,
        )
        return summaries.session_summaries(snap, limit)

    def exercise_history(
        self, routine_path: str | None, exercise_name: str
    ) -> list[ExerciseSessionStats]:
        """Per session (oldest first), what was done of one exercise (name case-insensitive)."""
        snap = read_snapshot(
            self._store, self._damage, None if routine_path is None else routine_key(routine_path)
        )
        return summaries.exercise_stats(snap, exercise_name)

    def records(self, routine_path: str) -> dict[str, list[ExerciseSession]]:
        """Past sessions of one routine per exercise (`adapt.exercise_key`), oldest first.

        This is what `adapt.adapt_routine` takes. Only real, finished work counts as
        completed, and a pain stop always counts: the rule is `training.records`.
        """
        return training.records(read_snapshot(self._store, self._damage, routine_key(routine_path)))

    # --- Export ---------------------------------------------------------------------------

    def export(self) -> dict[str, Any]:
        """Everything in the history as plain JSON-ready data (for ``--json``).

        Values are exported as stored, so a damaged value shows as it is (a blob as hex,
        a non-finite number as null); rows that belong to no session are left out.
        """
        return history_data(self._store, self._damage)

    def export_csv(self, out: TextIO) -> None:
        """Everything as one CSV table: one row per work bout, pain stop and pain note.

        The ``record`` column says which (``session``, ``work``, ``pain_stop``,
        ``pain_note``); session columns repeat on the rows of that session.
        """
        write_csv(self._store, self._damage, out)
