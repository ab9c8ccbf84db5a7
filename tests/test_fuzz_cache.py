"""Fuzz: a speech cache damaged at random still prepares exactly the clips a fresh synthesis gives.

One real espeak-ng synthesis fills a pristine cache (the speech WAVs and their 48 kHz
copies) for a tiny session. Each example copies it, damages one to three entries (random
bytes, truncation, flipped bytes, headers claiming huge shapes or other dtypes, a
directory, a FIFO or a symlink in place of a file, another entry swapped in), prepares the
session again, and checks every clip, sample for sample. A `VoicecoachError` would be an
acceptable outcome; any other exception, a hang or a different sample is a failure.
"""

from __future__ import annotations

import collections
import os
import shutil
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicecoach.errors import VoicecoachError
from voicecoach.model import Exercise, Routine, Voice
from voicecoach.session import Prepared, prepare_speech
from voicecoach.timeline import compile_routine

ROUTINE = Routine("Tiny", (Exercise(0, "Bird dog", "hold", (1,), hold=3.0),))
TIMELINE = compile_routine(ROUTINE)
RATE = 48_000
MINUS_1_DBFS = 10 ** (-1 / 20)
DAMAGES = (
    "random bytes",
    "truncated",
    "flipped bytes",
    "appended bytes",
    "empty",
    "huge shape",
    "wrong dtype",
    "directory",
    "full directory",
    "fifo",
    "symlink to another entry",
    "dangling symlink",
    "symlink loop",
    "swapped",
)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Prepared]:
    """A cache filled by one real synthesis, and the session it prepared."""
    root = tmp_path_factory.mktemp("pristine")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VOICECOACH_CONFIG_DIR", str(root / "config"))
        cache = root / "cache"
        return cache, prepare_speech(TIMELINE, ROUTINE, Voice(name="en-us"), RATE, cache)


def _npy_header(descr: str, shape: tuple[int, ...]) -> bytes:
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (-(len(header) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


def _damage(path: Path, how: str, others: list[Path], data: st.DataObject) -> None:
    raw = path.read_bytes()
    if how == "random bytes":
        path.write_bytes(data.draw(st.binary(max_size=4096)))
    elif how == "truncated":
        path.write_bytes(raw[: data.draw(st.integers(0, len(raw) - 1))])
    elif how == "flipped bytes":
        damaged = bytearray(raw)
        for _ in range(data.draw(st.integers(1, 8))):
            at = data.draw(st.integers(0, len(raw) - 1))
            damaged[at] ^= data.draw(st.integers(1, 255))
        path.write_bytes(bytes(damaged))
    elif how == "appended bytes":
        path.write_bytes(raw + data.draw(st.binary(min_size=1, max_size=64)))
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "huge shape":
        if path.suffix == ".npy":
            frames = (len(raw) - 128 - 32) // 4
            shape = data.draw(
                st.sampled_from(
                    [(10**11,), (2**62,), (frames + 1,), (frames - 1,), (0,), (frames, 2), ()]
                )
            )
            path.write_bytes(_npy_header("<f4", shape) + raw[128:])
        else:  # a WAV whose data chunk claims 2**32 - 1 bytes
            at = raw.find(b"data")
            if at >= 0:  # (not in a file an earlier damage cut short)
                path.write_bytes(raw[: at + 4] + struct.pack("<I", 2**32 - 1) + raw[at + 8 :])
    elif how == "wrong dtype":
        if path.suffix == ".npy":
            frames = (len(raw) - 128 - 32) // 4
            descr, shape = data.draw(
                st.sampled_from(
                    [
                        ("<f8", (frames // 2,)),
                        (">f4", (frames,)),
                        ("<i4", (frames,)),
                        ("<i2", (frames * 2,)),
                        ("<c8", (frames // 2,)),
                        ("|u1", (frames * 4,)),
                    ]
                )
            )
            path.write_bytes(_npy_header(descr, shape) + raw[128:])
        else:  # 32-bit integer PCM in place of float: format tag 1, not 3
            at = raw.find(b"fmt ")
            if at >= 0:
                path.write_bytes(raw[: at + 8] + struct.pack("<H", 1) + raw[at + 10 :])
    elif how in ("directory", "full directory"):
        path.unlink()
        path.mkdir()
        if how == "full directory":
            (path / "inside").write_bytes(b"x")
    elif how == "fifo":
        path.unlink()
        os.mkfifo(path)
    elif how == "symlink to another entry":
        path.unlink()
        path.symlink_to(data.draw(st.sampled_from(others)))
    elif how == "dangling symlink":
        path.unlink()
        path.symlink_to(path.with_name("nothing-here"))
    elif how == "symlink loop":
        path.unlink()
        path.symlink_to(path)
    else:  # "swapped": a whole, valid entry of another phrase
        shutil.copyfile(data.draw(st.sampled_from(others)), path)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_a_damaged_cache_prepares_exactly_what_a_fresh_synthesis_gives(
    data: st.DataObject, pristine: tuple[Path, Prepared], fuzz_counts: collections.Counter[str]
) -> None:
    cache_source, want = pristine
    with (
        tempfile.TemporaryDirectory(prefix="voicecoach-fuzz-") as tmp,
        pytest.MonkeyPatch.context() as mp,
    ):
        mp.setenv("VOICECOACH_CONFIG_DIR", str(Path(tmp) / "config"))
        cache = Path(shutil.copytree(cache_source, Path(tmp) / "cache", symlinks=True))
        entries = sorted([*cache.glob("speech/*.wav"), *cache.glob("speech-48000/*.npy")])
        for _ in range(data.draw(st.integers(1, 3), label="damages")):
            path = data.draw(st.sampled_from(entries), label="entry")
            if path.is_symlink() or not path.is_file() or path.stat().st_size == 0:
                continue  # already damaged in another way
            how = data.draw(st.sampled_from(DAMAGES), label="damage")
            # Whole entries of the same kind (an earlier damage may have spoiled some).
            others = [
                e
                for e in entries
                if e.suffix == path.suffix
                and e != path
                and not e.is_symlink()
                and e.is_file()
                and e.stat().st_size > 0
            ]
            if not others and how in ("symlink to another entry", "swapped"):
                continue
            _damage(path, how, others, data)
            fuzz_counts[f"cache damage: {how} ({path.suffix})"] += 1

        try:
            got = prepare_speech(TIMELINE, ROUTINE, Voice(name="en-us"), RATE, cache)
        except VoicecoachError:
            fuzz_counts["cache damage: VoicecoachError"] += 1
            return

    assert list(got.clips) == list(want.clips)
    for text, clip in want.clips.items():
        samples = np.asarray(got.clips[text])
        assert samples.dtype == np.float32
        assert np.isfinite(samples).all(), text
        assert np.abs(samples).max() <= MINUS_1_DBFS, text
        assert samples.tobytes() == np.asarray(clip).tobytes(), text
