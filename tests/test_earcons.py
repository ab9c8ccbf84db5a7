"""Earcons: built-in tones (length, level, no DC, click-free) and user override files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from voicecoach.earcons import EARCON_NAMES, EARCON_PEAK, SOFT_PEAK, earcon, resample
from voicecoach.errors import VoicecoachError
from voicecoach.timeline import TONES

RATE = 48000
SECONDS = {"start": 0.15, "stop": 0.15, "tick": 0.05, "inhale": 0.4, "exhale": 0.4, "done": 0.6}


def _zero_crossings(x: np.ndarray) -> int:
    return int(np.count_nonzero(np.signbit(x[1:]) != np.signbit(x[:-1])))


def test_earcon_names_are_the_timeline_tones() -> None:
    assert set(EARCON_NAMES) == set(TONES)


@pytest.mark.parametrize("name", EARCON_NAMES)
def test_builtin_earcons_have_their_length_and_level(name: str, tmp_path: Path) -> None:
    x = earcon(name, RATE, tmp_path)
    assert x.dtype == np.float32
    assert x.shape == (round(SECONDS[name] * RATE),)
    peak = SOFT_PEAK if name in ("inhale", "exhale") else EARCON_PEAK
    assert np.abs(x).max() == pytest.approx(peak, rel=1e-4)
    # -6 dB under the speech reference (about 0.35 of full scale), never near clipping.
    assert 0.15 < np.abs(x).max() < 0.4


@pytest.mark.parametrize("name", EARCON_NAMES)
def test_builtin_earcons_have_no_dc_and_start_and_end_silent(name: str, tmp_path: Path) -> None:
    x = earcon(name, RATE, tmp_path).astype(np.float64)
    assert abs(x.mean()) < 1e-3
    assert x[0] == 0.0 and abs(x[-1]) < 1e-6
    # Raised-cosine edges: no jump at the start (even the tick's 0.8 ms attack is a
    # ramp), and the last millisecond has died away.
    assert np.abs(x[: RATE // 4000]).max() < 0.5 * np.abs(x).max()
    assert np.abs(x[-RATE // 1000:]).max() < 0.05 * np.abs(x).max()


@pytest.mark.parametrize("rate", [22050, 44100, 48000])
def test_builtin_earcons_scale_with_the_sample_rate(rate: int, tmp_path: Path) -> None:
    assert earcon("done", rate, tmp_path).size == round(0.6 * rate)


def test_inhale_rises_and_exhale_falls_in_pitch(tmp_path: Path) -> None:
    inhale = earcon("inhale", RATE, tmp_path)
    exhale = earcon("exhale", RATE, tmp_path)
    half = inhale.size // 2
    assert _zero_crossings(inhale[half:]) > _zero_crossings(inhale[:half])
    assert _zero_crossings(exhale[half:]) < _zero_crossings(exhale[:half])


def test_an_override_file_is_mixed_to_mono_and_resampled(tmp_path: Path) -> None:
    t = np.arange(4410) / 44100  # 0.1 s of 1 kHz, louder on the right
    tone = np.sin(2 * np.pi * 1000 * t)
    soundfile.write(tmp_path / "tick.wav", np.stack([0.2 * tone, 0.6 * tone], axis=1), 44100)

    x = earcon("tick", RATE, tmp_path)

    assert x.dtype == np.float32
    assert x.shape == (4800,)
    assert np.abs(x[1000:3800]).max() == pytest.approx(0.4, abs=0.01)
    assert _zero_crossings(x[1000:3800]) == pytest.approx(2 * 1000 * 2800 / RATE, abs=2)
    # Other earcons are still the built-in ones.
    assert earcon("start", RATE, tmp_path).size == round(0.15 * RATE)


def test_a_flac_override_is_used_too(tmp_path: Path) -> None:
    soundfile.write(tmp_path / "done.flac", np.full(2205, 0.25), 22050)
    x = earcon("done", 44100, tmp_path)
    assert x.size == 4410
    assert np.median(x) == pytest.approx(0.25, abs=1e-3)


def test_an_unreadable_override_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "stop.wav"
    bad.write_bytes(b"not a wav file")
    with pytest.raises(VoicecoachError, match=r"stop\.wav: cannot read this earcon file"):
        earcon("stop", RATE, tmp_path)


def test_an_unknown_earcon_name_is_a_programming_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown earcon 'beep'"):
        earcon("beep", RATE, tmp_path)


def test_resample_converts_speech_rate_to_device_rate() -> None:
    t = np.arange(22050) / 22050
    x = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    y = resample(x, 22050, 48000)
    assert y.dtype == np.float32
    assert y.shape == (48000,)
    assert _zero_crossings(y) == pytest.approx(880, abs=2)
    assert np.abs(y[1000:-1000]).max() == pytest.approx(0.5, abs=0.005)


def test_resample_at_the_same_rate_returns_a_copy() -> None:
    x = np.linspace(-1, 1, 10, dtype=np.float32)
    y = resample(x, 48000, 48000)
    assert y is not x and np.array_equal(x, y)
    assert resample(np.zeros(0, dtype=np.float32), 22050, 48000).size == 0
