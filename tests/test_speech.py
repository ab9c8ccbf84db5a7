"""Speech synthesis with the real pyttsx3 + espeak-ng: trimming, cache, workers, errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile

from voicecoach import speech
from voicecoach.dsp import trim_silence
from voicecoach.model import Voice
from voicecoach.phrases import SAFETY_MESSAGE
from voicecoach.speech import (
    Clip,
    SynthesisError,
    VoiceNotFound,
    cache_key,
    resolve_voice,
    synthesize,
    workers,
)

REPO = Path(__file__).resolve().parents[1]
# The safety message is long on purpose: espeak-ng is still speaking it when pyttsx3's
# runAndWait returns, so it proves that synthesis waits for the whole utterance.
PHRASES = ["Bird dog. Set 1 of 3. Left side.", "Breathe in", "3", SAFETY_MESSAGE]
# The voice's level is measured on the reference phrases: they are synthesized (and
# cached) with any phrase.
EVERY = list(dict.fromkeys([*PHRASES, *speech.REFERENCE_PHRASES]))
SETTINGS = Voice(name="en-us")
MINUS_1_DBFS = 10 ** (-1 / 20)
MS = 22.05  # frames per millisecond at the espeak driver's 22050 Hz


@pytest.fixture(scope="module")
def cached(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Clip]]:
    """One real synthesis of PHRASES, shared by the tests that only read it."""
    folder = tmp_path_factory.mktemp("speech")
    return folder, synthesize(PHRASES, SETTINGS, folder)


def _loud(samples: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.abs(samples) >= 0.01 * np.abs(samples).max())


def _worker_pids() -> list[int]:
    """Our spawned worker processes (children whose command line is multiprocessing's)."""
    pids = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        for pid in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"spawn_main" in cmdline:
                pids.append(int(pid))
    return pids


def test_clips_are_mono_float32_at_22050_hz(cached: tuple[Path, dict[str, Clip]]) -> None:
    _, clips = cached
    assert list(clips) == PHRASES
    for clip in clips.values():
        assert clip.samplerate == 22050
        assert clip.samples.dtype == np.float32
        assert clip.samples.ndim == 1
        assert clip.samples.size > 0
        assert np.abs(clip.samples).max() <= MINUS_1_DBFS


def test_clips_start_and_end_at_their_sound(cached: tuple[Path, dict[str, Clip]]) -> None:
    _, clips = cached
    for text, clip in clips.items():
        loud = _loud(clip.samples)
        # espeak-ng pads with about 11 ms before and 235 ms after the voice; what is left
        # is 5 ms of attack and 30 ms of decay.
        assert loud[0] <= 6 * MS, text
        assert clip.samples.size - 1 - loud[-1] <= 31 * MS, text
        # Raised-cosine edges: the clip starts and ends at exactly zero (no click).
        assert clip.samples[0] == 0.0 and clip.samples[-1] == 0.0


def test_clip_length_is_plausible_for_the_text(cached: tuple[Path, dict[str, Clip]]) -> None:
    _, clips = cached
    for text, clip in clips.items():
        words = len(text.split())
        assert 0.15 * words <= clip.seconds <= 0.2 + 0.8 * words, (text, clip.seconds)
    assert clips["3"].seconds < clips["Breathe in"].seconds < clips[PHRASES[0]].seconds
    assert clips[SAFETY_MESSAGE].seconds > 8.0  # 35 words, all of them


def test_trim_silence_keeps_attack_and_decay_around_the_sound() -> None:
    rate = 1000
    x = np.zeros(1000, dtype=np.float32)
    x[200:600] = 0.5  # sound from 200 ms to 600 ms
    out = trim_silence(
        x, rate, keep_before_s=0.005, keep_after_s=0.030, fade_in_s=0.002, fade_out_s=0.010
    )
    assert out.size == 5 + 400 + 30
    assert out[0] == 0.0 and out[-1] == 0.0
    assert np.all(out[5:405] == 0.5)


def test_trim_silence_of_pure_silence_is_empty() -> None:
    assert trim_silence(np.zeros(500, dtype=np.float32), 1000).size == 0


def test_a_second_call_is_served_from_the_cache_without_any_engine(
    cached: tuple[Path, dict[str, Clip]],
) -> None:
    folder, first = cached
    files = sorted(folder.glob("*.wav"))
    assert len(files) == len(EVERY)
    mtimes = [f.stat().st_mtime_ns for f in files]
    started, spoken = speech.stats.workers_started, speech.stats.phrases_synthesized
    calls: list[tuple[int, int]] = []

    again = synthesize(PHRASES, SETTINGS, folder, progress=lambda d, t: calls.append((d, t)))

    assert speech.stats.workers_started == started
    assert speech.stats.phrases_synthesized == spoken
    assert [f.stat().st_mtime_ns for f in files] == mtimes
    assert calls == [(len(EVERY), len(EVERY))]
    for text in PHRASES:
        assert again[text].samples.tobytes() == first[text].samples.tobytes()


def test_the_cache_key_changes_with_text_voice_rate_and_volume() -> None:
    base = cache_key("Breathe in", SETTINGS)
    assert cache_key("Breathe in", Voice(name="en-us")) == base
    assert cache_key("Breathe out", SETTINGS) != base
    assert cache_key("Breathe in", Voice(name="en-gb")) != base
    assert cache_key("Breathe in", Voice(name="en-us", rate=150)) != base
    assert cache_key("Breathe in", Voice(name="en-us", volume=0.5)) != base
    assert cache_key("Breathe in", Voice()) != base


def test_a_slower_rate_is_a_new_cache_entry_and_a_longer_clip(
    cached: tuple[Path, dict[str, Clip]], tmp_path: Path
) -> None:
    _, clips = cached
    slow = synthesize(["Breathe in"], Voice(name="en-us", rate=100), tmp_path)
    assert len(list(tmp_path.glob("*.wav"))) == 1 + len(speech.REFERENCE_PHRASES)
    assert slow["Breathe in"].seconds > 1.3 * clips["Breathe in"].seconds


def test_parallel_workers_give_byte_identical_clips_to_one_worker(tmp_path: Path) -> None:
    # espeak-ng's output depends on what the same engine spoke before; the fresh child
    # per phrase makes the result independent of which worker speaks what, in what order.
    phrases = ["Breathe in", "Breathe out", "Breathe in slowly", "Relax.", "Rep 2"]
    one = synthesize(phrases, SETTINGS, tmp_path / "one", workers=1)
    two = synthesize(list(reversed(phrases)), SETTINGS, tmp_path / "two", workers=2)
    for text in phrases:
        assert one[text].samples.tobytes() == two[text].samples.tobytes(), text


def test_cache_writes_leave_no_temp_files_and_a_torn_entry_is_made_again(
    cached: tuple[Path, dict[str, Clip]], tmp_path: Path
) -> None:
    _, clips = cached
    first = synthesize(["3"], SETTINGS, tmp_path)
    entry = tmp_path / f"{cache_key('3', SETTINGS)}.wav"
    names = sorted(f"{cache_key(t, SETTINGS)}.wav" for t in ["3", *speech.REFERENCE_PHRASES])
    assert sorted(p.name for p in tmp_path.iterdir()) == names
    assert soundfile.info(entry).subtype == "FLOAT"
    entry.write_bytes(entry.read_bytes()[:30])  # as if a non-atomic writer had been killed
    spoken = speech.stats.phrases_synthesized

    again = synthesize(["3"], SETTINGS, tmp_path)

    assert speech.stats.phrases_synthesized == spoken + 1
    assert again["3"].samples.tobytes() == first["3"].samples.tobytes()
    assert first["3"].samples.tobytes() == clips["3"].samples.tobytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == names


def test_blank_phrases_give_empty_clips_without_synthesis(tmp_path: Path) -> None:
    started = speech.stats.workers_started
    clips = synthesize(["", "  "], SETTINGS, tmp_path)
    assert [c.samples.size for c in clips.values()] == [0, 0]
    assert speech.stats.workers_started == started


def test_progress_counts_every_distinct_phrase(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    synthesize(["1", "2", "1"], SETTINGS, tmp_path, progress=lambda d, t: calls.append((d, t)))
    total = 2 + len(speech.REFERENCE_PHRASES)
    assert calls == [(done, total) for done in range(total + 1)]


@pytest.mark.parametrize("name", ["gmw/en-us", "en-us", "English (America)", "ENGLISH (AMERICA)"])
def test_voices_resolve_by_id_or_name_case_insensitively(name: str) -> None:
    assert resolve_voice(name) == "gmw/en-us"


def test_an_unknown_voice_names_close_matches_and_the_voices_command() -> None:
    with pytest.raises(VoiceNotFound) as info:
        resolve_voice("Englsh (Amerca)")
    message = str(info.value)
    assert "'Englsh (Amerca)' is not installed" in message
    assert "English (America)" in message
    assert "voicecoach voices" in message


def test_synthesizing_with_an_unknown_voice_raises_voice_not_found(tmp_path: Path) -> None:
    with pytest.raises(VoiceNotFound, match="no-such-voice"):
        synthesize(["Breathe in"], Voice(name="no-such-voice"), tmp_path)
    assert list(tmp_path.glob("*.wav")) == []


def test_a_worker_that_dies_gives_a_clear_error(tmp_path: Path) -> None:
    def kill_worker(done: int, total: int) -> None:
        if done == 1:  # after the first phrase: the worker is idle, waiting for the next
            for pid in _worker_pids():
                os.kill(pid, signal.SIGKILL)

    with pytest.raises(SynthesisError, match="killed by signal 9 while speaking"):
        synthesize(["1", "2", "3"], SETTINGS, tmp_path, workers=1, progress=kill_worker)
    assert _worker_pids() == []


def test_a_stuck_worker_times_out_with_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pool reads it as it starts: its own deadline and the one it gives each worker.
    monkeypatch.setattr(workers, "PHRASE_TIMEOUT_S", 0.5)

    def freeze_worker(done: int, total: int) -> None:
        if done == 1:
            for pid in _worker_pids():
                os.kill(pid, signal.SIGSTOP)

    with pytest.raises(SynthesisError, match="got stuck speaking"):
        synthesize(["1", "2", "3"], SETTINGS, tmp_path, workers=1, progress=freeze_worker)
    assert _worker_pids() == []


# The machine has libespeak-ng1 installed, so a missing backend is simulated in a child
# interpreter: a sitecustomize makes ctypes fail to load libespeak-ng exactly as it fails
# when the package is absent (OSError from dlopen), so pyttsx3's own loader raises its real
# "eSpeak or eSpeak-ng" RuntimeError; or it makes `import pyttsx3` itself fail.
BLOCK_LIBESPEAK = """
import ctypes
_init = ctypes.CDLL.__init__
def _blocked(self, name, *args, **kwargs):
    if name and "espeak" in str(name):
        raise OSError(f"{name}: cannot open shared object file: No such file or directory")
    _init(self, name, *args, **kwargs)
ctypes.CDLL.__init__ = _blocked
"""
BLOCK_PYTTSX3 = "import sys\nsys.modules['pyttsx3'] = None\n"
CALLER = """
import sys, tempfile
from pathlib import Path
from voicecoach.model import Voice
from voicecoach.speech import SpeechUnavailable, list_voices, synthesize
def main():
    for call in (lambda: synthesize(["Hi"], Voice(), Path(tempfile.mkdtemp())),
                 list_voices):
        try:
            call()
        except SpeechUnavailable as exc:
            print(exc)
            print("----")
if __name__ == "__main__":
    main()
"""


@pytest.mark.parametrize("blocker", [BLOCK_LIBESPEAK, BLOCK_PYTTSX3], ids=["lib", "import"])
def test_a_missing_backend_says_how_to_install_it(tmp_path: Path, blocker: str) -> None:
    (tmp_path / "sitecustomize.py").write_text(textwrap.dedent(blocker))
    (tmp_path / "caller.py").write_text(CALLER)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    result = subprocess.run(
        [sys.executable, str(tmp_path / "caller.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    messages = result.stdout.split("----\n")[:-1]
    assert len(messages) == 2  # both synthesize and list_voices raised SpeechUnavailable
    for message in messages:
        assert message.startswith("No speech engine is available")
        assert "sudo apt-get install espeak-ng libespeak-ng1" in message
        assert "sudo dnf install espeak-ng" in message


# In the spawned workers only: the second worker to start reports "ready" only after the
# parent has finished with the first one and closed its pipe, which used to end in a
# BrokenPipeError traceback on the user's terminal.
LATE_SECOND_WORKER = """
import os, sys
if "--multiprocessing-fork" in sys.argv:
    try:
        os.close(os.open(os.environ["VOICECOACH_TEST_LOCK"], os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        import multiprocessing.connection as mc
        _send = mc.Connection.send
        def send(self, obj):
            if obj == ("ready",):
                while True:
                    try:
                        self.recv()
                    except EOFError:
                        break
            return _send(self, obj)
        mc.Connection.send = send
"""
LATE_CALLER = """
import sys, tempfile
from pathlib import Path
from voicecoach.model import Voice
from voicecoach.speech import synthesize
if __name__ == "__main__":
    clips = synthesize(["1", "2"], Voice(name="en-us"), Path(tempfile.mkdtemp()),
                       workers=2)
    print(sorted(clips), all(c.samples.size > 0 for c in clips.values()))
"""


def test_a_worker_that_starts_after_the_work_is_done_exits_without_a_traceback(
    tmp_path: Path,
) -> None:
    (tmp_path / "sitecustomize.py").write_text(LATE_SECOND_WORKER)
    (tmp_path / "caller.py").write_text(LATE_CALLER)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)]),
        "VOICECOACH_TEST_LOCK": str(tmp_path / "first-worker"),
    }
    result = subprocess.run(
        [sys.executable, str(tmp_path / "caller.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "['1', '2'] True\n"
    assert result.stderr == ""


def test_every_phrase_is_spoken_at_the_rate_asked_for_however_the_workers_run(
    tmp_path: Path,
) -> None:
    # pyttsx3's espeak driver applied the rate in espeak-ng's own thread, racing the
    # voice: under load about one phrase in ten came out at 200 (or 175) words a minute
    # instead of the 100 asked for, and was cached so.
    slow = Voice(name="en-us", rate=100)
    phrases = (
        [f"Rep {n}" for n in range(1, 11)]
        + [f"Set {n} of 10." for n in range(1, 11)]
        + [
            "Breathe in",
            "Breathe out",
            "Rest.",
            "Halfway.",
            "Relax. Right side next.",
            "Keep the hips level.",
            "Bird dog.",
            "Dead bug.",
            "Side plank.",
            "Curl-up.",
        ]
    )
    at_100 = synthesize(phrases, slow, tmp_path / "slow", workers=2)
    at_200 = synthesize(phrases, SETTINGS, tmp_path / "normal", workers=2)
    too_fast = [text for text in phrases if at_100[text].seconds < 1.4 * at_200[text].seconds]
    assert too_fast == []
