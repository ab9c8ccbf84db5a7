"""Sinks against real parts: PortAudio through a private PulseAudio null sink, real files."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import numpy as np
import pytest
import soundfile

from tests import pulse as pulse_harness
from voicecoach.devices import NO_DEVICE_MESSAGE, DeviceError
from voicecoach.errors import VoicecoachError
from voicecoach.sinks import DeviceSink, render_to_file, run_clock

SR = 48000
CLICK = 0.5


class ClickSource:
    """A test Source: single-sample clicks at fixed frame offsets, then the end."""

    def __init__(self, clicks: list[int], total_frames: int, channels: int = 2) -> None:
        self.samplerate = SR
        self.channels = channels
        self.clicks = np.asarray(clicks, dtype=np.int64)
        self.total_frames = total_frames
        self.position = 0
        self.fills = 0

    def fill(self, outdata: np.ndarray) -> bool:
        outdata.fill(0)
        start, end = self.position, self.position + len(outdata)
        for f in self.clicks[(self.clicks >= start) & (self.clicks < end)]:
            outdata[f - start, :] = CLICK
        self.position = end
        self.fills += 1
        return end < self.total_frames


class ToneSource:
    """A test Source: a 440 Hz tone (amplitude ``level``) for ``total_frames``, then silence."""

    def __init__(self, total_frames: int, level: float = 0.5, fail_at: int | None = None) -> None:
        self.samplerate = SR
        self.channels = 2
        self.total_frames = total_frames
        self.level = level
        self.fail_at = fail_at
        self.position = 0

    def expected(self) -> np.ndarray:
        i = np.arange(self.total_frames)
        mono = (self.level * np.sin(2 * np.pi * 440 * i / SR)).astype(np.float32)
        return np.stack([mono, -mono], axis=1)

    def fill(self, outdata: np.ndarray) -> bool:
        if self.fail_at is not None and self.position >= self.fail_at:
            raise RuntimeError("mixer exploded")
        i = np.arange(self.position, self.position + len(outdata))
        mono = np.where(i < self.total_frames, self.level * np.sin(2 * np.pi * 440 * i / SR), 0)
        outdata[:, 0] = mono
        outdata[:, 1] = -mono
        self.position += len(outdata)
        return self.position < self.total_frames


def _start_pulse() -> pulse_harness.PulseServer:
    if not pulse_harness.available():
        pytest.fail("pulseaudio and pulseaudio-utils are required (apt-get install them)")
    server = pulse_harness.PulseServer()
    try:
        return server.start()
    except pulse_harness.PulseError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def pulse() -> Iterator[pulse_harness.PulseServer]:
    """A private PulseAudio null sink shared by the tests of this module."""
    server = _start_pulse()
    yield server
    server.stop()


@pytest.fixture
def own_pulse() -> Iterator[pulse_harness.PulseServer]:
    """A private server a test may kill."""
    server = _start_pulse()
    yield server
    server.stop()


def _click_indices(samples: np.ndarray) -> np.ndarray:
    return np.flatnonzero(samples > CLICK / 2)


def _play_and_capture(
    pulse: pulse_harness.PulseServer, source: ClickSource, sink_device: str | int | None = None
) -> np.ndarray:
    capture = pulse.start_capture()
    assert capture.wait_for_samples(SR // 20), "parec captured nothing"
    with DeviceSink(source, sink_device) as sink:
        sink.start()
        assert sink.wait(timeout=source.total_frames / SR + 10)
        assert sink.error is None
    # The monitor trails the stream by a few ms; 100 ms more is plenty.
    done = len(capture.samples())
    assert capture.wait_for_samples(done + SR // 10)
    capture.stop()
    return capture.samples()


# --- DeviceSink on a real (null) sound card -------------------------------------------------


def test_clicks_played_through_the_device_come_back_spaced_exactly_as_planned(pulse):
    spacing = SR // 4  # every 0.25 s for 2 s
    clicks = list(range(0, 2 * SR, spacing))
    source = ClickSource(clicks, total_frames=2 * SR + SR // 10)

    captured = _play_and_capture(pulse, source)

    found = _click_indices(captured)
    assert len(found) == len(clicks)
    assert np.all(np.abs(np.diff(found) - spacing) <= 1)


def test_device_sink_by_name_plays_every_frame_of_the_source(pulse):
    clicks = [1000, 5000, 20000]
    source = ClickSource(clicks, total_frames=SR // 2)

    captured = _play_and_capture(pulse, source, sink_device="pulse")

    assert source.position >= source.total_frames
    assert np.array_equal(np.diff(_click_indices(captured)), np.diff(clicks))


def test_a_source_that_raises_sets_the_sink_error_instead_of_crashing(pulse):
    source = ToneSource(total_frames=10 * SR, fail_at=SR // 10)
    with DeviceSink(source) as sink:
        sink.start()
        assert sink.wait(timeout=5)
        assert sink.error is not None
        assert "the audio source failed" in sink.error
        assert isinstance(sink.exception, RuntimeError)


def test_stopping_a_sink_ends_it_without_an_error_and_keeps_the_source_position(pulse):
    source = ToneSource(total_frames=60 * SR)
    sink = DeviceSink(source)
    sink.start()
    for _ in range(200):
        if source.position > SR // 10:
            break
        time.sleep(0.01)
    sink.stop()
    position = source.position
    assert sink.wait(timeout=1)
    assert sink.error is None
    assert 0 < position < source.total_frames
    sink.close()
    sink.close()  # closing twice is harmless
    assert source.position == position


def test_killing_the_sound_server_sets_the_error_and_a_new_sink_resumes_the_source(own_pulse):
    spacing = SR // 4
    clicks = list(range(0, 3 * SR, spacing))
    source = ClickSource(clicks, total_frames=3 * SR)
    sink = DeviceSink(source)
    sink.start()
    for _ in range(500):
        if source.position > SR // 2:
            break
        time.sleep(0.01)
    assert source.position > SR // 2

    own_pulse.kill()
    polls = 0
    while sink.error is None and polls < 100:
        time.sleep(0.05)
        polls += 1
    assert sink.error is not None, "device loss not noticed within 100 polls (5 s)"
    assert "stopped" in sink.error
    assert sink.wait(timeout=1)
    position = source.position
    time.sleep(0.1)
    assert source.position == position < source.total_frames
    sink.close()

    # The player's recovery: a new sink on the (new) default device, same source.
    with pulse_harness.PulseServer() as again:
        capture = again.start_capture()
        assert capture.wait_for_samples(SR // 20)
        with DeviceSink(source) as resumed:
            resumed.start()
            assert resumed.wait(timeout=10)
            assert resumed.error is None
        done = len(capture.samples())
        assert capture.wait_for_samples(done + SR // 10)
        capture.stop()
        found = _click_indices(capture.samples())
    remaining = [c for c in clicks if c >= position]
    assert source.position >= source.total_frames
    assert len(found) == len(remaining)
    assert np.all(np.abs(np.diff(found) - spacing) <= 1)


def test_opening_a_device_sink_without_a_sound_server_says_what_to_try_instead(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path / 'no-such-server'}")
    with pytest.raises(DeviceError) as caught:
        DeviceSink(ClickSource([0], SR))
    assert str(caught.value) == NO_DEVICE_MESSAGE


# --- render_to_file -------------------------------------------------------------------------


def test_rendered_wav_has_exactly_the_source_frames_within_16_bit_quantization(tmp_path):
    source = ToneSource(total_frames=100_000)
    path = tmp_path / "session.wav"

    written = render_to_file(source, path, frames=100_000)

    data, samplerate = soundfile.read(path, dtype="float32")
    info = soundfile.info(path)
    assert written == 100_000
    assert (samplerate, info.format, info.subtype) == (SR, "WAV", "PCM_16")
    assert data.shape == (100_000, 2)
    assert np.max(np.abs(data - source.expected())) <= 1 / 32768 + 1e-7


def test_without_a_length_the_render_ends_on_a_whole_block_of_trailing_silence(tmp_path):
    source = ToneSource(total_frames=20_000)
    path = tmp_path / "session.flac"

    written = render_to_file(source, path, blocksize=8192)

    data, _ = soundfile.read(path, dtype="float32")
    assert written == math.ceil(20_000 / 8192) * 8192 == len(data)
    assert np.max(np.abs(data[:20_000] - source.expected())) <= 1 / 32768 + 1e-7
    assert not np.any(data[20_000:])


@pytest.mark.parametrize(("suffix", "fmt"), [(".ogg", "OGG"), (".mp3", "MP3")])
def test_lossy_renders_keep_the_length_and_the_loudness(tmp_path, suffix, fmt):
    source = ToneSource(total_frames=48_000)
    path = tmp_path / f"session{suffix}"

    written = render_to_file(source, path, frames=48_000)

    data, samplerate = soundfile.read(path, dtype="float32")
    assert soundfile.info(path).format == fmt
    assert written == 48_000
    assert samplerate == SR
    # Encoder padding may add a little; never lose more than a few ms.
    assert abs(len(data) - 48_000) < 2048
    rms = float(np.sqrt(np.mean(data[4800:40_000] ** 2)))
    assert rms == pytest.approx(0.5 / math.sqrt(2), rel=0.1)


def test_format_argument_overrides_the_suffix(tmp_path):
    path = tmp_path / "session.bin"
    render_to_file(ToneSource(total_frames=1000), path, format="flac", frames=1000)
    assert soundfile.info(path).format == "FLAC"


def test_samples_beyond_full_scale_clip_instead_of_wrapping(tmp_path):
    path = tmp_path / "loud.wav"
    render_to_file(ToneSource(total_frames=4800, level=1.5), path, frames=4800)
    data, _ = soundfile.read(path, dtype="int16")
    peak_index = int(np.argmax(1.5 * np.sin(2 * np.pi * 440 * np.arange(4800) / SR)))
    assert data[peak_index, 0] == 32767


def test_a_render_that_fails_midway_leaves_no_file_and_keeps_the_old_one(tmp_path):
    path = tmp_path / "session.wav"
    path.write_bytes(b"previous render")

    with pytest.raises(RuntimeError, match="mixer exploded"):
        render_to_file(ToneSource(total_frames=10 * SR, fail_at=3 * 8192), path)

    assert path.read_bytes() == b"previous render"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["session.wav"]


def test_a_render_that_fails_midway_creates_no_file(tmp_path):
    path = tmp_path / "session.ogg"
    with pytest.raises(RuntimeError, match="mixer exploded"):
        render_to_file(ToneSource(total_frames=10 * SR, fail_at=8192), path)
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_suffix_is_refused_naming_the_formats_that_work(tmp_path):
    path = tmp_path / "session.xyz"
    with pytest.raises(VoicecoachError) as caught:
        render_to_file(ToneSource(total_frames=1000), path)
    assert "'.xyz'" in str(caught.value)
    assert ".wav, .flac, .ogg" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_rendering_into_a_missing_directory_is_a_clear_error(tmp_path):
    path = tmp_path / "nowhere" / "session.wav"
    with pytest.raises(VoicecoachError, match="does not exist"):
        render_to_file(ToneSource(total_frames=1000), path)


# --- run_clock ------------------------------------------------------------------------------


def test_the_clock_pulls_exactly_the_source_frames_in_whole_blocks():
    source = ClickSource([0], total_frames=2 * SR)
    blocks = []

    pulled = run_clock(source, speed=50, blocksize=1024, on_block=lambda: blocks.append(1))

    expected_blocks = math.ceil(2 * SR / 1024)
    assert len(blocks) == source.fills == expected_blocks
    assert pulled == source.position == expected_blocks * 1024


def test_no_block_is_announced_before_its_plan_time_at_speed_50():
    source = ClickSource([0], total_frames=SR)
    announced: list[float] = []
    before = time.monotonic()

    run_clock(source, speed=50, blocksize=1024, on_block=lambda: announced.append(time.monotonic()))

    due = [before + (k + 1) * 1024 / (SR * 50) for k in range(len(announced))]
    assert len(announced) == math.ceil(SR / 1024)
    assert all(a >= d for a, d in zip(announced, due, strict=True))


def test_should_stop_ends_the_clock_after_the_block_in_progress():
    source = ClickSource([0], total_frames=60 * SR)
    blocks: list[int] = []

    pulled = run_clock(
        source,
        speed=50,
        blocksize=1024,
        on_block=lambda: blocks.append(1),
        should_stop=lambda: len(blocks) >= 5,
    )

    assert len(blocks) == source.fills == 5
    assert pulled == 5 * 1024


def test_the_clock_refuses_a_speed_that_is_not_positive():
    with pytest.raises(ValueError, match="speed"):
        run_clock(ClickSource([0], SR), speed=0)
