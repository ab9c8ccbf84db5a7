"""The routine checker: a parsed TOML document in, a model.Routine and every problem out.

Each problem is a (key path, message) pair; locating.py turns the paths into FILE:LINE:COL.
The numbers, switches and choices are checked as the table of keys (keys.py) says; the
rest (texts, reps, sides, cues, the kind-dependent progression) by hand below.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Final, cast

from voicecoach.library import LIBRARY
from voicecoach.model import (
    DEFAULT_BETWEEN_REPS,
    DEFAULT_COUNTDOWN,
    DEFAULT_GET_READY,
    DEFAULT_REST,
    DEFAULT_SIDE_LABELS,
    DEFAULT_SWITCH_SIDES,
    DEFAULT_TEMPO,
    DURATION_SECONDS,
    HOLD_SECONDS,
    MAX_SETS,
    PROGRESSION_STEP_MIN,
    REPS_PER_SET,
    Breathing,
    Exercise,
    Kind,
    Progression,
    Routine,
    Voice,
)
from voicecoach.routine.keys import (
    BREATHING,
    BREATHING_KEYS,
    DEFAULT_KEYS,
    EXERCISE,
    EXERCISE_KEYS,
    PROGRESSION,
    PROGRESSION_KEYS,
    ROUTINE_KEYS,
    SETTINGS,
    TOP_KEYS,
    VOICE,
    VOICE_KEYS,
    KeyPath,
)
from voicecoach.routine.limits import (
    MAX_CUE_CHARS,
    MAX_CUES,
    MAX_EXERCISES,
    MAX_LABEL_CHARS,
    MAX_NAME_CHARS,
    MAX_NOTES_CHARS,
    MAX_TITLE_CHARS,
    MAX_VOICE_NAME_CHARS,
)
from voicecoach.routine.messages import hidden_characters, hidden_problem, printable, quote, show
from voicecoach.routine.values import INVALID, Invalid, ValueChecker, is_whole

# Keys that only make sense for some kinds, and what to say when they appear elsewhere.
_KIND_ONLY: Final[dict[str, tuple[tuple[Kind, ...], str]]] = {
    "hold": (("hold",), "set kind = \"hold\" for holds, or remove 'hold'"),
    "tempo": (("reps",), "'tempo' is seconds per rep of a reps exercise; remove it"),
    "duration": (
        ("timed",),
        "'duration' is for timed exercises; use 'hold' for seconds per hold of a hold "
        "exercise, or 'tempo' for seconds per rep",
    ),
    "reps": (
        ("hold", "reps"),
        "use 'duration' for seconds of work per set and 'sets' for how many sets",
    ),
    "between_reps": (
        ("hold", "reps"),
        "there is one bout per set and side; use 'rest' for the pause after a set",
    ),
}

# Words people reach for that the format spells differently (or deliberately lacks).
_KEY_HINTS: Final = {
    "weight": "there is no 'weight': this coach builds endurance (longer holds, more reps) "
    "over weeks, never load",
    "load": "there is no 'load': this coach builds endurance (longer holds, more reps) "
    "over weeks, never load",
    "title": "an exercise's name is 'name'",
    "notes": "lines the coach speaks are 'cues'",
    "description": "lines the coach speaks are 'cues'",
    "seconds": "did you mean 'hold' (seconds per hold) or 'duration' (seconds of timed work)?",
    "time": "did you mean 'hold' (seconds per hold) or 'duration' (seconds of timed work)?",
    "rounds": "did you mean 'sets'?",
    "repetitions": "did you mean 'reps'?",
    "side": "did you mean 'sides'?",
}


# The specs of the keys checked from the table (keys.py), by name.
_EXERCISE: Final = {spec.name: spec for spec in EXERCISE}
_PROGRESSION: Final = {spec.name: spec for spec in PROGRESSION}


@dataclass(slots=True)
class _Exercise:
    """What the checker knows about the exercise being checked: for messages and merging."""

    index: int
    label: str
    given: frozenset[str]
    # Keys suggested for misspelled ones: their "did you mean" stands for "missing" too.
    misspelled: frozenset[str]


@functools.cache  # asked for once per unknown key; the answer never changes
def _misplaced_hints(table: str) -> dict[str, str]:
    """Hints for keys that belong in another table than ``table``, where they were written."""
    after = f"keys after {table} belong to it"
    hints = {"exercise": f"{after}; start each exercise with its own [[exercise]] header"}
    for key in EXERCISE_KEYS:
        hints.setdefault(key, f"{after}; {quote(key)} belongs inside an [[exercise]] table")
    for key in DEFAULT_KEYS:
        hints[key] = f"{after}; {quote(key)} belongs under [defaults] (or in an exercise)"
    for key in ROUTINE_KEYS:
        hints[key] = f"{after}; {quote(key)} belongs under [routine]"
    return hints


class Checker(ValueChecker):
    """Walks the parsed TOML, records every problem with its key path, builds the model."""

    def routine(self, data: dict[str, Any]) -> Routine | None:
        for key, value in data.items():
            if key not in TOP_KEYS:
                self.unknown_top(key, value)
        title, notes, voice = self.routine_table(data)
        defaults = self.defaults(data.get("defaults"))
        exercises = self.exercises(data, defaults)
        if self.problems or title is None or voice is None or exercises is None:
            return None
        return Routine(title=title, exercises=exercises, notes=notes, voice=voice)

    def unknown_top(self, key: str, value: Any) -> None:
        if isinstance(value, dict):
            what = f"unknown table [{printable(key)}]"
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            what = f"unknown table [[{printable(key)}]]"
        else:
            what = f"unknown key {quote(key)} at the top of the file"
        close = self.suggest(key, TOP_KEYS)
        if close:
            header = "[[exercise]]" if close == "exercise" else f"[{close}]"
            what += f"; did you mean {header}?"
        elif key in ROUTINE_KEYS:
            what += "; it belongs under [routine]"
        elif key in DEFAULT_KEYS:
            what += "; it belongs under [defaults]"
        elif key in EXERCISE_KEYS:
            what += "; it belongs inside an [[exercise]] table"
        self.problem((key,), what)

    def routine_table(self, data: dict[str, Any]) -> tuple[str | None, str | None, Voice | None]:
        if "routine" not in data:
            self.problem(
                None,
                "missing [routine] table; start the file with [routine] and a title, "
                'e.g. title = "Morning core"',
            )
            return None, None, None
        table = data["routine"]
        path: KeyPath = ("routine",)
        if not isinstance(table, dict):
            self.problem(
                path,
                f"'routine' must be a table: write [routine] on its own line, then "
                f'title = "..." below it; found {show(table)}',
            )
            return None, None, None
        where = "[routine]"
        self.unknown_keys(table, path, ROUTINE_KEYS, where, _misplaced_hints("[routine]"))
        title: str | None = None
        if "title" not in table:
            self.problem(
                path,
                "missing 'title' in [routine]; name the routine, e.g. title = \"Morning core\"",
            )
        else:
            value = self.text(
                table["title"], (*path, "title"), "title", where, MAX_TITLE_CHARS, one_line=True
            )
            title = None if isinstance(value, Invalid) else value
        notes: str | None = None
        if "notes" in table:
            value = self.text(
                table["notes"], (*path, "notes"), "notes", where, MAX_NOTES_CHARS, one_line=False
            )
            notes = None if isinstance(value, Invalid) else value
        voice = self.voice(table.get("voice"), (*path, "voice"))
        return title, notes, voice

    def voice(self, value: Any, path: KeyPath) -> Voice | None:
        if value is None:
            return Voice()
        example = '{ name = "gmw/en-us", rate = 170, volume = 0.9 }'
        if not self.table(value, path, "voice", "[routine]", example):
            return None
        where = "[routine]"
        self.unknown_keys(value, path, VOICE_KEYS, "'voice' of [routine]")
        before = len(self.problems)
        found: dict[str, Any] = {}
        for spec in VOICE:
            if spec.name not in value:
                continue
            item, key_path, key = value[spec.name], (*path, spec.name), f"voice.{spec.name}"
            if spec.type == "text":
                found[spec.name] = self.text(
                    item, key_path, key, where, MAX_VOICE_NAME_CHARS, one_line=True
                )
            else:
                found[spec.name] = self.setting(spec, item, key_path, where, key)
        if len(self.problems) > before:
            return None
        return Voice(**found)

    # -- settings shared by [defaults] and each exercise

    def settings(self, table: dict[str, Any], path: KeyPath, where: str) -> dict[str, Any]:
        """The valid [defaults]-style keys of ``table`` (``breathing``: partial dict or False)."""
        out: dict[str, Any] = {}
        for spec in SETTINGS:
            if spec.name not in table:
                continue
            value, key_path = table[spec.name], (*path, spec.name)
            result: Any
            if spec.name == "breathing":  # a table of its own, or true / false
                result = self.breathing(value, key_path, where)
            else:
                result = self.setting(spec, value, key_path, where)
            if not isinstance(result, Invalid):
                out[spec.name] = result
        return out

    def breathing(self, value: Any, path: KeyPath, where: str) -> dict[str, float] | bool | Invalid:
        if isinstance(value, bool):
            return {} if value else False
        if not isinstance(value, dict):
            self.problem(
                path,
                f"'breathing' in {where} must be a table like {{ inhale = 3, exhale = 3 }} "
                f"or false, found {show(value)}",
            )
            return INVALID
        self.unknown_keys(value, path, BREATHING_KEYS, f"'breathing' of {where}")
        out: dict[str, float] = {}
        for spec in BREATHING:
            if spec.name in value:
                key_path, key = (*path, spec.name), f"breathing.{spec.name}"
                result = self.setting(spec, value[spec.name], key_path, where, key)
                if not isinstance(result, Invalid):
                    out[spec.name] = result
        return out

    def defaults(self, value: Any) -> dict[str, Any]:
        if value is None:
            return {}
        path: KeyPath = ("defaults",)
        if not isinstance(value, dict):
            self.problem(
                path,
                f"'defaults' must be a table: write [defaults] on its own line, then keys "
                f"like rest = 30 below it; found {show(value)}",
            )
            return {}
        for key in value:
            if key in DEFAULT_KEYS:
                continue
            if key in EXERCISE_KEYS:
                self.problem(
                    (*path, key),
                    f"{quote(key)} cannot be set in [defaults]; set it in each [[exercise]]",
                )
            else:
                self.unknown_keys(
                    {key: None}, path, DEFAULT_KEYS, "[defaults]", _misplaced_hints("[defaults]")
                )
        return self.settings(value, path, "[defaults]")

    # -- exercises

    def exercises(
        self, data: dict[str, Any], defaults: dict[str, Any]
    ) -> tuple[Exercise, ...] | None:
        path: KeyPath = ("exercise",)
        value = data.get("exercise")
        if value is None or (isinstance(value, list) and not value):
            self.problem(
                path if value is not None else None,
                "the routine has no exercises; add an [[exercise]] table",
            )
            return None
        if isinstance(value, dict):
            self.problem(
                path,
                "[exercise] must be written [[exercise]], with double brackets, "
                "once before each exercise",
            )
            return None
        if not isinstance(value, list):
            self.problem(
                path,
                f"'exercise' must be a list of tables, one [[exercise]] per exercise, "
                f"found {show(value)}",
            )
            return None
        if len(value) > MAX_EXERCISES:
            self.problem(
                path, f"a routine has at most {MAX_EXERCISES} exercises, found {len(value)}"
            )
            return None
        built = [self.exercise(i, raw, defaults) for i, raw in enumerate(value)]
        if any(e is None for e in built):
            return None
        return tuple(e for e in built if e is not None)

    def exercise(self, index: int, raw: Any, defaults: dict[str, Any]) -> Exercise | None:
        path: KeyPath = ("exercise", index)
        number = index + 1
        if not isinstance(raw, dict):
            self.problem(
                path,
                f"exercise {number} must be a table of keys (name, kind, ...), found {show(raw)}",
            )
            return None
        before = len(self.problems)

        entry = None
        use: str | None = None
        name_value = raw.get("name")
        plain_name = printable(name_value) if isinstance(name_value, str) else ""
        if "use" in raw:
            use_value = raw["use"]
            if isinstance(use_value, str) and use_value in LIBRARY:
                entry = LIBRARY[use_value]
                use = use_value
        if not plain_name and entry is not None:
            plain_name = entry.name
        label = f"exercise {number}" + (f" ({plain_name})" if plain_name else "")
        if "use" in raw and entry is None:
            self.unknown_use(raw["use"], (*path, "use"), label)
        misspelled = self.unknown_keys(raw, path, EXERCISE_KEYS, label, _KEY_HINTS)
        ex = _Exercise(index, label, frozenset(raw), frozenset(misspelled))

        kind = self.kind(raw, entry, ex)
        merged: dict[str, Any] = {}
        if entry is not None:
            merged.update(entry.routine_keys(kind if kind is not None else None))
            # A list of reps carries its own set count; the library's 'sets' would clash.
            if isinstance(raw.get("reps"), list) and "sets" not in raw:
                merged.pop("sets", None)
        merged.update(raw)

        name = self.exercise_name(merged, raw, ex)
        if kind is not None:
            self.kind_only_keys(ex, kind)
        reps = self.reps(merged, ex, kind)
        dose = self.dose(merged, ex, kind)
        sides, side_labels = self.sides(merged, ex)
        cues = self.cues(merged, ex)
        settings = self.settings(raw, path, label)
        progression = self.progression(raw.get("progression"), ex, kind)

        if len(self.problems) > before or kind is None or name is None or reps is None:
            return None
        resolved = {**defaults, **settings}
        breathing: Breathing | None = Breathing()
        for partial in (defaults.get("breathing"), settings.get("breathing")):
            if partial is False:
                breathing = None
            elif isinstance(partial, dict):
                base = breathing or Breathing()
                breathing = Breathing(
                    inhale=partial.get("inhale", base.inhale),
                    exhale=partial.get("exhale", base.exhale),
                )
        return Exercise(
            index=index,
            name=name,
            kind=kind,
            reps=reps,
            hold=dose.get("hold"),
            tempo=dose.get("tempo", DEFAULT_TEMPO),
            duration=dose.get("duration"),
            sides=sides,  # type: ignore[arg-type]
            side_labels=side_labels,
            cues=cues,
            rest=resolved.get("rest", DEFAULT_REST),
            get_ready=resolved.get("get_ready", DEFAULT_GET_READY),
            between_reps=resolved.get("between_reps", DEFAULT_BETWEEN_REPS),
            switch_sides=resolved.get("switch_sides", DEFAULT_SWITCH_SIDES),
            brace=resolved.get("brace", True),
            breathing=breathing,
            breathing_sound=resolved.get("breathing_sound", "voice"),
            countdown=resolved.get("countdown", DEFAULT_COUNTDOWN),
            use=use,
            progression=progression,
        )

    def unknown_use(self, value: Any, path: KeyPath, label: str) -> None:
        if not isinstance(value, str):
            self.problem(
                path,
                f"'use' in {label} must be the name of a built-in exercise in quotes, "
                f'e.g. use = "bird-dog", found {show(value)}',
            )
            return
        normal = re.sub(r"[\s_]+", "-", value.strip().lower())
        close = normal if normal in LIBRARY else self.suggest(normal, LIBRARY)
        message = f"unknown exercise {quote(value)} in {label}"
        if close:
            message += f"; did you mean {quote(close)}?"
        else:
            message += "; run `voicecoach exercises` to list the built-in ones"
        self.problem(path, message)

    def kind(self, raw: dict[str, Any], entry: Any, ex: _Exercise) -> Kind | None:
        path: KeyPath = ("exercise", ex.index)
        label = ex.label
        if "kind" in raw:
            value = self.setting(_EXERCISE["kind"], raw["kind"], (*path, "kind"), label)
            return None if isinstance(value, Invalid) else cast(Kind, value)
        if entry is not None:
            return entry.kind  # type: ignore[no-any-return]
        # An unknown `use`, or a misspelled `kind`, is reported already; do not pile on.
        if "use" not in raw and "kind" not in ex.misspelled:
            self.problem(
                path,
                f'missing \'kind\' in {label}: say what it is, kind = "hold", "reps" or "timed"',
            )
        return None

    def exercise_name(
        self, merged: dict[str, Any], raw: dict[str, Any], ex: _Exercise
    ) -> str | None:
        path: KeyPath = ("exercise", ex.index)
        label = ex.label
        if "name" not in merged:
            if "use" not in raw and "name" not in ex.misspelled:
                self.problem(path, f"missing 'name' in {label}: name it, e.g. name = \"Bird dog\"")
            return None
        value = self.text(
            merged["name"], (*path, "name"), "name", label, MAX_NAME_CHARS, one_line=True
        )
        return None if isinstance(value, Invalid) else value

    def kind_only_keys(self, ex: _Exercise, kind: Kind) -> None:
        for key, (kinds, hint) in _KIND_ONLY.items():
            if key in ex.given and kind not in kinds:
                self.problem(
                    ("exercise", ex.index, key),
                    f"{quote(key)} does not apply to {ex.label}, a {kind} exercise; {hint}",
                )

    def reps(
        self, merged: dict[str, Any], ex: _Exercise, kind: Kind | None
    ) -> tuple[int, ...] | None:
        path: KeyPath = ("exercise", ex.index)
        sets = self.sets(merged, ex)
        if kind == "timed":
            return None if sets is None else (1,) * sets
        if kind is None:
            return None
        if "reps" not in merged:
            if "reps" in ex.misspelled:
                return None
            if kind == "hold":  # a plank: one hold per set, as anyone writing one expects
                return None if sets is None else (1,) * sets
            self.problem(
                path,
                f"missing 'reps' in {ex.label}: a reps exercise needs reps per set "
                f"(reps = 5, or reps = [6, 4, 2] for one set per entry)",
            )
            return None
        value = merged["reps"]
        lo, hi = REPS_PER_SET
        if is_whole(value) and lo <= value <= hi:
            return None if sets is None else (value,) * sets
        if isinstance(value, list) and value:
            if "sets" in ex.given:
                self.problem(
                    (*path, "sets"),
                    f"'sets' in {ex.label} cannot be combined with a list of 'reps': the list "
                    f"already gives one set per entry; remove 'sets'",
                )
            if len(value) > MAX_SETS:
                self.problem(
                    (*path, "reps"),
                    f"'reps' in {ex.label} may list at most {MAX_SETS} sets, found {len(value)}",
                )
                return None
            out: list[int] = []
            for j, item in enumerate(value):
                if is_whole(item) and lo <= item <= hi:
                    out.append(item)
                else:
                    self.problem(
                        (*path, "reps", j),
                        f"'reps' entry {j + 1} in {ex.label} must be a whole number of reps "
                        f"from {lo} to {hi}, found {show(item)}",
                    )
            return tuple(out) if len(out) == len(value) else None
        self.problem(
            (*path, "reps"),
            f"'reps' in {ex.label} must be a whole number of reps from {lo} to {hi}, or a "
            f"list of them with one entry per set (e.g. [6, 4, 2]), found {show(value)}",
        )
        return None

    def sets(self, merged: dict[str, Any], ex: _Exercise) -> int | None:
        if "sets" not in merged:
            return 1
        path = ("exercise", ex.index, "sets")
        value = self.setting(_EXERCISE["sets"], merged["sets"], path, ex.label)
        return None if isinstance(value, Invalid) else int(value)

    def dose(self, merged: dict[str, Any], ex: _Exercise, kind: Kind | None) -> dict[str, float]:
        """hold / tempo / duration for the kind (each checked whenever given)."""
        path: KeyPath = ("exercise", ex.index)
        out: dict[str, float] = {}
        # Keys of other kinds are reported by kind_only_keys; keep them out of the model.
        keep = {"hold": ("hold",), "reps": ("tempo",), "timed": ("duration",)}.get(kind or "")
        for key in ("hold", "tempo", "duration"):
            if key in merged and (keep is None or key in keep):
                value = self.setting(_EXERCISE[key], merged[key], (*path, key), ex.label)
                if not isinstance(value, Invalid):
                    out[key] = value
        needs = {
            "hold": ("hold", "seconds per hold"),
            "timed": ("duration", "seconds of work per set"),
        }
        if kind in needs:
            key, what = needs[kind]
            if key not in merged and key not in ex.misspelled:
                self.problem(
                    path, f"missing {quote(key)} in {ex.label}: a {kind} exercise needs {what}"
                )
        return out if keep is not None else {}

    def sides(self, merged: dict[str, Any], ex: _Exercise) -> tuple[str, tuple[str, str]]:
        path: KeyPath = ("exercise", ex.index)
        sides = "none"
        if "sides" in merged:
            value = self.setting(_EXERCISE["sides"], merged["sides"], (*path, "sides"), ex.label)
            sides = "none" if isinstance(value, Invalid) else value
        labels: tuple[str, str] = DEFAULT_SIDE_LABELS
        if "side_labels" in merged:
            value = merged["side_labels"]
            ok = (
                isinstance(value, list)
                and len(value) == 2
                and all(isinstance(v, str) and v.strip() for v in value)
                and all(len(v.strip()) <= MAX_LABEL_CHARS for v in value)
            )
            hidden = [hidden_characters(v.strip()) for v in value] if ok else []
            if any(hidden):
                j = next(j for j, h in enumerate(hidden) if h)
                label = value[j].strip()
                lead = len(value[j]) - len(value[j].lstrip())
                self.problem(
                    (*path, "side_labels", j),
                    f"'side_labels' entry {j + 1} in {ex.label} must be one line of plain "
                    f"text; {hidden_problem(label, hidden[j], lead)}",
                )
            elif ok and value[0].strip() != value[1].strip():
                labels = (value[0].strip(), value[1].strip())
            else:
                self.problem(
                    (*path, "side_labels"),
                    f"'side_labels' in {ex.label} must be two different names in quotes, "
                    f'e.g. ["left", "right"], found {show(value)}',
                )
        return sides, labels

    def cues(self, merged: dict[str, Any], ex: _Exercise) -> tuple[str, ...]:
        if "cues" not in merged:
            return ()
        path: KeyPath = ("exercise", ex.index, "cues")
        value = merged["cues"]
        if not isinstance(value, list):
            self.problem(
                path,
                f"'cues' in {ex.label} must be a list of sentences in quotes, "
                f'e.g. ["Keep the hips level."], found {show(value)}',
            )
            return ()
        if len(value) > MAX_CUES:
            self.problem(
                path, f"'cues' in {ex.label} may have at most {MAX_CUES} lines, found {len(value)}"
            )
            return ()
        out: list[str] = []
        for j, item in enumerate(value):
            ok = isinstance(item, str) and item.strip() and len(item.strip()) <= MAX_CUE_CHARS
            # Line breaks and tabs fold into spaces; escape sequences and bidi controls
            # would reach the terminal through the live display and the cue sheet.
            hidden = hidden_characters(item, fold_spaces=True) if ok else []
            if hidden:
                self.problem(
                    (*path, j),
                    f"'cues' entry {j + 1} in {ex.label} must be plain text; "
                    f"{hidden_problem(item, hidden)}",
                )
            elif ok:
                out.append(" ".join(item.split()))
            else:
                found = (
                    f"{len(item.strip())} characters"
                    if isinstance(item, str) and item.strip()
                    else show(item)
                )
                self.problem(
                    (*path, j),
                    f"'cues' entry {j + 1} in {ex.label} must be a sentence in quotes of 1 to "
                    f"{MAX_CUE_CHARS} characters, found {found}",
                )
        return tuple(out)

    def progression(self, value: Any, ex: _Exercise, kind: Kind | None) -> Progression | None:
        if value is None:
            return None
        path: KeyPath = ("exercise", ex.index, "progression")
        if not self.table(
            value, path, "progression", ex.label, "{ step = 2, max = 30, after = 2 }"
        ):
            return None
        where = f"'progression' of {ex.label}"
        for key in value:
            if key in PROGRESSION_KEYS:
                continue
            message = f"unknown key {quote(key)} in {where}"
            close = self.suggest(key, PROGRESSION_KEYS)
            if close:
                message += f"; did you mean {quote(close)}?"
            elif key in EXERCISE_KEYS:
                # The TOML trap: keys written after [exercise.progression] land inside it.
                message += (
                    f"; keys after an [exercise.progression] header belong to it, so move "
                    f"{quote(key)} above that header"
                )
            self.problem((*path, key), message)
        if kind == "reps":
            (lo, hi), unit, whole = REPS_PER_SET, "reps", True
        elif kind == "hold":
            (lo, hi), unit, whole = HOLD_SECONDS, "seconds", False
        else:
            (lo, hi), unit, whole = DURATION_SECONDS, "seconds", False
        # step and max are in the kind's unit and bounded by its range, so not by the table.
        before = len(self.problems)
        found: dict[str, Any] = {}
        if "step" in value:
            # At least a whole rep or a whole second: a step of 1e-9 would take forever
            # to show, and fills the history with levels nobody can feel.
            found["step"] = self.number(
                value["step"],
                (*path, "step"),
                "progression.step",
                ex.label,
                PROGRESSION_STEP_MIN,
                hi,
                unit=unit,
                whole=whole,
            )
        if "max" in value:
            found["max"] = self.number(
                value["max"],
                (*path, "max"),
                "progression.max",
                ex.label,
                lo,
                hi,
                unit=unit,
                whole=whole,
            )
        if "after" in value:
            after = _PROGRESSION["after"]
            key = "progression.after"
            found["after"] = self.setting(after, value["after"], (*path, "after"), ex.label, key)
        if len(self.problems) > before:
            return None
        return Progression(
            step=found.get("step"),
            max=found.get("max"),
            after=int(found["after"]) if "after" in found else None,
        )
