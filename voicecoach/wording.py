"""How phases and times are written for people: the phase labels and every clock format."""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Only for the annotation: timeline.py uses the formats here, so no import at run time.
    from voicecoach.timeline import Phase

# What each phase is called in the cue sheet; the live view calls "intro" "Get ready"
# (see `display.VIEW_PHASE_LABELS`).
PHASE_LABELS: Mapping[Phase, str] = MappingProxyType(
    {
        "intro": "Intro",
        "get_ready": "Get ready",
        "work": "Work",
        "relax": "Relax",
        "switch": "Switch sides",
        "rest": "Rest",
        "outro": "Done",
    }
)


def clock_tenths(seconds: float) -> str:
    """A time to the tenth of a second: ``1:05.3``, or ``1:02:05.3`` from one hour."""
    tenths = round(seconds * 10)
    minutes, tenths = divmod(tenths, 600)
    hours, minutes = divmod(minutes, 60)
    secs = f"{tenths // 10:02d}.{tenths % 10}"
    return f"{hours}:{minutes:02d}:{secs}" if hours else f"{minutes}:{secs}"


def clock(seconds: float) -> str:
    """A session time as ``m:ss``, or ``h:mm:ss`` from one hour (rounded down)."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def log_clock(seconds: float) -> str:
    """A time as ``mm:ss`` (rounded down; minutes go past 59), the text log's fixed width."""
    whole = max(0, int(seconds))
    return f"{whole // 60:02d}:{whole % 60:02d}"


def seconds_left_text(seconds: float) -> str:
    """Seconds left as the countdown shows them: whole seconds rounded up, ``m:ss`` from 60.

    Rounded up so the display reads 3, 2, 1 and reaches 0 only when the phase ends.
    """
    whole = max(0, math.ceil(seconds - 1e-9))
    return f"{whole // 60}:{whole % 60:02d}" if whole >= 60 else str(whole)


def duration_text(seconds: float) -> str:
    """A planned length in words-and-digits: ``"30 s"``, ``"1:30 min"`` (rounded)."""
    whole = max(0, round(seconds))
    return f"{whole // 60}:{whole % 60:02d} min" if whole >= 60 else f"{whole} s"


def minutes_text(seconds: float) -> str:
    """A length in minutes to one decimal: ``"12.5 minutes"``."""
    return f"{seconds / 60:.1f} minutes"


def hours_minutes_text(seconds: float) -> str:
    """``4 h 02 min``: minutes rounded up, so a length over a limit never reads as on it."""
    minutes = math.ceil(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min"
