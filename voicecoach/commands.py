"""Player commands: what a key press asks the player to do, and the line that lists the keys."""

from __future__ import annotations

from enum import Enum

# Shown at the foot of the live view; keys.py maps these keys to the commands below.
HELP_LINE = "Space pause · x stop (pain) · n next · b back · q quit"


class Command(Enum):
    """A request from the user to the running session."""

    PAUSE = "pause"  # toggles: pause, or resume when paused (Space)
    # One way only, for remote controls: a media key's "pause" sent twice, or a spoken
    # "pause" heard while already paused, must never resume the session by toggling.
    PAUSE_ONLY = "pause_only"
    RESUME = "resume"
    STOP_PAIN = "stop_pain"  # immediate stop, safety message, pain report
    NEXT = "next"  # skip to the next exercise
    BACK = "back"  # back to the start of the current set
    QUIT = "quit"  # end the session quietly
