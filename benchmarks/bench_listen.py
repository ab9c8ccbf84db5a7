"""Benchmark of the keyword listener (`voicecoach.listening`) through a virtual microphone.

A private PulseAudio server (tests/pulse.py) gets a second null sink ``micsink`` at
16 kHz; its monitor is the default source, which the listener's child process records.
This process plays into ``micsink`` through its own PortAudio stream (``PULSE_SINK``),
scheduling each sound at a known frame, so when a word ends is known from the stream's
own clock (``outputBufferDacTime``), as the player knows when its cues sound.

It prints:

1. start-up: ``Listener.start()`` to the child's first decoded audio, over ``--starts``;
2. keyword -> callback: ``--tries`` words ("stop" by default, other keywords with
   ``--word``) in several espeak-ng voices other than the coach's, one every 3 s:
   how many were heard, the latency from the word's end to ``on_command`` (p50/p95/max)
   and the error of the word end the listener reported;
3. false triggers: the shipped routine ``back-basics`` rendered by ``voicecoach render``
   (``--minutes`` to play only its start) played into the microphone while `CoachSpeech`
   is fed each cue 2 s before it sounds, from the render's timeline: keywords acted on
   (must be 0 for stop/pain/pause), and raw hits, inside the coach's speech or not;
4. the child's CPU (% of one core) while it listened to the routine.

Run: ``python -m benchmarks.bench_listen [--tries 20] [--starts 5] [--minutes M]``
(the full routine takes 21 minutes of real time). Prints figures only; no assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from tests.pulse import PulseServer
from voicecoach.commands import Command
from voicecoach.hearing import KEYWORDS, CoachSpeech
from voicecoach.listening import Listener

RATE = 16000
REPO = Path(__file__).resolve().parent.parent
PERSON_VOICES = ("en-us+f3", "en-us+m3", "en-us+f1", "en-us+m7", "en+f2", "en-us+f5")
COACH_VOICE = "en-us"


class Speaker:
    """A PortAudio output stream into ``micsink`` that plays clips at chosen monotonic times."""

    def __init__(self) -> None:
        import sounddevice as sd

        self._lock = threading.Lock()
        self._pending: list[tuple[int, np.ndarray]] = []  # (start frame, clip)
        self._frame = 0  # the next frame the callback writes
        self._offset: float | None = None  # monotonic time of frame 0 as it sounds
        self._stream = sd.OutputStream(
            samplerate=RATE, channels=1, dtype="float32", callback=self._callback
        )
        self._stream.start()
        while self._offset is None:
            time.sleep(0.01)

    def _callback(self, outdata: Any, frames: int, time_info: Any, status: Any) -> None:
        now = time.monotonic()
        dac = now + (time_info.outputBufferDacTime - time_info.currentTime)
        offset = dac - self._frame / RATE
        # The lowest estimate is the one least delayed by the scheduler.
        self._offset = offset if self._offset is None else min(self._offset, offset)
        outdata.fill(0)
        first, last = self._frame, self._frame + frames
        with self._lock:
            keep = []
            for start, clip in self._pending:
                end = start + len(clip)
                if end <= first:
                    continue
                lo, hi = max(start, first), min(end, last)
                if lo < hi:
                    outdata[lo - first : hi - first, 0] += clip[lo - start : hi - start]
                keep.append((start, clip))
            self._pending = keep
        self._frame = last

    def play_at(self, clip: np.ndarray, at: float) -> float:
        """Play ``clip`` (float32, 16 kHz) from monotonic time ``at``; when it really starts."""
        assert self._offset is not None
        start = max(round((at - self._offset) * RATE), self._frame + RATE // 10)
        with self._lock:
            self._pending.append((start, clip.astype(np.float32)))
        return self._offset + start / RATE

    def close(self) -> None:
        self._stream.close()


def espeak(voice: str, text: str, folder: Path) -> tuple[np.ndarray, float]:
    """A phrase as float32 16 kHz samples, and where its sound ends (seconds into the clip)."""
    import soundfile

    from voicecoach.dsp import resample

    path = folder / "phrase.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True)
    data, rate = soundfile.read(str(path), dtype="float32")
    clip = resample(data, rate, RATE)
    loud = np.flatnonzero(np.abs(clip) > 0.01)
    return clip, (loud[-1] + 1) / RATE if len(loud) else 0.0


class Calls:
    """``on_command`` for the benchmark: each command with its monotonic time."""

    def __init__(self) -> None:
        self.calls: list[tuple[Command, float]] = []

    def __call__(self, command: Command) -> None:
        self.calls.append((command, time.monotonic()))


def wait_listening(listener: Listener) -> float:
    deadline = time.monotonic() + 20
    while not listener.listening:
        if listener.problem or time.monotonic() > deadline:
            raise SystemExit(f"the listener did not start: {listener.problem}")
        time.sleep(0.005)
    assert listener.ready_at is not None and listener.started_at is not None
    return listener.ready_at - listener.started_at


def bench_startup(starts: int) -> None:
    times = []
    start_calls = []
    for _ in range(starts):
        listener = Listener(Calls(), CoachSpeech())
        t = time.perf_counter()
        listener.start()
        start_calls.append(time.perf_counter() - t)
        times.append(wait_listening(listener))
        listener.close()
    ms = [1000 * t for t in times]
    print(
        f"start(): {1000 * statistics.median(start_calls):.1f} ms p50 "
        f"(max {1000 * max(start_calls):.1f}); start to listening: "
        f"{statistics.median(ms):.0f} ms p50, {min(ms):.0f}-{max(ms):.0f} ms over {starts}"
    )


def bench_latency(tries: int, word: str, folder: Path) -> None:
    clips = [espeak(v, word, folder) for v in PERSON_VOICES]
    calls = Calls()
    listener = Listener(calls, CoachSpeech())
    listener.start()
    wait_listening(listener)
    speaker = Speaker()
    ends = []
    for k in range(tries):
        clip, sound_end = clips[k % len(clips)]
        start = speaker.play_at(clip, time.monotonic() + 0.3)
        ends.append(start + sound_end)
        time.sleep(3.0)
    time.sleep(1.0)
    listener.close()
    speaker.close()
    latencies, errors, found = [], [], 0
    for end in ends:
        mine = [t for c, t in calls.calls if c == KEYWORDS[word] and end - 1.0 < t < end + 2.5]
        hits = [e for w, e, _ in listener.heard if w == word and end - 1.0 < e < end + 2.5]
        if mine:
            found += 1
            latencies.append(1000 * (mine[0] - end))
        if hits:
            errors.append(1000 * (hits[0] - end))
    print(f"'{word}' heard {found} of {tries} ({len(PERSON_VOICES)} voices)")
    if latencies:
        q = np.percentile(latencies, [50, 95])
        print(
            f"  word end -> on_command: p50 {q[0]:.0f} ms, p95 {q[1]:.0f} ms, "
            f"max {max(latencies):.0f} ms"
        )
    if errors:
        print(
            f"  reported end - true end: median {statistics.median(errors):+.0f} ms, "
            f"range {min(errors):+.0f} to {max(errors):+.0f} ms"
        )
    others = [w for w, _, _ in listener.heard if w != word]
    print(f"  other keywords heard: {others}")


def bench_routine(minutes: float | None, folder: Path) -> None:
    import soundfile

    from voicecoach.dsp import resample

    wav, timeline_path = folder / "routine.wav", folder / "timeline.json"
    routine = REPO / "scripts" / "back-basics.toml"
    render = ["render", str(routine), "-o", str(wav), "--timeline", str(timeline_path)]
    subprocess.run([sys.executable, "-m", "voicecoach", *render], check=True, capture_output=True)
    data, rate = soundfile.read(str(wav), dtype="float32")
    mono = resample(data.mean(axis=1), rate, RATE)
    if minutes is not None:
        mono = mono[: round(minutes * 60 * RATE)]
    duration = len(mono) / RATE
    # Every sound, as the player tells the listener: tones with no words.
    cues = [c for c in json.loads(timeline_path.read_text())["cues"] if c["at"] < duration]
    coach = CoachSpeech()
    calls = Calls()
    listener = Listener(calls, coach)
    listener.start()
    wait_listening(listener)
    pid = listener.child_pid
    assert pid is not None
    speaker = Speaker()
    cpu0, wall0 = _cpu_seconds(pid), time.monotonic()
    t0 = speaker.play_at(mono, time.monotonic() + 2.5)
    for cue in cues:
        # The player knows its plan ahead: feed each phrase 2 s before it sounds.
        wait = t0 + cue["at"] - 2.0 - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        coach.said(cue["text"] or "", t0 + cue["at"], t0 + cue["end"])
    time.sleep(max(0.0, t0 + duration + 1.5 - time.monotonic()))
    cpu = (_cpu_seconds(pid) - cpu0) / (time.monotonic() - wall0)
    listener.close()
    speaker.close()
    speech_s = sum(c["end"] - c["at"] for c in cues if c["kind"] == "speech")
    inside, outside = 0, []
    for _, end, _ in listener.heard:
        t = end - t0
        if any(c["at"] - 0.3 <= t <= c["end"] + 0.7 for c in cues):
            inside += 1
        else:
            outside.append(round(t, 1))
    acted: dict[str, int] = {}
    for word, _, was_acted in listener.heard:
        if was_acted:
            acted[word] = acted.get(word, 0) + 1
    raw: dict[str, int] = {}
    for word, _, _ in listener.heard:
        raw[word] = raw.get(word, 0) + 1
    hours = speech_s / 3600
    print(
        f"routine back-basics: {duration / 60:.1f} min played, {speech_s / 60:.1f} min of "
        f"coach speech in {sum(c['kind'] == 'speech' for c in cues)} phrases "
        f"(and {sum(c['kind'] == 'tone' for c in cues)} tones)"
    )
    print(f"  acted on: {acted or 'none'} (0 per hour of coach speech)" if not acted else "")
    if acted:
        print(f"  ACTED ON: {acted} = {sum(acted.values()) / hours:.0f} per hour of speech")
    print(
        f"  raw hits (no CoachSpeech): {sum(raw.values())} = "
        f"{sum(raw.values()) / hours:.0f} per hour of coach speech; by word {raw}"
    )
    print(f"  of which inside the coach's speech (+margins): {inside}; outside: {outside}")
    print(f"  commands sent: {[c.name for c, _ in calls.calls]}")
    print(f"child CPU while listening: {100 * cpu:.1f} % of one core")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=20)
    parser.add_argument("--word", action="append", choices=sorted(KEYWORDS))
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--minutes", type=float, default=None)
    parser.add_argument("--no-routine", action="store_true")
    args = parser.parse_args()
    # This process plays into the microphone; the listener's child records its monitor.
    os.environ["PULSE_SINK"] = "micsink"
    with PulseServer() as pulse, tempfile.TemporaryDirectory() as tmp:
        pulse.pactl(
            "load-module",
            "module-null-sink",
            "sink_name=micsink",
            "rate=16000",
            "channels=1",
            "norewinds=1",
        )
        pulse.pactl("set-default-source", "micsink.monitor")
        bench_startup(args.starts)
        for word in args.word or ["stop"]:
            bench_latency(args.tries, word, Path(tmp))
        if not args.no_routine:
            bench_routine(args.minutes, Path(tmp))


if __name__ == "__main__":
    main()
