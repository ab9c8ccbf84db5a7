"""Fuzzing the routine loader and compiler: any input compiles or is a located RoutineError.

Thousands of generated documents go through `parse_routine` + `compile_routine` (and raw
bytes through `load_routine`, which reads files): each one must either compile or raise
`RoutineError` whose every line reads ``FILE[:LINE[:COL]]: error: MESSAGE``. Any other
exception (a traceback for the user) fails. Numbers get their own fuzz: every numeric key
with tiny, huge, subnormal, non-finite and giant-integer values, and models built in code
with any float, each under a watchdog and with the size of the timeline bounded. The number
of inputs tried is reported in pytest's terminal summary (see ``fuzz_counts`` in
conftest.py).
"""

from __future__ import annotations

import collections
import datetime as dt
import math
import random
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from tests.conftest import watchdog
from voicecoach.errors import RoutineError
from voicecoach.model import Breathing, Exercise, Routine
from voicecoach.paths import shipped_routines
from voicecoach.routine import load_routine, parse_routine
from voicecoach.routine.keys import (
    BREATHING_KEYS,
    DEFAULT_KEYS,
    EXERCISE_KEYS,
    PROGRESSION_KEYS,
    ROUTINE_KEYS,
    VOICE_KEYS,
)
from voicecoach.timeline import MAX_ROUTINE_S, compile_routine

FILE = "fuzz.toml"
LINE = re.compile(r"^" + re.escape(FILE) + r"(:\d+(:\d+)?)?: error: .+$")
# C0 and C1 controls: a routine's text echoed raw in a message could drive the terminal
# (ESC sequences) or break the one-problem-per-line format (newlines).
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

# Documents use every key of the format (the *_KEYS of the table of keys), so they reach
# deep into the checks instead of stopping at "unknown key", and these words as values.
WORDS = (
    "hold",
    "reps",
    "timed",
    "none",
    "each",
    "alternate",
    "voice",
    "tone",
    "left",
    "right",
    "curl-up",
    "side-plank",
    "bird-dog",
    "front-plank",
    "dead-bug",
    "leg-drops",
    "pallof-press",
    "stir-the-pot",
    "farmer-carry",
    "gmw/en-us",
    "",
)


# --- A TOML writer of our own: every generated value must be expressible, including
# --- the odd ones (huge integers, nan, control characters, any key) that a library
# --- serializer might refuse or normalise away.


def toml_string(text: str) -> str:
    """A TOML basic string: escapes for quote, backslash and every control character."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


class Raw(str):
    """Text written into the document as is (a number too long for Python's int())."""


def toml_value(value: Any) -> str:
    """``value`` as an inline TOML value (tables inline, nesting kept)."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
        )
    return str(value)  # dates and times: their isoformat is TOML


def toml_table(header: str, table: dict[str, Any]) -> str:
    """A ``[header]`` (or ``[[header]]``) section with one ``key = value`` per line."""
    lines = [header] + [f"{toml_string(k)} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


# --- Strategies ------------------------------------------------------------------------

# Generation, not parsing, is what costs here: drawing every value through nested
# hypothesis strategies took about 15 ms per document (the parse, under 2 ms), and even
# hypothesis' own Random about 4 ms. So hypothesis draws a seed (reported with any
# failure, which makes it reproducible; the document is noted too) and this generator,
# which knows the format, builds the document from it in plain Python.

CHOICES = {
    "sides": ("none", "each", "alternate"),
    "breathing_sound": ("voice", "tone"),
    "use": ("curl-up", "side-plank", "bird-dog", "dead-bug", "stir-the-pot"),
}
UNICODE_SAMPLES = (
    "é",
    "ß",
    "日本",
    "\u200b",
    "\u202e",
    "😀",
    "\ufeff",
    "\x00",
    "\n",
    "\t",
    "\x7f",
    "\u0301",
    "\U0010ffff",
    "'",
    '"',
    "\\",
    "[",
    "]",
    "=",
    "#",
    " ",
)


class DocumentMaker:
    """Random routine documents: the format's keys, with plausible and absurd values."""

    def __init__(self, rnd: random.Random) -> None:
        self.r = rnd
        self.mess = 0.1
        self.plain = False

    def chance(self, p: float) -> bool:
        return self.r.random() < p

    def text(self, size: int = 12) -> str:
        length = self.r.randint(0, size)
        r = self.r
        if self.plain:
            return "".join(r.choice("abcdefgh ijkl") for _ in range(length)).strip() or "t"
        pieces = []
        for _ in range(length):
            pick = r.random()
            if pick < 0.5:
                pieces.append(chr(r.randint(0x20, 0x7E)))
            elif pick < 0.8:
                pieces.append(r.choice(UNICODE_SAMPLES))
            else:
                # Anywhere in Unicode but the surrogates, which a str in a file cannot hold.
                code = r.randint(0, 0x10FFFF)
                pieces.append(chr(code if not 0xD800 <= code <= 0xDFFF else 0xFFFD))
        return "".join(pieces)

    def scalar(self) -> Any:
        r = self.r
        pick = r.randint(0, 11)
        if pick <= 2:
            return r.randint(-5, 400)
        if pick == 3:
            return round(r.uniform(-1, 700), r.randint(0, 3))
        if pick == 4:
            return r.choice(WORDS)
        if pick == 5:
            return r.random() < 0.5
        if pick == 6:
            # Huge: past 64 bits, and sometimes thousands of digits (int() refuses > 4300).
            if self.chance(0.1):
                return Raw(r.choice(("", "-", "+")) + "9" * r.randint(4290, 4400))
            return r.choice((1, -1)) * r.getrandbits(r.choice((63, 64, 65, 200, 14000)))
        if pick == 7:
            return r.choice((math.inf, -math.inf, math.nan, 1e308, -0.0, 5e-324, 1e-9))
        if pick == 8:
            return dt.datetime(
                r.randint(1, 9999),
                r.randint(1, 12),
                r.randint(1, 28),
                r.randint(0, 23),
                r.randint(0, 59),
            )
        if pick == 9:
            return dt.date(r.randint(1, 9999), r.randint(1, 12), r.randint(1, 28))
        return self.text(r.choice((5, 40, 300)))

    def value(self, depth: int = 0) -> Any:
        if depth > 3 or self.chance(0.8):
            return self.scalar()
        if self.chance(0.5):
            return [self.value(depth + 1) for _ in range(self.r.randint(0, 3))]
        return {self.key(): self.value(depth + 1) for _ in range(self.r.randint(0, 3))}

    def key(self, keys: tuple[str, ...] = ()) -> str:
        """One of ``keys`` mostly; a stranger (random text) as often as the mess level says."""
        if keys and not self.chance(self.mess / 3):
            return self.r.choice(keys)
        return self.text(8)

    def table(self, keys: tuple[str, ...], size: int) -> dict[str, Any]:
        table: dict[str, Any] = {}
        for _ in range(self.r.randint(0, size)):
            key = self.key(keys)
            table[key] = self.special(key)
        return table

    def special(self, key: str) -> Any:
        """A value for ``key``: mostly one the key takes, sometimes anything at all."""
        r = self.r
        if self.chance(self.mess):
            return self.value()
        if key == "voice":
            return self.table(VOICE_KEYS, 3)
        if key == "breathing":
            return r.random() < 0.5 if self.chance(0.3) else self.table(BREATHING_KEYS, 2)
        if key == "progression":
            return self.table(PROGRESSION_KEYS, 3)
        if key == "reps":
            if self.chance(0.6):
                return r.randint(1, 12) if self.chance(0.9) else r.randint(-2, 120)
            return [r.randint(1, 10) for _ in range(r.choice((1, 2, 3, 21)))]
        if key == "kind":
            return r.choice(("hold", "reps", "timed"))
        if key in CHOICES and self.chance(0.9):
            return r.choice(CHOICES[key])
        if key in ("sides", "breathing_sound", "use"):
            return r.choice(WORDS)
        if key in ("title", "name", "notes"):
            return self.text(r.choice((10, 10, 120, 260)))
        if key == "side_labels":
            return [self.text(6) for _ in range(r.randint(0, 3))]
        if key == "cues":
            return [self.text(40) for _ in range(r.choice((0, 1, 2, 51)))]
        if key == "brace":
            return r.random() < 0.5
        if key == "rate":
            return r.randint(50, 500) if self.chance(0.8) else r.randint(-1, 600)
        if key in ("sets", "countdown", "after"):
            return r.randint(1, 10) if self.chance(0.8) else r.randint(-1, 600)
        if key == "volume":
            return round(r.uniform(0, 1), 2) if self.chance(0.8) else r.uniform(-1, 3)
        if key in ("inhale", "exhale"):
            return round(r.uniform(-0.5, 25), 1)
        # Seconds: hold, tempo, duration, rest, get_ready, between_reps, step, max...
        return r.randint(0, 20) if self.chance(0.7) else round(r.uniform(-1, 2000), 1)

    def exercise(self) -> dict[str, Any]:
        """An exercise table; a clean one has a name, a kind and its dose."""
        table = self.table(EXERCISE_KEYS, self.r.randint(0, 4))
        if self.chance(0.8):
            kind = self.r.choice(("hold", "reps", "timed"))
            dose = {"hold": ("hold", "reps"), "reps": ("reps",), "timed": ("duration",)}[kind]
            base = {"name": self.text(10), "kind": kind}
            base.update({k: self.special(k) for k in dose})
            table = {**base, **table} if self.chance(0.5) else {**table, **base}
        return table

    def document(self) -> str:
        """A routine document: sections present or not, as tables or inline, any order."""
        r = self.r
        # How often a value is anything at all rather than the kind the key takes.
        self.mess = r.choice((0.0, 0.02, 0.1, 0.4))
        self.plain = self.chance(0.5)
        parts: list[str] = []
        exercises = [self.exercise() for _ in range(r.randint(0, 3))]
        if exercises and self.chance(0.2):
            # The inline array form the loader also accepts (before any [table] header).
            parts.append(f"exercise = {toml_value(exercises)}\n")
            exercises = []
        if self.chance(0.9):
            routine = self.table(ROUTINE_KEYS, 3)
            if self.chance(0.9):
                routine.setdefault("title", self.text(20) or "t")
            parts.append(
                toml_table("[routine]", routine)
                if self.chance(0.8)
                else f"routine = {toml_value(routine)}\n"
            )
        if self.chance(0.5):
            parts.append(toml_table("[defaults]", self.table(DEFAULT_KEYS, 4)))
        parts.extend(toml_table("[[exercise]]", ex) for ex in exercises)
        if self.chance(self.mess / 2):
            header = self.text(8) if self.chance(0.5) else r.choice(("routine", "defaults"))
            parts.append(toml_table(f"[{toml_string(header)}]", self.table((), 2)))
        if self.chance(self.mess):
            r.shuffle(parts)
        return "\n".join(parts)


def make_document(seed: int) -> str:
    """The document of ``seed``."""
    return DocumentMaker(random.Random(seed)).document()


documents = st.integers(0, 2**64 - 1).map(make_document)


def _deep(depth: int, kind: int) -> str:
    if kind == 0:
        return "x = " + "[" * depth + "]" * depth + "\n"
    if kind == 1:
        return "x = " + "{a = " * depth + "1" + "}" * depth + "\n"
    if kind == 2:
        return "[" + ".".join(["a"] * depth) + "]\n"
    return "[routine]\ntitle = " + "[" * depth + '"t"' + "]" * depth + "\n"


deep_documents = st.builds(_deep, st.integers(1, 3000), st.integers(0, 3))

_SEEDS = [p.read_text(encoding="utf-8") for p in shipped_routines().values()]


@st.composite
def mutated_seeds(draw: st.DrawFn) -> bytes:
    """A shipped routine with a few random byte edits (insert, delete, replace)."""
    data = bytearray(draw(st.sampled_from(_SEEDS)).encode("utf-8"))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        edit = draw(st.integers(0, 2))
        chunk = draw(st.binary(min_size=1, max_size=8))
        if edit == 0:
            data[at:at] = chunk
        elif edit == 1:
            del data[at : at + len(chunk)]
        else:
            data[at : at + len(chunk)] = chunk
    return bytes(data)


raw_bytes = st.one_of(st.binary(max_size=300), mutated_seeds())


# --- The property ------------------------------------------------------------------------


def check_outcome(run: Any) -> str:
    """Run ``run()``; it must compile or raise a RoutineError whose lines are all located."""
    try:
        compile_routine(run(), file=FILE)
    except RoutineError as error:
        lines = str(error).split("\n")
        bad = [line for line in lines if not LINE.match(line)]
        assert not bad, f"badly formed problem lines: {bad!r}"
        raw = [line for line in lines if CONTROL.search(line)]
        assert not raw, f"control characters printed raw: {raw!r}"
        assert error.problems, "a RoutineError with no problems"
        return "error"
    return "compiled"


@pytest.fixture(scope="module")
def byte_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def fuzz_settings(examples: int) -> settings:
    """No deadline (a slow CI machine is not a bug), no example database in the repo."""
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@fuzz_settings(3000)
@given(text=documents)
def test_any_structured_document_compiles_or_is_a_located_routine_error(text, fuzz_counts):
    note(f"document: {text!r}")
    outcome = check_outcome(lambda: parse_routine(text, FILE))
    fuzz_counts["structured"] += 1
    fuzz_counts[f"structured {outcome}"] += 1


@fuzz_settings(200)
@given(text=st.one_of(deep_documents, st.text(max_size=200)))
def test_deep_nesting_and_random_unicode_give_a_routine_error_not_a_crash(text, fuzz_counts):
    check_outcome(lambda: parse_routine(text, FILE))
    fuzz_counts["unicode and nesting"] += 1


@fuzz_settings(1000)
@given(data=raw_bytes)
def test_any_bytes_in_a_file_compile_or_are_a_located_routine_error(data, byte_dir, fuzz_counts):
    path = byte_dir / FILE
    path.write_bytes(data)
    outcome = check_outcome(lambda: load_routine(path, display_name=FILE))
    fuzz_counts["bytes"] += 1
    fuzz_counts[f"bytes {outcome}"] += 1


def test_the_generator_makes_valid_routines_as_well_as_broken_ones():
    # A fuzzer that only ever produced syntax errors would prove little: the documents
    # must reach the compiler too.
    outcomes = collections.Counter()
    for seed in range(300):
        text = make_document(seed)
        try:
            compile_routine(parse_routine(text, FILE), file=FILE)
            outcomes["compiled"] += 1
        except RoutineError:
            outcomes["error"] += 1
    assert outcomes["compiled"] >= 5, outcomes
    assert outcomes["error"] >= 100, outcomes


# --- Numbers: every numeric key, every kind of number ---------------------------------------
#
# A breathing cadence of 1e-9 s once hung every command (the compiler's breathing loop
# never reached the end of the hold; 5e-324 did not even move the clock). Here each
# numeric key of the format gets tiny, huge, subnormal, negative-zero, non-finite and
# giant-integer values, written as TOML literals. The outcome is a RoutineError whose
# every problem says something, or a timeline whose size the four-hour limit bounds; a
# watchdog turns a hang into a failure.

# The loader's floors (a second for every span) bound a four-hour timeline: at most one
# segment a second, and per second at most a few cues (start, count, stop, a breath,
# two countdown cues). Generous, but finite.
MAX_SEGMENTS = int(MAX_ROUTINE_S) + 2
MAX_TIMELINE_CUES = 8 * int(MAX_ROUTINE_S)

HOSTILE_NUMBERS = (
    "1e-9",
    "5e-324",
    "2.2250738585072014e-308",
    "1e-320",
    "-0.0",
    "0",
    "0.0",
    "-0",
    "nan",
    "-nan",
    "+nan",
    "inf",
    "+inf",
    "-inf",
    "1e308",
    "-1e308",
    "1.7976931348623157e308",
    str(2**63),
    str(-(2**63) - 1),
    str(2**64),
    "1" + "0" * 400,
    "-" + "9" * 500,
    "0.1",
    "0.5",
    "0.999999999",
    "1",
    "1.0",
    "1.0000001",
    "2",
    "3",
    "10",
    "20",
    "20.000001",
    "21",
    "50",
    "100",
    "101",
    "300",
    "301",
    "500",
    "501",
    "600",
    "600.5",
    "1800",
    "1801",
    "-1",
    "1_000",
    "1e3",
    "0x10",
    "0o7",
    "0b1",
)


def toml_number(x: float) -> str:
    """A float as a TOML literal (repr gives 5e-324, 1e+16, -0.0; TOML spells nan/inf)."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return repr(x)


numbers = st.one_of(
    # Plausible values first (hypothesis leans to the first branch), so that many
    # documents reach the compiler; then the hostile ones.
    st.integers(1, 12).map(str),
    st.floats(1, 20).map(lambda x: repr(round(x, 2))),
    # Tiny positives: the class that hung the compiler (and rounds spans to nothing).
    st.sampled_from(("1e-9", "5e-324", "1e-300", "1e-7", "0.0000004")),
    st.floats(0, 1, exclude_min=True, allow_subnormal=True).map(toml_number),
    st.sampled_from(HOSTILE_NUMBERS),
    st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True).map(toml_number),
    st.integers(-(2**70), 2**70).map(str),
)

DEFAULTS_NUMERIC = (
    "rest",
    "get_ready",
    "between_reps",
    "switch_sides",
    "countdown",
    "breathing.inhale",
    "breathing.exhale",
)
VOICE_NUMERIC = ("rate", "volume")
EXERCISE_NUMERIC = (
    "hold",
    "reps",
    "sets",
    "tempo",
    "duration",
    *DEFAULTS_NUMERIC,
    "progression.step",
    "progression.max",
    "progression.after",
    "reps[1]",
)
# One exercise of each kind, valid as written: the drawn numbers replace or add keys.
BASE_EXERCISES = (
    {"name": '"Plank"', "kind": '"hold"', "hold": "10", "reps": "2", "sides": '"each"'},
    {"name": '"Bug"', "kind": '"reps"', "reps": "3", "sides": '"alternate"'},
    {"name": '"Carry"', "kind": '"timed"', "duration": "20"},
)


# Every place a number can go: (table, key); the tables are "voice", "defaults" and the
# index of an exercise in BASE_EXERCISES.
NUMERIC_SLOTS: tuple[tuple[str | int, str], ...] = (
    *(("voice", k) for k in VOICE_NUMERIC),
    *(("defaults", k) for k in DEFAULTS_NUMERIC),
    *((i, k) for i in range(len(BASE_EXERCISES)) for k in EXERCISE_NUMERIC),
)


@st.composite
def numeric_documents(draw: st.DrawFn) -> str:
    """A valid routine with hostile numbers in one to three of its numeric keys."""
    slots = draw(st.lists(st.sampled_from(NUMERIC_SLOTS), min_size=1, max_size=3, unique=True))
    chosen: dict[str | int, dict[str, str]] = collections.defaultdict(dict)
    for table, key in slots:
        chosen[table][key] = draw(numbers)
    lines = ["[routine]", 'title = "Fuzz"']
    if chosen["voice"]:
        pairs = ", ".join(f"{k} = {v}" for k, v in chosen["voice"].items())
        lines.append(f"voice = {{ {pairs} }}")
    lines.append("[defaults]")
    lines += [f"{k} = {v}" for k, v in chosen["defaults"].items()]
    for index, base in enumerate(BASE_EXERCISES):
        table = dict(base)
        for key, value in chosen[index].items():
            if key == "reps[1]":
                table["reps"] = f"[2, {value}]"
            else:
                table[key] = value
        lines.append("[[exercise]]")
        lines += [f"{k} = {v}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def check_bounded(run: Any) -> str:
    """Like check_outcome, under a watchdog, and a compiled timeline must be bounded."""
    with watchdog(20):
        try:
            timeline = compile_routine(run(), file=FILE)
        except RoutineError as error:
            assert error.problems, "a RoutineError with no problems"
            assert all(p.message.strip() for p in error.problems), error.problems
            assert all(LINE.match(line) for line in str(error).split("\n")), str(error)
            return "error"
    assert timeline.duration <= MAX_ROUTINE_S
    assert len(timeline.segments) <= MAX_SEGMENTS
    assert len(timeline.cues) <= MAX_TIMELINE_CUES
    assert all(s.end > s.start for s in timeline.segments)
    return "compiled"


@fuzz_settings(200)
@given(text=numeric_documents())
def test_any_number_in_any_numeric_key_is_refused_cleanly_or_compiles_bounded(text, fuzz_counts):
    note(f"document: {text!r}")
    outcome = check_bounded(lambda: parse_routine(text, FILE))
    fuzz_counts["numbers"] += 1
    fuzz_counts[f"numbers {outcome}"] += 1


def test_the_number_documents_reach_the_compiler():
    # Hostile numbers must not make every document an error: some compile, and the
    # bounds of the timeline are checked on them. Derandomized: the same 100 each run.
    outcomes: collections.Counter[str] = collections.Counter()

    @settings(max_examples=100, deadline=None, database=None, derandomize=True)
    @given(text=numeric_documents())
    def run(text: str) -> None:
        outcomes[check_bounded(lambda: parse_routine(text, FILE))] += 1

    run()
    assert outcomes["compiled"] >= 10, outcomes
    assert outcomes["error"] >= 30, outcomes


# Values a model may hold first, so that a model often compiles; then anything.
any_floats = st.one_of(
    st.floats(1, 60),
    st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True),
    st.sampled_from([1e-9, 5e-324, -0.0, 0.0, 0.05, 0.1, 0.99, 1.0, 20.0, 1e308]),
)
any_ints = st.one_of(st.integers(1, 6), st.integers(-(2**64), 2**64))


@st.composite
def hostile_models(draw: st.DrawFn) -> Routine:
    """Routines built in code, past the loader: any float in any field of seconds."""

    def seconds(usual: float) -> float:
        return draw(st.one_of(st.just(usual), any_floats))

    kind = draw(st.sampled_from(["hold", "reps", "timed"]))
    sets = draw(st.sampled_from([1, 2, 3, 0, 21]))
    breathing = draw(st.one_of(st.none(), st.builds(Breathing, any_floats, any_floats)))
    exercise = Exercise(
        0,
        "Ex",
        kind,
        tuple(draw(any_ints) for _ in range(sets)),
        hold=seconds(10),
        tempo=seconds(3),
        duration=seconds(30),
        sides=draw(st.sampled_from(["none", "each", "alternate"])),
        rest=seconds(30),
        get_ready=seconds(5),
        between_reps=seconds(3),
        switch_sides=seconds(5),
        breathing=breathing,
        countdown=draw(st.one_of(st.integers(0, 10), any_ints)),
    )
    return Routine("Model", (exercise,))


def test_a_breath_phase_of_ten_to_the_fifteen_seconds_compiles_bounded():
    # Found by the fuzzer below in CI: the search for a hold that ends breathing out
    # tried every half-second delay up to one whole phase, 10^16 of them.
    exercise = Exercise(
        0, "Ex", "timed", (1,), duration=1.0, breathing=Breathing(1.0, 7018224965114018.0)
    )
    assert check_bounded(lambda: Routine("Model", (exercise,))) == "compiled"


@fuzz_settings(200)
@given(routine=hostile_models())
def test_compiling_any_model_is_refused_cleanly_or_bounded(routine, fuzz_counts):
    outcome = check_bounded(lambda: routine)
    fuzz_counts["models"] += 1
    fuzz_counts[f"models {outcome}"] += 1
