"""Gaps: time a sound device lost, read from the timing PortAudio gives each callback.

PortAudio says when each block will sound (``outputBufferDacTime``). Less the frames
written before it, that is when frame 0 sounded: the *origin*. It stays put while the
device plays every frame it is given, and jumps by the time lost when the device ran dry
and played silence of its own. Measured through PulseAudio: SIGSTOP stalls of 20-80 ms
moved it by the gap the captured output showed, to within a millisecond.

Between gaps the origin creeps with the drift between the device's clock and the system
clock (about 0.2 ms/s through PulseAudio's ALSA plugin), which is no loss; a baseline
follows it. Pure: fed numbers, it returns numbers (the device sink feeds it).

A stream that takes over from another (the player widens the buffer of a device that ran
short) is told when its first frame should have sounded; once its own timing has settled,
the difference is a gap like any other.
"""

from __future__ import annotations

GAP_TRIGGER_S = 0.002  # a jump this big (or an underflow flag) starts a measurement
GAP_SETTLE_S = 0.1  # PulseAudio's timing settles this long after a gap
GAP_MIN_S = 0.001  # a settled shift smaller than this is jitter, not a gap
# A fresh stream's timing settles by a millisecond or two (the captured output shows no
# gap there): the baseline follows it fully for this long.
START_SETTLE_S = 0.5
# A stream taking over from another is this late at most; more means the two streams'
# clocks are not the same clock (a host API without one), so the figure is not trusted.
TAKEOVER_MAX_S = 5.0
# How fast the baseline follows drift, and how much a settling reading is smoothed, per
# callback (about 5 ms each): jitter is about 0.09 ms RMS, drift about 0.001 ms a block.
DRIFT_FOLLOW = 0.05
SETTLE_SMOOTHING = 0.2


class GapMeter:
    """Turns each callback's timing into the frames the device lost (usually none)."""

    def __init__(self, samplerate: int) -> None:
        self.samplerate = samplerate
        self._settle_frames = round(GAP_SETTLE_S * samplerate)
        self._baseline: float | None = None
        self._start_until = 0
        self._settle_until = -1  # measuring a gap until this many frames were written
        self._settled = 0.0  # the smoothed origin while a gap settles
        self._expected: float | None = None
        self.restart(0)

    def restart(self, written: int, expected_origin: float | None = None) -> None:
        """A stream (re)starts with ``written`` frames already written: a new origin.

        ``expected_origin``, on the same clock as the callbacks' ``dac_time``, is when
        frame 0 should have sounded (the old stream's origin plus the frames it wrote);
        any lateness is reported as a gap once the start has settled (negative frames:
        it started early).
        """
        self._baseline = None
        self._settle_until = -1
        self._start_until = written + round(START_SETTLE_S * self.samplerate)
        self._expected = expected_origin

    @property
    def origin(self) -> float | None:
        """When frame 0 sounded, or ``None`` before the first timing.

        Includes a gap still settling: a stream that takes over from this one owes it.
        """
        if self._baseline is None:
            return None
        return self._baseline if self._settle_until < 0 else self._settled

    def update(self, dac_time: float, written: int, underflow: bool) -> int:
        """One callback's timing; returns the frames lost in a gap that has just settled.

        ``dac_time`` is when this block will sound (seconds, any epoch; 0 or less when
        the host API gives no timing), ``written`` the frames written before it, and
        ``underflow`` the callback's ``status.output_underflow``.
        """
        if dac_time <= 0.0:
            return 0
        origin = dac_time - written / self.samplerate
        if self._baseline is None or written < self._start_until:
            self._baseline = origin
            return 0
        if self._expected is not None:
            late, self._expected = self._baseline - self._expected, None
            # Early is possible: through a sound server the two streams overlap.
            if GAP_MIN_S <= abs(late) <= TAKEOVER_MAX_S:
                return round(late * self.samplerate)
        shift = origin - self._baseline
        if self._settle_until < 0:
            if underflow or shift > GAP_TRIGGER_S:
                self._settle_until = written + self._settle_frames
                self._settled = origin
            else:
                self._baseline += shift * DRIFT_FOLLOW
            return 0
        if underflow or origin - self._settled > GAP_TRIGGER_S:
            # Another gap before this one settled: measure both together.
            self._settle_until = written + self._settle_frames
            self._settled = origin
            return 0
        self._settled += (origin - self._settled) * SETTLE_SMOOTHING
        if written < self._settle_until:
            return 0
        self._settle_until = -1
        shift = self._settled - self._baseline
        self._baseline = self._settled
        return round(shift * self.samplerate) if shift >= GAP_MIN_S else 0
