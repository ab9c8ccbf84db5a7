"""GapMeter on synthetic callback timing: drift and jitter are no loss, a gap is measured once.

The real path (PulseAudio, SIGSTOP stalls, captured output) is in test_catch_up_live.py;
these feed the meter the numbers PortAudio would, with the drift and jitter measured
through PulseAudio, to pin down its rules.
"""

from __future__ import annotations

import random

import pytest

from voicecoach.gaps import GAP_SETTLE_S, START_SETTLE_S, GapMeter

SR = 48_000
BLOCK = 256


def play(
    seconds: float,
    *,
    gaps: dict[float, float] | None = None,
    drift_ppm: float = -200.0,
    jitter_s: float = 0.00009,
    flag: bool = True,
    startup_creep_s: float = 0.002,
    seed: int = 1,
) -> list[tuple[float, int]]:
    """Feed ``seconds`` of callbacks; ``gaps`` maps a time to the seconds lost there.

    Returns ``(time, frames)`` for every gap the meter reported.
    """
    rng = random.Random(seed)
    meter = GapMeter(SR)
    pending = sorted((gaps or {}).items())
    lost = 0.0
    found = []
    written = 0
    epoch = 1.8e9  # PortAudio's clock here is on a wall-clock epoch
    while written < seconds * SR:
        t = written / SR
        underflow = False
        if pending and t >= pending[0][0]:
            lost += pending.pop(0)[1]
            underflow = flag
        creep = startup_creep_s * min(1.0, t / 0.3)
        dac = epoch + t + lost + t * drift_ppm * 1e-6 + creep + rng.gauss(0.0, jitter_s)
        frames = meter.update(dac, written, underflow)
        if frames:
            found.append((t, frames))
        written += BLOCK
    return found


def test_drift_jitter_and_a_stream_settling_at_the_start_are_no_gap() -> None:
    assert play(120.0) == []
    assert play(120.0, drift_ppm=+300.0, seed=2) == []


@pytest.mark.parametrize("lost_s", [0.0015, 0.012, 0.064, 0.5])
def test_a_gap_is_measured_once_to_the_frame_after_it_settles(lost_s: float) -> None:
    found = play(10.0, gaps={4.0: lost_s})
    assert len(found) == 1
    at, frames = found[0]
    assert frames == pytest.approx(lost_s * SR, abs=8)  # jitter and drift: a few frames
    assert 4.0 + GAP_SETTLE_S <= at <= 4.0 + GAP_SETTLE_S + 2 * BLOCK / SR


def test_a_gap_the_device_did_not_flag_is_found_from_the_timing_alone() -> None:
    found = play(10.0, gaps={3.0: 0.03}, flag=False)
    assert [round(f / SR, 3) for _, f in found] == [0.03]


def test_two_gaps_in_quick_succession_are_measured_together() -> None:
    found = play(10.0, gaps={5.0: 0.02, 5.05: 0.04})
    assert len(found) == 1
    assert found[0][1] == pytest.approx(0.06 * SR, abs=8)


def test_a_gap_within_the_first_moments_of_a_stream_is_taken_as_its_start() -> None:
    assert play(5.0, gaps={START_SETTLE_S / 2: 0.03}) == []


def test_a_host_api_without_timing_reports_nothing() -> None:
    meter = GapMeter(SR)
    assert all(meter.update(0.0, i * BLOCK, True) == 0 for i in range(5000))


def test_a_restarted_stream_starts_from_a_new_origin() -> None:
    meter = GapMeter(SR)
    written = 0
    for _ in range(1000):
        assert meter.update(1000.0 + written / SR, written, False) == 0
        written += BLOCK
    meter.restart(written)
    # The stream was stopped for 3 s: its timing jumps, and that is no gap.
    for _ in range(1000):
        assert meter.update(1003.0 + written / SR, written, False) == 0
        written += BLOCK
