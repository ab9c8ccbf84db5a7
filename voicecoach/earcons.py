"""Earcons: the short tones of a session (start, stop, tick, breaths, done), or the user's files."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np

from voicecoach.dsp import (
    SPEECH_LUFS,
    apply_gain,
    clip_loudness,
    raised_cosine,
    resample,
)
from voicecoach.errors import VoicecoachError
from voicecoach.files import NotAFile, kind_of, open_regular, os_error_text

__all__ = [
    "EARCON_NAMES",
    "MAX_EARCON_S",
    "OVERRIDE_SUFFIXES",
    "TONE_LUFS",
    "earcon",
    "level_tone",
    "override_path",
    "resample",
    "target_loudness",
    "tone_shape",
]

EARCON_NAMES: tuple[str, ...] = ("start", "stop", "tick", "inhale", "exhale", "done")
OVERRIDE_SUFFIXES: tuple[str, ...] = (".wav", ".flac", ".ogg")

# Loudness of the tones (see `dsp.clip_loudness`): just under the coach's voice, so they
# are clearly heard but never louder than the words, and within 3 dB of them.
TONE_LUFS = SPEECH_LUFS - 1.5
# The breath swells play under or between words while someone is holding a brace: a
# little softer again, a cue to breathe rather than an alarm.
SOFT_TONE_LUFS = SPEECH_LUFS - 2.5

# User files: longer than this is refused (the session is planned around each tone's
# length: a 10-minute "done" would hold the session open 10 minutes). The built-in tones
# last 50 to 600 ms.
MAX_EARCON_S = 3.0
# Sample rates and channel counts a tone file may have; together with the length cap they
# bound what is read to about 35 MB.
MIN_OVERRIDE_RATE, MAX_OVERRIDE_RATE = 8_000, 384_000
MAX_OVERRIDE_CHANNELS = 8
# Under this a sound is too short for a loudness to mean much (a click): its peak is
# matched to the built-in tone's instead.
MIN_MEASURED_S = 0.02

# Pitches (Hz): E5 and B5 for start/stop (a bright fifth), a C major triad for done.
_E5, _B5 = 659.26, 987.77
_C5, _G5 = 523.25, 783.99


def _frames(seconds: float, samplerate: int) -> int:
    return max(1, round(seconds * samplerate))


def _release(frames: int, release: int) -> np.ndarray:
    """Gain 1 then a raised-cosine fall to exactly 0 over the last ``release`` frames."""
    env = np.ones(frames)
    release = min(release, frames)
    env[frames - release :] = raised_cosine(release)[::-1]
    return env


def _note(
    freq: float,
    seconds: float,
    samplerate: int,
    *,
    decay_s: float,
    partials: tuple[tuple[float, float], ...] = ((1.0, 1.0), (2.0, 0.25), (3.0, 0.08)),
    attack_s: float = 0.004,
    release_s: float = 0.015,
) -> np.ndarray:
    """A struck, decaying tone: harmonic partials, raised-cosine attack and release."""
    n = _frames(seconds, samplerate)
    t = np.arange(n) / samplerate
    wave = sum(amp * np.sin(2 * np.pi * freq * ratio * t) for ratio, amp in partials)
    env = np.exp(-t / decay_s)
    attack = _frames(attack_s, samplerate)
    env[:attack] *= raised_cosine(attack)
    note: np.ndarray = wave * env * _release(n, _frames(release_s, samplerate))
    return note


def _sequence(
    notes: list[tuple[float, np.ndarray]], seconds: float, samplerate: int, release_s: float
) -> np.ndarray:
    """Mix notes at their start times into one buffer, ending in a release to 0."""
    n = _frames(seconds, samplerate)
    out = np.zeros(n)
    for start_s, note in notes:
        i = round(start_s * samplerate)
        part = note[: n - i]
        out[i : i + part.size] += part
    mixed: np.ndarray = out * _release(n, _frames(release_s, samplerate))
    return mixed


def _two_note(first: float, second: float, samplerate: int) -> np.ndarray:
    a = _note(first, 0.075, samplerate, decay_s=0.08)
    b = _note(second, 0.095, samplerate, decay_s=0.07)
    return _sequence([(0.0, a), (0.055, b)], 0.15, samplerate, 0.01)


def _tick(samplerate: int) -> np.ndarray:
    # A woodblock: inharmonic partials (ratios of a struck bar) that die away in
    # milliseconds, with the highest partials dying fastest.
    n = _frames(0.05, samplerate)
    t = np.arange(n) / samplerate
    wave = (
        np.sin(2 * np.pi * 1250.0 * t) * np.exp(-t / 0.012)
        + 0.5 * np.sin(2 * np.pi * 1250.0 * 2.76 * t) * np.exp(-t / 0.006)
        + 0.25 * np.sin(2 * np.pi * 1250.0 * 5.40 * t) * np.exp(-t / 0.003)
    )
    attack = _frames(0.0008, samplerate)
    wave[:attack] *= raised_cosine(attack)
    tick: np.ndarray = wave * _release(n, _frames(0.008, samplerate))
    return tick


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
    return _sequence(
        [(at, _note(f, 0.6 - at, samplerate, decay_s=0.18, release_s=0.03)) for at, f in notes],
        0.6,
        samplerate,
        0.04,
    )


def target_loudness(name: str) -> float:
    """The loudness (LUFS, as `dsp.clip_loudness` measures it) of tone ``name``."""
    return SOFT_TONE_LUFS if name in ("inhale", "exhale") else TONE_LUFS


def _shape(name: str, samplerate: int) -> np.ndarray:
    if name == "start":
        return _two_note(_E5, _B5, samplerate)
    if name == "stop":
        return _two_note(_B5, _E5, samplerate)
    if name == "tick":
        return _tick(samplerate)
    if name == "inhale":
        return _breath(300.0, 450.0, True, samplerate)
    if name == "exhale":
        return _breath(300.0, 450.0, False, samplerate)
    return _done(samplerate)


def tone_shape(name: str, samplerate: int) -> np.ndarray:
    """The built-in tone ``name`` before leveling: cheap (about 1 ms), and it names the tone.

    `level_tone` of it is the built-in earcon; a cache keyed by these samples (see
    `session`) can skip the loudness measurement, which costs about 5 ms a tone.
    """
    return _shape(name, samplerate)


def level_tone(name: str, wave: np.ndarray, samplerate: int) -> np.ndarray:
    """``wave`` (a `tone_shape`) brought to the tone's loudness, peaks limited (see `earcon`)."""
    return apply_gain(wave, samplerate, target_loudness(name) - clip_loudness(wave, samplerate))


def _synthesize(name: str, samplerate: int) -> np.ndarray:
    return level_tone(name, _shape(name, samplerate), samplerate)


def override_path(name: str, overrides_dir: Path | None = None) -> Path | None:
    """The user's file that replaces tone ``name`` (see `earcon`), or ``None``."""
    folder = default_overrides_dir() if overrides_dir is None else overrides_dir
    for suffix in OVERRIDE_SUFFIXES:
        path = folder / f"{name}{suffix}"
        # lexists, not is_file: a directory, a pipe or a broken link by that name is a
        # mistake to report, not a reason to fall back silently.
        if os.path.lexists(path):
            return path
    return None


def default_overrides_dir() -> Path:
    """Where users drop their own earcon files: ``<config dir>/earcons`` (see `paths`)."""
    from voicecoach.paths import config_dir

    return config_dir() / "earcons"


def _refuse(path: Path, problem: str, remedy: str = "replace it") -> VoicecoachError:
    return VoicecoachError(f"{path}: {problem}; {remedy}, or remove it to get the built-in tone.")


def _read_override(path: Path) -> tuple[np.ndarray, int]:
    """The file's samples, shape ``(frames, channels)`` float32, and its rate, after checks.

    The header is checked before a sample is read, so a huge file costs nothing; the file
    is opened without blocking and must be a regular file, so a named pipe cannot hang
    the start of a session.
    """
    try:
        handle, info = open_regular(path)
    except NotAFile as exc:
        raise _refuse(
            path,
            f"this earcon is {kind_of(exc.mode)}, not an audio file",
            "put a WAV, FLAC or Ogg file there",
        ) from None
    except OSError as exc:
        if exc.errno == errno.ENOENT and os.path.islink(path):
            raise _refuse(
                path, "this earcon is a link to a file that does not exist", "fix the link"
            ) from None
        raise _refuse(
            path, f"cannot open this earcon file ({os_error_text(exc)})", "make it readable"
        ) from None
    if info.st_size == 0:
        handle.close()
        raise _refuse(path, "the earcon file is empty (0 bytes)")
    import soundfile  # only for a user's file

    with handle:
        try:
            with soundfile.SoundFile(handle) as sound:
                frames, rate, channels = sound.frames, sound.samplerate, sound.channels
                _check_header(path, frames, rate, channels)
                data = sound.read(frames=frames, dtype="float32", always_2d=True)
        except VoicecoachError:
            raise
        except (OSError, RuntimeError, ValueError, TypeError, MemoryError) as exc:
            raise _refuse(
                path,
                f"cannot read this earcon file ({os_error_text(exc)})",
                "use a WAV, FLAC or Ogg file",
            ) from None
    if data.shape[0] == 0:
        raise _refuse(path, "the earcon file holds no audio (0 samples)")
    if not np.isfinite(data).all():
        raise _refuse(
            path,
            "the earcon file holds samples that are not numbers (NaN or infinite)",
            "export it again",
        )
    return data, rate


def _check_header(path: Path, frames: int, rate: int, channels: int) -> None:
    if frames <= 0:
        raise _refuse(path, "the earcon file holds no audio (0 samples)")
    if not MIN_OVERRIDE_RATE <= rate <= MAX_OVERRIDE_RATE:
        raise _refuse(
            path,
            f"the earcon's sample rate of {rate} Hz is not supported (use "
            f"{MIN_OVERRIDE_RATE} to {MAX_OVERRIDE_RATE} Hz)",
            "convert it",
        )
    if not 1 <= channels <= MAX_OVERRIDE_CHANNELS:
        raise _refuse(
            path,
            f"the earcon has {channels} channels (at most {MAX_OVERRIDE_CHANNELS})",
            "save it as mono or stereo",
        )
    if frames > MAX_EARCON_S * rate:
        raise _refuse(
            path,
            f"the earcon lasts {frames / rate:.1f} s, longer than the "
            f"{MAX_EARCON_S:g} s a tone may last (the session waits for it)",
            "shorten it",
        )


def _load_override(path: Path, name: str, samplerate: int) -> np.ndarray:
    data, rate = _read_override(path)
    # Mix down to mono by averaging, which keeps the level of a centred stereo sound.
    mono = resample(data.mean(axis=1, dtype=np.float64), rate, samplerate)
    if mono.size < MIN_MEASURED_S * samplerate:
        peak = float(np.max(np.abs(mono)))
        if peak == 0.0:
            return mono  # silence: the user has muted this tone
        builtin = float(np.max(np.abs(_synthesize(name, samplerate))))
        return apply_gain(mono, samplerate, 20.0 * np.log10(builtin / peak))
    loudness = clip_loudness(mono, samplerate)
    if loudness == float("-inf"):
        # Silence (or under BS.1770's -70 LUFS gate): nothing to normalise, and a file
        # of silence is how a person mutes one tone.
        return np.zeros(mono.size, dtype=np.float32)
    return apply_gain(mono, samplerate, target_loudness(name) - loudness)


def earcon(name: str, samplerate: int, overrides_dir: Path | None = None) -> np.ndarray:
    """One earcon at ``samplerate``: the user's file if there is one, else a built-in tone.

    The user's ``<overrides_dir>/<name>.wav`` (or ``.flac``, ``.ogg``) wins. It is mixed to
    mono, resampled, and brought to the loudness of the built-in tone it replaces (a
    sound under 20 ms to its peak), its peaks limited to -1 dBFS; a silent file mutes the
    tone. Built-in tones are synthesized with raised-cosine envelopes, so they start and
    end at exactly 0 (no clicks), at `TONE_LUFS` (the breath swells at `SOFT_TONE_LUFS`).

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
        float32, shape ``(frames,)``, mono, every ``|sample| <= dsp.CEILING``: start/stop
        150 ms, tick 50 ms, inhale/exhale 400 ms, done 600 ms (built-in); a user's file
        at most `MAX_EARCON_S`.

    Raises
    ------
    VoicecoachError
        An override exists but is not a usable tone: not a regular file, unreadable,
        empty, too long, an odd rate or channel count, or holding NaN or infinite
        samples. The message names the file, the problem and what to do.
    """
    if name not in EARCON_NAMES:
        raise ValueError(f"unknown earcon {name!r}; known: {', '.join(EARCON_NAMES)}")
    if samplerate <= 0:
        raise ValueError(f"samplerate must be positive, got {samplerate}")
    path = override_path(name, overrides_dir)
    if path is not None:
        return _load_override(path, name, samplerate)
    return _synthesize(name, samplerate)
