"""The timeline: segments and cues compiled from a routine (the contract between compiler and player)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

SCHEMA_VERSION = 1

Phase = Literal["intro", "get_ready", "work", "relax", "switch", "rest", "outro"]
PHASES: tuple[Phase, ...] = ("intro", "get_ready", "work", "relax", "switch", "rest", "outro")

# Speech cues that may be dropped (or replaced by a tone) when they cannot fit inside
# work: the clock of a hold never waits for the voice.
LOW_PRIORITY_ROLES = frozenset({"breathe", "count", "halfway", "remaining"})
# Tone to play instead of a low-priority speech cue that does not fit (None: drop it).
FALLBACK_TONES: dict[str, str | None] = {
    "breathe": None,  # set per cue from its text: "inhale" or "exhale"
    "count": "tick",
    "halfway": None,
    "remaining": None,
}
TONES = ("start", "stop", "tick", "inhale", "exhale", "done")


@dataclass(frozen=True, slots=True)
class Segment:
    """A span of the session, ``start`` to ``end`` in seconds, in one phase.

    ``exercise`` is the 0-based index in the routine file; ``set`` and ``rep`` are
    1-based; ``side`` is a side label or ``None``.
    """

    start: float
    end: float
    phase: Phase
    exercise: int | None = None
    name: str | None = None
    set: int | None = None
    rep: int | None = None
    side: str | None = None

    @property
    def seconds(self) -> float:
        """Length of the segment in seconds."""
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Cue:
    """Something heard at ``at`` seconds: speech (``text``) or an earcon (``tone``), never both."""

    at: float
    role: str
    text: str | None = None
    tone: str | None = None
    exercise: int | None = None

    @property
    def kind(self) -> Literal["speech", "tone"]:
        """``"speech"`` for a spoken cue, ``"tone"`` for an earcon."""
        return "speech" if self.text is not None else "tone"


@dataclass(frozen=True, slots=True)
class Timeline:
    """A compiled session: contiguous sorted segments covering [0, duration], sorted cues."""

    title: str
    duration: float
    segments: tuple[Segment, ...]
    cues: tuple[Cue, ...]

    def to_json_dict(self) -> dict[str, Any]:
        """The timeline as the JSON document of schema version 1."""
        return {
            "version": SCHEMA_VERSION,
            "title": self.title,
            "duration": self.duration,
            "segments": [asdict(s) for s in self.segments],
            "cues": [asdict(c) for c in self.cues],
        }

    def phrases(self) -> list[str]:
        """Every distinct spoken text, in order of first use (what speech must synthesize)."""
        return list(dict.fromkeys(c.text for c in self.cues if c.text is not None))
