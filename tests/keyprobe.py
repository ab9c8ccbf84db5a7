"""A tiny program for the key tests: reads keys (cbreak mode) in a real terminal, one line each.

Usage: ``python tests/keyprobe.py [--thread] [--fail-on KEY] [--leak]``. It prints
``ready pid=PID available=BOOL``, then ``key NAME command CMD digit D`` per key, and
exits with status 0 on ``q``. ``--fail-on e`` raises an exception inside the ``with``
block when ``e`` is pressed; ``--thread`` reads through `KeyReader`; ``--leak`` enters
cbreak mode and exits without restoring it (the control that proves the restore tests can
fail).
"""

from __future__ import annotations

import argparse
import os
import queue
import sys

from voicecoach.keys import (
    CbreakKeys,
    Key,
    KeyReader,
    command_for,
    describe_key,
    digit_for,
)


def report(key: Key) -> None:
    """Print the decoded key, its command and its digit as one line."""
    command = command_for(key)
    digit = digit_for(key)
    print(
        f"key {describe_key(key)} command {command.name if command else '-'} "
        f"digit {'-' if digit is None else digit}",
        flush=True,
    )


def main() -> int:
    """Run the probe; return the exit status."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--thread", action="store_true")
    parser.add_argument("--fail-on", default=None)
    parser.add_argument("--leak", action="store_true")
    args = parser.parse_args()
    keys = CbreakKeys()
    if args.leak:
        keys.__enter__()
        print(f"ready pid={os.getpid()} available={keys.available}", flush=True)
        os._exit(0)  # skips __exit__ and atexit on purpose
    try:
        with keys:
            print(f"ready pid={os.getpid()} available={keys.available}", flush=True)
            if not keys.available:
                print(keys.reason, flush=True)
                return 0
            if args.thread:
                got: queue.Queue[Key] = queue.Queue()
                with KeyReader(keys, got.put, poll_seconds=0.1):
                    while True:
                        queued = got.get()
                        report(queued)
                        if queued == "q":
                            return 0
            while True:
                key = keys.read_key(0.5)
                if key is None:
                    continue
                report(key)
                if key == args.fail_on:
                    raise RuntimeError("probe failure on request")
                if key == "q":
                    return 0
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        return 130


if __name__ == "__main__":
    sys.exit(main())
