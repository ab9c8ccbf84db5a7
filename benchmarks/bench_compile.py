"""Compile speed: load and compile a generated routine of 1,000 exercises; prints figures.

Run: python -m benchmarks.bench_compile
"""

from __future__ import annotations

import statistics
import time

from voicecoach.routine import parse_routine
from voicecoach.timeline import compile_routine

KINDS = (
    'kind = "hold"\nhold = 2\nreps = 2\nsides = "alternate"',
    'kind = "reps"\ntempo = 1\nreps = 3',
    'kind = "timed"\nduration = 3\nsides = "each"',
)


def routine_text(n: int) -> str:
    """A routine of ``n`` short exercises of every kind (under the 4-hour cap)."""
    parts = [
        '[routine]\ntitle = "Benchmark"\n\n[defaults]\nrest = 0\nget_ready = 1\n'
        "between_reps = 1\nswitch_sides = 1\nbrace = false\ncountdown = 1\n"
    ]
    for i in range(n):
        parts.append(f'[[exercise]]\nname = "Exercise {i + 1}"\n{KINDS[i % len(KINDS)]}\n')
    return "\n".join(parts)


def main() -> None:
    text = routine_text(1000)
    routine = parse_routine(text, "bench.toml")
    parse_s, compile_s = [], []
    for _ in range(5):
        t0 = time.perf_counter()
        parse_routine(text, "bench.toml")
        t1 = time.perf_counter()
        timeline = compile_routine(routine)
        t2 = time.perf_counter()
        parse_s.append(t1 - t0)
        compile_s.append(t2 - t1)
    print(
        f"exercises: {len(routine.exercises)}, segments: {len(timeline.segments)}, "
        f"cues: {len(timeline.cues)}, session: {timeline.duration / 3600:.2f} h"
    )
    print(f"load (parse + validate): median {statistics.median(parse_s) * 1000:.0f} ms")
    print(f"compile:                 median {statistics.median(compile_s) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
