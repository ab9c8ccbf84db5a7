"""Nothing the user owns is lost or overwritten: output paths, atomic writes, write-back.

Real files throughout; the full-disk cases mount a real, tiny tmpfs (this needs root, as
in CI; elsewhere they are skipped, saying so).
"""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import soundfile
from click.testing import CliRunner

from tests.conftest import record_training
from tests.test_cli import SHORT as ROUTINE
from voicecoach.cli import cli
from voicecoach.errors import VoicecoachError
from voicecoach.files import atomic_output, atomic_write, check_output_paths, os_error_text
from voicecoach.history import History
from voicecoach.paths import shipped_routines


@pytest.fixture
def env(tmp_path: Path, speech_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VOICECOACH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VOICECOACH_CACHE_DIR", str(speech_cache))
    monkeypatch.setenv("VOICECOACH_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("NO_COLOR", "1")
    return tmp_path


@pytest.fixture
def empty_cache(env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder that stays absent unless speech is prepared: proof of no work."""
    cache = env / "fresh-cache"
    monkeypatch.setenv("VOICECOACH_CACHE_DIR", str(cache))
    return cache


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 256 KiB file system (tmpfs), to fill up."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); needs root")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> None:
    """Fill ``disk`` to the last byte."""
    with open(disk / "ballast", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 512)
        except OSError as error:
            assert error.errno == errno.ENOSPC


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def routine_file(folder: Path, name: str = "r.toml") -> Path:
    path = folder / name
    path.write_text(ROUTINE, encoding="utf-8")
    return path


def snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every entry of ``folder`` with its content (files) or its kind."""
    out: dict[str, bytes | str] = {}
    for p in sorted(folder.iterdir()):
        mode = p.lstat().st_mode
        out[p.name] = p.read_bytes() if stat.S_ISREG(mode) else stat.filemode(mode)
    return out


# --- An output is never an input, another output, or something other than a file --------


@pytest.mark.parametrize(
    "args",
    [
        ["-o", "{d}/out.wav", "--timeline", "{r}"],
        ["-o", "{r}"],
        ["-o", "{d}/x.wav", "--timeline", "{d}/x.wav"],
        ["-o", "{d}/link.wav"],
        ["-o", "{d}/hard.wav"],
        ["-o", "{d}/out.wav", "--timeline", "{d}/./sub/../r.toml"],
    ],
    ids=[
        "timeline-is-routine",
        "audio-is-routine",
        "same-two-outputs",
        "symlink-to-routine",
        "hard-link-to-routine",
        "dotted-path-to-routine",
    ],
)
def test_an_output_that_names_an_input_or_another_output_is_refused_before_any_work(
    env: Path, empty_cache: Path, args: list[str]
) -> None:
    routine = routine_file(env)
    (env / "sub").mkdir()
    (env / "link.wav").symlink_to(routine)
    os.link(routine, env / "hard.wav")
    before = snapshot(env)
    argv = [a.format(d=env, r=routine) for a in args]

    code, _, err = run("render", str(routine), *argv)

    assert code == 1
    assert "error:" in err and ("would overwrite the routine" in err or "same file" in err)
    assert "Traceback" not in err
    assert snapshot(env) == before
    assert not empty_cache.exists()  # refused before any synthesis


def test_a_routine_named_like_audio_is_not_rendered_onto_itself(
    env: Path, empty_cache: Path
) -> None:
    routine = routine_file(env, "x.wav")
    code, _, err = run("render", str(routine), "-o", str(routine))
    assert code == 1 and "would overwrite the routine" in err
    assert routine.read_text() == ROUTINE


def test_an_output_onto_the_history_database_is_refused(env: Path) -> None:
    routine = routine_file(env)
    History.open(env / "data").close()
    db = env / "data" / "history.sqlite3"
    before = db.read_bytes()
    code, _, err = run("render", str(routine), "-o", str(env / "o.wav"), "--timeline", str(db))
    assert code == 1 and "would overwrite your history" in err
    assert db.read_bytes() == before


@pytest.mark.parametrize("kind", ["fifo", "directory", "char-device"])
def test_an_output_that_is_not_a_regular_file_is_never_replaced(
    env: Path, empty_cache: Path, kind: str
) -> None:
    routine = routine_file(env)
    if kind == "fifo":
        target = env / "p.wav"
        os.mkfifo(target)
        expected = "named pipe (FIFO)"
    elif kind == "directory":
        target = env / "d.json"
        target.mkdir()
        expected = "directory"
    else:
        target = Path("/dev/null")
        expected = "character device"
    option = "--timeline" if target.suffix == ".json" else "-o"
    args = (
        ["-o", str(env / "o.wav"), "--timeline", str(target)]
        if option == "--timeline"
        else ["-o", str(target)]
    )

    code, _, err = run("render", str(routine), *args)

    if kind == "directory":  # Click's own check (dir_okay=False): a usage error
        assert code == 2 and "is a directory" in err
    else:
        assert code == 1 and expected in err and "never replaced" in err
    mode = os.stat(target).st_mode
    assert {"fifo": stat.S_ISFIFO, "directory": stat.S_ISDIR, "char-device": stat.S_ISCHR}[kind](
        mode
    )
    assert not (env / "o.wav").exists()
    assert not empty_cache.exists()


def test_a_timeline_in_a_missing_folder_is_refused_before_the_render(
    env: Path, empty_cache: Path
) -> None:
    routine = routine_file(env)
    code, _, err = run(
        "render",
        str(routine),
        "-o",
        str(env / "o.wav"),
        "--timeline",
        str(env / "nowhere" / "t.json"),
    )
    assert code == 1 and "does not exist" in err and "nowhere" in err
    assert not (env / "o.wav").exists()
    assert not empty_cache.exists()


def test_a_read_only_output_file_is_not_replaced(env: Path, empty_cache: Path) -> None:
    routine = routine_file(env)
    old = env / "o.wav"
    old.write_bytes(b"the user's own file")
    old.chmod(0o444)
    code, _, err = run("render", str(routine), "-o", str(old))
    assert code == 1 and "read-only" in err
    assert old.read_bytes() == b"the user's own file"


def test_check_output_paths_names_the_option_and_the_reason(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(VoicecoachError, match=r"--x: the folder .*ro is not writable"):
            check_output_paths([("--x", folder / "f.json")])
    finally:
        folder.chmod(0o755)


# --- A render is all or nothing -------------------------------------------------------------


def test_a_render_onto_a_full_disk_says_so_and_leaves_the_old_file(
    env: Path, small_disk: Path
) -> None:
    routine = routine_file(env)
    old = small_disk / "session.wav"
    old.write_bytes(b"yesterday's render")

    code, _, err = run("render", str(routine), "-o", str(old))

    assert code == 1 and "disk full" in err and "Traceback" not in err
    assert old.read_bytes() == b"yesterday's render"
    assert sorted(p.name for p in small_disk.iterdir()) == ["session.wav"]


def test_a_timeline_onto_a_full_disk_leaves_no_audio_and_keeps_the_old_timeline(
    env: Path, small_disk: Path
) -> None:
    routine = routine_file(env)
    old_timeline = small_disk / "t.json"
    old_timeline.write_text("{}")
    fill(small_disk)
    before = snapshot(small_disk)

    code, _, err = run(
        "render", str(routine), "-o", str(env / "o.wav"), "--timeline", str(old_timeline)
    )

    assert code == 1 and "disk full" in err and "nothing was written" in err
    assert not (env / "o.wav").exists()
    assert snapshot(small_disk) == before
    assert not [p for p in env.iterdir() if p.name.startswith(".o.wav")]


def test_a_successful_render_writes_both_files_completely(env: Path) -> None:
    routine = routine_file(env)
    wav, tl = env / "o.wav", env / "t.json"
    code, _, err = run("render", str(routine), "-o", str(wav), "--timeline", str(tl))
    assert code == 0, err
    doc = json.loads(tl.read_text())
    assert soundfile.info(wav).frames == round(doc["duration"] * 48000)
    assert sorted(p.name for p in env.iterdir() if p.name.startswith(".")) == []


# --- atomic_write: permissions and failure -------------------------------------------------


def test_new_user_files_follow_the_umask_and_replaced_ones_keep_their_mode(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        atomic_write(tmp_path / "new.txt", "hello")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o640
    kept = tmp_path / "kept.txt"
    kept.write_text("old")
    kept.chmod(0o604)
    atomic_write(kept, "new")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o604 and kept.read_text() == "new"


def test_private_files_are_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        atomic_write(tmp_path / "clip.wav", b"RIFF", private=True)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "clip.wav").stat().st_mode) == 0o600


def test_an_exception_while_writing_leaves_the_targets_and_no_temporary_files(
    tmp_path: Path,
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("old a")
    with pytest.raises(RuntimeError), atomic_output(a, b) as (ta, tb):
        ta.write_text("new a")
        tb.write_text("new b")
        raise RuntimeError("stop")
    assert snapshot(tmp_path) == {"a": b"old a"}


def test_io_errors_read_as_plain_words() -> None:
    assert os_error_text(OSError(errno.ENOSPC, "No space left on device")) == "disk full"
    assert os_error_text(OSError(errno.EROFS, "Read-only file system")) == "read-only file system"
    assert os_error_text(RuntimeError("Error : No space left on device")) == "disk full"


# --- Write-back never rewrites what it must not ---------------------------------------------


def test_progress_write_refuses_a_shipped_routine_and_says_how_to_copy_it(env: Path) -> None:
    shipped = shipped_routines()["quick-five"]
    before = shipped.read_bytes()
    record_training(env / "data", shipped)

    code, _, err = run("progress", "quick-five", "--write")

    assert code == 1 and "ships with voicecoach" in err
    assert "voicecoach new --from quick-five" in err
    assert shipped.read_bytes() == before


def test_new_from_copies_a_routine_with_todays_levels(env: Path) -> None:
    shipped = shipped_routines()["quick-five"]
    record_training(env / "data", shipped)
    copy = env / "mine.toml"

    code, _, err = run("new", "--from", "quick-five", str(copy))

    assert code == 0, err
    assert "Adapted:" in err
    _, copied, _ = run("compile", str(copy), "--json")
    _, adapted, _ = run("compile", "quick-five", "--json")
    _, written, _ = run("compile", "quick-five", "--json", "--as-written")

    def work(doc: str) -> list[tuple[str, int, int, float]]:
        return [
            (s["name"], s["set"], s["rep"], s["end"] - s["start"])
            for s in json.loads(doc)["segments"]
            if s["phase"] == "work"
        ]

    # The copy's own doses are today's adapted ones, not the shipped file's.
    assert work(copied) == work(adapted) != work(written)
    assert run("new", "--from", "quick-five", str(copy))[0] == 1  # exists: no --force


def test_progress_write_refuses_a_read_only_routine(env: Path) -> None:
    routine = routine_file(env)
    record_training(env / "data", routine)
    routine.chmod(0o444)
    code, _, err = run("progress", str(routine), "--write")
    assert code == 1 and "read-only" in err
    assert routine.read_text() == ROUTINE


def test_progress_write_refuses_a_routine_in_a_read_only_folder(env: Path) -> None:
    folder = env / "ro"
    folder.mkdir()
    routine = routine_file(folder)
    record_training(env / "data", routine)
    folder.chmod(0o555)
    try:
        code, _, err = run("progress", str(routine), "--write")
    finally:
        folder.chmod(0o755)
    assert code == 1 and "not writable" in err and "Traceback" not in err
    assert routine.read_text() == ROUTINE


def test_progress_write_keeps_a_byte_order_mark(env: Path) -> None:
    routine = env / "bom.toml"
    routine.write_bytes(b"\xef\xbb\xbf" + ROUTINE.encode())
    record_training(env / "data", routine)
    code, _, err = run("progress", str(routine), "--write")
    assert code == 0, err
    data = routine.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"hold = 4" in data


def test_progress_write_onto_a_full_disk_leaves_the_routine_whole(
    env: Path, small_disk: Path
) -> None:
    routine = routine_file(small_disk)
    record_training(env / "data", routine)
    fill(small_disk)
    code, _, err = run("progress", str(routine), "--write")
    assert code == 1 and "disk full" in err and "unchanged" in err
    assert routine.read_text() == ROUTINE


# --- Numbers on the command line -----------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["play", "quick-five", "--text", "--speed", "nan"],
        ["render", "quick-five", "-o", "x.wav", "--volume", "nan"],
        ["play", "quick-five", "--text", "--speed", "inf"],
        ["play", "quick-five", "--text", "--audio-buffer", "0"],
        ["play", "quick-five", "--text", "--audio-buffer", "nan"],
        ["play", "quick-five", "--text", "--audio-buffer", "1e308"],
        ["play", "quick-five", "--text", "--lead-in", "-1"],
        ["play", "quick-five", "--text", "--lead-in", "inf"],
    ],
)
def test_nan_and_infinite_options_are_usage_errors(env: Path, args: list[str]) -> None:
    code, _, err = run(*args)
    assert code == 2 and "Traceback" not in err
    assert "is not a number" in err or "not in the range" in err


def test_a_fractional_pain_rating_says_what_a_rating_is(env: Path) -> None:
    code, _, err = run("pain", "5.5")
    assert code == 2
    assert "a pain rating is a whole number from 0 (none) to 10 (worst)" in err
    assert "integer range" not in err


def test_new_with_an_empty_name_says_so(env: Path) -> None:
    code, _, err = run("new", "")
    assert code == 1 and "empty file name" in err


def test_new_never_writes_into_a_fifo_even_with_force(env: Path) -> None:
    fifo = env / "r.toml"
    os.mkfifo(fifo)
    code, _, err = run("new", str(fifo), "--force")
    assert code == 1 and "named pipe (FIFO)" in err
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
