"""Speech: phrases to trimmed clips, cached on disk, synthesized in worker processes.

The rooms, engine-neutral first:

* `clips`: `Clip`, `VoiceInfo`, the errors, the running counts (`stats`).
* `cache`: cache keys, digests, the private cache folder, reading and writing entries.
* `workers`: the pool of worker processes, with its timeouts and failure messages.
* `synthesis`: `synthesize` (the cache, then the pool) and the voice's level
  (`voice_gain_db`, `level_clip`).
* `engines`: the engines behind one interface (`Engine`), which one a voice's name
  chooses, and every engine's voices.

The pyttsx3 engine, the default (espeak-ng on Linux, the system voices on macOS and
Windows):

* `voices`: the engine's identity (part of every cache key), its default voice and rate
  on espeak-ng, the install hint, listing and matching voices.
* `speakers`: speaking one phrase in a worker (for espeak-ng, in a fresh child per phrase).
* `espeak`: the direct, synchronous libespeak-ng call that child makes.

The Piper engine, optional (``pip install 'voicecoach[piper]'``; docs/speech.md):

* `piper`: finding voice models (``<data dir>/voices``, installed packages), their
  identity, the rate mapping. Needs no Piper runtime.
* `piper_speaker`: the model loaded in a worker, one phrase at a time.

How the work is split, and why:

* The parent process never starts a speech engine for :func:`synthesize`. It computes
  each phrase's cache key (engine name and versions, voice, rate, volume, text), loads
  the hits, and only if something is missing starts worker processes (``spawn``), so a
  warm start is only file reads.
* pyttsx3 engines are not thread-safe and espeak-ng cannot be initialized twice in one
  process, so each engine lives in exactly one process and is used from its one thread.
* espeak-ng carries state from one utterance to the next, so each worker forks a fresh
  child per phrase (see `speakers`): a clip depends only on its text and settings.
"""

from voicecoach.speech.cache import (
    CACHE_FORMAT,
    MAX_CLIP_S,
    PendingWrites,
    cache_key,
    clear_cache_entry,
    clip_digest,
    default_cache_dir,
    open_cache_entry,
    private_cache_folder,
)
from voicecoach.speech.clips import (
    Clip,
    SpeechUnavailable,
    SynthesisError,
    SynthesisStats,
    VoiceInfo,
    VoiceNotFound,
    stats,
)
from voicecoach.speech.engines import Engine, engine_for, list_voices, resolve_voice
from voicecoach.speech.synthesis import REFERENCE_PHRASES, level_clip, synthesize, voice_gain_db
from voicecoach.speech.voices import engine_identity, install_hint

__all__ = [
    "CACHE_FORMAT",
    "MAX_CLIP_S",
    "REFERENCE_PHRASES",
    "Clip",
    "Engine",
    "PendingWrites",
    "SpeechUnavailable",
    "SynthesisError",
    "SynthesisStats",
    "VoiceInfo",
    "VoiceNotFound",
    "cache_key",
    "clear_cache_entry",
    "clip_digest",
    "default_cache_dir",
    "engine_for",
    "engine_identity",
    "install_hint",
    "level_clip",
    "list_voices",
    "open_cache_entry",
    "private_cache_folder",
    "resolve_voice",
    "stats",
    "synthesize",
    "voice_gain_db",
]
