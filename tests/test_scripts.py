"""Shipped routines, the starter and the JSON Schema: they load, and they agree."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomlkit

from voicecoach.errors import RoutineError
from voicecoach.library import LIBRARY
from voicecoach.model import Exercise
from voicecoach.routine import keys, load_routine, parse_routine
from voicecoach.routine.keys import KeySpec
from voicecoach.schema import routine_schema, schema_json
from voicecoach.timeline import compile_routine

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted((ROOT / "scripts").glob("*.toml"))
STARTER = ROOT / "voicecoach" / "starter.toml"
SHIPPED = [*SCRIPTS, STARTER]


def schema_problems(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """The keywords of draft 2020-12 that routine_schema uses, checked by hand."""
    found: list[str] = []
    kind = schema.get("type")
    types: dict[str, type | tuple[type, ...]] = {
        "object": dict,
        "array": list,
        "string": str,
        "boolean": bool,
        "integer": int,
        "number": (int, float),
    }
    is_bool_number = kind in ("integer", "number") and isinstance(value, bool)
    if kind is not None and (not isinstance(value, types[kind]) or is_bool_number):
        return [f"{where}: not {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{where}: {value!r} not in enum")
    if "minimum" in schema and value < schema["minimum"]:
        found.append(f"{where}: below minimum")
    if "maximum" in schema and value > schema["maximum"]:
        found.append(f"{where}: above maximum")
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        found.append(f"{where}: not above exclusiveMinimum")
    if isinstance(value, str | list):
        low = schema.get("minLength", schema.get("minItems", 0))
        high = schema.get("maxLength", schema.get("maxItems", len(value)))
        if not low <= len(value) <= high:
            found.append(f"{where}: length {len(value)} outside [{low}, {high}]")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            found += schema_problems(item, schema["items"], f"{where}[{i}]")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        found += [f"{where}: missing {k}" for k in schema.get("required", []) if k not in value]
        for key, item in value.items():
            if key in props:
                found += schema_problems(item, props[key], f"{where}.{key}")
            elif schema.get("additionalProperties") is False:
                found.append(f"{where}: unexpected {key}")
    for keyword, needed in (("oneOf", 1), ("anyOf", None)):
        if keyword in schema:
            passing = sum(not schema_problems(value, s, where) for s in schema[keyword])
            if (needed is None and passing == 0) or (needed is not None and passing != needed):
                found.append(f"{where}: {keyword} matched {passing}")
    return found


def estimate_seconds(exercises: tuple[Exercise, ...], lead_in: float = 10.0) -> float:
    """A rough session length: ~10 s of lead-in per set, the work, relaxing and rests."""
    total = 0.0
    for e_index, ex in enumerate(exercises):
        work = {"hold": ex.hold, "reps": ex.tempo, "timed": ex.duration}[ex.kind] or 0.0
        for s_index, n in enumerate(ex.reps):
            bouts_per_block, blocks = {"none": (n, 1), "each": (n, 2), "alternate": (2 * n, 1)}[
                ex.sides
            ]
            relax = 0.0 if ex.kind == "timed" else ex.between_reps
            block = bouts_per_block * work + (bouts_per_block - 1) * relax
            total += lead_in + blocks * block + (blocks - 1) * ex.switch_sides
            last = e_index == len(exercises) - 1 and s_index == len(ex.reps) - 1
            total += 0.0 if last else ex.rest
    return total


def test_the_three_routines_are_shipped() -> None:
    assert [p.name for p in SCRIPTS] == ["back-basics.toml", "big-three.toml", "quick-five.toml"]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_each_shipped_routine_loads(path: Path) -> None:
    routine = load_routine(path)
    assert routine.title
    assert routine.exercises


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_each_shipped_routine_matches_the_schema(path: Path) -> None:
    assert schema_problems(tomllib.loads(path.read_text("utf-8")), routine_schema()) == []


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_each_shipped_routine_explains_itself_in_comments(path: Path) -> None:
    lines = path.read_text("utf-8").splitlines()
    assert lines[0].startswith("# ")
    assert sum(line.lstrip().startswith("#") or " # " in line for line in lines) >= 5


def test_back_basics_uses_all_nine_library_exercises() -> None:
    routine = load_routine(ROOT / "scripts" / "back-basics.toml")
    assert sorted(e.use for e in routine.exercises if e.use) == sorted(LIBRARY)


def test_big_three_is_ten_second_holds_in_a_reverse_pyramid() -> None:
    routine = load_routine(ROOT / "scripts" / "big-three.toml")
    assert [e.use for e in routine.exercises] == ["curl-up", "side-plank", "bird-dog"]
    for ex in routine.exercises:
        assert ex.hold == 10
        assert list(ex.reps) == sorted(ex.reps, reverse=True) and len(set(ex.reps)) == 3


def test_quick_five_takes_about_five_minutes() -> None:
    routine = load_routine(ROOT / "scripts" / "quick-five.toml")
    assert len(routine.exercises) == 5
    assert 4.5 * 60 <= compile_routine(routine).duration <= 6 * 60


def test_the_starter_shows_every_key_of_the_format() -> None:
    text = STARTER.read_text("utf-8")
    props = routine_schema()["properties"]
    keys = {
        *props["routine"]["properties"],
        *props["routine"]["properties"]["voice"]["properties"],
        *props["defaults"]["properties"],
        *props["exercise"]["items"]["properties"],
        *props["exercise"]["items"]["properties"]["progression"]["properties"],
    }
    text += "progression =" if "[exercise.progression]" in text else ""
    missing = [k for k in sorted(keys) if f"{k} =" not in text]
    assert missing == []


def test_the_shipped_schema_file_is_the_generated_schema() -> None:
    shipped = (ROOT / "voicecoach" / "routine.schema.json").read_text("utf-8")
    assert shipped == schema_json()
    assert json.loads(shipped)["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_the_schema_closes_every_table_and_describes_every_key() -> None:
    def walk(node: dict[str, Any], where: str) -> None:
        if node.get("type") == "object":
            assert node.get("additionalProperties") is False, where
            for key, sub in node.get("properties", {}).items():
                assert "description" in sub, f"{where}.{key}"
                walk(sub, f"{where}.{key}")
        for sub in node.get("oneOf", []):
            walk(sub, where)
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{where}[]")

    walk(routine_schema(), "$")


def test_the_schema_ranges_reject_what_the_loader_rejects() -> None:
    schema = routine_schema()
    bad = {"routine": {"title": "T"}, "exercise": [{"use": "bird-dog", "hold": 0}]}
    assert schema_problems(bad, schema) == ["$.exercise[0].hold: below minimum"]
    with pytest.raises(RoutineError, match="from 1 to 300"):
        parse_routine('[routine]\ntitle = "T"\n[[exercise]]\nuse = "bird-dog"\nhold = 0\n')


def test_the_schema_offers_every_library_slug() -> None:
    use = routine_schema()["properties"]["exercise"]["items"]["properties"]["use"]
    assert use["enum"] == list(LIBRARY)


def test_the_error_example_in_the_docs_is_what_the_loader_says() -> None:
    doc = (ROOT / "docs" / "routines.md").read_text("utf-8")
    section = doc[doc.index("For this `back.toml`:") :]
    source = section.split("```toml\n", 1)[1].split("```", 1)[0]
    shown = section.split("```text\n", 1)[1].split("```", 1)[0]
    with pytest.raises(RoutineError) as info:
        parse_routine(source, "back.toml")
    assert str(info.value) + "\n" == shown


def _text_keys() -> list[tuple[str, KeySpec]]:
    tables = [("routine", keys.ROUTINE), ("voice", keys.VOICE), ("exercise", keys.EXERCISE)]
    return [(table, spec) for table, specs in tables for spec in specs if spec.type == "text"]


@pytest.mark.parametrize("table, spec", _text_keys(), ids=lambda x: getattr(x, "name", x))
def test_every_text_length_the_schema_publishes_is_the_loaders(table: str, spec: KeySpec) -> None:
    assert spec.minimum is not None and spec.maximum is not None, "publish both bounds"

    def document(value: str) -> str:
        data: dict[str, Any] = {"routine": {"title": "T"}, "exercise": [{"use": "bird-dog"}]}
        place = {
            "routine": data["routine"],
            "exercise": data["exercise"][0],
            "voice": data["routine"].setdefault("voice", {}),
        }[table]
        place[spec.name] = value
        return tomlkit.dumps(data)

    parse_routine(document("x" * int(spec.maximum)))
    for length in (int(spec.minimum) - 1, int(spec.maximum) + 1):
        with pytest.raises(RoutineError):
            parse_routine(document("x" * length))
