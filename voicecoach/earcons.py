"""Earcons: the short tones of a session (start, stop, tick, breaths, done), or the user's files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import platformdirs
import soundfile

from voicecoach.dsp import raised_cosine, resample
from voicecoach.errors import VoicecoachError

__all__ = ["EARCON_NAMES", "EARCON_PEAK", "OVERRIDE_SUFFIXES", "earcon", "resample"]

EARCON_NAMES: tuple[str, ...] = ("start", "stop", "tick", "inhale", "exhale", "done")
OVERRIDE_SUFFIXES: tuple[str, ...] = (".wav", ".flac", ".ogg")

# Peak of espeak-ng speech at its default volume (measured on workout phrases: 0.36 for
# "3" up to 0.82 for long sentences, typically about 0.7). Earcons sit 6 dB under that so
# they are clearly heard but never louder than the coach's voice.
SPEECH_PEAK = 0.7
EARCON_PEAK = SPEECH_PEAK * 10.0 ** (-6.0 / 20.0)
# The breath swells play under or between words while someone is holding a brace:
# a further 4 dB softer, a cue to breathe rather than an alarm.
SOFT_PEAK = EARCON_PEAK * 10.0 ** (-4.0 / 20.0)

# Pitches (Hz): E5 and B5 for start/stop (a bright fifth), a C major triad for done.
_E5, _B5 = 659.26, 987.77
_C5, _G5 = 523.25, 783.99


def _frames(seconds: float, samplerate: int) -> int:
    return max(1, round(seconds * samplerate))


def _release(frames: int, release: int) -> np.ndarray:
    """Gain 1 then a raised-cosine fall to exactly 0 over the last ``release`` frames."""
    env = np.ones(frames)
    release = min(release, frames)
    env[frames - release:] = raised_cosine(release)[::-1]
    return env


def _note(freq: float, seconds: float, samplerate: int, *, decay_s: float,
          partials: tuple[tuple[float, float], ...] = ((1.0, 1.0), (2.0, 0.25), (3.0, 0.08)),
          attack_s: float = 0.004, release_s: float = 0.015) -> np.ndarray:
    """A struck, decaying tone: harmonic partials, raised-cosine attack and release."""
    n = _frames(seconds, samplerate)
    t = np.arange(n) / samplerate
    wave = sum(amp * np.sin(2 * np.pi * freq * ratio * t) for ratio, amp in partials)
    env = np.exp(-t / decay_s)
    attack = _frames(attack_s, samplerate)
    env[:attack] *= raised_cosine(attack)
    return wave * env * _release(n, _frames(release_s, samplerate))


def _sequence(notes: list[tuple[float, np.ndarray]], seconds: float, samplerate: int,
              release_s: float) -> np.ndarray:
    """Mix notes at their start times into one buffer, ending in a release to 0."""
    n = _frames(seconds, samplerate)
    out = np.zeros(n)
    for start_s, note in notes:
        i = round(start_s * samplerate)
        part = note[: n - i]
        out[i:i + part.size] += part
    return out * _release(n, _frames(release_s, samplerate))


def _two_note(first: float, second: float, samplerate: int) -> np.ndarray:
    a = _note(first, 0.075, samplerate, decay_s=0.08)
    b = _note(second, 0.095, samplerate, decay_s=0.07)
    return _sequence([(0.0, a), (0.055, b)], 0.15, samplerate, 0.01)


def _tick(samplerate: int) -> np.ndarray:
    # A woodblock: inharmonic partials (ratios of a struck bar) that die away in
    # milliseconds, with the highest partials dying fastest.
    n = _frames(0.05, samplerate)
    t = np.arange(n) / samplerate
    wave = (np.sin(2 * np.pi * 1250.0 * t) * np.exp(-t / 0.012)
            + 0.5 * np.sin(2 * np.pi * 1250.0 * 2.76 * t) * np.exp(-t / 0.006)
            + 0.25 * np.sin(2 * np.pi * 1250.0 * 5.40 * t) * np.exp(-t / 0.003))
    attack = _frames(0.0008, samplerate)
    wave[:attack] *= raised_cosine(attack)
    return wave * _release(n, _frames(0.008, samplerate))


def _breath(low: float, high: float, rising: bool, samplerate: int) -> np.ndarray:
    # A soft swell whose pitch glides like a breath: up for in, down for out. The phase is
    # the running sum of the frequency, so the glide is smooth (no phase jumps).
    seconds = 0.4
    n = _frames(seconds, samplerate)
    u = np.arange(n) / max(1, n - 1)
    freq = low * (high / low) ** (u if rising else 1.0 - u)
    phase = 2 * np.pi * np.cumsum(freq) / samplerate
    wave = np.sin(phase) + 0.2 * np.sin(2 * phase)
    # Inhale swells slowly and ends quickly; exhale starts full and fades slowly.
    swell = _frames(0.28 if rising else 0.08, samplerate)
    env = np.ones(n)
    env[:swell] = raised_cosine(swell)
    fall = n - swell
    env[swell:] = raised_cosine(fall)[::-1]
    return wave * env


def _done(samplerate: int) -> np.ndarray:
    notes = [(0.0, _C5), (0.12, _E5), (0.24, _G5)]
    return _sequence([(at, _note(f, 0.6 - at, samplerate, decay_s=0.18, release_s=0.03))
                      for at, f in notes], 0.6, samplerate, 0.04)


def _synthesize(name: str, samplerate: int) -> np.ndarray:
    if name == "start":
        wave, peak = _two_note(_E5, _B5, samplerate), EARCON_PEAK
    elif name == "stop":
        wave, peak = _two_note(_B5, _E5, samplerate), EARCON_PEAK
    elif name == "tick":
        wave, peak = _tick(samplerate), EARCON_PEAK
    elif name == "inhale":
        wave, peak = _breath(300.0, 450.0, True, samplerate), SOFT_PEAK
    elif name == "exhale":
        wave, peak = _breath(300.0, 450.0, False, samplerate), SOFT_PEAK
    else:
        wave, peak = _done(samplerate), EARCON_PEAK
    return (wave * (peak / np.max(np.abs(wave)))).astype(np.float32)


def default_overrides_dir() -> Path:
    """Where users drop their own earcon files: ``<user config dir>/earcons``."""
    return Path(platformdirs.user_config_dir("voicecoach")) / "earcons"


def _load_override(path: Path, samplerate: int) -> np.ndarray:
    try:
        data, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except (OSError, RuntimeError, soundfile.LibsndfileError) as exc:
        raise VoicecoachError(
            f"{path}: cannot read this earcon file ({exc}). Use a WAV, FLAC or Ogg file, "
            f"or remove it to get the built-in tone."
        ) from exc
    if data.shape[0] == 0:
        raise VoicecoachError(f"{path}: the earcon file holds no audio; remove it or replace it.")
    # Mix down to mono by averaging, which keeps the level of a centred stereo sound.
    mono = data.mean(axis=1, dtype=np.float32)
    return resample(mono, int(rate), samplerate)


def earcon(name: str, samplerate: int, overrides_dir: Path | None = None) -> np.ndarray:
    """One earcon at ``samplerate``: the user's file if there is one, else a built-in tone.

    The user's ``<overrides_dir>/<name>.wav`` (or ``.flac``, ``.ogg``) wins; it is mixed to
    mono and resampled, and otherwise played as is. Built-in tones are synthesized with
    raised-cosine envelopes, so they start and end at exactly 0 (no clicks), and peak 6 dB
    under typical speech (the breath swells 10 dB under).

    Parameters
    ----------
    name : str
        One of ``EARCON_NAMES``.
    samplerate : int
        Output rate in Hz.
    overrides_dir : Path or None
        Folder of replacement files; ``None`` means :func:`default_overrides_dir`.

    Returns
    -------
    np.ndarray
        float32, shape ``(frames,)``, mono, in [-1, 1]: start/stop 150 ms, tick 50 ms,
        inhale/exhale 400 ms, done 600 ms (built-in).

    Raises
    ------
    VoicecoachError
        An override file exists but cannot be read.
    """
    if name not in EARCON_NAMES:
        raise ValueError(f"unknown earcon {name!r}; known: {', '.join(EARCON_NAMES)}")
    if samplerate <= 0:
        raise ValueError(f"samplerate must be positive, got {samplerate}")
    folder = default_overrides_dir() if overrides_dir is None else overrides_dir
    for suffix in OVERRIDE_SUFFIXES:
        path = folder / f"{name}{suffix}"
        if path.is_file():
            return _load_override(path, samplerate)
    return _synthesize(name, samplerate)
