"""A damaged history never gives a traceback: one line names the file and the problem, and each
command goes on where it safely can.

Every case starts from a real history file with three sessions of a real routine (two
pain-free, then a pain stop 7 s into the second hold, so today's holds are regressed from
10 s to 5 s), damages it the way disks, sync tools and hand edits do, and runs the real
commands: ``compile`` and ``progress`` (through Click's runner) and ``play`` (a real
process without a terminal, ended by SIGTERM once it has begun).

The rules checked: reading goes on with the routine's own doses when the file cannot be
read, and says that those may be higher than after a recent pain stop; rows damaged one
by one are skipped and counted; a pain stop is kept with whatever can be read of it;
``play`` plays and says when it cannot record; ``pain`` and ``history`` stop with a
one-line message (exit 1) when they cannot do their job.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import VOICECOACH
from voicecoach.cli import cli
from voicecoach.history import DB_NAME, History, HistoryError

ROUTINE = """\
[routine]
title = "Back"

[[exercise]]
name = "Side plank"
kind = "hold"
hold = 10
reps = 1
sets = 2
"""
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
REGRESSED = "Side plank: 2 x 1 x 10 s holds -> 2 x 1 x 5 s holds (regress)"
ADVICE = "if you stopped for pain recently, go easier"
# A guard against a hung process, not a timing assertion.
HANG_S = 60.0


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def seed(data: Path, routine: Path) -> None:
    """Two pain-free sessions of 10 s holds, then a pain stop 7 s into the second hold."""
    with History.open(data) as h:
        for day, pain in ((0, False), (1, False), (2, True)):
            start = at(day * 24 * 60)
            sid = h.start_session(str(routine), "Back", "hash", started_at=start)
            for set_no in (1, 2):
                if pain and set_no == 2:
                    h.record_work(
                        sid,
                        exercise_index=0,
                        exercise_name="Side plank",
                        kind="hold",
                        set=2,
                        rep=1,
                        side=None,
                        seconds=7.0,
                        completed=False,
                        at=start + timedelta(minutes=2),
                    )
                    stop = h.record_pain_stop(
                        sid,
                        exercise_index=0,
                        exercise_name="Side plank",
                        set=2,
                        rep=1,
                        side=None,
                        seconds_into_work=7.0,
                        at=start + timedelta(minutes=2),
                    )
                    h.set_pain_rating(stop, 4)
                    break
                h.record_work(
                    sid,
                    exercise_index=0,
                    exercise_name="Side plank",
                    kind="hold",
                    set=set_no,
                    rep=1,
                    side=None,
                    seconds=10.0,
                    at=start + timedelta(minutes=set_no),
                )
            else:
                h.end_session(sid, "completed", at=start + timedelta(minutes=5))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A seeded history in ``tmp_path/data`` and the routine in ``tmp_path/back.toml``."""
    routine = tmp_path / "back.toml"
    routine.write_text(ROUTINE, encoding="utf-8")
    seed(tmp_path / "data", routine)
    monkeypatch.setenv("VOICECOACH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NO_COLOR", "1")
    return tmp_path


def db_of(home: Path) -> Path:
    return home / "data" / DB_NAME


def edit(home: Path, *statements: str, check_constraints: bool = True) -> None:
    """Damage the file as a hand edit or another program would."""
    conn = sqlite3.connect(db_of(home))
    try:
        if not check_constraints:
            conn.execute("PRAGMA ignore_check_constraints = 1")
        for sql in statements:
            conn.execute(sql)
        conn.commit()
    finally:
        conn.close()


def run(*args: str) -> tuple[int, str, str]:
    """A command through Click's runner; it must end by exiting, never by an exception."""
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert "Traceback" not in result.stdout + result.stderr
    return result.exit_code, result.stdout, result.stderr


def one_warning(err: str, *parts: str) -> str:
    """The single warning line on stderr, checked to contain each of ``parts``."""
    lines = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(lines) == 1, err
    for part in parts:
        assert part in lines[0], lines[0]
    return lines[0]


def play_briefly(home: Path) -> tuple[int, str]:
    """``voicecoach play --text`` with no terminal, ended by SIGTERM once it has begun."""
    env = {
        **os.environ,
        "VOICECOACH_DATA_DIR": str(home / "data"),
        "VOICECOACH_CACHE_DIR": str(home / "cache"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }
    proc = subprocess.Popen(
        [*VOICECOACH, "play", str(home / "back.toml"), "--text"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert "INTRO" in first, proc.communicate(timeout=HANG_S)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=HANG_S)
    assert "Traceback" not in err
    return proc.returncode, err


def test_the_seeded_history_regresses_the_holds(home: Path) -> None:
    # The control: undamaged, the history is read and the pain stop counts.
    code, out, err = run("compile", str(home / "back.toml"))
    assert code == 0 and REGRESSED in out and err == ""


# --- files that cannot be read at all -------------------------------------------------------


@pytest.mark.e2e  # plays a session in real time (play_briefly)
@pytest.mark.parametrize(
    "content, problem",
    [
        (b"this is not a database\n" * 200, "it is not an SQLite database"),
        (b"SQLite format 3\x00" + b"\xff" * 4080, "not"),
    ],
    ids=["text", "bad-header"],
)
def test_a_file_that_is_not_sqlite_leaves_the_routines_own_doses_and_says_so(
    home: Path, content: bytes, problem: str
) -> None:
    db_of(home).write_bytes(content)
    routine = str(home / "back.toml")
    for command in (["compile", routine], ["progress", routine]):
        code, out, err = run(*command)
        assert code == 0
        assert "Adapted" not in out and "regress" not in out
        one_warning(err, str(db_of(home)), problem, "using the routine's own doses", ADVICE)
    for command in (["history"], ["pain", "5"]):
        code, out, err = run(*command)
        assert code == 1 and out == ""
        assert err.startswith(f"cannot open the history at {db_of(home)}: ")
        assert len(err.splitlines()) == 1
    code, err = play_briefly(home)
    assert code == 128 + signal.SIGTERM
    one_warning(err, str(db_of(home)), "this session will not be recorded", ADVICE)
    assert err.splitlines()[-1] == (
        "Session ended early (not recorded: the history could not be opened)."
    )


def test_a_zero_byte_file_is_a_new_empty_history(home: Path) -> None:
    db_of(home).write_bytes(b"")
    code, out, err = run("compile", str(home / "back.toml"))
    assert code == 0 and "Adapted" not in out and err == ""
    assert run("pain", "3")[0] == 0
    code, out, err = run("history")
    assert code == 0 and err == ""


def test_a_data_directory_that_is_a_file_is_named(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The platform's data directory (no --data-dir, no VOICECOACH_DATA_DIR) is a file.
    monkeypatch.delenv("VOICECOACH_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "xdg"))
    (home / "xdg").mkdir()
    folder = home / "xdg" / "voicecoach"
    folder.write_text("x")
    code, out, err = run("compile", str(home / "back.toml"))
    assert code == 0 and "Adapted" not in out
    one_warning(err, f"{folder} is a file, not a directory", ADVICE)
    for command in (["history"], ["pain", "2"]):
        code, _, err = run(*command)
        assert code == 1 and f"{folder} is a file, not a directory" in err
    # Named explicitly, Click's own check of --data-dir refuses it as a usage mistake.
    code, _, err = run("--data-dir", str(folder), "compile", str(home / "back.toml"))
    assert code == 2 and f"'{folder}' is a file" in err


@pytest.mark.e2e  # plays a session in real time (play_briefly)
def test_a_history_from_a_newer_voicecoach_is_left_alone(home: Path) -> None:
    edit(home, "PRAGMA user_version = 99")
    code, out, err = run("compile", str(home / "back.toml"))
    assert code == 0 and "Adapted" not in out
    one_warning(err, "written by a newer voicecoach", "upgrade voicecoach", ADVICE)
    code, _, err = run("history")
    assert code == 1 and "newer voicecoach" in err
    code, err = play_briefly(home)
    assert code == 128 + signal.SIGTERM
    one_warning(err, "newer voicecoach", "this session will not be recorded")
    conn = sqlite3.connect(db_of(home))
    try:
        assert conn.execute("PRAGMA user_version").fetchone() == (99,)
        assert conn.execute("SELECT COUNT(*) FROM sessions").fetchone() == (3,)
    finally:
        conn.close()


# --- files that can be read but not written -------------------------------------------------


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make ``path`` read-only for this user, root included (chattr +i), then undo it."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o400)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    # Root ignores permission bits; the immutable attribute stops root too.
    if shutil.which("chattr") is None:
        pytest.skip("running as root without chattr: cannot make a file read-only")
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"running as root and chattr +i refused here: {done.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@pytest.mark.e2e  # plays a session in real time (play_briefly)
def test_a_read_only_history_is_read_and_pain_and_play_say_they_cannot_record(home: Path) -> None:
    with read_only(db_of(home)):
        code, out, err = run("compile", str(home / "back.toml"))
        assert code == 0 and REGRESSED in out and err == ""
        code, out, _ = run("history")
        assert code == 0 and out.count("Back") == 3
        code, out, err = run("pain", "5")
        assert code == 1 and out == ""
        assert err == f"cannot record in the history at {db_of(home)}: the file is read-only\n"
        code, err = play_briefly(home)
        assert code == 128 + signal.SIGTERM
        one_warning(
            err,
            f"cannot record in the history at {db_of(home)}: the file is "
            "read-only; this session will not be recorded",
        )
        assert err.splitlines()[-1] == (
            "Session ended early (not recorded: the file is read-only)."
        )
    conn = sqlite3.connect(db_of(home))
    try:
        assert conn.execute("SELECT COUNT(*) FROM sessions").fetchone() == (3,)
        assert conn.execute("SELECT COUNT(*) FROM pain_notes").fetchone() == (0,)
    finally:
        conn.close()


LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")  # the write lock, held until stdin closes
print("locked", flush=True)
sys.stdin.read()
"""


@pytest.mark.e2e  # plays a session in real time (play_briefly)
def test_a_history_locked_by_another_program_is_read_and_writes_give_up_with_a_message(
    home: Path,
) -> None:
    import sys

    # A session left 'running' by a killed process: opening would tidy it up, but must
    # not wait on the lock to do so (it is read as crashed either way).
    edit(home, "UPDATE sessions SET outcome = 'running', pid = 0 WHERE id = 1")
    locker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(db_of(home))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert locker.stdout is not None and locker.stdout.readline() == "locked\n"
        # Reading a WAL database never waits for a writer.
        code, out, err = run("compile", str(home / "back.toml"))
        assert code == 0 and REGRESSED in out and err == ""
        code, out, err = run("history")
        assert code == 0 and "interrupted" in out
        code, _, err = run("pain", "5")
        assert code == 1
        assert err == (
            f"cannot record in the history at {db_of(home)}: another program "
            "holds a lock on it (waited 5 s)\n"
        )
        code, err = play_briefly(home)
        assert code == 128 + signal.SIGTERM
        one_warning(err, "holds a lock on it", "this session will not be recorded")
    finally:
        locker.communicate(timeout=HANG_S)  # closes stdin: the lock goes


# --- rows and columns damaged one by one ------------------------------------------------------


@pytest.mark.e2e  # plays a session in real time (play_briefly)
def test_a_missing_column_is_named_and_the_rest_still_adapts(home: Path) -> None:
    edit(home, "ALTER TABLE sessions DROP COLUMN written")
    code, out, err = run("compile", str(home / "back.toml"))
    assert code == 0 and REGRESSED in out
    one_warning(err, str(db_of(home)), "missing column sessions.written", ADVICE)
    code, out, err = run("history")
    assert code == 0 and out.count("Back") == 3
    one_warning(err, "missing column sessions.written")
    # Nothing can be stored without the column: play says so and plays.
    code, err = play_briefly(home)
    assert code == 128 + signal.SIGTERM
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2 and "missing column sessions.written" in warnings[0]
    assert warnings[1].endswith(
        "table sessions has no column named written; this session will not be recorded"
    )


def test_without_the_seconds_of_work_nothing_progresses_but_the_pain_stop_still_counts(
    home: Path,
) -> None:
    edit(home, "ALTER TABLE work DROP COLUMN seconds")
    code, out, err = run("compile", str(home / "back.toml"))
    assert code == 0 and REGRESSED in out
    one_warning(err, "6 damaged rows (6 in work)", "missing column work.seconds")


def test_a_session_started_yesterday_is_skipped_and_counted(home: Path) -> None:
    edit(home, "UPDATE sessions SET started_at = 'yesterday' WHERE id = 1")
    code, out, err = run("compile", str(home / "back.toml"))
    assert code == 0 and REGRESSED in out
    one_warning(err, "1 damaged row (1 in sessions) skipped or read in part", ADVICE)
    code, out, err = run("history")
    assert code == 0 and out.count("Back") == 2  # what it can: the two readable ones
    one_warning(err, "1 damaged row")


def test_a_pain_stop_whose_session_time_is_damaged_still_regresses(home: Path) -> None:
    edit(
        home,
        "UPDATE sessions SET started_at = 'never', ended_at = 'soon' WHERE id = 3",
        "UPDATE pain_stops SET seconds_into_work = 'seven'",
    )
    code, out, err = run("compile", str(home / "back.toml"))
    assert code == 0
    # Unreadable seconds count as a stop outside work: a step down from the level the
    # two pain-free sessions had reached (11 s), to 75 % of it.
    assert "Side plank: 2 x 1 x 10 s holds -> 2 x 1 x 8 s holds (regress)" in out
    one_warning(err, "2 damaged rows (1 in pain_stops, 1 in sessions)")


@pytest.mark.parametrize(
    "written",
    [
        "{not json",
        "[1,2,3]",
        '{"side plank": ["hold", "x", null, null]}',
        "42",
        '{"side plank": ["hold", [1, 1], 10.0]}',
    ],
)
def test_damaged_stored_doses_are_ignored(home: Path, written: str) -> None:
    edit(home, f"UPDATE sessions SET written = '{written}'")
    code, out, err = run("compile", str(home / "back.toml"))
    assert code == 0 and REGRESSED in out
    one_warning(err, "3 damaged rows (3 in sessions)")


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE work SET seconds = 'abc' WHERE id = 1",
        "UPDATE work SET kind = 'jump' WHERE id = 1",
        "UPDATE work SET completed = 7 WHERE id = 1",
        "UPDATE work SET \"set\" = 'one' WHERE id = 1",
        "UPDATE work SET exercise_name = x'ff00' WHERE id = 1",
        "UPDATE sessions SET outcome = 'finished' WHERE id = 1",
        "UPDATE sessions SET pid = 'me' WHERE id = 1",
        "UPDATE sessions SET routine_title = x'00ff' WHERE id = 1",
    ],
)
def test_a_damaged_value_skips_its_row_and_the_rest_still_adapts(home: Path, change: str) -> None:
    edit(home, "PRAGMA foreign_keys = OFF", change, check_constraints=False)
    code, out, err = run("compile", str(home / "back.toml"))
    assert code == 0 and REGRESSED in out
    one_warning(err, "1 damaged row", str(db_of(home)), ADVICE)
    for command in (
        ["history"],
        ["history", "side plank"],
        ["history", "--json"],
        ["history", "--csv"],
        ["progress", str(home / "back.toml")],
    ):
        code, out, err = run(*command)
        assert code == 0, (command, err)
        assert out


def test_a_pain_stop_of_no_session_still_counts_and_work_of_no_session_is_left_out(
    home: Path,
) -> None:
    edit(
        home,
        "PRAGMA foreign_keys = OFF",
        "UPDATE work SET session_id = 99 WHERE id = 1",
        "UPDATE pain_stops SET session_id = 'three'",
    )
    code, out, err = run("compile", str(home / "back.toml"))
    assert code == 0
    # Nothing ties the pain stop to this routine any more, but its exercise is here: it
    # counts (placed when it was recorded), rather than the 11 s level without it.
    assert REGRESSED in out
    one_warning(err, "1 damaged row (1 in pain_stops)", ADVICE)
    code, out, err = run("history", "side plank")
    assert code == 0
    one_warning(err, "2 damaged rows (1 in pain_stops, 1 in work)")


def test_a_hand_made_table_with_nulls_everywhere_is_read_around(home: Path) -> None:
    # A file recreated without the NOT NULL constraints (a hand edit with another tool).
    edit(
        home,
        "PRAGMA foreign_keys = OFF",
        "CREATE TABLE w2 AS SELECT * FROM work",
        "DROP TABLE work",
        "ALTER TABLE w2 RENAME TO work",
        "INSERT INTO work (session_id) VALUES (1)",
        "INSERT INTO work (session_id, exercise_name) VALUES (2, 'Side plank')",
        "INSERT INTO sessions (id, routine_path, routine_title, timeline_hash, started_at)"
        " VALUES (50, x'01', x'02', 'h', x'03')",
    )
    code, out, err = run("compile", str(home / "back.toml"))
    assert code == 0
    # Sessions 1 and 2 have unreadable work now: they do not count as completed, which
    # changes nothing here; the pain stop still regresses.
    assert REGRESSED in out
    one_warning(err, "2 damaged rows (2 in work)")
    code, out, err = run("history", "--json")
    assert code == 0 and len(json.loads(out)["sessions"]) == 4


# --- disk full ---------------------------------------------------------------------------------


def test_sqlite_full_while_recording_is_said_as_disk_full_and_the_session_goes_on(
    tmp_path: Path,
) -> None:
    # SQLite's own SQLITE_FULL, from a page limit on this connection.
    with History.open(tmp_path) as h:
        sid = h.start_session(str(tmp_path / "r.toml"), "R", "h")
        pages = h._store.conn.execute("PRAGMA page_count").fetchone()[0]
        h._store.conn.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(HistoryError) as caught:
            for rep in range(1, 200):
                h.record_work(
                    sid,
                    exercise_index=0,
                    exercise_name="x" * 500,
                    kind="hold",
                    set=1,
                    rep=rep,
                    side=None,
                    seconds=1.0,
                )
        assert str(caught.value) == (f"cannot record in the history at {h.path}: disk full")
        # The connection is still usable after the failed transaction.
        assert h.sessions()[0].outcome == "running"


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 400 KiB tmpfs (root only): a real file system that fills up."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def fill(folder: Path) -> None:
    """Take every free byte of ``folder``'s file system."""
    with open(folder / "filler", "wb", buffering=0) as f:
        for size in (65536, 4096, 512, 1):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError:
                continue


def test_a_full_disk_is_said_as_disk_full(
    home: Path, tiny_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(db_of(home), tiny_disk / DB_NAME)
    monkeypatch.setenv("VOICECOACH_DATA_DIR", str(tiny_disk))
    fill(tiny_disk)
    code, _, err = run("pain", "5")
    assert code == 1
    assert err == f"cannot open the history at {tiny_disk / DB_NAME}: disk full\n"
    code, _, err = run("compile", str(home / "back.toml"))
    assert code == 0
    one_warning(err, "disk full", "using the routine's own doses", ADVICE)


def test_a_pain_stop_that_cannot_be_recorded_says_so_and_tells_the_person_to_go_lower(
    home: Path,
) -> None:
    from tests.test_history_real_work import at_work, play
    from voicecoach.views import session_summary

    said: list[str] = []
    with read_only(db_of(home)), History.open(home / "data") as history:
        result, _ = play(
            history,
            home / "back.toml",
            preview=True,
            said=said,
            keys=[(at_work("Side plank", 1, 2.0), "x")],
        )
    assert (
        "Stopped for pain: NOT recorded: the file is read-only. Release the brace and "
        "breathe easily." in said
    )
    assert result.outcome == "stop_pain" and not result.pain_recorded
    assert result.record_note == "the file is read-only"
    assert session_summary(result).endswith(
        "(NOT recorded: the file is read-only). Next time, start lower yourself."
    )
