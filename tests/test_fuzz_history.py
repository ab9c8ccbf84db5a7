"""Fuzzing a damaged history: any state of the file is read, or is a VoicecoachError, never a crash.

A real history file (sessions completed, quit, stopped for pain and crashed, with stored
doses and pain notes) is damaged at random the ways files get damaged: values of any
type in any column (with SQLite's CHECK and foreign-key enforcement off, as another tool
would write them), columns and tables dropped, constraints dropped and NULLs written,
rows of odd values added, the schema version changed, and then the bytes themselves:
the file truncated, overwritten in places, replaced, or given a garbage WAL file.

Each state goes through `History.open`, `records` (and `adapt_routine`, as ``compile``
does), `sessions`, `exercise_history`, `export` and `export_csv`: each must work or raise
`VoicecoachError` (any other exception is a traceback for the user). A second fuzz runs
the commands ``compile``, ``progress``, ``history`` (table, chart, JSON, CSV) and ``pain``
through Click's runner: exit status 0 or 1 and no traceback. Counts are in pytest's
summary; ``VOICECOACH_FUZZ_HISTORY`` and ``VOICECOACH_FUZZ_HISTORY_CLI`` set how many
states each fuzz tries (600 and 120 by default).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from voicecoach.adapt import Dose, adapt_routine
from voicecoach.cli import cli
from voicecoach.errors import VoicecoachError
from voicecoach.history import DB_NAME, History
from voicecoach.routine import load_routine

ROUTINE = """\
[routine]
title = "Back"

[[exercise]]
name = "Side plank"
kind = "hold"
hold = 10
reps = 1
sets = 2

[[exercise]]
name = "Bird dog"
kind = "reps"
reps = 6
"""
COLUMNS: dict[str, tuple[str, ...]] = {
    "sessions": (
        "id",
        "routine_path",
        "routine_title",
        "timeline_hash",
        "started_at",
        "ended_at",
        "outcome",
        "pid",
        "written",
    ),
    "work": (
        "id",
        "session_id",
        "exercise_index",
        "exercise_name",
        "kind",
        "set",
        "rep",
        "side",
        "seconds",
        "completed",
        "at",
    ),
    "pain_stops": (
        "id",
        "session_id",
        "exercise_index",
        "exercise_name",
        "set",
        "rep",
        "side",
        "seconds_into_work",
        "rating",
        "recorded_at",
    ),
    "pain_notes": ("id", "at", "rating", "text", "exercise_name"),
}
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
# Stands for JSON nested deeper than any parser's stack (made when written, so that a
# failing example stays short to print).
DEEP = "<deep json>"


@dataclass(frozen=True)
class Pristine:
    folder: Path
    routine: Path
    database: Path  # the undamaged file, copied for each example


def seed(data: Path, routine: Path) -> None:
    """Sessions of every ending, stored doses, a pain rating, pain notes."""
    written = {"side plank": Dose("hold", (1, 1), hold=10.0), "bird dog": Dose("reps", (6,))}
    with History.open(data) as h:
        for day, ending in enumerate(
            ("completed", "completed", "stop_pain", "quit", "running", "device_lost")
        ):
            start = T0 + timedelta(days=day)
            sid = h.start_session(str(routine), "Back", "hash", started_at=start, written=written)
            for set_no in (1, 2):
                h.record_work(
                    sid,
                    exercise_index=0,
                    exercise_name="Side plank",
                    kind="hold",
                    set=set_no,
                    rep=1,
                    side=None,
                    seconds=10.0,
                    completed=ending != "quit" or set_no == 1,
                    at=start + timedelta(minutes=set_no),
                )
            for rep in range(1, 7):
                h.record_work(
                    sid,
                    exercise_index=1,
                    exercise_name="Bird dog",
                    kind="reps",
                    set=1,
                    rep=rep,
                    side="left" if rep % 2 else "right",
                    seconds=3.0,
                    at=start + timedelta(minutes=3),
                )
            if ending == "stop_pain":
                stop = h.record_pain_stop(
                    sid,
                    exercise_index=1,
                    exercise_name="Bird dog",
                    set=1,
                    rep=4,
                    side="right",
                    seconds_into_work=1.5,
                    at=start + timedelta(minutes=4),
                )
                h.set_pain_rating(stop, 5)
            elif ending != "running":
                h.end_session(sid, ending, at=start + timedelta(minutes=10))
        h.add_pain_note(3, "stiff", "Side plank", at=T0)
    # A 'running' session of a process that is gone (pid 0 is nobody's), as after a kill.
    conn = sqlite3.connect(data / DB_NAME)
    conn.execute("UPDATE sessions SET pid = 0 WHERE outcome = 'running'")
    conn.commit()
    conn.close()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Pristine:
    folder = tmp_path_factory.mktemp("fuzz-history")
    routine = folder / "back.toml"
    routine.write_text(ROUTINE, encoding="utf-8")
    seed(folder / "seed", routine)
    return Pristine(folder, routine, folder / "seed" / DB_NAME)


_examples = itertools.count()


@pytest.fixture(scope="module")
def fresh(pristine: Pristine) -> Iterator[Any]:
    """A function making a new data folder holding a copy of the pristine history."""
    made: list[Path] = []

    def make() -> Path:
        folder = pristine.folder / f"example{next(_examples)}"
        folder.mkdir()
        shutil.copyfile(pristine.database, folder / DB_NAME)
        made.append(folder)
        return folder

    yield make
    for folder in made:
        shutil.rmtree(folder, ignore_errors=True)


# --- Damage -------------------------------------------------------------------------------------

odd_values = st.one_of(
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.integers(min_value=-3, max_value=12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.binary(max_size=30),
    st.sampled_from(
        [
            "yesterday",
            "",
            " ",
            "2026-03-01T09:00:00",
            "2026-03-01",
            "2026-03-09T09:00:00+00:00",
            "0001-01-01T00:00:00+00:00",
            "9999-12-31T23:59:59+14:00",
            "2026-02-30T00:00:00",
            "{not json",
            "[1,2,3]",
            "{}",
            "null",
            '"x"',
            "1e999",
            '{"side plank": ["hold", [1, 1], 10.0, null]}',
            '{"side plank": ["hold", "x", null]}',
            '{"side plank": 5}',
            '{"bird dog": ["reps", [0], null, null]}',
            '{"bird dog": ["reps", [true], -1, "x"]}',
            DEEP,
            "hold",
            "reps",
            "timed",
            "jump",
            "completed",
            "running",
            "stop_pain",
            "crashed",
            "Side plank",
            "side plank",
            "SIDE PLANK ",
            "Bird dog",
            "\udcff",
            "\x00",
            "\x1b[2J\x1b]0;owned\x07",
            "a\nb",
            "\u202eevil",
        ]
    ),
)
targets = st.sampled_from([(t, c) for t, cols in COLUMNS.items() for c in cols])


def set_values() -> st.SearchStrategy[tuple[Any, ...]]:
    """``UPDATE table SET column = value`` on one row (rowid 1 to 20) or on all rows."""
    return st.tuples(st.just("set"), targets, st.one_of(st.none(), st.integers(1, 20)), odd_values)


structural = st.one_of(
    st.tuples(st.just("drop_column"), targets),
    st.tuples(st.just("relax"), st.sampled_from(list(COLUMNS))),
    st.tuples(st.just("drop_table"), st.sampled_from(list(COLUMNS))),
    st.tuples(st.just("user_version"), st.integers(min_value=-(2**31), max_value=2**31 - 1)),
    st.tuples(
        st.just("insert"),
        st.sampled_from(list(COLUMNS)),
        st.lists(st.tuples(st.integers(0, 10), odd_values), max_size=6),
    ),
    st.tuples(st.just("delete"), st.sampled_from(list(COLUMNS))),
)
byte_damage = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0.0, 1.0)),
    st.tuples(st.just("overwrite"), st.floats(0.0, 1.0), st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("replace"), st.binary(max_size=512)),
    st.tuples(st.just("wal"), st.binary(max_size=512)),
)
damages = st.tuples(
    st.lists(st.one_of(set_values(), set_values(), structural), max_size=6),
    # Mostly readable files (so that the row checks are reached), sometimes wrecked ones.
    st.one_of(st.just([]), st.just([]), st.lists(byte_damage, min_size=1, max_size=2)),
)


def apply(folder: Path, damage: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]) -> None:
    """Damage the history in ``folder``; each change SQLite refuses is simply not made."""
    sql_changes, byte_changes = damage
    path = folder / DB_NAME
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA ignore_check_constraints = 1")
        conn.execute("PRAGMA foreign_keys = OFF")
        for change in sql_changes:
            # Refused (a NOT NULL, an indexed column): another tool could not either.
            with contextlib.suppress(sqlite3.Error, OverflowError, ValueError):
                _sql(conn, change)
    finally:
        conn.close()
    for change in byte_changes:
        kind = change[0]
        if kind == "wal":
            (folder / f"{DB_NAME}-wal").write_bytes(change[1])
            continue
        data = path.read_bytes()
        if kind == "truncate":
            data = data[: int(len(data) * change[1])]
        elif kind == "overwrite":
            at = int(len(data) * change[1])
            data = data[:at] + change[2] + data[at + len(change[2]) :]
        else:
            data = change[1]
        path.write_bytes(data)


def _value(value: Any) -> Any:
    return "[" * 100_000 if value == DEEP else value


def _sql(conn: sqlite3.Connection, change: tuple[Any, ...]) -> None:
    kind = change[0]
    if kind == "set":
        (table, column), row, value = change[1], change[2], _value(change[3])
        where = "" if row is None else f"WHERE rowid = {row:d}"
        conn.execute(f'UPDATE {table} SET "{column}" = ? {where}', (value,))
    elif kind == "drop_column":
        table, column = change[1]
        conn.execute(f'ALTER TABLE {table} DROP COLUMN "{column}"')
    elif kind == "relax":
        # Recreated without its constraints, as a hand edit with another tool would.
        table = change[1]
        conn.execute(f"CREATE TABLE relaxed AS SELECT * FROM {table}")
        conn.execute(f"DROP TABLE {table}")
        conn.execute(f"ALTER TABLE relaxed RENAME TO {table}")
    elif kind == "drop_table":
        conn.execute(f"DROP TABLE {change[1]}")
    elif kind == "user_version":
        conn.execute(f"PRAGMA user_version = {change[1]:d}")
    elif kind == "insert":
        table, values = change[1], change[2]
        columns = COLUMNS[table]
        chosen = {columns[i % len(columns)]: _value(v) for i, v in values}
        if chosen:
            names = ", ".join(f'"{c}"' for c in chosen)
            marks = ", ".join("?" for _ in chosen)
            conn.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(chosen.values()))
    elif kind == "delete":
        conn.execute(f"DELETE FROM {change[1]} WHERE rowid % 2 = 0")


# --- The checks ---------------------------------------------------------------------------------


def read_everything(folder: Path, pristine: Pristine) -> str:
    """Every reading of the history; ``"ok"`` or ``"error"`` (a VoicecoachError)."""
    try:
        with History.open(folder) as h:
            routine = load_routine(pristine.routine)
            records = h.records(str(pristine.routine))
            adapt_routine(routine, records)
            h.sessions()
            h.sessions(limit=None, routine_path=str(pristine.routine))
            h.exercise_history(None, "side plank")
            h.exercise_history(str(pristine.routine), "Bird dog")
            json.dumps(h.export(), allow_nan=False)
            h.export_csv(io.StringIO())
            assert isinstance(h.damage(), str)
    except VoicecoachError as error:
        message = str(error)
        # One line, and nothing from the damaged file can drive the terminal.
        assert message and message.isprintable(), message
        return "error"
    return "ok"


def fuzz_settings(examples: int) -> settings:
    """No deadline (a slow CI machine is not a bug), no example database in the repo."""
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@fuzz_settings(int(os.environ.get("VOICECOACH_FUZZ_HISTORY", "600")))
@given(damage=damages)
def test_any_damaged_history_is_read_or_is_a_voicecoach_error(damage, pristine, fresh, fuzz_counts):
    note(f"damage: {damage!r}")
    folder = fresh()
    apply(folder, damage)
    outcome = read_everything(folder, pristine)
    fuzz_counts["damaged history"] += 1
    fuzz_counts[f"damaged history {outcome}"] += 1


# `pain` writes, so it comes last.
COMMANDS = (
    ("compile", "ROUTINE"),
    ("progress", "ROUTINE"),
    ("history",),
    ("history", "--json"),
    ("history", "--csv"),
    ("history", "side plank"),
    ("history", "--routine", "ROUTINE", "bird dog"),
    ("pain", "3"),
)


@fuzz_settings(int(os.environ.get("VOICECOACH_FUZZ_HISTORY_CLI", "120")))
@given(damage=damages)
def test_commands_on_a_damaged_history_never_give_a_traceback(damage, pristine, fresh, fuzz_counts):
    note(f"damage: {damage!r}")
    folder = fresh()
    apply(folder, damage)
    for command in COMMANDS:
        args = [str(pristine.routine) if a == "ROUTINE" else a for a in command]
        result = CliRunner().invoke(
            cli, args, env={"VOICECOACH_DATA_DIR": str(folder), "NO_COLOR": "1"}
        )
        note(f"{args}: exit {result.exit_code}\n{result.stdout}\n{result.stderr}")
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
        assert result.exit_code in (0, 1)
        assert "Traceback" not in result.stdout + result.stderr
        if "--csv" not in args:  # CSV is data, exported as stored
            assert "\x1b" not in result.stdout + result.stderr
        fuzz_counts[f"history commands exit {result.exit_code}"] += 1
    fuzz_counts["history commands"] += 1


def test_the_damage_reaches_the_row_checks_as_well_as_breaking_the_file(pristine, fresh):
    # A fuzzer whose every file failed to open would prove little: readable but damaged
    # files must come out, and wrecked ones too.
    folder = fresh()
    apply(folder, ([("set", ("sessions", "started_at"), 1, "yesterday")], []))
    with History.open(folder) as h:
        h.records(str(pristine.routine))
        assert h.damage() == "1 damaged row (1 in sessions) skipped or read in part"
    folder = fresh()
    apply(folder, ([], [("replace", b"not a database")]))
    assert read_everything(folder, pristine) == "error"
