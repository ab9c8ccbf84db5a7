"""Audio output devices: listing them and resolving the user's choice to a PortAudio index.

``sounddevice`` is imported lazily, only here and in ``sinks``, so that ``compile``,
``render`` and ``play --text`` work on a machine without the PortAudio library.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Literal

from voicecoach.errors import VoicecoachError

NO_DEVICE_MESSAGE = (
    "no audio output device found; try `voicecoach play --text`, `voicecoach render`, "
    "or `voicecoach devices`"
)
NO_PORTAUDIO_MESSAGE = (
    "the PortAudio library is not installed, so voicecoach cannot play through a sound card "
    "({detail}). Install it (Debian/Ubuntu: `sudo apt-get install libportaudio2`; "
    "Fedora: `sudo dnf install portaudio`; Arch: `sudo pacman -S portaudio`), or use "
    "`voicecoach play --text` or `voicecoach render` instead"
)


class DeviceError(VoicecoachError):
    """No usable audio output device: none at all, an unknown or ambiguous name, or no PortAudio."""


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """One PortAudio device; ``index`` is what ``sounddevice`` streams take."""

    index: int
    name: str
    hostapi: str
    channels: int
    default_samplerate: float
    is_default: bool

    def describe(self) -> str:
        """One line for listings: ``[index] name (hostapi, N ch, R Hz)`` and a default mark."""
        mark = " (default)" if self.is_default else ""
        return (
            f"[{self.index}] {self.name} ({self.hostapi}, {self.channels} ch, "
            f"{self.default_samplerate:g} Hz){mark}"
        )


# PortAudio takes its device list once, at initialization; re-initializing is how a
# sound server that started (or came back) after import becomes visible. Pa_Terminate
# closes every open stream, so it only happens while no DeviceSink holds a stream.
_lock = threading.Lock()
_open_streams = 0
# Importing sounddevice initializes PortAudio, which scans the devices: the first rescan
# right after the import would only repeat that scan (about 60 ms of start-up).
_import_scan_at: float | None = None
IMPORT_SCAN_FRESH_S = 1.0


def sounddevice_module() -> ModuleType:
    """Import ``sounddevice``; a missing PortAudio library becomes a ``DeviceError``."""
    global _import_scan_at
    if "sounddevice" not in sys.modules:
        _import_scan_at = time.monotonic()
    try:
        import sounddevice
    except OSError as exc:  # the Linux wheel does not bundle PortAudio
        raise DeviceError(NO_PORTAUDIO_MESSAGE.format(detail=exc)) from exc
    module: ModuleType = sounddevice  # untyped package: typed here for the callers
    return module


def stream_opened() -> None:
    """Note that a stream is open (PortAudio must not be re-initialized under it)."""
    global _open_streams
    with _lock:
        _open_streams += 1


def stream_closed() -> None:
    """Note that a stream opened with :func:`stream_opened` is closed again."""
    global _open_streams
    with _lock:
        _open_streams = max(0, _open_streams - 1)


def rescan() -> bool:
    """Re-initialize PortAudio so its device list is current; ``False`` if a stream is open."""
    global _import_scan_at
    sd = sounddevice_module()
    with _lock:
        fresh = _import_scan_at is not None and (
            time.monotonic() - _import_scan_at < IMPORT_SCAN_FRESH_S
        )
        _import_scan_at = None
        if fresh:
            return True
        if _open_streams:
            return False
        try:
            sd._terminate()
            sd._initialize()
        except sd.PortAudioError as exc:
            raise DeviceError(f"could not initialize PortAudio: {exc}") from exc
    return True


def list_output_devices(*, scan: bool = True) -> list[DeviceInfo]:
    """Every device that can play sound, in PortAudio index order.

    ``scan`` re-reads the device list first (about 60 ms); skip it only right after
    another scan, e.g. opening the device that was just resolved.
    """
    return _list_devices("output", scan=scan)


def list_input_devices(*, scan: bool = True) -> list[DeviceInfo]:
    """Every device that can record (the microphones for ``play --listen``), by index."""
    return _list_devices("input", scan=scan)


def _list_devices(kind: Literal["input", "output"], *, scan: bool) -> list[DeviceInfo]:
    sd = sounddevice_module()
    if scan:
        rescan()
    hostapis = sd.query_hostapis()
    default_index = _default_index(sd, kind)
    devices = []
    for raw in sd.query_devices():
        channels = int(raw[f"max_{kind}_channels"])
        if channels <= 0:
            continue
        devices.append(
            DeviceInfo(
                index=int(raw["index"]),
                name=str(raw["name"]),
                hostapi=str(hostapis[raw["hostapi"]]["name"]),
                channels=channels,
                default_samplerate=float(raw["default_samplerate"]),
                is_default=int(raw["index"]) == default_index,
            )
        )
    return devices


def _default_index(sd: ModuleType, kind: Literal["input", "output"]) -> int:
    # Pa_GetDefault{Input,Output}Device(), unless the process set sounddevice.default.device.
    index = sd.default.device[0 if kind == "input" else 1]
    return -1 if index is None or index < 0 else int(index)


def resolve_device(spec: str | int | None, *, scan: bool = True) -> int | None:
    """The PortAudio index of the output device the user asked for.

    ``scan=False`` uses PortAudio's current device list (see `list_output_devices`).

    Parameters
    ----------
    spec
        ``None`` for the system default, an index (``int`` or a string of digits), or a
        case-insensitive substring of a device name; an exact name match wins over
        substring matches.

    Returns
    -------
    int or None
        The device index, or ``None`` for "the default device" when one exists.

    Raises
    ------
    DeviceError
        No output device at all, no match, an ambiguous name (the candidates are
        listed), or no PortAudio library.
    """
    devices = list_output_devices(scan=scan)
    if not devices:
        raise DeviceError(NO_DEVICE_MESSAGE)
    if spec is None:
        if any(d.is_default for d in devices):
            return None
        # PortAudio found outputs but names none as default: take the first.
        return devices[0].index
    if isinstance(spec, int) or spec.strip().isdigit():
        index = int(spec)
        if any(d.index == index for d in devices):
            return index
        raise DeviceError(
            f"no audio output device with index {index}; output devices:\n" + _listing(devices)
        )
    wanted = spec.strip().casefold()
    exact = [d for d in devices if d.name.casefold() == wanted]
    if len(exact) == 1:
        return exact[0].index
    matches = exact or [d for d in devices if wanted in d.name.casefold()]
    if len(matches) == 1:
        return matches[0].index
    if not matches:
        raise DeviceError(
            f"no audio output device matches {spec!r}; output devices:\n" + _listing(devices)
        )
    raise DeviceError(
        f"{spec!r} matches {len(matches)} audio output devices; give more of the name or "
        "the index:\n" + _listing(matches)
    )


def device_name(index: int | None) -> str:
    """A readable name for a resolved device (``None``: the default device)."""
    if index is None:
        return "the default output device"
    try:
        return str(sounddevice_module().query_devices(index)["name"])
    except Exception:  # only used in messages: never let it hide the real error
        return f"device {index}"


def _listing(devices: list[DeviceInfo]) -> str:
    return "\n".join(f"  {d.describe()}" for d in devices)
