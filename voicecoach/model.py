"""The validated routine model: what a routine file means once loaded (pure data, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["hold", "reps", "timed"]
Sides = Literal["none", "each", "alternate"]
BreathingSound = Literal["voice", "tone"]

KINDS: tuple[Kind, ...] = ("hold", "reps", "timed")
SIDES: tuple[Sides, ...] = ("none", "each", "alternate")

# The ranges of the model, inclusive, in each field's unit: the loader (the routine package) refuses
# values outside them with a located message, the JSON Schema (schema.py) publishes them,
# and the compiler (timeline.py) refuses a model built some other way that breaks them.
# The floors matter as much as the ceilings: every span of a session is at least a second
# long, so a session of at most four hours has a bounded number of segments and cues.
HOLD_SECONDS = (1, 300)
TEMPO_SECONDS = (1, 300)
DURATION_SECONDS = (1, 1800)
# rest, get_ready, between_reps, switch_sides: 0 means none; otherwise from 1 to 600 s.
PAUSE_SECONDS = (1, 600)
BREATH_SECONDS = (1, 20)
REPS_PER_SET = (1, 100)
MAX_SETS = 20
COUNTDOWN = (0, 10)
# Words per minute and 0 to 1: also the range of play's and render's --rate and --volume,
# and what the speech engine accepts (espeak-ng's default rate is 200).
VOICE_RATE = (50, 500)
VOICE_VOLUME = (0, 1)
PROGRESSION_AFTER = (1, 100)
# A progression step is at least one whole rep, or one second of hold or timed work.
PROGRESSION_STEP_MIN = 1

# Built-in defaults; a routine's [defaults] and each exercise may override them.
DEFAULT_REST = 30.0
DEFAULT_GET_READY = 5.0
DEFAULT_BETWEEN_REPS = 3.0
DEFAULT_SWITCH_SIDES = 5.0
DEFAULT_TEMPO = 3.0
DEFAULT_COUNTDOWN = 3
DEFAULT_INHALE = 3.0
DEFAULT_EXHALE = 3.0
DEFAULT_SIDE_LABELS = ("left", "right")


@dataclass(frozen=True, slots=True)
class Breathing:
    """Breathing cadence cued during holds and timed work, in seconds."""

    inhale: float = DEFAULT_INHALE
    exhale: float = DEFAULT_EXHALE


@dataclass(frozen=True, slots=True)
class Progression:
    """How an exercise steps up when pain-free: ``step`` per level, up to ``max``.

    ``step`` and ``max`` are in the exercise's unit (seconds per hold, reps per set,
    seconds of timed work); ``after`` is the count of consecutive pain-free sessions.
    ``None`` means the built-in default for the exercise's kind.
    """

    step: float | None = None
    max: float | None = None
    after: int | None = None


@dataclass(frozen=True, slots=True)
class Voice:
    """How the coach speaks; ``None`` means the engine's default.

    ``name`` is a voice id or name (see `speech.resolve_voice`), ``rate`` is words per
    minute within `VOICE_RATE`, ``volume`` is within `VOICE_VOLUME`. The same settings
    come from ``[routine] voice = {...}``, from ``--voice``, ``--rate`` and ``--volume``
    (laid over the routine's by `session.chosen_voice`), and go to the speech engine.
    """

    name: str | None = None
    rate: int | None = None
    volume: float | None = None


@dataclass(frozen=True, slots=True)
class Exercise:
    """One validated exercise of a routine, with every default resolved.

    ``reps`` holds one entry per set: reps per side for hold and reps exercises,
    and 1 for timed exercises (one bout per set and side).
    """

    index: int
    name: str
    kind: Kind
    reps: tuple[int, ...]
    hold: float | None = None
    tempo: float = DEFAULT_TEMPO
    duration: float | None = None
    sides: Sides = "none"
    side_labels: tuple[str, str] = DEFAULT_SIDE_LABELS
    cues: tuple[str, ...] = ()
    rest: float = DEFAULT_REST
    get_ready: float = DEFAULT_GET_READY
    between_reps: float = DEFAULT_BETWEEN_REPS
    switch_sides: float = DEFAULT_SWITCH_SIDES
    brace: bool = True
    breathing: Breathing | None = field(default_factory=Breathing)
    breathing_sound: BreathingSound = "voice"
    countdown: int = DEFAULT_COUNTDOWN
    use: str | None = None
    progression: Progression | None = None
    # A sentence spoken before the exercise's first set, e.g. why today's dose was
    # adjusted from the history ("Last time side plank hurt at 7 seconds, ...").
    adjustment: str | None = None

    @property
    def sets(self) -> int:
        """Number of sets."""
        return len(self.reps)

    @property
    def side_names(self) -> tuple[str | None, ...]:
        """The sides worked in each set, in order of first appearance; ``(None,)`` if one-sided."""
        return (None,) if self.sides == "none" else self.side_labels


@dataclass(frozen=True, slots=True)
class Routine:
    """A validated routine: its title, voice settings and exercises in file order."""

    title: str
    exercises: tuple[Exercise, ...]
    notes: str | None = None
    voice: Voice = field(default_factory=Voice)
