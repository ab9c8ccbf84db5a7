"""Signals outside a terminal: under `timeout`, a service manager or a pipe, a session still ends
as "quit", with its summary and the exit status a terminal would give.

Real `voicecoach play --text` processes (speed 1, a real session that is recorded) with
stdin from /dev/null; the signal is sent once the first cue is printed; the history's
SQLite file is read directly afterwards.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import VOICECOACH, history_rows, write_routine

# Long enough (over a minute) that the signal always lands inside the session.
ROUTINE = """\
[routine]
title = "Long"

[defaults]
rest = 0
get_ready = 1
countdown = 0
brace = false
breathing = false

[[exercise]]
name = "Hold one"
kind = "hold"
hold = 30
reps = 2
"""
# A guard against a hung process, not a timing assertion.
HANG_S = 60.0


def default_sigint() -> None:
    # A test runner started in the background by a script ignores SIGINT, and children
    # inherit that; the product must be tested with SIGINT as a service manager sends it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(tmp_path: Path, env: dict[str, str], *prefix: str) -> subprocess.Popen[str]:
    """``voicecoach play ROUTINE --text`` without a terminal, once its first cue is out."""
    file = write_routine(tmp_path, ROUTINE)
    proc = subprocess.Popen(
        [*prefix, *VOICECOACH, "play", str(file), "--text"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # the session has begun (and its row is written)
    assert "INTRO" in first, proc.stderr.read() if proc.stderr else ""
    return proc


def outcomes(env: dict[str, str]) -> list[str]:
    rows = history_rows(Path(env["VOICECOACH_DATA_DIR"]), "SELECT outcome FROM sessions")
    return [r["outcome"] for r in rows]


@pytest.mark.parametrize(
    "signum, status",
    [
        (signal.SIGTERM, 128 + signal.SIGTERM),
        (signal.SIGHUP, 128 + signal.SIGHUP),
        (signal.SIGINT, 130),
    ],
    ids=["SIGTERM", "SIGHUP", "SIGINT"],
)
def test_a_signal_without_a_terminal_ends_the_session_as_quit_with_the_summary(
    tmp_path: Path, vc_env: dict[str, str], signum: int, status: int
) -> None:
    proc = start(tmp_path, vc_env)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=HANG_S)
    assert proc.returncode == status, err
    assert "Traceback" not in err
    assert err.splitlines()[-1] == "Session ended early."
    assert outcomes(vc_env) == ["quit"]


def test_timeout_passing_on_sigterm_ends_the_session_as_quit(
    tmp_path: Path, vc_env: dict[str, str]
) -> None:
    if shutil.which("timeout") is None:
        pytest.fail("coreutils timeout is not installed")
    # `timeout` passes the SIGTERM it gets on to the session, as when its time is up
    # (sent here at a known moment instead, so no clock decides the test).
    proc = start(tmp_path, vc_env, "timeout", "--preserve-status", "600")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=HANG_S)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert err.splitlines()[-1] == "Session ended early."
    assert outcomes(vc_env) == ["quit"]
