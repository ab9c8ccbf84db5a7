"""Phrases to clips at the speech level: the cache first, then the worker pool for the rest.

The parent process never starts a speech engine here: it computes each phrase's cache
key, loads the hits, and only if something is missing starts worker processes, so a warm
start is only file reads. One gain per voice then brings the clips to the speech level.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from voicecoach.dsp import CEILING, SPEECH_LUFS, apply_gain, integrated_loudness
from voicecoach.errors import VoicecoachError
from voicecoach.model import VOICE_RATE, VOICE_VOLUME, Voice
from voicecoach.phrases import PAIN_QUESTION, RESUMING, SAFETY_MESSAGE
from voicecoach.speech.cache import (
    PendingWrites,
    cache_key,
    clip_digest,
    default_cache_dir,
    load_entry,
    private_cache_folder,
    store_entry,
)
from voicecoach.speech.clips import Clip, VoiceNotFound, stats
from voicecoach.speech.engines import engine_for
from voicecoach.speech.voices import DEFAULT_ESPEAK_RATE
from voicecoach.speech.workers import synthesize_in_workers

# The voice's loudness is measured on these lines, always part of a session (so they cost
# nothing extra there): about 15 s of speech, which BS.1770's gating measures steadily.
REFERENCE_PHRASES = (SAFETY_MESSAGE, PAIN_QUESTION, RESUMING)


def _check(settings: Voice) -> None:
    # The command line and the routine checker refuse these first, with their own words;
    # this guards other callers of the library.
    rate_lo, rate_hi = VOICE_RATE
    if settings.rate is not None and not rate_lo <= settings.rate <= rate_hi:
        raise VoicecoachError(
            f"Speech rate {settings.rate} is out of range: use {rate_lo} to "
            f"{rate_hi} words per minute (the default on espeak-ng is {DEFAULT_ESPEAK_RATE})."
        )
    volume_lo, volume_hi = (float(v) for v in VOICE_VOLUME)
    if settings.volume is not None and not volume_lo <= settings.volume <= volume_hi:
        raise VoicecoachError(
            f"Speech volume {settings.volume} is out of range: use {volume_lo} to {volume_hi}."
        )
    if settings.name is not None and not settings.name.strip():
        raise VoiceNotFound(
            "The voice name is empty. Run `voicecoach voices` to list the installed voices."
        )


def voice_gain_db(reference: Sequence[Clip], settings: Voice) -> float:
    """The gain (dB) that brings this voice to `dsp.SPEECH_LUFS`, from its reference clips.

    One gain per voice, rate and volume, measured on `REFERENCE_PHRASES` (about 15 s of
    speech): a single word is shorter than BS.1770's 400 ms gating block and cannot be
    measured on its own, and one gain keeps the voice's own rise and fall from phrase to
    phrase (espeak-ng's phrases differ by about 3 LU) instead of making "3" as loud as a
    sentence. ``settings.volume`` then sets the level relative to that: 0.5 is 6 dB under.
    """
    if not reference:
        return 0.0
    rate = reference[0].samplerate
    loudness = integrated_loudness(np.concatenate([c.samples for c in reference]), rate)
    if loudness == float("-inf"):
        return 0.0  # a silent voice (volume 0): nothing to bring up
    target = SPEECH_LUFS
    if settings.volume is not None and settings.volume > 0:
        target += 20.0 * float(np.log10(settings.volume))
    return target - loudness


def level_clip(clip: Clip, gain_db: float) -> Clip:
    """``clip`` made ``gain_db`` louder, its peaks limited to `dsp.CEILING` (same digest)."""
    return Clip(
        apply_gain(clip.samples, clip.samplerate, gain_db, CEILING), clip.samplerate, clip.digest
    )


def synthesize(
    phrases: Sequence[str],
    settings: Voice,
    cache_dir: Path | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
    on_note: Callable[[str], None] | None = None,
    level: bool = True,
    pending: PendingWrites | None = None,
    on_clip: Callable[[str, Clip], None] | None = None,
) -> dict[str, Clip]:
    """Every distinct phrase as a trimmed clip at the speech level, cached or synthesized.

    Leading and trailing silence is trimmed (5 ms kept before the first sound and 30 ms
    after the last, with raised-cosine edges, so clips start on time and never click).
    The engine's clips are cached as 32-bit float WAV files named by :func:`cache_key`,
    each with a digest of its samples; a run where every phrase is cached starts no
    engine and no process. An entry that is damaged in any way (torn, altered, another
    phrase's, not a file, absurd) is made again, and an unusable or untrusted cache
    folder (see :func:`private_cache_folder`) or a failed write (a full disk, a
    read-only folder) costs time, never the session. Misses are synthesized in
    ``workers`` processes (default: the engine's, see `engines.Engine.processes`).

    The engine is the one ``settings.name`` chooses (`engines.engine_for`): pyttsx3, or
    Piper for ``piper:NAME``. Settings left ``None`` take the engine's defaults (on
    espeak-ng, `voices.DEFAULT_ESPEAK_VOICE` at `voices.DEFAULT_ESPEAK_RATE`).

    The clips returned are brought to `dsp.SPEECH_LUFS` by one gain per voice (see
    :func:`voice_gain_db`; `REFERENCE_PHRASES` are synthesized and cached for it too),
    their peaks limited to `dsp.CEILING` (-1 dBFS).

    Parameters
    ----------
    phrases : Sequence[str]
        Texts to speak; duplicates are spoken once. A blank text gives an empty clip.
    settings : Voice
        Voice (``piper:NAME`` or ``piper:/path/voice.onnx`` for Piper), rate and volume.
    cache_dir : Path or None
        Cache folder; ``None`` means :func:`default_cache_dir`.
    progress : callable or None
        Called as ``progress(done, total)`` in this thread: once after the cache lookup,
        then after each synthesized phrase (``total`` counts distinct phrases, the
        reference phrases included).
    workers : int or None
        Number of worker processes for the misses.
    on_note : callable or None
        Called with a one-line note when the cache could not be used or written (the
        session goes on); ``None`` drops the notes.
    level : bool
        ``False`` returns the engine's clips as they are, the reference phrases among
        them, for a caller that applies :func:`voice_gain_db` (with :func:`level_clip`)
        itself and caches what it derives.
    pending : PendingWrites or None
        Where to keep the cache writes of the phrases synthesized, to be made when the
        caller runs it (after the first sound); their notes then go to ``on_note``
        directly. ``None`` writes each entry as soon as its phrase is made.
    on_clip : callable or None
        Called as ``on_clip(text, clip)`` in this thread with each engine clip as it is
        read from the cache or made (before leveling), the reference phrases first among
        those synthesized: a caller can work on the clips while the rest are spoken.

    Returns
    -------
    dict[str, Clip]
        One clip per distinct phrase of ``phrases``, in first-use order: float32, shape
        ``(frames,)``, every ``|sample| <= dsp.CEILING``; espeak-ng clips are 22050 Hz,
        Piper's at the model's rate (22050 Hz for the medium voices).

    Raises
    ------
    SpeechUnavailable
        No speech backend (or no Piper runtime); the message gives the install command.
    VoiceNotFound
        The voice in ``settings`` is not installed (for Piper: what was found, and where).
    SynthesisError
        A worker died, or the engine got stuck on a phrase for `workers.PHRASE_TIMEOUT_S`.
    """
    _check(settings)
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    engine = engine_for(settings)
    wanted = list(dict.fromkeys(phrases))
    spoken = any(text.strip() for text in wanted)
    # Blank phrases only (empty clips): no voice to measure, nothing to synthesize.
    texts = list(dict.fromkeys([*wanted, *REFERENCE_PHRASES])) if spoken else wanted
    notes: dict[str, None] = {}

    def note(message: str) -> None:
        notes.setdefault(message)

    folder = private_cache_folder(
        default_cache_dir() if cache_dir is None else Path(cache_dir), note
    )

    raw: dict[str, Clip] = {}
    misses: list[str] = []
    keys: dict[str, str] = {}
    for text in texts:
        if not text.strip():
            raw[text] = Clip(np.zeros(0, dtype=np.float32), engine.samplerate)
            continue
        keys[text] = cache_key(text, settings, engine)
        cached = None if folder is None else load_entry(folder / f"{keys[text]}.wav", keys[text])
        if cached is None:
            misses.append(text)
        else:
            raw[text] = cached
            if on_clip is not None:
                on_clip(text, cached)
    stats.cache_hits += len(texts) - len(misses)
    done = len(texts) - len(misses)
    if progress is not None:
        progress(done, len(texts))

    if misses:
        unsaved: dict[str, int] = {}

        def save(text: str, clip: Clip) -> None:
            assert folder is not None
            problem = store_entry(folder / f"{keys[text]}.wav", keys[text], clip)
            if problem is not None:
                unsaved[problem] = unsaved.get(problem, 0) + 1

        def report_unsaved(note: Callable[[str], None]) -> None:
            for problem, count in unsaved.items():
                note(
                    f"{count} phrase{'s' if count > 1 else ''} could not be saved in the "
                    f"speech cache {folder} ({problem}); the session goes on, and they "
                    "will be synthesized again next time"
                )

        def made(index: int, clip: Clip) -> None:
            nonlocal done
            text = misses[index]
            clip = Clip(
                clip.samples,
                clip.samplerate,
                clip_digest(keys[text], clip.samplerate, clip.samples),
            )
            if folder is not None:
                if pending is None:
                    save(text, clip)
                else:
                    pending.add(functools.partial(save, text, clip))
            raw[text] = clip
            if on_clip is not None:
                on_clip(text, clip)
            done += 1
            if progress is not None:
                progress(done, len(texts))

        # The reference phrases first: the voice's gain, which every clip needs, is
        # known as soon as they are.
        references = [text for text in misses if text in REFERENCE_PHRASES]
        misses = [*references, *(text for text in misses if text not in REFERENCE_PHRASES)]
        n = min(workers or engine.processes, len(misses))
        synthesize_in_workers(
            misses,
            engine.settings,
            n,
            made,
            engine.speakers(n),
            advice=engine.advice,
            first=len(references),
        )
        if pending is None:
            report_unsaved(note)
        elif folder is not None:
            pending.add(functools.partial(report_unsaved, on_note or (lambda _: None)))
    if on_note is not None:
        for message in notes:
            on_note(message)
    if not level:
        return {text: raw[text] for text in texts}
    gain = voice_gain_db([raw[t] for t in REFERENCE_PHRASES], settings) if spoken else 0.0
    return {text: level_clip(raw[text], gain) for text in wanted}
