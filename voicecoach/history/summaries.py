"""Summaries for ``voicecoach history`` and ``progress``: sessions, and one exercise per session.

Damaged sessions (no readable start time, title or outcome) are left out; the read
counts them (`reading.Damage`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from voicecoach.adapt import exercise_key
from voicecoach.history.rows import LAST, Snapshot, StopRow, WorkRow, seen_outcome
from voicecoach.outcome import Outcome


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


def session_summaries(snap: Snapshot, limit: int | None) -> list[SessionSummary]:
    """The sessions in ``snap``, newest first, at most ``limit`` (None: all)."""
    stops: dict[int, list[StopRow]] = {}
    for p in snap.stops:
        stops.setdefault(p.session_id, []).append(p)
    out = []
    for s in snap.sessions.values():
        outcome = seen_outcome(s.outcome, s.pid)
        if s.started_at is None or outcome is None or s.title is None or s.routine_path is None:
            continue
        minutes = None
        if s.ended_at is not None:
            minutes = (s.ended_at - s.started_at).total_seconds() / 60
        mine = stops.get(s.id, [])
        ratings = [p.rating for p in mine if p.rating is not None]
        out.append(
            SessionSummary(
                s.id,
                s.started_at,
                s.routine_path,
                s.title,
                minutes,
                outcome,
                len(mine),
                max(ratings, default=None),
            )
        )
    out.sort(key=lambda x: (x.started_at, x.id), reverse=True)
    return out if limit is None else out[: max(0, limit)]


def exercise_stats(snap: Snapshot, exercise_name: str) -> list[ExerciseSessionStats]:
    """Per session in ``snap`` (oldest first), what was done of one exercise (any case)."""
    key = exercise_key(exercise_name)
    by_session: dict[int, list[WorkRow]] = {}
    for w in snap.work:
        if exercise_key(w.name) == key:
            by_session.setdefault(w.session_id, []).append(w)
    stop_of: dict[int, StopRow] = {}
    for p in snap.stops:
        if p.name is not None and exercise_key(p.name) == key:
            stop_of.setdefault(p.session_id, p)
    out = []
    for sid in by_session.keys() | stop_of.keys():
        s = snap.sessions[sid]
        started, outcome = snap.placed(s), seen_outcome(s.outcome, s.pid)
        if started is None or started is LAST or outcome is None or s.routine_path is None:
            continue
        rows = by_session.get(sid, [])
        done = [w for w in rows if w.completed]
        # A bout done again after "back" is the same bout: count it once.
        bouts = {(w.set, w.side, w.rep) for w in done}
        per_set: dict[tuple[int, str | None], int] = {}
        for set_no, side, _ in bouts:
            per_set[(set_no, side)] = per_set.get((set_no, side), 0) + 1
        stop = stop_of.get(sid)
        out.append(
            ExerciseSessionStats(
                sid,
                started,
                s.routine_path,
                outcome,
                rows[0].kind if rows else "",
                len({w.set for w in done}),
                len(bouts),
                max(per_set.values(), default=0),
                max((w.seconds for w in done), default=0.0),
                sum(w.seconds for w in rows),
                stop is not None,
                None if stop is None else stop.seconds,
                None if stop is None else stop.rep,
                None if stop is None else stop.rating,
            )
        )
    out.sort(key=lambda x: (x.started_at, x.session_id))
    return out
