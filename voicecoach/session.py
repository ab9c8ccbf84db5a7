"""Getting a session ready to sound: clips, earcons, plan and mixer (shared by play and render)."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from voicecoach.model import Routine, Voice
from voicecoach.phrases import extra_phrases
from voicecoach.timeline import TONES, Timeline, estimate_speech_seconds

if TYPE_CHECKING:
    from voicecoach.mixer import Mixer
    from voicecoach.schedule import Plan
    from voicecoach.speech import Clip

DEFAULT_SAMPLERATE = 48_000
# Text mode makes no sound, so a low rate keeps its (silent) clock cheap.
TEXT_SAMPLERATE = 8_000


@dataclass
class Prepared:
    """Everything a mixer needs, at one sample rate."""

    samplerate: int
    clips: Mapping[str, np.ndarray | int]
    tones: Mapping[str, np.ndarray]
    extra: Mapping[str, np.ndarray | int]


def chosen_voice(routine: Routine, choice: Voice) -> Voice:
    """The voice to speak with: ``choice`` (the command line's) over the routine's ``voice``.

    A field of ``choice`` that is ``None`` falls back to the routine's; the name is
    resolved to an installed voice (``piper:NAME`` to ``piper:/path/to/NAME.onnx``). A
    field still ``None`` takes the engine's default when speech is made: on espeak-ng
    the voice `speech.voices.DEFAULT_ESPEAK_VOICE` (en-US) at
    `speech.voices.DEFAULT_ESPEAK_RATE` words a minute (164 measured), elsewhere the
    system's own voice.
    """
    from voicecoach.speech import resolve_voice

    name = choice.name if choice.name is not None else routine.voice.name
    return Voice(
        name=resolve_voice(name) if name else None,
        rate=choice.rate if choice.rate is not None else routine.voice.rate,
        volume=choice.volume if choice.volume is not None else routine.voice.volume,
    )


def prepare_speech(
    timeline: Timeline,
    routine: Routine,
    choice: Voice,
    samplerate: int,
    cache_dir: Path,
    progress: Callable[[int, int], None] | None = None,
    on_note: Callable[[str], None] | None = None,
) -> Prepared:
    """Synthesize (or load from cache) every phrase and earcon, resampled to ``samplerate``.

    ``on_note`` is told, in one line each, when a cache could not be used or written
    (the session goes on without it).
    """
    from voicecoach.earcons import earcon
    from voicecoach.paths import config_dir
    from voicecoach.speech import REFERENCE_PHRASES, private_cache_folder, synthesize, voice_gain_db

    # Tones first: a tone file that must be fixed is reported before any synthesis.
    overrides = config_dir() / "earcons"
    tones = {name: earcon(name, samplerate, overrides) for name in TONES}
    notes: dict[str, None] = {}
    phrases = list(dict.fromkeys([*timeline.phrases(), *extra_phrases()]))
    settings = chosen_voice(routine, choice)
    # The engine's clips; the voice's gain and the resampling are applied here, so a warm
    # start reads finished clips (named by what they are made of) and computes nothing.
    raw = synthesize(
        phrases,
        settings,
        cache_dir / "speech",
        progress=progress,
        on_note=notes.setdefault,
        level=False,
    )
    gain_db = voice_gain_db([raw[text] for text in REFERENCE_PHRASES], settings)
    folder: Path | None = None
    if any(raw[text].samplerate != samplerate for text in phrases):
        folder = private_cache_folder(cache_dir / f"speech-{samplerate}", notes.setdefault)
    audio = {
        text: _at_rate(folder, raw[text], gain_db, samplerate, notes.setdefault) for text in phrases
    }
    extra = {text: audio[text] for text in extra_phrases()}
    if on_note is not None:
        for message in notes:
            on_note(message)
    return Prepared(samplerate, audio, tones, extra)


# Finished clips are named by what they are made of: the engine's clip (its digest), the
# voice's gain and both rates, and this format (bump it when leveling, limiting or
# resampling changes), so a changed level or trim never picks up a stale file.
_RESAMPLED_FORMAT = b"voicecoach resampled 2"
_DIGEST_BYTES = 32


def resampled_key(clip: Clip, gain_db: float, samplerate: int) -> str:
    """The cache name of ``clip`` at ``gain_db`` and ``samplerate``: a hash of its making."""
    h = hashlib.sha256(
        _RESAMPLED_FORMAT + f"\n{clip.samplerate}\n{samplerate}\n{gain_db:.9f}\n".encode()
    )
    if clip.digest is not None:
        h.update(clip.digest.encode())
    else:
        h.update(np.ascontiguousarray(clip.samples, dtype="<f4").data.cast("B"))
    return h.hexdigest()[:40]


def resampled_frames(frames: int, from_rate: int, to_rate: int) -> int:
    """How many frames `dsp.resample` makes of ``frames`` (soxr rounds half up)."""
    return (frames * to_rate * 2 + from_rate) // (2 * from_rate)


def _at_rate(
    folder: Path | None, clip: Clip, gain_db: float, samplerate: int, note: Callable[[str], None]
) -> np.ndarray:
    """The engine's ``clip`` at the voice's level and ``samplerate``, cached when possible.

    Leveling and resampling every clip costs about 0.1 s at each start; a warm start
    should sound at once. An entry is a ``.npy`` file followed by the SHA-256 of its key
    and samples; it is used only when its header (read first, nothing allocated from it)
    says float32, one dimension, exactly the length the source clip resamples to, the
    file's size matches that, and the digest holds. Anything else is made again; a
    failed write costs time (``note`` hears why), never the session.

    Returns
    -------
    np.ndarray
        float32, shape ``(resampled_frames(len(clip), clip.samplerate, samplerate),)``,
        every ``|sample| <= dsp.CEILING``.
    """
    from voicecoach.dsp import CEILING, limit_peaks, resample
    from voicecoach.speech import level_clip

    if clip.samplerate == samplerate:
        return level_clip(clip, gain_db).samples
    key = resampled_key(clip, gain_db, samplerate)
    frames = resampled_frames(clip.samples.shape[0], clip.samplerate, samplerate)
    if folder is not None:
        cached = _load_resampled(folder / f"{key}.npy", key, frames)
        if cached is not None:
            return cached
    # Resampling can raise a peak between the source's samples (a few tenths of a dB):
    # the clip is limited again so that no clip ever exceeds the ceiling at any rate.
    leveled = level_clip(clip, gain_db).samples
    samples = limit_peaks(resample(leveled, clip.samplerate, samplerate), samplerate, CEILING)
    if folder is not None:
        _store_resampled(folder / f"{key}.npy", key, samples, note)
    return samples


def _resampled_digest(key: str, samples: np.ndarray) -> bytes:
    h = hashlib.sha256(_RESAMPLED_FORMAT + f"\n{key}\n".encode())
    h.update(np.ascontiguousarray(samples, dtype="<f4").data.cast("B"))
    return h.digest()


def _load_resampled(path: Path, key: str, frames: int) -> np.ndarray | None:
    from voicecoach.dsp import CEILING
    from voicecoach.speech import open_cache_entry, stats

    size = _npy_header_bytes(frames) + 4 * frames + _DIGEST_BYTES
    handle = open_cache_entry(path, size)
    if handle is None:
        return None
    with handle:
        try:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
            else:
                raise ValueError(f"npy version {version}")
            # Checked before anything is allocated from the header.
            if (
                dtype != np.dtype("<f4")
                or fortran
                or shape != (frames,)
                or os.fstat(handle.fileno()).st_size != handle.tell() + 4 * frames + _DIGEST_BYTES
            ):
                raise ValueError("not this clip")
            samples = np.fromfile(handle, dtype="<f4", count=frames)
            digest = handle.read(_DIGEST_BYTES)
        except Exception:
            # Whatever the bytes made numpy's header parser raise (ValueError,
            # SyntaxError, tokenize.TokenError, ...), the entry is damaged: made again.
            stats.cache_rejected += 1
            return None
    if (
        samples.shape != (frames,)
        or digest != _resampled_digest(key, samples)
        or not np.isfinite(samples).all()
        or (frames and float(np.abs(samples).max()) > CEILING)
    ):
        stats.cache_rejected += 1
        return None
    return samples.astype(np.float32, copy=False)


def _npy_header_bytes(frames: int) -> int:
    # The .npy header of a float32 vector: padded to a multiple of 64 bytes; version 1.0
    # holds any length we write. A generous bound is enough for the size check above.
    return 128 + len(str(frames))


def _store_resampled(
    path: Path, key: str, samples: np.ndarray, note: Callable[[str], None]
) -> None:
    from voicecoach.files import atomic_write, os_error_text
    from voicecoach.speech import clear_cache_entry, stats

    # Made in memory first: numpy reports a short write without its errno ("disk full").
    buffer = io.BytesIO()
    np.lib.format.write_array(
        buffer, np.ascontiguousarray(samples, dtype="<f4"), allow_pickle=False
    )
    buffer.write(_resampled_digest(key, samples))
    clear_cache_entry(path)
    try:
        atomic_write(path, buffer.getvalue(), private=True)
    except OSError as exc:
        stats.cache_write_failures += 1
        note(
            f"resampled speech could not be saved in the cache {path.parent} "
            f"({os_error_text(exc)}); the session goes on, and it will be made again "
            "next time"
        )


def prepare_silent(timeline: Timeline, samplerate: int = TEXT_SAMPLERATE) -> Prepared:
    """Clip lengths estimated from the text, for the text clock (no speech engine needed)."""

    def frames(text: str) -> int:
        return round(estimate_speech_seconds(text) * samplerate)

    clips = {text: frames(text) for text in timeline.phrases()}
    tones = {name: np.zeros(round(0.15 * samplerate), dtype=np.float32) for name in TONES}
    extra = {text: frames(text) for text in extra_phrases()}
    return Prepared(samplerate, clips, tones, extra)


def build_mixer(timeline: Timeline, prepared: Prepared, channels: int = 2) -> tuple[Plan, Mixer]:
    """Plan the session at the prepared rate and make the mixer that plays it."""
    from voicecoach.mixer import Mixer
    from voicecoach.schedule import plan_session

    def length(clip: np.ndarray | int) -> int:
        return clip if isinstance(clip, int) else len(clip)

    plan = plan_session(
        timeline,
        {t: length(c) for t, c in prepared.clips.items()},
        {t: len(c) for t, c in prepared.tones.items()},
        prepared.samplerate,
    )
    mixer = Mixer(plan, prepared.clips, prepared.tones, channels=channels, extra=prepared.extra)
    return plan, mixer
