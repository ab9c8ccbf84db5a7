"""Device listing and resolution against a real PulseAudio null sink, and without PortAudio."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import pulse as pulse_harness
from tests.conftest import VOICECOACH
from voicecoach.devices import (
    NO_DEVICE_MESSAGE,
    DeviceError,
    list_input_devices,
    list_output_devices,
    resolve_device,
)

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def pulse() -> Iterator[pulse_harness.PulseServer]:
    """A private PulseAudio null sink shared by the tests of this module."""
    if not pulse_harness.available():
        pytest.fail("pulseaudio and pulseaudio-utils are required (apt-get install them)")
    server = pulse_harness.PulseServer()
    try:
        server.start()
    except pulse_harness.PulseError as exc:
        pytest.fail(str(exc))
    yield server
    server.stop()


def _index_of(name: str) -> int:
    return next(d.index for d in list_output_devices() if d.name == name)


def test_with_a_sound_server_up_pulse_and_default_are_listed(pulse):
    devices = list_output_devices()
    names = [d.name for d in devices]
    assert "pulse" in names
    assert "default" in names
    assert sum(d.is_default for d in devices) == 1
    assert all(d.channels > 0 and d.default_samplerate > 0 for d in devices)
    assert all(d.hostapi == "ALSA" for d in devices)


def test_the_microphones_are_listed_apart_and_by_the_command(pulse):
    pulse.pactl("load-module", "module-null-sink", "sink_name=micsink", "rate=16000")
    assert pulse.pactl("set-default-source", "micsink.monitor") is not None
    inputs = list_input_devices()
    assert {"pulse", "default"} <= {d.name for d in inputs}
    assert sum(d.is_default for d in inputs) == 1
    done = subprocess.run(
        [*VOICECOACH, "devices", "--mic"], env=pulse.env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    listed = done.stdout.splitlines()
    assert listed == [d.describe() for d in inputs]
    assert any(line.endswith("(default)") for line in listed)


def test_without_a_sound_server_devices_mic_says_there_is_no_microphone(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
    env["PULSE_SERVER"] = f"unix:{tmp_path / 'no-such-server'}"
    done = subprocess.run(
        [*VOICECOACH, "devices", "--mic"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 1
    assert done.stderr == ("no microphone found (no input device); play works without --listen\n")
    assert "Traceback" not in done.stderr


def test_a_device_resolves_by_case_insensitive_name_and_by_index(pulse):
    pulse_index = _index_of("pulse")
    assert resolve_device("PULSE") == pulse_index
    assert resolve_device(pulse_index) == pulse_index
    assert resolve_device(str(pulse_index)) == pulse_index
    assert resolve_device("defau") == _index_of("default")


def test_no_device_asked_for_means_the_default_device(pulse):
    assert resolve_device(None) is None


def test_an_unknown_name_is_refused_listing_the_devices(pulse):
    with pytest.raises(DeviceError) as caught:
        resolve_device("bluetooth earbuds")
    message = str(caught.value)
    assert message.startswith("no audio output device matches 'bluetooth earbuds'")
    assert "] pulse (ALSA" in message
    assert "] default (ALSA" in message


def test_an_unknown_index_is_refused(pulse):
    with pytest.raises(DeviceError, match="no audio output device with index 999"):
        resolve_device(999)


def test_an_ambiguous_name_is_refused_listing_the_candidates(pulse):
    with pytest.raises(DeviceError) as caught:
        resolve_device("U")  # in both "pulse" and "default"
    message = str(caught.value)
    assert message.startswith("'U' matches 2 audio output devices")
    assert "pulse" in message
    assert "default" in message


def test_without_a_sound_server_there_is_no_device_and_the_error_says_what_to_try(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path / 'no-such-server'}")
    assert list_output_devices() == []
    with pytest.raises(DeviceError) as caught:
        resolve_device(None)
    assert str(caught.value) == NO_DEVICE_MESSAGE


def test_without_portaudio_render_and_clock_work_and_playing_names_the_install_command(
    tmp_path,
):
    # A stand-in for sounddevice exactly as it fails when libportaudio2 is missing.
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sounddevice.py").write_text("raise OSError('PortAudio library not found')\n")
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        import numpy as np
        from voicecoach.devices import DeviceError, list_output_devices
        from voicecoach.sinks import render_to_file, run_clock

        class Silence:
            samplerate, channels, left = 48000, 1, 3
            def fill(self, outdata):
                outdata.fill(0)
                self.left -= 1
                return self.left > 0

        print(render_to_file(Silence(), Path(sys.argv[1]), blocksize=100))
        print(run_clock(Silence(), speed=1000, blocksize=100))
        try:
            list_output_devices()
        except DeviceError as exc:
            print(exc)
        """
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(shim), str(REPO)]))
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "out.wav")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    rendered, clocked, message = done.stdout.splitlines()
    assert (rendered, clocked) == ("300", "300")
    assert "PortAudio library is not installed" in message
    assert "sudo apt-get install libportaudio2" in message
