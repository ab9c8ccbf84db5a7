"""Speech: phrases to trimmed clips with pyttsx3, cached on disk, synthesized in worker processes.

How the work is split, and why:

* The parent process never starts a speech engine for :func:`synthesize`. It computes
  each phrase's cache key (engine name and versions, voice, rate, volume, text), loads
  the hits, and only if something is missing starts worker processes (``spawn``), so a
  warm start is only file reads.
* pyttsx3 engines are not thread-safe and espeak-ng cannot be initialized twice in one
  process, so each engine lives in exactly one process and is used from its one thread.
* espeak-ng carries state from one utterance to the next (its pitch "flutter" phase),
  so the same text comes out slightly different depending on what was spoken before.
  With the espeak driver each worker therefore forks a fresh child per phrase, before
  any engine exists, and the child starts espeak-ng (synchronously, through pyttsx3's
  binding: see `_speak_with_espeak`), speaks one phrase and exits: a clip depends only
  on its text and settings, never on scheduling, and a stuck engine is killed without
  losing the worker. Other drivers (macOS, Windows) speak in the worker itself.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import hashlib
import importlib.metadata
import io
import json
import multiprocessing
import multiprocessing.connection
import os
import platform
import select
import shutil
import signal
import stat
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

import numpy as np
import soundfile

from voicecoach.dsp import CEILING, SPEECH_LUFS, apply_gain, integrated_loudness, trim_silence
from voicecoach.errors import VoicecoachError
from voicecoach.files import (
    NotAFile,
    atomic_write,
    ensure_private_dir,
    kind_of,
    open_regular,
    os_error_text,
)
from voicecoach.model import VOICE_RATE, VOICE_VOLUME, Voice
from voicecoach.phrases import PAIN_QUESTION, RESUMING, SAFETY_MESSAGE

# A phrase that takes longer than this is treated as a stuck engine (espeak-ng speaks a
# long sentence in well under a second).
PHRASE_TIMEOUT_S = 30.0
# Starting a worker: a fresh interpreter importing numpy, soundfile and pyttsx3.
STARTUP_TIMEOUT_S = 60.0
MAX_WORKERS = 4
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
# The voice's loudness is measured on these lines, always part of a session (so they cost
# nothing extra there): about 15 s of speech, which BS.1770's gating measures steadily.
REFERENCE_PHRASES = (SAFETY_MESSAGE, PAIN_QUESTION, RESUMING)
# The espeak driver always writes 22050 Hz; used for the empty clip of a blank phrase.
ESPEAK_SAMPLERATE = 22050
# pyttsx3's espeak driver speaks at this rate (words a minute) unless told otherwise.
ESPEAK_DEFAULT_RATE = 200


@dataclass(frozen=True)
class Clip:
    """One synthesized phrase: ``samples`` float32, shape ``(frames,)``, mono, in [-1, 1].

    The clips `synthesize` returns are at the speech level, within ±`dsp.CEILING`.
    ``digest`` names the engine's clip it was made from (`clip_digest`, checked when it
    was read from the cache), so what is derived from it can be cached under that name.
    """

    samples: np.ndarray
    samplerate: int
    digest: str | None = field(default=None, compare=False)

    @property
    def seconds(self) -> float:
        """Length of the clip in seconds."""
        frames: int = self.samples.shape[0]
        return frames / self.samplerate


@dataclass(frozen=True)
class VoiceInfo:
    """An installed voice as the engine reports it."""

    id: str
    name: str
    languages: tuple[str, ...]
    gender: str | None


class SpeechUnavailable(VoicecoachError):
    """No speech engine can run here (pyttsx3 or the system voices are missing)."""


class VoiceNotFound(VoicecoachError):
    """The requested voice is not installed."""


class SynthesisError(VoicecoachError):
    """The speech engine failed, died or hung while speaking a phrase."""


@dataclass
class SynthesisStats:
    """Running counts for this process, for tests and benchmarks (the product never reads them)."""

    cache_hits: int = 0
    phrases_synthesized: int = 0
    workers_started: int = 0
    cache_rejected: int = 0  # entries that were there but damaged, foreign or torn
    cache_write_failures: int = 0


stats = SynthesisStats()


# --- Engine identity and the missing-backend message --------------------------------------


def install_hint() -> str:
    """How to get a working speech backend on this platform."""
    if sys.platform.startswith("linux"):
        return ("Install espeak-ng and its library:\n"
                "  sudo apt-get install espeak-ng libespeak-ng1   (Debian, Ubuntu)\n"
                "  sudo dnf install espeak-ng                     (Fedora)\n"
                "then run voicecoach again.")
    if sys.platform == "darwin":
        return ("macOS ships its system voices with the OS; reinstall pyttsx3 "
                "(python -m pip install --force-reinstall pyttsx3) and try again.")
    if sys.platform == "win32":
        return ("Windows ships its system voices (SAPI5) with the OS; reinstall pyttsx3 "
                "(python -m pip install --force-reinstall pyttsx3) and try again.")
    return "Install espeak-ng (libespeak-ng), then reinstall pyttsx3 and try again."


def _unavailable(exc: BaseException) -> SpeechUnavailable:
    return SpeechUnavailable(f"No speech engine is available ({type(exc).__name__}: {exc}).\n"
                             f"{install_hint()}")


def _driver_name() -> str:
    try:
        from pyttsx3.engine import default_engine_by_sys_platform
    except ImportError:  # pyttsx3 before 2.99 chose the driver inside Engine
        return {"darwin": "nsss", "win32": "sapi5"}.get(sys.platform, "espeak")
    name: str = default_engine_by_sys_platform()  # pyttsx3 has no type hints
    return name


@functools.cache
def engine_identity() -> str:
    """Driver, pyttsx3 and engine versions, without starting an engine (part of cache keys).

    Raises
    ------
    SpeechUnavailable
        pyttsx3 cannot be imported, or the espeak-ng library cannot be loaded.
    """
    try:
        import pyttsx3  # noqa: F401  (fails here when pyttsx3 is missing or broken)
    except Exception as exc:
        raise _unavailable(exc) from exc
    driver = _driver_name()
    try:
        pyttsx3_version = importlib.metadata.version("pyttsx3")
    except importlib.metadata.PackageNotFoundError:
        pyttsx3_version = "unknown"
    if driver == "espeak":
        try:
            # Importing the driver's binding only loads the library (dlopen); it does not
            # initialize espeak-ng, which stays the job of the worker processes.
            from pyttsx3.drivers import _espeak
        except Exception as exc:
            raise _unavailable(exc) from exc
        try:
            engine_version = "espeak-ng " + _espeak.Info(None).decode()
        except Exception:  # the version is informative only
            engine_version = "espeak-ng unknown"
    else:
        engine_version = platform.platform()
    return f"{driver}; pyttsx3 {pyttsx3_version}; {engine_version}"


# --- Cache ---------------------------------------------------------------------------------


def default_cache_dir() -> Path:
    """Where clips are cached by default: ``<cache dir>/speech`` (see `paths.cache_dir`)."""
    from voicecoach.paths import cache_dir

    return cache_dir() / "speech"


def cache_key(text: str, settings: Voice) -> str:
    """The cache key of one phrase: a hash of engine, versions, voice, rate, volume and text.

    The voice is keyed as written (case-folded): "en-us" and "gmw/en-us" may hold the same
    audio twice, which costs a little disk but lets a cache hit skip the engine entirely.
    """
    voice = settings.name.strip().casefold() if settings.name is not None else None
    payload = json.dumps({"format": CACHE_FORMAT, "engine": engine_identity(), "voice": voice,
                          "rate": settings.rate, "volume": settings.volume, "text": text},
                         sort_keys=True, ensure_ascii=False)
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
        note(f"{where} is writable by other users and could not be made private; it is not "
             "used (speech is made afresh)")
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
        stats.cache_rejected += 1
        return None
    if _owned(info) and 0 < info.st_size <= max_bytes:
        return handle
    handle.close()
    stats.cache_rejected += 1
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


def _load_cached(path: Path, key: str) -> Clip | None:
    """The cached clip if the entry is whole and is this phrase's, else ``None`` (made again).

    Checked before the samples are read: a regular file of sane size, a mono 32-bit
    float WAV at a speech sample rate, at most `MAX_CLIP_S` long. Then: every frame the
    header promises, the digest of the samples (`clip_digest`) and samples that are
    finite and within [-1, 1].
    """
    handle = open_cache_entry(path, MAX_ENTRY_BYTES)
    if handle is None:
        return None
    try:
        with handle, soundfile.SoundFile(handle) as sound:
            frames, rate = sound.frames, sound.samplerate
            if (sound.format != "WAV" or sound.subtype != "FLOAT" or sound.channels != 1
                    or not MIN_CLIP_RATE <= rate <= MAX_CLIP_RATE
                    or not 0 < frames <= MAX_CLIP_S * rate
                    or os.fstat(handle.fileno()).st_size > 4 * frames + _WAV_SLACK_BYTES):
                raise ValueError("not a cache entry")
            expected = sound.comment
            samples = sound.read(frames=frames, dtype="float32", always_2d=False)
    except Exception:
        # Whatever the bytes made libsndfile or soundfile raise, the entry is damaged.
        stats.cache_rejected += 1
        return None
    digest = clip_digest(key, rate, samples) if samples.ndim == 1 else ""
    if (samples.shape != (frames,) or expected != _DIGEST_PREFIX + digest
            or not np.isfinite(samples).all() or np.abs(samples).max() > 1.0):
        stats.cache_rejected += 1
        return None
    return Clip(samples, int(rate), digest)


def _store(path: Path, key: str, clip: Clip) -> str | None:
    """Write ``clip`` as a private, atomic cache entry; why it could not be, or ``None``.

    The WAV is made in memory first, so a full disk shows as a plain ``OSError`` (ENOSPC)
    from the write, not libsndfile's "System error"; `files.atomic_output` makes the
    entry appear whole or not at all, owner-only.
    """
    buffer = io.BytesIO()
    digest = clip.digest or clip_digest(key, clip.samplerate, clip.samples)
    # 32-bit float WAV keeps the trimmed, faded samples exactly.
    with soundfile.SoundFile(buffer, "w", clip.samplerate, 1, format="WAV",
                             subtype="FLOAT") as sound:
        sound.comment = _DIGEST_PREFIX + digest
        sound.write(clip.samples)
    clear_cache_entry(path)
    try:
        atomic_write(path, buffer.getvalue(), private=True)
    except OSError as exc:
        stats.cache_write_failures += 1
        return os_error_text(exc)
    return None


# --- Voices ----------------------------------------------------------------------------------


def _language_code(raw: Any) -> str:
    # The espeak driver gives str codes; some drivers give bytes with a priority byte first.
    if isinstance(raw, bytes):
        return raw.lstrip(bytes(range(32))).decode("utf-8", errors="ignore")
    return str(raw)


def _voice_infos(engine: Any) -> list[VoiceInfo]:
    voices = []
    for v in engine.getProperty("voices"):
        languages = tuple(_language_code(x) for x in (getattr(v, "languages", None) or ()))
        gender = getattr(v, "gender", None)
        voices.append(VoiceInfo(id=str(v.id), name=str(v.name or v.id), languages=languages,
                                gender=str(gender) if gender else None))
    return voices


def _match_voice(wanted: str, voices: Sequence[VoiceInfo]) -> str:
    """The id of the voice ``wanted`` names: an id, the end of an id, a name or a language.

    Raises
    ------
    VoiceNotFound
        Nothing matches; the message names close matches and ``voicecoach voices``.
    """
    key = wanted.strip().casefold()
    tiers: list[Callable[[VoiceInfo], bool]] = [
        lambda v: v.id.casefold() == key,
        lambda v: v.id.casefold().rsplit("/", 1)[-1] == key,  # "en-us" for "gmw/en-us"
        lambda v: v.name.casefold() == key,
        lambda v: key in (lang.casefold() for lang in v.languages),
    ]
    for matches in tiers:
        for voice in voices:
            if matches(voice):
                return voice.id
    labels = {v.id.casefold(): v.id for v in voices}
    labels.update({v.name.casefold(): v.name for v in voices})
    labels.update({v.id.casefold().rsplit("/", 1)[-1]: v.id for v in voices})
    close = [labels[c] for c in difflib.get_close_matches(key, list(labels), n=4, cutoff=0.6)]
    suggestion = f" Close matches: {', '.join(dict.fromkeys(close))}." if close else ""
    raise VoiceNotFound(f"Voice {wanted!r} is not installed.{suggestion} "
                        f"Run `voicecoach voices` to list the installed voices.")


def _init_engine() -> Any:
    """Start a pyttsx3 engine in this process, or raise :class:`SpeechUnavailable`."""
    try:
        import pyttsx3
    except Exception as exc:
        raise _unavailable(exc) from exc
    try:
        return pyttsx3.init()
    except Exception as exc:  # e.g. RuntimeError when libespeak-ng1 is missing
        raise _unavailable(exc) from exc


def list_voices() -> list[VoiceInfo]:
    """Every installed voice (131 with espeak-ng 1.51), in the engine's order.

    Starts an engine in this process (about 30 ms with espeak-ng); used by
    ``voicecoach voices`` and :func:`resolve_voice`, never on a cache hit.

    Raises
    ------
    SpeechUnavailable
        No speech backend; the message says what to install.
    """
    return _voice_infos(_init_engine())


def resolve_voice(name: str) -> str:
    """The engine id of a voice given by id or name, case-insensitively.

    ``"gmw/en-us"``, ``"en-us"`` and ``"English (America)"`` all give ``"gmw/en-us"``.

    Raises
    ------
    VoiceNotFound
        No installed voice matches; close matches and ``voicecoach voices`` are suggested.
    SpeechUnavailable
        No speech backend.
    """
    return _match_voice(name, list_voices())


# --- Worker processes --------------------------------------------------------------------


class _WorkerFailure(Exception):
    """A failure inside a worker, sent to the parent as (kind, message)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _failure_of(exc: BaseException) -> _WorkerFailure:
    if isinstance(exc, _WorkerFailure):
        return exc
    if isinstance(exc, SpeechUnavailable):
        return _WorkerFailure("unavailable", str(exc))
    if isinstance(exc, VoiceNotFound):
        return _WorkerFailure("voice", str(exc))
    return _WorkerFailure("failed", f"{type(exc).__name__}: {exc}")


def _configure(engine: Any, settings: Voice) -> list[BaseException]:
    """Queue voice, then rate, then volume (setting a voice may reset the other two).

    pyttsx3 reports a failing property only as an "error" event, so errors are collected
    in the returned list (filled while the engine runs).
    """
    errors: list[BaseException] = []

    def on_error(name: Any = None, exception: BaseException | None = None, **_: Any) -> None:
        errors.append(exception or RuntimeError("unknown speech engine error"))

    engine.connect("error", on_error)
    if settings.name is not None:
        engine.setProperty("voice", _match_voice(settings.name, _voice_infos(engine)))
    if settings.rate is not None:
        engine.setProperty("rate", settings.rate)
    if settings.volume is not None:
        engine.setProperty("volume", settings.volume)
    return errors


def _speak_to_file(engine: Any, errors: list[BaseException], text: str, path: Path) -> None:
    finished = threading.Event()

    def on_finished(completed: bool = True, **_: Any) -> None:
        if completed:
            finished.set()

    token = engine.connect("finished-utterance", on_finished)
    # runAndWait after every save: queued saves before one run write only the last file.
    engine.save_to_file(text, str(path))
    engine.runAndWait()
    # pyttsx3's espeak driver returns from runAndWait about 10 ms after starting, while
    # espeak-ng goes on speaking in its own thread (a long sentence takes longer), and it
    # writes the file just before reporting the utterance finished: wait for that.
    if _driver_name() == "espeak" and not finished.wait(PHRASE_TIMEOUT_S):
        raise _WorkerFailure("timeout", f"no audio after {PHRASE_TIMEOUT_S:g} s")
    engine.disconnect(token)
    if errors:
        raise _WorkerFailure("failed", f"the speech engine reported: {errors[0]}")
    if not path.is_file() or path.stat().st_size == 0:
        raise _WorkerFailure("failed", "the speech engine wrote no audio")


def _read_trimmed(path: Path) -> tuple[np.ndarray, int]:
    data, rate = soundfile.read(path, dtype="float32", always_2d=True)
    mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
    return trim_silence(mono, int(rate)), int(rate)


def _silence_stdout() -> None:
    # The espeak driver prints "Audio saved to ..." for every file from C callbacks and
    # Python alike; point file descriptor 1 at /dev/null so nothing reaches the terminal.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (lives as long as the worker)


def _wait_child(pid: int, timeout_s: float) -> int | None:
    """Exit code of child ``pid``, or ``None`` after killing it at the timeout."""
    deadline = time.monotonic() + timeout_s
    pidfd = None
    if hasattr(os, "pidfd_open"):
        with contextlib.suppress(OSError):
            pidfd = os.pidfd_open(pid)
    try:
        delay = 0.0005
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return None
            if pidfd is not None:
                select.select([pidfd], [], [], remaining)  # readable when the child exits
            else:
                time.sleep(min(delay, remaining))
                delay = min(delay * 2, 0.005)
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _speak_with_espeak(settings: Voice, text: str, path: Path) -> None:
    """Speak ``text`` into a 16-bit mono WAV at ``path`` with libespeak-ng, synchronously.

    pyttsx3's espeak driver runs espeak-ng asynchronously: rate and volume go through
    espeak-ng's command queue, applied in its own thread, while a voice is set at once,
    and the two race. Measured here under load: in 8 of 30 runs one of two phrases asked
    at 100 words a minute came out at 200 (or at espeak-ng's own 175), and that clip was
    then cached for good. In synchronous mode each call takes effect before it returns
    and ``Synth`` returns with the whole phrase, so a clip depends on its text and
    settings only. The calls are pyttsx3's own ctypes binding and the same settings its
    driver applies (voice by name, rate 200 and volume 1.0 unless set), so the audio is
    byte for byte what the driver makes when its race goes the right way.

    Runs in a fresh child process (see `_ForkingSpeaker`): espeak-ng is initialised
    here, once, for this one phrase.
    """
    import ctypes
    import wave

    from pyttsx3.drivers import _espeak
    from pyttsx3.drivers.espeak import EspeakDriver

    samplerate = _espeak.Initialize(_espeak.AUDIO_OUTPUT_SYNCHRONOUS, 1000)
    if samplerate <= 0:
        raise _WorkerFailure("unavailable", f"espeak-ng could not start.\n{install_hint()}")
    chunks: list[bytes] = []

    def on_synth(wav: Any, frames: int, events: Any) -> int:
        if frames > 0:
            chunks.append(ctypes.string_at(wav, frames * 2))
        return 0  # go on

    _espeak.SetSynthCallback(on_synth)
    if settings.name is not None:
        voice = _match_voice(settings.name, _voice_infos(EspeakDriver))
    else:  # the driver's default: the voice espeak-ng starts with, set by its name
        current = _espeak.GetCurrentVoice()
        voice = (current.contents.name.decode("utf-8") if current and current.contents.name
                 else "gmw/en")
    if _espeak.SetVoiceByName(voice.encode("utf-8")) != _espeak.EE_OK:
        raise _WorkerFailure("voice", f"espeak-ng could not load the voice {voice!r}")
    rate = ESPEAK_DEFAULT_RATE if settings.rate is None else settings.rate
    volume = 1.0 if settings.volume is None else settings.volume
    _espeak.SetParameter(_espeak.RATE, rate, 0)
    _espeak.SetParameter(_espeak.VOLUME, round(volume * 100), 0)
    status = _espeak.Synth(text, flags=_espeak.ENDPAUSE | _espeak.CHARS_UTF8)
    if status != _espeak.EE_OK:
        raise _WorkerFailure("failed", f"espeak-ng could not speak the phrase (status {status})")
    if not chunks:
        raise _WorkerFailure("failed", "the speech engine wrote no audio")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(samplerate)
        out.writeframes(b"".join(chunks))


class _ForkingSpeaker:
    """espeak-ng: one fresh child per phrase, forked before any engine exists (see module doc)."""

    def __init__(self, settings: Voice, workdir: Path, timeout_s: float) -> None:
        try:
            # Load the library once here (dlopen, no engine yet) so that every forked
            # child inherits it, and a missing library is reported before any phrase.
            import pyttsx3.drivers.espeak  # noqa: F401
        except Exception as exc:
            raise _unavailable(exc) from exc
        self.settings = settings
        self.workdir = workdir
        self.timeout_s = timeout_s

    def speak(self, index: int, text: str) -> tuple[np.ndarray, int]:
        wav = self.workdir / f"{index}.wav"
        err = self.workdir / f"{index}.err"
        pid = os.fork()
        if pid == 0:
            self._child(text, wav, err)
        code = _wait_child(pid, self.timeout_s)
        if code is None:
            raise _WorkerFailure("timeout", f"no audio after {self.timeout_s:g} s")
        if code != 0:
            if err.is_file():
                kind, _, message = err.read_text(encoding="utf-8").partition("\n")
                raise _WorkerFailure(kind, message)
            raise _WorkerFailure("failed", f"the speech process exited with status {code}")
        try:
            return _read_trimmed(wav)
        finally:
            wav.unlink(missing_ok=True)

    def _child(self, text: str, wav: Path, err: Path) -> NoReturn:
        code = 0
        try:
            _speak_with_espeak(self.settings, text, wav)
        except BaseException as exc:
            failure = _failure_of(exc)
            with contextlib.suppress(BaseException):
                err.write_text(f"{failure.kind}\n{failure}", encoding="utf-8")
            code = 1
        # _exit: no atexit handlers or inherited buffers of the worker run twice.
        os._exit(code)


class _InProcessSpeaker:
    """Other drivers (nsss, sapi5): one engine in the worker, phrases one after another."""

    def __init__(self, settings: Voice, workdir: Path) -> None:
        self.workdir = workdir
        self.engine = _init_engine()
        self.errors = _configure(self.engine, settings)

    def speak(self, index: int, text: str) -> tuple[np.ndarray, int]:
        # nsss writes AIFF whatever the name says; soundfile reads either.
        wav = self.workdir / f"{index}.{'aiff' if _driver_name() == 'nsss' else 'wav'}"
        try:
            _speak_to_file(self.engine, self.errors, text, wav)
            return _read_trimmed(wav)
        finally:
            wav.unlink(missing_ok=True)


def _worker_main(conn: Connection, settings: Voice, timeout_s: float,
                 workdir: Path) -> None:
    """Entry point of a worker process: speak the phrases the parent sends, one at a time.

    ``workdir`` is this worker's own scratch folder; the parent removes it afterwards,
    even when it had to kill the worker.
    """
    if hasattr(os, "setpgrp"):
        # Own process group: the terminal's Ctrl-C goes to the parent only (which then
        # stops us), and the parent can kill us together with a forked child.
        os.setpgrp()
    _silence_stdout()
    try:
        _serve(conn, settings, timeout_s, workdir)
    except (BrokenPipeError, ConnectionResetError, EOFError):
        # The parent finished (or stopped) before this worker had anything to do, and
        # closed the pipe: there is no one to tell, and no traceback to print.
        pass
    finally:
        conn.close()


def _serve(conn: Connection, settings: Voice, timeout_s: float, workdir: Path) -> None:
    """The worker's loop: report ready, then speak each task until told to stop."""
    try:
        speaker: _ForkingSpeaker | _InProcessSpeaker
        if _driver_name() == "espeak" and hasattr(os, "fork"):
            speaker = _ForkingSpeaker(settings, workdir, timeout_s)
        else:
            speaker = _InProcessSpeaker(settings, workdir)
    except BaseException as exc:
        failure = _failure_of(exc)
        conn.send(("error", None, failure.kind, str(failure)))
        return
    conn.send(("ready",))
    while True:
        try:
            task = conn.recv()
        except EOFError:  # the parent is gone or done
            return
        if task is None:
            return
        index, text = task
        try:
            samples, rate = speaker.speak(index, text)
        except BaseException as exc:
            failure = _failure_of(exc)
            conn.send(("error", index, failure.kind, str(failure)))
            continue
        conn.send(("clip", index, samples, rate))


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    ready: bool = False
    task: int | None = None
    deadline: float = 0.0


def _kill(worker: _Worker) -> None:
    pid = worker.process.pid
    if pid is not None and hasattr(os, "killpg"):
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)  # the worker and any child it forked
    with contextlib.suppress(OSError, ValueError):
        worker.process.kill()


def _shutdown(pool: list[_Worker]) -> None:
    for w in pool:
        with contextlib.suppress(OSError, ValueError):
            w.conn.send(None)
        w.conn.close()
    for w in pool:
        # An idle worker exits at once; a busy or stuck one is killed.
        w.process.join(timeout=0.5 if w.task is None else 0)
        if w.process.is_alive():
            _kill(w)
            w.process.join(timeout=5)


def _describe_death(worker: _Worker, text: str | None) -> SynthesisError:
    code = worker.process.exitcode
    how = (f"was killed by signal {-code}" if code is not None and code < 0
           else f"exited with status {code}")
    doing = f" while speaking {text!r}" if text is not None else " while starting"
    return SynthesisError(f"The speech worker process (pid {worker.process.pid}) {how}{doing}. "
                          f"Run the command again; if it keeps failing, try another voice "
                          f"(`voicecoach voices`) or reinstall espeak-ng.")


def _failure_error(kind: str, message: str, text: str | None) -> VoicecoachError:
    if kind == "unavailable":
        return SpeechUnavailable(message)
    if kind == "voice":
        return VoiceNotFound(message)
    if kind == "timeout":
        return SynthesisError(f"The speech engine got stuck speaking {text!r} ({message}). "
                              f"Run the command again; if it keeps happening, try another "
                              f"voice (`voicecoach voices`) or reinstall espeak-ng.")
    doing = f"speaking {text!r}" if text is not None else "starting the speech engine"
    return SynthesisError(f"Speech failed while {doing}: {message}")


def _synthesize_in_workers(texts: list[str], settings: Voice, workers: int,
                           on_clip: Callable[[int, Clip], None]) -> None:
    """Speak ``texts`` in ``workers`` processes, calling ``on_clip(index, clip)`` as each ends."""
    timeout_s = PHRASE_TIMEOUT_S
    # The worker kills a stuck child at timeout_s; the parent waits a little longer before
    # deciding that the worker itself is stuck.
    parent_timeout_s = timeout_s + min(5.0, timeout_s)
    ctx = multiprocessing.get_context("spawn")
    # Longest first, so one long sentence does not finish alone at the end.
    todo = deque(sorted(range(len(texts)), key=lambda i: -len(texts[i])))
    pool: list[_Worker] = []
    scratch = Path(tempfile.mkdtemp(prefix="voicecoach-speech-"))
    try:
        for number in range(workers):
            workdir = scratch / str(number)
            workdir.mkdir()
            parent_conn, child_conn = ctx.Pipe()
            process = ctx.Process(target=_worker_main,
                                  args=(child_conn, settings, timeout_s, workdir),
                                  name="voicecoach-speech", daemon=True)
            process.start()
            child_conn.close()
            stats.workers_started += 1
            pool.append(_Worker(process, parent_conn,
                                deadline=time.monotonic() + STARTUP_TIMEOUT_S))
        remaining = len(texts)
        while remaining:
            for w in pool:
                if w.ready and w.task is None and todo:
                    w.task = todo.popleft()
                    # If the worker is gone, its sentinel says how, below.
                    with contextlib.suppress(OSError):
                        w.conn.send((w.task, texts[w.task]))
                    w.deadline = time.monotonic() + parent_timeout_s
            waiting = [w for w in pool if not w.ready or w.task is not None]
            wait_s = max(0.0, min(w.deadline for w in waiting) - time.monotonic())
            ready = multiprocessing.connection.wait(
                [w.conn for w in waiting] + [w.process.sentinel for w in waiting], wait_s)
            for w in waiting:
                text = texts[w.task] if w.task is not None else None
                if w.conn in ready or w.conn.poll():
                    try:
                        message = w.conn.recv()
                    except (EOFError, OSError):
                        w.process.join(timeout=1)
                        raise _describe_death(w, text) from None
                    if message[0] == "ready":
                        w.ready = True
                    elif message[0] == "error":
                        w.task = None  # the worker is fine and idle: let it exit cleanly
                        raise _failure_error(message[2], message[3], text)
                    else:
                        _, index, samples, rate = message
                        w.task = None
                        remaining -= 1
                        stats.phrases_synthesized += 1
                        on_clip(index, Clip(samples, rate))
                elif w.process.sentinel in ready:
                    w.process.join(timeout=1)
                    raise _describe_death(w, text)
                elif time.monotonic() >= w.deadline:
                    if not w.ready:
                        raise SynthesisError(
                            f"The speech worker did not start within {STARTUP_TIMEOUT_S:g} s. "
                            f"Run the command again; if it keeps happening, reinstall pyttsx3.")
                    raise _failure_error("timeout", f"no audio after {parent_timeout_s:g} s",
                                         text)
    finally:
        _shutdown(pool)
        shutil.rmtree(scratch, ignore_errors=True)


# --- The public entry point --------------------------------------------------------------


def _check(settings: Voice) -> None:
    # The command line and the routine checker refuse these first, with their own words;
    # this guards other callers of the library.
    rate_lo, rate_hi = VOICE_RATE
    if settings.rate is not None and not rate_lo <= settings.rate <= rate_hi:
        raise VoicecoachError(f"Speech rate {settings.rate} is out of range: use {rate_lo} to "
                              f"{rate_hi} words per minute (espeak-ng's default is 200).")
    volume_lo, volume_hi = (float(v) for v in VOICE_VOLUME)
    if settings.volume is not None and not volume_lo <= settings.volume <= volume_hi:
        raise VoicecoachError(f"Speech volume {settings.volume} is out of range: use "
                              f"{volume_lo} to {volume_hi}.")
    if settings.name is not None and not settings.name.strip():
        raise VoiceNotFound("The voice name is empty. Run `voicecoach voices` to list the "
                            "installed voices.")


def voice_gain_db(reference: Sequence[Clip], settings: Voice) -> float:
    """The gain (dB) that brings this voice to `dsp.SPEECH_LUFS`, from its reference clips.

    One gain per voice, rate and volume, measured on `REFERENCE_PHRASES` (about 15 s of
    speech): a single word is shorter than BS.1770's 400 ms gating block and cannot be
    measured on its own, and one gain keeps the voice's own rise and fall from phrase to
    phrase (espeak-ng's phrases differ by about 3 LU) instead of making "3" as loud as a
    sentence. ``settings.volume`` then sets the level relative to that: 0.5 is 6 dB under.
    """
    if not reference:
        return 0.0
    rate = reference[0].samplerate
    loudness = integrated_loudness(np.concatenate([c.samples for c in reference]), rate)
    if loudness == float("-inf"):
        return 0.0  # a silent voice (volume 0): nothing to bring up
    target = SPEECH_LUFS
    if settings.volume is not None and settings.volume > 0:
        target += 20.0 * float(np.log10(settings.volume))
    return target - loudness


def level_clip(clip: Clip, gain_db: float) -> Clip:
    """``clip`` made ``gain_db`` louder, its peaks limited to `dsp.CEILING` (same digest)."""
    return Clip(apply_gain(clip.samples, clip.samplerate, gain_db, CEILING), clip.samplerate,
                clip.digest)


def synthesize(phrases: Sequence[str], settings: Voice, cache_dir: Path | None = None,
               *, progress: Callable[[int, int], None] | None = None,
               workers: int | None = None,
               on_note: Callable[[str], None] | None = None,
               level: bool = True) -> dict[str, Clip]:
    """Every distinct phrase as a trimmed clip at the speech level, cached or synthesized.

    Leading and trailing silence is trimmed (5 ms kept before the first sound and 30 ms
    after the last, with raised-cosine edges, so clips start on time and never click).
    The engine's clips are cached as 32-bit float WAV files named by :func:`cache_key`,
    each with a digest of its samples; a run where every phrase is cached starts no
    engine and no process. An entry that is damaged in any way (torn, altered, another
    phrase's, not a file, absurd) is made again, and an unusable or untrusted cache
    folder (see :func:`private_cache_folder`) or a failed write (a full disk, a
    read-only folder) costs time, never the session. Misses are synthesized in
    ``workers`` processes (default ``min(cpu count, misses, 4)``).

    The clips returned are brought to `dsp.SPEECH_LUFS` by one gain per voice (see
    :func:`voice_gain_db`; `REFERENCE_PHRASES` are synthesized and cached for it too),
    their peaks limited to `dsp.CEILING` (-1 dBFS).

    Parameters
    ----------
    phrases : Sequence[str]
        Texts to speak; duplicates are spoken once. A blank text gives an empty clip.
    settings : Voice
        Voice, rate and volume.
    cache_dir : Path or None
        Cache folder; ``None`` means :func:`default_cache_dir`.
    progress : callable or None
        Called as ``progress(done, total)`` in this thread: once after the cache lookup,
        then after each synthesized phrase (``total`` counts distinct phrases, the
        reference phrases included).
    workers : int or None
        Number of worker processes for the misses.
    on_note : callable or None
        Called with a one-line note when the cache could not be used or written (the
        session goes on); ``None`` drops the notes.
    level : bool
        ``False`` returns the engine's clips as they are, the reference phrases among
        them, for a caller that applies :func:`voice_gain_db` (with :func:`level_clip`)
        itself and caches what it derives.

    Returns
    -------
    dict[str, Clip]
        One clip per distinct phrase of ``phrases``, in first-use order: float32, shape
        ``(frames,)``, every ``|sample| <= dsp.CEILING``; espeak-ng clips are 22050 Hz.

    Raises
    ------
    SpeechUnavailable
        No speech backend; the message gives the install command.
    VoiceNotFound
        The voice in ``settings`` is not installed.
    SynthesisError
        A worker died, or the engine got stuck on a phrase for ``PHRASE_TIMEOUT_S``.
    """
    _check(settings)
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    wanted = list(dict.fromkeys(phrases))
    spoken = any(text.strip() for text in wanted)
    # Blank phrases only (empty clips): no voice to measure, nothing to synthesize.
    texts = list(dict.fromkeys([*wanted, *REFERENCE_PHRASES])) if spoken else wanted
    notes: dict[str, None] = {}

    def note(message: str) -> None:
        notes.setdefault(message)

    folder = private_cache_folder(default_cache_dir() if cache_dir is None
                                  else Path(cache_dir), note)

    raw: dict[str, Clip] = {}
    misses: list[str] = []
    keys: dict[str, str] = {}
    for text in texts:
        if not text.strip():
            raw[text] = Clip(np.zeros(0, dtype=np.float32), ESPEAK_SAMPLERATE)
            continue
        keys[text] = cache_key(text, settings)
        cached = None if folder is None else _load_cached(folder / f"{keys[text]}.wav",
                                                          keys[text])
        if cached is None:
            misses.append(text)
        else:
            raw[text] = cached
    stats.cache_hits += len(texts) - len(misses)
    done = len(texts) - len(misses)
    if progress is not None:
        progress(done, len(texts))

    if misses:
        unsaved: dict[str, int] = {}

        def on_clip(index: int, clip: Clip) -> None:
            nonlocal done
            text = misses[index]
            clip = Clip(clip.samples, clip.samplerate,
                        clip_digest(keys[text], clip.samplerate, clip.samples))
            if folder is not None:
                problem = _store(folder / f"{keys[text]}.wav", keys[text], clip)
                if problem is not None:
                    unsaved[problem] = unsaved.get(problem, 0) + 1
            raw[text] = clip
            done += 1
            if progress is not None:
                progress(done, len(texts))

        n = min(workers or min(os.cpu_count() or 1, MAX_WORKERS), len(misses))
        _synthesize_in_workers(misses, settings, n, on_clip)
        for problem, count in unsaved.items():
            note(f"{count} phrase{'s' if count > 1 else ''} could not be saved in the speech "
                 f"cache {folder} ({problem}); the session goes on, and they will be "
                 "synthesized again next time")
    if on_note is not None:
        for message in notes:
            on_note(message)
    if not level:
        return {text: raw[text] for text in texts}
    gain = voice_gain_db([raw[t] for t in REFERENCE_PHRASES], settings) if spoken else 0.0
    return {text: level_clip(raw[text], gain) for text in wanted}
