"""Getting a session ready to sound: clips, earcons, plan and mixer (shared by play and render)."""

from __future__ import annotations

import functools
import hashlib
import io
import os
from collections.abc import Callable, Mapping, Sequence
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
    from voicecoach.speech import Clip, PendingWrites

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
    pending: PendingWrites | None = None,
) -> Prepared:
    """Synthesize (or load from cache) every phrase and earcon, resampled to ``samplerate``.

    A warm start reads only the finished clips (at the voice's level and at
    ``samplerate``), named from the phrases' cache keys: no engine clip is read and no
    loudness measured. Anything missing is made from the engine's clips as before.

    ``on_note`` is told, in one line each, when a cache could not be used or written
    (the session goes on without it). With ``pending``, the cache writes are kept there
    for the caller to make later (after the first sound); their notes then reach
    ``on_note`` when they are made.
    """
    from voicecoach.paths import config_dir
    from voicecoach.speech import (
        REFERENCE_PHRASES,
        cache_key,
        engine_for,
        private_cache_folder,
        synthesize,
        voice_gain_db,
    )

    notes: dict[str, None] = {}
    later_notes: dict[str, None] = {}

    def note_later(message: str) -> None:
        if message not in later_notes and on_note is not None:
            later_notes.setdefault(message)
            on_note(message)

    # Tones first: a tone file that must be fixed is reported before any synthesis.
    tone_writes: list[Callable[[], None]] = []
    tones = _tones(
        samplerate,
        config_dir() / "earcons",
        private_cache_folder(cache_dir / f"tones-{samplerate}", notes.setdefault),
        tone_writes,
    )
    phrases = list(dict.fromkeys([*timeline.phrases(), *extra_phrases()]))
    settings = chosen_voice(routine, choice)
    audio: dict[str, np.ndarray] = {}
    spoken = [text for text in phrases if text.strip()]
    for text in phrases:
        if not text.strip():
            audio[text] = np.zeros(0, dtype=np.float32)  # a blank phrase: an empty clip
    names: dict[str, str] = {}
    folder = private_cache_folder(cache_dir / f"speech-{samplerate}", notes.setdefault)
    if spoken:
        engine = engine_for(settings)
        references = [cache_key(text, settings, engine) for text in REFERENCE_PHRASES]
        for text in spoken:
            names[text] = finished_key(cache_key(text, settings, engine), references, samplerate)
        if folder is not None:
            audio.update(_load_all(folder, names, samplerate))
    missing = [text for text in spoken if text not in audio]
    if missing:
        # The engine's clips of every phrase (so damage among them is found and mended
        # as before); only the missing finished clips are made, each as soon as its
        # engine clip and the voice's gain (from the reference phrases, made first) are
        # there, while the workers speak the rest.
        wanted = set(missing)
        # Written after the engine's clips (whose notes come first), or later still.
        writes: list[Callable[[], None]] = []
        ready: dict[str, Clip] = {}
        gain: list[float] = []

        def finish(text: str) -> None:
            if text not in wanted or text in audio:
                return
            audio[text] = finish_clip(ready[text], gain[0], samplerate)
            if folder is not None:
                path = folder / f"{names[text]}.npy"
                note = notes.setdefault if pending is None else note_later
                writes.append(
                    functools.partial(_store_resampled, path, names[text], audio[text], note)
                )

        def take(text: str, clip: Clip) -> None:
            ready[text] = clip
            if gain:
                finish(text)
            elif all(ref in ready for ref in REFERENCE_PHRASES):
                gain.append(voice_gain_db([ready[ref] for ref in REFERENCE_PHRASES], settings))
                for done in list(ready):
                    finish(done)

        synthesize(
            phrases,
            settings,
            cache_dir / "speech",
            progress=progress,
            on_note=notes.setdefault,
            level=False,
            pending=pending,
            on_clip=take,
        )
        for text in missing:
            finish(text)
        for write in writes:
            if pending is None:
                write()
            else:
                pending.add(write)

    # The tones last: they are remade in milliseconds, so they never take the room the
    # speech needs on a nearly full disk, and a failure to save one is not worth a note.
    for write in tone_writes:
        if pending is None:
            write()
        else:
            pending.add(write)
    audio = {text: audio[text] for text in phrases}
    extra = {text: audio[text] for text in extra_phrases()}
    if on_note is not None:
        for message in notes:
            on_note(message)
    return Prepared(samplerate, audio, tones, extra)


def _tones(
    samplerate: int,
    overrides: Path,
    folder: Path | None,
    writes: list[Callable[[], None]],
) -> dict[str, np.ndarray]:
    """Every tone at ``samplerate``: the user's file, else the built-in one, cached.

    A built-in tone's loudness takes about 5 ms to measure; its finished samples are
    cached under a hash of its unleveled samples (`earcons.tone_shape`), so a changed
    tone is never read stale. A user's file is read each time (see `earcons.earcon`).
    The cache writes of the tones made are added to ``writes``.
    """
    from voicecoach.earcons import earcon, level_tone, override_path, tone_shape

    tones = {}
    for name in TONES:
        if folder is None or override_path(name, overrides) is not None:
            tones[name] = earcon(name, samplerate, overrides)
            continue
        wave = tone_shape(name, samplerate)
        h = hashlib.sha256(_RESAMPLED_FORMAT + f"\ntone\n{name}\n{samplerate}\n".encode())
        h.update(np.ascontiguousarray(wave, dtype="<f8").data.cast("B"))
        key = h.hexdigest()[:40]
        found = _load_finished(folder / f"{key}.npy", key, samplerate)
        if found is None:
            found = level_tone(name, wave, samplerate)
            writes.append(
                functools.partial(
                    _store_resampled, folder / f"{key}.npy", key, found, lambda _: None
                )
            )
        tones[name] = found
    return tones


def _load_all(folder: Path, names: Mapping[str, str], samplerate: int) -> dict[str, np.ndarray]:
    """The finished clips of ``names`` (text -> key) found whole in ``folder``.

    Two threads read them: reading, hashing and checking 40 MB (back-basics at 48 kHz)
    is mostly numpy and hashlib work that releases the GIL, so the second core halves it.
    """
    import threading

    texts = list(names)
    found: list[dict[str, np.ndarray]] = [{}, {}]

    def load(part: int) -> None:
        for text in texts[part::2]:
            clip = _load_finished(folder / f"{names[text]}.npy", names[text], samplerate)
            if clip is not None:
                found[part][text] = clip

    helper = threading.Thread(target=load, args=(1,), name="voicecoach-clips", daemon=True)
    helper.start()
    try:
        load(0)
    finally:
        helper.join()
    return {text: found[i % 2][text] for i, text in enumerate(texts) if text in found[i % 2]}


# Finished clips are named by what they are made of: the phrase's cache key (engine,
# versions, voice, rate, volume, text), the cache keys of the reference phrases that set
# the voice's gain, the rate, and this format (bump it when leveling, limiting or
# resampling changes), so a changed level or trim never picks up a stale file, and a warm
# start finds them without reading the engine's clips.
_RESAMPLED_FORMAT = b"voicecoach finished 3"
_DIGEST_BYTES = 32


def finished_key(phrase_key: str, reference_keys: Sequence[str], samplerate: int) -> str:
    """The cache name of a phrase's finished clip: at the voice's level and ``samplerate``.

    ``phrase_key`` is the phrase's `speech.cache_key`; ``reference_keys`` those of
    `speech.REFERENCE_PHRASES`, whose clips set the voice's gain.
    """
    h = hashlib.sha256(_RESAMPLED_FORMAT + f"\n{samplerate}\n{phrase_key}\n".encode())
    h.update("\n".join(reference_keys).encode())
    return h.hexdigest()[:40]


def resampled_frames(frames: int, from_rate: int, to_rate: int) -> int:
    """How many frames `dsp.resample` makes of ``frames`` (soxr rounds half up)."""
    return (frames * to_rate * 2 + from_rate) // (2 * from_rate)


def finish_clip(clip: Clip, gain_db: float, samplerate: int) -> np.ndarray:
    """The engine's ``clip`` at the voice's level (``gain_db``) and at ``samplerate``.

    Returns
    -------
    np.ndarray
        float32, shape ``(resampled_frames(len(clip), clip.samplerate, samplerate),)``,
        every ``|sample| <= dsp.CEILING``.
    """
    from voicecoach.dsp import CEILING, limit_peaks, resample
    from voicecoach.speech import level_clip

    leveled = level_clip(clip, gain_db).samples
    if clip.samplerate == samplerate:
        return leveled
    # Resampling can raise a peak between the source's samples (a few tenths of a dB):
    # the clip is limited again so that no clip ever exceeds the ceiling at any rate.
    return limit_peaks(resample(leveled, clip.samplerate, samplerate), samplerate, CEILING)


def _resampled_digest(key: str, samples: np.ndarray) -> bytes:
    h = hashlib.sha256(_RESAMPLED_FORMAT + f"\n{key}\n".encode())
    h.update(np.ascontiguousarray(samples, dtype="<f4").data.cast("B"))
    return h.digest()


def _load_finished(path: Path, key: str, samplerate: int) -> np.ndarray | None:
    """A finished clip from the cache, or ``None`` when it is missing or not whole.

    An entry is a ``.npy`` file followed by the SHA-256 of its key and samples. It is
    used only when its header (read first, nothing allocated from it) says float32, one
    dimension, at most `speech.MAX_CLIP_S` long, the file's size matches that exactly,
    and the digest and the samples (finite, within the ceiling) hold. Anything else is
    made again.
    """
    from voicecoach.dsp import CEILING
    from voicecoach.speech import MAX_CLIP_S, open_cache_entry, stats

    most = MAX_CLIP_S * samplerate
    handle = open_cache_entry(path, _npy_header_bytes(most) + 4 * most + _DIGEST_BYTES)
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
                or len(shape) != 1
                or not 0 <= shape[0] <= most
                or os.fstat(handle.fileno()).st_size != handle.tell() + 4 * shape[0] + _DIGEST_BYTES
            ):
                raise ValueError("not a finished clip")
            frames = int(shape[0])
            samples = np.fromfile(handle, dtype="<f4", count=frames)
            digest = handle.read(_DIGEST_BYTES)
        except Exception:
            # Whatever the bytes made numpy's header parser raise (ValueError,
            # SyntaxError, tokenize.TokenError, ...), the entry is damaged: made again.
            stats.rejected()
            return None
    if (
        samples.shape != (frames,)
        or digest != _resampled_digest(key, samples)
        or not np.isfinite(samples).all()
        or (frames and float(np.abs(samples).max()) > CEILING)
    ):
        stats.rejected()
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
