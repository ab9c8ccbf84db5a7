"""Benchmark of levels: the loudness of speech and tones, and what the safety limiter does.

For each shipped routine (``scripts/*.toml``, as written), synthesizes its speech with
the real speech engine and prepares it exactly as ``voicecoach render --samplerate RATE``
does (`session.prepare_speech`), then pulls the mixer three times, in blocks of 4096
frames like the file sink:

1. speech alone (tones silenced): its integrated loudness, LUFS (ITU-R BS.1770-4, gated);
2. tones alone (speech silenced): the loudness of the tone track, LUFS;
3. the whole session: the mix's peak (dBFS) before the safety limiter, how many of its
   samples are over -1 dBFS and in how many moments; then the output's peak, its
   samples over -1 dBFS (any is a failure) and at full scale, and how many frames the
   safety limiter turned down (where the mixer has one; its release included).

Then, per tone, its loudness as `dsp.clip_loudness` measures one sound (gated BS.1770 from
400 ms, else the energy over its length or 100 ms, whichever is longer), its peak, and
the speech of all routines minus the tone.

Run: ``python -m benchmarks.bench_loudness [--samplerate 48000] [--voice NAME]``.
It uses only what every version of voicecoach has (plus `dsp`'s meter), so the figures
before a change come from running it against the older checkout with this checkout's
``voicecoach/dsp.py`` (the meter) copied in. Prints figures only; no assertions.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

from voicecoach.dsp import clip_loudness, integrated_loudness
from voicecoach.earcons import EARCON_NAMES, earcon
from voicecoach.model import Voice
from voicecoach.paths import shipped_routines
from voicecoach.routine import load_routine
from voicecoach.session import Prepared, build_mixer, prepare_speech
from voicecoach.timeline import Timeline, compile_routine

MINUS_1_DBFS = 10 ** (-1 / 20)
BLOCK = 4096


def _db(value: float) -> str:
    return f"{20 * np.log10(value):6.1f}" if value > 0 else "  -inf"


def _pull(
    timeline: Timeline, prepared: Prepared, *, keep: bool
) -> tuple[np.ndarray | None, dict[str, float]]:
    """Render the session mono; the samples (if ``keep``) and figures about its peaks.

    Where the mixer has a safety limiter, the mix is also looked at just before it: how
    far over -1 dBFS it went, in how many samples, and in how many separate moments
    (over samples more than 100 ms apart).
    """
    _, mixer = build_mixer(timeline, prepared, channels=1)
    block = np.zeros((BLOCK, 1), dtype=np.float32)
    kept: list[np.ndarray] = []
    figures = {
        "peak": 0.0,
        "over": 0,
        "full": 0,
        "frames": 0,
        "mix peak": 0.0,
        "mix over": 0,
        "moments": 0,
        "limited": float("nan"),
    }
    last_over = -(10**9)
    limiter = getattr(mixer, "limiter", None)

    def look(mono: np.ndarray) -> None:
        nonlocal last_over
        magnitude = np.abs(mono)
        figures["mix peak"] = max(figures["mix peak"], float(magnitude.max()))
        at = np.flatnonzero(magnitude > MINUS_1_DBFS) + figures["frames"]
        figures["mix over"] += at.size
        for frame in at.tolist():
            if frame - last_over > rate // 10:
                figures["moments"] += 1
            last_over = frame

    rate = prepared.samplerate
    if limiter is not None:
        process = limiter.process

        def looking(mono: np.ndarray) -> None:
            look(mono)
            process(mono)

        limiter.process = looking
    more = True
    while more:
        more = mixer.fill(block)
        mono = block[:, 0]
        if limiter is None:
            look(mono)  # no limiter: what the mixer sent out is the mix (clipped at 1.0)
        magnitude = np.abs(mono)
        figures["peak"] = max(figures["peak"], float(magnitude.max()))
        figures["over"] += int(np.count_nonzero(magnitude > MINUS_1_DBFS))
        figures["full"] += int(np.count_nonzero(magnitude >= 1.0))
        figures["frames"] += BLOCK
        if keep:
            kept.append(mono.copy())
    if limiter is not None:
        figures["limited"] = limiter.limited_frames
    return (np.concatenate(kept) if keep else None), figures


def _silenced(prepared: Prepared, *, speech: bool, tones: bool) -> Prepared:
    def quiet(clip: np.ndarray | int) -> np.ndarray | int:
        return clip if isinstance(clip, int) else np.zeros_like(clip)

    return Prepared(
        prepared.samplerate,
        {t: quiet(c) if speech else c for t, c in prepared.clips.items()},
        {t: np.zeros_like(c) if tones else c for t, c in prepared.tones.items()},
        {t: quiet(c) if speech else c for t, c in prepared.extra.items()},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samplerate", type=int, default=48_000)
    parser.add_argument("--voice", default=None, help="voice name (default: the routine's)")
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="speech cache folder (default: a fresh temporary one)",
    )
    args = parser.parse_args()
    rate = args.samplerate
    cache = args.cache or Path(tempfile.mkdtemp(prefix="voicecoach-bench-"))
    config = Path(tempfile.mkdtemp(prefix="voicecoach-bench-config-"))  # no overrides
    os.environ["VOICECOACH_CONFIG_DIR"] = str(config)

    print(f"speech and tones at {rate} Hz, voice {args.voice or 'of each routine'}; cache {cache}")
    print(
        f"{'routine':<12} {'min':>5} {'speech':>7} {'tones':>7} {'mix peak':>8} "
        f"{'mix >-1':>7} {'moments':>7} {'out peak':>8} {'out >-1':>7} {'out >=0':>7} "
        f"{'limited':>8}"
    )
    speech_tracks: list[np.ndarray] = []
    for name, path in shipped_routines().items():
        routine = load_routine(path)
        timeline = compile_routine(routine)
        prepared = prepare_speech(timeline, routine, Voice(name=args.voice), rate, cache)
        speech, _ = _pull(timeline, _silenced(prepared, speech=False, tones=True), keep=True)
        tones, _ = _pull(timeline, _silenced(prepared, speech=True, tones=False), keep=True)
        _, whole = _pull(timeline, prepared, keep=False)
        assert speech is not None and tones is not None
        speech_tracks.append(speech)
        limited = whole["limited"]
        print(
            f"{name:<12} {whole['frames'] / rate / 60:5.1f} "
            f"{integrated_loudness(speech, rate):7.1f} {integrated_loudness(tones, rate):7.1f} "
            f"{_db(whole['mix peak']):>8} {int(whole['mix over']):7d} "
            f"{int(whole['moments']):7d} {_db(whole['peak']):>8} {int(whole['over']):7d} "
            f"{int(whole['full']):7d} {'n/a' if np.isnan(limited) else int(limited):>8}"
        )
    all_speech = integrated_loudness(np.concatenate(speech_tracks), rate)
    print(f"{'all':<12} {'':>7} {all_speech:11.1f}")
    print()
    print(f"{'tone':<8} {'LUFS':>6} {'peak dBFS':>9} {'speech - tone (LU)':>18}")
    for name in EARCON_NAMES:
        tone = earcon(name, rate, config / "earcons")
        loudness = clip_loudness(tone, rate)
        print(
            f"{name:<8} {loudness:6.1f} {_db(float(np.abs(tone).max())):>9} "
            f"{all_speech - loudness:18.1f}"
        )


if __name__ == "__main__":
    main()
