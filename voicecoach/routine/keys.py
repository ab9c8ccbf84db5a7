"""The table of routine keys: what each key holds, read by the checker and by schema.py.

One ``KeySpec`` per key, in the order the format documents them. The checker checks the
numbers, booleans and choices from it (type, range, unit in its messages) and schema.py
publishes every key from it, so a plain setting (a number, a switch, a choice) needs one
entry here, and nothing else in the checker or the schema (the model still needs its
field, which checking.py fills when it builds the Exercise). Keys whose shape is more
than a number or a word (``reps``, ``cues``, ``breathing``...) are typed ``"other"``: the
checker and the schema describe those by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from voicecoach import model as m
from voicecoach.library import LIBRARY
from voicecoach.routine.limits import (
    MAX_NAME_CHARS,
    MAX_NOTES_CHARS,
    MAX_TITLE_CHARS,
    MAX_VOICE_NAME_CHARS,
)

# Where a key sits in the parsed document: ("exercise", 1, "breathing", "inhale"); array
# items by index.
KeyPath = tuple[str | int, ...]

KeyType = Literal["number", "integer", "boolean", "choice", "text", "table", "other"]


@dataclass(frozen=True, slots=True)
class KeySpec:
    """One key of the routine format.

    ``minimum`` and ``maximum`` bound a number (inclusive, in ``unit``) or a text's length
    in characters; ``None`` where there is no bound to publish. ``unit`` is how messages
    name a number's unit ("a number of seconds"); "" for a plain number. A
    ``zero_is_none`` number is 0 (none) or within the range: a pause of 1e-9 s is no
    pause. ``choices`` are a choice's words; ``keys`` are a table's keys.
    """

    name: str
    type: KeyType
    description: str
    minimum: float | None = None
    maximum: float | None = None
    unit: str = ""
    zero_is_none: bool = False
    choices: tuple[str, ...] = ()
    keys: tuple[KeySpec, ...] = ()


def _pause(name: str, what: str) -> KeySpec:
    lo, hi = m.PAUSE_SECONDS
    return KeySpec(
        name,
        "number",
        f"{what} 0 for none, or {lo} to {hi}.",
        *m.PAUSE_SECONDS,
        unit="seconds",
        zero_is_none=True,
    )


def _breath(name: str, description: str) -> KeySpec:
    return KeySpec(name, "number", description, *m.BREATH_SECONDS, unit="seconds")


VOICE: Final = (
    KeySpec(
        "name",
        "text",
        "A voice id or name (voicecoach voices lists them), e.g. gmw/en-us (espeak-ng), "
        "or piper:NAME or piper:/path/to/voice.onnx for a Piper voice.",
        1,
        MAX_VOICE_NAME_CHARS,
    ),
    KeySpec("rate", "integer", "Words per minute.", *m.VOICE_RATE, unit="words per minute"),
    KeySpec("volume", "number", "0 silent to 1 full.", *m.VOICE_VOLUME),
)

# [routine].
ROUTINE: Final = (
    KeySpec("title", "text", "Spoken at the start.", 1, MAX_TITLE_CHARS),
    KeySpec("notes", "text", "Free notes for yourself; never spoken.", 1, MAX_NOTES_CHARS),
    KeySpec("voice", "table", "Speech settings; each key optional.", keys=VOICE),
)

BREATHING: Final = (
    _breath("inhale", "Seconds to breathe in."),
    _breath("exhale", "Seconds to breathe out."),
)

# The settings [defaults] and each exercise share.
SETTINGS: Final = (
    _pause("rest", "Seconds of rest after each set (none after the routine's last set):"),
    _pause("get_ready", "Minimum seconds of lead-in before each set:"),
    _pause(
        "between_reps",
        "Seconds to relax between holds or reps inside a set (hold and reps only):",
    ),
    _pause("switch_sides", 'Seconds to change sides when sides = "each":'),
    KeySpec("brace", "boolean", "Cue the brace before each set."),
    # A table of BREATHING keys, or true / false.
    KeySpec(
        "breathing",
        "other",
        "Breathing cadence cued during work, or false to turn it off.",
        keys=BREATHING,
    ),
    KeySpec(
        "breathing_sound",
        "choice",
        'How breathing is cued: "voice" says inhale/exhale, "tone" plays one.',
        choices=("voice", "tone"),
    ),
    KeySpec(
        "countdown",
        "integer",
        "Spoken countdown before each set (3 means 3-2-1; 0 turns it off).",
        *m.COUNTDOWN,
    ),
)

# step and max are in the exercise's unit, so their ranges depend on its kind: the
# checker bounds them by hand; the schema publishes only the floors, the same for all.
PROGRESSION: Final = (
    KeySpec(
        "step",
        "number",
        "Added per step (seconds per hold, reps, or seconds); at least 1 (whole for reps).",
        minimum=m.PROGRESSION_STEP_MIN,
    ),
    KeySpec("max", "number", "Never grow past this.", minimum=1),
    KeySpec(
        "after",
        "integer",
        "Consecutive pain-free sessions before a step up.",
        *m.PROGRESSION_AFTER,
        unit="sessions",
    ),
)

# An exercise's own keys; it takes the SETTINGS too.
EXERCISE: Final = (
    # Checked by hand: a misspelt name is normalised and suggested from the library.
    KeySpec(
        "use",
        "choice",
        "Start from a built-in exercise; the keys given here override it.",
        choices=tuple(LIBRARY),
    ),
    KeySpec(
        "name",
        "text",
        "The name the coach says (required unless `use` gives it).",
        1,
        MAX_NAME_CHARS,
    ),
    KeySpec(
        "kind",
        "choice",
        "hold: held positions; reps: moving reps at a tempo; timed: continuous work for a "
        "duration. Required unless `use` gives it.",
        choices=m.KINDS,
    ),
    KeySpec("hold", "number", "hold: seconds per hold.", *m.HOLD_SECONDS, unit="seconds"),
    KeySpec(
        "reps",
        "other",
        "Reps (or holds) per set and side; a list gives one set per entry, e.g. [6, 4, 2]. "
        "Required for reps exercises; a hold exercise without it does one hold per set. "
        "Not for timed exercises.",
        *m.REPS_PER_SET,
        unit="reps",
    ),
    KeySpec(
        "sets",
        "integer",
        "Number of sets, with a single-number `reps` or a timed exercise.",
        1,
        m.MAX_SETS,
        unit="sets",
    ),
    KeySpec(
        "sides",
        "choice",
        "none: one-sided; each: all reps on one side, then the other; alternate: switch "
        "sides every rep.",
        choices=m.SIDES,
    ),
    KeySpec("side_labels", "other", 'Names of the two sides, default ["left", "right"].'),
    KeySpec(
        "tempo", "number", "reps: seconds per rep (default 3).", *m.TEMPO_SECONDS, unit="seconds"
    ),
    KeySpec(
        "duration",
        "number",
        "timed: seconds of work per set and side.",
        *m.DURATION_SECONDS,
        unit="seconds",
    ),
    KeySpec("cues", "other", "Form cues the coach says during the exercise."),
    KeySpec(
        "progression",
        "table",
        "How the exercise grows when sessions are pain-free.",
        keys=PROGRESSION,
    ),
)


def names(specs: tuple[KeySpec, ...]) -> tuple[str, ...]:
    """The keys' names, in order."""
    return tuple(spec.name for spec in specs)


TOP_KEYS: Final = ("routine", "defaults", "exercise")
ROUTINE_KEYS: Final = names(ROUTINE)
VOICE_KEYS: Final = names(VOICE)
DEFAULT_KEYS: Final = names(SETTINGS)
BREATHING_KEYS: Final = names(BREATHING)
EXERCISE_KEYS: Final = (*names(EXERCISE), *DEFAULT_KEYS)
PROGRESSION_KEYS: Final = names(PROGRESSION)
