"""What counts as training: a routine's past sessions per exercise, as `adapt` takes them.

Only real, finished work moves a dose; a pain stop always counts.
"""

from __future__ import annotations

from voicecoach.adapt import Dose, ExerciseSession, PainPoint, exercise_key
from voicecoach.history.rows import LAST, SessionRow, Snapshot, WorkRow, seen_outcome
from voicecoach.outcome import Outcome

# Real work takes real time: a completed session shorter (wall clock) than the work it
# recorded was not trained in real time (a preview recorded by an older voicecoach).
REAL_TIME_SLACK_S = 1.0


def records(snap: Snapshot) -> dict[str, list[ExerciseSession]]:
    """The sessions in ``snap`` per exercise (`adapt.exercise_key`), oldest first.

    An exercise counts as completed in a session when

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
    pairs: dict[tuple[str, int], list[WorkRow]] = {}
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
            out.setdefault(exercise_key(p.name), []).append(
                ExerciseSession(
                    p.session_id,
                    p.recorded_at or LAST,
                    None,
                    False,
                    PainPoint(p.set or 1, p.rep, p.side, p.seconds or 0.0),
                    True,
                    None,
                )
            )
    for (name, sid), rows in pairs.items():
        s = snap.sessions[sid]
        started = snap.placed(s)
        if started is None:
            continue  # unplaceable and without pain: its work cannot count anyway
        completed = (
            _real_session(s, work_seconds.get(sid, 0.0))
            and bool(rows)
            and all(w.completed for w in rows)
            and (name, sid) not in snap.broken_pairs
            and sid not in snap.broken_sessions
        )
        out.setdefault(name, []).append(
            ExerciseSession(
                sid,
                started,
                _played(rows),
                completed,
                pain_of.get((name, sid)),
                sid in pained,
                s.written.get(name),
            )
        )
    for name in out:
        out[name].sort(key=lambda x: (x.started_at, x.session_id))
    return out


def _real_session(s: SessionRow, work_seconds: float) -> bool:
    """Whether a session ended completed, and took at least as long as its work."""
    if (
        seen_outcome(s.outcome, s.pid) is not Outcome.COMPLETED
        or s.started_at is None
        or s.ended_at is None
    ):
        return False
    wall = (s.ended_at - s.started_at).total_seconds()
    return wall + REAL_TIME_SLACK_S >= work_seconds


def _played(rows: list[WorkRow]) -> Dose | None:
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
