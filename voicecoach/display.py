"""The live player display (a compact rich panel), the plain one-line-per-cue text log, and
the line that sums up a session when it ends."""

from __future__ import annotations

import bisect
import dataclasses
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, TextIO

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from voicecoach.commands import HELP_LINE
from voicecoach.outcome import Outcome
from voicecoach.timeline import Cue, Phase, Segment, Timeline
from voicecoach.wording import (
    PHASE_LABELS,
    clock,
    duration_text,
    log_clock,
    seconds_left_text,
)

if TYPE_CHECKING:
    from voicecoach.player import PlayResult  # the player imports this module

# The panel shows the phase in capitals over its countdown: during the spoken intro,
# "GET READY" tells the person on the mat what to do, where "INTRO" would not.
VIEW_PHASE_LABELS: Mapping[Phase, str] = MappingProxyType({**PHASE_LABELS, "intro": "Get ready"})

# Phase styles: emphasis only. Every meaning is also in the words, so NO_COLOR loses nothing.
_PHASE_STYLES: dict[str, str] = {
    "Work": "bold green",
    "Get ready": "bold yellow",
    "Switch sides": "bold yellow",
    "Relax": "bold cyan",
    "Rest": "bold cyan",
    "Done": "bold",
}

PANEL_WIDTH = 80
# Below this many terminal lines the big digits are left out (the panel with them is <= 19).
BIG_DIGITS_MIN_HEIGHT = 20

# A 3x5 block font for the countdown, drawn two columns per cell so it reads from a mat.
_GLYPHS: dict[str, tuple[str, ...]] = {
    "0": ("###", "# #", "# #", "# #", "###"),
    "1": (" # ", "## ", " # ", " # ", "###"),
    "2": ("###", "  #", "###", "#  ", "###"),
    "3": ("###", "  #", "###", "  #", "###"),
    "4": ("# #", "# #", "###", "  #", "  #"),
    "5": ("###", "#  ", "###", "  #", "###"),
    "6": ("###", "#  ", "###", "# #", "###"),
    "7": ("###", "  #", "  #", "  #", "  #"),
    "8": ("###", "# #", "###", "# #", "###"),
    "9": ("###", "# #", "###", "  #", "###"),
    ":": (" ", "#", " ", "#", " "),
}


@dataclass(frozen=True, slots=True)
class PlayerView:
    """What the player shows at one moment: a plain snapshot, rendered by `render_view`.

    Seconds are floats; ``exercise_number`` is 1-based (0 before the first exercise);
    ``set``, ``rep`` and their totals are ``None`` where they do not apply (rest, a timed
    exercise); ``phase`` is a label from `VIEW_PHASE_LABELS`.
    """

    title: str
    exercise: str = ""
    exercise_number: int = 0
    exercise_count: int = 0
    set: int | None = None
    sets: int | None = None
    rep: int | None = None
    reps: int | None = None
    side: str | None = None
    phase: str = "Get ready"
    phase_seconds_left: float = 0.0
    elapsed_seconds: float = 0.0
    total_seconds: float = 0.0
    next_up: str = ""
    message: str = ""
    last_spoken: str = ""


def big_digits(text: str, cell: str = "█") -> list[str]:
    """``text`` (digits and colons) in the block font: five lines, each cell drawn twice.

    ``cell`` is the character of a lit cell (``"#"`` where the terminal cannot draw "█").
    """
    rows = []
    for row in range(5):
        parts = [_GLYPHS[ch][row] for ch in text if ch in _GLYPHS]
        rows.append(" ".join(parts).replace("#", cell * 2).replace(" ", "  ").rstrip())
    return rows


def progress_bar(fraction: float, width: int, *, ascii_only: bool = False) -> str:
    """A bar of ``width`` characters, filled cells and empty cells drawn differently.

    Not rich's ProgressBar: that one draws both halves with the same character and tells
    them apart only by color, which NO_COLOR removes.
    """
    fraction = min(1.0, max(0.0, fraction))
    filled = round(fraction * width)
    full, empty = ("#", "-") if ascii_only else ("█", "░")
    return full * filled + empty * (width - filled)


class _ViewPanel:
    """`render_view`'s result: the panel is laid out when the console size is known."""

    def __init__(self, view: PlayerView) -> None:
        self.view = view

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield _panel(self.view, console, options)


def render_view(view: PlayerView) -> RenderableType:
    """The player panel for ``view``, at most 80 columns wide and 19 lines tall.

    It shows the exercise, set, rep and side, the phase with a big countdown, the session
    progress, what comes next, the state message, the last spoken line and the key help.
    On a terminal under 20 lines high the big digits give way to a one-line countdown.
    """
    return _ViewPanel(view)


def _clipped(console: Console, text: str, width: int, lines: int, style: str = "") -> Text:
    """``text`` wrapped to ``width`` and cut to ``lines`` lines (ending in an ellipsis)."""
    wrapped = list(Text(text, style=style).wrap(console, width))
    if len(wrapped) > lines:
        wrapped = wrapped[:lines]
        wrapped[-1].truncate(width - 1)
        wrapped[-1].append("…")
    return Text("\n", style=style).join(wrapped)


def _panel(view: PlayerView, console: Console, options: ConsoleOptions) -> Panel:
    width = min(PANEL_WIDTH, options.max_width)
    inner = max(10, width - 4)  # borders and one column of padding each side
    big = options.size.height >= BIG_DIGITS_MIN_HEIGHT and inner >= 40
    ascii_only = options.ascii_only
    dot = " - " if ascii_only else " · "

    head = Table.grid(expand=True)
    head.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    head.add_column(justify="right", no_wrap=True)
    count = (
        f"Exercise {view.exercise_number} of {view.exercise_count}"
        if view.exercise_number and view.exercise_count
        else ""
    )
    head.add_row(Text(view.exercise or view.title, style="bold"), Text(count))

    where = []
    if view.set is not None:
        where.append(f"Set {view.set}/{view.sets}" if view.sets else f"Set {view.set}")
    if view.rep is not None:
        where.append(f"Rep {view.rep}/{view.reps}" if view.reps else f"Rep {view.rep}")
    if view.side:
        where.append(f"{view.side.capitalize()} side")

    left = seconds_left_text(view.phase_seconds_left)
    unit = "" if ":" in left else " s"
    phase = Text(view.phase.upper(), style=_PHASE_STYLES.get(view.phase, "bold"))
    phase.append(f"{dot}{left}{unit} left", style="bold")

    fraction = view.elapsed_seconds / view.total_seconds if view.total_seconds > 0 else 0.0
    times = (
        f" {math.floor(min(1.0, fraction) * 100):3d}%  "
        f"{clock(view.elapsed_seconds)} / {clock(view.total_seconds)}"
    )
    bar = Text("Session ")
    bar.append(
        progress_bar(fraction, max(5, inner - len("Session ") - len(times)), ascii_only=ascii_only)
    )
    bar.append(times)

    parts: list[RenderableType] = [head, Text(dot.join(where), no_wrap=True, overflow="ellipsis")]
    if big:
        parts.append(Text(""))
        parts.append(phase)
        parts.append(
            Text(
                "\n".join(big_digits(left, "#" if ascii_only else "█")),
                style="bold",
                no_wrap=True,
                overflow="crop",
            )
        )
        parts.append(Text(""))
    else:
        parts.append(phase)
    parts.append(bar)
    if view.next_up:
        parts.append(_clipped(console, f"Next up: {view.next_up}", inner, 1))
    if view.message:
        # Reverse video stands out without color; the words carry the meaning.
        parts.append(_clipped(console, view.message, inner, 2, style="bold reverse"))
    if view.last_spoken:
        parts.append(_clipped(console, f"Said: “{view.last_spoken}”", inner, 2, style="italic"))
    help_line = HELP_LINE.replace(" · ", dot) if ascii_only else HELP_LINE
    parts.append(Text(help_line, style="dim", no_wrap=True, overflow="ellipsis"))
    return Panel(
        Group(*parts),
        title=Text(view.title, style="bold"),
        title_align="left",
        width=width,
        padding=(0, 1),
    )


class TimelineViews:
    """Builds the `PlayerView` at any time of a compiled timeline (pure; indexed once).

    The player adds the state ``message`` and the ``last_spoken`` line it knows about.
    """

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self._segments = timeline.segments
        self._starts = [s.start for s in self._segments]
        order: list[int] = []
        sets: dict[int, int] = {}
        reps: dict[tuple[int, int], int] = {}
        for seg in self._segments:
            if seg.exercise is None:
                continue
            if seg.exercise not in sets:
                order.append(seg.exercise)
            if seg.set is not None:
                sets[seg.exercise] = max(sets.get(seg.exercise, 0), seg.set)
                if seg.rep is not None:
                    key = (seg.exercise, seg.set)
                    reps[key] = max(reps.get(key, 0), seg.rep)
            else:
                sets.setdefault(seg.exercise, 0)
        self._number = {ex: n for n, ex in enumerate(order, start=1)}
        self._sets = sets
        self._reps = reps
        self._ready = [i for i, s in enumerate(self._segments) if s.phase == "get_ready"]

    def at(self, seconds: float, *, message: str = "", last_spoken: str = "") -> PlayerView:
        """The view ``seconds`` into the session (clamped to the session's length)."""
        tl = self.timeline
        if not self._segments or seconds >= tl.duration:
            return PlayerView(
                title=tl.title,
                phase="Done",
                elapsed_seconds=tl.duration,
                total_seconds=tl.duration,
                exercise_count=len(self._number),
                message=message,
                last_spoken=last_spoken,
            )
        i = max(0, bisect.bisect_right(self._starts, seconds) - 1)
        seg = self._segments[i]
        ex = seg.exercise
        return PlayerView(
            title=tl.title,
            exercise=seg.name or "",
            exercise_number=self._number.get(ex, 0) if ex is not None else 0,
            exercise_count=len(self._number),
            set=seg.set,
            sets=(self._sets.get(ex) or None) if ex is not None else None,
            rep=seg.rep,
            reps=self._reps.get((ex, seg.set)) if ex is not None and seg.set else None,
            side=seg.side,
            phase=VIEW_PHASE_LABELS[seg.phase],
            phase_seconds_left=seg.end - max(0.0, seconds),
            elapsed_seconds=max(0.0, seconds),
            total_seconds=tl.duration,
            next_up=self._next_up(i),
            message=message,
            last_spoken=last_spoken,
        )

    def _next_up(self, i: int) -> str:
        k = bisect.bisect_right(self._ready, i)
        if k == len(self._ready):
            return "the end of the session" if self._segments[i].phase != "outro" else ""
        nxt: Segment = self._segments[self._ready[k]]
        assert nxt.exercise is not None
        sets = self._sets[nxt.exercise]
        # As the coach says it: "set 1 of 1" says nothing.
        text = f"{nxt.name}, set {nxt.set} of {sets}" if sets > 1 else str(nxt.name)
        rest = next((s for s in self._segments[i + 1 : self._ready[k]] if s.phase == "rest"), None)
        if rest is not None:
            text = f"rest {duration_text(rest.seconds)}, then {text}"
        return text


class LiveDisplay:
    """The panel kept up to date in place (rich Live, no alternate screen, no auto refresh).

    ``update`` may be called ten times a second: the terminal is redrawn only when what
    it shows changes (whole seconds, texts). The last state stays on screen after exit.
    """

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self._live = Live(
            console=self.console,
            screen=False,
            auto_refresh=False,
            transient=False,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._shown: PlayerView | None = None
        self.redraws = 0

    def __enter__(self) -> LiveDisplay:
        self._live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._live.stop()

    def update(self, view: PlayerView) -> None:
        """Show ``view`` (redrawing only if the visible text changed)."""
        shown = _as_shown(view)
        if shown == self._shown:
            return
        self._shown = shown
        self.redraws += 1
        self._live.update(render_view(view), refresh=True)


def _as_shown(view: PlayerView) -> PlayerView:
    # The view with its seconds rounded as displayed: equal views draw the same panel.
    return dataclasses.replace(
        view,
        phase_seconds_left=float(max(0, math.ceil(view.phase_seconds_left - 1e-9))),
        elapsed_seconds=float(int(max(0.0, view.elapsed_seconds))),
        total_seconds=float(int(view.total_seconds)),
    )


def format_cue(cue: Cue) -> str:
    """One cue as a log line: ``[mm:ss] ROLE      text`` (a tone as ``<name tone>``)."""
    text = cue.text if cue.text is not None else f"<{cue.tone} tone>"
    return f"[{log_clock(cue.at)}] {cue.role.upper():<9} {text}"


class TextLog:
    """The ``--text`` display: one plain line per cue, no cursor movement, no color."""

    def __init__(self, file: TextIO | None = None) -> None:
        self.file = file if file is not None else sys.stdout

    def cue(self, cue: Cue) -> None:
        """Print ``cue`` as one line and flush (a pipe reader sees it at once)."""
        self._line(format_cue(cue))

    def note(self, seconds: float, text: str) -> None:
        """Print a player event (paused, stopped for pain) as one line at ``seconds``."""
        self._line(f"[{log_clock(seconds)}] {'--':<9} {text}")

    def event(self, seconds: float, label: str, text: str = "") -> None:
        """Print what a key did as a cue-shaped line: ``[00:19] PAUSED    Space to resume``.

        ``label`` takes the place of the cue's role (upper-cased), so the line lines up
        with the cues around it.
        """
        self._line(f"[{log_clock(seconds)}] {label.upper():<9} {text}".rstrip())

    def _line(self, line: str) -> None:
        print(line, file=self.file, flush=True)


def session_summary(result: PlayResult) -> str:
    """One line on how the session ended (and where, after a pain stop)."""
    if result.outcome == Outcome.STOP_PAIN and result.stop is not None:
        s = result.stop
        where = ", ".join(
            x
            for x in (
                s.name,
                f"set {s.set}" if s.set else "",
                f"rep {s.rep}" if s.rep else "",
                f"{s.side} side" if s.side else "",
                f"{s.seconds:.1f} s into the work"
                if s.phase == "work"
                else f"during {s.phase.replace('_', ' ')}",
            )
            if x
        )
        pain = f", pain {result.pain_rating}/10" if result.pain_rating is not None else ""
        if not result.pain_recorded:
            # Nothing will lower the next session for the person: say so plainly.
            why = f": {result.record_note}" if result.record_note else ""
            return (
                f"Stopped for pain at {where}{pain} (NOT recorded{why}). Next time, "
                "start lower yourself."
            )
        return f"Stopped for pain at {where}{pain} (recorded). Next time starts below it."
    session = "Preview" if result.preview else "Session"
    line = {
        Outcome.COMPLETED: "Preview complete."
        if result.preview
        else "Session complete. Well done.",
        Outcome.QUIT: f"{session} ended early.",
        Outcome.DEVICE_LOST: f"{session} ended: the audio device was lost.",
    }.get(result.outcome, f"{session} ended: {result.outcome}.")
    return f"{line[:-1]} ({result.record_note})." if result.record_note else line
