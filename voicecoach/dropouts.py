"""Dropouts: the time the sound device lost during a session, and how much was made up.

A device that is not fed in time (a busy machine) plays silence of its own: every later
frame sounds that much late. The device sink measures each gap; the mixer makes the time
up in the next long silence outside work. This is what the summary and the history say.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Dropouts:
    """The device's dropouts over one session."""

    underruns: int = 0  # times the device ran dry (gaps measured, else underflow flags)
    lost_s: float = 0.0  # time the device lost in them (measured on its own clock)
    caught_up_s: float = 0.0  # of that, made up in silences
    # Lost in a cue's time and not made up by the end: the cues after it were that late.
    # (Time lost while paused, or in a jump's fade, is owed to no cue.)
    owed_s: float = 0.0
    # The output buffer the player moved to after the first underruns (0: it did not).
    widened_to_s: float = 0.0


def describe(dropouts: Dropouts) -> str:
    """One line for the end of a session, or ``""`` when the device never ran short."""
    if not dropouts.underruns and dropouts.lost_s <= 0:
        return ""
    line = _lost(dropouts)
    if dropouts.widened_to_s > 0:
        line += f"; the audio buffer was widened to {round(dropouts.widened_to_s * 1000)} ms"
    return line


def _lost(dropouts: Dropouts) -> str:
    times = "once" if dropouts.underruns == 1 else f"{dropouts.underruns} times"
    head = f"the audio device ran short {times} (a busy machine?)"
    lost_ms = round(dropouts.lost_s * 1000)
    if lost_ms <= 0:
        return f"{head} without losing time"
    owed_ms = round(dropouts.owed_s * 1000)
    if owed_ms <= 0:
        return f"{head}: {lost_ms} ms lost, all made up in the silences after"
    return (
        f"{head}: {lost_ms} ms lost, {owed_ms} ms of it not made up before the end "
        "(the cues after it were that late)"
    )
