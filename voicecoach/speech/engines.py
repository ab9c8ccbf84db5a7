"""The speech engines behind one interface, and which one a voice's name chooses.

An engine turns text into a trimmed mono clip, in worker processes (its speaker, see
`workers.Speaker`), and has an identity that keys the cache: engine, versions and, for
a model-based voice, the model's identity. Two engines:

* ``pyttsx3`` (the default, everywhere): espeak-ng on Linux, the system voices on macOS
  and Windows (`voices`, `speakers`, `espeak`).
* ``piper`` (optional, ``pip install 'voicecoach[piper]'``): a neural voice, chosen as
  ``piper:NAME`` or ``piper:/path/to/voice.onnx`` (`piper`, `piper_speaker`).

Nothing here starts an engine: choosing one costs a few file reads, so a warm start
stays a matter of reading the cache.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass

from voicecoach.model import Voice
from voicecoach.speech import piper, voices
from voicecoach.speech.clips import VoiceInfo
from voicecoach.speech.espeak import ESPEAK_SAMPLERATE
from voicecoach.speech.workers import DEFAULT_ADVICE, MAX_WORKERS, SpeakerFactory

PIPER_ADVICE = "try another voice (`voicecoach voices`) or reinstall the Piper runtime"


@dataclass(frozen=True)
class Engine:
    """One speech engine, ready to speak with one voice.

    ``settings`` are the voice settings with the engine's defaults filled in and a Piper
    voice named by its model's path: what the cache key and the workers see.
    ``identity`` is the engine's part of every cache key. ``samplerate`` is the rate of
    its clips (a blank phrase's empty clip has it too). ``processes`` is the default
    number of worker processes; ``speakers(n)`` is the factory for a pool of ``n``.
    """

    name: str
    identity: str
    settings: Voice
    samplerate: int
    processes: int
    speakers: Callable[[int], SpeakerFactory]
    advice: str  # what to try when a worker dies or hangs


def is_piper(name: str | None) -> bool:
    """Whether a voice name chooses the Piper engine (``piper:...``)."""
    return name is not None and name.strip().casefold().startswith(piper.PIPER_PREFIX)


def _pyttsx3_speakers(processes: int) -> SpeakerFactory:
    # Imported here: the speaker (soundfile, pyttsx3's driver) is needed only when a
    # phrase is missing from the cache, never on a warm start.
    from voicecoach.speech.speakers import make_speaker

    return make_speaker


def _pyttsx3_engine(settings: Voice) -> Engine:
    return Engine(
        name="pyttsx3",
        identity=voices.engine_identity(),
        settings=voices.with_defaults(settings),
        samplerate=ESPEAK_SAMPLERATE,
        # espeak-ng scales with processes (one per core), each about 30 MB.
        processes=min(os.cpu_count() or 1, MAX_WORKERS),
        speakers=_pyttsx3_speakers,
        advice=DEFAULT_ADVICE,
    )


def _piper_engine(settings: Voice) -> Engine:
    piper.require_runtime()
    assert settings.name is not None  # is_piper
    model = piper.resolve_model(settings.name.strip()[len(piper.PIPER_PREFIX) :])
    cpus = os.cpu_count() or 1
    # One process per 4 cores, on the cores' threads: on 2 cores one process on both
    # threads was as fast as two processes (see piper_speaker) at half the memory (each
    # process holds the model: about 270 MB).
    processes = max(1, min(cpus // 4, MAX_WORKERS))

    def speakers(n: int) -> SpeakerFactory:
        from voicecoach.speech.piper_speaker import make_speaker

        # A partial of a module-level function reaches the spawned worker by name.
        return functools.partial(make_speaker, model.path, max(1, cpus // n))

    return Engine(
        name="piper",
        identity=f"piper; {piper.runtime_identity()}; {piper.model_identity(model)}",
        settings=Voice(piper.PIPER_PREFIX + str(model.path), settings.rate, settings.volume),
        samplerate=model.samplerate,
        processes=processes,
        speakers=speakers,
        advice=PIPER_ADVICE,
    )


def engine_for(settings: Voice) -> Engine:
    """The engine ``settings.name`` chooses, with the voice found and defaults filled in.

    Raises
    ------
    SpeechUnavailable
        The engine is not installed (for Piper: a one-line ``pip install`` hint).
    VoiceNotFound
        A Piper voice that is not found (a pyttsx3 voice is checked by its worker).
    """
    if is_piper(settings.name):
        return _piper_engine(settings)
    return _pyttsx3_engine(settings)


def resolve_voice(name: str) -> str:
    """The voice id ``name`` means, for either engine (see `voices.resolve_voice`).

    A Piper voice becomes ``piper:/absolute/path/NAME.onnx``, so later steps need not
    look for it again.

    Raises
    ------
    VoiceNotFound, SpeechUnavailable
        As :func:`engine_for`; for pyttsx3, as `voices.resolve_voice`.
    """
    if is_piper(name):
        piper.require_runtime()
        model = piper.resolve_model(name.strip()[len(piper.PIPER_PREFIX) :])
        return piper.PIPER_PREFIX + str(model.path)
    return voices.resolve_voice(name)


def list_voices() -> list[VoiceInfo]:
    """Every voice of every engine: pyttsx3's, then the Piper models found (``piper:NAME``).

    Piper models are listed even when the Piper runtime is missing (see
    `piper.runtime_installed`); speaking with one then says what to install.

    Raises
    ------
    SpeechUnavailable
        pyttsx3 cannot start (its message says what to install).
    """
    return [*voices.list_voices(), *piper.voice_infos(piper.find_models())]
