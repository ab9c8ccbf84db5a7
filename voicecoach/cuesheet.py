"""The human-readable cue sheet printed by ``voicecoach compile``."""

from __future__ import annotations

from voicecoach.timeline import Segment, Timeline
from voicecoach.wording import PHASE_LABELS, clock_tenths


def _heading(seg: Segment) -> str:
    label = PHASE_LABELS[seg.phase]
    if seg.name is None:
        return label
    parts = [f"{label}: {seg.name}"]
    if seg.set is not None:
        parts.append(f"set {seg.set}")
    if seg.side:
        parts.append(seg.side)
    return ", ".join(parts)


def format_cuesheet(timeline: Timeline) -> list[str]:
    """Lines of a cue sheet: a heading per lead-in and rest, then each cue's time and words.

    Work and relax segments get no heading of their own (their cues say it), so the
    sheet stays short enough to read before a session.
    """
    lines = [f"{timeline.title} ({clock_tenths(timeline.duration)}, {len(timeline.cues)} cues)"]
    cues = iter(timeline.cues)
    pending = next(cues, None)
    for seg in timeline.segments:
        if seg.phase not in ("work", "relax"):
            lines.append("")
            lines.append(f"{clock_tenths(seg.start):>9}  == {_heading(seg)} ({seg.seconds:g} s)")
        # A cue exactly at a segment's end belongs to the next segment, except the stop
        # tone that closes work and the session's last instant.
        last = seg is timeline.segments[-1]
        while pending is not None and (
            pending.at < seg.end or last or (pending.at == seg.end and pending.role == "stop")
        ):
            # The spoken number already marks each countdown second; its tick is noise here.
            if not (pending.role == "countdown" and pending.tone):
                said = pending.text if pending.text is not None else f"[{pending.tone} tone]"
                lines.append(f"{clock_tenths(pending.at):>9}  {pending.role:<9}  {said}")
            pending = next(cues, None)
    return lines
