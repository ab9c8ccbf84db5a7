"""The pool of worker processes that speak the phrases missing from the cache.

Engine-neutral: the parent spawns the workers (``spawn``, so no engine state is inherited),
hands out phrases longest first, and turns a worker's death, a stuck engine or a failure
it reports into a `SynthesisError`, `SpeechUnavailable` or `VoiceNotFound` with a plain
message. In each worker a `Speaker`, made by the engine's factory, speaks one phrase at a
time; it reports a failure by raising `WorkerFailure`. The engine says what to advise
when a worker dies or hangs.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Protocol

import numpy as np

from voicecoach.errors import VoicecoachError
from voicecoach.model import Voice
from voicecoach.speech.clips import (
    Clip,
    SpeechUnavailable,
    SynthesisError,
    VoiceNotFound,
    stats,
)

# A phrase that takes longer than this is treated as a stuck engine (espeak-ng speaks a
# long sentence in well under a second).
PHRASE_TIMEOUT_S = 30.0
# Starting a worker: a fresh interpreter importing numpy, soundfile and pyttsx3.
STARTUP_TIMEOUT_S = 60.0
MAX_WORKERS = 4


class Speaker(Protocol):
    """Speaks phrases in a worker process, one at a time, with the voice it was made for."""

    def speak(self, index: int, text: str) -> tuple[np.ndarray, int]:
        """``text`` as trimmed mono float32 samples, shape ``(frames,)``, and their rate (Hz).

        ``index`` names the phrase (for scratch files in the worker's folder). A failure
        is raised as `WorkerFailure`, or as any exception (reported as "failed").
        """
        ...


# Makes a worker's speaker from the voice, the worker's scratch folder and the phrase
# timeout; a module-level function, so that it reaches the spawned worker by name.
SpeakerFactory = Callable[[Voice, Path, float], Speaker]


class WorkerFailure(Exception):
    """A failure inside a worker, sent to the parent as (kind, message)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def failure_of(exc: BaseException) -> WorkerFailure:
    """``exc`` as the (kind, message) a worker sends to the parent."""
    if isinstance(exc, WorkerFailure):
        return exc
    if isinstance(exc, SpeechUnavailable):
        return WorkerFailure("unavailable", str(exc))
    if isinstance(exc, VoiceNotFound):
        return WorkerFailure("voice", str(exc))
    return WorkerFailure("failed", f"{type(exc).__name__}: {exc}")


def _silence_stdout() -> None:
    # The espeak driver prints "Audio saved to ..." for every file from C callbacks and
    # Python alike; point file descriptor 1 at /dev/null so nothing reaches the terminal.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (lives as long as the worker)


def _worker_main(
    conn: Connection, make_speaker: SpeakerFactory, settings: Voice, timeout_s: float, workdir: Path
) -> None:
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
        _serve(conn, make_speaker, settings, timeout_s, workdir)
    except (BrokenPipeError, ConnectionResetError, EOFError):
        # The parent finished (or stopped) before this worker had anything to do, and
        # closed the pipe: there is no one to tell, and no traceback to print.
        pass
    finally:
        conn.close()


def _serve(
    conn: Connection, make_speaker: SpeakerFactory, settings: Voice, timeout_s: float, workdir: Path
) -> None:
    """The worker's loop: report ready, then speak each task until told to stop."""
    try:
        speaker = make_speaker(settings, workdir, timeout_s)
    except BaseException as exc:
        failure = failure_of(exc)
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
            failure = failure_of(exc)
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


# The pyttsx3 engine's; each engine gives its own (see `engines.Engine.advice`).
DEFAULT_ADVICE = "try another voice (`voicecoach voices`) or reinstall espeak-ng"


def _describe_death(worker: _Worker, text: str | None, advice: str) -> SynthesisError:
    code = worker.process.exitcode
    how = (
        f"was killed by signal {-code}"
        if code is not None and code < 0
        else f"exited with status {code}"
    )
    doing = f" while speaking {text!r}" if text is not None else " while starting"
    return SynthesisError(
        f"The speech worker process (pid {worker.process.pid}) {how}{doing}. "
        f"Run the command again; if it keeps failing, {advice}."
    )


def _failure_error(kind: str, message: str, text: str | None, advice: str) -> VoicecoachError:
    if kind == "unavailable":
        return SpeechUnavailable(message)
    if kind == "voice":
        return VoiceNotFound(message)
    if kind == "timeout":
        return SynthesisError(
            f"The speech engine got stuck speaking {text!r} ({message}). "
            f"Run the command again; if it keeps happening, {advice}."
        )
    doing = f"speaking {text!r}" if text is not None else "starting the speech engine"
    return SynthesisError(f"Speech failed while {doing}: {message}")


def synthesize_in_workers(
    texts: list[str],
    settings: Voice,
    workers: int,
    on_clip: Callable[[int, Clip], None],
    make_speaker: SpeakerFactory,
    *,
    advice: str = DEFAULT_ADVICE,
    first: int = 0,
) -> None:
    """Speak ``texts`` in ``workers`` processes, calling ``on_clip(index, clip)`` as each ends.

    Each worker speaks with ``make_speaker(settings, its scratch folder, PHRASE_TIMEOUT_S)``.
    ``advice`` ends the message when a worker dies or hangs ("try another voice ...").
    The first ``first`` texts are handed out first, in order (a caller that can start
    work once they are done); the rest longest first.
    """
    timeout_s = PHRASE_TIMEOUT_S
    # The worker kills a stuck child at timeout_s; the parent waits a little longer before
    # deciding that the worker itself is stuck.
    parent_timeout_s = timeout_s + min(5.0, timeout_s)
    ctx = multiprocessing.get_context("spawn")
    # Longest first, so one long sentence does not finish alone at the end.
    rest = sorted(range(first, len(texts)), key=lambda i: -len(texts[i]))
    todo = deque([*range(min(first, len(texts))), *rest])
    pool: list[_Worker] = []
    scratch = Path(tempfile.mkdtemp(prefix="voicecoach-speech-"))
    try:
        for number in range(workers):
            workdir = scratch / str(number)
            workdir.mkdir()
            parent_conn, child_conn = ctx.Pipe()
            process = ctx.Process(
                target=_worker_main,
                args=(child_conn, make_speaker, settings, timeout_s, workdir),
                name="voicecoach-speech",
                daemon=True,
            )
            process.start()
            child_conn.close()
            stats.workers_started += 1
            pool.append(
                _Worker(process, parent_conn, deadline=time.monotonic() + STARTUP_TIMEOUT_S)
            )
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
                [w.conn for w in waiting] + [w.process.sentinel for w in waiting], wait_s
            )
            for w in waiting:
                text = texts[w.task] if w.task is not None else None
                if w.conn in ready or w.conn.poll():
                    try:
                        message = w.conn.recv()
                    except (EOFError, OSError):
                        w.process.join(timeout=1)
                        raise _describe_death(w, text, advice) from None
                    if message[0] == "ready":
                        w.ready = True
                    elif message[0] == "error":
                        w.task = None  # the worker is fine and idle: let it exit cleanly
                        raise _failure_error(message[2], message[3], text, advice)
                    else:
                        _, index, samples, rate = message
                        w.task = None
                        remaining -= 1
                        stats.phrases_synthesized += 1
                        on_clip(index, Clip(samples, rate))
                elif w.process.sentinel in ready:
                    w.process.join(timeout=1)
                    raise _describe_death(w, text, advice)
                elif time.monotonic() >= w.deadline:
                    if not w.ready:
                        raise SynthesisError(
                            f"The speech worker did not start within {STARTUP_TIMEOUT_S:g} s. "
                            f"Run the command again; if it keeps happening, {advice}."
                        )
                    raise _failure_error(
                        "timeout", f"no audio after {parent_timeout_s:g} s", text, advice
                    )
    finally:
        _shutdown(pool)
        shutil.rmtree(scratch, ignore_errors=True)
