"""Loudness and peaks: BS.1770 measured right, speech at -18 LUFS, tones near it, under -1 dBFS.

The meter is checked against the standard's own filter (scipy's lfilter with the 48 kHz
coefficients printed in ITU-R BS.1770-4), a reference sine, and pyloudnorm on real
espeak-ng speech; levels are checked on real synthesis and on real rendered files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import scipy.signal
import soundfile

from tests.test_mixer import drive
from voicecoach import dsp
from voicecoach.dsp import SPEECH_LUFS, clip_loudness, integrated_loudness, k_weighted
from voicecoach.earcons import EARCON_NAMES, earcon
from voicecoach.model import Exercise, Routine, Voice
from voicecoach.phrases import SAFETY_MESSAGE
from voicecoach.session import Prepared, build_mixer, prepare_speech
from voicecoach.sinks import render_to_file
from voicecoach.speech import REFERENCE_PHRASES, Clip, cache_key, synthesize
from voicecoach.timeline import compile_routine

MINUS_1_DBFS = 10 ** (-1 / 20)
SETTINGS = Voice(name="en-us")
PHRASES = ["3", "Breathe in", "Bird dog. Set 1 of 3. Left side.", "Rest 30 seconds."]
ROUTINE = Routine("Tiny", (Exercise(0, "Bird dog", "hold", (2,), hold=3.0, rest=2.0),))
TIMELINE = compile_routine(ROUTINE)


@pytest.fixture(scope="module")
def voice(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Clip]]:
    folder = tmp_path_factory.mktemp("speech")
    return folder, synthesize([*PHRASES, *REFERENCE_PHRASES], SETTINGS, folder)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


# --- The meter -----------------------------------------------------------------------------


def test_k_weighting_is_the_filter_of_the_standard() -> None:
    # ITU-R BS.1770-4, tables 1 and 2: the two biquads at 48 kHz.
    shelf_b = [1.53512485958697, -2.69169618940638, 1.19839281085285]
    shelf_a = [1.0, -1.69065929318241, 0.73248077421585]
    pass_b = [1.0, -2.0, 1.0]
    pass_a = [1.0, -1.99004745483398, 0.99007225036621]
    x = np.random.default_rng(7).standard_normal(48_000)
    want = scipy.signal.lfilter(pass_b, pass_a, scipy.signal.lfilter(shelf_b, shelf_a, x))
    assert np.abs(k_weighted(x, 48_000) - want).max() < 1e-9


def test_a_997_hz_sine_at_minus_20_dbfs_reads_minus_23_point_01_lufs() -> None:
    # BS.1770's offset: a full-scale 997 Hz sine in one channel reads -3.01 LUFS.
    t = np.arange(5 * 48_000) / 48_000
    assert integrated_loudness(0.1 * np.sin(2 * np.pi * 997 * t), 48_000) == pytest.approx(
        -23.01, abs=0.01
    )


@pytest.mark.parametrize(("rate", "within"), [(22050, 0.15), (44100, 0.1), (48000, 0.1)])
def test_the_meter_agrees_with_pyloudnorm_on_real_speech(
    rate: int, within: float, voice: tuple[Path, dict[str, Clip]]
) -> None:
    _, clips = voice
    speech = np.concatenate([clips[t].samples for t in [SAFETY_MESSAGE, *PHRASES]])
    speech = dsp.resample(speech, 22050, rate).astype(np.float64)
    # Whole 100 ms steps: pyloudnorm otherwise rounds a last, partial block in.
    speech = speech[: len(speech) - len(speech) % (rate // 10)]
    # pyloudnorm designs its filter from rounded parameters (a 4 dB shelf at 1500 Hz),
    # further from the standard's the lower the rate; its gating is BS.1770's to the
    # last digit (fed the same K-weighted signal, with its own filter switched off).
    assert integrated_loudness(speech, rate) == pytest.approx(
        pyloudnorm.Meter(rate).integrated_loudness(speech), abs=within
    )
    gating_only = pyloudnorm.Meter(rate)
    gating_only._filters = {}
    assert integrated_loudness(speech, rate) == pytest.approx(
        gating_only.integrated_loudness(k_weighted(speech, rate)), abs=1e-9
    )


def test_a_long_session_is_measured_in_chunks_exactly_as_at_once(
    voice: tuple[Path, dict[str, Clip]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, clips = voice
    speech = np.tile(clips[SAFETY_MESSAGE].samples, 3)
    whole = integrated_loudness(speech, 22050)
    monkeypatch.setattr(dsp, "_CHUNK_FRAMES", 10_007)  # many chunks, at odd places
    assert integrated_loudness(speech, 22050) == pytest.approx(whole, abs=1e-6)


def test_a_sound_shorter_than_a_gating_block_is_measured_over_at_least_100_ms() -> None:
    t = np.arange(48_000) / 48_000
    tone = 0.1 * np.sin(2 * np.pi * 997 * t)
    # Half of the minimum window: half the energy, 3 dB under the same tone held longer.
    assert clip_loudness(tone[:2400], 48_000) == pytest.approx(
        clip_loudness(tone[:4800], 48_000) - 3.01, abs=0.05
    )
    # From 100 ms up to a gating block, the tone's own length: its steady level.
    assert clip_loudness(tone[:9600], 48_000) == pytest.approx(-23.01, abs=0.05)
    assert clip_loudness(tone[:19200], 48_000) == pytest.approx(-23.01, abs=0.02)
    assert clip_loudness(np.zeros(1000), 48_000) == float("-inf")


# --- Levels ----------------------------------------------------------------------------------


def test_speech_sits_at_minus_18_lufs_and_keeps_its_own_rise_and_fall(
    voice: tuple[Path, dict[str, Clip]],
) -> None:
    folder, clips = voice
    reference = np.concatenate([clips[t].samples for t in REFERENCE_PHRASES])
    assert integrated_loudness(reference, 22050) == pytest.approx(SPEECH_LUFS, abs=0.3)
    # One gain for the voice: every clip is its engine output times the same factor
    # (but where a peak was limited).
    gains = []
    for text, clip in clips.items():
        raw, _ = soundfile.read(folder / f"{cache_key(text, SETTINGS)}.wav", dtype="float32")
        assert np.abs(clip.samples).max() <= MINUS_1_DBFS
        quiet = (np.abs(raw) > 0.01) & (np.abs(raw) < 0.2)
        gains.append(np.median(clip.samples[quiet] / raw[quiet]))
    np.testing.assert_allclose(gains, gains[0], rtol=1e-4)
    assert 20 * np.log10(gains[0]) > 1.0  # espeak-ng speaks at about -21 LUFS


def test_volume_sets_the_voice_relative_to_the_standard_level(tmp_path: Path) -> None:
    half = synthesize(list(REFERENCE_PHRASES), Voice(name="en-us", volume=0.5), tmp_path)
    reference = np.concatenate([c.samples for c in half.values()])
    assert integrated_loudness(reference, 22050) == pytest.approx(SPEECH_LUFS - 6.02, abs=0.3)


@pytest.mark.parametrize("name", EARCON_NAMES)
def test_every_tone_is_within_3_db_of_the_speech_and_not_louder(
    name: str, voice: tuple[Path, dict[str, Clip]], tmp_path: Path
) -> None:
    _, clips = voice
    speech = integrated_loudness(np.concatenate([c.samples for c in clips.values()]), 22050)
    tone = clip_loudness(earcon(name, 48_000, tmp_path), 48_000)
    assert 0.0 < speech - tone <= 3.0


# --- The ceiling, on rendered files ------------------------------------------------------------


def _prepare(cache: Path, config: Path, monkeypatch: pytest.MonkeyPatch) -> Prepared:
    monkeypatch.setenv("VOICECOACH_CONFIG_DIR", str(config))
    return prepare_speech(TIMELINE, ROUTINE, Voice(name="en-us"), 48_000, cache)


def _render(prepared: Prepared, path: Path) -> tuple[np.ndarray, np.ndarray, int]:
    """The session as float samples, as the 16-bit WAV the file sink writes, and limits."""
    _, mixer = build_mixer(TIMELINE, prepared)
    floats = drive(mixer, 1024)
    _, again = build_mixer(TIMELINE, prepared)
    render_to_file(again, path)
    pcm, _ = soundfile.read(path, dtype="int16")
    return floats, pcm, mixer.limiter.limited_frames


def _assert_under_the_ceiling(floats: np.ndarray, pcm: np.ndarray) -> None:
    assert np.isfinite(floats).all()
    assert np.abs(floats).max() <= MINUS_1_DBFS
    assert np.abs(pcm.astype(np.int32)).max() / 32768 <= MINUS_1_DBFS


def test_a_clip_of_1e6_and_overlapping_loud_clips_never_pass_minus_1_dbfs(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared = _prepare(cache, tmp_path / "config", monkeypatch)
    clips = dict(prepared.clips)
    first = next(iter(clips))
    clips[first] = np.full(len(clips[first]), 1e6, dtype=np.float32)
    # Everything else four times too loud (tones no longer overlap words, but the stop
    # and done tones still overlap each other at the end).
    for text in list(clips)[1:]:
        clips[text] = np.asarray(clips[text]) * np.float32(4.0)
    tones = {name: tone * np.float32(4.0) for name, tone in prepared.tones.items()}
    loud = Prepared(prepared.samplerate, clips, tones, prepared.extra)

    floats, pcm, limited = _render(loud, tmp_path / "loud.wav")

    _assert_under_the_ceiling(floats, pcm)
    assert limited > 48_000
    assert np.abs(pcm.astype(np.int32)).max() >= 29_000  # limited, not silenced


def test_a_loud_override_in_a_real_session_stays_under_minus_1_dbfs(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config"
    (config / "earcons").mkdir(parents=True)
    t = np.arange(24_000) / 48_000
    soundfile.write(
        config / "earcons" / "start.wav", 1e6 * np.sin(2 * np.pi * 440 * t), 48_000, subtype="FLOAT"
    )
    prepared = _prepare(cache, config, monkeypatch)

    floats, pcm, _ = _render(prepared, tmp_path / "session.wav")

    _assert_under_the_ceiling(floats, pcm)
    start = prepared.tones["start"]
    assert clip_loudness(start, 48_000) == pytest.approx(
        clip_loudness(earcon("start", 48_000, tmp_path / "none"), 48_000), abs=0.05
    )
