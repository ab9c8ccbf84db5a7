"""What a spoken keyword asks, and whether a keyword heard was the coach's own voice.

Pure: no audio and no clock of its own; times are whatever the caller passes (the player
and the listener both use ``time.monotonic()`` seconds). The one lock makes
:class:`CoachSpeech` safe to feed from the player's thread while the listener's thread
asks it.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from voicecoach.commands import Command

# The words a person may say on the mat. "pause" is one way only: a second "pause", or
# the coach's own "Paused." heard back, must never resume by toggling.
KEYWORDS: Mapping[str, Command] = MappingProxyType(
    {
        "stop": Command.STOP_PAIN,
        "pain": Command.STOP_PAIN,
        "pause": Command.PAUSE_ONLY,
        "resume": Command.RESUME,
        "continue": Command.RESUME,
        "next": Command.NEXT,
    }
)

# The fragments of the coach's written words that sound like each keyword. A fragment
# matches anywhere inside a word, so inflections ("Stopping", "Resuming", "Paused",
# "painful") and words that hold the sound ("explain", "unstoppable") count too.
SOUNDS_LIKE: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "stop": ("stop",),
        "pain": ("pain", "plain"),
        "pause": ("paus", "paws", "pose"),
        "resume": ("resum",),
        "continue": ("continu",),
        "next": ("next",),
    }
)

# Margins around what the coach says, for the clocks and the room: the player's "when it
# sounds" is PortAudio's latency estimate (Bluetooth speakers can be 100-200 ms later than
# reported), the listener's word end is mapped from the microphone's arrival times, and
# pocketsphinx places a word's end within about 100 ms. A person's own "stop" said within
# AFTER_S of the coach saying "stop" is ignored: they say it again, and it is heard.
BEFORE_S = 0.3
AFTER_S = 0.7

# Keywords that pocketsphinx also finds inside the coach's other words: these are ignored
# whenever any coach speech overlaps them, not only words that sound like them. Measured
# on the rendered back-basics routine (benchmarks/RESULTS.md "Listening (issue 12)"),
# every keyword does at the thresholds that hear a person reliably ("stop" at 1e-25: 150
# hits in 7.8 min of the coach's speech, in "Stand side-on", "Lift the head"...). The
# cost: a person's "stop" said over the coach is lost and must be said again once the
# phrase ends (+ AFTER_S); phrases last 1 to 6 s, and a hold is silent.
ANY_SPEECH: frozenset[str] = frozenset(KEYWORDS)

# The same command heard twice within this many seconds is one request: a "next"
# echoing in the room must not skip two exercises.
REPEAT_S = 1.5

# How long a remembered phrase matters: far longer than any margin, and it bounds memory.
KEEP_S = 60.0

_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True, slots=True)
class _Said:
    start: float
    end: float
    keywords: frozenset[str]  # the keywords some word of the text sounds like


def keywords_in(text: str) -> frozenset[str]:
    """The keywords that some word of ``text`` sounds like (``"Stopping now"`` -> stop)."""
    words = _WORD.findall(text.casefold())
    return frozenset(
        keyword
        for keyword in KEYWORDS
        if any(fragment in word for word in words for fragment in SOUNDS_LIKE[keyword])
    )


class CoachSpeech:
    """What the coach said and when (time.monotonic() seconds, when it sounds): thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._said: deque[_Said] = deque()
        self._latest_end = float("-inf")

    def said(self, text: str, start: float, end: float) -> None:
        """Note that the coach says ``text`` from ``start`` to ``end`` (seconds, as it sounds).

        Call it when the phrase is scheduled (before it sounds is fine); a tone may be
        passed with an empty text: it then only counts for the `ANY_SPEECH` keywords.
        """
        entry = _Said(float(start), float(max(start, end)), keywords_in(text))
        with self._lock:
            self._said.append(entry)
            self._latest_end = max(self._latest_end, entry.end)
            # Forget what is long over; phrases arrive roughly in order, so the oldest
            # entries sit at the left.
            while self._said and self._said[0].end < self._latest_end - KEEP_S:
                self._said.popleft()

    def ignores(self, keyword: str, start: float, end: float) -> bool:
        """True when a keyword heard from start to end is most likely the coach's own voice."""
        keyword = keyword.strip().casefold()
        with self._lock:
            said = list(self._said)
        for entry in said:
            overlaps = start <= entry.end + AFTER_S and end >= entry.start - BEFORE_S
            if overlaps and (keyword in entry.keywords or keyword in ANY_SPEECH):
                return True
        return False


class Heeding:
    """Which keywords heard are obeyed: not the coach's own voice, not a repeat.

    Not thread-safe on its own: one listener thread asks it.
    """

    def __init__(self, coach: CoachSpeech) -> None:
        self.coach = coach
        self._last: dict[Command, float] = {}

    def command_for(self, keyword: str, start: float, end: float) -> Command | None:
        """The command to send for ``keyword`` heard from ``start`` to ``end``, or ``None``."""
        command = KEYWORDS.get(keyword)
        if command is None or self.coach.ignores(keyword, start, end):
            return None
        last = self._last.get(command)
        if last is not None and end - last < REPEAT_S:
            return None
        self._last[command] = end
        return command
