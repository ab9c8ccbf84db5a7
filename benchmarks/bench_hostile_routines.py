"""Hostile routine files: seconds and peak memory to load (and compile) each, or refuse it.

Every case is a file of at most the loader's 5 MB cap, run in a fresh child process (so
one case's memory cannot hide another's) under an address-space limit and a timeout, so a
regression shows up as a figure rather than as a machine that swaps. The target: each one
is processed in under 2 s and under 200 MB peak (resident), or refused with a message.

Run: python -m benchmarks.bench_hostile_routines [--only NAME ...] [--timeout S]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HEAD = '[routine]\ntitle = "Hostile"\n'
EXERCISE = '[[exercise]]\nuse = "curl-up"\n'
SIZE = 4_900_000  # bytes: just under the loader's 5 MB cap
TARGET_S = 2.0
TARGET_MB = 200.0


def _lines(line: str, prefix: str = "") -> str:
    return prefix + line * ((SIZE - len(prefix)) // len(line))


def _exercises(n: int, body: str) -> str:
    return HEAD + "".join(f'[[exercise]]\nname = "E{i}"\n{body}' for i in range(n))


# Each case: name -> a function that returns the file's text. The first group is over one
# of the loader's limits and must be refused at once; the second is just under them, so
# tomllib, the checker and the locator do their whole work.
CASES: dict[str, Callable[[], str]] = {
    "deep dotted key (20,000 parts, 40 KB)": lambda: "a" + ".a" * 20_000 + " = 1\n",
    "deep dotted key (2.4M parts)": lambda: "a" + ".a" * (SIZE // 2 - 10) + " = 1\n",
    "deep dotted table header": lambda: "[a" + ".a" * (SIZE // 2 - 10) + "]\n",
    "deep inline tables": lambda: "x = " + "{a=" * (SIZE // 4) + "1" + "}" * (SIZE // 4),
    "deep arrays": lambda: "x = " + "[" * (SIZE // 2) + "]" * (SIZE // 2),
    "480k unknown keys": lambda: HEAD + EXERCISE + "".join(f"k{i}=1\n" for i in range(480_000)),
    "380k unknown keys near a real one": lambda: (
        HEAD + EXERCISE + "".join(f"hodl{i}=1\n" for i in range(380_000))
    ),
    "4.9 MB string value": lambda: HEAD.replace('"Hostile"', '"' + "x" * SIZE + '"'),
    "4.9 MB key": lambda: HEAD + EXERCISE + '"' + "k" * SIZE + '" = 1\n',
    "4.9 MB multi-line string": lambda: (
        '[routine]\ntitle = "T"\nnotes = """' + "x\n" * (SIZE // 2) + '"""\n' + EXERCISE
    ),
    "4.9 MB of \\u escapes": lambda: '[routine]\ntitle = "' + "\\u0041" * (SIZE // 6) + '"\n',
    "unclosed 4.9 MB string": lambda: HEAD + 'notes = "' + "x" * SIZE,
    "unclosed 4.9 MB multi-line string": lambda: HEAD + 'notes = """' + "x\\n" * (SIZE // 3),
    "100k exercises": lambda: HEAD + EXERCISE * 100_000,
    "huge int literal (4.9M digits)": lambda: HEAD + EXERCISE + "hold = " + "9" * SIZE + "\n",
    "huge float literal (4.9M digits)": lambda: HEAD + EXERCISE + "hold = 0." + "9" * SIZE,
    "long line of commas": lambda: "x = [" + "1," * (SIZE // 2) + "]\n",
    "one inline table of 400k keys": lambda: (
        "x = {" + ",".join(f"k{i}=1" for i in range(400_000)) + "}\n"
    ),
    "2.4M comment lines": lambda: _lines("#\n", HEAD + EXERCISE),
    "500k empty tables": lambda: "".join(f"[t{i}]\n" for i in range(500_000)),
    "cues list of 1.2M strings": lambda: (
        HEAD + EXERCISE + "cues = [" + '"a",' * (SIZE // 4) + "]\n"
    ),
    # Just under the limits: the whole pipeline runs.
    "66k unknown keys (under the token cap)": lambda: (
        HEAD + EXERCISE + "".join(f"hodl{i} = 1\n" for i in range(66_000))
    ),
    "66k empty unknown tables": lambda: (
        HEAD + EXERCISE + "".join(f"[t{i}]\n" for i in range(66_000))
    ),
    "2,000 exercises, 25 bad keys each": lambda: _exercises(
        2_000, 'kind = "hold"\nhold = 0\n' + "".join(f"x{k} = 1\n" for k in range(25))
    ),
    "1,000 valid exercises (compiles)": lambda: _exercises(
        1_000,
        'kind = "hold"\nhold = 2\nreps = 2\nrest = 0\nget_ready = 1\nbrace = false\n'
        "countdown = 1\n",
    ),
    "199k comment lines": lambda: HEAD + EXERCISE + "# comment\n" * 199_000,
    "array of 99k numbers": lambda: HEAD + EXERCISE + "x = [" + "1," * 99_000 + "]\n",
    "98 strings of 49,000 characters": lambda: (
        HEAD + EXERCISE + "".join(f'x{i} = "' + "y" * 49_000 + '"\n' for i in range(98))
    ),
    "98 keys of 49,000 characters": lambda: (
        HEAD + EXERCISE + "".join(f'"{i}' + "k" * 49_000 + '" = 1\n' for i in range(98))
    ),
    "8-part keys under 8-deep tables": lambda: (
        HEAD
        + EXERCISE
        + "".join(f"[a{i}.b.c.d.e.f.g.h]\n" + "x = [[[[[[[1]]]]]]]\n" for i in range(5_000))
    ),
}


def run_one(path: str) -> None:
    """In the child: load and compile ``path``; print seconds, peak MB and the outcome."""
    import resource

    from voicecoach.errors import RoutineError
    from voicecoach.routine import load_routine
    from voicecoach.timeline import compile_routine

    start = time.perf_counter()
    try:
        timeline = compile_routine(load_routine(path, "hostile.toml"), file="hostile.toml")
    except RoutineError as error:
        first = error.problems[0].format() if error.problems else "(no problem)"
        outcome = f"refused ({len(error.problems)} problems): {first[:150]}"
    except MemoryError:
        outcome = "MemoryError (over the address-space limit)"
    else:
        outcome = f"compiled: {len(timeline.segments)} segments"
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    print(f"{seconds:.3f}\t{peak_mb:.1f}\t{outcome}")


def measure(text: str, timeout_s: float, limit_mb: int) -> tuple[float, float, str]:
    """(seconds, peak resident MB, outcome) of loading ``text`` in a fresh child process.

    The seconds are the child's own, from the load to the end of the compile (start-up
    excluded); the peak is the child's whole resident peak, imports included.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "hostile.toml"
        path.write_text(text, "utf-8")

        def limit() -> None:  # in the child: a runaway case fails instead of swapping
            size = limit_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (size, size))

        try:
            done = subprocess.run(
                [sys.executable, __file__, "--child", str(path)],
                capture_output=True,
                text=True,
                timeout=timeout_s,
                preexec_fn=limit,
            )
        except subprocess.TimeoutExpired:
            return timeout_s, float("nan"), f"TIMEOUT after {timeout_s:.0f} s"
        last = done.stdout.strip().splitlines()[-1:] or [done.stderr.strip()[-150:]]
        fields = last[0].split("\t", 2)
        if len(fields) != 3:
            return float("nan"), float("nan"), f"crashed: {last[0]}"
        return float(fields[0]), float(fields[1]), fields[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", nargs="*", help="run only the cases whose name contains this")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per case")
    parser.add_argument("--limit-mb", type=int, default=3000, help="address space per case")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_one(args.child)
        return
    names = [n for n in CASES if not args.only or any(o in n for o in args.only)]
    _, base_mb, _ = measure(HEAD + EXERCISE, args.timeout, args.limit_mb)
    print(f"a one-exercise routine (imports included): {base_mb:.0f} MB peak")
    print(f"{'case':40} {'seconds':>8} {'peak MB':>8}  outcome")
    missed = 0
    for name in names:
        seconds, peak_mb, outcome = measure(CASES[name](), args.timeout, args.limit_mb)
        ok = seconds < TARGET_S and peak_mb < TARGET_MB
        missed += not ok
        mark = "" if ok else "  MISSED"
        print(f"{name:40} {seconds:8.2f} {peak_mb:8.0f}  {outcome}{mark}", flush=True)
    print(f"target: under {TARGET_S:.0f} s and {TARGET_MB:.0f} MB each; missed: {missed}")


if __name__ == "__main__":
    main()
