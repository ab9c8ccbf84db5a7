"""Only real work moves a dose: previews, skips, quits, crashes and lost devices never progress.

Sessions run through the real path (the routine compiled, the plan, the mixer on the text
clock, the Player forwarding keys, the Recorder writing a real SQLite file), with keys
pressed by a script thread when the mixer reaches a given bout; `History.records` and
`load_today` then say what the next session will be.

The text clock runs these sessions fast. A session that stands for real training has
its start time moved back afterwards by the length of its plan (`lasted_in_real_time`):
the history refuses to count a "completed" session that took less wall-clock time than
the work it recorded (a preview stored by an older voicecoach).
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import VOICECOACH
from voicecoach.cli import cli
from voicecoach.errors import VoicecoachError
from voicecoach.history import History, routine_key, timeline_hash
from voicecoach.keys import Key
from voicecoach.player import Player, PlayResult
from voicecoach.program import load_today
from voicecoach.recording import Recorder, SessionInfo, is_preview
from voicecoach.session import build_mixer, prepare_silent

# Two exercises of two 8-second holds; Alpha progresses after a single pain-free session,
# so one session is enough to see whether it counted.
TWO = """\
[routine]
title = "Two"

[defaults]
rest = 0
get_ready = 1
countdown = 0
between_reps = 0
brace = false
breathing = false

[[exercise]]
name = "Alpha"
kind = "hold"
hold = 8
reps = 2
progression = {{ after = 1 }}

[[exercise]]
name = "Bravo"
kind = "hold"
hold = 8
reps = 2
progression = {{ after = {bravo_after} }}
"""

# A guard against a hung session, not a timing assertion.
HANG_S = 60.0


def routine(tmp_path: Path, bravo_after: int = 1) -> Path:
    path = tmp_path / "two.toml"
    path.write_text(TWO.format(bravo_after=bravo_after), encoding="utf-8")
    return path


Condition = Callable[[Player], bool]


def at_work(name: str, rep: int, into_s: float = 0.2) -> Condition:
    """True once the mixer is ``into_s`` seconds into the work bout ``rep`` of ``name``."""

    def reached(player: Player) -> bool:
        m = player.mixer.state
        played = player.plan.segments[m.segment_index]
        s = played.segment
        into = (m.position_frames - played.start_frame) / player.plan.samplerate
        return s.phase == "work" and s.name == name and s.rep == rep and into >= into_s

    return reached


def at_start(player: Player) -> bool:
    return player.mixer.state.output_frames > 0


def play(
    history: History | None,
    file: Path,
    *,
    keys: list[tuple[Condition, str]] = (),
    speed: float = 50.0,
    preview: bool = False,
    said: list[str] | None = None,
) -> tuple[PlayResult, Recorder]:
    """Play ``file`` as today's session on the text clock, pressing ``keys`` when due.

    What the player says on stderr is appended to ``said``.
    """
    today = load_today(str(file), history)
    plan, mixer = build_mixer(today.timeline, prepare_silent(today.timeline))
    recorder = Recorder(
        history,
        today.routine,
        SessionInfo(
            str(today.path), today.routine.title, timeline_hash(today.timeline), today.written
        ),
        preview=preview,
    )
    recorder.start()
    said = [] if said is None else said
    player = Player(today.timeline, plan, mixer, recorder, text=True, speed=speed, out=said.append)
    script = threading.Thread(target=press_when_due, args=(player, list(keys)), daemon=True)
    script.start()
    result = player.run()
    script.join(HANG_S)
    assert not script.is_alive(), "a scripted key was never due"
    return result, recorder


def press_when_due(player: Player, keys: list[tuple[Condition, str]]) -> None:
    """Press each key once its condition holds (the key thread's path: `Player.on_key`)."""
    deadline = time.monotonic() + HANG_S
    for condition, key in keys:
        while not condition(player):
            if player.mixer.state.finished or time.monotonic() > deadline:
                return
            time.sleep(0.0005)
        player.on_key(Key(key))


def lasted_in_real_time(history: History, session_id: int, mixer_seconds: float) -> None:
    """Move the session's start back so it lasted its plan on the wall clock (real training)."""
    conn = sqlite3.connect(history.path)
    try:
        (ended,) = conn.execute(
            "SELECT ended_at FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
        start = datetime.fromisoformat(ended) - timedelta(seconds=mixer_seconds)
        conn.execute(
            "UPDATE sessions SET started_at = ? WHERE id = ?", (start.isoformat(), session_id)
        )
        conn.commit()
    finally:
        conn.close()


def rows(history: History, sql: str) -> list[tuple]:
    conn = sqlite3.connect(history.path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def holds(history: History, file: Path) -> dict[str, tuple[tuple[int, ...], float | None]]:
    """Today's sets and hold seconds per exercise, as the next session would play them."""
    today = load_today(str(file), history)
    return {ex.name: (ex.reps, ex.hold) for ex in today.routine.exercises}


@pytest.fixture
def history(tmp_path: Path):
    with History.open(tmp_path / "data") as h:
        yield h


def run_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


# --- previews -----------------------------------------------------------------------------


def test_a_preview_is_text_at_any_speed_but_real_time() -> None:
    assert is_preview(True, 1000) and is_preview(True, 0.5)
    assert not is_preview(True, 1.0) and not is_preview(False, 1.0)


def test_previews_record_nothing_say_so_and_never_raise_a_dose(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICECOACH_DATA_DIR", str(tmp_path / "data"))
    file = str(routine(tmp_path))
    for _ in range(3):
        code, out, err = run_cli("play", file, "--text", "--speed", "1000")
        assert code == 0, err
        lines = err.splitlines()
        assert lines[0].startswith("preview: not recorded")
        assert lines[-1] == "Preview complete (preview: not recorded)."
        assert "INTRO" in out
    conn = sqlite3.connect(tmp_path / "data" / "history.sqlite3")
    try:
        assert conn.execute("SELECT COUNT(*) FROM sessions").fetchone() == (0,)
        assert conn.execute("SELECT COUNT(*) FROM work").fetchone() == (0,)
    finally:
        conn.close()
    code, out, _ = run_cli("compile", file)
    assert code == 0 and "Adapted" not in out
    code, out, _ = run_cli("progress", file)
    assert out.strip() == "No changes: the file's doses stand."


def test_a_pain_stop_in_a_preview_is_recorded_without_its_work_and_regresses_next_time(
    tmp_path: Path, history: History
) -> None:
    file = routine(tmp_path)
    result, _ = play(history, file, preview=True, keys=[(at_work("Alpha", 2, 6.0), "x")])
    assert result.outcome == "stop_pain" and result.pain_recorded and result.preview
    assert result.record_note == ""  # the pain stop is recorded: nothing to add
    assert rows(history, "SELECT outcome FROM sessions") == [("stop_pain",)]
    assert rows(history, "SELECT exercise_name, rep FROM pain_stops") == [("Alpha", 2)]
    # A preview's work is not training: none of it is stored, even with the pain stop.
    assert rows(history, "SELECT COUNT(*) FROM work") == [(0,)]
    (seconds,) = rows(history, "SELECT seconds_into_work FROM pain_stops")[0]
    assert 6.0 <= seconds < 6.6
    # Regressed below the pain: 75 % of the 6 s reached; Bravo is untouched.
    assert holds(history, file) == {"Alpha": ((2,), 4.0), "Bravo": ((2,), 8.0)}
    today = load_today(str(file), history)
    assert [(a.name, a.reason) for a in today.adjustments] == [("Alpha", "regress")]


def test_a_preview_quit_leaves_no_session(tmp_path: Path, history: History) -> None:
    result, _ = play(history, routine(tmp_path), preview=True, keys=[(at_work("Bravo", 1), "q")])
    assert result.outcome == "quit" and result.record_note == "preview: not recorded"
    assert rows(history, "SELECT COUNT(*) FROM sessions") == [(0,)]


# --- real sessions that end early or skip -------------------------------------------------


def test_a_completed_session_in_real_time_progresses_each_exercise(
    tmp_path: Path, history: History
) -> None:
    # The control for the tests below: the same path, nothing skipped, counts.
    file = routine(tmp_path)
    result, recorder = play(history, file)
    assert result.outcome == "completed" and result.record_note == ""
    lasted_in_real_time(history, recorder.session_id or 0, 60)
    assert holds(history, file) == {"Alpha": ((2,), 9.0), "Bravo": ((2,), 9.0)}


def test_the_same_session_recorded_faster_than_real_time_does_not_count(
    tmp_path: Path, history: History
) -> None:
    # What older versions stored for a preview: completed, 32 s of holds in about 1 s.
    file = routine(tmp_path)
    result, _ = play(history, file)
    assert result.outcome == "completed"
    assert rows(history, "SELECT COUNT(*) FROM work WHERE completed = 1") == [(4,)]
    assert holds(history, file) == {"Alpha": ((2,), 8.0), "Bravo": ((2,), 8.0)}


def test_next_through_an_exercise_stores_the_skipped_bouts_and_it_never_counts(
    tmp_path: Path, history: History
) -> None:
    file = routine(tmp_path)
    # One hold of Alpha done, the second left 0.5 s in with "next".
    result, recorder = play(history, file, keys=[(at_work("Alpha", 2, 0.5), "n")])
    assert result.outcome == "completed"
    lasted_in_real_time(history, recorder.session_id or 0, 60)
    work = rows(history, "SELECT exercise_name, rep, completed, seconds FROM work ORDER BY id")
    assert [w[:3] for w in work] == [
        ("Alpha", 1, 1),
        ("Bravo", 1, 1),
        ("Bravo", 2, 1),
        ("Alpha", 2, 0),
    ]
    # The skipped bout keeps the seconds done before "next" (about 0.5 s).
    assert 0.4 <= work[-1][3] < 1.0
    records = history.records(str(file))
    assert [s.completed for s in records["alpha"]] == [False]
    assert [s.completed for s in records["bravo"]] == [True]
    # Alpha stays at its level (not anchored to the one hold done); Bravo progresses.
    assert holds(history, file) == {"Alpha": ((2,), 8.0), "Bravo": ((2,), 9.0)}


def test_next_before_an_exercise_began_stores_all_its_bouts_as_skipped(
    tmp_path: Path, history: History
) -> None:
    file = routine(tmp_path)
    announce = at_work("Alpha", 1, 0.0)

    def getting_ready(player: Player) -> bool:
        s = player.plan.segments[player.mixer.state.segment_index].segment
        return s.phase == "get_ready" and s.name == "Alpha" and not announce(player)

    _, recorder = play(history, file, keys=[(getting_ready, "n")])
    lasted_in_real_time(history, recorder.session_id or 0, 60)
    assert rows(
        history,
        "SELECT exercise_name, rep, completed, seconds FROM work "
        "WHERE exercise_name = 'Alpha' ORDER BY rep",
    ) == [("Alpha", 1, 0, 0.0), ("Alpha", 2, 0, 0.0)]
    assert holds(history, file)["Alpha"] == ((2,), 8.0)


def test_back_restarting_a_set_counts_the_set_once_and_completes(
    tmp_path: Path, history: History
) -> None:
    file = routine(tmp_path)
    result, recorder = play(history, file, keys=[(at_work("Alpha", 2, 0.5), "b")])
    assert result.outcome == "completed"
    lasted_in_real_time(history, recorder.session_id or 0, 60)
    # Hold 1 done twice (before and after "back"), hold 2 once: the set was finished.
    assert rows(
        history, "SELECT rep, completed FROM work WHERE exercise_name = 'Alpha' ORDER BY id"
    ) == [(1, 1), (1, 1), (2, 1)]
    stats = history.exercise_history(str(file), "Alpha")
    assert [(s.completed_sets, s.completed_reps, s.best_set_reps) for s in stats] == [(1, 2, 2)]
    assert holds(history, file) == {"Alpha": ((2,), 9.0), "Bravo": ((2,), 9.0)}


def test_a_quit_before_the_first_work_changes_nothing(tmp_path: Path, history: History) -> None:
    file = routine(tmp_path)
    result, recorder = play(history, file, keys=[(at_start, "q")])
    assert result.outcome == "quit"
    lasted_in_real_time(history, recorder.session_id or 0, 60)
    assert rows(history, "SELECT outcome FROM sessions") == [("quit",)]
    assert rows(history, "SELECT COUNT(*) FROM work") == [(0,)]
    assert history.records(str(file)) == {}


def test_a_quit_after_an_exercise_breaks_its_run_without_changing_it(
    tmp_path: Path, history: History
) -> None:
    file = routine(tmp_path, bravo_after=2)
    for _ in range(2):  # Alpha completed twice (Bravo needs two sessions in a row)
        _, recorder = play(history, file, keys=[(at_work("Bravo", 2, 0.5), "q")])
        lasted_in_real_time(history, recorder.session_id or 0, 60)
    # Quit sessions never count: nobody progresses, however much was done.
    assert holds(history, file) == {"Alpha": ((2,), 8.0), "Bravo": ((2,), 8.0)}
    assert [r[0] for r in rows(history, "SELECT outcome FROM sessions")] == ["quit", "quit"]


ONE = """\
[routine]
title = "One"

[defaults]
get_ready = 1
countdown = 0
brace = false
breathing = false

[[exercise]]
name = "Alpha"
kind = "hold"
hold = 2
reps = 1
progression = { after = 1 }
"""

CRASH = """
import os, signal, sys
from voicecoach.history import History
h = History.open(sys.argv[1])
sid = h.start_session(sys.argv[2], "Two", "h")
for rep in (1, 2):
    h.record_work(sid, exercise_index=0, exercise_name="Alpha", kind="hold", set=1, rep=rep,
                  side=None, seconds=2.0)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_session_that_crashed_in_its_first_seconds_never_counts(tmp_path: Path) -> None:
    file = routine(tmp_path)
    data = tmp_path / "data"
    done = subprocess.run(
        [sys.executable, "-c", CRASH, str(data), str(file)], capture_output=True, check=False
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    with History.open(data) as h:
        assert [s.outcome for s in h.sessions()] == ["crashed"]
        assert [s.completed for s in h.records(str(file))["alpha"]] == [False]
        assert holds(h, file)["Alpha"] == ((2,), 8.0)


def test_a_session_whose_device_was_lost_never_counts(tmp_path: Path, history: History) -> None:
    # What Player records when the sound device goes (see test_play for the device
    # path itself): the work done so far, then the ending 'device_lost'.
    file = routine(tmp_path)
    key = routine_key(file)
    sid = history.start_session(key, "Two", "h", started_at=datetime(2026, 3, 1, 9))
    for rep in (1, 2):
        history.record_work(
            sid,
            exercise_index=0,
            exercise_name="Alpha",
            kind="hold",
            set=1,
            rep=rep,
            side=None,
            seconds=2.0,
            at=datetime(2026, 3, 1, 9, rep),
        )
    history.end_session(sid, "device_lost", at=datetime(2026, 3, 1, 9, 5))
    assert [s.completed for s in history.records(str(file))["alpha"]] == [False]
    assert holds(history, file)["Alpha"] == ((2,), 8.0)


def test_a_real_text_session_at_real_speed_is_recorded_and_progresses(
    tmp_path: Path, vc_env: dict[str, str]
) -> None:
    # No shortcut at all: `voicecoach play --text` at speed 1, as a person would use it
    # without sound; its wall clock is the real one.
    file = tmp_path / "one.toml"
    file.write_text(ONE, encoding="utf-8")
    env = vc_env
    done = subprocess.run(
        [*VOICECOACH, "play", str(file), "--text"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1] == "Session complete. Well done."
    assert "not recorded" not in done.stderr
    compiled = subprocess.run(
        [*VOICECOACH, "compile", str(file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Alpha: 1 x 1 x 2 s holds -> 1 x 1 x 3 s holds (progress)" in compiled.stdout


def test_a_session_whose_sound_device_never_opened_leaves_no_session(
    tmp_path: Path, history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No sound server at all (a socket that is not there): the stream cannot open.
    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path}/no-server-here")
    monkeypatch.setenv("VOICECOACH_CACHE_DIR", str(tmp_path / "cache"))
    file = routine(tmp_path)
    today = load_today(str(file), history)
    plan, mixer = build_mixer(today.timeline, prepare_silent(today.timeline, 48_000))
    recorder = Recorder(
        history,
        today.routine,
        SessionInfo(
            str(today.path), today.routine.title, timeline_hash(today.timeline), today.written
        ),
    )
    recorder.start()
    assert rows(history, "SELECT outcome FROM sessions") == [("running",)]
    player = Player(today.timeline, plan, mixer, recorder, device=0, out=lambda _: None)
    with pytest.raises(VoicecoachError):
        player.run()
    assert rows(history, "SELECT COUNT(*) FROM sessions") == [(0,)]
