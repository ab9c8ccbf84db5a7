"""Earbud buttons and media keys: MPRIS on a real session bus, driven by a real client.

`playerctl` is what desktop media keys and Bluetooth headset buttons (forwarded by BlueZ)
amount to: method calls on ``org.mpris.MediaPlayer2.voicecoach``. The session plays for
real (PortAudio into a PulseAudio null sink, captured), in a real terminal (tmux); the
sound, the screen and the history's SQLite file are checked as in `test_play.py`.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import Tmux, history_rows, pulse_env, write_routine
from tests.pulse import PulseServer
from tests.test_play import (
    assert_paused_then_back,
    assert_terminal_restored,
    session_outcomes,
    start_play,
    wait_exit,
    wait_sounding,
)
from voicecoach.commands import Command
from voicecoach.mpris import BUS_NAME, MediaKeys
from voicecoach.nowplaying import NowPlaying

# Two exercises, with speech inside the work ("Breathe in", "Breathe out" every second), so
# that "next" has somewhere to go and a pause nearly always cuts a sound that is playing.
ROUTINE = """\
[routine]
title = "Two holds"

[defaults]
rest = 0
get_ready = 0
countdown = 0
between_reps = 1
brace = false
breathing = { inhale = 1, exhale = 1 }

[[exercise]]
name = "Hold one"
kind = "hold"
hold = 20
reps = 2

[[exercise]]
name = "Hold two"
kind = "hold"
hold = 3
reps = 1
"""

NOW = NowPlaying("Playing", 1, "Hold one", "Two holds", 40.0, 2.0, True, True, True, True)


def playerctl(bus: str, *args: str, player: str = "voicecoach") -> str:
    """Run ``playerctl -p PLAYER ARGS`` on ``bus``; its output (stripped)."""
    done = subprocess.run(
        ["playerctl", "-p", player, *args],
        env={**os.environ, "DBUS_SESSION_BUS_ADDRESS": bus},
        capture_output=True,
        text=True,
        timeout=10,
    )
    return done.stdout.strip()


def players(bus: str) -> list[str]:
    """The MPRIS players on ``bus`` (``playerctl -l``)."""
    done = subprocess.run(
        ["playerctl", "-l"],
        env={**os.environ, "DBUS_SESSION_BUS_ADDRESS": bus},
        capture_output=True,
        text=True,
        timeout=10,
    )
    return done.stdout.split()


def wait_until(what: str, check: Callable[[], object], timeout: float = 10.0) -> None:
    """Poll ``check`` until it is true; fail saying ``what`` did not happen."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.02)


@pytest.fixture
def env(vc_env: dict[str, str], pulse: PulseServer, session_bus: str) -> dict[str, str]:
    return {**vc_env, **pulse_env(pulse), "DBUS_SESSION_BUS_ADDRESS": session_bus}


def test_playerctl_pauses_resumes_skips_and_stops_a_real_session(
    tmp_path: Path, tmux: Tmux, pulse: PulseServer, env: dict[str, str], session_bus: str
) -> None:
    capture = pulse.start_capture()
    start_play(tmux, env, write_routine(tmp_path, ROUTINE), stty_dir=tmp_path)
    wait_until("voicecoach on the bus", lambda: "voicecoach" in players(session_bus))
    assert playerctl(session_bus, "status") == "Playing"
    assert playerctl(session_bus, "metadata", "xesam:artist") == "Two holds"

    # Pause: the call, then silence in the capture, as Space does.
    tmux.wait_for("play", "Said: .Neutral spine")
    wait_sounding(capture)
    called = time.monotonic()
    playerctl(session_bus, "pause")
    wait_until("status Paused", lambda: playerctl(session_bus, "status") == "Paused", 2.0)
    tmux.wait_for("play", "Paused: Space to resume")
    # A second "pause" (a button pressed twice) must not resume: it stays silent.
    playerctl(session_bus, "pause")
    time.sleep(1.0)
    resumed = time.monotonic()
    playerctl(session_bus, "play")
    assert_paused_then_back(capture, called, resumed, "playerctl")
    assert playerctl(session_bus, "status") == "Playing"

    # The widget follows the session: the exercise by name, then "next" skips it.
    wait_until(
        "the first exercise in the title",
        lambda: playerctl(session_bus, "metadata", "xesam:title").startswith("Hold one"),
        20.0,
    )
    assert (
        playerctl(session_bus, "metadata", "mpris:trackid").strip("'") == "/org/voicecoach/track/1"
    )
    playerctl(session_bus, "next")
    wait_until(
        "the second exercise after next",
        lambda: playerctl(session_bus, "metadata", "xesam:title").startswith("Hold two"),
        3.0,
    )
    # Stop quits as q does: never a pain stop.
    playerctl(session_bus, "stop")
    assert wait_exit(tmux) == 0
    assert "Session ended early" in tmux.screen("play")
    assert session_outcomes(env) == ["quit"]
    data = Path(env["VOICECOACH_DATA_DIR"])
    rows = history_rows(data, "SELECT exercise_name AS name, completed FROM work")
    # "Hold one" was skipped with next: stored, but never as completed.
    assert ("Hold one", 0) in [(r["name"], r["completed"]) for r in rows]
    assert not history_rows(data, "SELECT * FROM pain_stops")
    assert_terminal_restored(tmp_path)
    wait_until("the bus name released", lambda: "voicecoach" not in players(session_bus), 3.0)


def test_no_media_keys_publishes_nothing(
    tmp_path: Path, tmux: Tmux, env: dict[str, str], session_bus: str
) -> None:
    start_play(tmux, env, write_routine(tmp_path, ROUTINE), "--no-media-keys")
    tmux.wait_for("play", "Said: ")
    time.sleep(0.5)
    assert players(session_bus) == []
    tmux.send("play", "q")
    assert wait_exit(tmux) == 0


def test_a_second_player_takes_the_instance_name_and_both_answer(session_bus: str) -> None:
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = session_bus
    first: list[Command] = []
    second: list[Command] = []
    try:
        a = MediaKeys(first.append, NOW).start()
        assert a.ready.wait(5) and a.bus_name == BUS_NAME
        b = MediaKeys(second.append, NOW).start()
        assert b.ready.wait(5)
        assert b.bus_name == f"{BUS_NAME}.instance{os.getpid()}"
        listed = players(session_bus)
        assert "voicecoach" in listed and f"voicecoach.instance{os.getpid()}" in listed
        playerctl(session_bus, "play-pause", player="voicecoach")
        playerctl(session_bus, "previous", player=f"voicecoach.instance{os.getpid()}")
        wait_until("both calls", lambda: first and second, 3.0)
        assert first == [Command.PAUSE] and second == [Command.BACK]
    finally:
        del os.environ["DBUS_SESSION_BUS_ADDRESS"]
        a.close()
        b.close()


def test_widgets_following_the_player_are_told_of_each_change(session_bus: str) -> None:
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = session_bus
    keys = MediaKeys(lambda command: None, NOW).start()
    try:
        assert keys.ready.wait(5) and keys.bus_name == BUS_NAME
        # `--follow` prints again on each PropertiesChanged signal, as a widget redraws.
        follow = subprocess.Popen(
            ["playerctl", "-p", "voicecoach", "--follow", "metadata", "--format",
             "{{status}} {{xesam:title}}"],
            env={**os.environ},
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        try:
            assert follow.stdout is not None
            assert follow.stdout.readline().strip() == "Playing Hold one"
            for k in range(3):  # position only: widgets extrapolate it, no signal
                keys.update(replace(NOW, position_s=NOW.position_s + 0.1 * (k + 1)))
                time.sleep(0.1)
            keys.update(replace(NOW, title="Hold one: set 2 of 3, left", position_s=2.5))
            assert follow.stdout.readline().strip() == "Playing Hold one: set 2 of 3, left"
            keys.update(replace(NOW, status="Paused", title="Hold one: set 2 of 3, left"))
            assert follow.stdout.readline().strip() == "Paused Hold one: set 2 of 3, left"
        finally:
            follow.kill()
            follow.communicate()
    finally:
        del os.environ["DBUS_SESSION_BUS_ADDRESS"]
        keys.close()


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("unix:path=/nonexistent/voicecoach-test-bus", ""),  # set, but nothing listens
        (None, "no session bus"),  # not set, and no socket where the desktop puts it
    ],
)
def test_without_a_bus_it_gives_up_quietly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, address: str | None, why: str
) -> None:
    if address is None:
        monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    else:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    calls: list[Command] = []
    keys = MediaKeys(calls.append, NOW).start()
    assert keys.ready.wait(5)
    assert keys.bus_name is None and keys.problem
    assert why in keys.problem
    keys.update(NOW)  # the player keeps calling it: nothing happens, nothing raises
    keys.close()
    assert calls == []
