"""How the history names a routine (its resolved path) and a played session (a timeline hash)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from voicecoach.timeline import Timeline


def timeline_hash(timeline: Timeline) -> str:
    """sha256 (hex) of the timeline's canonical JSON: which exact session was played."""
    text = json.dumps(
        timeline.to_json_dict(),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def routine_key(path: str | os.PathLike[str]) -> str:
    """The stored identity of a routine: its resolved absolute path."""
    return str(Path(path).expanduser().resolve())
