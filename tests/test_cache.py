"""A damaged or untrusted speech cache: never a traceback, never a wrong clip, the session goes on.

Real espeak-ng synthesis and real files: each test damages a copy of a cache that one real
synthesis filled, then checks the clips that come back sample by sample against a fresh
synthesis, and what the cache holds afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile

from voicecoach import speech
from voicecoach.dsp import resample
from voicecoach.model import Exercise, Routine, Voice
from voicecoach.session import Prepared, prepare_speech, resampled_frames
from voicecoach.speech import (
    REFERENCE_PHRASES,
    Clip,
    cache_key,
    clip_digest,
    synthesize,
)
from voicecoach.timeline import compile_routine

SETTINGS = Voice(name="en-us")
PHRASES = ["3", "Breathe in"]
MINUS_1_DBFS = 10 ** (-1 / 20)
ROUTINE = Routine("Tiny", (Exercise(0, "Bird dog", "hold", (1,), hold=3.0),))
TIMELINE = compile_routine(ROUTINE)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Clip]]:
    """A speech cache filled by one real synthesis of PHRASES, and the clips it gave."""
    folder = tmp_path_factory.mktemp("pristine") / "speech"
    return folder, synthesize(PHRASES, SETTINGS, folder)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Prepared]:
    """A whole cache (speech and 48 kHz copies) for a tiny session, and what it prepared."""
    root = tmp_path_factory.mktemp("prepared")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VOICECOACH_CONFIG_DIR", str(root / "config"))
        return root / "cache", prepare_speech(
            TIMELINE, ROUTINE, Voice(name="en-us"), 48_000, root / "cache"
        )


def entry(folder: Path, text: str, settings: Voice = SETTINGS) -> Path:
    return folder / f"{cache_key(text, settings)}.wav"


def same_clips(got: dict[str, Clip], want: dict[str, Clip]) -> None:
    assert list(got) == list(want)
    for text in want:
        assert got[text].samplerate == want[text].samplerate, text
        assert got[text].samples.tobytes() == want[text].samples.tobytes(), text
        assert np.isfinite(got[text].samples).all()
        assert np.abs(got[text].samples).max() <= MINUS_1_DBFS


def same_prepared(got: Prepared, want: Prepared) -> None:
    assert list(got.clips) == list(want.clips)
    for text, clip in want.clips.items():
        assert isinstance(clip, np.ndarray)
        assert np.asarray(got.clips[text]).tobytes() == clip.tobytes(), text


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """``folder`` cannot be written, even by root (who ignores modes): immutable then."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(folder)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
    else:
        folder.chmod(0o500)
        try:
            yield
        finally:
            folder.chmod(0o700)


@contextlib.contextmanager
def tiny_filesystem(folder: Path, size: str) -> Iterator[None]:
    """A real file system of ``size`` mounted at ``folder`` (root only), to fill up."""
    folder.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip()}); needs root")
    try:
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_read_only_cache_with_a_new_phrase_gives_the_clip_and_a_note(
    pristine: tuple[Path, dict[str, Clip]], tmp_path: Path
) -> None:
    folder = Path(shutil.copytree(pristine[0], tmp_path / "speech"))
    before = sorted(p.name for p in folder.iterdir())
    fresh = synthesize([*PHRASES, "Rest."], SETTINGS, tmp_path / "fresh")
    notes: list[str] = []

    with read_only(folder):
        clips = synthesize([*PHRASES, "Rest."], SETTINGS, folder, on_note=notes.append)

    same_clips(clips, fresh)
    assert sorted(p.name for p in folder.iterdir()) == before
    assert len(notes) == 1
    assert notes[0].startswith(f"1 phrase could not be saved in the speech cache {folder} (")
    assert "the session goes on" in notes[0]


def test_a_resampled_entry_whose_header_claims_1e11_samples_is_made_again(
    prepared: tuple[Path, Prepared], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = Path(shutil.copytree(prepared[0], tmp_path / "cache"))
    monkeypatch.setenv("VOICECOACH_CONFIG_DIR", str(tmp_path / "config"))
    entries = sorted((cache / "speech-48000").glob("*.npy"))
    assert entries
    for path in entries:
        data = path.read_bytes()
        with open(path, "wb") as f:
            np.lib.format.write_array_header_1_0(
                f, {"descr": "<f4", "fortran_order": False, "shape": (10**11,)}
            )
            f.write(data[128:])
    rejected = speech.stats.cache_rejected

    tracemalloc.start()
    try:
        again = prepare_speech(TIMELINE, ROUTINE, Voice(name="en-us"), 48_000, cache)
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    same_prepared(again, prepared[1])
    assert speech.stats.cache_rejected == rejected + len(entries)
    assert peak_bytes < 200_000_000  # the clips themselves, never 400 GB
    # Each entry was written again, whole: the next start reads them all.
    rejected = speech.stats.cache_rejected
    same_prepared(
        prepare_speech(TIMELINE, ROUTINE, Voice(name="en-us"), 48_000, cache), prepared[1]
    )
    assert speech.stats.cache_rejected == rejected


def test_a_directory_in_place_of_an_entry_is_passed_over(
    prepared: tuple[Path, Prepared], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = Path(shutil.copytree(prepared[0], tmp_path / "cache"))
    monkeypatch.setenv("VOICECOACH_CONFIG_DIR", str(tmp_path / "config"))
    # prepare_speech resolves the voice's name to its id, which keys the cache.
    wav = entry(cache / "speech", "3", Voice(name="gmw/en-us"))
    wav.unlink()
    (wav / "something").mkdir(parents=True)  # not empty: it cannot be replaced
    npy = sorted((cache / "speech-48000").glob("*.npy"))[0]
    npy.unlink()
    npy.mkdir()  # empty: it makes way for the entry
    notes: list[str] = []

    again = prepare_speech(
        TIMELINE, ROUTINE, Voice(name="en-us"), 48_000, cache, on_note=notes.append
    )

    same_prepared(again, prepared[1])
    assert wav.is_dir()
    assert npy.is_file() and np.load(npy).dtype == np.float32
    assert notes == [
        f"1 phrase could not be saved in the speech cache {cache / 'speech'} "
        "(is a directory); the session goes on, and they will be synthesized "
        "again next time"
    ]


def test_a_truncated_entry_is_made_again_whole(
    pristine: tuple[Path, dict[str, Clip]], tmp_path: Path
) -> None:
    folder = Path(shutil.copytree(pristine[0], tmp_path / "speech"))
    path = entry(folder, "Breathe in")
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])  # a valid header, half the samples
    spoken = speech.stats.phrases_synthesized

    clips = synthesize(PHRASES, SETTINGS, folder)

    same_clips(clips, pristine[1])
    assert speech.stats.phrases_synthesized == spoken + 1
    # Written again whole (libsndfile stamps the time in it, so not byte for byte).
    assert len(path.read_bytes()) == len(whole)
    rejected = speech.stats.cache_rejected
    same_clips(synthesize(PHRASES, SETTINGS, folder), pristine[1])
    assert speech.stats.cache_rejected == rejected
    assert speech.stats.phrases_synthesized == spoken + 1


@pytest.mark.parametrize("damage", ["nan", "over full scale", "nan with its digest"])
def test_an_entry_with_nan_or_out_of_range_samples_is_made_again(
    damage: str, pristine: tuple[Path, dict[str, Clip]], tmp_path: Path
) -> None:
    folder = Path(shutil.copytree(pristine[0], tmp_path / "speech"))
    path = entry(folder, "3")
    samples, rate = soundfile.read(path, dtype="float32")
    if damage == "over full scale":
        samples = samples * 8.0
    else:
        samples[100:200] = np.nan
    with soundfile.SoundFile(path, "w", rate, 1, format="WAV", subtype="FLOAT") as f:
        if damage == "nan with its digest":
            # As the cache would write it: only the check of the samples catches this.
            f.comment = "voicecoach sha256 " + clip_digest(cache_key("3", SETTINGS), rate, samples)
        f.write(samples)

    clips = synthesize(PHRASES, SETTINGS, folder)

    same_clips(clips, pristine[1])


def test_another_phrases_entry_never_plays_in_its_place(
    pristine: tuple[Path, dict[str, Clip]], tmp_path: Path
) -> None:
    # A copy of "3" as "Breathe in", and a link from the safety message's entry to "3":
    # each is a whole, valid clip, but not of the phrase it is filed under.
    folder = Path(shutil.copytree(pristine[0], tmp_path / "speech"))
    shutil.copyfile(entry(folder, "3"), entry(folder, "Breathe in"))
    safety = entry(folder, REFERENCE_PHRASES[0])
    safety.unlink()
    safety.symlink_to(entry(folder, "3"))

    clips = synthesize([*PHRASES, REFERENCE_PHRASES[0]], SETTINGS, folder)

    fresh = synthesize([*PHRASES, REFERENCE_PHRASES[0]], SETTINGS, tmp_path / "fresh")
    same_clips(clips, fresh)
    assert clips["Breathe in"].samples.size != clips["3"].samples.size
    # The link was replaced by a file of its own, not written through.
    assert not safety.is_symlink()
    same_clips(synthesize(["3"], SETTINGS, folder), {"3": fresh["3"]})


def test_a_cache_folder_that_is_a_file_costs_time_not_the_session(
    pristine: tuple[Path, dict[str, Clip]], tmp_path: Path
) -> None:
    folder = tmp_path / "speech"
    folder.write_bytes(b"not a folder")
    notes: list[str] = []

    clips = synthesize(PHRASES, SETTINGS, folder, on_note=notes.append)

    same_clips(clips, pristine[1])
    assert folder.read_bytes() == b"not a folder"
    assert notes == [
        f"the speech cache folder {folder} cannot be used (file exists); speech is made afresh"
    ]


def test_a_cache_folder_open_to_others_is_made_private(
    pristine: tuple[Path, dict[str, Clip]], tmp_path: Path
) -> None:
    folder = tmp_path / "speech"
    folder.mkdir()
    folder.chmod(0o777)

    clips = synthesize(PHRASES, SETTINGS, folder)

    same_clips(clips, pristine[1])
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    modes = {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}
    assert modes == {0o600}


def test_a_cache_folder_of_another_user_is_neither_read_nor_written(
    pristine: tuple[Path, dict[str, Clip]], tmp_path: Path
) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root can give a folder to another user")
    folder = Path(shutil.copytree(pristine[0], tmp_path / "speech"))
    for path in [folder, *folder.iterdir()]:
        os.chown(path, 65534, 65534)  # nobody
    # Whatever is in there could have been put there by that user: it is not read.
    shutil.copyfile(entry(folder, "3"), entry(folder, "Breathe in"))
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    mode = folder.stat().st_mode
    hits = speech.stats.cache_hits
    notes: list[str] = []

    clips = synthesize(PHRASES, SETTINGS, folder, on_note=notes.append)

    same_clips(clips, pristine[1])
    assert speech.stats.cache_hits == hits
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert folder.stat().st_mode == mode
    assert notes == [
        f"the speech cache folder {folder} belongs to another user; it is not "
        "used (speech is made afresh)"
    ]


def test_a_full_disk_while_storing_goes_on_without_caching(
    prepared: tuple[Path, Prepared], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICECOACH_CONFIG_DIR", str(tmp_path / "config"))
    cache = tmp_path / "cache"
    notes: list[str] = []
    # 64 KB: room for the folders and a few short clips, not for the safety message.
    with tiny_filesystem(cache, "64k"):
        again = prepare_speech(
            TIMELINE, ROUTINE, Voice(name="en-us"), 48_000, cache, on_note=notes.append
        )
        left = [p.name for p in cache.rglob("*") if p.name.endswith(".part")]
        kept = list(cache.rglob("*.wav"))

    same_prepared(again, prepared[1])
    assert left == []
    assert 0 < len(kept) < len(again.clips)
    assert len(notes) == 2
    assert notes[0].endswith(
        f"could not be saved in the speech cache {cache / 'speech'} "
        "(disk full); the session goes on, and they will be synthesized "
        "again next time"
    )
    assert notes[1] == (
        f"resampled speech could not be saved in the cache "
        f"{cache / 'speech-48000'} (disk full); the session goes on, and it "
        "will be made again next time"
    )


@pytest.mark.parametrize(
    ("from_rate", "to_rate"),
    [
        (22050, 48000),
        (22050, 44100),
        (22050, 16000),
        (24000, 48000),
        (44100, 48000),
        (96000, 48000),
    ],
)
def test_the_length_a_resampled_entry_must_have_is_the_resamplers(
    from_rate: int, to_rate: int
) -> None:
    # An entry of any other length is refused unread, so this must be exact (soxr rounds
    # halves up, not to even), or the cache would never hit.
    for frames in [1, 2, 3, 7, 1001, 2205, 12_345, 216_676, 333_333]:
        made = resample(np.zeros(frames, dtype=np.float32), from_rate, to_rate)
        assert resampled_frames(frames, from_rate, to_rate) == made.size, frames


def test_a_resampled_entry_whose_header_is_not_python_is_made_again(
    prepared: tuple[Path, Prepared], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found by the fuzz: a header dict that is never closed made numpy's parser raise
    # tokenize.TokenError, which is neither ValueError nor OSError.
    cache = Path(shutil.copytree(prepared[0], tmp_path / "cache"))
    monkeypatch.setenv("VOICECOACH_CONFIG_DIR", str(tmp_path / "config"))
    path = sorted((cache / "speech-48000").glob("*.npy"))[0]
    data = path.read_bytes()
    header = b"{'descr': '<f4', 'fortran_order': False, 'shape': (1000,), "
    header += b" " * (117 - len(header)) + b"\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + data[128:])

    again = prepare_speech(TIMELINE, ROUTINE, Voice(name="en-us"), 48_000, cache)

    same_prepared(again, prepared[1])
