"""Keep C libraries' stderr chatter (ALSA, PortAudio) off the live display."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def stderr_to(log: Path) -> Iterator[None]:
    """Send file descriptor 2 to ``log`` while the block runs, then put it back.

    ALSA and PortAudio write messages such as "underrun occurred" straight to fd 2 from
    C, which would tear through the full-screen display; they are kept in ``log`` instead.
    Where fd 2 cannot be redirected (no real descriptor), nothing changes.
    """
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        target = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
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
