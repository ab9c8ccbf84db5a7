"""Unit tests of the benchmark's onset detector and aligner on synthetic signals."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.onsets import (
    align,
    capture_position,
    capture_times,
    clock_ppm,
    detect_onsets,
    is_sounding,
    isolated_onsets,
    percentiles_ms,
    silence_start,
)

SR = 48000


def burst(frames: int, freq: float = 660.0, attack: int = 192, peak: float = 0.35) -> np.ndarray:
    """A tone with a raised-cosine attack, like the start earcon."""
    t = np.arange(frames) / SR
    env = np.ones(frames)
    env[:attack] = 0.5 - 0.5 * np.cos(np.pi * np.arange(attack) / attack)
    return (peak * env * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def place(total: int, at: list[int], clip: np.ndarray) -> np.ndarray:
    out = np.zeros(total, dtype=np.float32)
    for a in at:
        out[a : a + clip.size] += clip
    return out


def test_onsets_of_bursts_land_within_a_period_of_where_they_were_placed() -> None:
    starts = [4800, 30000, 77777, 100001]
    x = place(SR * 3, starts, burst(4800))
    onsets = detect_onsets(x, SR)
    assert onsets.size == len(starts)
    assert np.all(onsets >= starts)
    assert np.all(onsets - starts < SR // 660)


def test_a_gap_shorter_than_min_gap_does_not_start_a_new_onset() -> None:
    clip = burst(2400)
    x = place(SR, [4800, 4800 + 2400 + 960], clip)  # 20 ms gap
    assert detect_onsets(x, SR, min_gap_s=0.1).size == 1
    assert detect_onsets(x, SR, min_gap_s=0.01).size == 2


def test_sound_at_the_very_start_has_no_onset() -> None:
    x = place(SR, [0, 24000], burst(2400))
    assert list(detect_onsets(x, SR)) == [pytest.approx(24000, abs=80)]


def test_quantisation_noise_under_the_threshold_is_silence() -> None:
    rng = np.random.default_rng(1)
    x = (rng.integers(-3, 4, SR) / 32768).astype(np.float32)
    assert detect_onsets(x, SR).size == 0


def test_silence_start_is_one_past_the_last_loud_sample() -> None:
    x = place(SR, [1000], np.full(5000, 0.5, dtype=np.float32))
    assert silence_start(x, 2000, SR, min_silence_s=0.05) == 6000


def test_silence_start_skips_a_gap_shorter_than_the_silence_asked_for() -> None:
    tone = np.full(2000, 0.5, dtype=np.float32)
    x = place(SR, [1000, 3500], tone)  # a 500-frame word gap, then sound to 5500
    assert silence_start(x, 1500, SR, min_silence_s=0.05) == 5500


def test_silence_start_is_none_while_sound_runs_to_the_end() -> None:
    x = np.full(SR, 0.5, dtype=np.float32)
    assert silence_start(x, 0, SR) is None


def test_is_sounding_looks_only_before_the_index() -> None:
    x = place(SR, [10000], np.full(1000, 0.5, dtype=np.float32))
    assert is_sounding(x, 10500, SR)
    assert not is_sounding(x, 10000, SR)


def test_cues_that_start_while_another_sounds_are_not_onsets() -> None:
    cues = [
        {"at": 0.3, "end": 1.0},
        {"at": 1.05, "end": 2.0},  # 50 ms after the first ended: too close
        {"at": 3.0, "end": 3.15},  # a tone...
        {"at": 3.0, "end": 3.5},  # ...and a word at the same instant: one onset
        {"at": 3.2, "end": 3.4},  # starts while the word plays
        {"at": 4.0, "end": 4.1},
    ]
    assert isolated_onsets(cues, min_gap_s=0.1) == [0.3, 3.0, 4.0]


def test_align_reports_each_cue_relative_to_the_first() -> None:
    ref = [0.0, 1.0, 2.0, 3.0]
    det = [10.0, 11.001, 12.0, 13.002]
    result = align(ref, det, early_s=0.05, late_s=0.05)
    assert result.matched == 4
    assert result.missed == 0
    np.testing.assert_allclose(result.errors_s, [0, 0.001, 0, 0.002], atol=1e-9)
    assert result.drift_s == pytest.approx(0.002)


def test_align_follows_a_growing_delay_cue_by_cue() -> None:
    ref = np.arange(10) * 5.0
    det = ref + 2.0 + np.arange(10) * 0.4  # each cue 0.4 s later than the one before
    result = align(ref, det, early_s=0.1, late_s=1.0)
    assert result.matched == 10
    assert result.drift_s == pytest.approx(3.6)


def test_align_counts_a_missing_cue_and_an_extra_onset() -> None:
    ref = [0.0, 1.0, 2.0, 3.0]
    det = [5.0, 6.0, 6.5, 8.0]  # the cue at 2.0 is missing; 6.5 is spurious
    result = align(ref, det, early_s=0.05, late_s=0.05)
    assert (result.matched, result.missed, result.extra) == (3, 1, 1)


def test_percentiles_are_of_magnitudes_in_milliseconds() -> None:
    p50, p99, worst = percentiles_ms(np.array([0.0, -0.002, 0.001, 0.004]))
    assert p50 == pytest.approx(1.5)
    assert worst == pytest.approx(4.0)
    assert p50 <= p99 <= worst


def test_clock_ppm_recovers_a_fast_sample_clock_from_read_arrivals() -> None:
    rng = np.random.default_rng(2)
    rate = 1.0001  # 100 ppm fast: samples come faster than monotonic time
    log = []
    for i in range(1, 6001):
        n = i * 480
        sounded = 100.0 + n / SR / rate
        log.append((sounded + rng.uniform(0, 0.004), n))
    assert clock_ppm(log, SR) == pytest.approx(100, abs=10)


def test_capture_position_inverts_capture_times_on_a_fast_clock() -> None:
    rate = 1.0007  # a null sink 700 ppm fast, as measured with PortAudio connected
    log = [(100.0 + i * 480 / SR / rate + 0.001, i * 480) for i in range(1, 12001)]
    for monotonic_s in (101.0, 130.0, 210.0):
        position = capture_position(log, monotonic_s, SR)
        back = capture_times(log, np.array([position]), SR, bin_s=2.0)[0]
        assert back == pytest.approx(monotonic_s, abs=1e-4)
    # A single offset for the whole capture would be off by 700 ppm x 120 s = 84 ms here;
    # the local mapping is within a bin's rate error (1.4 ms per 2 s bin at worst).
    assert capture_position(log, 101.0, SR) == pytest.approx((1.0 - 0.001) * rate, abs=1.5e-3)
    assert capture_position(log, 200.0, SR) == pytest.approx((100.0 - 0.001) * rate, abs=1.5e-3)
