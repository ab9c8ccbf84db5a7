"""Saying "stop" during a real session (`play --listen`) ends in the stop-pain path.

One private PulseAudio server carries both ends: the player's sound goes to the null sink
``cuesink`` (captured), and a second null sink ``micsink`` at 16 kHz is the microphone
(its monitor is the default source). A "stop" in another voice than the coach's is
played into it during a hold, as a person on the mat would say it.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import Tmux, history_rows, pulse_env, write_routine
from tests.pulse import PulseServer
from tests.test_play import SR, loud, sample_at, start_play, wait_exit
from voicecoach.mixer import STOP_SILENCE_S

# A long hold with no speech inside it (no breathing cues): the person's word does not
# overlap the coach's, which the listener would ignore (voicecoach/hearing.py).
ROUTINE = """\
[routine]
title = "One hold"

[defaults]
rest = 0
get_ready = 0
countdown = 0
brace = false
breathing = false

[[exercise]]
name = "Long hold"
kind = "hold"
hold = 40
reps = 1
"""


def test_saying_stop_during_a_hold_stops_for_pain_and_records_it(
    tmp_path: Path, tmux: Tmux, pulse: PulseServer, vc_env: dict[str, str]
) -> None:
    pytest.importorskip("pocketsphinx")
    assert shutil.which("paplay") and shutil.which("espeak-ng")
    assert pulse.pactl(
        "load-module", "module-null-sink", "sink_name=micsink", "rate=16000", "channels=1"
    )
    assert pulse.pactl("set-default-source", "micsink.monitor") is not None
    word = tmp_path / "stop.wav"
    subprocess.run(["espeak-ng", "-v", "en-us+f3", "-w", str(word), "stop"], check=True)
    env = {**vc_env, **pulse_env(pulse)}
    capture = pulse.start_capture()
    start_play(tmux, env, write_routine(tmp_path, ROUTINE), "--listen")
    tmux.wait_for("play", "listening: say stop", timeout=30)
    tmux.wait_for("play", "WORK", timeout=30)
    time.sleep(2.5)  # well inside the hold, the coach silent for a while
    subprocess.run(["paplay", "-d", "micsink", str(word)], env=pulse.env, check=True)
    # paplay returns once the word and its file's trailing silence have drained: a late
    # estimate of the word's end (benchmarks/bench_listen.py measures it exactly).
    said = time.monotonic()
    tmux.wait_for("play", "Stopped for pain", timeout=10)
    capture.wait_for_samples(sample_at(capture, said) + 2 * SR)
    samples = capture.samples()
    end = sample_at(capture, said)
    # The hold is silent, so the stop shows as the safety message, which begins
    # STOP_SILENCE_S after the mixer took the command: that moment, after the word.
    assert loud(samples[end - SR // 2 : end]).size == 0, "the hold was not silent"
    onset = int(loud(samples[end:])[0]) + end
    took = (onset - end) / SR - STOP_SILENCE_S
    print(f"\n'stop' said: the stop reached the mixer {took * 1000:.0f} ms after the word ended")
    assert took < 2.0
    tmux.send("play", "Enter")  # skip the pain rating
    assert wait_exit(tmux) == 0
    data = Path(env["VOICECOACH_DATA_DIR"])
    outcome = history_rows(data, "SELECT outcome FROM sessions")
    assert [r["outcome"] for r in outcome] == ["stop_pain"]
    stops = history_rows(data, "SELECT exercise_name FROM pain_stops")
    assert [r["exercise_name"] for r in stops] == ["Long hold"]
