"""The way to the first word: what a warm start reads and loads, what a cold start defers.

Real espeak-ng synthesis and real cache files. Counts and samples only: the figures in
time are `benchmarks/bench_startup.py`'s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from voicecoach import speech
from voicecoach.model import Exercise, Routine, Voice
from voicecoach.session import Prepared, build_mixer, prepare_speech
from voicecoach.speech import REFERENCE_PHRASES, Clip, PendingWrites, synthesize
from voicecoach.timeline import compile_routine

REPO = Path(__file__).resolve().parents[1]
ROUTINE = Routine("Tiny", (Exercise(0, "Bird dog", "hold", (1,), hold=3.0),))
TIMELINE = compile_routine(ROUTINE)
VOICE = Voice(name="en-us")

# Run in a fresh interpreter: what a warm start of the play path imports and reads.
WARM_START = """
import json, sys
from pathlib import Path
from voicecoach import speech
from voicecoach.model import Exercise, Routine, Voice
from voicecoach.session import build_mixer, prepare_speech
from voicecoach.timeline import compile_routine

routine = Routine("Tiny", (Exercise(0, "Bird dog", "hold", (1,), hold=3.0),))
timeline = compile_routine(routine)
prepared = prepare_speech(timeline, routine, Voice(name="en-us"), 48000, Path(sys.argv[1]))
plan, mixer = build_mixer(timeline, prepared)
print(json.dumps({
    "modules": sorted(sys.modules),
    "engine_clips_read": speech.stats.cache_hits,
    "workers": speech.stats.workers_started,
    "rejected": speech.stats.cache_rejected,
    "frames": plan.total_frames,
}))
"""


def files_in(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def same_clips(got: Prepared, want: Prepared) -> None:
    assert list(got.clips) == list(want.clips)
    for text, clip in want.clips.items():
        assert np.asarray(got.clips[text]).tobytes() == np.asarray(clip).tobytes(), text
    for name, tone in want.tones.items():
        assert got.tones[name].tobytes() == tone.tobytes(), name


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder of this test's own, and no earcon overrides."""
    monkeypatch.setenv("VOICECOACH_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "cache"


def test_a_cold_start_writes_nothing_to_the_cache_until_the_pending_writes_run(
    isolated: Path,
) -> None:
    pending = PendingWrites()

    cold = prepare_speech(TIMELINE, ROUTINE, VOICE, 48_000, isolated, pending=pending)

    assert files_in(isolated) == []
    assert len(pending) > len(cold.clips)  # engine clips, finished clips and tones
    pending.run()
    assert len(pending) == 0
    written = files_in(isolated)
    # One engine clip and one finished clip per phrase (the reference phrases are among
    # them), one finished clip per tone.
    spoken = [text for text in cold.clips if text.strip()]
    assert len([f for f in written if f.startswith("speech/")]) == len(spoken)
    assert len([f for f in written if f.startswith("speech-48000/")]) == len(spoken)
    assert len([f for f in written if f.startswith("tones-48000/")]) == len(cold.tones)
    # The next start reads exactly what this one played, and plans the same session.
    warm = prepare_speech(TIMELINE, ROUTINE, VOICE, 48_000, isolated)
    same_clips(warm, cold)
    assert build_mixer(TIMELINE, warm)[0] == build_mixer(TIMELINE, cold)[0]


def test_writing_at_once_or_later_makes_the_same_cache(isolated: Path, tmp_path: Path) -> None:
    pending = PendingWrites()
    prepare_speech(TIMELINE, ROUTINE, VOICE, 48_000, isolated, pending=pending)
    pending.run()
    at_once = tmp_path / "at-once"

    prepare_speech(TIMELINE, ROUTINE, VOICE, 48_000, at_once)

    assert files_in(at_once) == files_in(isolated)


def test_a_warm_start_reads_only_finished_clips_and_starts_no_engine(isolated: Path) -> None:
    cold = prepare_speech(TIMELINE, ROUTINE, VOICE, 48_000, isolated)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, "-c", WARM_START, str(isolated)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )

    warm = json.loads(done.stdout)

    assert warm["engine_clips_read"] == 0  # not one engine clip opened
    assert warm["workers"] == 0
    assert warm["rejected"] == 0
    assert warm["frames"] == build_mixer(TIMELINE, cold)[0].total_frames
    modules = set(warm["modules"])
    # Nothing that only making speech needs: the audio file library, the speakers of
    # either engine, the process pool's spawning machinery, nor importlib.metadata
    # (the engine's version is read from its folder's name).
    for heavy in [
        "soundfile",
        "voicecoach.speech.speakers",
        "voicecoach.speech.piper_speaker",
        "multiprocessing.popen_spawn_posix",
        "importlib.metadata",
    ]:
        assert heavy not in modules, heavy


def test_a_damaged_finished_clip_is_made_again_from_the_engine_clips(isolated: Path) -> None:
    cold = prepare_speech(TIMELINE, ROUTINE, VOICE, 48_000, isolated)
    finished = sorted((isolated / "speech-48000").glob("*.npy"))
    data = bytearray(finished[0].read_bytes())
    data[-40] ^= 0x01  # one bit of one sample
    finished[0].write_bytes(bytes(data))
    rejected, workers = speech.stats.cache_rejected, speech.stats.workers_started

    again = prepare_speech(TIMELINE, ROUTINE, VOICE, 48_000, isolated)

    same_clips(again, cold)
    assert speech.stats.cache_rejected == rejected + 1
    assert speech.stats.workers_started == workers  # from the cached engine clips
    assert finished[0].read_bytes() != bytes(data)  # written again, whole


def test_the_reference_phrases_are_spoken_before_the_rest(tmp_path: Path) -> None:
    order: list[str] = []

    def take(text: str, clip: Clip) -> None:
        order.append(text)

    phrases = ["Rest.", "Bird dog. Hold for three seconds.", "3"]
    synthesize(phrases, VOICE, tmp_path / "speech", workers=1, level=False, on_clip=take)

    assert order[: len(REFERENCE_PHRASES)] == list(REFERENCE_PHRASES)
    assert sorted(order[len(REFERENCE_PHRASES) :]) == sorted(phrases)


@pytest.mark.parametrize("name", ["pyttsx3", "numpy", "sounddevice", "no-such-package-here"])
def test_a_distribution_version_is_what_importlib_metadata_says(name: str) -> None:
    import importlib.metadata

    from voicecoach.speech.voices import distribution_version

    try:
        expected = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        expected = "unknown"
    assert distribution_version(name) == expected


NO_RICH_BEFORE_SOUND = """
import json, sys
import voicecoach.cli as cli
from voicecoach.player import Player
from voicecoach.program import load_today
from voicecoach.session import build_mixer, prepare_silent
from voicecoach.views import session_summary
from voicecoach.startup import SynthesisProgress
progress = SynthesisProgress()
progress.update(0, 0)
progress.update(12, 12)  # a warm cache: everything was there
progress.stop()
print(json.dumps(sorted(m for m in sys.modules if m == "rich" or m.startswith("rich."))))
"""


def test_play_imports_no_rich_before_the_sound_starts() -> None:
    # rich costs about 40 ms: the live panel is imported once the stream has started, and
    # a warm start shows no progress bar, so neither may pull it in before the first word.
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, "-c", NO_RICH_BEFORE_SOUND], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
