# IPA in the pronunciation tests looks like Latin letters on purpose.
# ruff: noqa: RUF001
"""Tests of the intelligibility benchmark: its pure parts, and the real recogniser on real speech.

The recogniser tests synthesize with espeak-ng itself and transcribe with pocketsphinx
(both real), so they show that the measuring instrument can tell speech it knows from
silence, not just that the code runs.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import soxr

from benchmarks.intelligibility import (
    NOISE_DBFS,
    PAD_S,
    SAMPLERATE,
    Heard,
    Recogniser,
    build_lm,
    cue_span,
    cut,
    ipa_to_arpabet,
    lexicon,
    lm_corpus,
    normalise,
    number_words,
    padded,
    read_dictionary,
    recogniser_for,
    tally,
    to_pcm16,
    tone_overlaps,
    wer,
    word_errors,
)

REPO = Path(__file__).resolve().parents[2]

# --- Text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "zero"),
        (7, "seven"),
        (19, "nineteen"),
        (20, "twenty"),
        (30, "thirty"),
        (45, "forty five"),
        (100, "one hundred"),
        (105, "one hundred five"),
        (1_250, "one thousand two hundred fifty"),
        (2_000_003, "two million three"),
    ],
)
def test_number_words(n: int, words: str) -> None:
    assert " ".join(number_words(n)) == words


def test_number_words_refuses_negative_numbers() -> None:
    with pytest.raises(ValueError, match="out of range"):
        number_words(-1)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Curl-up. Set 1 of 1.", "curl up set one of one"),
        ("Rest 30 seconds. Release the brace.", "rest thirty seconds release the brace"),
        ("That's the session.", "that's the session"),
        ("That\u2019s it", "that's it"),
        ("Next: Side plank, set 1 of 2.", "next side plank set one of two"),
        ("Hold 2.5 seconds", "hold two point five seconds"),
        ("Stand side-on; feet hip-width!", "stand side on feet hip width"),
        ("Café", "cafe"),
        ("...", ""),
    ],
)
def test_normalise(text: str, words: str) -> None:
    assert " ".join(normalise(text)) == words


# --- Word error rate ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "hyp", "errors"),
    [
        ("a b c", "a b c", 0),
        ("a b c", "a x c", 1),  # substitution
        ("a b c", "a c", 1),  # deletion
        ("a b c", "a b b c", 1),  # insertion
        ("a b c", "", 3),
        ("", "a b", 2),
        ("set one of one", "on while", 4),
        ("breathe in", "reach the", 2),
        ("a b c d", "b c d a", 2),
    ],
)
def test_word_errors(ref: str, hyp: str, errors: int) -> None:
    assert word_errors(ref.split(), hyp.split()) == errors


def test_wer_normalises_both_sides() -> None:
    assert wer("Rep 1", "rep one") == 0.0
    assert wer("Curl-up. Set 1 of 1.", "curl up set one of one") == 0.0
    assert wer("Relax. Left side next.", "relax right side next") == 0.25
    assert wer("Relax.", "") == 1.0
    assert wer("Rep 1", "rep one one one") == 1.0  # two insertions over two words


def test_wer_of_an_empty_reference() -> None:
    assert wer("", "") == 0.0
    assert wer("...", "hello") == float("inf")


# --- Language model and dictionary --------------------------------------------------------


def test_lm_corpus_is_each_distinct_phrase_once_normalised() -> None:
    texts = ["Breathe in.", "Breathe out.", "Breathe in.", "breathe in", "Rep 1", "", "!"]
    assert lm_corpus(texts) == ["breathe in", "breathe out", "rep one"]


def test_build_lm_is_an_arpa_model_of_the_phrases() -> None:
    arpa = build_lm(["breathe in", "breathe out", "rep one"])
    assert "\n\\data\\\n" in arpa
    assert arpa.rstrip().endswith("\\end\\")
    unigrams = arpa.split("\\1-grams:")[1].split("\\2-grams:")[0]
    words = {line.split()[1] for line in unigrams.strip().splitlines()}
    assert words == {"<s>", "</s>", "breathe", "in", "out", "rep", "one"}


@pytest.mark.parametrize(
    ("ipa", "phones"),
    [
        ("ɡlˈuːts", "G L UW T S"),
        ("pˈælɑːf", "P AE L AA F"),
        ("kˈaʊntɚklˌɑːkwaɪz", "K AW N T ER K L AA K W AY Z"),
        ("wˈɔːɾɚ", "W AO T ER"),
        ("kˈɑːɹ", "K AA R"),
        ("ðˈɛɹ", "DH EH R"),
        ("tʃˈɪn", "CH IH N"),
        ("bˈʌʔn̩", "B AH T AH N"),
    ],
)
def test_ipa_to_arpabet(ipa: str, phones: str) -> None:
    assert " ".join(ipa_to_arpabet(ipa)) == phones


def test_ipa_to_arpabet_refuses_a_symbol_it_does_not_know() -> None:
    with pytest.raises(ValueError, match="no ARPAbet phone"):
        ipa_to_arpabet("kˈʏ")


def test_lexicon_copies_known_words_and_guesses_the_others_with_espeak_ng(
    tmp_path: Path,
) -> None:
    dictionary = tmp_path / "tiny.dict"
    dictionary.write_text("press P R EH S\nthe DH AH\nthe(2) DH IY\n", encoding="utf-8")
    lex = lexicon(["the", "pallof", "press"], read_dictionary(dictionary))
    assert lex.guessed == {"pallof": ["P", "AE", "L", "AA", "F"]}  # real espeak-ng, en-US
    assert lex.unknown == []
    assert lex.text.splitlines() == [
        "pallof P AE L AA F",
        "press P R EH S",
        "the DH AH",
        "the(2) DH IY",
    ]


def test_the_shipped_routines_vocabulary_is_all_pronounceable() -> None:
    from pocketsphinx import get_model_path

    from voicecoach.paths import shipped_routines
    from voicecoach.routine import load_routine
    from voicecoach.timeline import compile_routine

    texts = [
        c.text
        for path in shipped_routines().values()
        for c in compile_routine(load_routine(path)).cues
        if c.text
    ]
    words = {w for s in lm_corpus(texts) for w in s.split()}
    lex = lexicon(words, read_dictionary(Path(get_model_path("en-us/cmudict-en-us.dict"))))
    assert lex.unknown == []
    # Today only two words are missing from the CMU dictionary; a new exercise name shows
    # up here, which is the point: each guess deserves a look.
    assert set(lex.guessed) <= {"glutes", "pallof"}


# --- Cutting ------------------------------------------------------------------------------


def test_cue_span_gives_back_the_frames_of_the_as_rendered_timeline() -> None:
    sr = 16_000
    for start, end in [(0, 11476), (123_457, 130_001), (19_999_999, 20_000_017)]:
        cue = {"at": start / sr, "end": end / sr}
        assert cue_span(cue, sr) == (start, end)


def test_cut_takes_the_span_and_averages_channels() -> None:
    audio = np.stack([np.arange(10.0), np.arange(10.0) + 2], axis=1).astype(np.float32)
    assert cut(audio, (3, 6)).tolist() == [4.0, 5.0, 6.0]
    assert cut(np.arange(10.0), (8, 10)).tolist() == [8.0, 9.0]
    with pytest.raises(ValueError, match="outside"):
        cut(audio, (8, 11))


def test_padded_adds_digital_silence_on_both_sides() -> None:
    x = padded(np.ones(3, dtype=np.float32), 2)
    assert x.tolist() == [0, 0, 1, 1, 1, 0, 0]
    assert x.dtype == np.float32


def test_tone_overlaps_counts_any_shared_time_including_the_same_instant() -> None:
    cues = [
        {"kind": "speech", "at": 0.0, "end": 1.0},  # no tone over it
        {"kind": "tone", "at": 1.0, "end": 1.2},  # starts with the next word
        {"kind": "speech", "at": 1.0, "end": 2.0},
        {"kind": "tone", "at": 2.2, "end": 2.6},  # ends inside the next word
        {"kind": "speech", "at": 2.5, "end": 3.0},
        {"kind": "tone", "at": 3.0, "end": 3.1},  # between two words, touching both
        {"kind": "speech", "at": 3.1, "end": 4.0},
    ]
    assert tone_overlaps(cues) == [False, True, True, False]


def test_tally_groups_by_role_and_tone() -> None:
    def heard(role: str, words: int, errors: int, over: bool) -> Heard:
        return Heard("r", 0.0, role, "", "", words, errors, over)

    t = tally([heard("count", 2, 2, True), heard("cue", 10, 1, False), heard("count", 2, 0, False)])
    assert (t["all"].cues, t["all"].words, t["all"].errors) == (3, 14, 3)
    assert t["role:count"].wer == 0.5
    assert t["role:cue"].wer == 0.1
    assert (t["tone over"].words, t["no tone over"].words) == (2, 12)
    assert list(t) == ["all", "role:count", "role:cue", "tone over", "no tone over"]


# --- The real recogniser ------------------------------------------------------------------

PHRASES = [
    "Breathe in.",
    "Breathe out.",
    "Keep breathing.",
    "Stop before pain.",
    "Brace and squeeze the glutes; keep breathing.",
    "Neutral spine, brace before every set, keep breathing.",
]


def espeak_clip(text: str, voice: str = "en-us") -> np.ndarray:
    """``text`` spoken by espeak-ng itself, at the recogniser's rate."""
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "--stdout", text], capture_output=True, check=True
    ).stdout
    samples, sr = soundfile.read(io.BytesIO(wav), dtype="float32")
    return np.asarray(soxr.resample(samples, sr, SAMPLERATE), dtype=np.float32)


@pytest.fixture(scope="module")
def recogniser(tmp_path_factory: pytest.TempPathFactory) -> Recogniser:
    rec, lex = recogniser_for(PHRASES, tmp_path_factory.mktemp("lm"))
    assert lex.guessed.keys() == {"glutes"}
    return rec


@pytest.mark.parametrize("noise", [None, NOISE_DBFS])
def test_espeak_ng_speech_is_transcribed_with_a_low_error_rate(
    recogniser: Recogniser, noise: float | None
) -> None:
    # Over all the phrases: on a single one the recogniser can slip. Measured: no word
    # wrong in 24 clean, 1 or 2 with the room's noise depending on its seed.
    pad = round(PAD_S * SAMPLERATE)
    errors = words = 0
    for seed, text in enumerate(PHRASES):
        heard = recogniser.transcribe(padded(espeak_clip(text), pad), noise, seed)
        errors += word_errors(normalise(text), normalise(heard))
        words += len(normalise(text))
    assert errors / words <= 0.15


def test_silence_is_all_words_missed(recogniser: Recogniser) -> None:
    silence = np.zeros(SAMPLERATE, dtype=np.float32)
    heard = recogniser.transcribe(silence, NOISE_DBFS)
    assert heard == ""
    assert wer("Stop before pain.", heard) == 1.0
    # Exact digital zeros are another matter: pocketsphinx may hear a word in them (it
    # heard "keep", or "in"), which still leaves every word of the phrase missed.
    assert wer("Stop before pain.", recogniser.transcribe(silence)) >= 1.0


def test_a_word_cut_flush_is_misheard_and_padding_fixes_it(recogniser: Recogniser) -> None:
    # Why the benchmark pads its cuts with silence: the recogniser needs some around a word.
    clip = espeak_clip("Breathe in.")
    nonzero = np.flatnonzero(np.abs(clip) > 1e-3)
    flush = clip[nonzero[0] : nonzero[-1] + 1]
    assert wer("Breathe in.", recogniser.transcribe(padded(flush, round(PAD_S * SAMPLERATE)))) == 0
    assert wer("Breathe in.", recogniser.transcribe(flush)) > 0


# --- The command --------------------------------------------------------------------------

ROUTINE = """\
[routine]
title = "Tiny"

[defaults]
rest = 0
get_ready = 3
countdown = 2
brace = false
breathing = false

[[exercise]]
name = "Front plank"
kind = "hold"
hold = 3
reps = 1
"""


@pytest.mark.e2e  # voicecoach processes of its own
def test_the_command_measures_every_speech_cue_of_a_real_render(tmp_path: Path) -> None:
    routine = tmp_path / "tiny.toml"
    routine.write_text(ROUTINE, encoding="utf-8")
    out = tmp_path / "out.json"
    keep = tmp_path / "keep"
    done = subprocess.run(
        [
            *(sys.executable, "-m", "benchmarks.intelligibility", "--routine", str(routine)),
            *("--voice", "gmw/en-us", "--json", str(out), "--keep", str(keep)),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    figures = report["voices"]["gmw/en-us"]
    timeline = json.loads(next(keep.glob("*.json")).read_text(encoding="utf-8"))
    speech = [c for c in timeline["cues"] if c["kind"] == "speech"]
    assert set(figures["conditions"]) == {"clean", "room"}
    clean = figures["conditions"]["clean"]
    assert [c["text"] for c in clean["cues"]] == [c["text"] for c in speech]
    assert figures["speech_cues"] == len(speech)
    assert figures["tone_overlaps"] == sum(tone_overlaps(timeline["cues"]))
    words = sum(len(normalise(c["text"])) for c in speech)
    assert clean["tallies"]["all"]["words"] == words
    assert figures["conditions"]["room"]["tallies"]["all"]["words"] == words
    assert "voice gmw/en-us" in done.stdout


@pytest.mark.e2e  # a voicecoach process of its own
def test_a_missing_routine_is_one_line_and_exit_1(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.intelligibility", "--routine", "no-such-routine"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: voicecoach compile no-such-routine")
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_to_pcm16_adds_seeded_noise_of_the_asked_level_or_none() -> None:
    zeros = np.zeros(16_000, dtype=np.float32)
    assert not np.frombuffer(to_pcm16(zeros), dtype="<i2").any()  # clean: exact zeros
    pcm = np.frombuffer(to_pcm16(zeros, -60.0, (0, 5)), dtype="<i2").astype(np.float64)
    rms_dbfs = 20 * np.log10(np.sqrt(np.mean(pcm**2)) / 32767)
    assert -60.2 < rms_dbfs < -59.8
    assert to_pcm16(zeros, -60.0, (0, 5)) == to_pcm16(zeros, -60.0, (0, 5))
    assert to_pcm16(zeros, -60.0, (0, 5)) != to_pcm16(zeros, -60.0, (1, 5))
    full = np.frombuffer(to_pcm16(np.array([1.0, -1.0, 2.0, 0.5], dtype=np.float32)), "<i2")
    assert full.tolist() == [32767, -32767, 32767, 16384]


def test_a_transcript_does_not_depend_on_what_was_transcribed_before(
    recogniser: Recogniser,
    tmp_path: Path,
) -> None:
    pad = round(PAD_S * SAMPLERATE)
    clip = padded(espeak_clip("Keep breathing."), pad)
    fresh, _ = recogniser_for(PHRASES, tmp_path)
    first = fresh.transcribe(clip, NOISE_DBFS, 3)
    for text in PHRASES[:3]:
        recogniser.transcribe(padded(espeak_clip(text), pad), NOISE_DBFS, 7)
    assert recogniser.transcribe(clip, NOISE_DBFS, 3) == first
