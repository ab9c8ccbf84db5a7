"""What a media widget shows of a session: its tracks, the title now, and what can be done.

Desktop widgets, media keys and earbud buttons (through MPRIS, `voicecoach.mpris`) think
in tracks. Here a track is what ``n`` and ``b`` move through: the intro, each exercise
(its sets, sides, relaxes and the rest after it) and the outro. The title follows the
person inside it ("Side plank: set 2 of 3, left"), so a widget shows where they are.

Pure: built from the timeline once, read from the player's position.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Literal

from voicecoach.timeline import Segment, Timeline
from voicecoach.wording import PHASE_LABELS

Status = Literal["Playing", "Paused", "Stopped"]


@dataclass(frozen=True, slots=True)
class Track:
    """One track: a run of segments of the same exercise (``None``: the intro or outro)."""

    number: int  # 0-based, in playing order
    exercise: int | None
    start: float
    end: float

    @property
    def seconds(self) -> float:
        """The track's length in seconds."""
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class NowPlaying:
    """A snapshot for a media widget: status, track, title and the truthful ``can_*``."""

    status: Status
    track: int
    title: str
    artist: str  # the routine's title: what a widget shows under the title
    length_s: float
    position_s: float
    can_next: bool
    can_previous: bool
    can_play: bool
    can_pause: bool


def tracks_of(timeline: Timeline) -> tuple[Track, ...]:
    """The timeline cut into tracks: each change of exercise starts a new one."""
    tracks: list[Track] = []
    for seg in timeline.segments:
        if tracks and tracks[-1].exercise == seg.exercise and seg.phase != "outro":
            last = tracks[-1]
            tracks[-1] = Track(last.number, last.exercise, last.start, seg.end)
        else:
            tracks.append(Track(len(tracks), seg.exercise, seg.start, seg.end))
    return tuple(tracks)


def title_of(segment: Segment, sets: int) -> str:
    """The title a widget shows during ``segment``, as the coach says it.

    "Side plank: set 2 of 3, left"; "set 1 of 1" says nothing; a rest is "Side plank:
    rest"; outside an exercise, the phase ("Intro", "Done").
    """
    if segment.name is None:
        return PHASE_LABELS[segment.phase]
    if segment.phase == "rest":
        return f"{segment.name}: rest"
    parts = []
    if segment.set is not None and sets > 1:
        parts.append(f"set {segment.set} of {sets}")
    if segment.side:
        parts.append(segment.side)
    return f"{segment.name}: {', '.join(parts)}" if parts else segment.name


class Tracks:
    """The tracks of one timeline, and the `NowPlaying` at any moment of it."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self.tracks = tracks_of(timeline)
        self._track_starts = [t.start for t in self.tracks]
        self._seg_starts = [s.start for s in timeline.segments]
        self._sets: dict[int, int] = {}
        for seg in timeline.segments:
            if seg.exercise is not None and seg.set is not None:
                self._sets[seg.exercise] = max(self._sets.get(seg.exercise, 0), seg.set)

    def at(self, seconds: float, *, paused: bool = False, ended: bool = False) -> NowPlaying:
        """The snapshot ``seconds`` into the session; ``ended``: stopping or over."""
        segments = self.timeline.segments
        artist = self.timeline.title
        if ended or not segments or seconds >= self.timeline.duration:
            last = self.tracks[-1] if self.tracks else Track(0, None, 0.0, 0.0)
            return NowPlaying(
                "Stopped", last.number, "Done", artist, last.seconds, last.seconds,
                False, False, False, False,
            )  # fmt: skip
        seconds = max(0.0, seconds)
        track = self.tracks[max(0, bisect.bisect_right(self._track_starts, seconds) - 1)]
        seg = segments[max(0, bisect.bisect_right(self._seg_starts, seconds) - 1)]
        sets = self._sets.get(seg.exercise, 0) if seg.exercise is not None else 0
        return NowPlaying(
            "Paused" if paused else "Playing",
            track.number,
            title_of(seg, sets),
            artist,
            track.seconds,
            min(track.seconds, seconds - track.start),
            # "n" from the outro would only end the session: not a next track.
            can_next=seg.phase != "outro",
            # "b" goes back to the start of the current set: only inside an exercise.
            can_previous=seg.exercise is not None,
            can_play=True,
            can_pause=True,
        )
