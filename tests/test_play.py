"""`voicecoach play` end to end: a real process in tmux, real PortAudio into a PulseAudio null sink.

Each test drives the product as a person would (keys sent to a real terminal by tmux),
listens to what reached the sound server (a capture of the null sink's monitor, mapped
to ``time.monotonic()``), reads the screen, and reads the history's SQLite file
directly. Latencies are printed (``-s`` or ``-rA`` shows them); assertions are on sample
counts with loose bounds, never on the wall clock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import (
    VOICECOACH,
    Tmux,
    history_rows,
    play_command,
    pulse_env,
    write_routine,
)
from tests.pulse import Capture, PulseServer

SR = 48_000
# Silence in the capture is exact zeros (the keep-alive client plays zeros); speech and
# earcons stay well above this once they start.
THRESHOLD = 1e-3
# Loose bounds, in samples: a key must silence the audio within 0.3 s, and sound must
# come back within 2 s of resuming.
CUT_SAMPLES = round(0.3 * SR)
RETURN_SAMPLES = round(2.0 * SR)

# Short, with speech inside the work: "Breathe in", "Breathe out" every second, so a key
# pressed during work nearly always cuts a sound that is playing (and the test checks it).
ROUTINE = """\
[routine]
title = "Tiny"

[defaults]
rest = 0
get_ready = 0
countdown = 0
between_reps = 1
brace = false
breathing = {{ inhale = 1, exhale = 1 }}

[[exercise]]
name = "Hold one"
kind = "hold"
hold = {hold}
reps = 2
"""


def routine(tmp_path: Path, hold: int = 3) -> Path:
    return write_routine(tmp_path, ROUTINE.format(hold=hold))


def start_play(
    tmux: Tmux,
    env: dict[str, str],
    file: Path,
    *args: str,
    name: str = "play",
    stty_dir: Path | None = None,
) -> None:
    """Run ``voicecoach play FILE ARGS`` in tmux; with ``stty_dir``, save ``stty -g`` around it."""
    before = after = ""
    if stty_dir is not None:
        before = f"stty -g > {stty_dir}/before; "
        after = f"stty -g > {stty_dir}/after; "
    tmux.start(
        name, play_command("play", file, *args, before=before, after=after), env, cwd=file.parent
    )


def loud(samples: np.ndarray) -> np.ndarray:
    """Indices of the samples that are not silence."""
    return np.flatnonzero(np.abs(samples) > THRESHOLD)


def wait_sounding(capture: Capture, timeout: float = 20.0) -> None:
    """Wait until a sound has just begun (within 0.15 s), so a key now cuts it mid-clip."""
    onset = round(0.15 * SR)
    quiet = round(0.05 * SR)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tail = capture.samples()[-(onset + quiet) :]
        # Sounding now, after silence just before the onset window: it began within 0.15 s.
        if (
            len(tail) == onset + quiet
            and loud(tail[-round(0.005 * SR) :]).size
            and loud(tail[:quiet]).size == 0
        ):
            return
        time.sleep(0.003)
    raise AssertionError("no sound began at the null sink")


def sample_at(capture: Capture, monotonic: float) -> int:
    """The capture sample index that sounded at ``monotonic``."""
    return round((monotonic - capture.t0_monotonic()) * SR)


def last_sound_before_gap(samples: np.ndarray, start: int, gap: int) -> int:
    """The last loud sample at or after ``start - gap`` that is followed by ``gap`` of silence."""
    idx = loud(samples[max(0, start - gap) :]) + max(0, start - gap)
    if len(idx) == 0:
        return start - gap
    gaps = np.flatnonzero(np.diff(idx) > gap)
    return int(idx[gaps[0]] if len(gaps) else idx[-1])


def assert_paused_then_back(
    capture: Capture, paused: float, resumed: float, what: str = "Space"
) -> None:
    """A pause at ``paused`` cut the sound at once, silence held, and ``resumed`` brought it
    back at once (both ``time.monotonic()``, taken just before the control was used)."""
    capture.wait_for_samples(sample_at(capture, resumed) + RETURN_SAMPLES)
    samples = capture.samples()
    key = sample_at(capture, paused)
    back = sample_at(capture, resumed)
    cut = last_sound_before_gap(samples, key, round(0.2 * SR))
    print(f"\n{what} pause: last sound {(cut - key) / SR * 1000:+.1f} ms after the control")
    assert loud(samples[key - round(0.1 * SR) : key]).size, f"nothing was sounding at {what}"
    assert cut < key + CUT_SAMPLES
    # Silent from the cut until the resume, then sound again.
    assert loud(samples[key + CUT_SAMPLES : back]).size == 0
    again = loud(samples[back:])
    assert again.size, f"no sound after {what} resumed"
    print(f"{what} resume: first sound {again[0] / SR * 1000:+.1f} ms after the control")
    assert again[0] < RETURN_SAMPLES


def wait_exit(tmux: Tmux, name: str = "play", timeout: float = 30.0) -> int:
    return int(tmux.wait_for(name, r"EXIT=(\d+)", timeout).group(1))


def session_outcomes(env: dict[str, str]) -> list[str]:
    rows = history_rows(Path(env["VOICECOACH_DATA_DIR"]), "SELECT outcome FROM sessions")
    return [r["outcome"] for r in rows]


def assert_terminal_restored(stty_dir: Path) -> None:
    before = (stty_dir / "before").read_text().strip()
    after = (stty_dir / "after").read_text().strip()
    assert before and before == after


@pytest.fixture
def env(vc_env: dict[str, str], pulse: PulseServer) -> dict[str, str]:
    return {**vc_env, **pulse_env(pulse)}


# --- Playing through ---------------------------------------------------------------------


def test_a_short_routine_plays_through_the_sound_server_and_is_recorded_completed(
    tmp_path, tmux, pulse, env
):
    capture = pulse.start_capture()
    start_play(tmux, env, routine(tmp_path), stty_dir=tmp_path)
    assert wait_exit(tmux, timeout=60) == 0
    samples = capture.samples()
    sound = loud(samples)
    print(
        f"\ncaptured {len(samples) / SR:.1f} s, {len(sound) / SR:.1f} s of it sounding, "
        f"peak {np.abs(samples).max():.2f}"
    )
    # Speech and earcons, not a click: several seconds of sound, spread over the session.
    assert len(sound) > 3 * SR
    assert sound[-1] - sound[0] > 15 * SR
    assert "Session complete" in tmux.screen("play")
    assert session_outcomes(env) == ["completed"]
    work = history_rows(
        Path(env["VOICECOACH_DATA_DIR"]), "SELECT rep, seconds, completed FROM work ORDER BY id"
    )
    assert [(r["rep"], r["seconds"], r["completed"]) for r in work] == [(1, 3.0, 1), (2, 3.0, 1)]
    assert_terminal_restored(tmp_path)


def test_space_pauses_the_sound_at_once_and_space_again_brings_it_back(tmp_path, tmux, pulse, env):
    capture = pulse.start_capture()
    start_play(tmux, env, routine(tmp_path, hold=20), stty_dir=tmp_path)
    # During the intro's long sentence (4 s of speech), so the key cuts a sound.
    tmux.wait_for("play", "Said: .Neutral spine")
    wait_sounding(capture)
    pressed = tmux.send("play", "Space")
    tmux.wait_for("play", "Paused: Space to resume")
    time.sleep(1.0)
    resumed = tmux.send("play", "Space")
    assert_paused_then_back(capture, pressed, resumed)

    tmux.send("play", "q")
    assert wait_exit(tmux) == 0
    assert session_outcomes(env) == ["quit"]
    assert_terminal_restored(tmp_path)


def test_x_cuts_the_sound_says_the_safety_message_and_records_the_pain_rating(
    tmp_path, tmux, pulse, env
):
    capture = pulse.start_capture()
    start_play(tmux, env, routine(tmp_path, hold=20), stty_dir=tmp_path)
    tmux.wait_for("play", "WORK")
    time.sleep(0.6)  # into the work, so seconds_into_work is measurably above zero
    wait_sounding(capture)
    pressed = tmux.send("play", "x")
    tmux.wait_for("play", r"Stopped for pain \(recorded\)", timeout=5)
    tmux.wait_for("play", r"How bad is the pain, 0 to 10\?", timeout=40)
    samples = capture.samples()
    tmux.send("play", "4")
    tmux.send("play", "Enter")
    assert wait_exit(tmux) == 0

    key = sample_at(capture, pressed)
    cut = last_sound_before_gap(samples, key, round(0.2 * SR))
    print(f"\nstop: last sound {(cut - key) / SR * 1000:+.1f} ms after the x key")
    assert loud(samples[key - round(0.1 * SR) : key]).size, "nothing was sounding at the key"
    assert cut < key + CUT_SAMPLES
    safety = loud(samples[cut + round(0.2 * SR) :])
    assert safety.size, "no safety message after the stop"
    # The safety message and the question: several seconds of speech.
    assert safety.size > 3 * SR

    screen = tmux.screen("play")
    assert "Pain 4/10 recorded" in screen
    data = Path(env["VOICECOACH_DATA_DIR"])
    stops = history_rows(data, "SELECT * FROM pain_stops")
    assert len(stops) == 1
    stop = stops[0]
    assert (
        stop["exercise_index"],
        stop["exercise_name"],
        stop["set"],
        stop["rep"],
        stop["side"],
        stop["rating"],
    ) == (0, "Hold one", 1, 1, None, 4)
    assert 0.3 < stop["seconds_into_work"] < 20
    assert session_outcomes(env) == ["stop_pain"]
    assert_terminal_restored(tmp_path)


def test_x_in_a_preview_records_the_pain_stop_and_the_next_session_starts_below_it(
    tmp_path, tmux, vc_env
):
    file = routine(tmp_path, hold=20)
    tmux.start("text", play_command("play", "--text", "--speed", "5", file), vc_env, cwd=tmp_path)
    tmux.wait_for("text", r"START\s+<start tone>")
    time.sleep(0.4)  # about 2 s of plan time into the hold
    tmux.send("text", "x")
    tmux.wait_for("text", "Stopped for pain: recorded", timeout=5)
    tmux.wait_for("text", r"How bad is the pain, 0 to 10\?")
    tmux.send("text", "6")
    assert wait_exit(tmux, "text") == 0
    screen = tmux.screen("text")
    assert "Pain 6/10 recorded" in screen
    assert "(recorded). Next time starts below it." in screen
    data = Path(vc_env["VOICECOACH_DATA_DIR"])
    # A pain stop always counts, even in a preview: the session row is made for it...
    assert session_outcomes(vc_env) == ["stop_pain"]
    stops = history_rows(data, "SELECT exercise_name, rating, seconds_into_work FROM pain_stops")
    assert [(p["exercise_name"], p["rating"]) for p in stops] == [("Hold one", 6)]
    assert 0 < stops[0]["seconds_into_work"] < 20
    # ... but the preview's work is not training and is not stored.
    assert history_rows(data, "SELECT COUNT(*) AS n FROM work")[0]["n"] == 0
    compiled = subprocess.run(
        [*VOICECOACH, "compile", str(file)], env=vc_env, capture_output=True, text=True, timeout=60
    )
    assert compiled.returncode == 0, compiled.stderr
    assert "Last time Hold one hurt at" in compiled.stdout
    assert "(regress)" in compiled.stdout


# --- The terminal comes back however the session ends -------------------------------------


def test_ctrl_c_and_sigterm_end_the_session_with_the_terminal_restored(tmp_path, tmux, pulse, env):
    file = routine(tmp_path, hold=20)
    dirs = {}
    for name in ("ctrlc", "term"):
        dirs[name] = tmp_path / name
        dirs[name].mkdir()
        envn = {**env, "VOICECOACH_DATA_DIR": str(dirs[name] / "data")}
        # `trap : INT`: the shell survives Ctrl-C to run `stty -g` afterwards (a trap, not
        # an ignored signal, so voicecoach still gets the default SIGINT behaviour).
        tmux.start(
            name,
            "trap : INT; "
            + play_command(
                "play",
                file,
                before=f"stty -g > {dirs[name]}/before; ",
                after=f"stty -g > {dirs[name]}/after; ",
            ),
            envn,
            cwd=tmp_path,
        )
    for name in dirs:
        tmux.wait_for(name, "Space pause")
    tmux.send("ctrlc", "C-c")
    os.kill(tmux.child_pid("term"), signal.SIGTERM)
    assert wait_exit(tmux, "ctrlc") == 130
    assert wait_exit(tmux, "term") == 128 + signal.SIGTERM
    for name, folder in dirs.items():
        assert_terminal_restored(folder)
        assert "Traceback" not in tmux.screen(name)
    outcomes = {
        name: session_outcomes({"VOICECOACH_DATA_DIR": str(d / "data")}) for name, d in dirs.items()
    }
    assert outcomes == {"ctrlc": ["quit"], "term": ["quit"]}


def test_ctrl_c_in_the_middle_of_a_hold_records_the_part_done_and_quit(tmp_path, tmux, vc_env):
    # Real time (a preview at another speed records nothing).
    tmux.start(
        "text",
        "trap : INT; " + play_command("play", "--text", routine(tmp_path, hold=20)),
        vc_env,
        cwd=tmp_path,
    )
    tmux.wait_for("text", r"START\s+<start tone>")
    time.sleep(0.3)  # into the hold
    tmux.send("text", "C-c")
    assert wait_exit(tmux, "text") == 130
    assert session_outcomes(vc_env) == ["quit"]
    work = history_rows(
        Path(vc_env["VOICECOACH_DATA_DIR"]), "SELECT rep, seconds, completed FROM work"
    )
    assert [(r["rep"], r["completed"]) for r in work] == [(1, 0)]
    assert 0 < work[0]["seconds"] < 20


# --- No terminal, no device, a lost device -------------------------------------------------


def test_without_a_terminal_it_says_there_are_no_key_controls_and_completes(tmp_path, vc_env):
    done = subprocess.run(
        [*VOICECOACH, "play", "--text", "--speed", "200", routine(tmp_path)],
        env=vc_env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "no key controls: stdin is not a terminal" in done.stderr
    assert done.stderr.splitlines()[-1] == "Preview complete (preview: not recorded)."
    # A preview (--speed 200) is not training: not even a session row.
    assert session_outcomes(vc_env) == []


def test_with_no_sound_server_it_says_what_to_do_instead_without_a_traceback(tmp_path, vc_env):
    env = {**vc_env, "PULSE_SERVER": f"unix:{tmp_path}/no-server-here"}
    done = subprocess.run(
        [*VOICECOACH, "play", routine(tmp_path)],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    for hint in ("--text", "render", "devices"):
        assert hint in done.stderr


def restart_on_same_socket(lost: PulseServer) -> PulseServer:
    """A fresh server on the socket of ``lost`` (killed): the sound server came back."""
    fresh = PulseServer()
    fresh.dir.rmdir()
    for attr in ("dir", "socket", "server", "log_path", "env"):
        setattr(fresh, attr, getattr(lost, attr))
    return fresh.start()


def test_a_lost_sound_server_is_shown_r_resumes_when_it_is_back_and_q_ends_as_device_lost(
    tmp_path, tmux, pulse, env
):
    start_play(tmux, env, routine(tmp_path, hold=20), stty_dir=tmp_path)
    tmux.wait_for("play", "Space pause")
    pulse.kill()
    tmux.wait_for("play", "Audio device lost: press r to resume", timeout=10)

    fresh = restart_on_same_socket(pulse)
    try:
        capture = fresh.start_capture()
        assert capture.wait_for_samples(1)
        pressed = tmux.send("play", "r")
        capture.wait_for_samples(sample_at(capture, pressed) + RETURN_SAMPLES)
        again = loud(capture.samples()[max(0, sample_at(capture, pressed)) :])
        assert again.size, "no sound after resuming on the new server"
        print(f"\nresume on a new server: first sound {again[0] / SR * 1000:+.0f} ms after r")
        assert "Audio device lost" not in tmux.screen("play")

        fresh.kill()
        tmux.wait_for("play", "Audio device lost", timeout=10)
        tmux.send("play", "q")
        assert wait_exit(tmux) == 0
    finally:
        fresh.stop()
    screen = tmux.screen("play")
    assert "Session ended: the audio device was lost." in screen
    assert "Traceback" not in screen
    assert session_outcomes(env) == ["device_lost"]
    assert_terminal_restored(tmp_path)


# --- Text mode keys --------------------------------------------------------------------------

TWO_EXERCISES = """\
[routine]
title = "Two"

[defaults]
rest = 5
countdown = 1

[[exercise]]
name = "Alpha"
kind = "hold"
hold = 10
reps = 10

[[exercise]]
name = "Bravo"
kind = "hold"
hold = 10
reps = 20
"""


def test_text_mode_keys_skip_to_the_next_exercise_go_back_and_quit(tmp_path, tmux, vc_env):
    file = write_routine(tmp_path, TWO_EXERCISES)
    tmux.start(
        "text",
        play_command("play", "--text", "--speed", "50", file),
        vc_env,
        cwd=tmp_path,
        height=50,
    )
    tmux.wait_for("text", r"ANNOUNCE\s+Alpha\.")
    tmux.send("text", "n")
    # Each key says what it did, in the cue lines' own format.
    tmux.wait_for("text", r"\[\d\d:\d\d\] NEXT      skipped to Bravo, set 1\n")
    tmux.wait_for("text", r"ANNOUNCE\s+Bravo\.")
    tmux.send("text", "b")
    tmux.wait_for("text", r"\[\d\d:\d\d\] BACK      back to the start of Bravo, set 1\n")
    tmux.wait_for("text", r"(?s)ANNOUNCE\s+Bravo\..*ANNOUNCE\s+Bravo\.")
    tmux.send("text", "q")
    assert wait_exit(tmux, "text") == 0
    screen = tmux.screen("text")
    # --speed 50 is a preview: said at the start and at the end, and nothing is stored.
    assert screen.startswith("preview: not recorded (--speed 50;")
    assert "Preview ended early (preview: not recorded)." in screen
    # n skipped Alpha's ten holds: far fewer than ten rep counts were printed for it.
    alpha = screen.split("Bravo.")[0]
    assert alpha.count("Rep ") < 10
    assert session_outcomes(vc_env) == []


def test_text_mode_says_paused_and_resumed_on_space(tmp_path, tmux, vc_env):
    file = write_routine(tmp_path, TWO_EXERCISES)
    tmux.start(
        "text",
        play_command("play", "--text", "--speed", "20", file),
        vc_env,
        cwd=tmp_path,
        height=50,
    )
    tmux.wait_for("text", r"START\s+<start tone>")
    tmux.send("text", "Space")
    paused = tmux.wait_for("text", r"\[(\d\d:\d\d)\] PAUSED    Space to resume\n")
    # Nothing else is printed while paused: the line must stay the last one.
    screen = tmux.screen("text").rstrip()
    assert screen.endswith("PAUSED    Space to resume")
    tmux.send("text", "Space")
    resumed = tmux.wait_for("text", r"\[(\d\d:\d\d)\] RESUMED\n")
    assert resumed.group(1) == paused.group(1)  # the plan clock stood still
    tmux.wait_for("text", r"RESUMED\n.*RESUME\s+Resuming")
    tmux.send("text", "q")
    assert wait_exit(tmux, "text") == 0
