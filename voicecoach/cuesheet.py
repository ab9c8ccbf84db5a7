"""The human-readable cue sheet printed by ``voicecoach compile``."""

from __future__ import annotations

from voicecoach.timeline import Segment, Timeline

PHASE_LABELS = {
    "intro": "Intro",
    "get_ready": "Get ready",
    "work": "Work",
    "relax": "Relax",
    "switch": "Switch sides",
    "rest": "Rest",
    "outro": "Done",
}


def clock(seconds: float) -> str:
    """Format seconds as ``m:ss.s`` (or ``h:mm:ss.s`` past an hour)."""
    tenths = round(seconds * 10)
    minutes, tenths = divmod(tenths, 600)
    hours, minutes = divmod(minutes, 60)
    secs = f"{tenths // 10:02d}.{tenths % 10}"
    return f"{hours}:{minutes:02d}:{secs}" if hours else f"{minutes}:{secs}"


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
    lines = [f"{timeline.title} ({clock(timeline.duration)}, {len(timeline.cues)} cues)"]
    cues = iter(timeline.cues)
    pending = next(cues, None)
    for seg in timeline.segments:
        if seg.phase not in ("work", "relax"):
            lines.append("")
            lines.append(f"{clock(seg.start):>9}  == {_heading(seg)} ({seg.seconds:g} s)")
        # A cue exactly at a segment's end belongs to the next segment, except the stop
        # tone that closes work and the session's last instant.
        last = seg is timeline.segments[-1]
        while pending is not None and (
            pending.at < seg.end or last or (pending.at == seg.end and pending.role == "stop")
        ):
            # The spoken number already marks each countdown second; its tick is noise here.
            if not (pending.role == "countdown" and pending.tone):
                said = pending.text if pending.text is not None else f"[{pending.tone} tone]"
                lines.append(f"{clock(pending.at):>9}  {pending.role:<9}  {said}")
            pending = next(cues, None)
    return lines
