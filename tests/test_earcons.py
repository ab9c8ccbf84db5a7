"""Earcons: built-in tones (length, level, no DC, click-free) and user override files."""

from __future__ import annotations

import os
import struct
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile

from voicecoach.dsp import SPEECH_LUFS, clip_loudness
from voicecoach.earcons import EARCON_NAMES, earcon, resample, target_loudness
from voicecoach.errors import VoicecoachError
from voicecoach.timeline import TONES

RATE = 48000
SECONDS = {"start": 0.15, "stop": 0.15, "tick": 0.05, "inhale": 0.4, "exhale": 0.4, "done": 0.6}


def _zero_crossings(x: np.ndarray) -> int:
    return int(np.count_nonzero(np.signbit(x[1:]) != np.signbit(x[:-1])))


def test_earcon_names_are_the_timeline_tones() -> None:
    assert set(EARCON_NAMES) == set(TONES)


MINUS_1_DBFS = 10 ** (-1 / 20)


@pytest.mark.parametrize("rate", [22050, 44100, 48000])
@pytest.mark.parametrize("name", EARCON_NAMES)
def test_builtin_earcons_have_their_length_and_sit_just_under_the_voice(
    name: str, rate: int, tmp_path: Path
) -> None:
    x = earcon(name, rate, tmp_path)
    assert x.dtype == np.float32
    assert x.shape == (round(SECONDS[name] * rate),)
    loudness = clip_loudness(x, rate)
    assert loudness == pytest.approx(target_loudness(name), abs=0.05)
    # Within 3 dB of the speech, never louder than it, and under the -1 dBFS ceiling.
    assert SPEECH_LUFS - 3 <= loudness < SPEECH_LUFS
    assert np.abs(x).max() <= MINUS_1_DBFS


@pytest.mark.parametrize("name", EARCON_NAMES)
def test_builtin_earcons_have_no_dc_and_start_and_end_silent(name: str, tmp_path: Path) -> None:
    x = earcon(name, RATE, tmp_path).astype(np.float64)
    assert abs(x.mean()) < 1e-3
    assert x[0] == 0.0 and abs(x[-1]) < 1e-6
    # Raised-cosine edges: no jump at the start (even the tick's 0.8 ms attack is a
    # ramp), and the last millisecond has died away.
    assert np.abs(x[: RATE // 4000]).max() < 0.5 * np.abs(x).max()
    assert np.abs(x[-RATE // 1000 :]).max() < 0.05 * np.abs(x).max()


@pytest.mark.parametrize("rate", [22050, 44100, 48000])
def test_builtin_earcons_scale_with_the_sample_rate(rate: int, tmp_path: Path) -> None:
    assert earcon("done", rate, tmp_path).size == round(0.6 * rate)


def test_inhale_rises_and_exhale_falls_in_pitch(tmp_path: Path) -> None:
    inhale = earcon("inhale", RATE, tmp_path)
    exhale = earcon("exhale", RATE, tmp_path)
    half = inhale.size // 2
    assert _zero_crossings(inhale[half:]) > _zero_crossings(inhale[:half])
    assert _zero_crossings(exhale[half:]) < _zero_crossings(exhale[:half])


def _sine(seconds: float, rate: int, amplitude: float, freq: float = 1000.0) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return amplitude * np.sin(2 * np.pi * freq * t)


def test_an_override_file_is_mixed_to_mono_resampled_and_brought_to_the_tone_level(
    tmp_path: Path,
) -> None:
    tone = _sine(0.1, 44100, 1.0)  # 0.1 s of 1 kHz, louder on the right
    soundfile.write(tmp_path / "tick.wav", np.stack([0.02 * tone, 0.06 * tone], axis=1), 44100)

    x = earcon("tick", RATE, tmp_path)

    assert x.dtype == np.float32
    assert x.shape == (4800,)
    # A quiet file (-37 dBFS) comes up to the built-in tick's loudness.
    assert clip_loudness(x, RATE) == pytest.approx(target_loudness("tick"), abs=0.05)
    assert _zero_crossings(x[1000:3800]) == pytest.approx(2 * 1000 * 2800 / RATE, abs=2)
    # A sine stays a sine: the same gain all through (each 1 ms holds a whole cycle).
    peaks = np.abs(x[1008:3792]).reshape(-1, 48).max(axis=1)
    np.testing.assert_allclose(peaks, peaks.max(), rtol=0.01)
    assert np.abs(x).max() <= MINUS_1_DBFS
    # Other earcons are still the built-in ones.
    assert earcon("start", RATE, tmp_path).size == round(0.15 * RATE)


def test_a_flac_override_is_used_too(tmp_path: Path) -> None:
    soundfile.write(tmp_path / "done.flac", _sine(0.5, 22050, 0.25, 660.0), 22050)
    x = earcon("done", 44100, tmp_path)
    assert x.size == 22050
    assert _zero_crossings(x) == pytest.approx(2 * 660 * 0.5, abs=2)
    assert clip_loudness(x, 44100) == pytest.approx(target_loudness("done"), abs=0.05)


def test_loud_overrides_are_turned_down_and_silent_ones_stay_silent(tmp_path: Path) -> None:
    # A float WAV may hold any value: 1e6 used to reach the output as full scale.
    soundfile.write(tmp_path / "start.wav", _sine(0.15, 48000, 1e6), 48000, subtype="FLOAT")
    soundfile.write(tmp_path / "inhale.wav", _sine(0.4, 48000, 0.99, 300.0), 48000)
    soundfile.write(tmp_path / "stop.wav", np.zeros(4800), 48000)

    start = earcon("start", RATE, tmp_path)
    inhale = earcon("inhale", RATE, tmp_path)
    stop = earcon("stop", RATE, tmp_path)

    assert clip_loudness(start, RATE) == pytest.approx(target_loudness("start"), abs=0.05)
    assert clip_loudness(inhale, RATE) == pytest.approx(target_loudness("inhale"), abs=0.05)
    assert max(np.abs(start).max(), np.abs(inhale).max()) <= MINUS_1_DBFS
    # Silence cannot be normalised (no division by zero): it mutes the tone.
    assert stop.shape == (4800,) and not stop.any()


def test_a_click_too_short_to_measure_gets_the_builtin_peak(tmp_path: Path) -> None:
    click = np.zeros(240)
    click[10:14] = [0.05, -0.05, 0.03, -0.01]  # 5 ms
    soundfile.write(tmp_path / "tick.wav", click, 48000)
    x = earcon("tick", RATE, tmp_path)
    builtin = earcon("tick", RATE, tmp_path / "none")
    assert np.abs(x).max() == pytest.approx(np.abs(builtin).max(), rel=1e-3)


def test_a_multichannel_override_is_mixed_down_and_too_many_channels_are_refused(
    tmp_path: Path,
) -> None:
    six = np.stack([_sine(0.2, 48000, a) for a in (0.1, 0.2, 0.3, 0.0, 0.1, 0.5)], axis=1)
    soundfile.write(tmp_path / "done.wav", six, 48000)
    x = earcon("done", RATE, tmp_path)
    assert x.shape == (9600,)
    assert clip_loudness(x, RATE) == pytest.approx(target_loudness("done"), abs=0.05)

    soundfile.write(tmp_path / "stop.wav", np.zeros((100, 16)), 48000)
    with pytest.raises(VoicecoachError, match=r"stop\.wav: the earcon has 16 channels"):
        earcon("stop", RATE, tmp_path)


def test_an_override_with_nan_samples_is_refused_naming_the_file(tmp_path: Path) -> None:
    samples = _sine(0.1, 48000, 0.3)
    samples[100:200] = np.nan
    soundfile.write(tmp_path / "tick.wav", samples, 48000, subtype="FLOAT")
    with pytest.raises(VoicecoachError) as info:
        earcon("tick", RATE, tmp_path)
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'tick.wav'}: ")
    assert "not numbers (NaN or infinite)" in message
    assert "remove it to get the built-in tone" in message
    assert "\n" not in message


def test_a_long_override_is_refused_from_its_header_without_reading_it(tmp_path: Path) -> None:
    # A 10-minute 48 kHz stereo float WAV, sparse on disk: its header is real, its data
    # would be 230 MB if read.
    path = tmp_path / "done.wav"
    with soundfile.SoundFile(path, "w", 48000, 2, subtype="FLOAT") as f:
        f.write(np.zeros((48000, 2)))
    frames = 600 * 48000
    data_bytes = frames * 2 * 4
    raw = bytearray(path.read_bytes())
    at = raw.index(b"data")
    raw[at + 4 : at + 8] = struct.pack("<I", data_bytes)
    raw[4:8] = struct.pack("<I", at + 8 + data_bytes - 8)
    with open(path, "wb") as f:
        f.write(raw[: at + 8])
        f.truncate(at + 8 + data_bytes)
    assert soundfile.info(str(path)).frames == frames

    tracemalloc.start()
    try:
        with pytest.raises(VoicecoachError) as info:
            earcon("done", RATE, tmp_path)
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "lasts 600.0 s, longer than the 3 s a tone may last" in str(info.value)
    assert "shorten it, or remove it to get the built-in tone" in str(info.value)
    assert peak_bytes < 5_000_000


def test_an_absurd_sample_rate_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tick.wav"
    soundfile.write(path, _sine(0.1, 44100, 0.3), 44100)
    raw = bytearray(path.read_bytes())
    raw[24:28] = struct.pack("<I", 2**31 - 1)  # the fmt chunk's sample rate
    path.write_bytes(bytes(raw))
    with pytest.raises(
        VoicecoachError,
        match=r"tick\.wav: the earcon's sample rate of 2147483647 Hz is not "
        r"supported .* remove it to get the built-in tone",
    ):
        earcon("tick", RATE, tmp_path)


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("empty", r"the earcon file is empty \(0 bytes\)"),
        ("no frames", r"the earcon file holds no audio \(0 samples\)"),
    ],
)
def test_an_empty_override_says_how_to_get_the_builtin_tone_back(
    kind: str, problem: str, tmp_path: Path
) -> None:
    path = tmp_path / "exhale.wav"
    if kind == "empty":
        path.write_bytes(b"")
    else:
        soundfile.write(path, np.zeros(0), 48000)
    with pytest.raises(
        VoicecoachError,
        match=rf"exhale\.wav: {problem}; replace it, or "
        rf"remove it to get the built-in tone\.$",
    ):
        earcon("exhale", RATE, tmp_path)


def test_a_directory_or_a_fifo_in_place_of_an_override_is_reported(tmp_path: Path) -> None:
    (tmp_path / "start.wav").mkdir()
    os.mkfifo(tmp_path / "stop.ogg")  # opened without blocking, then refused
    with pytest.raises(
        VoicecoachError,
        match=r"start\.wav: this earcon is a directory, not "
        r"an audio file",
    ):
        earcon("start", RATE, tmp_path)
    with pytest.raises(
        VoicecoachError,
        match=r"stop\.ogg: this earcon is a named pipe "
        r"\(FIFO\), not an audio file; .* remove it",
    ):
        earcon("stop", RATE, tmp_path)


def test_an_override_that_cannot_be_opened_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "tick.wav"
    if os.geteuid() == 0:
        # Root reads any file whatever its mode: a link loop cannot be opened by anyone.
        os.symlink(path, path)
        reason = "too many symbolic links"
    else:
        soundfile.write(path, _sine(0.1, 48000, 0.3), 48000)
        path.chmod(0)
        reason = "permission denied"
    with pytest.raises(
        VoicecoachError,
        match=rf"tick\.wav: cannot open this earcon file "
        rf"\({reason}.*\); make it readable, or remove "
        rf"it to get the built-in tone",
    ):
        earcon("tick", RATE, tmp_path)
    (tmp_path / "done.wav").symlink_to(tmp_path / "missing.wav")
    with pytest.raises(
        VoicecoachError,
        match=r"done\.wav: this earcon is a link to a file "
        r"that does not exist",
    ):
        earcon("done", RATE, tmp_path)


def test_an_unreadable_override_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "stop.wav"
    bad.write_bytes(b"not a wav file")
    with pytest.raises(
        VoicecoachError,
        match=r"stop\.wav: cannot read this earcon file "
        r"\(.*\); use a WAV, FLAC or Ogg file, or "
        r"remove it to get the built-in tone",
    ):
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
