"""Sample-level helpers: resampling, ramps, trimming, loudness (BS.1770), peak limiting."""

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
        out[n - fade_out :] *= raised_cosine(fade_out)[::-1].astype(np.float32)
    return out


def trim_silence(
    samples: np.ndarray,
    samplerate: int,
    *,
    threshold_db: float = -40.0,
    keep_before_s: float = 0.005,
    keep_after_s: float = 0.030,
    fade_in_s: float = 0.002,
    fade_out_s: float = 0.010,
) -> np.ndarray:
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
    return fade_edges(x[first:last], round(fade_in_s * samplerate), round(fade_out_s * samplerate))


# --- Loudness (ITU-R BS.1770-4 / EBU R128) ---------------------------------------------------

# The level the coach's voice is normalised to (integrated loudness of its speech): inside
# the -16 to -20 LUFS that AES TD1004 recommends for audio played from files and streams
# on phones and earbuds, with room under the -1 dBFS ceiling for speech's peaks.
SPEECH_LUFS = -18.0

# BS.1770's gating block and its step (75 % overlap), and its two gates.
BLOCK_S = 0.4
BLOCK_STEP_S = 0.1
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
# A sound shorter than one gating block is measured over at least this long. Hearing
# integrates the loudness of a short sound over about 100 ms (Zwicker and Fastl, ch. 8.7),
# so a 50 ms tick is heard about 3 dB quieter than the same tick held for 100 ms, while a
# 400 ms window (BS.1770's momentary loudness) would call it 9 dB quieter than that.
MIN_WINDOW_S = 0.1
# The K-weighting filter rings for under 0.1 s at any rate (its 38 Hz high-pass is the
# slow part): filtering with this much silence after the signal, or this much signal
# before a chunk, leaves errors far under 0.001 LU.
_FILTER_MEMORY_S = 0.5
_CHUNK_FRAMES = 1 << 20


def _biquad_response(
    b: tuple[float, float, float], a: tuple[float, float, float], z_inv: np.ndarray
) -> np.ndarray:
    z2 = z_inv * z_inv
    response: np.ndarray = (b[0] + b[1] * z_inv + b[2] * z2) / (a[0] + a[1] * z_inv + a[2] * z2)
    return response


def _k_weighting(samplerate: int, bins: int, frames: int) -> np.ndarray:
    """The K-weighting filter's response at the ``bins`` bins of a real FFT of ``frames``.

    The two biquads of BS.1770 (a +4 dB shelf above about 1.7 kHz for the head, and a
    38 Hz high-pass), designed for any rate as libebur128 does; at 48 kHz they are the
    coefficients printed in the standard.
    """
    k = np.tan(np.pi * 1681.974450955533 / samplerate)
    q = 0.7071752369554196
    vh = 10.0 ** (3.999843853973347 / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf_b = (
        (vh + vb * k / q + k * k) / a0,
        2.0 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
    )
    shelf_a = (1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0)
    k = np.tan(np.pi * 38.13547087602444 / samplerate)
    q = 0.5003270373238773
    a0 = 1.0 + k / q + k * k
    pass_b = (1.0, -2.0, 1.0)
    pass_a = (1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0)
    z_inv = np.exp(-2j * np.pi * np.arange(bins) / frames)
    response: np.ndarray = _biquad_response(shelf_b, shelf_a, z_inv) * _biquad_response(
        pass_b, pass_a, z_inv
    )
    return response


def k_weighted(samples: np.ndarray, samplerate: int, *, frames: int | None = None) -> np.ndarray:
    """``samples`` through BS.1770's K-weighting filter, starting from rest.

    The filter is applied in the frequency domain with enough silence after the signal
    that its ringing never wraps around: the result equals running the two biquads
    (``scipy.signal.lfilter``) to within about 1e-9, with numpy alone.

    Parameters
    ----------
    samples : np.ndarray
        Mono audio, shape ``(n,)``, any float dtype.
    samplerate : int
        Hz.
    frames : int or None
        Length of the output: ``n`` by default; more keeps the filter's ringing after
        the sound (silence follows it).

    Returns
    -------
    np.ndarray
        float64, shape ``(frames,)``.
    """
    x = np.asarray(samples, dtype=np.float64).reshape(-1)
    out_frames = x.size if frames is None else frames
    if out_frames == 0:
        return np.zeros(0)
    size = _fft_size(max(x.size, out_frames) + round(_FILTER_MEMORY_S * samplerate))
    spectrum = np.fft.rfft(x, size)
    spectrum *= _k_weighting(samplerate, spectrum.size, size)
    return np.fft.irfft(spectrum, size)[:out_frames]


def _fft_size(n: int) -> int:
    # The next 2**a * 3**b at or above n: numpy's pocketfft is fast for such sizes.
    best = 1 << max(0, (n - 1).bit_length())
    three = 1
    while three < best:
        size = three << max(0, (-(-n // three) - 1).bit_length())
        best = min(best, size)
        three *= 3
    return best


def _block_energies(samples: np.ndarray, samplerate: int) -> np.ndarray:
    """Mean square of the K-weighted signal in each 400 ms gating block, 100 ms apart.

    Long signals are filtered in chunks (each with the filter's memory of input before
    it), so a session of an hour needs a few tens of MB, not gigabytes.
    """
    x = np.asarray(samples).reshape(-1)
    n = x.size
    step = BLOCK_STEP_S * samplerate
    # Block j spans steps j to j + 4; a step's bounds are rounded to whole frames.
    steps = int(n // step)
    bounds = np.round(np.arange(steps + 1) * step).astype(np.int64)
    bounds = bounds[bounds <= n]
    per_block = round(BLOCK_S / BLOCK_STEP_S)
    if bounds.size <= per_block:
        return np.zeros(0)
    # Running sum of squares at every step boundary, chunk by chunk.
    at_bounds = np.zeros(bounds.size)
    memory = round(_FILTER_MEMORY_S * samplerate)
    total = 0.0
    for start in range(0, n, _CHUNK_FRAMES):
        end = min(n, start + _CHUNK_FRAMES)
        before = max(0, start - memory)
        y = k_weighted(x[before:end], samplerate)[start - before :]
        running = np.concatenate(([0.0], np.cumsum(y * y))) + total
        inside = (bounds >= start) & (bounds <= end)
        at_bounds[inside] = running[bounds[inside] - start]
        total = float(running[-1])
    energy = at_bounds[per_block:] - at_bounds[:-per_block]
    length = bounds[per_block:] - bounds[:-per_block]
    mean_squares: np.ndarray = np.maximum(energy, 0.0) / length
    return mean_squares


def _lufs(mean_square: float) -> float:
    return -0.691 + 10.0 * float(np.log10(mean_square)) if mean_square > 0 else float("-inf")


def integrated_loudness(samples: np.ndarray, samplerate: int) -> float:
    """Integrated loudness of mono audio in LUFS, gated as ITU-R BS.1770-4 says.

    K-weighting, mean square over 400 ms blocks every 100 ms, an absolute gate at
    -70 LUFS and a relative gate 10 LU under the loudness of the blocks that passed it.

    Parameters
    ----------
    samples : np.ndarray
        Mono audio, shape ``(n,)``, full scale 1.0.
    samplerate : int
        Hz.

    Returns
    -------
    float
        LUFS; ``-inf`` when no block passes the gates (silence, or under 400 ms).
    """
    blocks = _block_energies(samples, samplerate)
    with np.errstate(divide="ignore"):
        levels = -0.691 + 10.0 * np.log10(blocks)
    loud = blocks[levels > ABSOLUTE_GATE_LUFS]
    if loud.size == 0:
        return float("-inf")
    relative = _lufs(float(loud.mean())) + RELATIVE_GATE_LU
    kept = blocks[(levels > ABSOLUTE_GATE_LUFS) & (levels > relative)]
    return _lufs(float(kept.mean())) if kept.size else float("-inf")


def clip_loudness(samples: np.ndarray, samplerate: int) -> float:
    """Loudness of one sound (a phrase, a tone) in LUFS, short or long.

    A sound of one gating block (400 ms) or more gets its BS.1770 integrated loudness.
    A shorter one has no gating block of its own; it is measured as it is heard, played
    alone in silence: the K-weighted energy (its ringing included) over its length or
    `MIN_WINDOW_S`, whichever is longer. The two agree at 400 ms.

    Parameters
    ----------
    samples : np.ndarray
        Mono audio, shape ``(n,)``.
    samplerate : int
        Hz.

    Returns
    -------
    float
        LUFS; ``-inf`` for silence (or anything under the -70 LUFS absolute gate).
    """
    x = np.asarray(samples).reshape(-1)
    if x.size >= round(BLOCK_S * samplerate):
        return integrated_loudness(x, samplerate)
    window = max(x.size, round(MIN_WINDOW_S * samplerate))
    y = k_weighted(x, samplerate, frames=window)
    level = _lufs(float(np.dot(y, y)) / window) if window else float("-inf")
    return level if level > ABSOLUTE_GATE_LUFS else float("-inf")


# --- Peaks ------------------------------------------------------------------------------

# Nothing above -1 dBFS ever reaches the listener. The ceiling is the largest 16-bit PCM
# level at or under 10^(-1/20) = 0.8912509 (29204.5 / 32768 would round up to 29205 when a
# file is written): exact in float32 and in 16- and 24-bit PCM, so no conversion on the
# way out can round it over.
CEILING_DBFS = -1.0
CEILING = 29204 / 32768
# The offline limiter lowers the gain this long before and after a peak (raised-cosine-like
# ramps from two box filters), gentle enough that a few limited peaks in a phrase go unheard.
LIMIT_RADIUS_S = 0.010


def _sliding_min(values: np.ndarray, radius: int) -> np.ndarray:
    """Minimum over ``values[i - radius : i + radius + 1]`` for every ``i`` (van Herk)."""
    n = values.size
    width = 2 * radius + 1
    if radius <= 0 or n == 0:
        return values.copy()
    padded_n = -(-(n + 2 * radius) // width) * width
    padded = np.ones(padded_n)
    padded[radius : radius + n] = values
    blocks = padded.reshape(-1, width)
    forward = np.minimum.accumulate(blocks, axis=1).reshape(-1)
    backward = np.minimum.accumulate(blocks[:, ::-1], axis=1)[:, ::-1].reshape(-1)
    # The window starting at j spans a block boundary: min(suffix of one, prefix of next).
    return np.minimum(backward[:n], forward[width - 1 : width - 1 + n])


def _box(values: np.ndarray, radius: int) -> np.ndarray:
    """Mean over ``values[i - radius : i + radius + 1]`` (edges padded with 1, no gain)."""
    if radius <= 0:
        return values
    padded = np.concatenate((np.ones(radius), values, np.ones(radius)))
    sums = np.concatenate(([0.0], np.cumsum(padded)))
    width = 2 * radius + 1
    return (sums[width:] - sums[:-width]) / width


def limit_peaks(samples: np.ndarray, samplerate: int, ceiling: float = CEILING) -> np.ndarray:
    """Bring every peak down to ``ceiling`` with a smooth, look-ahead gain (offline).

    The gain needed at each sample (``ceiling / |x|`` where the sample is over) is
    spread by a sliding minimum over ±`LIMIT_RADIUS_S` and smoothed by two box filters
    that together span no more than that, so the smoothed gain is never above what any
    sample needs, and it eases down before a peak and back up after it. Samples far
    from any peak are returned exactly as they were.

    Parameters
    ----------
    samples : np.ndarray
        Mono audio, shape ``(n,)``, finite.
    samplerate : int
        Hz.
    ceiling : float
        Largest magnitude allowed in the output.

    Returns
    -------
    np.ndarray
        float32, shape ``(n,)``, every ``|sample| <= ceiling``.
    """
    x = np.asarray(samples, dtype=np.float64).reshape(-1)
    magnitude = np.abs(x)
    over = np.flatnonzero(magnitude > ceiling)
    out = x.astype(np.float32)
    if over.size == 0:
        return out
    radius = max(1, round(LIMIT_RADIUS_S * samplerate))
    # The gain departs from 1 only within 2 * radius of a sample that is over, so only
    # those stretches are computed (speech has a few dozen short ones per phrase);
    # stretches closer than twice that are one, so each is exactly what the whole
    # signal would give.
    reach = 2 * radius
    breaks = np.flatnonzero(np.diff(over) > 2 * reach)
    firsts = over[np.concatenate(([0], breaks + 1))]
    lasts = over[np.concatenate((breaks, [over.size - 1]))]
    for first, last in zip(firsts.tolist(), lasts.tolist(), strict=True):
        lo, hi = max(0, first - reach), min(x.size, last + reach + 1)
        needed = np.minimum(1.0, ceiling / np.maximum(magnitude[lo:hi], ceiling))
        gain = _box(_box(_sliding_min(needed, radius), radius // 2), radius - radius // 2)
        out[lo:hi] = x[lo:hi] * np.minimum(gain, 1.0)
    # Rounding (float64 gain, then float32) may leave a peak a hair over: clamp it.
    bound = np.float32(ceiling)
    np.clip(out, -bound, bound, out=out)
    return out


def apply_gain(
    samples: np.ndarray, samplerate: int, gain_db: float, ceiling: float = CEILING
) -> np.ndarray:
    """``samples`` made ``gain_db`` louder (or softer), then peak-limited to ``ceiling``.

    Normalising to a loudness can ask for more gain than the peaks allow; the peaks are
    then limited (`limit_peaks`) rather than the whole sound turned down, so the
    loudness stays where it was meant to be.

    Returns
    -------
    np.ndarray
        float32, shape ``(n,)``.
    """
    scaled = np.asarray(samples, dtype=np.float64).reshape(-1) * 10.0 ** (gain_db / 20.0)
    return limit_peaks(scaled, samplerate, ceiling)


# --- The last stage of every output ------------------------------------------------------------

# After a peak the limiter gives the gain back at this rate (6 dB in 100 ms): slow enough
# not to pump on speech, fast enough that a loud moment does not dim the next phrase.
RELEASE_DB_PER_S = 60.0
# Attenuation is counted in whole steps of 1/10000 dB, so the gain curve is integer
# arithmetic (exact, associative) and the same for any way the stream is cut into blocks.
_UNITS_PER_DB = 10_000
# Magnitudes are capped here before the logarithm (1e6 is 120 dB over the ceiling), so
# an absurd sample cannot overflow the integer attenuation.
_LEVEL_CAP = 1e6
# What the release carries forward is capped: one absurd sample is brought down to the
# ceiling itself but does not mute the next seconds (24 dB come back in 0.4 s).
_HELD_CAP_DB = 24.0


class PeakLimiter:
    """A real-time safety limiter: no sample above the ceiling, whatever comes in.

    Zero attack (the gain falls at once to what the sample needs, so there is no delay
    and no look-ahead that would shift the session's timing), and a release of
    `RELEASE_DB_PER_S` (the gain comes back smoothly in dB). Below the ceiling, with no
    release under way, samples pass bit for bit. NaN and infinite samples become 0.

    The attenuation carried after frame ``i`` is ``a[i] = max(min(t[i], cap),
    a[i - 1] - step)`` in integer units, ``t[i]`` being what sample ``i`` needs; over a
    block that is a running maximum (``np.maximum.accumulate``) of ``t[i] + i * step``,
    exact in integers, so the output does not depend on the block size. Sample ``i``
    gets ``max(a[i], t[i])``. Every buffer is
    allocated up front (and grown once for a larger block): `process` runs inside a
    sound card callback, where it must not allocate, lock or log.

    Parameters
    ----------
    samplerate : int
        Hz.
    ceiling : float
        Largest magnitude that leaves the limiter.
    frames : int
        Block size to preallocate for.

    Attributes
    ----------
    limited_frames : int
        Frames whose gain was under 1 so far (for tests and benchmarks).
    """

    def __init__(self, samplerate: int, ceiling: float = CEILING, frames: int = 4096) -> None:
        self.ceiling = np.float32(ceiling)
        self._step = max(1, round(RELEASE_DB_PER_S * _UNITS_PER_DB / samplerate))
        self._held = 0  # attenuation (units) carried after the last frame processed
        self._cap = round(_HELD_CAP_DB * _UNITS_PER_DB)
        self.limited_frames = 0
        self._allocate(frames)

    def _allocate(self, frames: int) -> None:
        self._level = np.zeros(frames, dtype=np.float32)
        self._units = np.zeros(frames, dtype=np.int64)
        self._needed = np.zeros(frames, dtype=np.int64)
        self._ramp = np.arange(frames, dtype=np.int64) * self._step
        self._bad = np.zeros(frames, dtype=bool)

    def process(self, block: np.ndarray) -> None:
        """Limit ``block`` in place: float32, shape ``(frames,)``, the next frames of the stream."""
        n = block.shape[0]
        if n > self._level.shape[0]:
            self._allocate(n)  # once, for a larger block than ever before
        level = self._level[:n]
        np.abs(block, out=level)
        # The usual case: nothing over and no release under way; `<=` is False for NaN.
        if self._held == 0 and level.max() <= self.ceiling:
            return
        bad = self._bad[:n]
        np.isfinite(block, out=bad)
        np.logical_not(bad, out=bad)
        np.copyto(block, 0.0, where=bad)
        np.copyto(level, 0.0, where=bad)
        # Attenuation each sample needs, in units (0 at or under the ceiling).
        np.maximum(level, self.ceiling, out=level)
        np.minimum(level, _LEVEL_CAP, out=level)
        np.divide(level, self.ceiling, out=level)
        np.log10(level, out=level)
        np.multiply(level, 20.0 * _UNITS_PER_DB, out=level)
        np.ceil(level, out=level)
        needed = self._needed[:n]
        units = self._units[:n]
        ramp = self._ramp[:n]
        np.copyto(needed, level, casting="unsafe")
        np.minimum(needed, self._cap, out=units)
        np.add(units, ramp, out=units)
        np.maximum.accumulate(units, out=units)
        np.maximum(units, self._held - self._step, out=units)
        np.subtract(units, ramp, out=units)
        self._held = int(units[n - 1])
        np.maximum(units, needed, out=units)
        self.limited_frames += int(np.count_nonzero(units))
        # Gain from attenuation: 10 ** (-units / (20 * units per dB)).
        np.copyto(level, units, casting="unsafe")
        np.multiply(level, np.float32(-1.0 / (20.0 * _UNITS_PER_DB)), out=level)
        np.power(np.float32(10.0), level, out=level)
        np.multiply(block, level, out=block)
        # The gain is rounded (float32); the ceiling itself is never passed.
        np.minimum(block, self.ceiling, out=block)
        np.maximum(block, -self.ceiling, out=block)
