"""The phase labels and the clock formats, with exact expectations."""

from __future__ import annotations

from voicecoach.timeline import PHASES
from voicecoach.views import VIEW_PHASE_LABELS
from voicecoach.wording import (
    PHASE_LABELS,
    clock,
    clock_tenths,
    duration_text,
    hours_minutes_text,
    log_clock,
    minutes_text,
)


def test_every_phase_has_a_label_and_the_live_view_differs_only_for_the_intro() -> None:
    assert set(PHASE_LABELS) == set(PHASES) == set(VIEW_PHASE_LABELS)
    assert PHASE_LABELS["intro"] == "Intro"
    assert VIEW_PHASE_LABELS["intro"] == "Get ready"
    assert {p: VIEW_PHASE_LABELS[p] for p in PHASES if p != "intro"} == {
        p: PHASE_LABELS[p] for p in PHASES if p != "intro"
    }


def test_the_cue_sheet_clock_shows_tenths_and_hours_only_from_one_hour() -> None:
    assert [clock_tenths(s) for s in (0, 5.04, 65.36, 599.96, 3725.3)] == [
        "0:00.0",
        "0:05.0",
        "1:05.4",
        "10:00.0",
        "1:02:05.3",
    ]


def test_the_session_clock_rounds_down_and_the_log_clock_keeps_two_minute_digits() -> None:
    assert [clock(s) for s in (-1, 0, 59.9, 754, 3725)] == [
        "0:00",
        "0:00",
        "0:59",
        "12:34",
        "1:02:05",
    ]
    assert [log_clock(s) for s in (-1, 5.9, 754, 3725)] == ["00:00", "00:05", "12:34", "62:05"]


def test_lengths_read_as_seconds_minutes_or_hours() -> None:
    assert [duration_text(s) for s in (0, 29.6, 60, 90)] == ["0 s", "30 s", "1:00 min", "1:30 min"]
    assert minutes_text(754) == "12.6 minutes"


def test_hours_and_minutes_round_up_so_over_the_limit_never_reads_as_on_it() -> None:
    assert [hours_minutes_text(s) for s in (4 * 3600 + 1, 4 * 3600 + 120, 4 * 3600 + 121, 59)] == [
        "4 h 01 min",
        "4 h 02 min",
        "4 h 03 min",
        "0 h 01 min",
    ]
