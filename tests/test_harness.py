"""The short form of the real-audio harness (benchmarks/harness.py) as a test: about a minute.

``voicecoach play`` runs in tmux into a private PulseAudio null sink whose monitor is
captured; the assertions are on samples and counts with loose bounds, so a noisy shared
machine does not fail them, while a cue placed on the wrong sample, a lost cue, or a key
that does not silence the output does.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import numpy as np
import pytest

from benchmarks import harness
from tests.pulse import available

pytestmark = pytest.mark.e2e  # plays through a private sound server in tmux

SR = harness.SR
# An underrun on a loaded machine shifts every later cue once; allow a couple.
MAX_SHIFTS = 2
# Key to silence: the target is 30 ms; the bound only catches a key that does nothing.
MAX_KEY_TO_SILENCE_SAMPLES = 5 * SR // 10


@pytest.fixture(scope="module")
def report() -> Iterator[harness.Report]:
    """One short run shared by the tests of this module (its table is printed)."""
    if not available() or shutil.which("tmux") is None:
        pytest.fail("pulseaudio, pulseaudio-utils and tmux are required (apt-get install them)")
    # voicecoach plays with the machine to itself (the peers after it, not alongside): on a
    # two-core CI machine that was already busy, an espeak-ng peer synthesising beside it
    # starved the player into five underruns in one run (stop 19's CI).
    result = harness.run(short=True, presses=5, overlap=False)
    print("\n" + harness.format_report(result))
    yield result


def _voicecoach(report: harness.Report) -> harness.TimingRow:
    return next(r for r in report.timing if r.tool == "voicecoach play")


def test_every_cue_onset_after_silence_is_heard_in_the_capture(report: harness.Report) -> None:
    row = _voicecoach(report)
    assert row.scheduled >= 10
    assert row.matched == row.scheduled


def test_cue_intervals_are_reproduced_to_the_sample(report: harness.Report) -> None:
    errors = np.array(_voicecoach(report).errors_samples)
    steps = np.diff(errors)
    assert np.count_nonzero(np.abs(steps) > 2) <= MAX_SHIFTS, errors.tolist()


def test_the_render_places_tones_on_their_timeline_times(report: harness.Report) -> None:
    # The detector finds a tone within a fraction of its first period of `at`.
    assert report.render_tone_bias_ms < 2.0


def test_pause_and_stop_pain_silence_the_output(report: harness.Report) -> None:
    assert [k.key for k in report.latency] == ["Space (pause)", "x (stop, pain)"]
    for k in report.latency:
        # Presses that landed as a sound ended by itself are retried, up to 4 per count.
        assert k.unresolved == 0, k
        assert len(k.latencies_ms) >= 3, k
        samples = np.array(k.latencies_ms) * SR / 1000.0
        assert samples.max() <= MAX_KEY_TO_SILENCE_SAMPLES, k


def test_every_launch_reached_sound(report: harness.Report) -> None:
    # One timing run plus one launch per stop-pain press (warm), one cold launch.
    assert len(report.startup_warm_ms) >= 1 + 5
    assert len(report.startup_cold_ms) == 1


# The control, from the same run: the capture and detector do see a peer's drift, so the
# bounds on voicecoach above can fail. It stays here with them rather than in benchmarks/tests.
def test_the_shell_peer_drifts_by_its_speech(report: harness.Report) -> None:
    shell = next(r for r in report.timing if r.tool == "espeak-ng; sleep N")
    assert shell.matched == shell.scheduled
    # Each `espeak-ng WORD; sleep N` adds the word's length: later every cue.
    assert shell.errors_samples[-1] > SR // 10 * (shell.matched - 1)
