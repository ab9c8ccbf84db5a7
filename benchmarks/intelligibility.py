"""Intelligibility benchmark: how many of the coach's words an offline recogniser mishears.

For each voice, renders each routine exactly as a user would
(``voicecoach render ROUTINE --as-written --samplerate 16000 --timeline T [--voice V]
[--rate R]``), cuts every speech cue out of the rendered *mix* over the cue's own frame
span (so a tone sounding over the word is in the cut: that masking is part of what is
measured), and transcribes each cut with pocketsphinx (the en-US acoustic model and
dictionary inside its wheel) and a language model built from the routine's own phrases:
a listener who knows what the coach may say. Word error rate (substitutions, deletions
and insertions over the reference words, after the same normalisation of both sides) is
printed overall and by cue role, for cues with and without a tone over them, per voice.

The language model is built from ``voicecoach compile --json --as-written`` (every phrase
the routine means to say, whatever the voice), so every voice faces the same model.
Words missing from the pocketsphinx dictionary (exercise names such as "Pallof") get a
pronunciation from espeak-ng's en-US letter-to-sound rules, mapped from IPA to the
dictionary's ARPAbet phones; they are listed with that pronunciation, and any word that
cannot be given one is reported (it then always counts as an error).

Each cut is sent with 300 ms of digital silence either side (cut flush, a word loses
its first phoneme to the recogniser's start-up), and transcribed twice: as rendered
("clean": exact digital silence, the way issue 10 measured) and with a quiet room's noise
floor added (white noise at -60 dBFS, some 40 dB under the speech; "room"). The two can
differ a lot for formant speech (espeak-ng): the recogniser, trained on recordings that
always have a floor, hears words in digital silence and mishears synthetic words that
have none; see README.md and RESULTS.md.

Run from the repository root:

    python -m benchmarks.intelligibility                          # back-basics, default voice
    python -m benchmarks.intelligibility --voice default --voice gmw/en-us
    python -m benchmarks.intelligibility --routine big-three --voice piper:joe --json out.json

Options: ``--routine FILE|NAME`` (repeatable; default the shipped back-basics),
``--voice V`` (repeatable, passed to ``voicecoach render --voice``; ``default`` means no
``--voice``), ``--rate WPM`` (passed to every render), ``--cache DIR`` (speech cache;
default a fresh temporary one), ``--keep DIR`` (keep the renders, timelines and language
models there), ``--json FILE`` (every figure, and every cue's reference and hypothesis),
``--worst N`` (print the N worst cues), ``--pad-ms MS`` (silence around each cut, 300),
``--noise-dbfs DB`` (the room's floor, -60), ``--seed N`` (the noise's seed, 0).
``--samplerate`` must stay 16000 (the
acoustic model's rate). Needs ``pocketsphinx>=5`` (the test extra) and ``espeak-ng`` for
out-of-dictionary words.
"""

# The IPA table below is made of characters that look like Latin letters on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

SAMPLERATE = 16_000  # the en-US acoustic model's rate
PAD_S = 0.3  # silence around each cut (see `padded`)
NOISE_DBFS = -60.0  # the "room" condition's noise floor (see `to_pcm16`)
DEFAULT_ROUTINE = "back-basics"
DEFAULT_VOICE = "default"  # no --voice: what voicecoach picks by itself

# --- Text normalisation -------------------------------------------------------------------

# fmt: off
_ONES = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
# fmt: on


def number_words(n: int) -> list[str]:
    """An integer from 0 to 999,999,999 in English words, as a listener hears it said.

    ``21`` is ``["twenty", "one"]`` (the recogniser's dictionary has no hyphenated
    numbers), ``105`` is ``["one", "hundred", "five"]``.
    """
    if not 0 <= n < 1_000_000_000:
        raise ValueError(f"number out of range: {n}")
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        tens, ones = divmod(n, 10)
        return [_TENS[tens]] + ([_ONES[ones]] if ones else [])
    for size, name in ((1_000_000, "million"), (1000, "thousand"), (100, "hundred")):
        if n >= size:
            high, low = divmod(n, size)
            return number_words(high) + [name] + (number_words(low) if low else [])
    raise AssertionError("unreachable")


_TOKEN = re.compile(r"\d+(?:\.\d+)?|[a-z]+(?:'[a-z]+)*")


def normalise(text: str) -> list[str]:
    """The words of ``text`` as the recogniser spells them: lower case, no punctuation.

    Digits become words ("Rep 10" -> ``rep ten``; "2.5" -> ``two point five``), hyphens
    and other punctuation separate words ("Curl-up." -> ``curl up``), apostrophes inside
    a word stay ("That's" -> ``that's``, as in the dictionary), accents are dropped.
    """
    folded = unicodedata.normalize("NFKD", text.lower().replace("\u2019", "'"))
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    words: list[str] = []
    for token in _TOKEN.findall(folded):
        if token[0].isdigit():
            whole, _, fraction = token.partition(".")
            words += number_words(int(whole))
            if fraction:
                words += ["point"] + [_ONES[int(d)] for d in fraction]
        else:
            words.append(token)
    return words


# --- Word error rate ----------------------------------------------------------------------


def word_errors(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    """Levenshtein distance on words: substitutions + deletions + insertions."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        current = [i]
        for j, hyp in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1]


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of ``hypothesis`` against ``reference``, both normalised (0.0 to ...).

    Can exceed 1.0 when the hypothesis inserts words. An empty reference gives 0.0 for an
    empty hypothesis and ``inf`` otherwise.
    """
    ref, hyp = normalise(reference), normalise(hypothesis)
    if not ref:
        return 0.0 if not hyp else float("inf")
    return word_errors(ref, hyp) / len(ref)


# --- The language model and dictionary ----------------------------------------------------


def lm_corpus(texts: Iterable[str]) -> list[str]:
    """The language model's sentences: each distinct spoken text, normalised, sorted.

    One sentence per phrase (not per distinct occurrence) so that no phrase is favoured
    for being said often; empty phrases are left out.
    """
    return sorted({" ".join(words) for text in texts if (words := normalise(text))})


def build_lm(sentences: Sequence[str]) -> str:
    """An ARPA trigram model of ``sentences`` (pocketsphinx's own builder, as ``pocketsphinx_lm
    -a``: each sentence between ``<s>`` and ``</s>``)."""
    from pocketsphinx.lm import ArpaBoLM

    model = ArpaBoLM(text="\n".join(sentences) + "\n", add_start=True)
    model.compute()
    out = io.StringIO()
    model.write(out)
    return out.getvalue()


# espeak-ng's en-US IPA to the CMU dictionary's phones. Longest match first; stress and
# length marks are dropped (the pocketsphinx dictionary has no stress).
_IPA_TO_ARPABET: dict[str, tuple[str, ...]] = {
    "aɪə": ("AY", "ER"),
    "aʊ": ("AW",),
    "aɪ": ("AY",),
    "eɪ": ("EY",),
    "oʊ": ("OW",),
    "əʊ": ("OW",),
    "ɔɪ": ("OY",),
    "tʃ": ("CH",),
    "dʒ": ("JH",),
    "ɑɹ": ("AA", "R"),
    "ɔɹ": ("AO", "R"),
    "ɛɹ": ("EH", "R"),
    "ɪɹ": ("IH", "R"),
    "ʊɹ": ("UH", "R"),
    "ɜɹ": ("ER",),
    "əl": ("AH", "L"),
    "ɑ": ("AA",),
    "ɒ": ("AA",),
    "æ": ("AE",),
    "a": ("AE",),
    "ʌ": ("AH",),
    "ə": ("AH",),
    "ɐ": ("AH",),
    "ɚ": ("ER",),
    "ɜ": ("ER",),
    "ɔ": ("AO",),
    "ɛ": ("EH",),
    "e": ("EH",),
    "ɪ": ("IH",),
    "ᵻ": ("IH",),
    "i": ("IY",),
    "o": ("OW",),
    "ʊ": ("UH",),
    "u": ("UW",),
    "p": ("P",),
    "b": ("B",),
    "t": ("T",),
    "d": ("D",),
    "ɾ": ("T",),  # the American flap: the dictionary spells "water" W AO T ER
    "k": ("K",),
    "ɡ": ("G",),
    "g": ("G",),
    "f": ("F",),
    "v": ("V",),
    "θ": ("TH",),
    "ð": ("DH",),
    "s": ("S",),
    "z": ("Z",),
    "ʃ": ("SH",),
    "ʒ": ("ZH",),
    "h": ("HH",),
    "m": ("M",),
    "n": ("N",),
    "ŋ": ("NG",),
    "l": ("L",),
    "ɫ": ("L",),
    "ɹ": ("R",),
    "r": ("R",),
    "w": ("W",),
    "j": ("Y",),
    "x": ("K",),
    "ʔ": ("T",),  # a glottal stop for t ("button"): the dictionary writes the t
}
_IPA_IGNORED = set("ˈˌːˑ‿-. \u0361\u032f\u0306")
_SYLLABIC = "\u0329"  # n̩, l̩: a schwa before the consonant


def ipa_to_arpabet(ipa: str) -> list[str]:
    """ARPAbet phones (as in the CMU dictionary) for one word's IPA from espeak-ng.

    Raises
    ------
    ValueError
        A symbol the table does not know: better no pronunciation than a wrong one.
    """
    phones: list[str] = []
    i = 0
    longest = max(len(k) for k in _IPA_TO_ARPABET)
    while i < len(ipa):
        ch = ipa[i]
        if ch in _IPA_IGNORED:
            i += 1
            continue
        if ch == _SYLLABIC:
            if phones:
                phones.insert(len(phones) - 1, "AH")
            i += 1
            continue
        for size in range(longest, 0, -1):
            # Length marks sit inside diphthongs and r-colourings ("ɑːɹ"): look past them.
            chunk = ipa[i : i + size + 2].replace("ː", "")[:size]
            if len(chunk) == size and chunk in _IPA_TO_ARPABET:
                phones += _IPA_TO_ARPABET[chunk]
                consumed = 0
                while consumed < size:
                    if ipa[i] != "ː":
                        consumed += 1
                    i += 1
                break
        else:
            raise ValueError(f"no ARPAbet phone for {ch!r} in {ipa!r}")
    return phones


def espeak_ipa(word: str) -> str:
    """espeak-ng's en-US pronunciation of one word, in IPA (needs ``espeak-ng`` on PATH)."""
    done = subprocess.run(
        ["espeak-ng", "-v", "en-us", "-q", "--ipa", word],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def read_dictionary(path: Path) -> dict[str, list[str]]:
    """A pocketsphinx dictionary: word -> its lines (the word's alternates ``word(2)`` too)."""
    entries: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        head = line.split(maxsplit=1)[0]
        entries.setdefault(re.sub(r"\(\d+\)$", "", head), []).append(line)
    return entries


@dataclass
class Lexicon:
    """The dictionary for a vocabulary: its text, and what had to be done for missing words.

    ``guessed`` maps each out-of-dictionary word to the phones given to it;
    ``unknown`` lists the words no pronunciation could be found for.
    """

    text: str
    guessed: dict[str, list[str]] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)


def lexicon(words: Iterable[str], dictionary: Mapping[str, list[str]]) -> Lexicon:
    """The dictionary lines for ``words``, guessing missing ones with espeak-ng's rules."""
    lines: list[str] = []
    result = Lexicon("")
    for word in sorted(set(words)):
        if word in dictionary:
            lines += dictionary[word]
            continue
        try:
            phones = ipa_to_arpabet(espeak_ipa(word)) if shutil.which("espeak-ng") else []
        except (ValueError, subprocess.CalledProcessError):
            phones = []
        if phones:
            result.guessed[word] = phones
            lines.append(f"{word} {' '.join(phones)}")
        else:
            result.unknown.append(word)
    result.text = "\n".join(lines) + "\n"
    return result


# --- Cutting the render -------------------------------------------------------------------


def cue_span(cue: Mapping[str, Any], samplerate: int) -> tuple[int, int]:
    """A cue's frames ``[start, end)`` in a render at ``samplerate``.

    The as-rendered timeline stores ``start_frame / samplerate`` (and ``end``), so
    rounding gives the frames back exactly.
    """
    return round(cue["at"] * samplerate), round(cue["end"] * samplerate)


def cut(audio: np.ndarray, span: tuple[int, int]) -> np.ndarray:
    """Mono samples of ``audio`` (frames x channels, or mono) over ``span``, channels averaged."""
    start, end = span
    if not 0 <= start <= end <= audio.shape[0]:
        raise ValueError(f"span {span} outside the render's {audio.shape[0]} frames")
    piece = audio[start:end]
    return piece.mean(axis=1) if piece.ndim == 2 else piece


def padded(samples: np.ndarray, frames: int) -> np.ndarray:
    """``samples`` with ``frames`` of digital silence before and after.

    The recogniser models an utterance as silence, words, silence: cut flush to the
    word, it loses the first phoneme ("Breathe in." heard as "reach the"; 70 % instead of
    46 % of words wrong on back-basics). Zeros add no sound of the session's own.
    """
    silence = np.zeros(frames, dtype=np.float32)
    return np.concatenate([silence, samples.astype(np.float32, copy=False), silence])


def tone_overlaps(cues: Sequence[Mapping[str, Any]]) -> list[bool]:
    """For each speech cue of an as-rendered timeline (in order), whether a tone sounds over it.

    A tone overlaps a word when their spans ``[at, end)`` share any time, including a tone
    that starts at the same instant as the word.
    """
    tones = [(c["at"], c["end"]) for c in cues if c["kind"] == "tone"]
    return [
        any(at < c["end"] and end > c["at"] for at, end in tones)
        for c in cues
        if c["kind"] == "speech"
    ]


# --- Recognition --------------------------------------------------------------------------


def to_pcm16(samples: np.ndarray, noise_dbfs: float | None = None, seed: object = 0) -> bytes:
    """Float samples in [-1, 1] as 16-bit little-endian PCM, the recogniser's input.

    ``noise_dbfs``: white Gaussian noise of that RMS (dBFS) is added first, seeded by
    ``seed`` (anything `numpy.random.default_rng` takes); ``None`` adds none, so digital
    silence stays exact zeros.
    """
    x = np.asarray(samples, dtype=np.float64)
    if noise_dbfs is not None:
        rng = np.random.default_rng(seed)  # type: ignore[arg-type]
        x = x + rng.standard_normal(x.shape) * 10 ** (noise_dbfs / 20)
    return bytes(np.round(np.clip(x, -1.0, 1.0) * 32767).astype("<i2").tobytes())


class Recogniser:
    """pocketsphinx with its en-US acoustic model, a given language model and dictionary."""

    def __init__(self, lm_path: Path, dict_path: Path, samplerate: int = SAMPLERATE) -> None:
        from pocketsphinx import Config, Decoder

        config = Config(lm=str(lm_path), dict=str(dict_path), samprate=samplerate, loglevel="FATAL")
        self._decoder = Decoder(config)

    def transcribe(
        self, samples: np.ndarray, noise_dbfs: float | None = None, seed: object = 0
    ) -> str:
        """The words heard in ``samples`` (mono float), as one string (empty if none).

        ``noise_dbfs`` and ``seed``: see `to_pcm16`. The decoder is reused, but each call
        is one whole utterance (its own cepstral mean), so the result does not depend on
        what was transcribed before.
        """
        decoder = self._decoder
        decoder.start_utt()
        decoder.process_raw(to_pcm16(samples, noise_dbfs, seed), False, True)
        decoder.end_utt()
        hyp = decoder.hyp()
        return str(hyp.hypstr) if hyp is not None else ""


def recogniser_for(phrases: Iterable[str], folder: Path) -> tuple[Recogniser, Lexicon]:
    """A recogniser whose language model is ``phrases`` (files written into ``folder``)."""
    from pocketsphinx import get_model_path

    sentences = lm_corpus(phrases)
    vocabulary = {w for s in sentences for w in s.split()}
    lex = lexicon(vocabulary, read_dictionary(Path(get_model_path("en-us/cmudict-en-us.dict"))))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "corpus.txt").write_text("\n".join(sentences) + "\n", encoding="utf-8")
    (folder / "domain.lm").write_text(build_lm(sentences), encoding="utf-8")
    (folder / "domain.dict").write_text(lex.text, encoding="utf-8")
    return Recogniser(folder / "domain.lm", folder / "domain.dict"), lex


# --- Tallies ------------------------------------------------------------------------------


@dataclass
class Heard:
    """One speech cue: what was said, what was heard, and the word errors."""

    routine: str
    at: float
    role: str
    text: str
    heard: str
    words: int
    errors: int
    tone_over: bool


@dataclass
class Tally:
    """Word counts of a group of cues."""

    cues: int = 0
    words: int = 0
    errors: int = 0

    @property
    def wer(self) -> float:
        """Errors over reference words (``nan`` for no words)."""
        return self.errors / self.words if self.words else float("nan")

    def add(self, heard: Heard) -> None:
        """Count one cue in."""
        self.cues += 1
        self.words += heard.words
        self.errors += heard.errors


def tally(heard: Iterable[Heard]) -> dict[str, Tally]:
    """Tallies ``all``, ``role:<role>`` (in order of first appearance), ``tone over`` and
    ``no tone over``."""
    out: dict[str, Tally] = {"all": Tally()}
    roles: dict[str, Tally] = {}
    split = {"tone over": Tally(), "no tone over": Tally()}
    for h in heard:
        out["all"].add(h)
        roles.setdefault(h.role, Tally()).add(h)
        split["tone over" if h.tone_over else "no tone over"].add(h)
    out.update({f"role:{r}": t for r, t in roles.items()})
    out.update(split)
    return out


# --- Running voicecoach -------------------------------------------------------------------


class BenchError(Exception):
    """A failure to report in one line (a render that failed, a missing tool)."""


def _voicecoach(args: Sequence[str], env: Mapping[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "voicecoach", *args],
        env=dict(env),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise BenchError(f"voicecoach {' '.join(args)} failed: {last}")
    return done.stdout


def routine_phrases(routine: str, env: Mapping[str, str]) -> list[str]:
    """Every text the routine means to say (the compiled timeline, as written)."""
    doc = json.loads(_voicecoach(["compile", routine, "--json", "--as-written"], env))
    return [c["text"] for c in doc["cues"] if c.get("text")]


def render(
    routine: str,
    voice: str,
    rate: int | None,
    samplerate: int,
    out: Path,
    env: Mapping[str, str],
) -> tuple[np.ndarray, dict[str, Any], float]:
    """Render ``routine`` with ``voice``; its samples, as-rendered timeline and seconds taken."""
    import soundfile

    wav, timeline = out.with_suffix(".wav"), out.with_suffix(".json")
    args = [routine, "--as-written", "--samplerate", str(samplerate)]
    args += ["-o", str(wav), "--timeline", str(timeline)]
    if voice != DEFAULT_VOICE:
        args += ["--voice", voice]
    if rate is not None:
        args += ["--rate", str(rate)]
    began = time.monotonic()
    _voicecoach(["render", *args], env)
    seconds = time.monotonic() - began
    audio, sr = soundfile.read(str(wav), dtype="float32", always_2d=True)
    if sr != samplerate:
        raise BenchError(f"{wav} is at {sr} Hz, not the {samplerate} Hz asked for")
    return audio, json.loads(timeline.read_text(encoding="utf-8")), seconds


def transcribe_render(
    routine: str,
    audio: np.ndarray,
    doc: Mapping[str, Any],
    samplerate: int,
    recogniser: Recogniser,
    *,
    pad_s: float = PAD_S,
    noise_dbfs: float | None = None,
    seed: int = 0,
) -> list[Heard]:
    """Cut, pad with silence and transcribe every speech cue of one render.

    With ``noise_dbfs``, each cue's noise is seeded with ``seed`` and its start frame: a
    phrase said 60 times is heard through 60 different noises, and a rerun gives the same
    figures.
    """
    cues = doc["cues"]
    speech = [c for c in cues if c["kind"] == "speech"]
    heard = []
    for cue, over in zip(speech, tone_overlaps(cues), strict=True):
        span = cue_span(cue, samplerate)
        piece = padded(cut(audio, span), round(pad_s * samplerate))
        text = recogniser.transcribe(piece, noise_dbfs, (seed, span[0]))
        ref = normalise(cue["text"])
        heard.append(
            Heard(
                routine=routine,
                at=cue["at"],
                role=cue["role"],
                text=cue["text"],
                heard=text,
                words=len(ref),
                errors=word_errors(ref, normalise(text)),
                tone_over=over,
            )
        )
    return heard


# --- Report -------------------------------------------------------------------------------


def format_table(voice: str, conditions: Mapping[str, Mapping[str, Tally]]) -> str:
    """One voice's table: WER overall, by role (worst first in the first condition), with
    and without a tone over; one errors/WER column pair per condition."""
    first = next(iter(conditions.values()))
    head = f"  {'group':<18} {'cues':>5} {'words':>6}"
    for name in conditions:
        head += f" {name + ' err':>14} {'WER':>7}"
    lines = [f"voice {voice}", head]

    def row(label: str, key: str) -> None:
        t = first[key]
        line = f"  {label:<18} {t.cues:5d} {t.words:6d}"
        for tallies in conditions.values():
            c = tallies[key]
            rate = f"{c.wer * 100:6.1f}%" if c.words else f"{'-':>7}"
            line += f" {c.errors:14d} {rate}"
        lines.append(line)

    row("all", "all")
    roles = [k for k in first if k.startswith("role:")]
    for key in sorted(roles, key=lambda k: (-first[k].wer, k)):
        row(f"  {key.removeprefix('role:')}", key)
    for key in ("tone over", "no tone over"):
        row(key, key)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m benchmarks.intelligibility [--voice V ...]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--routine",
        action="append",
        help=f"routine file or shipped name, repeatable (default: {DEFAULT_ROUTINE})",
    )
    parser.add_argument(
        "--voice",
        action="append",
        help=f"voice for voicecoach render --voice, repeatable ('{DEFAULT_VOICE}': none given)",
    )
    parser.add_argument("--rate", type=int, help="words per minute, for every voice")
    parser.add_argument("--samplerate", type=int, default=SAMPLERATE, help="render rate (Hz)")
    parser.add_argument(
        "--pad-ms", type=int, default=round(PAD_S * 1000), help="silence around each cut"
    )
    parser.add_argument(
        "--noise-dbfs",
        type=float,
        default=NOISE_DBFS,
        help=f"the room condition's noise floor (default {NOISE_DBFS:g})",
    )
    parser.add_argument("--seed", type=int, default=0, help="the room noise's seed")
    parser.add_argument("--cache", type=Path, help="speech cache folder (default: a fresh one)")
    parser.add_argument("--keep", type=Path, help="keep the renders, timelines and LM here")
    parser.add_argument("--json", type=Path, help="also write every figure and cue here")
    parser.add_argument("--worst", type=int, default=0, help="also print the N worst cues")
    args = parser.parse_args(argv)
    if args.samplerate != SAMPLERATE:
        # The acoustic model is 16 kHz; anything else must be resampled first, which
        # would measure the resampler too.
        parser.error(f"--samplerate must be {SAMPLERATE} (the acoustic model's rate)")
    if args.pad_ms < 0 or args.worst < 0 or args.seed < 0:
        parser.error("--pad-ms, --seed and --worst cannot be negative")
    if not -120 <= args.noise_dbfs <= 0:
        parser.error("--noise-dbfs must be from -120 to 0")
    work = Path(tempfile.mkdtemp(prefix="voicecoach-intelligibility-"))
    try:
        print_json = run(args, work)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(print_json, indent=1) + "\n", encoding="utf-8")
    return 0


def command_line(args: argparse.Namespace) -> str:
    """The command that gives these figures again, as it would be typed."""
    words = ["python", "-m", "benchmarks.intelligibility"]
    for r in args.routine or []:
        words += ["--routine", r]
    for v in args.voice or []:
        words += ["--voice", v]
    if args.rate is not None:
        words += ["--rate", str(args.rate)]
    if args.pad_ms != round(PAD_S * 1000):
        words += ["--pad-ms", str(args.pad_ms)]
    if args.noise_dbfs != NOISE_DBFS:
        words += ["--noise-dbfs", f"{args.noise_dbfs:g}"]
    if args.seed:
        words += ["--seed", str(args.seed)]
    return " ".join(shlex.quote(w) for w in words)


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    try:
        espeak = subprocess.run(
            ["espeak-ng", "--version"], capture_output=True, text=True, check=False
        ).stdout.split()
        espeak_version = espeak[3] if len(espeak) > 3 else "?"
    except OSError:
        espeak_version = "not installed"
    return {
        "python": platform.python_version(),
        "pocketsphinx": version("pocketsphinx"),
        "espeak-ng": espeak_version,
        "voicecoach": version("voicecoach"),
    }


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Render, cut, transcribe and print, in ``work``; every figure, for ``--json``."""
    try:
        import pocketsphinx  # noqa: F401
    except ImportError:
        raise BenchError("pocketsphinx is not installed: pip install -e '.[test]'") from None
    routines: list[str] = args.routine or [DEFAULT_ROUTINE]
    voices: list[str] = list(dict.fromkeys(args.voice or [DEFAULT_VOICE]))
    keep: Path = args.keep or work
    keep.mkdir(parents=True, exist_ok=True)
    env = dict(
        os.environ,
        VOICECOACH_CACHE_DIR=str(args.cache or work / "cache"),
        # No user overrides (earcons, settings) and no history: the routine as shipped.
        VOICECOACH_CONFIG_DIR=str(work / "config"),
        VOICECOACH_DATA_DIR=str(work / "data"),
    )
    uname = platform.uname()
    report: dict[str, Any] = {
        "command": command_line(args),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{uname.system} {uname.release} {uname.machine}, {os.cpu_count()} CPUs",
        "versions": _versions(),
        "samplerate": args.samplerate,
        "pad_ms": args.pad_ms,
        "noise_dbfs": args.noise_dbfs,
        "seed": args.seed,
        "rate": args.rate,
        "routines": routines,
        "lexicon": {},
        "voices": {},
    }
    print(report["command"])
    print(
        f"{report['date']}; {report['machine']}; "
        + ", ".join(f"{k} {v}" for k, v in report["versions"].items())
    )
    recognisers: dict[str, Recogniser] = {}
    for i, routine in enumerate(routines):
        recogniser, lex = recogniser_for(routine_phrases(routine, env), keep / f"lm-{i}")
        recognisers[routine] = recogniser
        report["lexicon"][routine] = {"guessed": lex.guessed, "unknown": lex.unknown}
        for word, phones in lex.guessed.items():
            print(f"{routine}: '{word}' is not in the dictionary; espeak-ng: {' '.join(phones)}")
        for word in lex.unknown:
            print(f"{routine}: '{word}' has no pronunciation: always counted as an error")
    # "clean": the render as is (issue 10's measure); "room": a quiet room's noise floor.
    conditions: dict[str, float | None] = {"clean": None, "room": args.noise_dbfs}
    print(f"clean: as rendered; room: plus white noise at {args.noise_dbfs:g} dBFS")
    for voice in voices:
        heard: dict[str, list[Heard]] = {c: [] for c in conditions}
        overlaps = speech_cues = 0
        render_s = 0.0
        for i, routine in enumerate(routines):
            name = f"{i}-{Path(routine).stem}-{re.sub(r'[^A-Za-z0-9]+', '_', voice)}"
            audio, doc, seconds = render(
                routine, voice, args.rate, args.samplerate, keep / name, env
            )
            render_s += seconds
            over = tone_overlaps(doc["cues"])
            overlaps += sum(over)
            speech_cues += len(over)
            for condition, noise in conditions.items():
                heard[condition] += transcribe_render(
                    routine,
                    audio,
                    doc,
                    args.samplerate,
                    recognisers[routine],
                    pad_s=args.pad_ms / 1000,
                    noise_dbfs=noise,
                    seed=args.seed,
                )
        tallies = {c: tally(h) for c, h in heard.items()}
        print()
        print(format_table(voice, tallies))
        print(f"  speech cues with a tone over them: {overlaps} of {speech_cues}")
        print(f"  render (synthesis included): {render_s:.1f} s")
        for condition, cues in heard.items():
            if args.worst:
                print(f"  worst {args.worst} cues, {condition}:")
                worst = sorted(cues, key=lambda h: (-h.errors / max(1, h.words), h.at))
                for h in worst[: args.worst]:
                    print(f"    {h.at:8.2f} {h.role:<9} {h.text!r} -> {h.heard!r}")
        report["voices"][voice] = {
            "tone_overlaps": overlaps,
            "speech_cues": speech_cues,
            "render_s": render_s,
            "conditions": {
                c: {
                    "tallies": {k: {**asdict(t), "wer": t.wer} for k, t in tallies[c].items()},
                    "cues": [asdict(h) for h in heard[c]],
                }
                for c in conditions
            },
        }
    return report


if __name__ == "__main__":
    sys.exit(main())
