"""Routine files: TOML text in, a validated model.Routine out; problems located FILE:LINE:COL.

The rooms, in the order a file goes through them:

- ``reading``: bytes to text to TOML (encodings, special files, size and shape limits,
  syntax errors in plain words);
- ``checking`` (with ``values``): the parsed document to a model.Routine, collecting every
  problem with its key path;
- ``locating``: key paths to line and column (tomllib gives no positions);
- ``keys``: the table of keys the checker and the JSON Schema (schema.py) both read;
  ``limits``: the format's caps; ``messages``: pieces of messages, safe on one line;
- ``loading``: ``load_routine`` and ``parse_routine``, the ways in.
"""

from __future__ import annotations

from voicecoach.errors import Problem, RoutineError
from voicecoach.routine.keys import KeyPath, KeySpec
from voicecoach.routine.limits import (
    MAX_CUE_CHARS,
    MAX_CUES,
    MAX_EXERCISES,
    MAX_FILE_BYTES,
    MAX_KEY_PARTS,
    MAX_LABEL_CHARS,
    MAX_LINES,
    MAX_NAME_CHARS,
    MAX_NESTING,
    MAX_NOTES_CHARS,
    MAX_PROBLEMS,
    MAX_SUGGESTIONS,
    MAX_TITLE_CHARS,
    MAX_TOKENS,
    MAX_VALUE_CHARS,
    MAX_VOICE_NAME_CHARS,
)
from voicecoach.routine.loading import load_routine, parse_routine

__all__ = [
    "MAX_CUES",
    "MAX_CUE_CHARS",
    "MAX_EXERCISES",
    "MAX_FILE_BYTES",
    "MAX_KEY_PARTS",
    "MAX_LABEL_CHARS",
    "MAX_LINES",
    "MAX_NAME_CHARS",
    "MAX_NESTING",
    "MAX_NOTES_CHARS",
    "MAX_PROBLEMS",
    "MAX_SUGGESTIONS",
    "MAX_TITLE_CHARS",
    "MAX_TOKENS",
    "MAX_VALUE_CHARS",
    "MAX_VOICE_NAME_CHARS",
    "KeyPath",
    "KeySpec",
    "Problem",
    "RoutineError",
    "load_routine",
    "parse_routine",
]
