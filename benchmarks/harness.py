"""Proof through the real audio path: cue timing, key latency, start-up and resources, with peers.

Everything plays in real time through a private PulseAudio null sink (``tests/pulse.py``)
whose monitor is captured sample by sample; nothing is simulated:

* **Timing**: ``voicecoach play`` runs a routine in a tmux terminal; every cue onset that
  follows silence is detected in the capture and compared with the same onset in
  ``voicecoach render`` of the routine (whose ``--timeline`` gives the as-played ``at``
  times). Errors are relative to the first cue (so the start-up delay is not counted);
  drift is the last cue's error minus the first's. Peers play the same intervals (the
  routine's segments, rounded to whole seconds) into their own null sink: ``termdown
  --voice`` one countdown per segment, and a shell loop ``espeak-ng WORD; sleep N``.
* **Control latency**: Space (pause) and x (stop, pain) are sent with ``tmux send-keys``
  while sound is playing; the time from ``send-keys`` returning to the first silence in
  the capture (the end of the fade) is measured. One session takes all the pause presses
  (each followed by a resume); every stop-pain press gets a fresh process.
* **Start-up**: launch to first non-silent sample, warm speech cache and cold (empty).
* **Resources**: CPU (share of one core) and peak RSS of the player from ``/proc``.

Run: ``python -m benchmarks.harness [--short]`` (short: a 40 s routine, 5 + 5 presses,
20 s of resources; full: the shipped big-three, 20 + 20 presses, 120 s). Prints one
table; ``--json FILE`` also writes every figure. ``tests/test_harness.py`` runs the short
form with sample-based assertions.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from benchmarks.onsets import (
    align,
    capture_position,
    capture_times,
    clock_ppm,
    detect_onsets,
    is_sounding,
    isolated_onsets,
    match_each,
    percentiles_ms,
    silence_start,
)
from tests.pulse import SINK_SAMPLERATE, Capture, PulseServer, available

REPO = Path(__file__).resolve().parent.parent
SR = SINK_SAMPLERATE
# A cue onset must follow this much silence to be measured (shorter gaps occur inside
# speech, and a cue that starts under another sound has no visible onset).
ONSET_GAP_S = 0.1
# voicecoach is sample-clocked: its onsets are matched this early or late of where the
# previous cue predicts (late is wider: an underrun delays every later cue by a block).
VC_WINDOW_S = 0.05
VC_LATE_S = 0.25
# Peers drift by whole speech lengths; they are followed cue by cue in a wide window
# (the shell loop adds a whole word, up to 0.9 s, per cue; termdown's cues are 1 s apart).
PEER_EARLY_S = 0.3
SHELL_LATE_S, TERMDOWN_LATE_S = 1.5, 0.7
PEER_GAP_S = 0.15
# Silence that counts as "stopped" after a key: pause stays paused 0.6 s; stop-pain has
# 0.25 s of silence before the safety message.
PAUSE_SILENCE_S = 0.3
STOP_SILENCE_S = 0.15
PAUSED_FOR_S = 0.6
SOUND_WAIT_S = 30.0

SHORT_ROUTINE = """\
# The harness's short routine: about 40 s, with tones, countdowns and speech.
[routine]
title = "Harness short"

[defaults]
get_ready = 3
between_reps = 2
countdown = 3
brace = false
breathing = false

[[exercise]]
name = "Curl-up"
kind = "hold"
hold = 5
reps = 3
"""

# One word per segment for the shell peer: what an interval script would say.
PEER_WORDS = {
    "intro": "Start",
    "get_ready": "Get ready",
    "work": "Go",
    "relax": "Relax",
    "switch": "Switch",
    "rest": "Rest",
    "outro": "Done",
}
TERMDOWN_SPOKEN = frozenset({5, 10, 20, 30, 60})
TERMDOWN_CRITICAL = 3


# --- Results -------------------------------------------------------------------------


@dataclass
class TimingRow:
    """One tool's cue timing: onsets matched of those scheduled, |error| stats, drift."""

    tool: str
    scheduled: int
    matched: int = 0
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    max_ms: float = float("nan")
    drift_ms: float = float("nan")
    span_s: float = 0.0
    shifts: int = 0  # times the error changed by more than 2 samples between cues
    note: str = ""
    errors_samples: list[int] = field(default_factory=list)


@dataclass
class LatencyRow:
    """Key-to-silence latencies (ms) of valid presses; presses made in silence are skipped."""

    key: str
    latencies_ms: list[float] = field(default_factory=list)
    skipped: int = 0
    unresolved: int = 0
    send_keys_ms: list[float] = field(default_factory=list)

    def stats(self) -> tuple[float, float, float]:
        """p50, p99 and max in ms."""
        return percentiles_ms(np.array(self.latencies_ms) / 1000.0)


@dataclass
class Report:
    """Every figure of one run."""

    mode: str
    routine: str
    timing: list[TimingRow] = field(default_factory=list)
    latency: list[LatencyRow] = field(default_factory=list)
    startup_warm_ms: list[float] = field(default_factory=list)
    startup_cold_ms: list[float] = field(default_factory=list)
    cpu_percent: float = float("nan")
    peak_rss_mb: float = float("nan")
    resources_window_s: float = 0.0
    resources_method: str = "/proc/<pid>/stat (utime+stime) and /proc/<pid>/status (VmHWM)"
    sink_ppm: float = float("nan")  # sample clock of voicecoach's sink vs monotonic
    render_tone_bias_ms: float = float("nan")
    underflow_hint: str = ""  # the player's own record of its underruns in the timing run
    machine: str = ""


# --- tmux ----------------------------------------------------------------------------


class Tmux:
    """A private tmux server (its own socket) for terminals that feel like a real one."""

    def __init__(self, directory: Path) -> None:
        self.socket = directory / "tmux.sock"

    def _run(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(
            ["tmux", "-S", str(self.socket), *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def new(self, name: str, argv: Sequence[str], env: dict[str, str]) -> int:
        """Start ``argv`` in a detached 100x30 session; return its pid (``exec``'d in the pane)."""
        assignments = " ".join(shlex.quote(f"{k}={v}") for k, v in env.items())
        command = f"exec env {assignments} {shlex.join(argv)}"
        out = self._run(
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            "100",
            "-y",
            "30",
            "-P",
            "-F",
            "#{pane_pid}",
            command,
        )
        return int(out.strip())

    def send(self, name: str, key: str) -> tuple[float, float]:
        """Send one key; ``(monotonic before, monotonic after)`` the send-keys call."""
        before = time.monotonic()
        self._run("send-keys", "-t", name, key, check=False)
        return before, time.monotonic()

    def kill(self, name: str) -> None:
        """End a session (its process gets SIGHUP)."""
        self._run("kill-session", "-t", name, check=False)

    def kill_server(self) -> None:
        """End this private server and every session in it."""
        self._run("kill-server", check=False)


def wait_exit(pid: int, timeout_s: float) -> bool:
    """Wait for a process that is not our child (a tmux pane) to exit."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return True
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z"):
                return True
        time.sleep(0.1)
    return False


# --- Capture helpers -------------------------------------------------------------------


def recent(capture: Capture, seconds: float) -> tuple[np.ndarray, int]:
    """The last ``seconds`` of a live capture and the index of its first sample.

    Reads only the newest chunks: joining a long capture at every poll would cost more
    CPU than the player being measured. (Uses the helper's buffer directly.)
    """
    want = round(seconds * SR) * 2
    with capture._lock:
        chunks: list[bytes] = []
        size = 0
        for chunk in reversed(capture._chunks):
            chunks.append(chunk)
            size += len(chunk)
            if size >= want:
                break
        total = capture.log[-1][1] if capture.log else 0
    data = b"".join(reversed(chunks))
    data = data[len(data) - min(len(data), want) :]
    data = data[len(data) % 2 :]
    x = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    return x, total - x.size


def sample_at(capture: Capture, monotonic_s: float) -> int:
    """The capture index that sounded at ``monotonic_s`` (local clock mapping)."""
    with capture._lock:
        log = list(capture.log)
    return round(capture_position(log, monotonic_s, SR) * SR)


def time_of(capture: Capture, index: int) -> float:
    """Monotonic time at which capture ``index`` sounded (local clock mapping)."""
    with capture._lock:
        log = list(capture.log)
    return float(capture_times(log, np.array([index / SR]), SR)[0])


def wait_for_sound(
    capture: Capture, since_s: float, timeout_s: float = SOUND_WAIT_S
) -> float | None:
    """Monotonic time of the first loud sample sounded after ``since_s``; ``None`` on timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        x, first = recent(capture, 1.0)
        if x.size and capture.log:
            start = sample_at(capture, since_s)
            lo = max(0, start - first)
            loud = np.flatnonzero(np.abs(x[lo:]) > 0.003)
            if loud.size:
                return time_of(capture, first + lo + int(loud[0]))
        time.sleep(0.01)
    return None


def wait_until_sounding(capture: Capture, timeout_s: float = SOUND_WAIT_S) -> bool:
    """Block until every 20 ms of the last 100 ms of the capture held sound.

    A sound that long is speech under way (a tone lasts 50 to 150 ms), so it is still
    playing when the key lands even though the capture lags the sink by 10 to 20 ms.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        x, _ = recent(capture, 0.1)
        if x.size >= SR // 10:
            windows = np.abs(x[: x.size // 5 * 5]).reshape(5, -1).max(axis=1)
            if np.all(windows > 0.003):
                return True
        time.sleep(0.005)
    return False


# --- The setup ---------------------------------------------------------------------------


class Bench:
    """Temp dirs, the routine, warm cache and the tmux server shared by every measurement."""

    def __init__(self, routine: str, work: Path) -> None:
        self.work = work
        self.routine = routine
        self.cache = work / "cache"
        self.data = work / "data"
        self.tmux = Tmux(work)
        self.python = sys.executable
        self.extra_env: dict[str, str] = {}  # more for every voicecoach process (a bus)
        self._names = 0

    def env(self, pulse: PulseServer, cache: Path | None = None) -> dict[str, str]:
        """What a voicecoach process needs: the private server and our temp dirs."""
        return {
            "PULSE_SERVER": pulse.server,
            "PULSE_RUNTIME_PATH": pulse.env["PULSE_RUNTIME_PATH"],
            "PULSE_COOKIE": pulse.env["PULSE_COOKIE"],
            "VOICECOACH_CACHE_DIR": str(cache or self.cache),
            "VOICECOACH_DATA_DIR": str(self.data),
            "PYTHONPATH": str(REPO),
            "TERM": "xterm-256color",
            **self.extra_env,
        }

    def play_argv(self) -> list[str]:
        """``voicecoach play`` of the routine, as written (history must not adapt it)."""
        return [self.python, "-m", "voicecoach", "play", self.routine, "--as-written"]

    def name(self, prefix: str) -> str:
        """A fresh tmux session name."""
        self._names += 1
        return f"{prefix}{self._names}"

    def render(self) -> tuple[np.ndarray, dict[str, Any]]:
        """Render the routine (warming the cache); mono samples and the as-played timeline."""
        wav, js = self.work / "render.wav", self.work / "render.json"
        env = dict(
            os.environ,
            VOICECOACH_CACHE_DIR=str(self.cache),
            VOICECOACH_DATA_DIR=str(self.data),
            PYTHONPATH=str(REPO),
        )
        done = subprocess.run(
            [
                self.python,
                "-m",
                "voicecoach",
                "render",
                self.routine,
                "-o",
                str(wav),
                "--timeline",
                str(js),
                "--as-written",
            ],
            env=env,
            capture_output=True,
            text=True,
            cwd=REPO,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"voicecoach render failed:\n{done.stderr}")
        samples, sr = soundfile.read(wav, dtype="float32", always_2d=True)
        if sr != SR:
            raise RuntimeError(f"render is {sr} Hz, expected {SR}")
        return samples.mean(axis=1), json.loads(js.read_text())


# --- Timing --------------------------------------------------------------------------


def reference_onsets(
    render: np.ndarray, timeline: dict[str, Any]
) -> tuple[list[float], np.ndarray, np.ndarray]:
    """Measurable onsets of the schedule, in seconds as the detector sees them in the render.

    The detector's own bias (a soft consonant crosses the threshold a few ms after the
    clip starts) is the same in the render and the capture, so comparing the two isolates
    the audio path. Returns the scheduled onsets (``at``), and the pairs (``at``, onset in
    the render) found for them, which also give the detector's bias against ``at``.
    """
    scheduled = isolated_onsets(timeline["cues"], min_gap_s=ONSET_GAP_S)
    # The session starts in silence: the render's sample 0 is the moment play begins,
    # and the first phrase may sound at once, so pad the silence before it back in.
    pad = round(ONSET_GAP_S * SR) + 1
    padded = np.concatenate([np.zeros(pad, dtype=render.dtype), render])
    found = (detect_onsets(padded, SR, min_gap_s=ONSET_GAP_S) - pad) / SR
    at, in_render = match_each(scheduled, found, early_s=0.001, late_s=VC_WINDOW_S)
    return scheduled, at, in_render


def timing_row(
    tool: str,
    reference_s: Sequence[float],
    capture: np.ndarray,
    *,
    gap_s: float,
    early_s: float,
    late_s: float,
    note: str = "",
    log: Sequence[tuple[float, int]] | None = None,
) -> TimingRow:
    """Detect onsets in ``capture`` and align them to ``reference_s``.

    With the capture's read ``log``, onsets are first mapped to monotonic time: for a
    schedule kept by the wall clock rather than by the sink's sample clock.
    """
    found = detect_onsets(capture, SR, min_gap_s=gap_s) / SR
    if log is not None and found.size:
        found = capture_times(log, found, SR)
    result = align(reference_s, found, early_s=early_s, late_s=late_s)
    p50, p99, worst = percentiles_ms(result.errors_s)
    span = float(result.reference_s[-1] - result.reference_s[0]) if result.matched else 0.0
    errors = [round(e * SR) for e in result.errors_s]
    shifts = int(np.count_nonzero(np.abs(np.diff(errors)) > 2)) if errors else 0
    return TimingRow(
        tool,
        len(reference_s),
        result.matched,
        p50,
        p99,
        worst,
        result.drift_s * 1000.0,
        span,
        shifts,
        note,
        errors,
    )


@dataclass
class Usage:
    """CPU and memory of a process tree between two snapshots."""

    cpu_percent: float
    peak_rss_mb: float


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError):
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _cpu_ticks(pids: Sequence[int]) -> int:
    total = 0
    for p in pids:
        with contextlib.suppress(OSError, IndexError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total


def _peak_rss_kb(pids: Sequence[int]) -> int:
    peak = 0
    for p in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak += int(line.split()[1])
    return peak


def measure_usage(pid: int, seconds: float) -> Usage:
    """CPU share of one core and summed peak RSS of ``pid``'s tree over ``seconds``."""
    pids = _tree(pid)
    t0, c0 = time.monotonic(), _cpu_ticks(pids)
    time.sleep(seconds)
    pids = _tree(pid)
    t1, c1 = time.monotonic(), _cpu_ticks(pids)
    ticks = os.sysconf("SC_CLK_TCK")
    return Usage(100.0 * (c1 - c0) / ticks / (t1 - t0), _peak_rss_kb(pids) / 1024.0)


def run_voicecoach_timing(
    bench: Bench, pulse: PulseServer, duration_s: float, resources_s: float, out: dict[str, Any]
) -> None:
    """Play the whole routine in tmux, capture it, and measure resources meanwhile."""
    capture = pulse.start_capture()
    time.sleep(0.3)
    name = bench.name("timing")
    launched = time.monotonic()
    pid = bench.tmux.new(name, bench.play_argv(), bench.env(pulse))
    first = wait_for_sound(capture, launched)
    if first is not None:
        out["startup_warm_ms"] = (first - launched) * 1000.0
        time.sleep(1.0)
        usage = measure_usage(pid, min(resources_s, max(1.0, duration_s - 3.0)))
        out["usage"] = usage
    wait_exit(pid, duration_s + 60.0)
    time.sleep(0.3)
    bench.tmux.kill(name)
    capture.stop()
    out["samples"] = capture.samples()
    out["log"] = list(capture.log)
    out["ppm"] = clock_ppm(capture.log, SR)
    out["dropouts"] = reported_dropouts(bench.data)


def reported_dropouts(data: Path) -> str:
    """What the player itself recorded of its last session's underruns (for the table).

    A cue that shifts in the capture while the player reported no underrun was placed
    wrong by us; one that shifts with an underrun reported was a starved machine.
    """
    try:
        con = sqlite3.connect(f"file:{data / 'history.sqlite3'}?mode=ro", uri=True)
        try:
            row = con.execute(
                "SELECT underruns, lost_ms, caught_up_ms FROM sessions ORDER BY id DESC LIMIT 1"
            ).fetchone()
        finally:
            con.close()
    except sqlite3.Error as error:
        return f"player's own record unreadable ({error})"
    if row is None:
        return "player recorded no session"
    underruns, lost, caught = (v or 0 for v in row)
    return f"player reported {underruns} underruns: {lost:.1f} ms lost, {caught:.1f} ms made up"


# --- Peers ---------------------------------------------------------------------------


def peer_intervals(timeline: dict[str, Any]) -> list[tuple[str, int]]:
    """The routine's segments as (phase, whole seconds): what an interval timer would count."""
    return [(s["phase"], max(1, round(s["end"] - s["start"]))) for s in timeline["segments"]]


def shell_schedule(intervals: Sequence[tuple[str, int]]) -> tuple[str, list[float]]:
    """A ``espeak-ng WORD; sleep N`` script and the onsets it intends (seconds from its start)."""
    lines, onsets, t = ["set -e"], [], 0.0
    for phase, seconds in intervals:
        lines.append(f"espeak-ng {shlex.quote(PEER_WORDS.get(phase, phase))}")
        lines.append(f"sleep {seconds}")
        onsets.append(t)
        t += seconds
    return "\n".join(lines) + "\n", onsets


def termdown_schedule(
    intervals: Sequence[tuple[str, int]], termdown: str
) -> tuple[str, list[float]]:
    """One ``termdown N --voice en`` per interval, and when each announcement is due.

    termdown announces "N seconds" when the whole seconds left are 5, 10, 20, 30 or 60,
    and each of the last ``--critical`` (3) seconds on its own.
    """
    lines, onsets, t = ["set -e"], [], 0.0
    for _, seconds in intervals:
        lines.append(f"{shlex.quote(termdown)} {seconds} --voice en -c {TERMDOWN_CRITICAL} -B")
        for left in range(seconds, 0, -1):
            if left <= TERMDOWN_CRITICAL or left in TERMDOWN_SPOKEN:
                onsets.append(t + seconds - left)
        t += seconds
    return "\n".join(lines) + "\n", onsets


def run_peer(
    bench: Bench, pulse: PulseServer, script: str, timeout_s: float, out: dict[str, Any]
) -> None:
    """Run a peer's script in tmux into ``pulse`` and keep its capture."""
    path = bench.work / f"peer-{bench.name('script')}.sh"
    path.write_text(script)
    capture = pulse.start_capture()
    time.sleep(0.3)
    name = bench.name("peer")
    pid = bench.tmux.new(name, ["sh", str(path)], bench.env(pulse))
    wait_exit(pid, timeout_s)
    time.sleep(1.5)  # the last announcement runs in the background
    bench.tmux.kill(name)
    capture.stop()
    out["samples"] = capture.samples()
    out["log"] = list(capture.log)


def find_termdown(explicit: str | None) -> str | None:
    """termdown from ``--termdown``, PATH, or the throwaway venv the README suggests."""
    for candidate in (explicit, shutil.which("termdown"), "/tmp/termdown-venv/bin/termdown"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


# --- Keys ----------------------------------------------------------------------------


@dataclass
class Press:
    """One key sent at ``sent_s`` (monotonic after send-keys returned)."""

    key: str
    before_s: float
    sent_s: float


def measure_presses(
    capture: Capture, presses: Sequence[Press], row: LatencyRow, min_silence_s: float
) -> None:
    """Time from each press to the start of the first ``min_silence_s`` silence after it."""
    x = capture.samples()
    for p in presses:
        k = sample_at(capture, p.sent_s)
        row.send_keys_ms.append((p.sent_s - p.before_s) * 1000.0)
        if not is_sounding(x, k, SR):
            row.skipped += 1
            continue
        end = silence_start(x, k, SR, min_silence_s=min_silence_s)
        if end is None:
            row.unresolved += 1
            continue
        if end <= k:  # the sound had ended by itself just before the key landed
            row.skipped += 1
            continue
        row.latencies_ms.append((end - k) / SR * 1000.0)


def press_counts(capture: Capture, sent_s: float, min_silence_s: float) -> bool:
    """Whether a press just made was made during sound and the silence after it was seen."""
    x, first = recent(capture, 2.0)
    k = sample_at(capture, sent_s) - first
    if not 0 < k < x.size or not is_sounding(x, k, SR):
        return False
    end = silence_start(x, k, SR, min_silence_s=min_silence_s)
    return end is not None and end > k


# A control: given the tmux session's name, press; returns monotonic (before, after) the send.
Control = Callable[[str], tuple[float, float]]


def pause_presses(
    bench: Bench,
    pulse: PulseServer,
    count: int,
    rng: random.Random,
    *,
    label: str = "Space (pause)",
    pause: Control | None = None,
    resume: Control | None = None,
) -> LatencyRow:
    """Space (or ``pause``) at random moments while sound plays, each followed by a resume."""
    pause = pause or (lambda name: bench.tmux.send(name, "Space"))
    resume = resume or pause
    row = LatencyRow(label)
    capture = pulse.start_capture()
    time.sleep(0.3)
    presses: list[Press] = []
    name, pid = "", -1
    attempts = 0
    valid = 0
    while valid < count and attempts < count * 4:
        attempts += 1
        if pid < 0 or not Path(f"/proc/{pid}").exists():
            if name:
                bench.tmux.kill(name)
            name = bench.name("pause")
            launched = time.monotonic()
            pid = bench.tmux.new(name, bench.play_argv(), bench.env(pulse))
            if wait_for_sound(capture, launched) is None:
                break
        time.sleep(rng.uniform(0.2, 1.5))
        if not wait_until_sounding(capture):
            continue
        before, sent = pause(name)
        presses.append(Press(label, before, sent))
        time.sleep(PAUSED_FOR_S)
        valid += press_counts(capture, sent, PAUSE_SILENCE_S)
        resume(name)
        time.sleep(0.3)
    bench.tmux.kill(name)
    capture.stop()
    measure_presses(capture, presses, row, PAUSE_SILENCE_S)
    return row


def stop_presses(
    bench: Bench, pulse: PulseServer, count: int, rng: random.Random, startups: list[float]
) -> LatencyRow:
    """x (stop, pain) in a fresh process each time; launch-to-sound is kept as warm start-up."""
    row = LatencyRow("x (stop, pain)")
    capture = pulse.start_capture()
    time.sleep(0.3)
    presses: list[Press] = []
    valid = 0
    for _ in range(count * 3):
        if valid >= count:
            break
        name = bench.name("stop")
        launched = time.monotonic()
        bench.tmux.new(name, bench.play_argv(), bench.env(pulse))
        first = wait_for_sound(capture, launched)
        if first is None:
            bench.tmux.kill(name)
            continue
        startups.append((first - launched) * 1000.0)
        time.sleep(rng.uniform(0.1, 2.5))
        if wait_until_sounding(capture):
            before, sent = bench.tmux.send(name, "x")
            presses.append(Press("x", before, sent))
            time.sleep(0.5)
            valid += press_counts(capture, sent, STOP_SILENCE_S)
        bench.tmux.kill(name)
        time.sleep(0.2)
    capture.stop()
    measure_presses(capture, presses, row, STOP_SILENCE_S)
    return row


def cold_startups(bench: Bench, pulse: PulseServer, count: int) -> list[float]:
    """Launch-to-sound with an empty speech cache (every phrase synthesized first)."""
    capture = pulse.start_capture()
    time.sleep(0.3)
    results = []
    for _ in range(count):
        cache = Path(tempfile.mkdtemp(prefix="cold-", dir=bench.work))
        name = bench.name("cold")
        launched = time.monotonic()
        bench.tmux.new(name, bench.play_argv(), bench.env(pulse, cache))
        first = wait_for_sound(capture, launched, timeout_s=120.0)
        bench.tmux.kill(name)
        if first is not None:
            results.append((first - launched) * 1000.0)
        time.sleep(0.3)
    capture.stop()
    return results


# --- The run ---------------------------------------------------------------------------


@contextlib.contextmanager
def servers(count: int) -> Iterator[list[PulseServer]]:
    """``count`` private PulseAudio servers, stopped on exit whatever happens."""
    started: list[PulseServer] = []
    try:
        for _ in range(count):
            started.append(PulseServer().start())
        yield started
    finally:
        for server in reversed(started):
            server.stop()


def run(
    *,
    short: bool,
    routine: str | None = None,
    presses: int | None = None,
    resources_s: float | None = None,
    termdown: str | None = None,
    peers: bool = True,
    seed: int = 1,
    overlap: bool | None = None,
    timing: bool = True,
) -> Report:
    """Run every measurement; see the module docstring. Returns the figures.

    ``overlap`` plays the peers at the same time as voicecoach (default: in the short form
    only); ``None`` for any other argument picks the form's default.
    """
    if not available() or shutil.which("tmux") is None:
        raise RuntimeError("needs pulseaudio, pactl, pacat, parec and tmux")
    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="voicecoach-harness-"))
    if routine is None:
        if short:
            routine = str(work / "short.toml")
            Path(routine).write_text(SHORT_ROUTINE)
        else:
            routine = "big-three"
    n_press = presses if presses is not None else (5 if short else 20)
    res_s = resources_s if resources_s is not None else (20.0 if short else 120.0)
    report = Report("short" if short else "full", routine, resources_window_s=res_s)
    report.machine = (
        f"{os.uname().sysname} {os.uname().release} {os.uname().machine}, {os.cpu_count()} CPUs"
    )
    bench = Bench(routine, work)
    try:
        _run(
            bench,
            report,
            rng,
            n_press,
            res_s,
            find_termdown(termdown),
            peers,
            overlap=short if overlap is None else overlap,
            timing=timing,
        )
    finally:
        bench.tmux.kill_server()
        shutil.rmtree(work, ignore_errors=True)
    return report


def _run(
    bench: Bench,
    report: Report,
    rng: random.Random,
    n_press: int,
    res_s: float,
    termdown: str | None,
    peers: bool,
    overlap: bool,
    timing: bool = True,
) -> None:
    with servers(3 if peers else 1) as pulses:
        # Cold first: the render afterwards warms the shared cache for everything else.
        report.startup_cold_ms = cold_startups(bench, pulses[0], 1 if n_press <= 5 else 3)
        render, timeline = bench.render()
        scheduled, at, in_render = reference_onsets(render, timeline)
        tones = {float(c["at"]) for c in timeline["cues"] if c["kind"] == "tone"}
        bias = [d - r for r, d in zip(at, in_render, strict=True) if float(r) in tones]
        report.render_tone_bias_ms = max((abs(b) * 1000 for b in bias), default=float("nan"))
        duration = float(timeline["duration"])
        intervals = peer_intervals(timeline)

        # Each tool plays into its own null sink. The short form runs all three at once
        # (to fit a minute); the full form gives voicecoach the machine to itself first.
        results: dict[str, dict[str, Any]] = {"vc": {}, "shell": {}, "termdown": {}}
        threads = [
            threading.Thread(
                target=run_voicecoach_timing,
                args=(bench, pulses[0], duration, res_s, results["vc"]),
            )
        ]
        if not timing:
            threads = []
        elif not overlap:
            threads[0].start()
            threads[0].join()
        shell_script, shell_onsets = shell_schedule(intervals)
        if peers:
            threads.append(
                threading.Thread(
                    target=run_peer,
                    args=(bench, pulses[1], shell_script, duration * 2 + 60, results["shell"]),
                )
            )
        td_onsets: list[float] = []
        if peers and termdown:
            td_script, td_onsets = termdown_schedule(intervals, termdown)
            threads.append(
                threading.Thread(
                    target=run_peer,
                    args=(bench, pulses[2], td_script, duration * 2 + 60, results["termdown"]),
                )
            )
        for t in threads:
            if not t.is_alive() and t.ident is None:
                t.start()
        for t in threads:
            t.join()

        vc = results["vc"]
        if "samples" in vc:
            report.timing.append(
                timing_row(
                    "voicecoach play",
                    list(in_render),
                    vc["samples"],
                    gap_s=ONSET_GAP_S,
                    early_s=VC_WINDOW_S,
                    late_s=VC_LATE_S,
                    note=f"sample clock; {len(in_render)} of {len(scheduled)} onsets after "
                    f"silence found in the render; {len(timeline['cues'])} cues",
                )
            )
            report.timing.append(
                timing_row(
                    "voicecoach (wall)",
                    list(in_render),
                    vc["samples"],
                    gap_s=ONSET_GAP_S,
                    early_s=VC_WINDOW_S,
                    late_s=VC_LATE_S,
                    log=vc["log"],
                    note="same onsets on CLOCK_MONOTONIC: includes the sink's clock error",
                )
            )
            report.sink_ppm = vc["ppm"]
            report.underflow_hint = vc["dropouts"]
        if "startup_warm_ms" in vc:
            report.startup_warm_ms.append(vc["startup_warm_ms"])
        if "usage" in vc:
            report.cpu_percent = vc["usage"].cpu_percent
            report.peak_rss_mb = vc["usage"].peak_rss_mb
        if peers:
            report.timing.append(
                timing_row(
                    "espeak-ng; sleep N",
                    shell_onsets,
                    results["shell"].get("samples", np.zeros(0)),
                    gap_s=PEER_GAP_S,
                    early_s=PEER_EARLY_S,
                    late_s=SHELL_LATE_S,
                    log=results["shell"].get("log"),
                    note="shell loop, one word per interval",
                )
            )
            if termdown:
                report.timing.append(
                    timing_row(
                        "termdown --voice",
                        td_onsets,
                        results["termdown"].get("samples", np.zeros(0)),
                        gap_s=PEER_GAP_S,
                        early_s=PEER_EARLY_S,
                        late_s=TERMDOWN_LATE_S,
                        log=results["termdown"].get("log"),
                        note="one termdown per interval",
                    )
                )
            else:
                report.timing.append(TimingRow("termdown --voice", 0, note="not installed"))

        report.latency.append(pause_presses(bench, pulses[0], n_press, rng))
        report.latency.append(stop_presses(bench, pulses[0], n_press, rng, report.startup_warm_ms))


# --- Output --------------------------------------------------------------------------


def _f(value: float, digits: int = 1) -> str:
    return "n/a" if value != value else f"{value:.{digits}f}"


def format_report(report: Report) -> str:
    """The one table (timing, then keys, start-up and resources against the targets)."""
    lines = [f"voicecoach harness, {report.mode} form: {report.routine} ({report.machine})", ""]
    head = f"{'tool':<22} {'cues':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'drift ms':>9}"
    lines += [head, "-" * len(head)]
    for r in report.timing:
        cues = f"{r.matched}/{r.scheduled}"
        shifts = f"{r.shifts} steps; " if r.tool.startswith("voicecoach") else ""
        lines.append(
            f"{r.tool:<22} {cues:>9} {_f(r.p50_ms, 2):>8} {_f(r.p99_ms, 2):>8} "
            f"{_f(r.max_ms, 2):>8} {_f(r.drift_ms, 2):>9}   {shifts}{r.note}"
        )
    lines.append("")
    head = f"{'key to silence':<22} {'presses':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    lines += [head, "-" * len(head)]
    for k in report.latency:
        p50, p99, worst = k.stats()
        extra = (
            f"  ({k.skipped} pressed in silence, {k.unresolved} unresolved)"
            if k.skipped or k.unresolved
            else ""
        )
        lines.append(
            f"{k.key:<22} {len(k.latencies_ms):>9} {_f(p50):>8} {_f(p99):>8} {_f(worst):>8}{extra}"
        )
    lines.append("")
    warm = np.array(report.startup_warm_ms)
    cold = np.array(report.startup_cold_ms)
    lines.append(
        f"start to first sound: warm p50 {_f(np.median(warm) if warm.size else np.nan, 0)}"
        f" ms, max {_f(warm.max() if warm.size else np.nan, 0)} ms ({warm.size} runs); "
        f"cold {', '.join(_f(c, 0) for c in cold) or 'n/a'} ms"
    )
    lines.append(
        f"resources over {report.resources_window_s:g} s of play: CPU "
        f"{_f(report.cpu_percent)} % of one core, peak RSS {_f(report.peak_rss_mb)} MB "
        f"({report.resources_method})"
    )
    lines.append(
        f"sink clock vs CLOCK_MONOTONIC: {_f(report.sink_ppm)} ppm; detector bias on "
        f"render tones vs timeline 'at': max {_f(report.render_tone_bias_ms, 2)} ms"
    )
    if report.underflow_hint:
        lines.append(f"timing run: {report.underflow_hint}")
    lines += ["", "targets:"] + [f"  {t}" for t in targets(report)]
    return "\n".join(lines)


def targets(report: Report) -> list[str]:
    """Each target with the measured figure and ok / MISSED."""
    vc = next((r for r in report.timing if r.tool == "voicecoach play"), None)
    out = []

    def check(label: str, value: float, limit: float, unit: str) -> None:
        verdict = "n/a" if value != value else ("ok" if value < limit else "MISSED")
        out.append(f"{label}: {_f(value, 2)} {unit} (< {limit:g}) {verdict}")

    if vc is not None:
        check("onset error p99", vc.p99_ms, 5.0, "ms")
        per10 = abs(vc.drift_ms) * (600.0 / vc.span_s) if vc.span_s else float("nan")
        check("drift scaled to 10 minutes", per10, 1.0, "ms")
    for k in report.latency:
        check(f"{k.key} silence p99", k.stats()[1], 30.0, "ms")
    warm = report.startup_warm_ms
    check(
        "warm start to first sound p50",
        float(np.median(warm)) if warm else float("nan"),
        700.0,
        "ms",
    )
    check("CPU", report.cpu_percent, 3.0, "% of one core")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m benchmarks.harness [--short]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="the ~1 minute CI form")
    parser.add_argument("--routine", help="routine file or shipped name (default: by form)")
    parser.add_argument("--presses", type=int, help="presses per key (default 5 / 20)")
    parser.add_argument("--resources-s", type=float, help="resource window (default 20 / 120)")
    parser.add_argument("--termdown", help="path to termdown (default: PATH or /tmp venv)")
    parser.add_argument("--no-peers", action="store_true", help="measure voicecoach only")
    parser.add_argument(
        "--keys-only",
        action="store_true",
        help="only key latency and start-up (no timing run, no peers)",
    )
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C so the servers and tmux are always cleaned up.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    report = run(
        short=args.short,
        routine=args.routine,
        presses=args.presses,
        resources_s=args.resources_s,
        termdown=args.termdown,
        peers=not (args.no_peers or args.keys_only),
        timing=not args.keys_only,
    )
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
