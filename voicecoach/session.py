"""Getting a session ready to sound: clips, earcons, plan and mixer (shared by play and render)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from voicecoach.model import Routine
from voicecoach.phrases import extra_phrases
from voicecoach.timeline import TONES, Timeline, estimate_speech_seconds

if TYPE_CHECKING:
    from voicecoach.speech import VoiceSettings

DEFAULT_SAMPLERATE = 48_000
# Text mode makes no sound, so a low rate keeps its (silent) clock cheap.
TEXT_SAMPLERATE = 8_000


@dataclass(frozen=True)
class VoiceChoice:
    """Voice settings from the command line; ``None`` falls back to the routine's table."""

    name: str | None = None
    rate: int | None = None
    volume: float | None = None


@dataclass
class Prepared:
    """Everything a mixer needs, at one sample rate."""

    samplerate: int
    clips: Mapping[str, np.ndarray | int]
    tones: Mapping[str, np.ndarray]
    extra: Mapping[str, np.ndarray | int]


def voice_settings(routine: Routine, choice: VoiceChoice) -> VoiceSettings:
    """Merge command-line voice options over the routine's ``voice`` table."""
    from voicecoach.speech import VoiceSettings, resolve_voice

    name = choice.name if choice.name is not None else routine.voice.name
    return VoiceSettings(
        name=resolve_voice(name) if name else None,
        rate=choice.rate if choice.rate is not None else routine.voice.rate,
        volume=choice.volume if choice.volume is not None else routine.voice.volume,
    )


def prepare_speech(timeline: Timeline, routine: Routine, choice: VoiceChoice, samplerate: int,
                   cache_dir: Path, progress: Callable[[int, int], None] | None = None
                   ) -> Prepared:
    """Synthesize (or load from cache) every phrase and earcon, resampled to ``samplerate``."""
    from voicecoach.earcons import earcon
    from voicecoach.paths import config_dir
    from voicecoach.speech import cache_key, synthesize

    phrases = list(dict.fromkeys([*timeline.phrases(), *extra_phrases()]))
    settings = voice_settings(routine, choice)
    clips = synthesize(phrases, settings, cache_dir / "speech", progress=progress)
    folder = cache_dir / f"speech-{samplerate}"
    audio = {text: _at_rate(folder, cache_key(text, settings), clip, samplerate)
             for text, clip in clips.items()}
    overrides = config_dir() / "earcons"
    tones = {name: earcon(name, samplerate, overrides) for name in TONES}
    extra = {text: audio[text] for text in extra_phrases()}
    return Prepared(samplerate, audio, tones, extra)


def _at_rate(folder: Path, key: str, clip: Any, samplerate: int) -> np.ndarray:
    """``clip`` at ``samplerate``, from a cache of resampled clips when possible.

    Resampling every clip costs about 0.1 s at each start; a warm start should sound
    at once. Writes are atomic, and an unreadable entry is simply made again.
    """
    from voicecoach.dsp import resample

    if clip.samplerate == samplerate:
        return clip.samples
    path = folder / f"{key}.npy"
    try:
        cached = np.load(path, allow_pickle=False)
        if cached.dtype == np.float32 and cached.ndim == 1:
            return cached
    except (OSError, ValueError):
        pass
    samples = resample(clip.samples, clip.samplerate, samplerate)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{key}.{os.getpid()}.tmp.npy"
        np.save(tmp, samples, allow_pickle=False)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache costs time, never the session
    return samples


def prepare_silent(timeline: Timeline, samplerate: int = TEXT_SAMPLERATE) -> Prepared:
    """Clip lengths estimated from the text, for the text clock (no speech engine needed)."""
    def frames(text: str) -> int:
        return round(estimate_speech_seconds(text) * samplerate)

    clips = {text: frames(text) for text in timeline.phrases()}
    tones = {name: np.zeros(round(0.15 * samplerate), dtype=np.float32) for name in TONES}
    extra = {text: frames(text) for text in extra_phrases()}
    return Prepared(samplerate, clips, tones, extra)


def build_mixer(timeline: Timeline, prepared: Prepared, channels: int = 2):
    """Plan the session at the prepared rate and make the mixer that plays it."""
    from voicecoach.mixer import Mixer
    from voicecoach.schedule import plan_session

    def length(clip: np.ndarray | int) -> int:
        return clip if isinstance(clip, int) else len(clip)

    plan = plan_session(timeline, {t: length(c) for t, c in prepared.clips.items()},
                        {t: len(c) for t, c in prepared.tones.items()}, prepared.samplerate)
    mixer = Mixer(plan, prepared.clips, prepared.tones, channels=channels, extra=prepared.extra)
    return plan, mixer
