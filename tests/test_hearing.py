"""CoachSpeech: which keywords heard are the coach's own voice, and when."""

from __future__ import annotations

import pytest

from voicecoach.commands import Command
from voicecoach.hearing import (
    AFTER_S,
    BEFORE_S,
    KEYWORDS,
    REPEAT_S,
    CoachSpeech,
    Heeding,
    keywords_in,
)
from voicecoach.phrases import PAUSED, RESUMING, SAFETY_MESSAGE


def test_each_keyword_asks_for_its_command() -> None:
    assert dict(KEYWORDS) == {
        "stop": Command.STOP_PAIN,
        "pain": Command.STOP_PAIN,
        "pause": Command.PAUSE_ONLY,
        "resume": Command.RESUME,
        "continue": Command.RESUME,
        "next": Command.NEXT,
    }


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Stop before pain.", {"stop", "pain"}),
        ("Stopping now.", {"stop"}),
        ("Next up: Side plank.", {"next"}),
        ("Next: Bird dog.", {"next"}),
        (RESUMING, {"resume"}),
        (PAUSED, {"pause"}),
        ("Breathe out, and continue.", {"continue"}),
        ("Let me explain the hold.", {"pain"}),
        ("Relax. Right side next.", {"next"}),
        ("Breathe in.", set()),
        ("Rep 3, left.", set()),
    ],
)
def test_a_keyword_counts_as_said_when_a_word_sounds_like_it(text: str, expected: set[str]) -> None:
    assert keywords_in(text) == expected


def test_the_safety_message_holds_both_stop_words() -> None:
    assert {"stop", "pain"} <= keywords_in(SAFETY_MESSAGE)


def test_a_keyword_the_coach_is_saying_is_ignored() -> None:
    coach = CoachSpeech()
    coach.said("Stop before pain.", 10.0, 11.5)
    assert coach.ignores("stop", 10.0, 10.4)
    assert coach.ignores("pain", 11.0, 11.5)


def test_a_keyword_heard_just_after_the_coach_said_it_is_ignored_within_the_margin() -> None:
    coach = CoachSpeech()
    coach.said("Next: Bird dog.", 10.0, 11.0)
    # The room and the clocks: heard up to AFTER_S after the phrase ends.
    assert coach.ignores("next", 11.0 + AFTER_S - 0.05, 11.0 + AFTER_S)
    assert not coach.ignores("next", 11.0 + AFTER_S + 0.05, 11.0 + AFTER_S + 0.3)
    # And up to BEFORE_S before it starts (the device's reported latency can be short).
    assert coach.ignores("next", 10.0 - BEFORE_S - 0.2, 10.0 - BEFORE_S + 0.01)
    assert not coach.ignores("next", 10.0 - BEFORE_S - 0.5, 10.0 - BEFORE_S - 0.1)


def test_the_persons_stop_in_a_silence_is_never_ignored() -> None:
    coach = CoachSpeech()
    coach.said("Stop before the low back sags or aches.", 10.0, 12.0)
    coach.said("Rep 1.", 20.0, 20.6)
    # Mid-hold, long after both phrases.
    assert not coach.ignores("stop", 30.0, 30.4)
    assert not coach.ignores("pain", 30.0, 30.4)


def test_a_keyword_is_ignored_only_while_the_coach_says_it_or_a_word_in_any_speech() -> None:
    from voicecoach.hearing import ANY_SPEECH

    coach = CoachSpeech()
    coach.said("Keep the hips level and keep breathing.", 10.0, 12.0)
    for keyword in KEYWORDS:
        assert coach.ignores(keyword, 11.0, 11.4) == (keyword in ANY_SPEECH)


def test_keyword_names_are_matched_whatever_their_case_and_spacing() -> None:
    coach = CoachSpeech()
    coach.said("Stopping now.", 5.0, 6.0)
    assert coach.ignores(" Stop ", 5.5, 5.9)


def test_old_phrases_are_forgotten_but_never_those_still_in_the_margin() -> None:
    coach = CoachSpeech()
    coach.said("Stop before pain.", 0.0, 1.0)
    for k in range(1, 200):
        coach.said("Breathe in.", 10.0 * k, 10.0 * k + 1.0)
    assert not coach.ignores("stop", 0.5, 0.9)  # forgotten: an hour-long session stays small
    coach.said("Next: Dead bug.", 2000.0, 2001.0)
    coach.said("Breathe out.", 2001.5, 2002.0)
    assert coach.ignores("next", 2001.0, 2001.2)


def test_phrases_said_out_of_order_still_count() -> None:
    coach = CoachSpeech()
    coach.said("Resuming. Brace, and keep breathing.", 50.0, 52.0)
    coach.said("Next: Dead bug.", 40.0, 41.0)  # scheduled earlier, reported later
    assert coach.ignores("next", 40.5, 40.9)
    assert coach.ignores("resume", 50.2, 50.8)


def test_heeding_obeys_a_person_once_per_request_and_never_the_coach() -> None:
    coach = CoachSpeech()
    coach.said("Stop before pain.", 10.0, 11.5)
    heeding = Heeding(coach)
    assert heeding.command_for("stop", 10.5, 10.9) is None  # the coach's own word
    assert heeding.command_for("stop", 20.0, 20.4) is Command.STOP_PAIN
    # "pain" is the same request: an echo or a second word within REPEAT_S is one stop.
    assert heeding.command_for("pain", 20.5, 20.9) is None
    assert heeding.command_for("stop", 20.4 + REPEAT_S, 20.5 + REPEAT_S) is Command.STOP_PAIN
    # Another command is not held back by the repeat window of the first.
    assert heeding.command_for("next", 22.0, 22.3) is Command.NEXT
    assert heeding.command_for("hello", 30.0, 30.2) is None  # not a keyword
