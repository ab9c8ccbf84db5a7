"""The pyttsx3 engine in a worker process: speaking one phrase into a trimmed mono clip.

espeak-ng carries state from one utterance to the next (its pitch "flutter" phase), so the
same text comes out slightly different depending on what was spoken before. With the
espeak driver each worker therefore initialises espeak-ng once (synchronously, through
pyttsx3's binding, with the voice, rate and volume set: see `espeak.start_espeak`) and
never speaks itself; it forks a fresh child per phrase, which speaks that one phrase and
exits: every child starts from the same state, so a clip depends only on its text and
settings, never on scheduling, and a stuck engine is killed without losing the worker.
Other drivers (macOS, Windows) speak in the worker itself.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
import time
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import soundfile

from voicecoach.dsp import trim_silence
from voicecoach.model import Voice
from voicecoach.speech.espeak import speak_prepared, start_espeak
from voicecoach.speech.voices import driver_name, init_engine, match_voice, unavailable, voice_infos
from voicecoach.speech.workers import PHRASE_TIMEOUT_S, Speaker, WorkerFailure, failure_of


def make_speaker(settings: Voice, workdir: Path, timeout_s: float) -> Speaker:
    """The speaker for this platform's driver, in a worker whose scratch folder is ``workdir``.

    Raises
    ------
    SpeechUnavailable
        pyttsx3 or the engine's library cannot be loaded.
    VoiceNotFound
        The voice in ``settings`` is not installed.
    """
    if driver_name() == "espeak" and hasattr(os, "fork"):
        return _ForkingSpeaker(settings, workdir, timeout_s)
    return _InProcessSpeaker(settings, workdir)


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
        engine.setProperty("voice", match_voice(settings.name, voice_infos(engine)))
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
    if driver_name() == "espeak" and not finished.wait(PHRASE_TIMEOUT_S):
        raise WorkerFailure("timeout", f"no audio after {PHRASE_TIMEOUT_S:g} s")
    engine.disconnect(token)
    if errors:
        raise WorkerFailure("failed", f"the speech engine reported: {errors[0]}")
    if not path.is_file() or path.stat().st_size == 0:
        raise WorkerFailure("failed", "the speech engine wrote no audio")


def _read_trimmed(path: Path) -> tuple[np.ndarray, int]:
    data, rate = soundfile.read(path, dtype="float32", always_2d=True)
    mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
    return trim_silence(mono, int(rate)), int(rate)


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


class _ForkingSpeaker:
    """espeak-ng: initialised once here, one fresh child per phrase (see module doc)."""

    def __init__(self, settings: Voice, workdir: Path, timeout_s: float) -> None:
        try:
            # Load the library once here (dlopen) so that every forked child inherits it,
            # and a missing library is reported before any phrase.
            import pyttsx3.drivers.espeak  # noqa: F401
        except Exception as exc:
            raise unavailable(exc) from exc
        # The engine, its voice, rate and volume, once for every phrase: a child then
        # only speaks (initialising and finding the voice cost 12 ms a phrase there).
        self.samplerate = start_espeak(settings)
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
            raise WorkerFailure("timeout", f"no audio after {self.timeout_s:g} s")
        if code != 0:
            if err.is_file():
                kind, _, message = err.read_text(encoding="utf-8").partition("\n")
                raise WorkerFailure(kind, message)
            raise WorkerFailure("failed", f"the speech process exited with status {code}")
        try:
            return _read_trimmed(wav)
        finally:
            wav.unlink(missing_ok=True)

    def _child(self, text: str, wav: Path, err: Path) -> NoReturn:
        code = 0
        try:
            speak_prepared(text, wav, self.samplerate)
        except BaseException as exc:
            failure = failure_of(exc)
            with contextlib.suppress(BaseException):
                err.write_text(f"{failure.kind}\n{failure}", encoding="utf-8")
            code = 1
        # _exit: no atexit handlers or inherited buffers of the worker run twice.
        os._exit(code)


class _InProcessSpeaker:
    """Other drivers (nsss, sapi5): one engine in the worker, phrases one after another."""

    def __init__(self, settings: Voice, workdir: Path) -> None:
        self.workdir = workdir
        self.engine = init_engine()
        self.errors = _configure(self.engine, settings)

    def speak(self, index: int, text: str) -> tuple[np.ndarray, int]:
        # nsss writes AIFF whatever the name says; soundfile reads either.
        wav = self.workdir / f"{index}.{'aiff' if driver_name() == 'nsss' else 'wav'}"
        try:
            _speak_to_file(self.engine, self.errors, text, wav)
            return _read_trimmed(wav)
        finally:
            wav.unlink(missing_ok=True)
