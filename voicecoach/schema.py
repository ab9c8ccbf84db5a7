"""The JSON Schema of routine files, for editors (Taplo / Even Better TOML `#:schema`)."""

from __future__ import annotations

import json
from typing import Any

from voicecoach import model as m
from voicecoach import routine as r
from voicecoach.library import LIBRARY
from voicecoach.model import KINDS, SIDES

SCHEMA_FILE = "routine.schema.json"


def _seconds(lo: float, hi: float, description: str) -> dict[str, Any]:
    return {"type": "number", "minimum": lo, "maximum": hi, "description": description}


def _pause(description: str) -> dict[str, Any]:
    """0 (none), or seconds within PAUSE_SECONDS: a pause of 1e-9 s is no pause at all."""
    lo, hi = m.PAUSE_SECONDS
    return {
        "type": "number",
        "oneOf": [{"enum": [0]}, {"minimum": lo, "maximum": hi}],
        "description": f"{description} 0 for none, or {lo} to {hi}.",
    }


def _settings() -> dict[str, Any]:
    """The keys [defaults] and each exercise share."""
    breath = {
        "type": "number",
        "minimum": m.BREATH_SECONDS[0],
        "maximum": m.BREATH_SECONDS[1],
    }
    return {
        "rest": _pause("Seconds of rest after each set (none after the routine's last set):"),
        "get_ready": _pause("Minimum seconds of lead-in before each set:"),
        "between_reps": _pause(
            "Seconds to relax between holds or reps inside a set (hold and reps only):"
        ),
        "switch_sides": _pause('Seconds to change sides when sides = "each":'),
        "brace": {"type": "boolean", "description": "Cue the brace before each set."},
        "breathing": {
            "description": "Breathing cadence cued during work, or false to turn it off.",
            "oneOf": [
                {"type": "boolean"},
                {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "inhale": {**breath, "description": "Seconds to breathe in."},
                        "exhale": {**breath, "description": "Seconds to breathe out."},
                    },
                },
            ],
        },
        "breathing_sound": {
            "enum": list(r.BREATHING_SOUNDS),
            "description": 'How breathing is cued: "voice" says inhale/exhale, "tone" plays one.',
        },
        "countdown": {
            "type": "integer",
            "minimum": m.COUNTDOWN[0],
            "maximum": m.COUNTDOWN[1],
            "description": "Spoken countdown before each set (3 means 3-2-1; 0 turns it off).",
        },
    }


def routine_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the routine format, built from the loader's limits.

    It describes the shape (keys, types, enums, ranges); the loader checks more (which keys
    fit which kind, required keys a library entry provides) and says where.
    """
    reps_lo, reps_hi = m.REPS_PER_SET
    reps_int = {"type": "integer", "minimum": reps_lo, "maximum": reps_hi}
    settings = _settings()
    exercise_props: dict[str, Any] = {
        "use": {
            "enum": list(LIBRARY),
            "description": "Start from a built-in exercise; the keys given here override it.",
        },
        "name": {
            "type": "string",
            "minLength": 1,
            "maxLength": r.MAX_NAME_CHARS,
            "description": "The name the coach says (required unless `use` gives it).",
        },
        "kind": {
            "enum": list(KINDS),
            "description": "hold: held positions; reps: moving reps at a tempo; timed: "
            "continuous work for a duration. Required unless `use` gives it.",
        },
        "hold": _seconds(*m.HOLD_SECONDS, "hold: seconds per hold."),
        "reps": {
            "description": "Reps (or holds) per set and side; a list gives one set per entry, "
            "e.g. [6, 4, 2]. Required for reps exercises; a hold exercise without it does "
            "one hold per set. Not for timed exercises.",
            "oneOf": [
                reps_int,
                {"type": "array", "items": reps_int, "minItems": 1, "maxItems": m.MAX_SETS},
            ],
        },
        "sets": {
            "type": "integer",
            "minimum": 1,
            "maximum": m.MAX_SETS,
            "description": "Number of sets, with a single-number `reps` or a timed exercise.",
        },
        "sides": {
            "enum": list(SIDES),
            "description": "none: one-sided; each: all reps on one side, then the other; "
            "alternate: switch sides every rep.",
        },
        "side_labels": {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": r.MAX_LABEL_CHARS},
            "minItems": 2,
            "maxItems": 2,
            "description": 'Names of the two sides, default ["left", "right"].',
        },
        "tempo": _seconds(*m.TEMPO_SECONDS, "reps: seconds per rep (default 3)."),
        "duration": _seconds(*m.DURATION_SECONDS, "timed: seconds of work per set and side."),
        "cues": {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": r.MAX_CUE_CHARS},
            "maxItems": r.MAX_CUES,
            "description": "Form cues the coach says during the exercise.",
        },
        "progression": {
            "type": "object",
            "additionalProperties": False,
            "description": "How the exercise grows when sessions are pain-free.",
            "properties": {
                "step": {
                    "type": "number",
                    "minimum": m.PROGRESSION_STEP_MIN,
                    "description": "Added per step (seconds per hold, reps, or seconds); "
                    "at least 1 (whole for reps).",
                },
                "max": {"type": "number", "minimum": 1, "description": "Never grow past this."},
                "after": {
                    "type": "integer",
                    "minimum": m.PROGRESSION_AFTER[0],
                    "maximum": m.PROGRESSION_AFTER[1],
                    "description": "Consecutive pain-free sessions before a step up.",
                },
            },
        },
        **settings,
    }
    voice_lo, voice_hi = m.VOICE_RATE
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "voicecoach routine",
        "description": "A voice-guided core routine: a [routine] table, optional [defaults], "
        "and one [[exercise]] table per exercise, in order.",
        "type": "object",
        "additionalProperties": False,
        "required": ["routine", "exercise"],
        "properties": {
            "routine": {
                "type": "object",
                "additionalProperties": False,
                "required": ["title"],
                "description": "What the routine is called and how the coach sounds.",
                "properties": {
                    "title": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": r.MAX_TITLE_CHARS,
                        "description": "Spoken at the start.",
                    },
                    "notes": {
                        "type": "string",
                        "maxLength": r.MAX_NOTES_CHARS,
                        "description": "Free notes for yourself; never spoken.",
                    },
                    "voice": {
                        "type": "object",
                        "additionalProperties": False,
                        "description": "Speech settings; each key optional.",
                        "properties": {
                            "name": {
                                "type": "string",
                                "minLength": 1,
                                "description": "A voice id, e.g. gmw/en-us (espeak-ng).",
                            },
                            "rate": {
                                "type": "integer",
                                "minimum": voice_lo,
                                "maximum": voice_hi,
                                "description": "Words per minute.",
                            },
                            "volume": {
                                "type": "number",
                                "minimum": m.VOICE_VOLUME[0],
                                "maximum": m.VOICE_VOLUME[1],
                                "description": "0 silent to 1 full.",
                            },
                        },
                    },
                },
            },
            "defaults": {
                "type": "object",
                "additionalProperties": False,
                "description": "Settings for every exercise; each exercise may override them.",
                "properties": settings,
            },
            "exercise": {
                "type": "array",
                "minItems": 1,
                "maxItems": r.MAX_EXERCISES,
                "description": "The exercises, in the order they are done.",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "anyOf": [{"required": ["use"]}, {"required": ["name", "kind"]}],
                    "properties": exercise_props,
                },
            },
        },
    }


def schema_json() -> str:
    """``routine_schema()`` as the text of the shipped ``routine.schema.json``."""
    return json.dumps(routine_schema(), indent=2, ensure_ascii=False) + "\n"
