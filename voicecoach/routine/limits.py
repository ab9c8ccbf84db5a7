"""Limits of the routine format, and of what the reader gives tomllib to parse."""

from __future__ import annotations

from typing import Final

# Limits of the format: generous for real routines, tight enough that a typo (hold = 1000)
# is caught here, with its line, rather than as a four-hour session. The ranges of values
# are the model's (model.py); keys.py puts both in the table of keys that the checker and
# schema.py read.
MAX_EXERCISES: Final = 2000
MAX_TITLE_CHARS: Final = 200
MAX_NAME_CHARS: Final = 100
# Checked, but not in the published schema (which gives voice.name no maxLength).
MAX_VOICE_NAME_CHARS: Final = 1000  # room for piper:/a/path/to/voice.onnx
MAX_NOTES_CHARS: Final = 5000
MAX_CUE_CHARS: Final = 500
MAX_CUES: Final = 50
MAX_LABEL_CHARS: Final = 40
MAX_FILE_BYTES: Final = 5_000_000
# What tomllib may be given, checked by a cheap scan of the text before it parses
# (reading.check_shape). tomllib's cost grows with the count of keys, values and brackets
# (about 3 us each, 5 us per table), with the square of a dotted key's parts (20,000 parts in a
# 40 KB file took 12 s and 2.3 GB) and with each long literal (its number pattern keeps a
# backtracking frame per digit: 600 MB for 4.9 MB of digits). A real routine is inside
# every one of these: 2,000 exercises (the most a routine may have) with every key written
# out come to 160,000 tokens, the deepest key has three parts (defaults.breathing.inhale),
# the deepest value three levels (exercise = [{ reps = [...] }]) and the longest text
# 5,000 characters (notes).
MAX_LINES: Final = 200_000
MAX_TOKENS: Final = 200_000
MAX_KEY_PARTS: Final = 8
MAX_NESTING: Final = 8
MAX_VALUE_CHARS: Final = 50_000
# A compiler stops listing at some point; the rest are counted in a final line.
MAX_PROBLEMS: Final = 100
# "Did you mean" is worked out for this many unknown words, at most: past MAX_PROBLEMS
# nobody reads them, and difflib costs tens of microseconds each (480,000 unknown keys took
# 20 s). Twice the printed limit, as the checker's order is not quite the file's.
MAX_SUGGESTIONS: Final = 2 * MAX_PROBLEMS
