"""The coach's fixed wording: lines spoken outside the compiled timeline (resume, stop-pain)."""

from __future__ import annotations

# Spoken when resuming from a pause; a fresh countdown follows if paused inside work.
RESUMING = "Resuming. Brace, and keep breathing."
PAUSED = "Paused."

# Spoken after "stop, pain": calm, and never an invitation to push through.
SAFETY_MESSAGE = (
    "Stopping now. Release the brace and breathe easily. "
    "Rest in a comfortable position for as long as you need. "
    "Pain is a limit to stop before, never something to push through. "
    "Today's session ends here."
)
PAIN_QUESTION = "How bad is the pain, from zero to ten? Press a number, or Enter to skip."


def countdown_text(n: int) -> str:
    """The spoken form of countdown number ``n`` (the same text everywhere, so one clip serves)."""
    return str(n)


def extra_phrases() -> list[str]:
    """Phrases the player may need at any moment, synthesized before playback starts."""
    countdown = [countdown_text(n) for n in range(1, 4)]
    return [RESUMING, PAUSED, SAFETY_MESSAGE, PAIN_QUESTION, *countdown]
