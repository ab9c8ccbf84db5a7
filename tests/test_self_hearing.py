"""The coach hearing itself: the whole of back-basics, decoded, obeys no keyword of its own.

With `play --listen` through speakers, the microphone hears every cue of the session,
and the coach says "stop", "next", "resuming"... The routine is rendered by `voicecoach
render` (real espeak-ng) at the recogniser's 16 kHz, two words of a person are mixed into
silent moments, and the whole of it goes through the listener's own `Spotter` and
`Heeding` with the coach's phrases noted where the render's timeline puts them (what the
player tells the listener as it plays).

This runs at decoding speed (about 30x real time), not through a microphone: the 21
minutes in real time through a virtual microphone are `benchmarks/bench_listen.py`'s.
The sound is the same, a null sink's monitor being a digital copy.
"""

from __future__ import annotations

import itertools
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import VOICECOACH
from voicecoach.commands import Command
from voicecoach.hearing import KEYWORDS, CoachSpeech, Heeding
from voicecoach.listening import BLOCK_FRAMES, SAMPLERATE, THRESHOLDS, Spotter

pytestmark = pytest.mark.e2e

PERSON_VOICE = "en-us+f3"
WORDS_AT_LEAST_S = 4.0  # a person's word is put this far from any cue
TOLD_AHEAD_S = 0.5  # the player tells the listener of a phrase when the mixer plays it


def test_the_whole_of_back_basics_obeys_none_of_its_own_words(
    tmp_path: Path, vc_env: dict[str, str]
) -> None:
    pytest.importorskip("pocketsphinx")
    import soundfile

    from voicecoach.dsp import resample

    wav, timeline = tmp_path / "routine.wav", tmp_path / "timeline.json"
    render = ["render", "back-basics", "-o", str(wav), "--timeline", str(timeline)]
    done = subprocess.run(
        [*VOICECOACH, *render, "--samplerate", str(SAMPLERATE), "--as-written"],
        env=vc_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    stereo, rate = soundfile.read(str(wav), dtype="int16")
    assert rate == SAMPLERATE
    audio = stereo.mean(axis=1)
    cues = json.loads(timeline.read_text())["cues"]
    # What the player tells the listener: every sound, the tones with no words.
    sounds = sorted(cues, key=lambda c: float(c["at"]))

    # A person says "stop" twice, in silences (a long hold), which must be obeyed.
    word_file = tmp_path / "stop.wav"
    subprocess.run(["espeak-ng", "-v", PERSON_VOICE, "-w", str(word_file), "stop"], check=True)
    word, word_rate = soundfile.read(str(word_file), dtype="float32")
    word = resample(word, word_rate, SAMPLERATE) * 32767 * 0.5
    said_at = _silences(cues, len(audio) / SAMPLERATE)[:2]
    assert len(said_at) == 2, "no silence long enough for a person's word"
    for at in said_at:
        first = round(at * SAMPLERATE)
        audio[first : first + len(word)] += word

    coach = CoachSpeech()
    heeding = Heeding(coach)
    spotter = Spotter(THRESHOLDS, SAMPLERATE)
    pcm = np.clip(audio, -32768, 32767).astype(np.int16)
    raw: list[tuple[str, float]] = []
    obeyed: list[tuple[Command, float]] = []
    told = 0
    for start in range(0, len(pcm), BLOCK_FRAMES):
        # As the player does: each phrase is told shortly before it sounds (it forgets
        # phrases a minute old, so not all at once).
        while told < len(sounds) and sounds[told]["at"] < start / SAMPLERATE + TOLD_AHEAD_S:
            cue = sounds[told]
            coach.said(cue["text"] or "", cue["at"], cue["end"])
            told += 1
        for keyword, first, last in spotter.feed(pcm[start : start + BLOCK_FRAMES]):
            begin, end = first / SAMPLERATE, last / SAMPLERATE
            raw.append((keyword, end))
            command = heeding.command_for(keyword, begin, end)
            if command is not None:
                obeyed.append((command, end))

    speech_s = sum(c["end"] - c["at"] for c in cues if c["kind"] == "speech")
    print(
        f"\n{len(pcm) / SAMPLERATE / 60:.1f} min, {speech_s / 60:.1f} min of coach speech: "
        f"{len(raw)} keywords found, obeyed {[(c.name, round(t, 1)) for c, t in obeyed]}"
    )
    # The person's two words, and nothing of the coach's.
    assert [c for c, _ in obeyed] == [Command.STOP_PAIN] * 2, obeyed
    for (_, end), at in zip(obeyed, said_at, strict=True):
        assert at < end < at + len(word) / SAMPLERATE + 0.5
    # The coach's own keywords were there to be found: the filter, not deafness, kept
    # them from being obeyed.
    assert len(raw) > 10


def _silences(cues: list[dict[str, object]], duration: float) -> list[float]:
    """Moments at least WORDS_AT_LEAST_S from any cue (speech or tone), one per gap."""
    spans = sorted((float(c["at"]), float(c["end"])) for c in cues)  # type: ignore[arg-type]
    found = []
    for (_, end), (next_at, _) in itertools.pairwise(spans):
        if next_at - end > 2 * WORDS_AT_LEAST_S + 1.0:
            found.append(end + WORDS_AT_LEAST_S)
    return [t for t in found if t + WORDS_AT_LEAST_S < duration]


OTHER_WORDS_SAID = ("okay", "hello", "breathe", "yes", "water", "one more", "ouch")
KEYWORDS_SAID = {
    "pause": Command.PAUSE_ONLY,
    "next": Command.NEXT,
    "continue": Command.RESUME,
    "stop": Command.STOP_PAIN,
}


def test_other_words_are_not_obeyed_and_each_keyword_is_told_apart(tmp_path: Path) -> None:
    # Without the second pass, kws alone heard "pause" as "stop" or "pain", and turned most
    # other words into commands. Each word is said alone, in silence, in two voices.
    pytest.importorskip("pocketsphinx")
    import soundfile

    from voicecoach.dsp import resample

    said: list[tuple[str, int, int]] = []
    parts = []
    at = 0
    for k, text in enumerate([*OTHER_WORDS_SAID, *KEYWORDS_SAID] * 2):
        path = tmp_path / "word.wav"
        voice = ("en-us+f3", "en-us+m3")[k % 2]
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True)
        clip, rate = soundfile.read(str(path), dtype="float32")
        clip = resample(clip, rate, SAMPLERATE) * 32767 * 0.4
        gap = np.zeros(3 * SAMPLERATE)
        said.append((text, at + len(gap), at + len(gap) + len(clip)))
        parts += [gap, clip]
        at += len(gap) + len(clip)
    pcm = np.concatenate([*parts, np.zeros(SAMPLERATE)]).astype(np.int16)
    spotter = Spotter(THRESHOLDS, SAMPLERATE)
    found = []
    for start in range(0, len(pcm), BLOCK_FRAMES):
        found += spotter.feed(pcm[start : start + BLOCK_FRAMES])
    heard: dict[str, set[Command]] = {text: set() for text, _, _ in said}
    for keyword, first, last in found:
        for text, begin, end in said:
            if begin - SAMPLERATE // 2 < last and first < end + SAMPLERATE // 2:
                heard[text].add(KEYWORDS[keyword])
    print(f"\n{ {text: sorted(c.name for c in cmds) for text, cmds in heard.items()} }")
    assert all(not heard[text] for text in OTHER_WORDS_SAID), heard
    for text, command in KEYWORDS_SAID.items():
        assert heard[text] <= {command}, heard  # never another command
    assert sum(heard[text] == {command} for text, command in KEYWORDS_SAID.items()) >= 3
