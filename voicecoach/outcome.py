"""How a session ended: the one closed set of outcomes, stored in the history as their strings."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """How a session ended (or that it has not yet).

    The values are what the history stores in ``sessions.outcome`` (its CHECK constraint
    lists exactly these), so a member compares and hashes equal to its string.
    """

    COMPLETED = "completed"
    """Played to its end."""
    QUIT = "quit"
    """Ended early on purpose: the quit key, Ctrl-C, SIGTERM or SIGHUP."""
    STOP_PAIN = "stop_pain"
    """Stopped for pain: the safety message was played and a pain stop recorded."""
    DEVICE_LOST = "device_lost"
    """The audio device went away and the session was not resumed on another."""
    CRASHED = "crashed"
    """The player died mid-session, or its record is incomplete (a write failed)."""
    RUNNING = "running"
    """Still being played: stored at the start and replaced at the end."""

    @property
    def ended(self) -> bool:
        """Whether this is how a session ends (every outcome but `RUNNING`)."""
        return self is not Outcome.RUNNING

    @classmethod
    def read(cls, value: object) -> Outcome | None:
        """The outcome stored as ``value``, or ``None`` when it is none (a damaged row)."""
        if not isinstance(value, str):
            return None
        try:
            return cls(value)
        except ValueError:
            return None
