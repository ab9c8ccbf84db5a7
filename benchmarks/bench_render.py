"""Benchmark of the mixer: render speed of a long session and the cost of one callback block.

Builds a synthetic routine of about an hour, gives every phrase a noise clip of a
realistic length (the compiler's speaking-rate estimate), plans it at 48 kHz, then:

1. renders the whole session in blocks of 4096 frames (what the file sink does) and
   prints the speed as a multiple of real time;
2. replays it in blocks of 256 frames (a low-latency sound card callback), timing every
   ``fill`` call, and prints the mean, median, p99 and worst cost in microseconds, and the
   mean as a share of one core (cost / block duration).

Run: ``python -m benchmarks.bench_render [--minutes 60] [--samplerate 48000]``.
Prints figures only; no assertions.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from voicecoach.mixer import Mixer
from voicecoach.model import Exercise, Routine
from voicecoach.phrases import extra_phrases
from voicecoach.schedule import plan_session
from voicecoach.timeline import TONES, compile_routine, estimate_speech_seconds


def synthetic_routine(minutes: float) -> Routine:
    """Hold, reps and timed exercises, repeated until the session lasts about ``minutes``."""
    kinds: list[Callable[[int, str], Exercise]] = [
        lambda i, name: Exercise(
            i,
            name,
            "hold",
            (6, 5, 4),
            rest=30.0,
            hold=10.0,
            sides="each",
            cues=("Keep the hips level.",),
        ),
        lambda i, name: Exercise(i, name, "reps", (6, 5, 4), rest=30.0, tempo=3.0),
        lambda i, name: Exercise(i, name, "timed", (6, 5, 4), rest=30.0, duration=40.0),
        lambda i, name: Exercise(
            i, name, "hold", (6, 5, 4), rest=30.0, hold=8.0, breathing_sound="tone"
        ),
    ]
    exercises: list[Exercise] = []
    duration = 0.0
    while duration < minutes * 60:
        index = len(exercises)
        exercises.append(kinds[index % len(kinds)](index, f"Exercise {index + 1}"))
        duration = compile_routine(Routine("Bench", tuple(exercises))).duration
    return Routine("Bench", tuple(exercises))


def noise_clips(
    texts: list[str], samplerate: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """A quiet noise clip per text, as long as the compiler expects the phrase to take."""
    return {
        t: (0.1 * rng.standard_normal(round(estimate_speech_seconds(t) * samplerate))).astype(
            np.float32
        )
        for t in texts
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--samplerate", type=int, default=48_000)
    args = parser.parse_args()
    sr = args.samplerate
    rng = np.random.default_rng(0)

    timeline = compile_routine(synthetic_routine(args.minutes))
    clips = noise_clips(list(dict.fromkeys([*timeline.phrases(), *extra_phrases()])), sr, rng)
    t = np.arange(round(0.12 * sr)) / sr
    tones = {
        name: (0.3 * np.sin(2 * np.pi * (440 + 110 * i) * t)).astype(np.float32)
        for i, name in enumerate(TONES)
    }
    started = time.perf_counter()
    plan = plan_session(
        timeline, {k: len(v) for k, v in clips.items()}, {k: len(v) for k, v in tones.items()}, sr
    )
    plan_s = time.perf_counter() - started
    extra = {k: clips[k] for k in extra_phrases()}
    seconds = plan.total_frames / sr
    clip_mb = sum(c.nbytes for c in clips.values()) / 1e6
    print(
        f"session: {seconds / 60:.1f} min at {sr} Hz, {len(plan.segments)} segments, "
        f"{len(plan.events)} events, {len(plan.dropped)} dropped or replaced, "
        f"{len(clips)} clips ({clip_mb:.1f} MB)"
    )
    print(f"plan_session: {plan_s * 1000:.1f} ms")

    mixer = Mixer(plan, clips, tones, extra=extra)
    block = np.zeros((4096, 2), dtype=np.float32)
    started = time.perf_counter()
    while mixer.fill(block):
        pass
    render_s = time.perf_counter() - started
    print(
        f"render, blocks of 4096: {render_s:.2f} s for {seconds:.0f} s of audio = "
        f"{seconds / render_s:.0f}x real time"
    )

    mixer = Mixer(plan, clips, tones, extra=extra)
    blocksize = 256
    block = np.zeros((blocksize, 2), dtype=np.float32)
    costs_ns = np.empty(plan.total_frames // blocksize + 2, dtype=np.int64)
    count = 0
    clock = time.perf_counter_ns
    more = True
    while more:
        before = clock()
        more = mixer.fill(block)
        costs_ns[count] = clock() - before
        count += 1
    costs_us = costs_ns[:count] / 1000
    block_us = blocksize / sr * 1e6
    mean = float(costs_us.mean())
    print(
        f"fill, blocks of {blocksize} ({block_us:.0f} us of audio), {count} blocks: "
        f"mean {mean:.1f} us, median {np.median(costs_us):.1f} us, "
        f"p99 {np.percentile(costs_us, 99):.1f} us, max {costs_us.max():.0f} us"
    )
    print(
        f"callback load: {100 * mean / block_us:.2f}% of one core on average, "
        f"{100 * np.percentile(costs_us, 99) / block_us:.2f}% at p99"
    )


if __name__ == "__main__":
    main()
