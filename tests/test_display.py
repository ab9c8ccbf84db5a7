"""The player display: the panel fits 80x24, reads without color, and follows the timeline."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from voicecoach.display import LiveDisplay, big_digits, progress_bar, render_view
from voicecoach.timeline import Cue, Segment, Timeline
from voicecoach.views import PlayerView, TextLog, TimelineViews, format_cue
from voicecoach.wording import clock, seconds_left_text

HELP = "Space pause · x stop (pain) · n next · b back · q quit"

VIEW = PlayerView(
    title="Core basics",
    exercise="Side plank",
    exercise_number=2,
    exercise_count=5,
    set=2,
    sets=3,
    rep=4,
    reps=8,
    side="left",
    phase="Work",
    phase_seconds_left=11.3,
    elapsed_seconds=754.0,
    total_seconds=1500.0,
    next_up="rest 30 s, then Bird dog, set 1 of 3",
    message="Audio device lost: press r to resume on the default device or q to quit",
    last_spoken="Brace: pull your belly in, squeeze your sides and low back, and keep breathing.",
)

SGR = re.compile(r"\x1b\[([0-9;]*)m")


def render(view: PlayerView, width: int = 80, height: int = 24) -> str:
    console = Console(width=width, height=height, record=True, no_color=True, file=io.StringIO())
    console.print(render_view(view))
    return console.export_text()


def color_codes(ansi: str) -> list[str]:
    """The SGR parameters in ``ansi`` that set a foreground or background color."""
    found = []
    for params in SGR.findall(ansi):
        codes = [int(p) for p in params.split(";") if p]
        for code in codes:
            if 30 <= code <= 49 or 90 <= code <= 107:
                found.append(params)
    return found


def test_the_panel_fits_an_80_by_24_terminal() -> None:
    lines = render(VIEW).splitlines()
    assert len(lines) <= 24
    assert max(len(line) for line in lines) <= 80


def test_the_panel_shows_exercise_set_rep_side_next_up_state_and_help() -> None:
    text = render(VIEW)
    assert "Side plank" in text
    assert "Exercise 2 of 5" in text
    assert "Set 2/3 · Rep 4/8 · Left side" in text
    assert "WORK · 12 s left" in text
    assert "Next up: rest 30 s, then Bird dog, set 1 of 3" in text
    assert "Audio device lost: press r to resume on the default device or q to quit" in text
    assert "Said: “Brace: pull your belly in" in text
    assert HELP in text


def test_the_countdown_is_drawn_in_big_digits() -> None:
    text = render(VIEW)
    for row in big_digits("12"):
        assert row in text
    assert big_digits("12")[0] == "  ██    ██████"


def test_the_session_progress_bar_marks_done_and_to_do_without_color() -> None:
    text = render(VIEW)
    bar_line = next(line for line in text.splitlines() if "Session" in line)
    assert "50%  12:34 / 25:00" in bar_line
    assert bar_line.count("█") == bar_line.count("░")  # half done: half filled


def test_a_short_terminal_gets_the_panel_without_big_digits() -> None:
    lines = render(VIEW, height=12).splitlines()
    assert len(lines) <= 12
    assert "WORK · 12 s left" in "\n".join(lines)
    assert not any(row in "\n".join(lines) for row in big_digits("12")[:1])


@pytest.mark.parametrize("width", [80, 60, 40])
def test_long_texts_are_clipped_so_the_panel_stays_within_its_size(width: int) -> None:
    long = PlayerView(
        title="T" * 200,
        exercise="E" * 200,
        exercise_number=1,
        exercise_count=1,
        next_up="N " * 200,
        message="M " * 200,
        last_spoken="S " * 200,
        phase="Rest",
        phase_seconds_left=3725.0,
        total_seconds=7200.0,
        elapsed_seconds=3600.0,
    )
    lines = render(long, width=width).splitlines()
    assert len(lines) <= 24
    assert max(len(line) for line in lines) <= width


def test_no_color_output_has_no_color_codes_but_color_output_does() -> None:
    def ansi(no_color: bool) -> str:
        out = io.StringIO()
        console = Console(
            width=80,
            height=24,
            file=out,
            force_terminal=True,
            color_system="truecolor",
            no_color=no_color,
        )
        console.print(render_view(VIEW))
        return out.getvalue()

    assert color_codes(ansi(no_color=True)) == []
    assert color_codes(ansi(no_color=False)) != []  # the check itself can see color


def test_the_no_color_environment_variable_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    out = io.StringIO()
    Console(width=80, height=24, file=out, force_terminal=True, color_system="truecolor").print(
        render_view(VIEW)
    )
    assert "Side plank" in out.getvalue()
    assert color_codes(out.getvalue()) == []


def test_an_ascii_only_terminal_gets_hash_digits_and_bar() -> None:
    out = io.StringIO()
    console = Console(width=80, height=24, file=out, no_color=True)
    options = console.options.copy()
    options.encoding = "ascii"  # what a non-UTF-8 terminal reports: ascii_only is True
    text = "".join(seg.text for seg in console.render(render_view(VIEW), options))
    assert "##  ######" in text
    assert "█" not in text and "░" not in text
    assert "Space pause - x stop (pain) - n next - b back - q quit" in text


def test_seconds_left_round_up_and_turn_into_minutes_from_60() -> None:
    assert [seconds_left_text(s) for s in (0.0, 0.2, 1.0, 2.5, 59.9, 60.0, 61.0, 3725.0)] == [
        "0",
        "1",
        "1",
        "3",
        "1:00",
        "1:00",
        "1:01",
        "62:05",
    ]
    assert [clock(s) for s in (0, 59.9, 754, 3725)] == ["0:00", "0:59", "12:34", "1:02:05"]


def test_the_progress_bar_has_the_asked_width_and_fill() -> None:
    assert progress_bar(0.25, 8) == "██░░░░░░"
    assert progress_bar(2.0, 4, ascii_only=True) == "####"
    assert progress_bar(-1.0, 3, ascii_only=True) == "---"


# --- views from a timeline -------------------------------------------------------------


def tiny_timeline() -> Timeline:
    segs = (
        Segment(0.0, 4.0, "intro"),
        Segment(4.0, 10.0, "get_ready", 0, "Dead bug", 1, 1, None),
        Segment(10.0, 13.0, "work", 0, "Dead bug", 1, 1, None),
        Segment(13.0, 15.0, "relax", 0, "Dead bug", 1, 2, None),
        Segment(15.0, 18.0, "work", 0, "Dead bug", 1, 2, None),
        Segment(18.0, 48.0, "rest", 0, "Dead bug"),
        Segment(48.0, 54.0, "get_ready", 1, "Side plank", 1, None, "left"),
        Segment(54.0, 74.0, "work", 1, "Side plank", 1, None, "left"),
        Segment(74.0, 80.0, "switch", 1, "Side plank", 1, None, "right"),
        Segment(80.0, 100.0, "work", 1, "Side plank", 1, None, "right"),
        Segment(100.0, 106.0, "outro"),
    )
    return Timeline("Core basics", 106.0, segs, ())


def test_a_view_inside_a_rep_names_the_exercise_set_rep_and_what_follows() -> None:
    view = TimelineViews(tiny_timeline()).at(16.0, message="Paused — Space to resume")
    assert view == PlayerView(
        title="Core basics",
        exercise="Dead bug",
        exercise_number=1,
        exercise_count=2,
        set=1,
        sets=1,
        rep=2,
        reps=2,
        side=None,
        phase="Work",
        phase_seconds_left=2.0,
        elapsed_seconds=16.0,
        total_seconds=106.0,
        next_up="rest 30 s, then Side plank",
        message="Paused — Space to resume",
        last_spoken="",
    )


def test_views_follow_the_phases_sides_and_end_of_the_session() -> None:
    views = TimelineViews(tiny_timeline())
    assert views.at(1.0).phase == "Get ready"
    assert views.at(1.0).next_up == "Dead bug"
    assert views.at(20.0).phase == "Rest"
    assert views.at(20.0).next_up == "Side plank"
    switch = views.at(75.0)
    assert (switch.phase, switch.side, switch.exercise_number) == ("Switch sides", "right", 2)
    assert views.at(90.0).next_up == "the end of the session"
    assert views.at(103.0).phase == "Done"
    assert views.at(500.0).phase == "Done"
    assert views.at(500.0).elapsed_seconds == 106.0


# --- live display and text log ---------------------------------------------------------


def test_the_live_display_redraws_only_when_the_shown_text_changes() -> None:
    out = io.StringIO()
    console = Console(width=80, height=24, file=out, force_terminal=True, no_color=True)
    views = TimelineViews(tiny_timeline())
    with LiveDisplay(console) as live:
        for tenth in range(100, 131):  # 10.0 s to 13.0 s at ten updates a second
            live.update(views.at(tenth / 10))
    # Whole seconds shown: 3, 2, 1 left with elapsed 10, 11, 12, then 13 where the
    # relax starts; sub-second updates change nothing visible.
    assert live.redraws == 4
    assert "RELAX" in out.getvalue()


def test_the_text_log_prints_one_plain_line_per_cue() -> None:
    out = io.StringIO()
    log = TextLog(out)
    log.cue(Cue(3.0, "announce", text="Dead bug. Set 1 of 1."))
    log.cue(Cue(70.5, "start", tone="start"))
    log.note(75.2, "Paused")
    assert out.getvalue().splitlines() == [
        "[00:03] ANNOUNCE  Dead bug. Set 1 of 1.",
        "[01:10] START     <start tone>",
        "[01:15] --        Paused",
    ]
    assert "\x1b" not in out.getvalue()
    assert format_cue(Cue(3725.0, "rest", text="Rest.")) == "[62:05] REST      Rest."


def test_key_events_print_in_the_cue_lines_own_format() -> None:
    out = io.StringIO()
    log = TextLog(out)
    log.cue(Cue(19.0, "count", text="Rep 2"))
    log.event(19.4, "paused", "Space to resume")
    log.event(19.4, "resumed")
    log.event(42.0, "next", "skipped to Bravo, set 1")
    assert out.getvalue().splitlines() == [
        "[00:19] COUNT     Rep 2",
        "[00:19] PAUSED    Space to resume",
        "[00:19] RESUMED",
        "[00:42] NEXT      skipped to Bravo, set 1",
    ]


def test_the_panel_shows_a_listening_mark_only_while_the_microphone_is_open() -> None:
    from dataclasses import replace

    from voicecoach.display import LISTENING_MARK

    assert LISTENING_MARK not in render(VIEW)
    shown = render(replace(VIEW, listening=True))
    assert LISTENING_MARK in shown
    assert max(len(line) for line in shown.splitlines()) <= 80
