"""The as-played plan: a timeline placed on the sample clock once clip lengths are known.

The compiler places cues from *estimated* speech lengths; here the real lengths are known,
so lead-ins stretch when a phrase runs long, low-priority speech inside work gives way to a
tone (or silence) when it does not fit, and every position becomes an integer frame.
Work segments never stretch: their boundaries come from rounded absolute times plus whole
frames of stretch, so a hold lasts exactly its length in frames and an hour-long session
does not drift by a single sample.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from voicecoach.timeline import (
    FALLBACK_TONES,
    LOW_PRIORITY_ROLES,
    SCHEMA_VERSION,
    Cue,
    Segment,
    Timeline,
)

DEFAULT_GAP_S = 0.15
# A tone never sounds over a word: one due with a word starts this much before it (the
# word keeps its time), and ends at least TONE_CLEAR_S before it. A tone masks the first
# phoneme of a word it overlaps ("3", "Rep 1", "Relax." were misheard under the tick,
# start and stop tones).
TONE_LEAD_S = 0.2
TONE_CLEAR_S = 0.05

OVERLAPS_SPEECH = "overlaps speech"
PAST_THE_END = "longer than the time left in the hold"
OVER_A_WORD = "would sound over a word"
SAME_BREATH_TWICE = "would repeat the breath before it"

# Cues anchored to the end of their segment (the start of the work that follows): a
# countdown must land on the work start whatever the lead-in before it did.
ANCHORED_TO_END_ROLES = frozenset({"countdown"})


@dataclass(frozen=True, slots=True)
class PlannedSegment:
    """A timeline segment as played: ``start_frame`` to ``end_frame`` on the plan clock."""

    segment: Segment
    start_frame: int
    end_frame: int

    @property
    def frames(self) -> int:
        """Length in frames as played."""
        return self.end_frame - self.start_frame


@dataclass(frozen=True, slots=True)
class PlannedCue:
    """One sound on the plan clock: ``start_frame`` to ``end_frame`` (exclusive).

    ``kind`` is ``"speech"`` or ``"tone"``; ``key`` names the clip: the spoken text, or
    the tone's name. A low-priority cue replaced by its fallback tone appears here as a
    tone cue (same ``at``, ``role`` and ``exercise``).
    """

    cue: Cue
    start_frame: int
    end_frame: int
    kind: Literal["speech", "tone"]
    key: str


@dataclass(frozen=True, slots=True)
class Dropped:
    """A cue that did not fit: ``reason``, and the tone played instead (or ``None``).

    Speech inside work gives way when it cannot fit; a tone gives way when it would
    sound over a word (`OVER_A_WORD`).

    ``frame`` is where the cue would have started on the plan clock.
    """

    cue: Cue
    frame: int
    reason: str
    replaced_by: str | None


@dataclass(frozen=True, slots=True)
class Plan:
    """A session on the sample clock: what the mixer plays and the file/text sinks report.

    Segments are contiguous and cover ``[0, total_frames]``; events are sorted by
    ``start_frame`` (ties keep timeline order).
    """

    samplerate: int
    total_frames: int
    segments: tuple[PlannedSegment, ...]
    events: tuple[PlannedCue, ...]
    dropped: tuple[Dropped, ...]

    @property
    def duration(self) -> float:
        """Length as played, in seconds."""
        return self.total_frames / self.samplerate

    def segment_index_at(self, frame: int) -> int:
        """Index of the segment playing at plan ``frame`` (the last one at or past the end)."""
        i = bisect.bisect_right(self.segments, frame, key=lambda s: s.start_frame) - 1
        return max(0, min(len(self.segments) - 1, i))

    def as_rendered(self, title: str) -> dict[str, Any]:
        """The plan as the ``compile --json`` document (schema version 1), as played.

        Times are the sample positions actually used divided by the sample rate. Each cue
        also carries ``kind`` and ``end``; segments are the stretched ones; ``dropped``
        lists the cues that did not fit (``at``, ``role``, ``text``, ``reason``,
        ``replaced_by``).
        """
        sr = self.samplerate
        segments = []
        for ps in self.segments:
            doc = asdict(ps.segment)
            doc["start"] = ps.start_frame / sr
            doc["end"] = ps.end_frame / sr
            segments.append(doc)
        cues = []
        for ev in self.events:
            c = ev.cue
            cues.append(
                {
                    "at": ev.start_frame / sr,
                    "role": c.role,
                    "text": c.text,
                    "tone": c.tone,
                    "exercise": c.exercise,
                    "kind": ev.kind,
                    "end": ev.end_frame / sr,
                }
            )
        dropped = [
            {
                "at": d.frame / sr,
                "role": d.cue.role,
                "text": d.cue.text,
                "reason": d.reason,
                "replaced_by": d.replaced_by,
            }
            for d in self.dropped
        ]
        return {
            "version": SCHEMA_VERSION,
            "title": title,
            "duration": self.duration,
            "segments": segments,
            "cues": cues,
            "dropped": dropped,
        }


def fallback_tone(cue: Cue) -> str | None:
    """The tone that stands in for a low-priority speech cue that does not fit, or ``None``.

    ``count`` becomes a tick; ``breathe`` becomes an inhale or exhale tone chosen from its
    words ("in" / "out"); ``halfway`` and ``remaining`` (and anything else) are dropped.
    """
    if cue.role == "breathe":
        words = set(re.findall(r"[a-z]+", (cue.text or "").lower()))
        if "out" in words:
            return "exhale"
        if "in" in words:
            return "inhale"
        return None
    return FALLBACK_TONES.get(cue.role)


def tone_lead_frames(tone_frames: int, samplerate: int) -> int:
    """How far before its word a tone of ``tone_frames`` starts: `TONE_LEAD_S`, or more
    for a tone too long to end `TONE_CLEAR_S` before the word."""
    return max(round(TONE_LEAD_S * samplerate), tone_frames + round(TONE_CLEAR_S * samplerate))


def _frames_of(table: Mapping[str, int], key: str, what: str) -> int:
    try:
        frames = int(table[key])
    except KeyError:
        raise KeyError(f"no {what} for {key!r}: the plan needs every clip's length") from None
    if frames < 0:
        raise ValueError(f"{what} {key!r} has a negative length ({frames} frames)")
    return frames


def plan_session(
    timeline: Timeline,
    clip_frames: Mapping[str, int],
    tone_frames: Mapping[str, int],
    samplerate: int,
    *,
    gap_s: float = DEFAULT_GAP_S,
) -> Plan:
    """Place a timeline on the sample clock, given the real length of every clip.

    Pure and deterministic.

    Parameters
    ----------
    timeline
        The compiled session (contiguous sorted segments, sorted cues).
    clip_frames
        Length in frames (at ``samplerate``) of the clip for each spoken text.
    tone_frames
        Length in frames of each tone (``"start"``, ``"stop"``, ``"tick"``, ...).
    samplerate
        Frames per second of the plan clock.
    gap_s
        Silence kept between two phrases, in seconds.

    Returns
    -------
    Plan
        A cue at ``t`` sits at ``round(t * samplerate)`` plus the stretch accumulated
        before it. Speech never overlaps speech. A non-work segment whose lead-in speech
        (plus the gap) cannot finish before its countdown (or its end) grows by the
        overflow, shifting everything after; countdown cues stay anchored to the work
        start. Work segments last exactly ``round(end * sr) - round(start * sr)`` frames;
        speech inside work that would overlap other speech or run past the end of the
        work is replaced by its fallback tone or dropped (see `Plan.dropped`).

    Raises
    ------
    KeyError
        A text or tone of the timeline has no length in ``clip_frames`` / ``tone_frames``.
    """
    if samplerate <= 0:
        raise ValueError(f"samplerate must be positive, got {samplerate}")
    sr = samplerate
    gap = round(gap_s * sr)

    def frame(t: float) -> int:
        # Always from the absolute time, never from summed lengths: no rounding builds up.
        return round(t * sr)

    segments = timeline.segments
    by_segment: list[list[tuple[int, Cue]]] = [[] for _ in segments]
    seg_starts = [s.start for s in segments]
    for order, cue in enumerate(timeline.cues):
        i = max(0, min(len(segments) - 1, bisect.bisect_right(seg_starts, cue.at) - 1))
        by_segment[i].append((order, cue))

    # (start_frame, order, PlannedCue): ``order`` keeps timeline order among equal starts.
    placed: list[tuple[int, int, PlannedCue]] = []
    dropped: list[Dropped] = []
    planned_segments: list[PlannedSegment] = []
    shift = 0
    speech_end = -(10**18)  # end frame of the latest speech placed so far

    def _lead(tone: str) -> int:
        return tone_lead_frames(_frames_of(tone_frames, tone, "tone"), sr)

    def tone_event(order: int, cue: Cue, start: int, tone: str) -> None:
        length = _frames_of(tone_frames, tone, "tone")
        placed.append((start, order, PlannedCue(cue, start, start + length, "tone", tone)))

    def speech_event(order: int, cue: Cue, start: int, length: int) -> None:
        nonlocal speech_end
        assert cue.text is not None
        placed.append((start, order, PlannedCue(cue, start, start + length, "speech", cue.text)))
        speech_end = max(speech_end, start + length)

    def give_way(order: int, cue: Cue, start: int, reason: str) -> None:
        tone = fallback_tone(cue) if cue.role in LOW_PRIORITY_ROLES else None
        dropped.append(Dropped(cue, start, reason, tone))
        if tone is not None:
            tone_event(order, Cue(cue.at, cue.role, None, tone, cue.exercise), start, tone)

    for index, (seg, cues) in enumerate(zip(segments, by_segment, strict=True)):
        start = frame(seg.start) + shift
        end = frame(seg.end) + shift
        if seg.phase == "work":
            for order, cue in cues:
                at = frame(cue.at) + shift
                if cue.text is None:
                    assert cue.tone is not None
                    tone_event(order, cue, at, cue.tone)
                    continue
                length = _frames_of(clip_frames, cue.text, "clip")
                if at < speech_end + gap:
                    give_way(order, cue, at, OVERLAPS_SPEECH)
                elif at + length > end:
                    give_way(order, cue, at, PAST_THE_END)
                else:
                    speech_event(order, cue, at, length)
            planned_segments.append(PlannedSegment(seg, start, end))
            continue

        anchored = [(o, c) for o, c in cues if c.role in ANCHORED_TO_END_ROLES]
        lead = [(o, c) for o, c in cues if c.role not in ANCHORED_TO_END_ROLES]
        lead_end: int | None = None
        for order, cue in lead:
            at = frame(cue.at) + shift
            if cue.text is None:
                assert cue.tone is not None
                tone_event(order, cue, at, cue.tone)
                continue
            length = _frames_of(clip_frames, cue.text, "clip")
            at = max(at, speech_end + gap)
            speech_event(order, cue, at, length)
            lead_end = at + length
        # Anchored tones (the countdown's ticks) lead their numbers, so the first of
        # them bounds the speech before it as much as the first number does.
        anchored_starts = [
            frame(c.at) + shift - (0 if c.tone is None else _lead(c.tone)) for _, c in anchored
        ]
        limit = min(anchored_starts) if anchored_starts else end
        room = gap
        before_work = index + 1 < len(segments) and segments[index + 1].phase == "work"
        if not anchored_starts and before_work:
            # Room at the end for the start tone that leads the work's first word.
            room = max(gap, round(TONE_LEAD_S * sr))
        stretch = max(0, lead_end + room - limit) if lead_end is not None else 0
        for order, cue in anchored:
            at = frame(cue.at) + shift + stretch
            if cue.text is None:
                assert cue.tone is not None
                tone_event(order, cue, at - _lead(cue.tone), cue.tone)
                continue
            length = _frames_of(clip_frames, cue.text, "clip")
            if at < speech_end + gap:
                # A countdown number longer than its second: its tick keeps the beat.
                dropped.append(Dropped(cue, at, OVERLAPS_SPEECH, None))
            else:
                speech_event(order, cue, at, length)
        planned_segments.append(PlannedSegment(seg, start, end + stretch))
        shift += stretch

    placed = _keep_tones_off_words(placed, planned_segments, dropped, sr)
    segment_of = {order: i for i, cues in enumerate(by_segment) for order, _ in cues}
    placed = _keep_breaths_alternating(placed, segment_of, dropped)  # in play order
    events = tuple(p[2] for p in placed)
    total = planned_segments[-1].end_frame if planned_segments else 0
    # A last non-work segment grows to let the final sound ring out rather than cut it.
    last_sound = max((e.end_frame for e in events), default=0)
    if planned_segments and last_sound > total and planned_segments[-1].segment.phase != "work":
        last = planned_segments[-1]
        planned_segments[-1] = PlannedSegment(last.segment, last.start_frame, last_sound)
        total = last_sound
    dropped.sort(key=lambda d: d.frame)
    return Plan(sr, total, tuple(planned_segments), events, tuple(dropped))


def _keep_tones_off_words(
    placed: list[tuple[int, int, PlannedCue]],
    segments: list[PlannedSegment],
    dropped: list[Dropped],
    sr: int,
) -> list[tuple[int, int, PlannedCue]]:
    """Move every tone off the words: ahead of a word it would cover, or drop it.

    A tone due with a word (the start tone with "Rep 1", the stop tone with "Relax.")
    starts `tone_lead_frames` before the word; a breathing tone that stands in for a
    breath cue that gave way goes just after the word that blocked it, if it still fits
    in its work. A tone that fits neither way is dropped: the word says it (recorded in
    ``dropped`` as `OVER_A_WORD`).
    """
    speech = sorted((p.start_frame, p.end_frame) for _, _, p in placed if p.kind == "speech")
    # Speech never overlaps speech, so both lists are sorted and the words meeting a
    # span are one run of them.
    starts = [a for a, _ in speech]
    ends = [b for _, b in speech]
    clear = round(TONE_CLEAR_S * sr)
    seg_starts = [ps.start_frame for ps in segments]

    def words_in(a: int, b: int) -> list[tuple[int, int]]:
        return speech[bisect.bisect_right(ends, a) : bisect.bisect_left(starts, b)]

    kept: list[tuple[int, int, PlannedCue]] = []
    for start, order, ev in placed:
        if ev.kind != "tone":
            kept.append((start, order, ev))
            continue
        length = ev.end_frame - ev.start_frame
        words = words_in(ev.start_frame, ev.end_frame + clear)
        if not words:
            kept.append((start, order, ev))
            continue
        moved: int | None = None
        if words[0][0] >= ev.start_frame:
            moved = words[0][0] - tone_lead_frames(length, sr)
        elif ev.cue.role == "breathe":
            moved = words[-1][1] + clear
            i = max(0, bisect.bisect_right(seg_starts, ev.start_frame) - 1)
            if moved + length > segments[i].end_frame:
                moved = None
        if moved is not None and moved >= 0 and not words_in(moved, moved + length + clear):
            ev = PlannedCue(ev.cue, moved, moved + length, ev.kind, ev.key)
            kept.append((moved, order, ev))
        else:
            dropped.append(Dropped(ev.cue, ev.start_frame, OVER_A_WORD, None))
    return kept


def breath_direction(ev: PlannedCue) -> str | None:
    """``"inhale"`` or ``"exhale"`` for a breathing cue as played (words or tone), else ``None``."""
    if ev.cue.role != "breathe":
        return None
    return ev.key if ev.kind == "tone" else fallback_tone(ev.cue)


def _keep_breaths_alternating(
    placed: list[tuple[int, int, PlannedCue]],
    segment_of: Mapping[int, int],
    dropped: list[Dropped],
) -> list[tuple[int, int, PlannedCue]]:
    """Drop a breath cue that would repeat the direction of the one before it in its work.

    The compiler alternates in and out; only a breath that gave way with nowhere for its
    tone (`OVER_A_WORD`) leaves a gap, and then the breath after it goes too: the
    breathing may go quiet for a whole breath, but never says "in" twice in a row.
    ``segment_of`` maps a cue's timeline order to its segment. Returns the cues kept,
    sorted by start frame (ties in timeline order).
    """
    kept: list[tuple[int, int, PlannedCue]] = []
    last: dict[int, str] = {}  # per work segment: the last direction given
    for start, order, ev in sorted(placed, key=lambda p: (p[0], p[1])):
        direction = breath_direction(ev)
        if direction is not None:
            segment = segment_of[order]
            if last.get(segment) == direction:
                dropped.append(Dropped(ev.cue, ev.start_frame, SAME_BREATH_TWICE, None))
                continue
            last[segment] = direction
        kept.append((start, order, ev))
    return kept
