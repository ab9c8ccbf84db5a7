"""A media key to silence: ``playerctl -p voicecoach pause`` beside Space, on the real path.

``voicecoach play`` of a routine runs in tmux, its sound going through real PortAudio into
a private PulseAudio null sink whose monitor is captured (`benchmarks.harness`), with a
private D-Bus session bus (``dbus-daemon --session``) so that `voicecoach.mpris` publishes
the session. At random moments while sound plays, the benchmark pauses it (and resumes it
0.6 s later), either with Space in the terminal or with ``playerctl pause`` / ``play``,
which is what a Bluetooth headset's button (forwarded by BlueZ) and a keyboard's media
keys do. The figure is from just before the call to the start of the silence in the
capture; for playerctl it includes starting the playerctl process (a few ms).

Run: ``python -m benchmarks.bench_media_keys [--routine quick-five] [--presses 20]``.
Needs what the harness needs plus ``dbus-daemon`` and ``playerctl``.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks import harness
from tests.dbus import session_bus
from tests.pulse import available


class Playerctl:
    """``playerctl -p voicecoach VERB`` on one bus, timing each call's round trip."""

    def __init__(self, bus: str) -> None:
        self.env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": bus}
        self.round_trips_ms: list[float] = []

    def control(self, verb: str) -> harness.Control:
        """A control for `harness.pause_presses`: timed from just before the call."""

        def press(_session: str) -> tuple[float, float]:
            before = time.monotonic()
            subprocess.run(
                ["playerctl", "-p", "voicecoach", verb],
                env=self.env,
                capture_output=True,
                check=False,
                timeout=10,
            )
            self.round_trips_ms.append((time.monotonic() - before) * 1000.0)
            # The press counts from the call, not from its return: a headset's button
            # press is the call.
            return before, before

        return press


def describe(label: str, values_ms: Sequence[float], extra: str = "") -> str:
    """One line: count, p50, p95, max."""
    if not values_ms:
        return f"{label:<22} no valid presses{extra}"
    a = np.asarray(values_ms)
    p50, p95 = np.percentile(a, [50, 95])
    return (
        f"{label:<22} n={len(a):<3} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  "
        f"max {a.max():6.1f} ms{extra}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m benchmarks.bench_media_keys``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routine", default="quick-five", help="routine file or shipped name")
    parser.add_argument("--presses", type=int, default=20, help="presses per control")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    tools = ("tmux", "dbus-daemon", "playerctl")
    if not available() or any(shutil.which(tool) is None for tool in tools):
        print(
            "needs pulseaudio, pulseaudio-utils, tmux, dbus-daemon and playerctl", file=sys.stderr
        )
        return 1
    rng = random.Random(args.seed)
    with (
        tempfile.TemporaryDirectory(prefix="vc-bench-mpris-") as tmp,
        harness.servers(1) as (pulse,),
        session_bus() as bus,
    ):
        bench = harness.Bench(args.routine, Path(tmp))
        bench.extra_env = {"DBUS_SESSION_BUS_ADDRESS": bus}
        bench.render()  # fills the speech cache: every launch is warm
        ctl = Playerctl(bus)
        try:
            space = harness.pause_presses(bench, pulse, args.presses, rng)
            media = harness.pause_presses(
                bench,
                pulse,
                args.presses,
                rng,
                label="playerctl pause",
                pause=ctl.control("pause"),
                resume=ctl.control("play"),
            )
        finally:
            bench.tmux.kill_server()
    print(f"pause to silence: {args.routine}, {args.presses} presses each, warm cache")
    print(describe("Space (tmux send-keys)", space.latencies_ms))
    trips = f"  (playerctl round trip p50 {np.median(ctl.round_trips_ms):.1f} ms)"
    print(describe("playerctl pause", media.latencies_ms, trips))
    skipped = space.skipped + media.skipped + space.unresolved + media.unresolved
    print(f"presses made in silence or unresolved (not counted): {skipped}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
