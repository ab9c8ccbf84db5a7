"""Getting to the first word fast: work that overlaps preparing the session or waits for it.

The output device is looked up in a thread while the speech loads, a progress bar shows
only when synthesis is slow, and the cache is written once the session sounds. No click
here: the command line (`cli`) uses these.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from voicecoach.mixer import Mixer
    from voicecoach.speech import PendingWrites


class SynthesisProgress:
    """A rich progress bar on stderr while phrases are synthesized; quiet otherwise.

    It appears only when stderr is a terminal and some phrase is missing from the cache,
    and it is gone when synthesis ends. A warm start shows nothing and imports no rich
    (tens of ms before the first word). A Piper voice on a cold cache takes tens of
    seconds: the bar shows the count, the time so far and an estimate of the time left.
    """

    def __init__(self) -> None:
        self._bar: tuple[Progress, TaskID] | None = None
        self._off = False  # stderr is a log or a pipe: no bar (and no control codes)

    def update(self, done: int, total: int) -> None:
        """``done`` of ``total`` phrases are ready."""
        if self._bar is None:
            if done >= total or self._off:
                return  # everything came from the cache, or no terminal
            self._start(total)
            if self._bar is None:
                return
        progress, task = self._bar
        progress.update(task, completed=done, total=total)

    def _start(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        console = Console(stderr=True)
        if not console.is_terminal:
            self._off = True
            return
        progress = Progress(
            TextColumn("Preparing the voice"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self._bar = progress, progress.add_task("voice", total=total)
        progress.start()

    def stop(self) -> None:
        """Take the bar away, if it was shown."""
        if self._bar is not None:
            self._bar[0].stop()


class DeviceLookup:
    """The output device, looked up in a thread while the session is prepared.

    Starting PortAudio connects to the sound server and lists its devices (50 to 70 ms
    here), almost all of it in C with the GIL released: it overlaps loading the routine
    and the speech instead of adding to the time before the first word.
    """

    def __init__(self, spec: str | None) -> None:
        self.spec = spec
        self.index: int | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._look_up, name="voicecoach-device", daemon=True)
        self._thread.start()

    def _look_up(self) -> None:
        from voicecoach.devices import resolve_device

        spec = self.spec
        try:
            self.index = resolve_device(int(spec) if spec and spec.isdigit() else spec)
        except BaseException as error:  # raised again in the main thread by result()
            self.error = error

    def result(self) -> int | None:
        """The PortAudio index (``None``: the default device); raises what the lookup raised."""
        self._thread.join()
        if self.error is not None:
            raise self.error
        return self.index


# The cache writes wait this long at most for the first sound before they start anyway.
FIRST_SOUND_WAIT_S = 3.0


def write_cache_later(pending: PendingWrites, mixer: Mixer) -> threading.Thread | None:
    """Make ``pending``'s cache writes in a low-priority thread once the session sounds.

    A cold start writes about 60 MB of clips, each file synced: 0.3 to 0.5 s that the
    first word need not wait for. Returns the thread (join it before exiting), or
    ``None`` when there is nothing to write.
    """
    if not len(pending):
        return None

    def write() -> None:
        deadline = time.monotonic() + FIRST_SOUND_WAIT_S
        while mixer.state.output_frames == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        if sys.platform.startswith("linux"):
            # On Linux a thread has its own nice value: the audio thread goes first.
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        pending.run()

    thread = threading.Thread(target=write, name="voicecoach-cache-writer", daemon=True)
    thread.start()
    return thread
