"""The direct libespeak-ng path, through pyttsx3's binding: prepared once, one phrase per fork."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from voicecoach.model import Voice
from voicecoach.speech.voices import install_hint, match_voice, voice_infos
from voicecoach.speech.workers import WorkerFailure

# The espeak driver always writes 22050 Hz; used for the empty clip of a blank phrase.
ESPEAK_SAMPLERATE = 22050
# pyttsx3's espeak driver speaks at this rate (words a minute) unless told otherwise.
ESPEAK_DEFAULT_RATE = 200


def start_espeak(settings: Voice) -> int:
    """Initialise libespeak-ng in this process, synchronously, with the voice's settings.

    Speaks nothing: a process prepared here is forked once per phrase (see `speakers`),
    and each child speaks its one phrase with `speak_prepared`. espeak-ng keeps state from
    one utterance to the next (its pitch "flutter" phase), but none from initialising, so
    every child starts from the same state and a clip depends on its text and settings
    only: byte for byte what a child that initialised espeak-ng itself makes (measured
    on the 79 phrases of back-basics), without the 12 ms per phrase that initialising
    and finding the voice cost there.

    pyttsx3's espeak driver runs espeak-ng asynchronously: rate and volume go through
    espeak-ng's command queue, applied in its own thread, while a voice is set at once,
    and the two race. Measured here under load: in 8 of 30 runs one of two phrases asked
    at 100 words a minute came out at 200 (or at espeak-ng's own 175), and that clip was
    then cached for good. In synchronous mode each call takes effect before it returns
    (and no thread is started, so forking is safe), and ``Synth`` returns with the whole
    phrase. The calls are pyttsx3's own ctypes binding and the same settings its driver
    applies (voice by name, rate 200 and volume 1.0 unless set), so the audio is byte for
    byte what the driver makes when its race goes the right way.

    Returns
    -------
    int
        espeak-ng's sample rate (22050 Hz).

    Raises
    ------
    WorkerFailure
        espeak-ng cannot start (``"unavailable"``), or the voice is unknown (``"voice"``).
    """
    from pyttsx3.drivers import _espeak
    from pyttsx3.drivers.espeak import EspeakDriver

    samplerate: int = _espeak.Initialize(_espeak.AUDIO_OUTPUT_SYNCHRONOUS, 1000)
    if samplerate <= 0:
        raise WorkerFailure("unavailable", f"espeak-ng could not start.\n{install_hint()}")
    if settings.name is not None:
        voice = match_voice(settings.name, voice_infos(EspeakDriver))
    else:  # the driver's default: the voice espeak-ng starts with, set by its name
        current = _espeak.GetCurrentVoice()
        voice = (
            current.contents.name.decode("utf-8") if current and current.contents.name else "gmw/en"
        )
    if _espeak.SetVoiceByName(voice.encode("utf-8")) != _espeak.EE_OK:
        raise WorkerFailure("voice", f"espeak-ng could not load the voice {voice!r}")
    rate = ESPEAK_DEFAULT_RATE if settings.rate is None else settings.rate
    volume = 1.0 if settings.volume is None else settings.volume
    _espeak.SetParameter(_espeak.RATE, rate, 0)
    _espeak.SetParameter(_espeak.VOLUME, round(volume * 100), 0)
    return samplerate


def speak_prepared(text: str, path: Path, samplerate: int) -> None:
    """Speak ``text`` into a 16-bit mono WAV at ``path``, in a process `start_espeak` prepared.

    Call it once per process (a fresh fork for each phrase): a second phrase would carry
    the first one's state.
    """
    import ctypes
    import wave

    from pyttsx3.drivers import _espeak

    chunks: list[bytes] = []

    def on_synth(wav: Any, frames: int, events: Any) -> int:
        if frames > 0:
            chunks.append(ctypes.string_at(wav, frames * 2))
        return 0  # go on

    _espeak.SetSynthCallback(on_synth)
    status = _espeak.Synth(text, flags=_espeak.ENDPAUSE | _espeak.CHARS_UTF8)
    if status != _espeak.EE_OK:
        raise WorkerFailure("failed", f"espeak-ng could not speak the phrase (status {status})")
    if not chunks:
        raise WorkerFailure("failed", "the speech engine wrote no audio")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(samplerate)
        out.writeframes(b"".join(chunks))
