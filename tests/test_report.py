"""History views: the sessions table, the exercise chart (80 columns, NO_COLOR) and exports."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from voicecoach.history import History
from voicecoach.report import exercise_chart, history_csv, history_json, sessions_table

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def history(tmp_path: Path):
    h = History.open(tmp_path / "data")
    path = str(tmp_path / "back.toml")
    for day, hold in enumerate((8, 9, 9, 10, 10, 11), start=1):
        start = T0 + timedelta(days=day)
        sid = h.start_session(path, "Morning back", "h", started_at=start)
        for set_no in (1, 2):
            h.record_work(
                sid,
                exercise_index=0,
                exercise_name="Side plank",
                kind="hold",
                set=set_no,
                rep=1,
                side=None,
                seconds=hold,
            )
        h.end_session(sid, "completed", at=start + timedelta(minutes=12))
    start = T0 + timedelta(days=7)
    sid = h.start_session(path, "Morning back", "h", started_at=start)
    h.record_work(
        sid,
        exercise_index=0,
        exercise_name="Side plank",
        kind="hold",
        set=1,
        rep=1,
        side=None,
        seconds=7.0,
        completed=False,
    )
    stop = h.record_pain_stop(
        sid,
        exercise_index=0,
        exercise_name="Side plank",
        set=1,
        rep=1,
        side=None,
        seconds_into_work=7.0,
        at=start + timedelta(minutes=2),
    )
    h.set_pain_rating(stop, 6)
    yield h
    h.close()


def render(table: object) -> str:
    console = Console(width=100, color_system=None, record=True, file=None)
    with console.capture() as cap:
        console.print(table)
    return cap.get()


def test_sessions_table_shows_date_routine_minutes_ending_and_pain(history: History) -> None:
    text = render(sessions_table(history.sessions()))
    lines = [line for line in text.splitlines() if "Morning back" in line]
    assert len(lines) == 7
    assert "stopped: pain" in lines[0] and "stop, 6/10" in lines[0] and " 2 " in lines[0]
    assert "completed" in lines[1] and "12" in lines[1]


def test_chart_fits_80_columns_without_colors_under_no_color(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    chart = exercise_chart("Side plank", history.exercise_history(None, "side plank"))
    assert "\x1b[" not in chart
    assert max(len(line) for line in chart.splitlines()) <= 80
    assert "Side plank: hold seconds per session" in chart
    assert (
        chart.splitlines()[-1] == f"x {T0.astimezone().date() + timedelta(days=7)}: "
        "stopped at 7 s, pain 6/10"
    )
    # One pain marker inside the plot area.
    plot_rows = [line for line in chart.splitlines() if "│" in line or "┤" in line]
    assert sum(line.count("x") for line in plot_rows) == 1


def test_chart_is_colored_when_asked(history: History) -> None:
    chart = exercise_chart("Side plank", history.exercise_history(None, "side plank"), color=True)
    assert "\x1b[" in chart


def test_chart_of_an_exercise_never_done_says_so(history: History) -> None:
    assert exercise_chart("Dead bug", []) == "No sessions with Dead bug yet."


def test_json_and_csv_exports_carry_every_session(history: History) -> None:
    data = json.loads(history_json(history.export()))
    assert len(data["sessions"]) == 7
    assert data["sessions"][-1]["outcome"] == "stop_pain"
    csv_text = history_csv(history)
    assert csv_text.splitlines()[0].startswith("record,session_id,")
    assert sum(line.startswith("session,") for line in csv_text.splitlines()) == 7
