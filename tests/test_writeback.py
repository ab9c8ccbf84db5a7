"""Writing levels back into a routine file: only the edited values change, byte for byte."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import tomlkit

from voicecoach.adapt import Dose
from voicecoach.errors import VoicecoachError
from voicecoach.writeback import apply_levels, write_levels

ROUTINE = """\
# Morning back routine -- McGill big three, endurance first.
#   Never push through pain.

[routine]
title = "Morning back"   # spoken at the start
voice = { rate = 160 }

[defaults]
rest = 30      # seconds between sets
hold = 8

# --- 1. Curl-up ---------------------------------------------------------------
[[exercise]]
name = "Curl-up"           # hands under the low back
reps = [8, 6, 4]           # reverse pyramid
hold = 10.0                # seconds per hold,   grows slowly
cues = ["Keep the neck long."]

[exercise.progression]     # gentle
step = 1
max = 30

# --- 2. Side plank (from the library) -----------------------------------------
[[exercise]]
    use = "side-plank"     # library exercise
    sides = "each"

    # knees bent is fine

# --- 3. Bird dog ---------------------------------------------------------------
[[exercise]]
name = "Bird dog"
kind = "reps"
reps = 6  # per side
sets = 3

[[exercise]]
name = "March"
duration = 45 # seconds
"""


def test_only_the_edited_values_change_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "routine.toml"
    path.write_text(ROUTINE)
    new = write_levels(
        path,
        {
            0: Dose("hold", (8, 6, 4), hold=11.0),
            1: Dose("hold", (3,), hold=7.0),
            2: Dose("reps", (7, 7, 7)),
            3: Dose("timed", (1,), duration=50.0),
        },
    )
    expected = (
        ROUTINE.replace("hold = 10.0                #", "hold = 11.0                #")
        .replace('    sides = "each"\n', '    sides = "each"\n    hold = 7\n')
        .replace("reps = 6  # per side", "reps = 7  # per side")
        .replace("duration = 45 # seconds", "duration = 50 # seconds")
    )
    assert new == expected
    assert path.read_bytes() == expected.encode()
    doc = tomlkit.parse(new)
    assert doc["exercise"][1]["hold"] == 7


def test_a_reverse_pyramid_is_written_as_a_list(tmp_path: Path) -> None:
    new = apply_levels(ROUTINE, {0: Dose("reps", (9, 7, 5))})
    assert new == ROUTINE.replace("reps = [8, 6, 4]           #", "reps = [9, 7, 5]           #")


def test_a_value_missing_from_a_table_with_a_sub_table_goes_above_the_sub_table() -> None:
    text = '[[exercise]]\nuse = "curl-up"  # lib\n\n[exercise.progression]\nstep = 2\n'
    new = apply_levels(text, {0: Dose("hold", (1,), hold=12.5)})
    assert new == (
        '[[exercise]]\nuse = "curl-up"  # lib\nhold = 12.5\n\n[exercise.progression]\nstep = 2\n'
    )
    assert tomlkit.parse(new)["exercise"][0]["progression"]["step"] == 2


def test_file_mode_is_kept_and_no_temporary_file_is_left(tmp_path: Path) -> None:
    path = tmp_path / "routine.toml"
    path.write_text(ROUTINE)
    os.chmod(path, 0o640)
    write_levels(path, {3: Dose("timed", (1,), duration=50.0)})
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["routine.toml"]


def test_a_symlinked_routine_is_updated_through_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real.toml"
    real.write_text(ROUTINE)
    link = tmp_path / "link.toml"
    link.symlink_to(real)
    write_levels(link, {3: Dose("timed", (1,), duration=50.0)})
    assert link.is_symlink()
    assert "duration = 50 # seconds" in real.read_text()


def test_crlf_line_endings_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "routine.toml"
    path.write_bytes(ROUTINE.replace("\n", "\r\n").encode())
    write_levels(path, {0: Dose("hold", (8, 6, 4), hold=12.0)})
    data = path.read_bytes()
    assert data == ROUTINE.replace("hold = 10.0 ", "hold = 12.0 ").replace("\n", "\r\n").encode()


def test_an_unchanged_level_leaves_the_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "routine.toml"
    path.write_text(ROUTINE)
    inode = path.stat().st_ino
    write_levels(path, {0: Dose("hold", (8, 6, 4), hold=10.0)})
    assert path.stat().st_ino == inode


def test_an_exercise_number_beyond_the_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "routine.toml"
    path.write_text(ROUTINE)
    with pytest.raises(
        VoicecoachError,
        match=r"routine.toml: .*no exercise number 9 "
        r"\(the file has 4\)",
    ):
        write_levels(path, {8: Dose("hold", (1,), hold=5.0)})
    assert path.read_text() == ROUTINE


def test_a_missing_routine_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(VoicecoachError, match="cannot read the routine"):
        write_levels(tmp_path / "nope.toml", {0: Dose("hold", (1,), hold=5.0)})
