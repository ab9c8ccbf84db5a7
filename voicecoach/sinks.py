"""The sinks that pull sample blocks from a Source: sound card, audio file, and a text clock.

All three pull through the same ``Source.fill`` the sound card's callback uses, so a
rendered file and the text mode exercise the very code that plays through earbuds.
``sounddevice`` and ``soundfile`` are imported lazily: rendering and the text clock need
no PortAudio.
"""

from __future__ import annotations

import math
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

import numpy as np

from voicecoach.devices import (
    DeviceError,
    device_name,
    resolve_device,
    sounddevice_module,
    stream_closed,
    stream_opened,
)
from voicecoach.errors import VoicecoachError
from voicecoach.files import atomic_output, os_error_text
from voicecoach.gaps import GapMeter
from voicecoach.source import Source

# --- The sound card ----------------------------------------------------------------------

# With latency="low" PortAudio asks for a block every few milliseconds; this long without
# one while the stream claims to be active means the device hung (the callback still
# runs while paused: the source plays silence then).
STALL_TIMEOUT_S = 2.0
_POLL_S = 0.05

# Lead-in: silence before the first word (and before "Resuming"), so that a sink that wakes
# up slowly (Bluetooth) does not cut it. Sized by the output latency the device reports,
# the larger of PortAudio's figure and the first block's own delay (which includes the
# sound server's sink latency); at most LEAD_IN_MAX_S.
LEAD_IN_LATENCIES = 2.0
LEAD_IN_MAX_S = 1.0


def lead_in_seconds(latency_s: float) -> float:
    """The automatic lead-in for a device with ``latency_s`` of output latency."""
    if not math.isfinite(latency_s) or latency_s <= 0:
        return 0.0
    return min(LEAD_IN_MAX_S, LEAD_IN_LATENCIES * latency_s)


class Gap(NamedTuple):
    """Time the device lost: it played ``frames`` frames of silence of its own.

    Negative ``frames``: time gained, by a stream that took over from another and
    started early.
    """

    output_frame: int  # frames written before the gap was noticed
    frames: int


class DeviceSink:
    """Plays a Source through a sound card with a ``sounddevice`` callback stream.

    The callback only calls ``source.fill(outdata)`` (stopping the stream once it returns
    ``False``) and counts underflows; it never prints, allocates buffers or blocks.
    Faults are reported in :attr:`error`, never raised from the audio thread. After a
    fault, :meth:`close` this sink and open a new one on the default device with the
    same source: the source keeps its position.

    Parameters
    ----------
    source
        What to play; the stream opens at ``source.samplerate`` Hz with
        ``source.channels`` channels, float32.
    device
        ``None`` (default device), an index, or a name substring (see
        :func:`voicecoach.devices.resolve_device`).
    latency
        PortAudio latency: ``"low"`` (about 9 ms on PulseAudio), ``"high"`` or seconds.
    blocksize
        Frames per callback; 0 lets PortAudio choose the best size for the latency.
    lead_in
        Seconds of silence the source plays before its first frame and after each resume
        (``source.lead_in(frames)``, if it has one); ``None`` sizes it by the device's
        output latency (`lead_in_seconds`), measured in the first callback.

    A source with a ``lost(frames)`` method is told of every gap the device had (see
    `voicecoach.gaps`), so that it can catch up; the gaps are listed in :attr:`gaps`.

    Raises
    ------
    DeviceError
        No such device, no device at all, no PortAudio, or the device refused the
        stream's format.
    """

    def __init__(
        self,
        source: Source,
        device: str | int | None = None,
        *,
        latency: str | float = "low",
        blocksize: int = 0,
        scan: bool = True,
        lead_in: float | None = 0.0,
    ) -> None:
        sd = sounddevice_module()
        self.source = source
        self.device = resolve_device(device, scan=scan)
        self._device_label = device_name(self.device)
        self.underflows = 0
        self.gaps: list[Gap] = []  # read by other threads: appended to, never changed
        self._lost = getattr(source, "lost", None)  # a source that can catch up
        self._samplerate = source.samplerate
        self._written = 0
        self._gap_meter = GapMeter(source.samplerate)
        self._set_lead_in = getattr(source, "lead_in", None)
        self._lead_in = lead_in
        self.lead_in_s: float | None = None  # the lead-in given, once the stream has started
        self.exception: BaseException | None = None  # what source.fill raised, if anything
        self._error: str | None = None
        self._callback_stop = sd.CallbackStop
        self._callback_abort = sd.CallbackAbort
        self._source_ended = False
        self._started = False
        self._stopping = False
        self._closed = False
        self._finished = threading.Event()
        self._last_callback_s = 0.0
        try:
            self._stream = sd.OutputStream(
                samplerate=source.samplerate,
                channels=source.channels,
                dtype="float32",
                device=self.device,
                latency=latency,
                blocksize=blocksize,
                callback=self._callback,
                finished_callback=self._on_finished,
            )
        except (sd.PortAudioError, ValueError) as exc:
            raise DeviceError(
                f"cannot open {self._device_label} for playback "
                f"({source.samplerate} Hz, {source.channels} channels): {exc}"
            ) from exc
        stream_opened()
        self.latency = float(self._stream.latency)

    # Runs on PortAudio's audio thread: no printing, no locks, no allocation of buffers.
    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        self._last_callback_s = time.monotonic()
        if status.output_underflow:
            self.underflows += 1
        if self.lead_in_s is None:
            self._start_lead_in(time_info.outputBufferDacTime - time_info.currentTime)
        self._watch_clock(time_info.outputBufferDacTime, status.output_underflow)
        self._written += frames
        try:
            more = self.source.fill(outdata)
        except Exception as exc:
            outdata.fill(0)
            self.exception = exc
            raise self._callback_abort from None
        if not more:
            self._source_ended = True
            raise self._callback_stop

    def _start_lead_in(self, delay_s: float) -> None:
        """Tell the source its lead-in, once (``delay_s``: this block's own output delay)."""
        seconds = self._lead_in
        if seconds is None:
            seconds = lead_in_seconds(max(self.latency, delay_s if delay_s < 10 else 0.0))
        self.lead_in_s = seconds
        if self._set_lead_in is not None and seconds > 0:
            self._set_lead_in(round(seconds * self._samplerate))

    def _watch_clock(self, dac_time: float, underflow: bool) -> None:
        """Notice time the device lost (see `voicecoach.gaps`), and tell the source."""
        lost = self._gap_meter.update(dac_time, self._written, underflow)
        if lost:
            self.gaps.append(Gap(self._written, lost))
            if self._lost is not None:
                self._lost(lost)

    def _on_finished(self) -> None:
        # PortAudio calls this when the stream stops for any reason: the source ended,
        # stop()/close(), a callback abort, or the device going away under us.
        if self.exception is not None:
            self._set_error(f"the audio source failed: {self.exception!r}")
        elif not self._source_ended and not self._stopping:
            self._set_error(self._lost_message("stopped playing unexpectedly"))
        self._finished.set()

    def _set_error(self, message: str) -> None:
        if self._error is None:
            self._error = message

    def _lost_message(self, what: str) -> str:
        return f"{self._device_label} {what} (unplugged, or the sound server went away?)"

    def _check(self) -> None:
        """Notice a stream that died without calling back (inactive or stalled)."""
        if not self._started or self._stopping or self._finished.is_set():
            return
        if not self._stream.active:
            if not self._source_ended:
                self._set_error(self._lost_message("stopped playing unexpectedly"))
            self._finished.set()
        elif time.monotonic() - self._last_callback_s > STALL_TIMEOUT_S:
            self._set_error(
                self._lost_message(f"stopped asking for sound for over {STALL_TIMEOUT_S:g} s")
            )
            self._finished.set()

    @property
    def next_frame_time(self) -> float | None:
        """When the next frame should sound, on the stream's clock (``None`` if not known).

        Read once the stream is stopped or closed; a stream that takes over from this one
        is late by however much later its first frame sounds.
        """
        origin = self._gap_meter.origin
        return None if origin is None else origin + self._written / self._samplerate

    @property
    def error(self) -> str | None:
        """Why playback failed (device lost, stream error, source raised); ``None`` if fine."""
        self._check()
        return self._error

    @property
    def finished(self) -> bool:
        """Whether the stream is over: the source ended, or it failed (see :attr:`error`)."""
        self._check()
        return self._finished.is_set()

    def start(self, follows: float | None = None) -> None:
        """Start (or restart after :meth:`stop`) playback; a failure sets :attr:`error`.

        ``follows``: for a stream that takes over from another on the same source, the
        :attr:`next_frame_time` of the one it replaces. The time between is a gap.
        """
        if self._closed:
            raise RuntimeError("DeviceSink is closed")
        sd = sounddevice_module()
        self._finished.clear()
        self._stopping = False
        # A restarted stream sounds from a new origin.
        self._gap_meter.restart(self._written, follows)
        self._last_callback_s = time.monotonic()
        try:
            self._stream.start()
        except sd.PortAudioError as exc:
            self._set_error(f"could not start {self._device_label}: {exc}")
            self._finished.set()
            return
        self._started = True

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the stream is over or ``timeout`` seconds pass.

        Returns
        -------
        bool
            ``True`` when the stream is over (the source ended and its last block was
            played, or :attr:`error` is set), ``False`` on timeout or if never started.
        """
        if not self._started and not self._finished.is_set():
            return False
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self._check()
            if self._finished.is_set():
                return True
            slice_s = _POLL_S
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                slice_s = min(slice_s, remaining)
            self._finished.wait(slice_s)

    def stop(self) -> None:
        """Stop at once (the few ms of queued audio are dropped); :meth:`start` resumes."""
        if self._closed:
            return
        self._stopping = True
        self._stream.abort()
        self._finished.set()

    def drain(self) -> None:
        """Stop once the audio already queued has played (a few ms); then :meth:`close` it.

        For a stream handing over to another: :meth:`stop` would drop the queued frames,
        which the source has already counted as played.
        """
        if self._closed or self._finished.is_set():
            return
        self._stopping = True
        sd = sounddevice_module()
        try:
            self._stream.stop()
        except sd.PortAudioError:
            self._stream.abort()
        self._finished.set()

    def close(self) -> None:
        """Stop and release the device; safe to call twice and after a device fault."""
        if self._closed:
            return
        self._stopping = True
        self._closed = True
        try:
            self._stream.close()
        finally:
            self._finished.set()
            stream_closed()

    def __enter__(self) -> DeviceSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# --- Audio files -------------------------------------------------------------------------

# suffix -> (libsndfile major format, subtype). WAV as 16-bit PCM: every phone and
# player opens it, and speech loses nothing audible.
FILE_FORMATS: dict[str, tuple[str, str]] = {
    ".wav": ("WAV", "PCM_16"),
    ".flac": ("FLAC", "PCM_16"),
    ".ogg": ("OGG", "VORBIS"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
}


def writable_formats() -> list[str]:
    """The file suffixes this machine's libsndfile can write, e.g. ``[".wav", ".flac"]``."""
    import soundfile

    return [s for s, (major, sub) in FILE_FORMATS.items() if soundfile.check_format(major, sub)]


def check_output_path(path: Path, format: str | None = None) -> None:
    """Fail early (before any synthesis) on an unknown or unsupported audio format."""
    _file_format(path, format)


def _file_format(path: Path, format: str | None) -> tuple[str, str]:
    import soundfile

    suffix = ("." + format.lower().lstrip(".")) if format else path.suffix.lower()
    if suffix not in FILE_FORMATS:
        what = f"format {format!r}" if format else f"file type {path.suffix or '(no suffix)'!r}"
        raise VoicecoachError(
            f"cannot render {path}: unknown {what}; use one of " + ", ".join(writable_formats())
        )
    major, subtype = FILE_FORMATS[suffix]
    if not soundfile.check_format(major, subtype):
        raise VoicecoachError(
            f"cannot render {path}: this system's libsndfile "
            f"({soundfile.__libsndfile_version__}) cannot write {suffix} files; "
            "formats that work: " + ", ".join(writable_formats())
        )
    return major, subtype


# A file written beside the audio once it is rendered (e.g. the as-rendered timeline):
# its path and a function giving its text.
Companion = tuple[Path, Callable[[], str]]
# Less room than this after a failed write: the disk is full (one 8192-frame block).
_FULL_BYTES = 8192 * 2 * 4


def render_to_file(
    source: Source,
    path: Path,
    *,
    blocksize: int = 8192,
    format: str | None = None,
    frames: int | None = None,
    companions: Sequence[Companion] = (),
) -> int:
    """Pull ``source`` until it ends and write it to an audio file, atomically.

    The audio (and each companion file) goes to a temporary file next to its target;
    all of them replace their targets together, and only once every one is complete, so a
    failed render (disk full, Ctrl-C, a crash) leaves no partial file and the old files
    untouched. Check the paths first with `files.check_output_paths`.

    Parameters
    ----------
    source
        What to render: ``source.samplerate`` Hz, ``source.channels`` channels.
    path
        Output file; its suffix picks the format: ``.wav`` (16-bit PCM), ``.flac``,
        ``.ogg`` (Vorbis) or ``.mp3`` (where libsndfile can encode MP3).
    blocksize
        Frames pulled per ``fill`` call.
    format
        Overrides the suffix: ``"wav"``, ``"flac"``, ``"ogg"`` or ``"mp3"``.
    frames
        Exact length to write, in frames. A Source only says *which block* holds its
        end, so without this the file ends on a whole block (up to ``blocksize - 1``
        frames of trailing silence); pass ``round(duration_s * samplerate)`` to trim.
    companions
        Text files written with the audio, each ``(path, make_text)``; ``make_text`` is
        called after the render.

    Returns
    -------
    int
        Frames written.

    Raises
    ------
    VoicecoachError
        Unknown or unsupported format, missing directory, or a file cannot be written
        (the message says why: "disk full", "permission denied", ...).
        Whatever ``source.fill`` raises propagates unchanged.
    """
    path = Path(path)
    major, subtype = _file_format(path, format)
    if blocksize <= 0:
        raise ValueError(f"blocksize must be positive, got {blocksize}")
    if not path.parent.is_dir():
        raise VoicecoachError(f"cannot render {path}: the folder {path.parent} does not exist")
    try:
        with atomic_output(path, *(p for p, _ in companions)) as (tmp, *texts):
            written = _write_audio(source, tmp, path, major, subtype, blocksize, frames)
            for (companion, make_text), text_tmp in zip(companions, texts, strict=True):
                try:
                    text_tmp.write_text(make_text(), encoding="utf-8")
                except OSError as exc:
                    raise _not_written(companion, exc) from exc
    except OSError as exc:  # creating the temporary files, or committing them
        raise _not_written(path, exc) from exc
    return written


def _not_written(path: Path, exc: OSError) -> VoicecoachError:
    return VoicecoachError(f"cannot write {path}: {os_error_text(exc)}; nothing was written")


def _write_failure(exc: Exception, tmp: Path) -> str:
    """Why libsndfile could not write: its own message says only "System error"."""
    try:
        usage = shutil.disk_usage(tmp.parent)
    except OSError:
        return os_error_text(exc)
    return "disk full" if usage.free < _FULL_BYTES else os_error_text(exc)


def _write_audio(
    source: Source,
    tmp: Path,
    path: Path,
    major: str,
    subtype: str,
    blocksize: int,
    frames: int | None,
) -> int:
    """Pull ``source`` into the audio file ``tmp``; messages name ``path``."""
    import soundfile

    try:
        out = soundfile.SoundFile(
            tmp,
            "w",
            samplerate=source.samplerate,
            channels=source.channels,
            format=major,
            subtype=subtype,
        )
    except (soundfile.LibsndfileError, RuntimeError, ValueError) as exc:
        raise VoicecoachError(
            f"cannot render {path} as {major}/{subtype} at {source.samplerate} Hz, "
            f"{source.channels} channels: {os_error_text(exc)}"
        ) from exc
    written = 0
    with out:
        block = np.zeros((blocksize, source.channels), dtype=np.float32)
        more = True
        while more and (frames is None or written < frames):
            more = source.fill(block)
            count = blocksize if frames is None else min(blocksize, frames - written)
            # libsndfile wraps rather than clips floats beyond full scale in PCM.
            np.clip(block, -1.0, 1.0, out=block)
            try:
                out.write(block[:count])
            except (soundfile.LibsndfileError, RuntimeError) as exc:
                raise VoicecoachError(
                    f"cannot write {path}: {_write_failure(exc, tmp)}; nothing was written"
                ) from exc
            written += count
    return written


# --- The text clock ----------------------------------------------------------------------

# Longest single sleep, so should_stop is honoured promptly even at slow speeds.
_MAX_SLEEP_S = 0.1


def run_clock(
    source: Source,
    *,
    speed: float = 1.0,
    blocksize: int = 1024,
    on_block: Callable[[], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> int:
    """Pull ``source`` at ``speed`` times real time, discarding the samples (text mode).

    Each block is due when its last frame is: ``start + frames_pulled / (samplerate *
    speed)`` on ``time.monotonic()``. Due times come from the frame count, never from
    summed sleeps, so the clock does not drift; a late block is followed at once by the
    next (catch-up) rather than shifting the rest of the session.

    Parameters
    ----------
    source
        The session; its samples go into a scratch buffer of shape
        ``(blocksize, source.channels)``, float32, and are thrown away.
    speed
        Plan seconds per real second (``50`` runs a 50-minute session in a minute).
    blocksize
        Frames per ``fill`` call.
    on_block
        Called after each block is due (the caller prints the events it covered).
    should_stop
        Polled before each block and while waiting; ``True`` ends the clock.

    Returns
    -------
    int
        Frames pulled (whole blocks).
    """
    if not speed > 0 or not math.isfinite(speed):
        raise ValueError(f"speed must be a positive number, got {speed}")
    if blocksize <= 0:
        raise ValueError(f"blocksize must be positive, got {blocksize}")
    block = np.zeros((blocksize, source.channels), dtype=np.float32)
    frames_per_s = source.samplerate * speed
    start = time.monotonic()
    pulled = 0
    more = True
    while more:
        if should_stop is not None and should_stop():
            break
        more = source.fill(block)
        pulled += blocksize
        due = start + pulled / frames_per_s
        stopped = False
        while (delay := due - time.monotonic()) > 0:
            time.sleep(min(delay, _MAX_SLEEP_S))
            if should_stop is not None and delay > _MAX_SLEEP_S and should_stop():
                stopped = True
                break
        if on_block is not None:
            on_block()
        if stopped:
            break
    return pulled
