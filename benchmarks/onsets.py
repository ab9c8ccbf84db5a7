"""Onset detection and schedule alignment for captured audio: pure functions over sample arrays.

The capture of a null sink's monitor is digital: between sounds it is exactly zero (or a
few LSB), so an onset is the first sample above a small threshold after a stretch of
silence, and "silent" means every sample at or under that threshold. Everything here
works on sample indices; seconds only appear where a schedule comes in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# About -50 dBFS: far above the s16 quantisation of silence, far below any cue's level
# (earcons peak near 0.35, speech near 0.7), and low enough that a 4 ms raised-cosine
# attack crosses it within the first period of the tone.
DEFAULT_THRESHOLD = 0.003
# Onset times in seconds, ascending: a list or an array.
Seconds = Sequence[float] | np.ndarray


@dataclass(frozen=True, slots=True)
class Alignment:
    """Detected onsets matched to a schedule, in order.

    ``reference_s`` and ``detected_s`` hold the matched pairs (seconds, same length);
    ``errors_s`` is each pair's offset minus the first pair's offset, i.e. how early (-) or
    late (+) each cue sounded relative to the session's first cue. ``missed`` counts
    scheduled onsets with no detected onset in their window; ``extra`` counts detected
    onsets left unmatched.
    """

    reference_s: np.ndarray
    detected_s: np.ndarray
    errors_s: np.ndarray
    missed: int
    extra: int

    @property
    def matched(self) -> int:
        """Number of scheduled onsets found in the capture."""
        return int(self.errors_s.size)

    @property
    def drift_s(self) -> float:
        """Error of the last matched cue minus that of the first (seconds)."""
        return float(self.errors_s[-1] - self.errors_s[0]) if self.errors_s.size else 0.0


def loud_indices(samples: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """Indices of the samples whose magnitude exceeds ``threshold``.

    Parameters
    ----------
    samples
        Mono audio, shape ``(frames,)``, float in [-1, 1].
    threshold
        Linear amplitude.

    Returns
    -------
    numpy.ndarray
        Sorted int64 indices, shape ``(k,)``.
    """
    return np.flatnonzero(np.abs(samples) > threshold)


def detect_onsets(
    samples: np.ndarray,
    samplerate: int,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    min_gap_s: float = 0.1,
) -> np.ndarray:
    """Sample indices where sound starts after at least ``min_gap_s`` of silence.

    A sound already playing at index 0 has no observable onset and is skipped.

    Parameters
    ----------
    samples
        Mono audio, shape ``(frames,)``.
    samplerate
        Frames per second.
    threshold
        Linear amplitude above which a sample counts as sound.
    min_gap_s
        Silence needed before an onset (seconds); shorter gaps (between words, inside a
        tone) do not start a new onset.

    Returns
    -------
    numpy.ndarray
        Onset indices (int64), shape ``(onsets,)``, ascending.
    """
    loud = loud_indices(samples, threshold)
    if loud.size == 0:
        return loud
    gap = max(1, round(min_gap_s * samplerate))
    # Index 0 counts as the end of silence only if the capture began silent for long enough.
    first = loud[:1] if loud[0] >= gap else loud[:0]
    later = loud[1:][np.diff(loud) > gap]
    return np.concatenate([first, later])


def silence_start(
    samples: np.ndarray,
    from_index: int,
    samplerate: int,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    min_silence_s: float = 0.1,
) -> int | None:
    """The first index at or after ``from_index`` that begins ``min_silence_s`` of silence.

    This is one past the last loud sample before the first silent run that long; a
    caller measuring "time to silence" subtracts the index of the event.

    Parameters
    ----------
    samples
        Mono audio, shape ``(frames,)``.
    from_index
        Where to start looking (sample index).
    samplerate
        Frames per second.
    threshold, min_silence_s
        What counts as silent, and for how long (seconds).

    Returns
    -------
    int or None
        The index, or ``None`` if no such silence starts before the end of ``samples``
        (a run reaching the end counts only if it is long enough).
    """
    start = max(0, from_index)
    run = max(1, round(min_silence_s * samplerate))
    loud = loud_indices(samples[start:], threshold) + start
    if loud.size == 0:
        return start if samples.size - start >= run else None
    if loud[0] - start >= run:
        return start
    gaps = np.flatnonzero(np.diff(loud) > run)
    if gaps.size:
        return int(loud[gaps[0]] + 1)
    end = int(loud[-1] + 1)
    return end if samples.size - end >= run else None


def is_sounding(
    samples: np.ndarray,
    index: int,
    samplerate: int,
    *,
    window_s: float = 0.02,
    threshold: float = DEFAULT_THRESHOLD,
) -> bool:
    """Whether any sample in the ``window_s`` before ``index`` is loud (sound was playing)."""
    lo = max(0, index - max(1, round(window_s * samplerate)))
    return bool(np.any(np.abs(samples[lo : max(lo, index)]) > threshold))


def isolated_onsets(cues: Iterable[Mapping[str, Any]], *, min_gap_s: float = 0.1) -> list[float]:
    """Scheduled onsets (seconds) that start after ``min_gap_s`` of scheduled silence.

    ``cues`` are as-rendered timeline cues with ``at`` and ``end`` in seconds. Cues at the
    same instant form one onset; a cue that starts while another still sounds (or within
    ``min_gap_s`` of its end) has no onset a silence-gated detector could see.
    """
    spans = sorted((float(c["at"]), float(c["end"])) for c in cues)
    onsets: list[float] = []
    sounding_until = -np.inf
    for at, end in spans:
        if at - sounding_until >= min_gap_s and (not onsets or at != onsets[-1]):
            onsets.append(at)
        sounding_until = max(sounding_until, end)
    return onsets


def align(
    reference_s: Seconds, detected_s: Seconds, *, early_s: float = 0.05, late_s: float = 0.05
) -> Alignment:
    """Match detected onsets to scheduled ones in order, following a drifting offset.

    The first detected onset is taken as the first scheduled one (every tool starts from
    silence). Each later scheduled onset is matched to the detected onset nearest to where
    the offset so far predicts it, within ``[-early_s, +late_s]``, and the offset is
    updated to that match: a tool whose delays accumulate (a ``sleep`` loop) is still
    matched cue by cue, and its accumulated lateness shows in the errors.

    Parameters
    ----------
    reference_s
        Scheduled onsets in seconds, ascending.
    detected_s
        Detected onsets in seconds (capture clock), ascending.
    early_s, late_s
        Match window around the predicted position (seconds).

    Returns
    -------
    Alignment
    """
    ref = np.asarray(reference_s, dtype=float)
    det = np.asarray(detected_s, dtype=float)
    if ref.size == 0 or det.size == 0:
        empty = np.zeros(0)
        return Alignment(empty, empty, empty, int(ref.size), int(det.size))
    pairs: list[tuple[float, float]] = [(ref[0], det[0])]
    offset = det[0] - ref[0]
    last = 0
    missed = 0
    for r in ref[1:]:
        predicted = r + offset
        lo = np.searchsorted(det, predicted - early_s, side="left")
        hi = np.searchsorted(det, predicted + late_s, side="right")
        lo = max(lo, last + 1)
        if lo >= hi:
            missed += 1
            continue
        k = lo + int(np.argmin(np.abs(det[lo:hi] - predicted)))
        pairs.append((r, det[k]))
        offset = det[k] - r
        last = k
    matched_ref = np.array([p[0] for p in pairs])
    matched_det = np.array([p[1] for p in pairs])
    offsets = matched_det - matched_ref
    return Alignment(
        matched_ref, matched_det, offsets - offsets[0], missed, int(det.size) - len(pairs)
    )


def match_each(
    reference_s: Seconds, detected_s: Seconds, *, early_s: float = 0.001, late_s: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Each scheduled onset paired with the first detected onset in ``[-early_s, +late_s]``.

    For a capture on the same clock as the schedule (a render): no offset to follow.
    Returns the matched scheduled and detected onsets (seconds, equal lengths); scheduled
    onsets with nothing in their window are left out.
    """
    det = np.asarray(detected_s, dtype=float)
    ref_out, det_out = [], []
    for r in reference_s:
        k = int(np.searchsorted(det, r - early_s, side="left"))
        if k < det.size and det[k] <= r + late_s:
            ref_out.append(float(r))
            det_out.append(float(det[k]))
    return np.array(ref_out), np.array(det_out)


def percentiles_ms(errors_s: np.ndarray) -> tuple[float, float, float]:
    """p50, p99 and max of ``|errors|`` in milliseconds (NaN for no errors)."""
    if errors_s.size == 0:
        return (float("nan"),) * 3
    magnitude = np.abs(errors_s) * 1000.0
    return (
        float(np.percentile(magnitude, 50)),
        float(np.percentile(magnitude, 99)),
        float(magnitude.max()),
    )


def _envelope(
    log: Sequence[tuple[float, int]], samplerate: int, bin_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Lower envelope of ``arrival - n/samplerate`` per ``bin_s`` of samples: (sample s, offset)."""
    arrival = np.array([t for t, _ in log])
    sample_s = np.array([c for _, c in log], dtype=float) / samplerate
    offset = arrival - sample_s
    bins = np.floor(sample_s / bin_s).astype(int)
    xs, ys = [], []
    for b in np.unique(bins):
        sel = bins == b
        k = int(np.argmin(offset[sel]))
        xs.append(sample_s[sel][k])
        ys.append(offset[sel][k])
    return np.array(xs), np.array(ys)


def capture_times(
    log: Sequence[tuple[float, int]], seconds: np.ndarray, samplerate: int, *, bin_s: float = 5.0
) -> np.ndarray:
    """Map capture positions (seconds of samples) to ``time.monotonic()`` seconds.

    For tools timed by the wall clock (``sleep``): their schedule is in monotonic time,
    while a null sink's sample clock can run hundreds of ppm off it. The mapping follows
    the lower envelope of the read arrivals (see :func:`clock_ppm`), interpolated.
    """
    xs, ys = _envelope(log, samplerate, bin_s)
    mapped: np.ndarray = np.asarray(seconds, dtype=float) + np.interp(seconds, xs, ys)
    return mapped


def capture_position(
    log: Sequence[tuple[float, int]], monotonic_s: float, samplerate: int, *, bin_s: float = 2.0
) -> float:
    """The capture position (seconds of samples) that sounded at ``monotonic_s``.

    The inverse of :func:`capture_times`, with a finer envelope: a single offset for a
    whole capture (``Capture.t0_monotonic``) is off by the sink's rate error times the
    capture's length (700 ppm over a minute is 42 ms).
    """
    xs, ys = _envelope(log, samplerate, bin_s)
    x = monotonic_s - float(ys[0])
    for _ in range(3):  # fixed point: the offset changes by ppm, so this converges at once
        x = monotonic_s - float(np.interp(x, xs, ys))
    return x


def clock_ppm(log: Sequence[tuple[float, int]], samplerate: int, *, bin_s: float = 5.0) -> float:
    """How fast the capture's sample clock runs against ``time.monotonic()``, in ppm.

    ``log`` holds ``(arrival monotonic, samples so far)`` per read. A read arrives after
    its samples sounded, never before, so the lower envelope of ``arrival - n/samplerate``
    (its minimum per ``bin_s`` of samples) tracks the true offset; its slope against the
    sample time is the rate error. Positive: the sample clock runs fast.
    """
    if len(log) < 2:
        return float("nan")
    xs, ys = _envelope(log, samplerate, bin_s)
    if xs.size < 2:
        return float("nan")
    slope = np.polyfit(xs, ys, 1)[0]
    # offset = arrival - n/sr falls when samples come faster than the monotonic clock.
    return float(-slope * 1e6)
