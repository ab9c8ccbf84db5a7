"""The JSON Schema of routine files, for editors (Taplo / Even Better TOML `#:schema`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

from voicecoach import model as m
from voicecoach.routine import keys
from voicecoach.routine.keys import KeySpec
from voicecoach.routine.limits import MAX_CUE_CHARS, MAX_CUES, MAX_EXERCISES, MAX_LABEL_CHARS

SCHEMA_FILE = "routine.schema.json"


def _properties(specs: tuple[KeySpec, ...]) -> dict[str, Any]:
    return {spec.name: _property(spec) for spec in specs}


def _property(spec: KeySpec) -> dict[str, Any]:
    """The schema of one key, from its spec in the table of keys."""
    if spec.type in ("number", "integer"):
        if spec.zero_is_none:  # 0 (none), or within the range: a pause of 1e-9 s is none
            return {
                "type": spec.type,
                "oneOf": [{"enum": [0]}, {"minimum": spec.minimum, "maximum": spec.maximum}],
                "description": spec.description,
            }
        return {
            "type": spec.type,
            **_bounds(spec, "minimum", "maximum"),
            "description": spec.description,
        }
    if spec.type == "boolean":
        return {"type": "boolean", "description": spec.description}
    if spec.type == "choice":
        return {"enum": list(spec.choices), "description": spec.description}
    if spec.type == "text":
        return {
            "type": "string",
            **_bounds(spec, "minLength", "maxLength"),
            "description": spec.description,
        }
    if spec.type == "table":
        return {
            "type": "object",
            "additionalProperties": False,
            "description": spec.description,
            "properties": _properties(spec.keys),
        }
    return _OTHER[spec.name](spec)


def _bounds(spec: KeySpec, low: str, high: str) -> dict[str, Any]:
    """The spec's minimum and maximum under the names ``low`` and ``high``, where set."""
    out: dict[str, Any] = {}
    if spec.minimum is not None:
        out[low] = spec.minimum
    if spec.maximum is not None:
        out[high] = spec.maximum
    return out


def _breathing(spec: KeySpec) -> dict[str, Any]:
    return {
        "description": spec.description,
        "oneOf": [
            {"type": "boolean"},
            {
                "type": "object",
                "additionalProperties": False,
                "properties": _properties(spec.keys),
            },
        ],
    }


def _reps(spec: KeySpec) -> dict[str, Any]:
    reps_int = {"type": "integer", **_bounds(spec, "minimum", "maximum")}
    return {
        "description": spec.description,
        "oneOf": [
            reps_int,
            {"type": "array", "items": reps_int, "minItems": 1, "maxItems": m.MAX_SETS},
        ],
    }


def _side_labels(spec: KeySpec) -> dict[str, Any]:
    return {
        "type": "array",
        "items": {"type": "string", "minLength": 1, "maxLength": MAX_LABEL_CHARS},
        "minItems": 2,
        "maxItems": 2,
        "description": spec.description,
    }


def _cues(spec: KeySpec) -> dict[str, Any]:
    return {
        "type": "array",
        "items": {"type": "string", "minLength": 1, "maxLength": MAX_CUE_CHARS},
        "maxItems": MAX_CUES,
        "description": spec.description,
    }


# The keys typed "other" in the table: shapes beyond a number, a word or a table.
_OTHER: Final[dict[str, Callable[[KeySpec], dict[str, Any]]]] = {
    "breathing": _breathing,
    "reps": _reps,
    "side_labels": _side_labels,
    "cues": _cues,
}


def routine_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the routine format, built from the table of keys.

    It describes the shape (keys, types, enums, ranges); the loader checks more (which keys
    fit which kind, required keys a library entry provides) and says where.
    """
    settings = _properties(keys.SETTINGS)
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
                "properties": _properties(keys.ROUTINE),
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
                "maxItems": MAX_EXERCISES,
                "description": "The exercises, in the order they are done.",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "anyOf": [{"required": ["use"]}, {"required": ["name", "kind"]}],
                    "properties": {**_properties(keys.EXERCISE), **settings},
                },
            },
        },
    }


def schema_json() -> str:
    """``routine_schema()`` as the text of the shipped ``routine.schema.json``."""
    return json.dumps(routine_schema(), indent=2, ensure_ascii=False) + "\n"
