"""The live player display: a compact rich panel, redrawn in place.

What it shows (`PlayerView`) is built in `voicecoach.views`, which imports no rich: the
player imports this module only once the sound has started.
"""

from __future__ import annotations

import dataclasses
import math
from types import TracebackType

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from voicecoach.commands import HELP_LINE
from voicecoach.views import PlayerView
from voicecoach.wording import clock, seconds_left_text

# Shown on the panel's frame whenever the microphone is open (--listen).
LISTENING_MARK = "listening: say stop, pause, resume or next"

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
        # Privacy: whenever the microphone is open, the panel says so.
        subtitle=Text(LISTENING_MARK, style="bold") if view.listening else None,
        subtitle_align="right",
        title_align="left",
        width=width,
        padding=(0, 1),
    )


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
