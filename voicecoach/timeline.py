"""The timeline: segments and cues compiled from a routine; the compiler-player contract."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

from voicecoach.errors import Problem, RoutineError
from voicecoach.model import (
    COUNTDOWN,
    KINDS,
    MAX_SETS,
    REPS_PER_SET,
    SIDES,
    Exercise,
    Routine,
)
from voicecoach.phrases import countdown_text
from voicecoach.wording import hours_minutes_text

SCHEMA_VERSION = 1

Phase = Literal["intro", "get_ready", "work", "relax", "switch", "rest", "outro"]
PHASES: tuple[Phase, ...] = ("intro", "get_ready", "work", "relax", "switch", "rest", "outro")

# Speech cues that may be dropped (or replaced by a tone) when they cannot fit inside
# work: the clock of a hold never waits for the voice.
LOW_PRIORITY_ROLES = frozenset({"breathe", "count", "halfway", "remaining"})
# Tone to play instead of a low-priority speech cue that does not fit (None: drop it).
FALLBACK_TONES: dict[str, str | None] = {
    "breathe": None,  # set per cue from its text: "inhale" or "exhale"
    "count": "tick",
    "halfway": None,
    "remaining": None,
}
TONES = ("start", "stop", "tick", "inhale", "exhale", "done")


@dataclass(frozen=True, slots=True)
class Segment:
    """A span of the session, ``start`` to ``end`` in seconds, in one phase.

    ``exercise`` is the 0-based index in the routine file; ``set`` and ``rep`` are
    1-based; ``side`` is a side label or ``None``.
    """

    start: float
    end: float
    phase: Phase
    exercise: int | None = None
    name: str | None = None
    set: int | None = None
    rep: int | None = None
    side: str | None = None

    @property
    def seconds(self) -> float:
        """Length of the segment in seconds."""
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Cue:
    """Something heard at ``at`` seconds: speech (``text``) or an earcon (``tone``), never both."""

    at: float
    role: str
    text: str | None = None
    tone: str | None = None
    exercise: int | None = None

    @property
    def kind(self) -> Literal["speech", "tone"]:
        """``"speech"`` for a spoken cue, ``"tone"`` for an earcon."""
        return "speech" if self.text is not None else "tone"


@dataclass(frozen=True, slots=True)
class Timeline:
    """A compiled session: contiguous sorted segments covering [0, duration], sorted cues."""

    title: str
    duration: float
    segments: tuple[Segment, ...]
    cues: tuple[Cue, ...]

    def to_json_dict(self) -> dict[str, Any]:
        """The timeline as the JSON document of schema version 1."""
        return {
            "version": SCHEMA_VERSION,
            "title": self.title,
            "duration": self.duration,
            "segments": [asdict(s) for s in self.segments],
            "cues": [asdict(c) for c in self.cues],
        }

    def phrases(self) -> list[str]:
        """Every distinct spoken text, in order of first use (what speech must synthesize)."""
        return list(dict.fromkeys(c.text for c in self.cues if c.text is not None))


# --- The compiler -----------------------------------------------------------------------

# Speaking-rate estimate used to size lead-ins: about 160 words a minute plus a short
# onset, a little slower than espeak-ng's default so that speech fits at a normal rate.
SECONDS_PER_WORD = 0.38
SPEECH_ONSET_S = 0.25
PHRASE_GAP_S = 0.3
LEAD_IN_MARGIN_S = 0.3
MAX_ROUTINE_S = 4 * 3600.0
# The shortest span (work, pause, breath) the compiler builds: 4 hours of them are at most
# 144,000 segments or breaths. The loader's floor is a second (model.py).
MIN_SPAN_S = 0.1
# Breathing cues stop this long before the end of the work.
BREATHE_TAIL_S = 1.0
# The first breath cue of a work segment: after the count, if there is one.
FIRST_BREATH_S = 0.5
FIRST_BREATH_AFTER_COUNT_S = 1.5
# To end a hold breathing out, the first breath may come later, in these steps.
BREATH_DELAY_STEP_S = 0.5
# How long a breathing tone (plus its gap) keeps the voice waiting.
TONE_BREATH_S = 0.55
# The done tone rings this long before the last words (it lasts 600 ms).
DONE_SPEECH_AFTER_S = 0.8
REMAINING_AT_S = 10.0
TIMED_MILESTONES_MIN_S = 20.0

BRACE_TEXT = "Brace: pull your belly in, squeeze your sides and low back, and keep breathing."
INTRO_TEXT = "Neutral spine, brace before every set, keep breathing. Stop before pain."


def estimate_speech_seconds(text: str) -> float:
    """Rough seconds needed to speak ``text`` at a normal rate (used to size lead-ins)."""
    return SPEECH_ONSET_S + SECONDS_PER_WORD * max(1, len(text.split()))


def _t(x: float) -> float:
    # Boundaries are rounded to the microsecond so JSON stays readable; every segment
    # starts at the very float its predecessor ended on, so contiguity is exact.
    return round(x, 6)


def _minutes_phrase(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return f"about {minutes} minute{'s' if minutes != 1 else ''}"


def _seconds_phrase(seconds: float) -> str:
    value = int(seconds) if float(seconds).is_integer() else round(seconds, 1)
    return f"{value} second{'s' if value != 1 else ''}"


class _Builder:
    """Accumulates segments and cues while walking the routine (internal to the compiler)."""

    def __init__(self) -> None:
        self.t = 0.0
        self.segments: list[Segment] = []
        self.cues: list[Cue] = []

    def segment(self, seconds: float, phase: Phase, **where: Any) -> Segment:
        start = self.t
        self.t = _t(start + seconds)
        seg = Segment(start, self.t, phase, **where)
        self.segments.append(seg)
        return seg

    def cue(
        self,
        at: float,
        role: str,
        *,
        text: str | None = None,
        tone: str | None = None,
        exercise: int | None = None,
    ) -> None:
        self.cues.append(Cue(_t(at), role, text, tone, exercise))

    def speak_sequence(
        self, start: float, lines: list[tuple[str, str]], exercise: int | None
    ) -> float:
        """Place lines one after another from ``start``; return when the last one ends."""
        t = start
        for role, text in lines:
            self.cue(t, role, text=text, exercise=exercise)
            t += estimate_speech_seconds(text) + PHRASE_GAP_S
        return t


def _lead_in_seconds(lines: list[tuple[str, str]], countdown: int, minimum: float) -> float:
    speech = sum(estimate_speech_seconds(text) + PHRASE_GAP_S for _, text in lines)
    needed = LEAD_IN_MARGIN_S + speech + countdown
    # Half-second steps keep the cue sheet readable.
    return max(minimum, math.ceil(needed * 2) / 2)


def _work_order(ex: Exercise, reps: int) -> list[list[tuple[int | None, str | None]]]:
    """The (rep, side) pairs of one set, grouped into runs separated by a side switch."""
    sides = ex.side_names
    if ex.kind == "timed":
        return [[(None, side)] for side in sides]
    if ex.sides == "alternate":
        return [[(rep, side) for rep in range(1, reps + 1) for side in sides]]
    return [[(rep, side) for rep in range(1, reps + 1)] for side in sides]


def _side_words(side: str) -> str:
    """How a side is named in a sentence: "the right side", or a label as written."""
    return f"the {side} side" if side.casefold() in ("left", "right") else side


def _side_first(side: str) -> str:
    """``"Left side"`` for left and right, the label as written ("Clockwise") otherwise."""
    words = f"{side} side" if side.casefold() in ("left", "right") else side
    return words[:1].upper() + words[1:]


def _set_lines(ex: Exercise, set_no: int, next_side: str | None) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    if set_no == 1 and ex.adjustment:
        lines.append(("adjust", ex.adjustment))
    # "Set 1 of 1" says nothing: a one-set exercise is announced by its name alone.
    text = f"{ex.name}." if ex.sets == 1 else f"{ex.name}. Set {set_no} of {ex.sets}."
    if ex.sides == "alternate" and ex.kind != "timed":
        text += f" Alternate sides, {next_side} first."
    elif next_side is not None:
        text += f" {_side_first(next_side)} first."
    lines.append(("announce", text))
    if set_no == 1:
        lines.extend(("cue", c) for c in ex.cues)
    if ex.brace:
        lines.append(("brace", BRACE_TEXT))
    return lines


def _count_text(ex: Exercise, set_no: int, rep: int | None, side: str | None, first: bool) -> str:
    """What is said as a rep starts, or "" for nothing.

    Never a bare number right after the countdown's "1" (the first rep of a run says
    "Rep 1."), and never the same bare number twice: alternating sides name the rep once
    per pair ("Rep 2, left." then "Right.").
    """
    if ex.kind == "timed" or rep is None:
        return ""
    if ex.kind == "hold" and ex.reps[set_no - 1] == 1 and ex.sides != "alternate":
        return ""
    if ex.sides == "alternate" and side is not None:
        if side == ex.side_names[0]:
            return f"Rep {rep}, {side}."
        return f"{side[:1].upper()}{side[1:]}."
    if ex.kind == "hold" or first:
        return f"Rep {rep}."
    return str(rep)


def _countdown(b: _Builder, work_start: float, n: int, exercise: int) -> None:
    for k in range(n, 0, -1):
        at = work_start - k
        b.cue(at, "countdown", tone="tick", exercise=exercise)
        b.cue(at, "countdown", text=countdown_text(k), exercise=exercise)


def _work(
    b: _Builder, ex: Exercise, set_no: int, rep: int | None, side: str | None, first: bool
) -> None:
    seconds = {"hold": ex.hold, "reps": ex.tempo, "timed": ex.duration}[ex.kind]
    assert seconds is not None  # the loader guarantees the kind's key
    seg = b.segment(
        seconds, "work", exercise=ex.index, name=ex.name, set=set_no, rep=rep, side=side
    )
    i = ex.index
    b.cue(seg.start, "start", tone="start", exercise=i)
    count = _count_text(ex, set_no, rep, side, first)
    if count:
        b.cue(seg.start, "count", text=count, exercise=i)
    breaths: list[tuple[float, bool]] = []
    if ex.breathing is not None and ex.kind != "reps":
        # The first breath comes after the count so the two do not talk over each other.
        first_at = seg.start + (FIRST_BREATH_AFTER_COUNT_S if count else FIRST_BREATH_S)
        breaths = _breaths(first_at, seg.end, ex.breathing.inhale, ex.breathing.exhale)
        for at, inhale in breaths:
            if ex.breathing_sound == "tone":
                b.cue(at, "breathe", tone="inhale" if inhale else "exhale", exercise=i)
            else:
                b.cue(at, "breathe", text=_breath_text(inhale), exercise=i)
    if ex.kind == "timed" and seconds >= TIMED_MILESTONES_MIN_S:
        _milestones(b, ex, seg, breaths)
    b.cue(seg.end, "stop", tone="stop", exercise=i)


def _breath_text(inhale: bool) -> str:
    return "Breathe in." if inhale else "Breathe out."


def _breath_run(
    at: float, inhale: bool, last: float, inhale_s: float, exhale_s: float
) -> list[tuple[float, bool]]:
    """Alternating breath cues from ``at`` while before ``last``."""
    # Bounded by construction: the number of breaths that fit comes from the length of
    # the work and the shorter phase (at least MIN_SPAN_S: _check_model), so even a
    # cadence too small to move the float along could not keep this loop going.
    cues: list[tuple[float, bool]] = []
    for _ in range(max(0, math.ceil((last - at) / min(inhale_s, exhale_s)) + 1)):
        if at >= last:
            break
        cues.append((at, inhale))
        at += inhale_s if inhale else exhale_s
        inhale = not inhale
    return cues


def _breaths(
    first_at: float, end: float, inhale_s: float, exhale_s: float
) -> list[tuple[float, bool]]:
    """The breath cues of one work segment: (time, inhale?), alternating in and out.

    Cues stop `BREATHE_TAIL_S` before the end. Where it can, the run is arranged so that
    the work ends while breathing out, on a spoken "Breathe out." (a hold that ends
    mid-inhale invites holding the breath at the very moment to let go): it may start
    with an exhale, or a little later, whichever delays the first breath least.
    """
    last = end - BREATHE_TAIL_S
    # Up to one phase later, and never past the work itself: a phase of 10^15 s (a model
    # built in code) must not make this search run for ever.
    latest = min(max(inhale_s, exhale_s), max(0.0, last - first_at))
    steps = math.floor(latest / BREATH_DELAY_STEP_S)
    for step in range(steps + 1):
        for inhale_first in (True, False):
            run = _breath_run(
                first_at + step * BREATH_DELAY_STEP_S, inhale_first, last, inhale_s, exhale_s
            )
            if run and not run[-1][1] and run[-1][0] + exhale_s >= end - 1e-9:
                return run
    return _breath_run(first_at, True, last, inhale_s, exhale_s)


def _milestones(b: _Builder, ex: Exercise, seg: Segment, breaths: list[tuple[float, bool]]) -> None:
    """ "Halfway." and "N seconds left." in a long timed bout, never in place of a breath.

    Without breathing cues they sound at half time and `REMAINING_AT_S` before the end.
    With them, each goes into the gap after a breath cue nearest its time, so the
    breathing keeps alternating in and out whatever else is said; if no gap is wide
    enough, the milestone is left out (the breathing matters more; the display shows
    the time).
    """
    i = ex.index
    halfway_at = seg.start + seg.seconds / 2
    remaining_at = seg.end - REMAINING_AT_S
    if not breaths:
        b.cue(halfway_at, "halfway", text="Halfway.", exercise=i)
        b.cue(remaining_at, "remaining", text=_remaining_text(REMAINING_AT_S), exercise=i)
        return
    tone = ex.breathing_sound == "tone"
    ends = [at for at, _ in breaths[1:]] + [seg.end - PHRASE_GAP_S]
    gaps = [
        (at + (TONE_BREATH_S if tone else estimate_speech_seconds(_breath_text(inh))), nxt)
        for (at, inh), nxt in zip(breaths, ends, strict=True)
    ]
    used: set[int] = set()
    for target, role in ((halfway_at, "halfway"), (remaining_at, "remaining")):
        best: tuple[float, int, float, str] | None = None
        for k, (free, nxt) in enumerate(gaps):
            slot = free + PHRASE_GAP_S
            text = "Halfway." if role == "halfway" else _remaining_text(seg.end - slot)
            if k in used or slot + estimate_speech_seconds(text) + PHRASE_GAP_S > nxt:
                continue
            if best is None or abs(slot - target) < best[0]:
                best = (abs(slot - target), k, slot, text)
        if best is not None:
            _, k, slot, text = best
            used.add(k)
            b.cue(slot, role, text=text, exercise=i)


def _remaining_text(seconds: float) -> str:
    return f"{_seconds_phrase(max(1, round(seconds)))} left."


def _lead_in(
    b: _Builder,
    phase: Phase,
    lines: list[tuple[str, str]],
    minimum: float,
    countdown: int,
    ex: Exercise,
    set_no: int,
    side: str | None,
    rep: int | None = None,
) -> None:
    seconds = _lead_in_seconds(lines, countdown, minimum)
    seg = b.segment(seconds, phase, exercise=ex.index, name=ex.name, set=set_no, rep=rep, side=side)
    b.speak_sequence(seg.start + LEAD_IN_MARGIN_S, lines, ex.index)
    _countdown(b, seg.end, countdown, ex.index)


def _set(b: _Builder, ex: Exercise, set_no: int) -> None:
    runs = _work_order(ex, ex.reps[set_no - 1])
    first_rep, first_side = runs[0][0]
    _lead_in(
        b,
        "get_ready",
        _set_lines(ex, set_no, first_side),
        ex.get_ready,
        ex.countdown,
        ex,
        set_no,
        first_side,
        first_rep,
    )
    for r, run in enumerate(runs):
        if r > 0 and ex.switch_sides > 0:
            rep, side = run[0]
            line = [("switch", f"Switch to {_side_words(str(side))}.")]
            countdown = (
                ex.countdown if ex.switch_sides >= _lead_in_seconds(line, ex.countdown, 0) else 0
            )
            _lead_in(b, "switch", line, ex.switch_sides, countdown, ex, set_no, side, rep)
        for k, (rep, side) in enumerate(run):
            if k > 0 and ex.between_reps > 0:
                nxt = f" {_side_first(str(side))} next." if ex.sides == "alternate" else ""
                seg = b.segment(
                    ex.between_reps,
                    "relax",
                    exercise=ex.index,
                    name=ex.name,
                    set=set_no,
                    rep=rep,
                    side=side,
                )
                b.cue(seg.start, "relax", text=f"Relax.{nxt}", exercise=ex.index)
            _work(b, ex, set_no, rep, side, first=k == 0)


def _rest(b: _Builder, ex: Exercise, following: tuple[Exercise, int]) -> None:
    nxt, nxt_set = following
    seg = b.segment(ex.rest, "rest", exercise=ex.index, name=ex.name)
    lines = [
        ("rest", f"Rest {_seconds_phrase(ex.rest)}. Release the brace and breathe easily."),
        ("next", f"Next: {nxt.name}." if nxt.sets == 1 else f"Next: {nxt.name}, set {nxt_set}."),
    ]
    b.speak_sequence(seg.start + LEAD_IN_MARGIN_S, lines, ex.index)


# Beyond this a length is only a typo's size; huge spans may even sum to infinity.
_SHOWN_MAX_S = 100 * 3600.0


def _too_long(seconds: float, file: str, *, at_least: bool = False) -> None:
    if not seconds <= _SHOWN_MAX_S:
        length = f"more than {_SHOWN_MAX_S / 3600:.0f} hours"
    else:
        length = ("at least " if at_least else "") + hours_minutes_text(seconds)
    raise RoutineError(
        [
            Problem(
                file,
                None,
                None,
                f"the routine would last {length}; at most "
                f"{MAX_ROUTINE_S / 3600:.0f} hours is allowed "
                "(check hold, reps, sets and rest)",
            )
        ]
    )


def _check_length(routine: Routine, file: str) -> None:
    """Refuse an over-long routine from a cheap lower bound, before building anything.

    A typo such as ``hold = 300`` with 100 reps in 20 sets must never allocate millions
    of segments first. The bound counts each set's lead-in (its speech and countdown,
    as _lead_in would size it), work, relaxing, side switches and rest; it is checked
    after every set, so a model with a million sets stops at the first four hours.
    """
    seconds = 0.0
    rest_before = 0.0  # the previous set's rest: there is none after the last set
    for ex in routine.exercises:
        per_rep = {"hold": ex.hold, "reps": ex.tempo, "timed": ex.duration}[ex.kind] or 0.0
        sides = ex.side_names
        for set_no, reps in enumerate(ex.reps, start=1):
            bouts = 1 if ex.kind == "timed" else reps
            lines = _set_lines(ex, set_no, sides[0])
            seconds += rest_before + _lead_in_seconds(lines, ex.countdown, ex.get_ready)
            seconds += bouts * len(sides) * per_rep
            if ex.kind != "timed":
                seconds += (bouts - 1) * len(sides) * ex.between_reps
            seconds += (len(sides) - 1) * ex.switch_sides
            rest_before = ex.rest
            if seconds > MAX_ROUTINE_S:
                _too_long(seconds, file, at_least=True)


def _check_model(routine: Routine, file: str) -> None:
    """Refuse a model the compiler cannot build in bounded work, whoever built it.

    The loader never makes one; a model built in code (or by a future adaptation rule)
    could, and a breathing cadence of 1e-9 s would cue breaths without end (5e-324 never
    even moves the clock). Sets, reps and the countdown must be within the model's ranges
    (model.py). Seconds need only be finite and at least MIN_SPAN_S, looser than the
    loader's floor of a second, which is for people: tests drive the scheduler with
    sub-second cadences. With every span that long, the four-hour limit bounds the
    segments and cues.
    """

    def refuse(ex: Exercise, what: str, value: object, allowed: str) -> RoutineError:
        return RoutineError(
            [
                Problem(
                    file,
                    None,
                    None,
                    f"exercise {ex.index + 1} ({ex.name}): {what} is {value!r}; the compiler needs "
                    f"{allowed} (a model the loader would not make)",
                )
            ]
        )

    def number(value: object, lo: float, hi: float = math.inf, *, whole: bool = False) -> bool:
        if isinstance(value, bool) or not isinstance(value, int if whole else int | float):
            return False
        return math.isfinite(value) and lo <= value <= hi

    for ex in routine.exercises:
        if ex.kind not in KINDS or ex.sides not in SIDES:
            raise refuse(ex, "the kind and sides", (ex.kind, ex.sides), f"{KINDS}, {SIDES}")
        # The count first: a million sets must be refused, not walked through.
        if not 1 <= len(ex.reps) <= MAX_SETS:
            raise refuse(ex, "the number of sets", len(ex.reps), f"1 to {MAX_SETS}")
        if not all(number(n, *REPS_PER_SET, whole=True) for n in ex.reps):
            raise refuse(
                ex, "reps", ex.reps, f"whole numbers from {REPS_PER_SET[0]} to {REPS_PER_SET[1]}"
            )
        work_key = {"hold": "hold", "reps": "tempo", "timed": "duration"}[ex.kind]
        seconds = f"a number of seconds of at least {MIN_SPAN_S}"
        if not number(getattr(ex, work_key), MIN_SPAN_S):
            raise refuse(ex, work_key, getattr(ex, work_key), seconds)
        for key in ("rest", "get_ready", "between_reps", "switch_sides"):
            pause = getattr(ex, key)
            if not (number(pause, MIN_SPAN_S) or number(pause, 0, 0)):
                raise refuse(ex, key, pause, f"0, or {seconds}")
        for key in ("inhale", "exhale"):
            breath = getattr(ex.breathing, key, MIN_SPAN_S)
            if not number(breath, MIN_SPAN_S):
                raise refuse(ex, f"breathing.{key}", breath, seconds)
        if not number(ex.countdown, *COUNTDOWN, whole=True):
            raise refuse(
                ex,
                "countdown",
                ex.countdown,
                f"a whole number from {COUNTDOWN[0]} to {COUNTDOWN[1]}",
            )


def compile_routine(routine: Routine, *, file: str = "<routine>") -> Timeline:
    """Compile a validated routine into its timeline of segments and cues.

    Deterministic and pure. Raises `RoutineError` (naming ``file``) when the session
    would last longer than four hours, or when a value is outside the model's ranges
    (a model built in code rather than by the loader), before building anything.
    """
    _check_model(routine, file)
    _check_length(routine, file)
    b = _Builder()
    planned = [(ex, s) for ex in routine.exercises for s in range(1, ex.sets + 1)]
    intro = [("intro", f"{routine.title}."), ("intro", INTRO_TEXT)]
    intro_seg = b.segment(_lead_in_seconds(intro, 0, 0), "intro")
    # The first words come at once: a player should sound the moment it starts.
    b.speak_sequence(intro_seg.start, intro, None)
    for k, (ex, set_no) in enumerate(planned):
        _set(b, ex, set_no)
        if k + 1 < len(planned) and ex.rest > 0:
            _rest(b, ex, planned[k + 1])
    outro_seg = b.segment(
        _lead_in_seconds([("done", DONE_TEXT)], 0, 0) + DONE_SPEECH_AFTER_S, "outro"
    )
    b.cue(outro_seg.start, "done", tone="done")
    b.speak_sequence(outro_seg.start + DONE_SPEECH_AFTER_S, [("done", DONE_TEXT)], None)
    if b.t > MAX_ROUTINE_S:
        _too_long(b.t, file)
    # Stable sort: cues at the same instant keep the order they were placed in.
    cues = tuple(sorted(b.cues, key=lambda c: c.at))
    return Timeline(routine.title, b.t, tuple(b.segments), cues)


DONE_TEXT = "That's the session. Release the brace, breathe easily, and notice how your back feels."
