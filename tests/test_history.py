"""The SQLite history on real files: permissions, durability, migrations, crashes, export."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from voicecoach.adapt import adapt_routine
from voicecoach.errors import VoicecoachError
from voicecoach.history import (
    DB_NAME,
    MIGRATIONS,
    SCHEMA_VERSION,
    History,
    default_data_dir,
    routine_key,
    timeline_hash,
)
from voicecoach.model import Exercise, Routine
from voicecoach.outcome import Outcome
from voicecoach.timeline import Cue, Segment, Timeline

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def play_holds(
    h: History,
    routine_path: str,
    day: int,
    hold: float,
    *,
    pain_at: float | None = None,
    outcome: Outcome = Outcome.COMPLETED,
) -> int:
    """One session of a 2-set side plank, optionally stopped for pain in set 2."""
    start = at(day * 24 * 60)
    sid = h.start_session(routine_path, "Back", "hash", started_at=start)
    for set_no in (1, 2):
        if pain_at is not None and set_no == 2:
            h.record_work(
                sid,
                exercise_index=0,
                exercise_name="Side plank",
                kind="hold",
                set=2,
                rep=1,
                side=None,
                seconds=pain_at,
                completed=False,
            )
            stop = h.record_pain_stop(
                sid,
                exercise_index=0,
                exercise_name="Side plank",
                set=2,
                rep=1,
                side=None,
                seconds_into_work=pain_at,
                at=start + timedelta(minutes=3),
            )
            h.set_pain_rating(stop, 4)
            return sid
        h.record_work(
            sid,
            exercise_index=0,
            exercise_name="Side plank",
            kind="hold",
            set=set_no,
            rep=1,
            side=None,
            seconds=hold,
            at=start + timedelta(minutes=set_no),
        )
    h.end_session(sid, outcome, at=start + timedelta(minutes=5))
    return sid


@pytest.fixture
def history(tmp_path: Path):
    h = History.open(tmp_path / "data")
    yield h
    h.close()


def test_database_and_its_directory_are_owner_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with History.open(data) as h:
        h.add_pain_note(2, "stiff morning")
        db = data / DB_NAME
        assert stat.S_IMODE(db.stat().st_mode) == 0o600
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        wal = data / f"{DB_NAME}-wal"
        assert wal.exists()
        assert stat.S_IMODE(wal.stat().st_mode) == 0o600


def test_wal_journal_and_full_sync_are_on(history: History) -> None:
    other = sqlite3.connect(history.path)
    try:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        other.close()
    # synchronous is per connection: 2 is FULL.
    assert history._store.conn.execute("PRAGMA synchronous").fetchone()[0] == 2
    assert history._store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert history.schema_version == SCHEMA_VERSION == 4
    assert len(MIGRATIONS) == SCHEMA_VERSION


V1_SCHEMA = """
CREATE TABLE sessions (id INTEGER PRIMARY KEY, routine_path TEXT NOT NULL,
  routine_title TEXT NOT NULL, timeline_hash TEXT NOT NULL, started_at TEXT NOT NULL,
  ended_at TEXT, outcome TEXT NOT NULL DEFAULT 'running');
CREATE TABLE work (id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL REFERENCES sessions(id),
  exercise_index INTEGER NOT NULL, exercise_name TEXT NOT NULL, kind TEXT NOT NULL,
  "set" INTEGER NOT NULL, rep INTEGER, side TEXT, seconds REAL NOT NULL,
  completed INTEGER NOT NULL, at TEXT NOT NULL);
CREATE TABLE pain_stops (id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL,
  exercise_index INTEGER, exercise_name TEXT, "set" INTEGER, rep INTEGER, side TEXT,
  seconds_into_work REAL, rating INTEGER, recorded_at TEXT NOT NULL);
PRAGMA user_version = 1;
"""


def test_a_hand_made_version_1_database_is_upgraded_with_its_data_kept(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    con = sqlite3.connect(data / DB_NAME)
    con.executescript(V1_SCHEMA)
    con.execute(
        "INSERT INTO sessions VALUES (1, '/r.toml', 'Old', 'h', ?, ?, 'stop_pain')",
        (at(0).isoformat(), at(4).isoformat()),
    )
    con.execute(
        "INSERT INTO sessions VALUES (2, '/r.toml', 'Old', 'h', ?, NULL, 'running')",
        (at(60).isoformat(),),
    )
    con.execute(
        "INSERT INTO work VALUES (1, 1, 0, 'Bird dog', 'hold', 1, 1, NULL, 8.0, 1, ?)",
        (at(1).isoformat(),),
    )
    con.execute(
        "INSERT INTO pain_stops VALUES (1, 1, 0, 'Bird dog', 1, 2, NULL, 6.5, 5, ?)",
        (at(2).isoformat(),),
    )
    con.commit()
    con.close()

    with History.open(data) as h:
        assert h.schema_version == SCHEMA_VERSION
        summaries = h.sessions(routine_path=None)
        assert [(s.id, s.outcome, s.pain_stops, s.max_pain) for s in summaries] == [
            (2, "crashed", 0, None),
            (1, "stop_pain", 1, 5),
        ]
        assert summaries[1].minutes == pytest.approx(4.0)
        stats = h.exercise_history(None, "BIRD DOG")
        assert [(s.max_hold_seconds, s.pain_at_seconds, s.pain_rep) for s in stats] == [
            (8.0, 6.5, 2)
        ]
        # The table migration 2 added works.
        h.add_pain_note(3, "after gardening", exercise_name="Bird dog")
        assert [n["text"] for n in h.export()["pain_notes"]] == ["after gardening"]
    con = sqlite3.connect(data / DB_NAME)
    try:
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert con.execute("SELECT COUNT(*) FROM work").fetchone()[0] == 1
    finally:
        con.close()


def test_a_database_from_a_newer_voicecoach_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    con = sqlite3.connect(data / DB_NAME)
    con.execute("PRAGMA user_version = 99")
    con.close()
    with pytest.raises(VoicecoachError, match="newer voicecoach"):
        History.open(data)


CHILD = """
import os, signal, sys
from datetime import datetime, UTC
from voicecoach.history import History
h = History.open(sys.argv[1])
a = h.start_session("/r.toml", "Back", "h1", started_at=datetime(2026, 3, 1, 9, tzinfo=UTC))
h.record_pain_stop(a, exercise_index=0, exercise_name="Side plank", set=1, rep=1, side=None,
                   seconds_into_work=7.0)
b = h.start_session("/r.toml", "Back", "h1", started_at=datetime(2026, 3, 2, 9, tzinfo=UTC))
h.record_work(b, exercise_index=0, exercise_name="Side plank", kind="hold", set=1, rep=1,
              side=None, seconds=5.0, at=datetime(2026, 3, 2, 9, 1, tzinfo=UTC))
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_session_reads_as_crashed_and_its_committed_pain_stop_survives(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(data)], capture_output=True, check=False
    )
    assert proc.returncode == -9, proc.stderr
    with History.open(data) as h:
        summaries = h.sessions()
        assert [(s.outcome, s.pain_stops) for s in summaries] == [("crashed", 0), ("stop_pain", 1)]
        # The crashed session ends at the last thing recorded in it.
        assert summaries[0].minutes == pytest.approx(1.0)
        stops = h.export()["sessions"][0]["pain_stops"]
        assert [(p["exercise_name"], p["seconds_into_work"]) for p in stops] == [
            ("Side plank", 7.0)
        ]


def test_a_session_of_a_live_process_stays_running(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with History.open(data) as h:
        h.start_session("/r.toml", "Back", "h")
    with History.open(data) as h:
        assert [s.outcome for s in h.sessions()] == ["running"]


def test_sessions_are_listed_newest_first_with_minutes_outcome_and_pain(
    history: History, tmp_path: Path
) -> None:
    path = str(tmp_path / "back.toml")
    play_holds(history, path, 1, 10)
    play_holds(history, path, 2, 10, pain_at=7.0)
    play_holds(history, str(tmp_path / "other.toml"), 3, 10, outcome=Outcome.QUIT)
    rows = history.sessions(routine_path=path)
    assert [(r.outcome, r.minutes, r.pain_stops, r.max_pain) for r in rows] == [
        ("stop_pain", 3.0, 1, 4),
        ("completed", 5.0, 0, None),
    ]
    assert rows[0].routine_path == routine_key(path)
    assert [r.outcome for r in history.sessions(limit=1)] == ["quit"]


def test_a_pain_stop_outcome_is_not_overwritten_by_a_later_end(history: History) -> None:
    sid = history.start_session("/r.toml", "Back", "h")
    history.record_pain_stop(
        sid, exercise_index=0, exercise_name="x", set=1, rep=1, side=None, seconds_into_work=3.0
    )
    history.end_session(sid, "quit")
    assert history.sessions()[0].outcome == "stop_pain"


def test_the_outcome_check_of_the_first_migration_lists_exactly_the_outcomes() -> None:
    # Shipped migrations are never edited: this keeps the CHECK and the enum from drifting.
    check = re.search(r"CHECK \(outcome IN \(([^)]*)\)\)", MIGRATIONS[0])
    assert check is not None
    listed = [value.strip().strip("'") for value in check.group(1).split(",")]
    assert listed == [outcome.value for outcome in Outcome]


def test_every_ending_outcome_is_stored_as_its_string(history: History) -> None:
    ends = [outcome for outcome in Outcome if outcome.ended]
    assert Outcome.RUNNING not in ends and len(ends) == len(Outcome) - 1
    for outcome in ends:
        sid = history.start_session("/r.toml", "Back", "h")
        history.end_session(sid, outcome)
    con = sqlite3.connect(history.path)
    stored = con.execute("SELECT outcome, typeof(outcome) FROM sessions ORDER BY id").fetchall()
    con.close()
    assert stored == [(o.value, "text") for o in ends]


@pytest.mark.parametrize("outcome", ["running", "finished", "", None])
def test_a_session_cannot_end_as_running_or_an_unknown_outcome(
    history: History, outcome: object
) -> None:
    sid = history.start_session("/r.toml", "Back", "h")
    with pytest.raises(ValueError, match="unknown session outcome"):
        history.end_session(sid, outcome)  # type: ignore[arg-type]
    assert [s.outcome for s in history.sessions()] == [Outcome.RUNNING]


def test_exercise_history_gives_per_session_sets_reps_holds_and_pain(
    history: History, tmp_path: Path
) -> None:
    path = str(tmp_path / "back.toml")
    play_holds(history, path, 1, 10)
    play_holds(history, path, 2, 11, pain_at=7.0)
    stats = history.exercise_history(path, "side PLANK")
    assert [
        (
            s.completed_sets,
            s.completed_reps,
            s.max_hold_seconds,
            s.total_seconds,
            s.pain_stop,
            s.pain_at_seconds,
            s.pain_rating,
        )
        for s in stats
    ] == [(2, 2, 10.0, 20.0, False, None, None), (1, 1, 11.0, 18.0, True, 7.0, 4)]


def test_recorded_sessions_drive_adaptation_pain_at_7_seconds_gives_5(
    history: History, tmp_path: Path
) -> None:
    path = str(tmp_path / "back.toml")
    r = Routine("Back", (Exercise(0, "Side plank", "hold", (1, 1), hold=10.0),))
    play_holds(history, path, 1, 10)
    play_holds(history, path, 2, 10)
    adapted, _ = adapt_routine(r, history.records(path))
    assert adapted.exercises[0].hold == 11.0
    play_holds(history, path, 3, 11, pain_at=7.0)
    adapted, _ = adapt_routine(r, history.records(path))
    assert adapted.exercises[0].hold == 5.0
    assert adapted.exercises[0].adjustment == (
        "Last time Side plank hurt at 7 seconds, so today's holds are 5 seconds."
    )
    # A session that quit halfway keeps the regressed level.
    play_holds(history, path, 4, 5, outcome=Outcome.QUIT)
    assert adapt_routine(r, history.records(path))[0].exercises[0].hold == 5.0
    play_holds(history, path, 5, 5)
    play_holds(history, path, 6, 5)
    assert adapt_routine(r, history.records(path))[0].exercises[0].hold == 6.0
    # Other routines do not count.
    assert history.records(str(tmp_path / "other.toml")) == {}


def test_pain_ratings_outside_0_to_10_are_refused(history: History) -> None:
    with pytest.raises(VoicecoachError, match="0 to 10"):
        history.add_pain_note(11)
    sid = history.start_session("/r.toml", "Back", "h")
    stop = history.record_pain_stop(
        sid,
        exercise_index=None,
        exercise_name=None,
        set=None,
        rep=None,
        side=None,
        seconds_into_work=None,
    )
    with pytest.raises(VoicecoachError, match="0 to 10"):
        history.set_pain_rating(stop, -1)
    history.set_pain_rating(stop, None)


def test_json_export_round_trips(history: History, tmp_path: Path) -> None:
    path = str(tmp_path / "back.toml")
    play_holds(history, path, 1, 10)
    play_holds(history, path, 2, 10, pain_at=6.0)
    history.add_pain_note(3, "ok", at=at(9000))
    data = history.export()
    assert json.loads(json.dumps(data)) == data
    assert [len(s["work"]) for s in data["sessions"]] == [2, 2]
    assert data["sessions"][1]["pain_stops"][0]["rating"] == 4
    assert data["sessions"][1]["work"][1]["completed"] is False


def test_csv_export_round_trips_every_record(history: History, tmp_path: Path) -> None:
    path = str(tmp_path / "back.toml")
    play_holds(history, path, 1, 10)
    play_holds(history, path, 2, 10, pain_at=6.0)
    history.add_pain_note(3, 'said "ouch", then, rested', exercise_name="Side plank")
    out = io.StringIO()
    history.export_csv(out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    data = history.export()
    assert [r["record"] for r in rows] == [
        "session",
        "work",
        "work",
        "session",
        "work",
        "work",
        "pain_stop",
        "pain_note",
    ]
    work = [r for r in rows if r["record"] == "work"]
    exported = [w for s in data["sessions"] for w in s["work"]]
    assert [(float(r["seconds"]), r["completed"] == "True", r["at"]) for r in work] == [
        (w["seconds"], w["completed"], w["at"]) for w in exported
    ]
    note = rows[-1]
    assert note["text"] == 'said "ouch", then, rested'
    assert int(note["rating"]) == 3
    assert rows[0]["session_routine_path"] == routine_key(path)


def test_timeline_hash_is_stable_and_tells_timelines_apart() -> None:
    seg = Segment(0.0, 5.0, "work", 0, "Side plank", 1, 1, None)
    a = Timeline("Back", 5.0, (seg,), (Cue(0.0, "start", tone="start"),))
    b = Timeline("Back", 5.0, (seg,), (Cue(0.0, "start", tone="stop"),))
    assert timeline_hash(a) == timeline_hash(a)
    assert len(timeline_hash(a)) == 64
    assert timeline_hash(a) != timeline_hash(b)


def test_data_dir_comes_from_the_environment_when_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VOICECOACH_DATA_DIR", str(tmp_path / "vc"))
    assert default_data_dir() == tmp_path / "vc"
    monkeypatch.delenv("VOICECOACH_DATA_DIR")
    assert default_data_dir().name == "voicecoach"
    assert os.fspath(default_data_dir()) != os.fspath(tmp_path / "vc")


def test_the_files_doses_are_stored_and_a_hand_edit_resets_the_level(tmp_path: Path) -> None:
    from voicecoach.adapt import Dose, adapt_routine
    from voicecoach.model import Exercise, Routine

    def played(h: History, day: int, written_hold: float, hold: float) -> None:
        sid = h.start_session(
            "r.toml",
            "R",
            "hash",
            started_at=at(day * 24 * 60),
            written={"plank": Dose("hold", (1,), hold=written_hold)},
        )
        h.record_work(
            sid,
            exercise_index=0,
            exercise_name="Plank",
            kind="hold",
            set=1,
            rep=1,
            side=None,
            seconds=hold,
            at=at(day * 24 * 60 + 1),
        )
        h.end_session(sid, "completed", at=at(day * 24 * 60 + 2))

    with History.open(tmp_path) as h:
        for day in range(2):
            played(h, day, 20, 20)
        edited = Routine("R", (Exercise(0, "Plank", "hold", (1,), hold=12),))
        records = h.records("r.toml")
        assert [s.written.hold for s in records["plank"]] == [20, 20]
        # The person lowered the hold by hand: their 12 s stands, not the history's 21 s.
        adapted, _ = adapt_routine(edited, records)
        assert adapted.exercises[0].hold == 12
        unedited = Routine("R", (Exercise(0, "Plank", "hold", (1,), hold=20),))
        assert adapt_routine(unedited, records)[0].exercises[0].hold == 21
