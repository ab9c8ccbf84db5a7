"""Terminal keys in cbreak mode: single key presses, decoded into keys and player commands."""

from __future__ import annotations

import atexit
import codecs
import contextlib
import os
import select
import signal
import sys
import threading
import time
import tty
from collections import deque
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any, NewType, TextIO

from voicecoach.commands import Command

if sys.platform != "win32":
    import termios

Key = NewType("Key", str)
"""One key press as the terminal sent it (``" "``, ``"x"``, ``"\\x1b"``, ``"\\x1b[A"``)."""

SPACE = Key(" ")
ESCAPE = Key("\x1b")
ENTER = Key("\r")  # "\n" (what ICRNL turns Enter into) is decoded to this too
BACKSPACE = Key("\x7f")
UP = Key("\x1b[A")
DOWN = Key("\x1b[B")
RIGHT = Key("\x1b[C")
LEFT = Key("\x1b[D")

NO_TTY_MESSAGE = "no key controls: stdin is not a terminal"

# Upper case too: with Caps Lock on, "Q" must still quit and "X" still stop.
_COMMANDS: dict[str, Command] = {
    " ": Command.PAUSE,
    "x": Command.STOP_PAIN,
    "X": Command.STOP_PAIN,
    "\x1b": Command.STOP_PAIN,
    "n": Command.NEXT,
    "N": Command.NEXT,
    "b": Command.BACK,
    "B": Command.BACK,
    "q": Command.QUIT,
    "Q": Command.QUIT,
}

_NAMES: dict[str, str] = {
    " ": "Space",
    "\x1b": "Escape",
    "\r": "Enter",
    "\t": "Tab",
    "\x7f": "Backspace",
    "\x08": "Backspace",
    "\x1b[A": "Up",
    "\x1b[B": "Down",
    "\x1b[C": "Right",
    "\x1b[D": "Left",
    "\x1bOA": "Up",
    "\x1bOB": "Down",
    "\x1bOC": "Right",
    "\x1bOD": "Left",
}

# What msvcrt.getwch() returns after a "\x00" or "\xe0" prefix, as the ANSI keys above.
_WINDOWS_SPECIAL: dict[str, Key] = {"H": UP, "P": DOWN, "M": RIGHT, "K": LEFT}

# Signals whose default action would end the process with the terminal left in cbreak mode.
_EXIT_SIGNALS = ("SIGTERM", "SIGHUP")

_Handler = Callable[[int, FrameType | None], Any] | int | None


def command_for(key: Key) -> Command | None:
    """The player command a key asks for, or ``None`` when the key has no command.

    Space pauses (or resumes); ``x`` or a lone Escape stops for pain; ``n`` skips to the
    next exercise; ``b`` goes back to the start of the set; ``q`` quits. Letters work in
    either case. An arrow key (``"\\x1b[A"``) is not an Escape.
    """
    return _COMMANDS.get(key)


def digit_for(key: Key) -> int | None:
    """The digit ``0``..``9`` a key types, or ``None``.

    Ten, the top of the pain scale, is typed as ``1`` then ``0`` or as ``t``: `PainEntry`
    puts the keys together.
    """
    return int(key) if len(key) == 1 and "0" <= key <= "9" else None


def describe_key(key: Key) -> str:
    """A readable name for a key: ``"Space"``, ``"Escape"``, ``"Up"``, ``"x"``, ``"^C"``."""
    if key in _NAMES:
        return _NAMES[key]
    if len(key) == 1 and ord(key) < 32:
        return "^" + chr(ord(key) + 64)
    if key.isprintable():
        return key
    return key.encode("unicode_escape").decode("ascii")


def decode_keys(text: str) -> list[Key]:
    """Split decoded terminal input into keys.

    One read usually holds one key, but keys typed fast (or pasted) arrive together. An
    Escape followed by ``[`` or ``O`` starts an arrow or function key sequence; any other
    Escape is a lone Escape, so "Escape then n" never turns into Alt+n: Escape is a stop
    key and must not be swallowed.
    """
    keys: list[Key] = []
    i = 0
    while i < len(text):
        if text[i] == "\x1b" and i + 1 < len(text) and text[i + 1] in "[O":
            if text[i + 1] == "O":
                j = min(i + 3, len(text))
            else:
                j = i + 2
                # CSI: parameter and intermediate bytes, then one final byte.
                while j < len(text) and "\x20" <= text[j] <= "\x3f":
                    j += 1
                if j < len(text) and "\x40" <= text[j] <= "\x7e":
                    j += 1
            keys.append(Key(text[i:j]))
            i = j
        else:
            keys.append(ENTER if text[i] == "\n" else Key(text[i]))
            i += 1
    return keys


class PainEntry:
    """Collects a pain rating from 0 to 10 out of single key presses, with no clock.

    ``0`` and ``2``..``9`` answer at once. ``1`` waits: ``0`` next makes 10, Enter
    confirms 1, and any other digit replaces it (the last digit wins). ``t`` answers 10
    at once. Enter with nothing typed skips the question (``rating`` stays ``None``);
    Backspace clears a waiting ``1``. A caller that wants a typed ``1`` to count after a
    pause calls `finish` from its own timer.
    """

    def __init__(self) -> None:
        self.done = False
        self.rating: int | None = None
        self.pending = ""

    def feed(self, key: Key) -> bool:
        """Take one key; return ``True`` once the answer (a rating or a skip) is known."""
        if self.done:
            return True
        digit = digit_for(key)
        if key == ENTER:
            self.finish()
        elif key == BACKSPACE or key == "\x08":
            self.pending = ""
        elif key in ("t", "T"):
            self._answer(10)
        elif digit is not None:
            if self.pending == "1" and digit == 0:
                self._answer(10)
            elif digit == 1:
                self.pending = "1"
            else:
                self._answer(digit)
        return self.done

    def finish(self) -> None:
        """End the question: a waiting ``1`` counts as 1; with nothing typed it is skipped."""
        self._answer(1 if self.pending == "1" else None)

    def _answer(self, rating: int | None) -> None:
        self.rating = rating
        self.pending = ""
        self.done = True


def _tty_fd(stream: TextIO | None) -> int | None:
    """The file descriptor of ``stream`` when it is a terminal, else ``None``."""
    if stream is None:
        return None
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        # pytest's captured stdin, a closed stream, an in-memory buffer: no terminal.
        return None
    return fd if os.isatty(fd) else None


class CbreakKeys:
    """Single key presses from a terminal, without Enter and without echo.

    On POSIX ``with CbreakKeys() as keys:`` puts stdin in cbreak mode (`tty.setcbreak`:
    canonical mode and echo off, each byte readable at once; signals stay on, so Ctrl-C
    still raises `KeyboardInterrupt`) and puts the saved terminal settings back on every
    way out: a normal exit, an exception, Ctrl-C, SIGTERM and
    SIGHUP (handlers restore the terminal, then end the program as the previous handler
    would), and at interpreter exit as a last resort. After a stop (Ctrl-Z) and ``fg``
    the mode is applied again, since the shell resets the terminal while it has it.

    When stdin is not a terminal, ``available`` is False, ``reason`` says why and
    `read_key` waits out its timeout and returns ``None``. SIGTERM and SIGHUP are still
    turned into ``SystemExit`` (under ``timeout``, a service manager or a pipe they must
    end a session as cleanly as in a terminal); there is just no terminal to restore.

    On Windows the console needs no mode change: keys come from ``msvcrt.kbhit`` and
    ``msvcrt.getwch``. That path is written but untested (no Windows machine here).
    """

    def __init__(self, stdin: TextIO | None = None) -> None:
        self._fd = _tty_fd(sys.stdin if stdin is None else stdin)
        self.available = self._fd is not None
        self.reason = "" if self.available else NO_TTY_MESSAGE
        self.eof = False
        self._saved: list[Any] | None = None
        self._cbreak = False
        self._pending: deque[Key] = deque()
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._previous: dict[int, _Handler] = {}
        self._wake_r: int | None = None
        self._wake_w: int | None = None
        self._wake_event = threading.Event()

    # --- entering and leaving -----------------------------------------------------------

    def __enter__(self) -> CbreakKeys:
        if sys.platform != "win32":
            self._wake_r, self._wake_w = os.pipe()
            os.set_blocking(self._wake_r, False)
            os.set_blocking(self._wake_w, False)
        if sys.platform == "win32":
            return self
        if not self.available:
            # No terminal to restore, but the program must still end cleanly on a signal.
            self._install_handlers(continue_handler=False)
            return self
        assert self._fd is not None
        self._saved = termios.tcgetattr(self._fd)
        # Safety nets first: an interruption just after the mode change is covered too.
        atexit.register(self.restore)
        self._install_handlers()
        self._apply_cbreak()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Restore the terminal, the signal handlers and free the wake pipe (idempotent)."""
        self.restore()
        self._uninstall_handlers()
        atexit.unregister(self.restore)
        for fd in (self._wake_r, self._wake_w):
            if fd is not None:
                os.close(fd)
        self._wake_r = self._wake_w = None

    def restore(self) -> None:
        """Put the saved terminal settings back now (safe to call repeatedly)."""
        if self._saved is None or self._fd is None or not self._cbreak:
            return
        self._cbreak = False
        if self._in_background():
            # Changing the terminal from the background would stop us with SIGTTOU, and
            # the shell in the foreground has set its own mode anyway.
            return
        with contextlib.suppress(termios.error):
            # Unread key presses would otherwise land in the shell after we exit.
            termios.tcflush(self._fd, termios.TCIFLUSH)
            # TCSANOW: never wait for output to drain inside a signal handler or atexit.
            termios.tcsetattr(self._fd, termios.TCSANOW, self._saved)
        # A hung-up terminal (termios.error above) has nothing left to restore.

    def _apply_cbreak(self) -> None:
        assert self._saved is not None and self._fd is not None
        # TCSANOW: also called from signal handlers, which must never wait for output.
        tty.setcbreak(self._fd, termios.TCSANOW)
        self._cbreak = True

    def _in_background(self) -> bool:
        assert self._fd is not None
        try:
            return os.tcgetpgrp(self._fd) != os.getpgrp()
        except OSError:
            return False  # not our controlling terminal: no job control applies

    # --- signals ------------------------------------------------------------------------

    def _install_handlers(self, *, continue_handler: bool = True) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal.signal works only there; __exit__ and atexit still restore
        for name in _EXIT_SIGNALS:
            signum = getattr(signal, name, None)
            if signum is None:
                continue
            previous = signal.getsignal(signum)
            if previous == signal.SIG_IGN:
                continue  # e.g. under nohup: this signal is not meant to end the program
            self._previous[signum] = previous
            signal.signal(signum, self._on_exit_signal)
        if continue_handler and hasattr(signal, "SIGCONT"):
            self._previous[signal.SIGCONT] = signal.getsignal(signal.SIGCONT)
            signal.signal(signal.SIGCONT, self._on_continue)

    def _uninstall_handlers(self) -> None:
        for signum, previous in list(self._previous.items()):
            # Leave alone a handler someone installed after us.
            if signal.getsignal(signum) in (self._on_exit_signal, self._on_continue):
                signal.signal(signum, signal.SIG_DFL if previous is None else previous)
        self._previous.clear()

    def _on_exit_signal(self, signum: int, frame: FrameType | None) -> None:
        self.restore()
        previous = self._previous.get(signum)
        if callable(previous):
            previous(signum, frame)  # may end the program: the terminal is already back
            self._apply_cbreak()  # it chose to keep running: back to single keys
            return
        # The default action would kill us on the spot; SystemExit does the same with
        # the conventional status while still unwinding (audio stream closed, session
        # saved by the caller's finally blocks).
        self._uninstall_handlers()
        raise SystemExit(128 + signum)

    def _on_continue(self, signum: int, frame: FrameType | None) -> None:
        # Back from Ctrl-Z: the shell reset the terminal while it had it.
        if self._saved is not None and not self._in_background():
            with contextlib.suppress(termios.error):
                self._apply_cbreak()
        previous = self._previous.get(signum)
        if callable(previous):
            previous(signum, frame)

    # --- reading ------------------------------------------------------------------------

    def read_key(self, timeout: float) -> Key | None:
        """Wait up to ``timeout`` seconds for one key press; ``None`` when none came.

        Also ``None`` at once after `wake` (from another thread), and after waiting out
        the timeout when stdin is not a terminal or has reached end of file.
        """
        if self._pending:
            return self._pending.popleft()
        if sys.platform == "win32":
            return self._read_windows(timeout)
        if not self.available or self.eof:
            self._wait_for_wake(timeout)
            return None
        assert self._fd is not None
        fds = [self._fd] if self._wake_r is None else [self._fd, self._wake_r]
        ready, _, _ = select.select(fds, [], [], max(0.0, timeout))
        if self._wake_r is not None and self._wake_r in ready:
            self._drain_wake()
            return None
        if self._fd not in ready:
            return None
        data = os.read(self._fd, 32)
        if not data:
            self.eof = True  # the terminal hung up: select would report ready forever
            return None
        self._pending.extend(decode_keys(self._decoder.decode(data)))
        return self._pending.popleft() if self._pending else None

    def wake(self) -> None:
        """Make a `read_key` blocked in another thread return ``None`` now."""
        self._wake_event.set()
        if self._wake_w is not None:
            with contextlib.suppress(BlockingIOError, OSError):
                os.write(self._wake_w, b"\0")

    def _wait_for_wake(self, timeout: float) -> None:
        if self._wake_r is not None:
            if select.select([self._wake_r], [], [], max(0.0, timeout))[0]:
                self._drain_wake()
        elif self._wake_event.wait(max(0.0, timeout)):
            self._wake_event.clear()

    def _drain_wake(self) -> None:
        assert self._wake_r is not None
        with contextlib.suppress(BlockingIOError):
            while os.read(self._wake_r, 64):
                pass
        self._wake_event.clear()

    def _read_windows(self, timeout: float) -> Key | None:
        # Untested: written from the msvcrt documentation, no Windows machine here.
        if sys.platform != "win32":  # msvcrt's functions exist only there (mypy checks)
            return None
        import msvcrt  # type: ignore[import-not-found,unused-ignore]

        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            if self.available and msvcrt.kbhit():
                ch = msvcrt.getwch()
                if ch in ("\x00", "\xe0"):  # prefix of an arrow or function key
                    code = msvcrt.getwch()
                    return _WINDOWS_SPECIAL.get(code, Key(ch + code))
                return ENTER if ch == "\n" else Key(ch)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            # kbhit cannot be waited on: poll every 20 ms, or until woken.
            if self._wake_event.wait(min(0.02, remaining)):
                self._wake_event.clear()
                return None


class KeyReader:
    """Reads keys on a background thread and hands each one to ``on_key`` at once.

    The player passes a callback that forwards commands to the mixer (whose ``send`` is
    thread-safe), so a key reaches the audio without waiting for the display loop.
    ``stop`` wakes the thread through `CbreakKeys.wake` and joins it; an exception raised by
    ``on_key`` ends the thread and is raised again by ``stop``. With no terminal no
    thread starts.
    """

    def __init__(
        self, keys: CbreakKeys, on_key: Callable[[Key], object], *, poll_seconds: float = 0.5
    ) -> None:
        self._keys = keys
        self._on_key = on_key
        self._poll_seconds = poll_seconds
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def __enter__(self) -> KeyReader:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop(raise_error=exc is None)

    def start(self) -> KeyReader:
        """Start the reading thread (not when stdin is not a terminal); return self."""
        if self._keys.available and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="voicecoach-keys", daemon=True)
            self._thread.start()
        return self

    def stop(self, *, raise_error: bool = True) -> None:
        """Stop and join the thread; raise what ``on_key`` raised, if anything."""
        self._stopping.set()
        self._keys.wake()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if raise_error and self.error is not None:
            error, self.error = self.error, None
            raise error

    @property
    def running(self) -> bool:
        """Whether the reading thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stopping.is_set():
            key = self._keys.read_key(self._poll_seconds)
            if key is None:
                if self._keys.eof:
                    return
                continue
            try:
                self._on_key(key)
            except BaseException as error:  # handed to the thread that calls stop()
                self.error = error
                return
