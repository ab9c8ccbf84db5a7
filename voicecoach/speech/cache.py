"""The speech cache: keys, digests, the private folder, and reading and writing its entries.

Each entry is a 32-bit float WAV named by its phrase's `cache_key`, carrying a digest of
its samples bound to that key (`clip_digest`): a torn, altered or swapped entry is refused
and the phrase made again, never played.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from voicecoach.files import (
    NotAFile,
    atomic_write,
    ensure_private_dir,
    kind_of,
    open_regular,
    os_error_text,
)
from voicecoach.model import Voice
from voicecoach.speech.clips import Clip, stats

if TYPE_CHECKING:
    from voicecoach.speech.engines import Engine

# Bump when trimming or the cached file format changes, so old entries are not reused.
# 2: each entry carries a digest of its samples (and clips are normalised on loading).
CACHE_FORMAT = 2
# A cache entry is refused, unread, beyond these: no phrase a routine allows (500
# characters, at 20 words a minute) lasts 10 minutes, and speech engines write 8 to 96 kHz.
MAX_CLIP_S = 600
MIN_CLIP_RATE, MAX_CLIP_RATE = 8_000, 96_000
MAX_ENTRY_BYTES = 4 * MAX_CLIP_S * MAX_CLIP_RATE + (1 << 16)
_WAV_SLACK_BYTES = 1 << 16  # header, PEAK and LIST chunks around the samples
_DIGEST_PREFIX = "voicecoach sha256 "


def default_cache_dir() -> Path:
    """Where clips are cached by default: ``<cache dir>/speech`` (see `paths.cache_dir`)."""
    from voicecoach.paths import cache_dir

    return cache_dir() / "speech"


def cache_key(text: str, settings: Voice, engine: Engine | None = None) -> str:
    """The cache key of one phrase: a hash of engine, versions, voice, rate, volume and text.

    ``engine`` is `engines.engine_for(settings)` (made here when ``None``): its identity
    names the engine, its versions and a Piper voice's model (path, size, mtime and
    config), and its settings carry the engine's defaults, so switching engines, voices
    or defaults never finds another's clip. The voice is keyed as written (case-folded):
    "en-us" and "gmw/en-us" may hold the same audio twice, which costs a little disk but
    lets a cache hit skip the engine entirely.
    """
    if engine is None:
        from voicecoach.speech.engines import engine_for

        engine = engine_for(settings)
    settings = engine.settings
    voice = settings.name.strip().casefold() if settings.name is not None else None
    payload = json.dumps(
        {
            "format": CACHE_FORMAT,
            "engine": engine.identity,
            "voice": voice,
            "rate": settings.rate,
            "volume": settings.volume,
            "text": text,
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:40]


def clip_digest(key: str, samplerate: int, samples: np.ndarray) -> str:
    """SHA-256 of a clip bound to its cache key: a torn, altered or swapped entry fails it.

    The key is part of the hash, so the clip of another phrase (the same voice speaking
    "3" instead of the safety message) never passes for this one.
    """
    h = hashlib.sha256(f"voicecoach clip\n{key}\n{samplerate}\n".encode())
    # The buffer itself (no copy): hashing 10 minutes of speech costs milliseconds.
    h.update(np.ascontiguousarray(samples, dtype="<f4").data.cast("B"))
    return h.hexdigest()


def _owned(info: os.stat_result) -> bool:
    return not hasattr(os, "getuid") or info.st_uid == os.getuid()


def private_cache_folder(folder: Path, note: Callable[[str], None]) -> Path | None:
    """``folder`` ready to hold cache entries, or ``None`` when it must not be used.

    A cache entry could replace what the coach says (the safety message among them), so
    the folder must be a directory of this user's that no one else can write to: a
    folder of ours is created or tightened to 0700; one that belongs to another user, is
    not a directory, cannot be created or stays writable by others is not used at all
    (``note`` is told why, in one line), and the caller works without a cache.
    """
    where = f"the speech cache folder {folder}"
    try:
        before = os.stat(folder)
    except FileNotFoundError:
        before = None
    except OSError as exc:
        note(f"{where} cannot be used ({os_error_text(exc)}); speech is made afresh")
        return None
    # Ownership first: never chmod someone else's folder (root could).
    if before is not None and stat.S_ISDIR(before.st_mode) and not _owned(before):
        note(f"{where} belongs to another user; it is not used (speech is made afresh)")
        return None
    try:
        ensure_private_dir(folder)
        info = os.stat(folder)
    except OSError as exc:
        note(f"{where} cannot be used ({os_error_text(exc)}); speech is made afresh")
        return None
    if not stat.S_ISDIR(info.st_mode):
        note(f"{where} is {kind_of(info.st_mode)}; speech is made afresh")
        return None
    if not _owned(info):
        note(f"{where} belongs to another user; it is not used (speech is made afresh)")
        return None
    if os.name == "posix" and info.st_mode & 0o022:
        note(
            f"{where} is writable by other users and could not be made private; it is not "
            "used (speech is made afresh)"
        )
        return None
    return folder


def open_cache_entry(path: Path, max_bytes: int) -> BinaryIO | None:
    """``path`` opened for reading if it is a plausible cache entry, else ``None``.

    Never follows a symlink (the cache writes none), never blocks (a FIFO is refused by
    `fstat` before any read), and refuses anything but a regular file of ours of at most
    ``max_bytes``. `stats.cache_rejected` counts what was there but refused.
    """
    try:
        handle, info = open_regular(path, follow_symlinks=False)
    except FileNotFoundError:
        return None
    except (NotAFile, OSError):  # a symlink, a directory, unreadable...: damage, made again
        stats.rejected()
        return None
    if _owned(info) and 0 < info.st_size <= max_bytes:
        return handle
    handle.close()
    stats.rejected()
    return None


def clear_cache_entry(path: Path) -> None:
    """Make way for a new entry: remove a symlink or an empty directory in its place.

    The cache writes neither, so either is damage. A symlink must go before the write,
    which would otherwise go through it and replace whatever it points to; a directory
    that is not empty is left alone (the write then fails and is reported).
    """
    with contextlib.suppress(OSError):
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode):
            os.unlink(path)
        elif stat.S_ISDIR(mode):
            os.rmdir(path)


def load_entry(path: Path, key: str) -> Clip | None:
    """The cached clip if the entry is whole and is this phrase's, else ``None`` (made again).

    Checked before the samples are read: a regular file of sane size, a mono 32-bit
    float WAV at a speech sample rate, at most `MAX_CLIP_S` long. Then: every frame the
    header promises, the digest of the samples (`clip_digest`) and samples that are
    finite and within [-1, 1].
    """
    import soundfile  # not before a phrase is missing from the finished clips (see session)

    handle = open_cache_entry(path, MAX_ENTRY_BYTES)
    if handle is None:
        return None
    try:
        with handle, soundfile.SoundFile(handle) as sound:
            frames, rate = sound.frames, sound.samplerate
            if (
                sound.format != "WAV"
                or sound.subtype != "FLOAT"
                or sound.channels != 1
                or not MIN_CLIP_RATE <= rate <= MAX_CLIP_RATE
                or not 0 < frames <= MAX_CLIP_S * rate
                or os.fstat(handle.fileno()).st_size > 4 * frames + _WAV_SLACK_BYTES
            ):
                raise ValueError("not a cache entry")
            expected = sound.comment
            samples = sound.read(frames=frames, dtype="float32", always_2d=False)
    except Exception:
        # Whatever the bytes made libsndfile or soundfile raise, the entry is damaged.
        stats.rejected()
        return None
    digest = clip_digest(key, rate, samples) if samples.ndim == 1 else ""
    if (
        samples.shape != (frames,)
        or expected != _DIGEST_PREFIX + digest
        or not np.isfinite(samples).all()
        or np.abs(samples).max() > 1.0
    ):
        stats.rejected()
        return None
    return Clip(samples, int(rate), digest)


def store_entry(path: Path, key: str, clip: Clip) -> str | None:
    """Write ``clip`` as a private, atomic cache entry; why it could not be, or ``None``.

    The WAV is made in memory first, so a full disk shows as a plain ``OSError`` (ENOSPC)
    from the write, not libsndfile's "System error"; `files.atomic_output` makes the
    entry appear whole or not at all, owner-only.
    """
    import soundfile

    buffer = io.BytesIO()
    digest = clip.digest or clip_digest(key, clip.samplerate, clip.samples)
    # 32-bit float WAV keeps the trimmed, faded samples exactly.
    with soundfile.SoundFile(
        buffer, "w", clip.samplerate, 1, format="WAV", subtype="FLOAT"
    ) as sound:
        sound.comment = _DIGEST_PREFIX + digest
        sound.write(clip.samples)
    clear_cache_entry(path)
    try:
        atomic_write(path, buffer.getvalue(), private=True)
    except OSError as exc:
        stats.cache_write_failures += 1
        return os_error_text(exc)
    return None


class PendingWrites:
    """Cache entries made now and written later, off the path to the first sound.

    A cold start makes every clip before the session can be planned, but writing them
    (about 60 MB, each file synced) can wait until the session sounds: `synthesize` and
    `session.prepare_speech` add their writes here instead of making them, and the caller
    calls :meth:`run` (from any one thread) once the first word plays. A write that fails
    costs time next start, never this session: each reports through its own note.
    """

    def __init__(self) -> None:
        self._writes: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def add(self, write: Callable[[], None]) -> None:
        """Keep ``write`` for :meth:`run`."""
        with self._lock:
            self._writes.append(write)

    def __len__(self) -> int:
        with self._lock:
            return len(self._writes)

    def run(self) -> None:
        """Make every write kept so far, in the order they were added (then forget them)."""
        with self._lock:
            writes, self._writes = self._writes, []
        for write in writes:
            write()
