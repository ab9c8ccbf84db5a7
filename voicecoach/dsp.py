"""Small sample-level helpers shared by speech and earcons: resampling, ramps, silence trimming."""

from __future__ import annotations

import numpy as np
import soxr


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample mono audio with soxr (high quality: 20-bit, ample for 16-bit speech).

    Parameters
    ----------
    samples : np.ndarray
        Shape ``(frames,)``, any float or int dtype, nominally in [-1, 1].
    from_rate, to_rate : int
        Sample rates in Hz.

    Returns
    -------
    np.ndarray
        float32, shape ``(round(frames * to_rate / from_rate),)`` (soxr's rounding); a new
        array even when the rates are equal, so callers may write to it.
    """
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {from_rate} and {to_rate}")
    x = np.ascontiguousarray(samples, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"resample takes mono audio of shape (frames,), got {x.shape}")
    if from_rate == to_rate:
        return x.copy()
    if x.size == 0:
        return np.zeros(0, dtype=np.float32)
    return np.asarray(soxr.resample(x, from_rate, to_rate, quality="HQ"), dtype=np.float32)


def raised_cosine(frames: int) -> np.ndarray:
    """A rising raised-cosine ramp from exactly 0 to exactly 1.

    Returns
    -------
    np.ndarray
        float64, shape ``(frames,)``; ``ramp[0] == 0`` and ``ramp[-1] == 1`` (for frames > 1).
    """
    if frames <= 0:
        return np.zeros(0)
    if frames == 1:
        return np.ones(1)
    return 0.5 - 0.5 * np.cos(np.pi * np.arange(frames) / (frames - 1))


def fade_edges(samples: np.ndarray, fade_in: int, fade_out: int) -> np.ndarray:
    """Raised-cosine fade-in over the first ``fade_in`` frames and fade-out over the last.

    The first and last samples become exactly 0, so a clip that starts or stops abruptly
    cannot click. Returns a new float32 array of the same shape ``(frames,)``.
    """
    out = np.array(samples, dtype=np.float32, copy=True)
    n = out.size
    fade_in, fade_out = min(fade_in, n), min(fade_out, n)
    if fade_in:
        out[:fade_in] *= raised_cosine(fade_in).astype(np.float32)
    if fade_out:
        out[n - fade_out:] *= raised_cosine(fade_out)[::-1].astype(np.float32)
    return out


def trim_silence(samples: np.ndarray, samplerate: int, *, threshold_db: float = -40.0,
                 keep_before_s: float = 0.005, keep_after_s: float = 0.030,
                 fade_in_s: float = 0.002, fade_out_s: float = 0.010) -> np.ndarray:
    """Cut leading and trailing silence, keeping a little natural attack and decay.

    A sample is sound when its magnitude reaches ``threshold_db`` relative to the clip's
    peak. ``keep_before_s`` of audio is kept before the first such sample (the soft start
    of a consonant) and ``keep_after_s`` after the last (the decay of the voice); the kept
    edges then get a short raised-cosine fade so the clip starts and ends at exactly 0.

    Parameters
    ----------
    samples : np.ndarray
        float, shape ``(frames,)``, in [-1, 1].
    samplerate : int
        Hz.

    Returns
    -------
    np.ndarray
        float32, shape ``(trimmed_frames,)``; empty when the input holds no sound at all.
    """
    x = np.asarray(samples, dtype=np.float32)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak == 0.0:
        return np.zeros(0, dtype=np.float32)
    threshold = peak * 10.0 ** (threshold_db / 20.0)
    loud = np.flatnonzero(np.abs(x) >= threshold)
    first = max(0, int(loud[0]) - round(keep_before_s * samplerate))
    last = min(x.size, int(loud[-1]) + 1 + round(keep_after_s * samplerate))
    return fade_edges(x[first:last], round(fade_in_s * samplerate),
                      round(fade_out_s * samplerate))
