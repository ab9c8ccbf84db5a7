"""What the listing commands print: the exercise library, and the history's sessions table,
an exercise's progress chart, JSON and CSV exports.

Every function returns a renderable or a string; printing is the CLI's job.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.table import Table

from voicecoach.library import library_entries
from voicecoach.outcome import Outcome

if TYPE_CHECKING:
    # Only for annotations: `voicecoach exercises` need not load SQLite (or plotext).
    from voicecoach.history import ExerciseSessionStats, History, SessionSummary

CHART_WIDTH = 80
CHART_HEIGHT = 16

OUTCOME_TEXT: dict[Outcome, str] = {
    Outcome.COMPLETED: "completed",
    Outcome.QUIT: "quit",
    Outcome.STOP_PAIN: "stopped: pain",
    Outcome.DEVICE_LOST: "audio device lost",
    Outcome.CRASHED: "interrupted",
    Outcome.RUNNING: "in progress",
}


def colors_wanted(color: bool | None = None) -> bool:
    """Whether to color output: ``color`` if given, else not when ``NO_COLOR`` is set."""
    if color is not None:
        return color
    return not os.environ.get("NO_COLOR")


def library_table() -> Table:
    """A rich table of the built-in exercises: slug, name, kind, doses and coaching cues."""
    table = Table(title="Exercise library", show_lines=True)
    for column in ("use =", "name", "kind", "dose", "coaching cues"):
        table.add_column(column)
    for entry in library_entries():
        doses = "\n".join(
            f"{kind}: " + ", ".join(f"{k} {v}" for k, v in dose.items())
            for kind, dose in entry.doses.items()
        )
        sides = entry.keys.get("sides")
        if sides:
            doses += f"\nsides {sides}"
        table.add_row(
            entry.slug, entry.name, entry.kind, doses, "\n".join(f"- {c}" for c in entry.cues)
        )
    return table


def _when(summary_time: datetime) -> str:
    # Shown in the user's local time; stored in UTC.
    return summary_time.astimezone().strftime("%Y-%m-%d %H:%M")


def _pain_text(stops: int, max_pain: int | None) -> str:
    if stops == 0:
        return "-"
    return "stop" if max_pain is None else f"stop, {max_pain}/10"


def sessions_table(summaries: Sequence[SessionSummary], *, title: str | None = None) -> Table:
    """A rich table of sessions: date, routine, minutes, how it ended, pain."""
    table = Table(title=title, title_justify="left")
    table.add_column("Date")
    table.add_column("Routine")
    table.add_column("Minutes", justify="right")
    table.add_column("Ended")
    table.add_column("Pain")
    for s in summaries:
        minutes = "-" if s.minutes is None else f"{s.minutes:.0f}"
        ended = OUTCOME_TEXT.get(s.outcome, s.outcome)
        style = "red" if s.outcome == Outcome.STOP_PAIN else None
        table.add_row(
            _when(s.started_at),
            s.routine_title,
            minutes,
            ended,
            _pain_text(s.pain_stops, s.max_pain),
            style=style,
        )
    return table


def _measure(stats: Sequence[ExerciseSessionStats]) -> tuple[str, str]:
    kinds = {s.kind for s in stats if s.kind}
    if kinds == {"reps"}:
        return "reps", "best set, reps"
    if kinds == {"timed"}:
        return "seconds", "seconds of work"
    return "seconds", "hold seconds"


def _value(s: ExerciseSessionStats, unit: str) -> float:
    return float(s.best_set_reps) if unit == "reps" else s.max_hold_seconds


def _pain_value(s: ExerciseSessionStats, unit: str) -> float:
    if unit == "reps":
        return float(s.pain_rep if s.pain_rep is not None else s.best_set_reps)
    return float(s.pain_at_seconds if s.pain_at_seconds is not None else s.max_hold_seconds)


def exercise_chart(
    exercise_name: str,
    stats: Sequence[ExerciseSessionStats],
    *,
    width: int = CHART_WIDTH,
    height: int = CHART_HEIGHT,
    color: bool | None = None,
) -> str:
    """A terminal chart of one exercise per session (hold seconds or reps), pain stops as ``x``.

    ``width`` and ``height`` are in characters; colors only when `colors_wanted` says so.
    Below the chart, one line names each pain stop.
    """
    import plotext  # 0.1 s to load: only when a chart is drawn

    if not stats:
        return f"No sessions with {exercise_name} yet."
    unit, label = _measure(stats)
    xs = list(range(1, len(stats) + 1))
    fig = plotext.figure
    fig.clear()
    fig.plot_size(width, height)
    # A session stopped before any work was finished has no dose to draw, only its x.
    done = [(x, _value(s, unit)) for x, s in zip(xs, stats, strict=True) if s.completed_reps]
    if done:
        line = fig.signal([x for x, _ in done], [y for _, y in done], marker="dot")
        line.lines(True)
        fig.draw(line)
    pains = [(x, s) for x, s in zip(xs, stats, strict=True) if s.pain_stop]
    if pains:
        fig.draw(
            fig.signal([x for x, _ in pains], [_pain_value(s, unit) for _, s in pains], marker="x")
        )
    # At most about eight date labels, so they never run into each other at 80 columns.
    every = max(1, -(-len(xs) // 8))
    ticks = xs[::every]
    fig.ruler("x").ticks(
        ticks, [stats[x - 1].started_at.astimezone().strftime("%m-%d") for x in ticks]
    )
    fig.ruler("y").lim(0, None)
    fig.title(f"{exercise_name}: {label} per session")
    chart = fig.build()
    text = str(chart) if colors_wanted(color) else plotext.uncolorize(chart)
    fig.clear()
    lines = [text.rstrip("\n"), f"• {label}   x pain stop"]
    for _, s in pains:
        at = (
            f"rep {s.pain_rep}"
            if unit == "reps" and s.pain_rep is not None
            else f"{s.pain_at_seconds:.0f} s"
            if s.pain_at_seconds is not None
            else "?"
        )
        rating = "" if s.pain_rating is None else f", pain {s.pain_rating}/10"
        lines.append(f"x {s.started_at.astimezone().strftime('%Y-%m-%d')}: stopped at {at}{rating}")
    return "\n".join(lines)


def history_json(data: Mapping[str, Any]) -> str:
    """`History.export` data as indented JSON text."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def history_csv(history: History) -> str:
    """`History.export_csv` as a string."""
    out = io.StringIO()
    history.export_csv(out)
    return out.getvalue()
