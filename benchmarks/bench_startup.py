"""Launch to first sound of ``voicecoach play``, warm speech cache and cold (empty cache).

Each run starts ``python -m voicecoach play ROUTINE --as-written`` in a tmux terminal (as
a user would, live display on), sound going through real PortAudio into a private
PulseAudio null sink (``tests/pulse.py``) whose monitor is captured; the figure is from
just before ``tmux new-session`` to the first sample above -50 dBFS in the capture (the
harness's `benchmarks.harness.wait_for_sound`), in milliseconds.

* **warm**: the speech cache filled by ``voicecoach render`` of the same routine, as on
  every start after the first.
* **cold**: a fresh, empty cache dir per run: every phrase is synthesized first.

Python's own bytecode is cached as on an installed copy: the child processes get
``PYTHONDONTWRITEBYTECODE`` cleared and a private ``PYTHONPYCACHEPREFIX`` (filled by one
discarded warm-up run), so an environment that forbids writing ``.pyc`` files (as some
sandboxes and CI set) does not add the compilation of every module to each start.
``--no-bytecode`` measures that case instead.

Run: ``python -m benchmarks.bench_startup [--routine back-basics] [--warm 10] [--cold 3]
[--json FILE]``. Needs what the harness needs: ``pulseaudio``, ``pulseaudio-utils``,
``tmux`` and ``espeak-ng``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.harness import Bench, cold_startups, servers, wait_for_sound
from tests.pulse import PulseServer, available

# Between runs: the killed session's stream leaves the sink before the next one starts.
SETTLE_S = 0.5


class StartupBench(Bench):
    """The harness's bench, with Python's bytecode cache as an installed copy has it."""

    def __init__(self, routine: str, work: Path, *, bytecode: bool) -> None:
        super().__init__(routine, work)
        self.bytecode = bytecode

    def env(self, pulse: PulseServer, cache: Path | None = None) -> dict[str, str]:
        """The harness's environment, plus the bytecode settings (see the module doc)."""
        env = super().env(pulse, cache)
        if self.bytecode:
            env["PYTHONDONTWRITEBYTECODE"] = ""  # empty: bytecode is written
            env["PYTHONPYCACHEPREFIX"] = str(self.work / "pycache")
        else:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env


def warm_startups(bench: Bench, pulse: PulseServer, count: int) -> list[float]:
    """Launch-to-sound in ms of ``count`` plays with the bench's (warm) cache."""
    capture = pulse.start_capture()
    time.sleep(0.3)
    results = []
    for _ in range(count):
        name = bench.name("warm")
        launched = time.monotonic()
        bench.tmux.new(name, bench.play_argv(), bench.env(pulse))
        first = wait_for_sound(capture, launched, timeout_s=30.0)
        bench.tmux.kill(name)
        if first is not None:
            results.append((first - launched) * 1000.0)
        time.sleep(SETTLE_S)
    capture.stop()
    return results


def summary(label: str, values: Sequence[float], runs: int) -> str:
    """One line: p50, min and max in ms, and how many runs made a sound."""
    if not values:
        return f"{label:<5} no sound in {runs} runs"
    return (
        f"{label:<5} p50 {statistics.median(values):6.0f} ms   min {min(values):6.0f}   "
        f"max {max(values):6.0f}   ({len(values)}/{runs} runs: "
        f"{', '.join(f'{v:.0f}' for v in values)})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routine", default="back-basics", help="file or shipped name")
    parser.add_argument("--warm", type=int, default=10, help="warm runs (default 10)")
    parser.add_argument("--cold", type=int, default=3, help="cold runs (default 3)")
    parser.add_argument(
        "--no-bytecode", action="store_true", help="children write no .pyc (compile each start)"
    )
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args(argv)
    if not available() or shutil.which("tmux") is None:
        print("needs pulseaudio, pactl, pacat, parec and tmux", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="voicecoach-startup-"))
    bench = StartupBench(args.routine, work, bytecode=not args.no_bytecode)
    try:
        with servers(1) as (pulse,):
            bench.render()  # fills the warm cache
            warm_startups(bench, pulse, 1)  # compiles the bytecode; not counted
            warm = warm_startups(bench, pulse, args.warm)
            cold = cold_startups(bench, pulse, args.cold) if args.cold else []
    finally:
        bench.tmux.kill_server()
        shutil.rmtree(work, ignore_errors=True)
    print(f"launch to first sound, voicecoach play {args.routine} (tmux, PulseAudio null sink)")
    print(summary("warm", warm, args.warm))
    if args.cold:
        print(summary("cold", cold, args.cold))
    if args.json:
        figures = {"routine": args.routine, "warm_ms": warm, "cold_ms": cold}
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
