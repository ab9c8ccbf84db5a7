"""Benchmark: cold (empty cache) and warm synthesis of a workout's phrases.

Run: ``python -m benchmarks.bench_synthesis [--workers N] [--voice en-us] [--rate 200]``.
Uses the phrases of ``scripts/back-basics.toml`` (compiled timeline plus the player's
extra lines) when the routine modules are there, else a built-in list of 80 phrases.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from voicecoach import speech
from voicecoach.model import Voice
from voicecoach.speech import synthesize

REPO = Path(__file__).resolve().parents[1]

EXERCISES = ["Curl-up", "Side plank", "Bird dog", "Dead bug", "Glute bridge"]
COACHING = [
    "Brace: pull your belly in, squeeze your sides and low back, and keep breathing.",
    "Neutral spine, brace before every set, keep breathing. Stop before pain.",
    "Keep breathing while braced; never hold your breath.",
    "Reach long through the heel, not high.",
    "Hips stacked, body in one straight line.",
    "Lower slowly, and relax.",
    "Halfway.",
    "Ten seconds left.",
    "Rest. Next up: side plank.",
    "Switch sides.",
    "Great work. That is the session. Note how your back feels.",
    "Pain is a limit to stop before, never something to push through.",
]


def fallback_phrases() -> list[str]:
    """About 80 phrases typical of a workout, for when no routine can be compiled."""
    phrases = [
        f"{name}. Set {s} of 3. {side}"
        for name in EXERCISES
        for s in (1, 2, 3)
        for side in ("Left side.", "Right side.")
    ]
    phrases += ["Breathe in", "Breathe out", "3", "2", "1", "Relax."]
    phrases += [f"Rep {n}" for n in range(1, 11)]
    phrases += COACHING
    return list(dict.fromkeys(phrases))[:80]


def routine_phrases() -> tuple[str, list[str]]:
    """The phrases of the shipped back-basics routine, or the fallback list."""
    try:
        from voicecoach.phrases import extra_phrases
        from voicecoach.routine import load_routine
        from voicecoach.timeline import compile_routine

        timeline = compile_routine(load_routine(REPO / "scripts" / "back-basics.toml"))
        phrases = list(dict.fromkeys([*timeline.phrases(), *extra_phrases()]))
        return "scripts/back-basics.toml", phrases
    except Exception as exc:  # any missing or changed module: use the built-in list
        return f"built-in list ({type(exc).__name__}: {exc})", fallback_phrases()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--voice", default="en-us")
    parser.add_argument("--rate", type=int, default=None)
    args = parser.parse_args()
    source, phrases = routine_phrases()
    settings = Voice(name=args.voice, rate=args.rate)
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        t0 = time.perf_counter()
        clips = synthesize(phrases, settings, cache, workers=args.workers)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        synthesize(phrases, settings, cache, workers=args.workers)
        warm = time.perf_counter() - t0
    n = len(phrases)
    seconds = [c.seconds for c in clips.values()]
    peaks = [float(abs(c.samples).max()) for c in clips.values() if c.samples.size]
    print(f"phrases: {n} from {source}")
    print(f"workers started: {speech.stats.workers_started}")
    print(f"cold: {cold:.3f} s total, {1000 * cold / n:.1f} ms per phrase")
    print(f"warm: {warm:.3f} s total, {1000 * warm / n:.2f} ms per phrase")
    print(
        f"audio: {sum(seconds):.1f} s of speech, clips {min(seconds):.2f} to "
        f"{max(seconds):.2f} s; peak median {statistics.median(peaks):.2f}, "
        f"max {max(peaks):.2f}"
    )


if __name__ == "__main__":
    main()
