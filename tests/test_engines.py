"""Choosing the speech engine and the default voice, with real espeak-ng synthesis.

The default voice's pace is measured on real clips: words a minute over phrases of six
words or more, as a listener would time them (clips are trimmed to their sound).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from voicecoach import speech
from voicecoach.cli import cli
from voicecoach.model import Exercise, Routine, Voice
from voicecoach.session import chosen_voice
from voicecoach.speech import Clip, cache_key, engine_for, synthesize
from voicecoach.speech.voices import DEFAULT_ESPEAK_RATE, DEFAULT_ESPEAK_VOICE, driver_name

# Lines the coach says, six words or more each (from the shipped routines and phrases).
LONG_PHRASES = [
    "Curl-up. Set 1 of 2. Hands under your lower back.",
    "Brace your core, about a quarter of your maximum.",
    "Next: Side plank, left side first, knees bent.",
    "Rest 30 seconds. Shake out your arms and breathe.",
    "Keep your neck long and your chin tucked in.",
    "Stop before pain, never push through it.",
]
ROUTINE = Routine("Tiny", (Exercise(0, "Bird dog", "hold", (2,), hold=3.0, rest=2.0),))

pytestmark = pytest.mark.skipif(driver_name() != "espeak", reason="espeak-ng defaults only")


def words_a_minute(clips: dict[str, Clip], phrases: list[str]) -> float:
    """Words a minute over ``phrases``: their words over the seconds of their trimmed clips."""
    words = sum(len(p.split()) for p in phrases)
    return 60.0 * words / sum(clips[p].seconds for p in phrases)


@pytest.fixture(scope="module")
def default_voice(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Clip]:
    return synthesize(LONG_PHRASES, Voice(), tmp_path_factory.mktemp("speech"), level=False)


def test_with_no_voice_set_espeak_ng_speaks_en_us_at_about_165_words_a_minute(
    default_voice: dict[str, Clip],
) -> None:
    assert engine_for(Voice()).settings == Voice(DEFAULT_ESPEAK_VOICE, DEFAULT_ESPEAK_RATE)
    # 164 measured on back-basics' 51 long phrases; a handful of phrases varies a little.
    assert 155 <= words_a_minute(default_voice, LONG_PHRASES) <= 175


def test_the_default_voice_is_the_same_audio_as_asking_for_it(
    default_voice: dict[str, Clip], tmp_path: Path
) -> None:
    asked = synthesize(LONG_PHRASES[:2], Voice("gmw/en-us", 160), tmp_path, level=False)
    for text in LONG_PHRASES[:2]:
        assert asked[text].samples.tobytes() == default_voice[text].samples.tobytes()
    assert cache_key("3", Voice()) == cache_key("3", Voice("gmw/en-us", 160))


def test_a_rate_asked_for_overrides_the_default_and_a_voice_keeps_the_default_rate(
    default_voice: dict[str, Clip], tmp_path: Path
) -> None:
    fast = synthesize(LONG_PHRASES, Voice(rate=220), tmp_path / "fast", level=False)
    assert words_a_minute(fast, LONG_PHRASES) > 1.2 * words_a_minute(default_voice, LONG_PHRASES)
    assert engine_for(Voice(name="gmw/en")).settings == Voice("gmw/en", DEFAULT_ESPEAK_RATE)
    assert engine_for(Voice(rate=220)).settings == Voice(DEFAULT_ESPEAK_VOICE, 220)


def test_the_routine_voice_and_the_command_line_override_the_default() -> None:
    routine = Routine(
        "Tiny", ROUTINE.exercises, voice=Voice(name="en-gb-x-rp", rate=150, volume=0.8)
    )
    assert chosen_voice(routine, Voice()) == Voice("gmw/en-gb-x-rp", 150, 0.8)
    assert chosen_voice(routine, Voice("en-us", 180)) == Voice("gmw/en-us", 180, 0.8)
    # Nothing chosen anywhere: left to the engine, which fills in its default.
    assert chosen_voice(ROUTINE, Voice()) == Voice()


def test_the_cache_key_names_the_engine() -> None:
    pyttsx3 = engine_for(Voice())
    assert pyttsx3.name == "pyttsx3"
    assert pyttsx3.identity.startswith("espeak; pyttsx3 ")


def test_a_piper_voice_without_the_piper_runtime_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As on an install without the [piper] extra: the runtime cannot be imported.
    monkeypatch.setitem(sys.modules, "piper", None)
    monkeypatch.setenv("VOICECOACH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOICECOACH_CACHE_DIR", str(tmp_path / "cache"))
    routine = tmp_path / "r.toml"
    routine.write_text(
        '[routine]\ntitle = "T"\n\n[[exercise]]\nname = "Hold"\nkind = "hold"\nhold = 3\n',
        encoding="utf-8",
    )
    for voice in ["piper:joe", "piper:/nowhere/voice.onnx"]:
        result = CliRunner().invoke(
            cli, ["render", str(routine), "--voice", voice, "-o", str(tmp_path / "x.wav")]
        )
        assert result.exit_code == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert "pip install 'voicecoach[piper]'" in lines[0]
        assert "Traceback" not in result.output
    assert not (tmp_path / "x.wav").exists()


def test_the_voices_command_lists_the_system_voices(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["voices"])
    assert result.exit_code == 0, result.stderr
    ids = [line.split()[0] for line in result.stdout.splitlines()]
    assert "gmw/en-us" in ids
    assert all(v.id in ids for v in speech.list_voices())
