"""The C-library log beside the live display: never blocks, never grows, never follows links."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

from voicecoach.quiet import MAX_LOG_BYTES, stderr_to


def _chatter(log: Path) -> None:
    with stderr_to(log):
        os.write(2, b"ALSA lib pcm.c: underrun occurred\n")


def test_c_library_chatter_goes_to_the_log(tmp_path: Path) -> None:
    log = tmp_path / "cache" / "audio.log"
    _chatter(log)
    assert log.read_bytes() == b"ALSA lib pcm.c: underrun occurred\n"
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_a_fifo_in_place_of_the_log_never_blocks_the_session(tmp_path: Path) -> None:
    log = tmp_path / "audio.log"
    os.mkfifo(log)
    done = threading.Event()
    # On a thread, so a regression hangs only the thread and the test fails, not the run.
    worker = threading.Thread(target=lambda: (_chatter_to_stdout(log), done.set()), daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert done.is_set()
    assert stat.S_ISFIFO(os.stat(log).st_mode)


def _chatter_to_stdout(log: Path) -> None:
    with stderr_to(log):
        pass


def test_a_symlinked_log_is_not_followed(tmp_path: Path) -> None:
    precious = tmp_path / "precious.txt"
    precious.write_text("mine")
    log = tmp_path / "audio.log"
    log.symlink_to(precious)
    with stderr_to(log):
        pass
    assert precious.read_text() == "mine"


def test_the_log_starts_afresh_once_it_is_large(tmp_path: Path) -> None:
    log = tmp_path / "audio.log"
    log.write_bytes(b"x" * (MAX_LOG_BYTES + 1))
    _chatter(log)
    assert log.read_bytes() == b"ALSA lib pcm.c: underrun occurred\n"
