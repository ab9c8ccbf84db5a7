"""A private D-Bus session bus (``dbus-daemon --session``), for MPRIS tests and benchmarks.

Each test run gets its own bus, so a desktop's real players never answer and ours never
reach the desktop. Usage::

    with session_bus() as address:     # for DBUS_SESSION_BUS_ADDRESS
        ...run `voicecoach play` and `playerctl` with that address...
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator


def available() -> bool:
    """Whether the bus daemon and the media-key client (``playerctl``) are installed."""
    return all(shutil.which(tool) for tool in ("dbus-daemon", "playerctl"))


@contextlib.contextmanager
def session_bus() -> Iterator[str]:
    """Start a private session bus; yield its address; stop the daemon afterwards."""
    done = subprocess.run(
        ["dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1"],
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    )
    address, pid = done.stdout.split()[:2]
    try:
        yield address
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGTERM)
