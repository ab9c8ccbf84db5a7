"""The command line through Click's test runner: exit codes, stdout and stderr."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import soundfile
from click.testing import CliRunner

from tests.conftest import record_training
from voicecoach.cli import cli

SHORT = """\
[routine]
title = "Short"

[defaults]
rest = 2
get_ready = 1
countdown = 1

[[exercise]]
name = "Side plank"   # a comment that must survive write-back
kind = "hold"
hold = 3
reps = 2
sides = "each"
"""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VOICECOACH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOICECOACH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NO_COLOR", "1")
    return tmp_path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_validate_reports_every_problem_with_its_location(env: Path) -> None:
    bad = write(
        env / "bad.toml",
        '[routine]\ntitle = "x"\n\n[[exercise]]\nuse = "bird-dgo"\n'
        '\n[[exercise]]\nname = "Side plank"\nkind = "hold"\nhold = 10\nreps = 2\n'
        "hodl = 3\n",
    )
    code, out, err = run("validate", bad)
    assert code == 1
    assert out == ""
    assert err.splitlines() == [
        f"{bad}:5:1: error: unknown exercise 'bird-dgo' in exercise 1; did you mean 'bird-dog'?",
        f"{bad}:12:1: error: unknown key 'hodl' in exercise 2 (Side plank); did you mean 'hold'?",
    ]


def test_validate_accepts_the_shipped_routines_by_name(env: Path) -> None:
    code, out, err = run("validate", "back-basics", "big-three", "quick-five")
    assert code == 0, err
    assert [line.split(":")[0] for line in out.splitlines()] == [
        "back-basics",
        "big-three",
        "quick-five",
    ]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\xff\xfe\x00garbage", "error:"),
        (b'[routine]\ntitle = "x"\n', "no exercises"),
        (b"[routine\n", "error:"),
    ],
)
def test_bad_files_never_give_a_traceback(env: Path, content: bytes, message: str) -> None:
    path = env / "r.toml"
    path.write_bytes(content)
    for command in (["validate"], ["compile"], ["play", "--text"]):
        code, out, err = run(*command, str(path))
        assert code == 1
        assert out == ""
        assert err.startswith(f"{path}:") and message in err
        assert "Traceback" not in err


def test_missing_file_and_directory_are_located_errors(env: Path) -> None:
    code, _, err = run("compile", str(env / "nope.toml"))
    assert code == 1 and err.startswith(f"{env / 'nope.toml'}: error:")
    code, _, err = run("compile", str(env))
    assert code == 1 and err.startswith(f"{env}: error:")


def test_usage_mistakes_keep_clicks_exit_status_2(env: Path) -> None:
    assert run("compile")[0] == 2
    assert run("play", "quick-five", "--speed", "5")[0] == 2  # --speed needs --text
    # The microphone is never opened without --listen: --mic alone is a mistake.
    code, _, err = run("play", "quick-five", "--mic", "0")
    assert code == 2 and "--mic needs --listen" in err


def test_compile_prints_a_cue_sheet_and_json(env: Path) -> None:
    path = write(env / "short.toml", SHORT)
    code, out, _ = run("compile", path)
    assert code == 0
    assert out.startswith("Short (")
    assert "Switch to the right side." in out
    code, out, _ = run("compile", path, "--json")
    doc = json.loads(out)
    assert doc["version"] == 1 and doc["title"] == "Short"
    assert len([s for s in doc["segments"] if s["phase"] == "work"]) == 4


def test_schema_is_json_schema_2020_12(env: Path) -> None:
    code, out, _ = run("schema")
    assert code == 0
    assert json.loads(out)["$schema"].endswith("2020-12/schema")


def test_new_writes_a_valid_starter_and_refuses_to_overwrite(env: Path) -> None:
    target = str(env / "mine.toml")
    assert run("new", target)[0] == 0
    assert run("validate", target)[0] == 0
    code, _, err = run("new", target)
    assert code == 1 and "exists" in err
    assert run("new", target, "--force")[0] == 0


def test_exercises_lists_the_whole_library(env: Path) -> None:
    code, out, _ = run("exercises")
    assert code == 0
    for slug in (
        "farmer-carry",
        "dead-bug",
        "stir-the-pot",
        "leg-drops",
        "pallof-press",
        "front-plank",
        "side-plank",
        "bird-dog",
        "curl-up",
    ):
        assert slug in out


def test_render_writes_audio_and_the_as_rendered_timeline(env: Path) -> None:
    path = write(env / "short.toml", SHORT)
    wav, tl = env / "out.wav", env / "out.json"
    code, _, err = run("render", path, "-o", str(wav), "--timeline", str(tl))
    assert code == 0, err
    audio, rate = soundfile.read(wav)
    doc = json.loads(tl.read_text())
    assert rate == 48000
    assert len(audio) == round(doc["duration"] * rate)
    assert {c["kind"] for c in doc["cues"]} == {"speech", "tone"}
    assert "dropped" in doc
    # The start tone of each hold is really in the file, at its sample.
    for cue in doc["cues"]:
        if cue["role"] == "start":
            at = round(cue["at"] * rate)
            assert abs(audio[at : at + 480]).max() > 0.05
            assert abs(audio[at - 48 : at]).max() < 0.05 or cue["at"] == 0


def test_render_refuses_an_unknown_format_before_any_work(env: Path) -> None:
    code, _, err = run("render", "quick-five", "-o", str(env / "out.xyz"))
    assert code == 1 and "unknown file type" in err


def test_a_text_preview_records_nothing_and_history_shows_recorded_sessions(env: Path) -> None:
    path = write(env / "short.toml", SHORT)
    code, _, err = run("play", path, "--text", "--speed", "500")
    assert code == 0, err
    assert "no key controls" in err and "preview: not recorded" in err
    db = env / "data" / "history.sqlite3"
    assert sqlite3.connect(db).execute("select count(*) from sessions").fetchone() == (0,)
    record_training(env / "data", Path(path), count=1)
    code, out, _ = run("history")
    assert code == 0 and "Short" in out and "completed" in out
    code, out, _ = run("history", "--json")
    assert [s["outcome"] for s in json.loads(out)["sessions"]] == ["completed"]
    code, out, _ = run("history", "--csv")
    assert out.splitlines()[0].startswith("record")


def test_pain_notes_are_recorded(env: Path) -> None:
    assert run("pain", "3", "--note", "stiff in the morning", "--exercise", "Side plank")[0] == 0
    db = sqlite3.connect(env / "data" / "history.sqlite3")
    assert db.execute("select rating, text from pain_notes").fetchall() == [
        (3, "stiff in the morning")
    ]
    assert run("pain", "11")[0] == 2


def test_progress_after_two_pain_free_sessions_writes_back_keeping_comments(env: Path) -> None:
    path = write(env / "short.toml", SHORT)
    record_training(env / "data", Path(path), count=2)
    code, out, _ = run("compile", path)
    assert "Adapted from your history" in out and "Side plank" in out
    code, out, _ = run("progress", path, "--write")
    assert code == 0 and "progress" in out
    text = Path(path).read_text()
    assert "hold = 4" in text
    assert text.replace("hold = 4", "hold = 3") == SHORT
    code, out, _ = run("compile", path, "--as-written")
    assert "Adapted" not in out
