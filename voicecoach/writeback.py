"""Write-back: bake adapted levels into a routine file, touching nothing but those values.

tomlkit keeps comments, whitespace and layout; only the ``hold`` / ``reps`` / ``duration``
value of each adapted ``[[exercise]]`` changes (added after the table's last key when the
value came from ``use`` or ``[defaults]``). The file is replaced atomically, mode kept;
the routines shipped with voicecoach are never rewritten.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, Float, Table

from voicecoach.adapt import Dose
from voicecoach.errors import VoicecoachError
from voicecoach.files import atomic_write, check_output_paths, os_error_text
from voicecoach.paths import shipped_scripts_dir


def _number(value: float, like: Any) -> int | float:
    # Keep the file's style: a float stays a float (10.0), an integer stays an integer.
    if isinstance(like, Float) or not float(value).is_integer():
        return float(value)
    return int(value)


def _reps_value(reps: tuple[int, ...], like: Any) -> int | list[int]:
    if len(set(reps)) == 1 and not isinstance(like, list):
        return reps[0]
    return list(reps)


def _edits(dose: Dose, table: Table) -> dict[str, Any]:
    """The key and value to write for a dose: only the unit the adaptation changes."""
    if dose.kind == "hold" and dose.hold is not None:
        return {"hold": _number(dose.hold, table.get("hold"))}
    if dose.kind == "timed" and dose.duration is not None:
        return {"duration": _number(dose.duration, table.get("duration"))}
    if dose.kind == "reps":
        return {"reps": _reps_value(dose.reps, table.get("reps"))}
    return {}


def _last_plain_index(table: Table) -> int | None:
    """Body index of the table's last key-value line (not a sub-table such as
    ``[exercise.progression]``), or ``None``."""
    last = None
    for i, (key, item) in enumerate(table.value.body):
        if key is not None and not isinstance(item, Table | AoT):
            last = i
    return last


def _set(table: Table, key: str, value: Any) -> None:
    if key in table:
        # Assignment keeps the old value's trivia: its indent and trailing comment.
        table[key] = value
        return
    last = _last_plain_index(table)
    new = tomlkit.item(value)
    body = table.value.body
    if last is not None and last + 1 < len(body):
        new.trivia.indent = body[last][1].trivia.indent
        # Inserting right after the last key keeps the new line above blank lines,
        # comments and sub-tables that close the table. tomlkit has no public insert;
        # `_insert_at` is in every release from 0.12 to 0.15 (pyproject pins that range,
        # and tests/test_writeback.py fails if it changes).
        table.value._insert_at(last + 1, key, new)
    else:
        if last is not None:
            new.trivia.indent = body[last][1].trivia.indent
        table.add(key, new)


def apply_levels(text: str, levels: Mapping[int, Dose], *, file: str = "<routine>") -> str:
    """Return ``text`` (a routine file) with each exercise index's dose written in.

    Pure. Raises `VoicecoachError` naming ``file`` if the text is not TOML or has no
    ``[[exercise]]`` at an index.
    """
    try:
        doc = tomlkit.parse(text)
    except TOMLKitError as e:
        raise VoicecoachError(f"{file}: cannot write levels back: not valid TOML ({e})") from e
    exercises = doc.get("exercise")
    if not isinstance(exercises, AoT):
        raise VoicecoachError(f"{file}: cannot write levels back: no [[exercise]] tables")
    for index, dose in sorted(levels.items()):
        if not 0 <= index < len(exercises):
            raise VoicecoachError(
                f"{file}: cannot write levels back: there is no exercise number {index + 1} "
                f"(the file has {len(exercises)})"
            )
        table = exercises[index]
        for key, value in _edits(dose, table).items():
            _set(table, key, value)
    return tomlkit.dumps(doc)


def write_levels(path: Path, levels: Mapping[int, Dose]) -> str:
    """Write each exercise index's dose into the routine file at ``path``; return the new text.

    The file is replaced atomically (`files.atomic_output`) with its permission bits
    kept; a symlink's target is what changes; a byte-order mark and CRLF line endings
    are kept. Nothing is written when no value changes.

    Raises
    ------
    VoicecoachError
        When the routine is one shipped with voicecoach (copy it first), is read-only or
        not a regular file, its folder is not writable, or the file cannot be read or
        written (the message says why: "disk full", "permission denied", ...).
    """
    target = Path(path).resolve()
    if is_shipped(target):
        raise VoicecoachError(
            f"{path}: error: this routine ships with voicecoach and is not changed; make "
            f"your own copy with today's levels: voicecoach new --from {target.stem} "
            f"my-{target.stem}.toml"
        )
    check_output_paths([("the routine", Path(path))])
    try:
        # newline="" keeps CRLF files CRLF.
        with open(target, encoding="utf-8", newline="") as f:
            old = f.read()
    except (OSError, UnicodeDecodeError) as e:
        reason = os_error_text(e) if isinstance(e, OSError) else "not UTF-8 text"
        raise VoicecoachError(
            f"{path}: cannot read the routine to write levels back: {reason}"
        ) from e
    new = apply_levels_keeping_bom(old, levels, file=str(path))
    if new == old:
        return new
    try:
        atomic_write(target, new)
    except OSError as e:
        raise VoicecoachError(
            f"{path}: cannot write levels back: {os_error_text(e)}; the file is unchanged"
        ) from e
    return new


def apply_levels_keeping_bom(
    text: str, levels: Mapping[int, Dose], *, file: str = "<routine>"
) -> str:
    """`apply_levels` for text that may start with a byte-order mark, which is kept.

    The loader accepts a BOM (Windows editors write one) though TOML forbids it.
    """
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    return bom + apply_levels(text.removeprefix(bom), levels, file=file)


def is_shipped(path: Path) -> bool:
    """True for a routine inside voicecoach's own shipped folder (never rewritten)."""
    folder = shipped_scripts_dir().resolve()
    return Path(path).resolve().parent == folder
