"""Keep C libraries' stderr chatter (ALSA, PortAudio) off the live display."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

from voicecoach.files import ensure_private_dir

# The log only matters for the last few sessions; it never grows without bound.
MAX_LOG_BYTES = 1_000_000


@contextlib.contextmanager
def stderr_to(log: Path) -> Iterator[None]:
    """Send file descriptor 2 to ``log`` while the block runs, then put it back.

    ALSA and PortAudio write messages such as "underrun occurred" straight to fd 2 from
    C, which would tear through the full-screen display; they are kept in ``log`` instead.
    Where fd 2 cannot be redirected (no real descriptor), or ``log`` is not a regular
    file of ours (a FIFO would block, a symlink could point anywhere), nothing changes.
    """
    try:
        target = _open_log(log)
        saved = os.dup(2)
    except OSError:
        yield
        return
    sys.stderr.flush()
    os.dup2(target, 2)
    os.close(target)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def _open_log(log: Path) -> int:
    """A descriptor appending to ``log``, started afresh once it passes `MAX_LOG_BYTES`."""
    ensure_private_dir(log.parent)
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(log, flags, 0o600)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(f"{log} is not a regular file")
        if info.st_size > MAX_LOG_BYTES:
            os.ftruncate(fd, 0)
    except OSError:
        os.close(fd)
        raise
    return fd
