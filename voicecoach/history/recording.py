"""Writing the history: one transaction per event, committed before the call returns.

`Recording` holds the writes of `History` (start and end a session, a work bout, a pain
stop and its rating, a pain note); `recover_crashed` tidies up sessions whose player
died, when the file is opened.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from contextlib import suppress
from datetime import UTC, datetime

from voicecoach.adapt import Dose
from voicecoach.dropouts import Dropouts
from voicecoach.errors import VoicecoachError
from voicecoach.history.identity import routine_key
from voicecoach.history.rows import pid_alive, read_int
from voicecoach.history.store import (
    BUSY_TIMEOUT_MS,
    RECOVER_TIMEOUT_MS,
    SQLITE_FAILURES,
    HistoryError,
    Store,
)
from voicecoach.outcome import Outcome


class Recording:
    """The writes of `History`, each in its own transaction on ``_store``."""

    _store: Store

    def start_session(
        self,
        routine_path: str,
        title: str,
        timeline_hash: str,
        started_at: datetime | None = None,
        written: Mapping[str, Dose] | None = None,
    ) -> int:
        """Record the start of a session (outcome 'running'); returns its id.

        ``written`` holds the doses the routine file prescribed (keyed by
        `adapt.exercise_key`), before any adaptation.
        """
        doses = (
            None
            if written is None
            else json.dumps(
                {k: [d.kind, list(d.reps), d.hold, d.duration] for k, d in written.items()}
            )
        )
        with self._store.tx() as c:
            cur = c.execute(
                """INSERT INTO sessions (routine_path, routine_title, timeline_hash, started_at,
                                         outcome, pid, written)
                   VALUES (?, ?, ?, ?, ?, ?, ?)""",
                (
                    routine_key(routine_path),
                    title,
                    timeline_hash,
                    _iso(started_at),
                    Outcome.RUNNING,
                    os.getpid(),
                    doses,
                ),
            )
            return int(cur.lastrowid or 0)

    def record_work(
        self,
        session_id: int,
        *,
        exercise_index: int,
        exercise_name: str,
        kind: str,
        set: int,
        rep: int | None,
        side: str | None,
        seconds: float,
        completed: bool = True,
        at: datetime | None = None,
    ) -> None:
        """Record one work bout (a hold, a rep, a timed bout): ``seconds`` of work done.

        ``completed=False`` for a bout cut short (quit, skip, pain) with the seconds done,
        and for a bout skipped altogether (0 seconds).
        """
        with self._store.tx() as c:
            c.execute(
                """INSERT INTO work (session_id, exercise_index, exercise_name, kind, "set", rep,
                                     side, seconds, completed, at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    session_id,
                    exercise_index,
                    exercise_name,
                    kind,
                    set,
                    rep,
                    side,
                    float(seconds),
                    int(bool(completed)),
                    _iso(at),
                ),
            )

    def record_pain_stop(
        self,
        session_id: int,
        *,
        exercise_index: int | None,
        exercise_name: str | None,
        set: int | None,
        rep: int | None,
        side: str | None,
        seconds_into_work: float | None,
        at: datetime | None = None,
    ) -> int:
        """Record a "stop, pain" and end the session as 'stop_pain', committed before returning.

        Call it before the safety message finishes; `set_pain_rating` adds the rating later.
        Returns the pain stop's id.
        """
        recorded = _iso(at)
        with self._store.tx() as c:
            cur = c.execute(
                """INSERT INTO pain_stops (session_id, exercise_index, exercise_name, "set", rep,
                                           side, seconds_into_work, recorded_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    session_id,
                    exercise_index,
                    exercise_name,
                    set,
                    rep,
                    side,
                    None if seconds_into_work is None else float(seconds_into_work),
                    recorded,
                ),
            )
            c.execute(
                "UPDATE sessions SET outcome = ?, ended_at = ? WHERE id = ?",
                (Outcome.STOP_PAIN, recorded, session_id),
            )
            return int(cur.lastrowid or 0)

    def set_pain_rating(self, stop_id: int, rating: int | None) -> None:
        """Set (or clear with ``None``) the 0-10 rating of a pain stop."""
        _check_rating(rating, allow_none=True)
        with self._store.tx() as c:
            c.execute("UPDATE pain_stops SET rating = ? WHERE id = ?", (rating, stop_id))

    def end_session(
        self,
        session_id: int,
        outcome: Outcome,
        at: datetime | None = None,
        *,
        dropouts: Dropouts | None = None,
    ) -> None:
        """Record how a session ended (and the sound device's dropouts in it, if given).

        A pain stop's outcome is never overwritten.
        """
        ended = Outcome.read(outcome)
        if ended is None or not ended.ended:
            raise ValueError(f"unknown session outcome {outcome!r}")
        d = dropouts
        with self._store.tx() as c:
            c.execute(
                """UPDATE sessions SET ended_at = ?,
                     outcome = CASE WHEN outcome = ? THEN outcome ELSE ? END,
                     underruns = ?, lost_ms = ?, caught_up_ms = ?, owed_ms = ?
                   WHERE id = ?""",
                (
                    _iso(at),
                    Outcome.STOP_PAIN,
                    ended,
                    None if d is None else d.underruns,
                    None if d is None else round(d.lost_s * 1000, 3),
                    None if d is None else round(d.caught_up_s * 1000, 3),
                    None if d is None else round(d.owed_s * 1000, 3),
                    session_id,
                ),
            )

    def discard_session(self, session_id: int) -> bool:
        """Delete a session in which nothing was recorded (it never played); True if it was.

        A session with any work or a pain stop is never deleted.
        """
        with self._store.tx() as c:
            cur = c.execute(
                """DELETE FROM sessions WHERE id = ?
                     AND NOT EXISTS (SELECT 1 FROM work WHERE session_id = ?)
                     AND NOT EXISTS (SELECT 1 FROM pain_stops WHERE session_id = ?)""",
                (session_id, session_id, session_id),
            )
            return cur.rowcount > 0

    def add_pain_note(
        self,
        rating: int,
        text: str | None = None,
        exercise_name: str | None = None,
        at: datetime | None = None,
    ) -> int:
        """Record how the back feels (0-10), outside any session; returns the note's id."""
        _check_rating(rating, allow_none=False)
        with self._store.tx() as c:
            cur = c.execute(
                "INSERT INTO pain_notes (at, rating, text, exercise_name) VALUES (?, ?, ?, ?)",
                (_iso(at), rating, text, exercise_name),
            )
            return int(cur.lastrowid or 0)


def recover_crashed(store: Store) -> None:
    """Mark sessions whose process died while 'running' as 'crashed' (best effort).

    A session still played by a live process (another terminal) is left alone; its
    end time becomes the last thing recorded in it. Reading treats such sessions as
    crashed anyway, so a file that cannot be written (read-only, locked, full) is
    only read.
    """
    try:
        rows = store.rows("SELECT id, pid FROM sessions WHERE outcome = ?", (Outcome.RUNNING,))
        dead = [r["id"] for r in rows if not pid_alive(read_int(r["pid"]))]
        if not dead:
            return
        # Not worth the full busy timeout: a command that only reads would wait 5 s
        # for another program's lock just to tidy up.
        store.conn.execute(f"PRAGMA busy_timeout = {RECOVER_TIMEOUT_MS}")
        with store.tx() as c:
            for session_id in dead:
                c.execute(
                    """UPDATE sessions SET outcome = ?, ended_at = COALESCE(
                         (SELECT MAX(at) FROM work WHERE session_id = ?), started_at)
                       WHERE id = ? AND outcome = ?""",
                    (Outcome.CRASHED, session_id, session_id, Outcome.RUNNING),
                )
    except (HistoryError, *SQLITE_FAILURES):
        return
    finally:
        with suppress(*SQLITE_FAILURES):
            store.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(at: datetime | None) -> str:
    # Naive datetimes are taken as local time; everything is stored in UTC.
    return (at or _now()).astimezone(UTC).isoformat()


def _check_rating(rating: int | None, *, allow_none: bool) -> None:
    if rating is None and allow_none:
        return
    if not isinstance(rating, int) or isinstance(rating, bool) or not 0 <= rating <= 10:
        raise VoicecoachError(f"a pain rating is a whole number from 0 to 10, not {rating!r}")
