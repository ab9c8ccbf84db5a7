"""Shared fixtures for the end-to-end tests: a private PulseAudio server, tmux, an isolated env.

``pulse`` is a private PulseAudio null sink (tests/pulse.py); ``tmux`` drives real
terminals on a private tmux socket (``-L``) so tests never touch anyone's tmux server;
``vc_env`` is an environment whose history and speech cache live in the test's tmp dir.
``fuzz_counts`` tallies fuzzed inputs; the totals are printed in the terminal summary.

The ``e2e`` rule: a test is end to end when it runs in real time through a sound server,
a terminal driven by tmux, or a ``voicecoach`` process of its own. Every test that uses
one of `E2E_FIXTURES` (directly or through another fixture) is marked ``e2e`` here, so a
new one cannot forget; a test that reaches those parts another way (its own PulseAudio
server, tmux command or ``voicecoach`` subprocess) carries ``@pytest.mark.e2e`` (or a
module's ``pytestmark``). A pty that a key probe answers at once is not real time: those
tests stay in the fast loop. ``python -m pytest -m "not
e2e"`` is the fast loop while you work; plain ``python -m pytest`` (CI, the README) runs
everything.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests import dbus
from tests.pulse import PulseServer

REPO = Path(__file__).resolve().parent.parent
# The product as the user runs it, from this checkout, with this interpreter.
VOICECOACH = [sys.executable, "-m", "voicecoach"]
PULSE_VARS = ("PULSE_SERVER", "PULSE_RUNTIME_PATH", "PULSE_STATE_PATH", "PULSE_COOKIE")

_FUZZ_COUNTS = pytest.StashKey[collections.Counter[str]]()


# Fixtures that make a test end to end (the rule in the module docstring).
# own_pulse (tests/test_sinks.py): a private server that the test kills.
E2E_FIXTURES = frozenset({"pulse", "own_pulse", "tmux", "vc_env", "session_bus"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark ``e2e`` every test that uses a real sound server, terminal or process fixture."""
    for item in items:
        if E2E_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)


# --- Routines ----------------------------------------------------------------------------

TINY_ROUTINE = """\
[routine]
title = "Tiny"

[defaults]
rest = 0
get_ready = 1
countdown = 1
brace = false
breathing = false

[[exercise]]
name = "Hold one"
kind = "hold"
hold = 3
reps = 2
"""


def write_routine(folder: Path, text: str = TINY_ROUTINE, name: str = "tiny.toml") -> Path:
    """Write a routine file into ``folder`` and return its path."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def record_training(data: Path, routine: Path, count: int = 2) -> None:
    """``count`` completed, pain-free sessions of ``routine`` in a real history file.

    As a player records them: every bout finished, and each session as long as its
    timeline (a session shorter than its work is not training and would not count).
    """
    from datetime import UTC, datetime, timedelta

    from voicecoach.history import History, timeline_hash
    from voicecoach.routine import load_routine
    from voicecoach.timeline import compile_routine

    loaded = load_routine(routine)
    timeline = compile_routine(loaded)
    now = datetime.now(UTC)
    with History.open(data) as history:
        for k in range(count):
            start = now - timedelta(days=count - k)
            sid = history.start_session(
                str(routine), loaded.title, timeline_hash(timeline), started_at=start
            )
            for ex in loaded.exercises:
                for s, reps in enumerate(ex.reps, start=1):
                    for side in ex.side_names:
                        for rep in range(1, reps + 1):
                            history.record_work(
                                sid,
                                exercise_index=ex.index,
                                exercise_name=ex.name,
                                kind=ex.kind,
                                set=s,
                                rep=rep,
                                side=side,
                                seconds=(
                                    ex.hold
                                    if ex.kind == "hold"
                                    else ex.duration
                                    if ex.kind == "timed"
                                    else ex.tempo
                                )
                                or 0.0,
                                at=start,
                            )
            history.end_session(sid, "completed", at=start + timedelta(seconds=timeline.duration))


# --- The environment ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def speech_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One speech cache for the whole run: phrases are synthesized once, then reused."""
    return tmp_path_factory.mktemp("speech-cache")


@pytest.fixture
def vc_env(tmp_path: Path, speech_cache: Path) -> dict[str, str]:
    """Environment for a voicecoach process: history in ``tmp_path/data``, shared cache."""
    env = {k: v for k, v in os.environ.items() if k not in PULSE_VARS}
    env.update(
        VOICECOACH_DATA_DIR=str(tmp_path / "data"),
        VOICECOACH_CACHE_DIR=str(speech_cache),
        VOICECOACH_CONFIG_DIR=str(tmp_path / "config"),
        PYTHONPATH=str(REPO),
    )
    return env


def history_rows(data_dir: Path, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
    """Rows of ``sql`` run directly on the history file under ``data_dir`` (read-only)."""
    conn = sqlite3.connect(f"file:{data_dir / 'history.sqlite3'}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


# --- PulseAudio --------------------------------------------------------------------------


@pytest.fixture
def pulse() -> Iterator[PulseServer]:
    """A private PulseAudio server with the null sink ``cuesink``, stopped afterwards."""
    with PulseServer() as server:
        yield server


def pulse_env(server: PulseServer) -> dict[str, str]:
    """The variables a client needs to reach ``server``."""
    return {k: server.env[k] for k in PULSE_VARS}


# --- D-Bus ------------------------------------------------------------------------------------


@pytest.fixture
def session_bus() -> Iterator[str]:
    """A private D-Bus session bus: its address, for ``DBUS_SESSION_BUS_ADDRESS``."""
    if not dbus.available():
        pytest.fail(
            "dbus-daemon and playerctl are not installed (apt-get install dbus-daemon playerctl)"
        )
    with dbus.session_bus() as address:
        yield address


# --- tmux ------------------------------------------------------------------------------------


class Tmux:
    """Real terminals on a private tmux server (``tmux -L NAME``), killed at teardown."""

    def __init__(self) -> None:
        self.socket = f"voicecoach-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"

    def run(self, *args: str, check: bool = True) -> str:
        """Run a tmux command on the private server; its stdout."""
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def start(
        self,
        name: str,
        command: str,
        env: Mapping[str, str],
        *,
        cwd: Path | None = None,
        width: int = 100,
        height: int = 30,
    ) -> None:
        """Start ``command`` (a shell command line) in a new detached session ``name``."""
        args = ["new-session", "-d", "-s", name, "-x", str(width), "-y", str(height)]
        for key in (
            "PATH",
            "HOME",
            "LANG",
            "PYTHONPATH",
            *PULSE_VARS,
            "DBUS_SESSION_BUS_ADDRESS",
            "VOICECOACH_DATA_DIR",
            "VOICECOACH_CACHE_DIR",
            "VOICECOACH_CONFIG_DIR",
        ):
            if key in env:
                args += ["-e", f"{key}={env[key]}"]
        if cwd is not None:
            args += ["-c", str(cwd)]
        self.run(*args, command)

    def send(self, name: str, *keys: str) -> float:
        """Send keys (tmux names: ``Space``, ``Enter``, ``C-c``); ``time.monotonic()`` after."""
        self.run("send-keys", "-t", name, *keys)
        return time.monotonic()

    def screen(self, name: str) -> str:
        """The text of session ``name``, scrollback included (wrapped lines joined)."""
        return self.run("capture-pane", "-p", "-J", "-S", "-", "-t", name, check=False)

    def wait_for(self, name: str, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        """Poll the screen until ``pattern`` (a regex) appears; fail with the screen if not."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen(name)
            found = re.search(pattern, screen)
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} not on screen within {timeout} s:\n{screen}")
            time.sleep(0.02)

    def child_pid(self, name: str, timeout: float = 10.0) -> int:
        """The pid of the process the pane's shell started (the voicecoach process)."""
        shell = int(self.run("display-message", "-p", "-t", name, "#{pane_pid}").strip())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = subprocess.run(
                ["ps", "-o", "pid=", "--ppid", str(shell)], capture_output=True, text=True
            ).stdout.split()
            if out:
                return int(out[0])
            time.sleep(0.02)
        raise AssertionError(f"no process started in tmux session {name}")

    def kill_session(self, name: str) -> None:
        """End session ``name`` (and what runs in it, by SIGHUP)."""
        self.run("kill-session", "-t", name, check=False)

    def close(self) -> None:
        """End the private tmux server."""
        self.run("kill-server", check=False)


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    """A private tmux server for this test."""
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed (apt-get install tmux)")
    server = Tmux()
    try:
        yield server
    finally:
        server.close()


def play_command(*args: str | Path, before: str = "", after: str = "") -> str:
    """The shell line that runs voicecoach, records its status and keeps the pane open."""
    line = " ".join(shlex.quote(str(a)) for a in (*VOICECOACH, *args))
    return f"{before}{line}; rc=$?; {after}echo EXIT=$rc; sleep 60"


# --- Fuzz counts ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def fuzz_counts(pytestconfig: pytest.Config) -> collections.Counter[str]:
    """A counter of fuzzed inputs, shared by the fuzz tests and shown in the summary."""
    return pytestconfig.stash.setdefault(_FUZZ_COUNTS, collections.Counter())


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Print how many fuzzed inputs were tried (and how they came out)."""
    counts = config.stash.get(_FUZZ_COUNTS, None)
    if counts:
        terminalreporter.write_sep("-", "fuzzed inputs")
        for key in sorted(counts):
            terminalreporter.write_line(f"{key}: {counts[key]}")


# --- A hang becomes a failure ------------------------------------------------------------


class Hang(Exception):
    """The watchdog fired: the code under test did not return."""


@contextlib.contextmanager
def watchdog(seconds: int = 20) -> Iterator[None]:
    """Turn a hang into a failure: SIGALRM raises `Hang` in the test after ``seconds``."""

    def fire(signum: int, frame: Any) -> None:
        raise Hang(f"still running after {seconds} s: a loop without end?")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
