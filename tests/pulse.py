"""A private PulseAudio server with a null sink, for real-audio tests and benchmarks.

The recipe is the one measured in /work/shared/AUDIO.md: a null sink ``cuesink`` at
48 kHz stereo with ``norewinds=1`` (else its clock runs 400 to 900 ppm fast once a
PortAudio stream connects), set as the default sink, plus a keep-alive ``pacat``
client (else every new stream stalls 1 to 2 s before audio flows). One deliberate
difference: the daemon runs in the foreground as our own child (``--daemonize=no``,
no pid file) with its runtime and state directories inside the temp dir, so several
servers (parallel test runs, other helpers) never share a pid file and ``stop()`` ends
exactly the processes it started.

Usage::

    with PulseServer() as pulse:          # sets os.environ["PULSE_SERVER"]
        capture = pulse.start_capture()
        ...play through sounddevice ('pulse' / 'default' devices)...
        capture.stop()
        samples = capture.samples()       # float32, mono, 48 kHz
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import numpy as np

SINK_NAME = "cuesink"
SINK_SAMPLERATE = 48000
SINK_CHANNELS = 2
READY_TIMEOUT_S = 10.0
# Bytes per parec read: 10 ms of s16 mono, so arrival times resolve the sink's clock.
_READ_BYTES = 960


class PulseError(RuntimeError):
    """The private server could not be started; the message carries its log."""


def available() -> bool:
    """Whether the PulseAudio daemon and its client tools are installed."""
    return all(shutil.which(tool) for tool in ("pulseaudio", "pactl", "pacat", "parec"))


class Capture:
    """``parec --raw`` from ``cuesink.monitor``: s16le, 48 kHz, mono, timestamped per read.

    Each read is logged as ``(time.monotonic(), samples_so_far)`` so that capture sample
    indices can be mapped to the monotonic clock (see :meth:`t0_monotonic`).
    """

    def __init__(self, env: dict[str, str], path: Path | None = None) -> None:
        self.path = path
        self.samplerate = SINK_SAMPLERATE
        self.log: list[tuple[float, int]] = []
        self._chunks: list[bytes] = []
        self._lock = threading.Lock()
        self._proc = subprocess.Popen(
            [
                "parec",
                f"--device={SINK_NAME}.monitor",
                "--raw",
                "--format=s16le",
                f"--rate={SINK_SAMPLERATE}",
                "--channels=1",
                # Small fragments: frequent reads give tight arrival timestamps.
                "--latency-msec=10",
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._thread = threading.Thread(target=self._read_loop, name="parec-reader", daemon=True)
        self._thread.start()

    def _read_loop(self) -> None:
        assert self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        nbytes = 0
        while True:
            try:
                chunk = os.read(fd, _READ_BYTES)
            except OSError:
                break
            arrival = time.monotonic()
            if not chunk:
                break
            nbytes += len(chunk)
            with self._lock:
                self._chunks.append(chunk)
                # Whole samples only: a read may end on an odd byte.
                self.log.append((arrival, nbytes // 2))

    def wait_for_samples(self, count: int, timeout_s: float = 10.0) -> bool:
        """Block until at least ``count`` samples were captured; ``False`` on timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if self.log and self.log[-1][1] >= count:
                    return True
            time.sleep(0.01)
        return False

    def samples(self) -> np.ndarray:
        """Everything captured so far, float32 in [-1, 1), shape ``(samples,)``."""
        with self._lock:
            data = b"".join(self._chunks)
        data = data[: len(data) // 2 * 2]
        return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0

    def t0_monotonic(self) -> float:
        """``time.monotonic()`` at which capture sample 0 sounded.

        The lower envelope of ``arrival - samples / samplerate`` over all reads: a read
        can only arrive after its last sample sounded, never before.
        """
        with self._lock:
            if not self.log:
                raise RuntimeError("nothing captured yet")
            return min(t - n / self.samplerate for t, n in self.log)

    def stop(self) -> None:
        """End ``parec``, join the reader, and write ``path`` (WAV) if one was given."""
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._thread.join(timeout=5)
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        if self.path is not None:
            import soundfile

            soundfile.write(self.path, self.samples(), self.samplerate, subtype="PCM_16")


class PulseServer:
    """A private PulseAudio daemon with the null sink ``cuesink`` as default sink.

    Entering sets ``os.environ["PULSE_SERVER"]`` (restored on stop) so that PortAudio in
    this process finds it; ``env`` is a full environment for subprocesses.
    """

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="voicecoach-pulse-"))
        self.socket = self.dir / "native"
        self.server = f"unix:{self.socket}"
        self.log_path = self.dir / "pa.log"
        self.env = dict(os.environ)
        self.env.update(
            PULSE_SERVER=self.server,
            # Keep every file the daemon and clients write inside our temp dir.
            PULSE_RUNTIME_PATH=str(self.dir / "runtime"),
            PULSE_STATE_PATH=str(self.dir / "state"),
            PULSE_COOKIE=str(self.dir / "cookie"),
        )
        self._daemon: subprocess.Popen[bytes] | None = None
        self._keepalive: subprocess.Popen[bytes] | None = None
        self._captures: list[Capture] = []
        self._saved_env: dict[str, str | None] = {}

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> PulseServer:
        """Start the daemon and keep-alive client; wait (at most ~10 s) until ready."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        log = open(self.log_path, "wb")  # noqa: SIM115 - the daemon owns it until stop()
        self._daemon = subprocess.Popen(
            [
                "pulseaudio",
                "--daemonize=no",
                "-n",
                "--exit-idle-time=-1",
                "--use-pid-file=no",
                "--disallow-exit=no",
                "--log-level=info",
                f"--load=module-native-protocol-unix socket={self.socket} auth-anonymous=1",
                f"--load=module-null-sink sink_name={SINK_NAME} rate={SINK_SAMPLERATE}"
                f" channels={SINK_CHANNELS} norewinds=1",
            ],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + READY_TIMEOUT_S
        self._wait(lambda: self._pactl("info") is not None, deadline, "answer `pactl info`")
        if self._pactl("set-default-sink", SINK_NAME) is None:
            raise self._error(f"could not set {SINK_NAME} as default sink")
        # The keep-alive plays silence from /dev/zero for as long as the server lives.
        with open("/dev/zero", "rb") as zeros:
            self._keepalive = subprocess.Popen(
                [
                    "pacat",
                    f"--device={SINK_NAME}",
                    "--raw",
                    "--format=s16le",
                    f"--rate={SINK_SAMPLERATE}",
                    "--channels=1",
                    "--latency-msec=10",
                ],
                env=self.env,
                stdin=zeros,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        # Ready = the sink is clocking (RUNNING) with the keep-alive stream connected.
        self._wait(self._sink_running, deadline, f"run {SINK_NAME} with the keep-alive client")
        for key in ("PULSE_SERVER", "PULSE_RUNTIME_PATH", "PULSE_STATE_PATH", "PULSE_COOKIE"):
            self._saved_env[key] = os.environ.get(key)
            os.environ[key] = self.env[key]

    def _sink_running(self) -> bool:
        if self._keepalive is not None and self._keepalive.poll() is not None:
            raise self._error(f"keep-alive pacat exited with status {self._keepalive.returncode}")
        out = self._pactl("list", "short", "sinks")
        return out is not None and any(
            line.split("\t")[1:2] == [SINK_NAME] and "RUNNING" in line for line in out.splitlines()
        )

    def _wait(self, ready: Callable[[], bool], deadline: float, what: str) -> None:
        while time.monotonic() < deadline:
            if self._daemon is not None and self._daemon.poll() is not None:
                raise self._error(f"pulseaudio exited with status {self._daemon.returncode}")
            if ready():
                return
            time.sleep(0.05)
        raise self._error(f"pulseaudio did not {what} within {READY_TIMEOUT_S:g} s")

    def _error(self, what: str) -> PulseError:
        return PulseError(f"{what}; pulse log:\n{self.log()}")

    def _pactl(self, *args: str) -> str | None:
        try:
            done = subprocess.run(
                ["pactl", *args], env=self.env, capture_output=True, text=True, timeout=5
            )
        except subprocess.TimeoutExpired:
            return None
        return done.stdout if done.returncode == 0 else None

    def log(self) -> str:
        """The daemon's log so far (for failure messages)."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"

    def __enter__(self) -> PulseServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- use ----------------------------------------------------------------------------

    def start_capture(self, path: Path | str | None = None) -> Capture:
        """Record ``cuesink.monitor`` (s16le, 48 kHz, mono) until ``Capture.stop()``."""
        capture = Capture(self.env, Path(path) if path is not None else None)
        self._captures.append(capture)
        return capture

    def pactl(self, *args: str) -> str | None:
        """Run ``pactl`` against this server; its stdout, or ``None`` when it failed."""
        return self._pactl(*args)

    def kill(self) -> None:
        """SIGKILL the daemon (a device vanishing mid-stream); clients are left running."""
        if self._daemon is not None and self._daemon.poll() is None:
            self._daemon.send_signal(signal.SIGKILL)
            self._daemon.wait()

    def stop(self) -> None:
        """End every process this server started and restore the environment."""
        for capture in self._captures:
            capture.stop()
        self._captures.clear()
        for proc in (self._keepalive, self._daemon):
            if proc is None or proc.poll() is not None:
                continue
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._keepalive = self._daemon = None
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()
        shutil.rmtree(self.dir, ignore_errors=True)
