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


def _takeover(late_s: float, creep_s: float = 0.002) -> list[int]:
    """A first stream plays 2 s; a second takes over ``late_s`` after its end, and plays 2 s.

    ``creep_s``: how far the second stream's timing moves while it settles.
    """
    first = GapMeter(SR)
    written = 0
    for _ in range(round(2.0 * SR / BLOCK)):
        first.update(500.0 + written / SR, written, False)
        written += BLOCK
    origin = first.origin
    assert origin is not None
    follows = origin + written / SR
    second = GapMeter(SR)
    second.restart(0, follows)
    found = []
    rng = random.Random(3)
    start = follows + late_s
    for i in range(round(2.0 * SR / BLOCK)):
        creep = creep_s * min(1.0, i * BLOCK / SR / 0.3)
        dac = start + i * BLOCK / SR + creep + rng.gauss(0, 9e-5)
        frames = second.update(dac, i * BLOCK, False)
        if frames:
            found.append(frames)
    return found


def test_a_stream_taking_over_reports_how_late_it_started_once() -> None:
    found = _takeover(0.025)
    assert len(found) == 1
    # The start's own settling (2 ms here) counts: measured, it is within that.
    assert 0.025 * SR <= found[0] <= 0.028 * SR


def test_a_stream_taking_over_early_reports_the_time_gained() -> None:
    # Through a sound server the old stream's last frames and the new one's first overlap.
    found = _takeover(-0.015, creep_s=0.0)
    assert len(found) == 1 and found[0] == pytest.approx(-0.015 * SR, abs=8)


def test_a_stream_taking_over_in_time_or_on_another_clock_reports_nothing() -> None:
    assert _takeover(0.0, creep_s=0.0) == []
    assert _takeover(3600.0) == []  # not the same clock: not trusted
    assert _takeover(-3600.0) == []


def test_the_origin_includes_a_gap_still_settling() -> None:
    meter = GapMeter(SR)
    written = 0
    for _ in range(round(1.0 * SR / BLOCK)):
        meter.update(100.0 + written / SR, written, False)
        written += BLOCK
    before = meter.origin
    assert before is not None
    meter.update(100.04 + written / SR, written, True)  # 40 ms lost, not settled yet
    after = meter.origin
    assert after is not None and after - before == pytest.approx(0.04, abs=1e-4)
