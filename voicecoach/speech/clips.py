"""What speech is made of: the clip and voice types, the errors, and the running counts."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from voicecoach.errors import VoicecoachError


@dataclass(frozen=True)
class Clip:
    """One synthesized phrase: ``samples`` float32, shape ``(frames,)``, mono, in [-1, 1].

    The clips `synthesize` returns are at the speech level, within ±`dsp.CEILING`.
    ``digest`` names the engine's clip it was made from (`clip_digest`, checked when it
    was read from the cache), so what is derived from it can be cached under that name.
    """

    samples: np.ndarray
    samplerate: int
    digest: str | None = field(default=None, compare=False)

    @property
    def seconds(self) -> float:
        """Length of the clip in seconds."""
        frames: int = self.samples.shape[0]
        return frames / self.samplerate


@dataclass(frozen=True)
class VoiceInfo:
    """An installed voice as the engine reports it."""

    id: str
    name: str
    languages: tuple[str, ...]
    gender: str | None


class SpeechUnavailable(VoicecoachError):
    """No speech engine can run here (pyttsx3 or the system voices are missing)."""


class VoiceNotFound(VoicecoachError):
    """The requested voice is not installed."""


class SynthesisError(VoicecoachError):
    """The speech engine failed, died or hung while speaking a phrase."""


@dataclass
class SynthesisStats:
    """Running counts for this process, for tests and benchmarks (the product never reads them)."""

    cache_hits: int = 0
    phrases_synthesized: int = 0
    workers_started: int = 0
    cache_rejected: int = 0  # entries that were there but damaged, foreign or torn
    cache_write_failures: int = 0

    def rejected(self) -> None:
        """Count one refused cache entry (from any thread: clips load in two)."""
        with _stats_lock:
            self.cache_rejected += 1


_stats_lock = threading.Lock()


stats = SynthesisStats()
