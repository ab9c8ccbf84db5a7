"""Timing on a quiet machine and on a busy one, side by side, through the real audio path.

Each condition runs the same measurements (see benchmarks/harness.py for the method):
``voicecoach play`` of a routine in tmux into a private PulseAudio null sink, captured
from its monitor and compared onset by onset with ``voicecoach render`` (sample clock,
errors relative to the first cue); the underruns, time lost and time made up that the
player stored in the history; launch to first sound (warm cache and cold); Space and x to
silence; the player's CPU, and beside it the CPU of a bare stream that only writes zeros.

Python's bytecode is cached as on an installed copy (`benchmarks.bench_startup`), and one
discarded launch per condition compiles it: a sandbox that sets
``PYTHONDONTWRITEBYTECODE`` would otherwise add the compilation of every module (about
70 ms) to every launch.

"Busy" is ``--busy`` processes (default 2, one per core here) spinning on the CPU at normal
priority for the whole condition: a browser, a backup or an indexer on a laptop.

Run: ``python -m benchmarks.bench_load [--routine quick-five] [--busy 2] [--presses 10]``.
Prints one table; ``--json FILE`` writes every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import harness
from benchmarks.bench_startup import StartupBench, warm_startups
from tests.pulse import PulseServer, available

BUSY_LOOP = "while True: pass"
# A bare callback stream: the floor of what any PortAudio player costs at our block size.
ZERO_STREAM = """
import sys, time
import sounddevice as sd
def callback(outdata, frames, time_info, status):
    outdata.fill(0)
with sd.OutputStream(samplerate=48000, channels=2, dtype="float32", latency="low",
                     blocksize=256, callback=callback):
    time.sleep(float(sys.argv[1]))
"""


@dataclass
class Condition:
    """Every figure of one condition (quiet or busy)."""

    name: str
    busy: int
    onsets: int = 0
    matched: int = 0
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    max_ms: float = float("nan")
    end_ms: float = float("nan")  # the last cue's deviation: what the session ended with
    underruns: int = 0
    lost_ms: float = float("nan")
    caught_up_ms: float = float("nan")
    owed_ms: float = float("nan")
    warm_ms: list[float] = field(default_factory=list)
    cold_ms: list[float] = field(default_factory=list)
    pause_ms: list[float] = field(default_factory=list)
    stop_ms: list[float] = field(default_factory=list)
    cpu_percent: float = float("nan")
    zero_stream_cpu_percent: float = float("nan")
    duration_s: float = 0.0
    errors_ms: list[float] = field(default_factory=list)  # each matched onset's deviation


@contextlib.contextmanager
def busy(count: int) -> Iterator[None]:
    """``count`` processes spinning on the CPU until the block ends."""
    procs = [
        subprocess.Popen([sys.executable, "-c", BUSY_LOOP], stdin=subprocess.DEVNULL)
        for _ in range(count)
    ]
    try:
        time.sleep(0.5 if procs else 0.0)
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def last_session(data: Path) -> dict[str, Any]:
    """The newest session row of the history the player wrote."""
    con = sqlite3.connect(data / "history.sqlite3")
    con.row_factory = sqlite3.Row
    try:
        row = con.execute("SELECT * FROM sessions ORDER BY id DESC LIMIT 1").fetchone()
    finally:
        con.close()
    return dict(row) if row is not None else {}


def zero_stream_cpu(pulse: PulseServer, seconds: float) -> float:
    """CPU (% of one core) of a bare PortAudio stream writing zeros in a Python callback."""
    proc = subprocess.Popen(
        [sys.executable, "-c", ZERO_STREAM, str(seconds + 3.0)],
        env=pulse.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(2.0)  # imports and stream start are not the steady state
        return harness.measure_usage(proc.pid, seconds).cpu_percent
    finally:
        proc.kill()
        proc.wait()


def timing(
    bench: harness.Bench,
    pulse: PulseServer,
    reference: Sequence[float],
    duration_s: float,
    cond: Condition,
) -> None:
    """Play the whole routine; onsets against the render, dropouts, CPU and warm start."""
    out: dict[str, Any] = {}
    harness.run_voicecoach_timing(bench, pulse, duration_s, duration_s - 5.0, out)
    if "startup_warm_ms" in out:
        cond.warm_ms.append(out["startup_warm_ms"])
    if "usage" in out:
        cond.cpu_percent = out["usage"].cpu_percent
    row = harness.timing_row(
        "voicecoach play",
        list(reference),
        out["samples"],
        gap_s=harness.ONSET_GAP_S,
        early_s=harness.VC_LATE_S,  # a catch-up brings a cue earlier than the one before
        late_s=harness.VC_LATE_S,
    )
    cond.onsets, cond.matched = row.scheduled, row.matched
    cond.p50_ms, cond.p99_ms, cond.max_ms = row.p50_ms, row.p99_ms, row.max_ms
    cond.errors_ms = [e / harness.SR * 1000.0 for e in row.errors_samples]
    if row.errors_samples:
        cond.end_ms = cond.errors_ms[-1]
    session = last_session(bench.data)
    cond.underruns = int(session.get("underruns") or 0)
    for key in ("lost_ms", "caught_up_ms", "owed_ms"):
        value = session.get(key)
        setattr(cond, key, float(value) if value is not None else float("nan"))


def run_condition(
    bench: harness.Bench,
    name: str,
    busy_count: int,
    reference: Sequence[float],
    duration_s: float,
    presses: int,
    colds: int,
    rng: random.Random,
) -> Condition:
    """Every measurement of one condition, with ``busy_count`` spinners throughout."""
    cond = Condition(name, busy_count, duration_s=duration_s)
    with busy(busy_count), PulseServer() as pulse:
        warm_startups(bench, pulse, 1)  # Python's bytecode is compiled: not counted
        timing(bench, pulse, reference, duration_s, cond)
        cond.zero_stream_cpu_percent = zero_stream_cpu(pulse, 20.0)
        pause = harness.pause_presses(bench, pulse, presses, rng)
        cond.pause_ms = pause.latencies_ms
        stop = harness.stop_presses(bench, pulse, presses, rng, cond.warm_ms)
        cond.stop_ms = stop.latencies_ms
        if colds:
            cond.cold_ms = harness.cold_startups(bench, pulse, colds)
    return cond


def run(routine: str, busy_count: int, presses: int, colds: int, seed: int) -> list[Condition]:
    """Both conditions, quiet first; the render warms the cache for everything but cold."""
    if not available() or shutil.which("tmux") is None:
        raise RuntimeError("needs pulseaudio, pactl, pacat, parec and tmux")
    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="voicecoach-load-"))
    # Bytecode cached as on an installed copy (see bench_startup), even where the
    # environment forbids writing .pyc files: else every launch compiles every module.
    bench = StartupBench(routine, work, bytecode=True)
    try:
        render, tl = bench.render()
        _, _, found = harness.reference_onsets(render, tl)
        in_render = [float(s) for s in found]
        duration = float(tl["duration"])
        return [
            run_condition(bench, "quiet", 0, in_render, duration, presses, colds, rng),
            run_condition(
                bench, f"{busy_count} busy", busy_count, in_render, duration, presses, colds, rng
            ),
        ]
    finally:
        bench.tmux.kill_server()
        shutil.rmtree(work, ignore_errors=True)


def _p(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


def format_table(conditions: Sequence[Condition], routine: str) -> str:
    """The side-by-side table."""
    f = harness._f
    rows: list[tuple[str, list[str]]] = [
        ("cue onsets matched", [f"{c.matched}/{c.onsets}" for c in conditions]),
        ("onset deviation p50 ms", [f(c.p50_ms, 2) for c in conditions]),
        ("onset deviation p99 ms", [f(c.p99_ms, 2) for c in conditions]),
        ("onset deviation max ms", [f(c.max_ms, 2) for c in conditions]),
        ("deviation at the end ms", [f(c.end_ms, 2) for c in conditions]),
        ("underruns", [str(c.underruns) for c in conditions]),
        ("time lost / made up ms", [f"{f(c.lost_ms)} / {f(c.caught_up_ms)}" for c in conditions]),
        ("still owed at the end ms", [f(c.owed_ms) for c in conditions]),
        (
            "launch to sound, warm p50 / max ms",
            [
                f"{f(_p(c.warm_ms, 50), 0)} / {f(max(c.warm_ms, default=np.nan), 0)}"
                for c in conditions
            ],
        ),
        (
            "launch to sound, cold ms",
            [", ".join(f(v, 0) for v in c.cold_ms) or "n/a" for c in conditions],
        ),
        (
            "Space to silence p50 / p99 ms",
            [f"{f(_p(c.pause_ms, 50))} / {f(_p(c.pause_ms, 99))}" for c in conditions],
        ),
        (
            "x to silence p50 / p99 ms",
            [f"{f(_p(c.stop_ms, 50))} / {f(_p(c.stop_ms, 99))}" for c in conditions],
        ),
        ("CPU while playing, % of a core", [f(c.cpu_percent) for c in conditions]),
        ("bare zero-writing stream, %", [f(c.zero_stream_cpu_percent) for c in conditions]),
    ]
    width = max(len(label) for label, _ in rows)
    head = f"{'':<{width}}" + "".join(f"  {c.name:>16}" for c in conditions)
    lines = [
        f"voicecoach under load: {routine}, {conditions[0].duration_s:.0f} s per play",
        "",
        head,
    ]
    lines.append("-" * len(head))
    for label, values in rows:
        lines.append(f"{label:<{width}}" + "".join(f"  {v:>16}" for v in values))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m benchmarks.bench_load``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routine", default="quick-five", help="routine file or shipped name")
    parser.add_argument("--busy", type=int, default=2, help="spinning processes (default 2)")
    parser.add_argument("--presses", type=int, default=10, help="presses per key (default 10)")
    parser.add_argument("--cold", type=int, default=3, help="cold-cache launches (default 3)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args(argv)
    conditions = run(args.routine, args.busy, args.presses, args.cold, args.seed)
    print(format_table(conditions, args.routine))
    if args.json:
        args.json.write_text(json.dumps([asdict(c) for c in conditions], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
