"""The mixer, sample-exact and in memory: onsets, fades, pause, resume, stop-pain, jumps."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Mapping

import numpy as np
import pytest

from voicecoach.commands import Command
from voicecoach.mixer import (
    PAIN_QUESTION_GAP_S,
    RESUME_GAP_S,
    Mixer,
    MixerState,
    fade_frames,
)
from voicecoach.model import Exercise, Routine
from voicecoach.outcome import Outcome
from voicecoach.phrases import (
    PAIN_QUESTION,
    RESUMING,
    SAFETY_MESSAGE,
    countdown_text,
    extra_phrases,
)
from voicecoach.schedule import Plan, PlannedSegment, plan_session, tone_lead_frames
from voicecoach.timeline import TONES, Segment, Timeline, compile_routine, estimate_speech_seconds

SR = 8000
MINUS_1_DBFS = 10 ** (-1 / 20)
F = fade_frames(SR)
FADE_IN = (np.arange(1, F + 1) / F).astype(np.float32)  # gain after each frame of a fade-in
STOP_SILENCE = round(0.25 * SR)

Clip = np.ndarray | int


def hold(index: int, name: str, reps: tuple[int, ...], seconds: float, **kw) -> Exercise:
    return Exercise(index, name, "hold", reps, hold=seconds, **kw)


def two_exercises() -> Timeline:
    return compile_routine(
        Routine(
            "Two",
            (
                hold(0, "Bird dog", (2, 2), 4, rest=5, between_reps=2),
                hold(1, "Side plank", (1,), 3),
            ),
        )
    )


def one_hold(seconds: float = 6) -> Timeline:
    return compile_routine(Routine("One", (hold(0, "Bird dog", (1,), seconds),)))


def speech_frames(text: str, sr: int = SR) -> int:
    return round(estimate_speech_seconds(text) * sr)


class Session:
    """A plan plus synthetic clips: each key a distinct impulse (or DC level)."""

    def __init__(
        self,
        tl: Timeline,
        *,
        sr: int = SR,
        shape: str = "impulse",
        values: Mapping[str, float] | None = None,
    ) -> None:
        self.sr = sr
        texts = list(dict.fromkeys([*tl.phrases(), *extra_phrases()]))
        lengths = {t: speech_frames(t, sr) for t in texts}
        lengths |= {countdown_text(k): round(0.3 * sr) for k in (1, 2, 3)}
        keys = [*texts, *(f"tone:{t}" for t in TONES)]
        # Dyadic values: any sum of a few of them is exact in float32.
        self.value = {k: (i + 1) / 1024 for i, k in enumerate(keys)}
        if values:
            self.value |= values

        def make(key: str, frames: int) -> np.ndarray:
            if shape == "impulse":
                a = np.zeros(frames, dtype=np.float32)
                a[0] = self.value[key]
                return a
            return np.full(frames, self.value[key], dtype=np.float32)

        self.clips: dict[str, Clip] = {t: make(t, n) for t, n in lengths.items()}
        self.tones = {t: make(f"tone:{t}", round(0.08 * sr)) for t in TONES}
        self.extra = {t: self.clips[t] for t in extra_phrases()}
        self.plan: Plan = plan_session(
            tl,
            {t: len(c) for t, c in self.clips.items()},
            {t: len(c) for t, c in self.tones.items()},
            sr,
        )

    def mixer(self, channels: int = 2, clips: Mapping[str, Clip] | None = None) -> Mixer:
        return Mixer(
            self.plan,
            self.clips if clips is None else clips,
            self.tones,
            channels=channels,
            extra=self.extra,
        )

    def key_value(self, kind: str, key: str) -> float:
        return self.value[key if kind == "speech" else f"tone:{key}"]


def drive(
    mixer: Mixer,
    blocksize: int = 512,
    commands: Mapping[int, list[Command]] | None = None,
    max_frames: int | None = None,
) -> np.ndarray:
    """Pull until the mixer ends (or ``max_frames``), sending commands at exact frames."""
    commands = dict(commands or {})
    blocks = []
    pos = mixer.state.output_frames  # frames are absolute: a mixer may be driven in stages
    more = True
    while more and (max_frames is None or pos < max_frames):
        for command in commands.pop(pos, []):
            mixer.send(command)
        n = blocksize
        if commands:
            n = min(n, min(commands) - pos)
        if max_frames is not None:
            n = min(n, max_frames - pos)
        block = np.full((n, mixer.channels), np.nan, dtype=np.float32)
        more = mixer.fill(block)
        blocks.append(block)
        pos += n
    assert not commands, f"commands never sent: {commands}"
    both = np.concatenate(blocks)
    assert not np.isnan(both).any(), "fill must write every frame"
    assert (both == both[:, :1]).all(), "every channel carries the mono mix"
    out = both[:, 0]
    if not more:
        # fill returned False on the block holding the last frame, and not before.
        end = mixer.state.ended_at_output_frame
        assert end is not None and pos - len(blocks[-1]) < end <= pos
        out, tail = np.split(out, [len(out) - (pos - end)])
        assert not tail.any()
    return out


def segment(plan: Plan, predicate: Callable[[Segment], bool]) -> tuple[int, PlannedSegment]:
    return next((i, ps) for i, ps in enumerate(plan.segments) if predicate(ps.segment))


# --- Playing the plan ----------------------------------------------------------------


def test_every_event_begins_at_exactly_its_planned_frame() -> None:
    s = Session(two_exercises())
    out = drive(s.mixer(), 512)
    expected = np.zeros(s.plan.total_frames, dtype=np.float32)
    for ev in s.plan.events:
        if ev.end_frame > ev.start_frame:
            expected[ev.start_frame] += s.key_value(ev.kind, ev.key)
    assert len(out) == s.plan.total_frames
    np.testing.assert_array_equal(out, expected)


def test_no_two_speech_events_sound_at_once() -> None:
    s = Session(two_exercises())
    mixer = s.mixer()
    drive(mixer, 1024)
    spans = sorted(
        (start, start + ev.end_frame - ev.start_frame)
        for start, _, ev in mixer.events
        if ev.kind == "speech"
    )
    assert len(spans) == sum(1 for e in s.plan.events if e.kind == "speech")
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end <= start


def test_work_segments_sound_exactly_the_hold_from_start_tone_to_stop_tone() -> None:
    s = Session(two_exercises())
    mixer = s.mixer()
    drive(mixer, 333)
    # A tone leads by `lead` the word said with it ("Rep 1.", "Relax."): the hold runs
    # from the tone's planned moment, which is where that word starts.
    lead = tone_lead_frames(len(s.tones["start"]), SR)
    words = {out for out, _, ev in mixer.events if ev.kind == "speech"}
    starts = [o + lead * (o + lead in words) for o, _, ev in mixer.events if ev.cue.role == "start"]
    stops = [o + lead * (o + lead in words) for o, _, ev in mixer.events if ev.cue.role == "stop"]
    holds = [4, 4, 4, 4, 3]
    assert [b - a for a, b in zip(starts, stops, strict=True)] == [h * SR for h in holds]


def test_any_blocksize_gives_identical_output_even_with_commands() -> None:
    s = Session(one_hold(6), shape="dc")
    step = 28_672  # a block boundary for blocks of 1, 7, 512 and 4096 frames
    # Pause in the intro, pause inside the hold, then back and next.
    commands = {
        step: [Command.PAUSE],
        2 * step: [Command.PAUSE],
        7 * step: [Command.PAUSE],
        8 * step: [Command.PAUSE],
        10 * step: [Command.BACK],
        11 * step: [Command.NEXT],
    }
    mixers = [s.mixer() for _ in range(4)]
    outputs = [drive(m, size, commands) for m, size in zip(mixers, (4096, 512, 7, 1), strict=True)]
    roles = [e.cue.role for _, _, e in mixers[0].events]
    assert roles.count("resume") == 2 and roles.count("start") == 2
    assert len(outputs[0]) > 12 * step
    for out in outputs[1:]:
        np.testing.assert_array_equal(out, outputs[0])
    for m in mixers[1:]:
        assert list(m.events) == list(mixers[0].events)


def test_completed_session_logs_every_work_segment_and_ends_on_its_last_frame() -> None:
    s = Session(two_exercises())
    mixer = s.mixer()
    out = drive(mixer, 4096)
    assert mixer.state.finished and mixer.state.outcome is Outcome.COMPLETED
    assert mixer.state.ended_at_output_frame == len(out) == s.plan.total_frames
    works = [(i, ps) for i, ps in enumerate(s.plan.segments) if ps.segment.phase == "work"]
    assert [(e.segment_index, e.seconds, e.completed) for e in mixer.work_log] == [
        (i, ps.frames / SR, True) for i, ps in works
    ]
    assert mixer.fill(np.ones((64, 2), dtype=np.float32)) is False


def test_silent_int_clips_keep_the_same_clock_and_events() -> None:
    s = Session(two_exercises())
    with_audio = s.mixer()
    out_audio = drive(with_audio, 1000)
    silent = s.mixer(clips={t: len(c) for t, c in s.clips.items()})
    out_silent = drive(silent, 1000)
    assert [(o, p, e.key) for o, p, e in silent.events] == [
        (o, p, e.key) for o, p, e in with_audio.events
    ]
    tones_only = np.zeros(s.plan.total_frames, dtype=np.float32)
    for ev in s.plan.events:
        if ev.kind == "tone":
            tones_only[ev.start_frame] += s.key_value("tone", ev.key)
    np.testing.assert_array_equal(out_silent, tones_only)
    assert len(out_audio) == len(out_silent)


def test_mix_is_limited_to_minus_1_dbfs_and_copied_to_every_channel() -> None:
    s = Session(
        one_hold(),
        shape="dc",
        values={f"tone:{t}": 0.9 for t in TONES} | {t: 0.9 for t in one_hold().phrases()},
    )
    mixer = s.mixer(channels=3)
    block = np.zeros((s.plan.total_frames, 3), dtype=np.float32)
    mixer.fill(block)
    # Overlapping sounds sum to 1.8 before the limiter, 0.9 alone: both over -1 dBFS.
    assert np.abs(block).max() <= MINUS_1_DBFS
    assert np.abs(block).max() > MINUS_1_DBFS - 1e-4
    assert (block == block[:, :1]).all()
    assert mixer.limiter.limited_frames > 0


def test_the_limiter_output_is_the_same_for_any_block_size() -> None:
    # Loud overlapping sounds (sums up to 2.4) and pauses: the limiter's gain follows
    # the sample clock, not the blocks.
    tl = one_hold(6)
    loud = {t: 0.8 for t in [*tl.phrases(), *extra_phrases()]} | {f"tone:{t}": 0.8 for t in TONES}
    s = Session(tl, shape="dc", values=loud)
    step = 28_672
    commands = {
        step: [Command.PAUSE],
        2 * step: [Command.PAUSE],
        7 * step: [Command.PAUSE],
        8 * step: [Command.PAUSE],
    }
    mixers = [s.mixer() for _ in range(4)]
    outputs = [drive(m, size, commands) for m, size in zip(mixers, (4096, 512, 7, 1), strict=True)]
    assert np.abs(outputs[0]).max() <= MINUS_1_DBFS
    assert mixers[0].limiter.limited_frames > 1000
    for out in outputs[1:]:
        np.testing.assert_array_equal(out, outputs[0])
    assert len({m.limiter.limited_frames for m in mixers}) == 1


def test_the_limiter_gives_the_gain_back_gently_after_a_loud_sound() -> None:
    # The intro's first half at 2.0 (7 dB over the ceiling), its second half at 0.5:
    # right after the loud part the level is still turned down, and it comes back at
    # 60 dB/s, not at once (a clip would jump straight back).
    tl = one_hold()
    s = Session(tl, shape="dc")
    intro = s.plan.events[0]
    frames = intro.end_frame - intro.start_frame
    loud = frames // 2
    clip = np.full(frames, 0.5, dtype=np.float32)
    clip[:loud] = 2.0
    out = drive(s.mixer(clips=dict(s.clips) | {intro.key: clip}), 333)
    assert np.abs(out).max() <= MINUS_1_DBFS
    heard = out[intro.start_frame : intro.end_frame]
    np.testing.assert_allclose(heard[:loud], MINUS_1_DBFS, rtol=1e-4)
    over_db = 20 * np.log10(2.0 / MINUS_1_DBFS)
    release = heard[loud : loud + round(over_db / 60 * SR)]
    assert release[0] == pytest.approx(0.5 * MINUS_1_DBFS / 2.0, rel=0.01)
    assert (np.diff(release) > 0).all()
    assert release[-1] < 0.5
    assert (heard[loud + round((over_db / 60 + 0.01) * SR) :] == 0.5).all()


def test_nan_and_infinite_samples_never_reach_the_output() -> None:
    tl = one_hold()
    s = Session(tl, shape="dc")
    intro = s.plan.events[0]
    clips = dict(s.clips)
    bad = np.full(intro.end_frame - intro.start_frame, 0.25, dtype=np.float32)
    bad[10:20] = np.nan
    bad[30] = np.inf
    bad[40] = 1e30
    clips[intro.key] = bad
    out = drive(s.mixer(clips=clips), 512)
    assert np.isfinite(out).all()
    assert np.abs(out).max() <= MINUS_1_DBFS
    assert (out[intro.start_frame + 10 : intro.start_frame + 20] == 0).all()


def test_a_block_larger_than_the_scratch_buffer_is_filled_the_same() -> None:
    s = Session(one_hold(), shape="dc")
    big = np.zeros((20_000, 2), dtype=np.float32)
    s.mixer().fill(big)
    small = drive(s.mixer(), 5000, max_frames=20_000)
    np.testing.assert_array_equal(big[:, 0], small)


# --- Pause and resume ----------------------------------------------------------------


def test_pause_is_silent_from_the_last_frame_of_a_5_ms_fade_and_freezes_the_clock() -> None:
    sr = 48_000
    fade = fade_frames(sr)
    assert fade == 240
    s = Session(one_hold(), sr=sr, shape="dc")
    intro = s.plan.events[0]
    assert intro.kind == "speech" and intro.end_frame - intro.start_frame > 10_000
    at = intro.start_frame + 3000
    mixer = s.mixer()
    out = drive(mixer, 512, {at: [Command.PAUSE]}, max_frames=at + 5 * sr)
    level = s.value[intro.key]
    np.testing.assert_array_equal(out[intro.start_frame : at], level)
    ramp = out[at : at + fade]
    assert (np.diff(ramp) < 0).all() and ramp[0] < level
    first_silent = at + int(np.flatnonzero(out[at:] == 0)[0])
    assert first_silent == at + fade - 1
    assert not out[first_silent:].any()
    assert mixer.state.paused and not mixer.state.finished
    assert mixer.state.position_frames == at + fade
    assert mixer.state.output_frames == at + 5 * sr


def test_resume_outside_work_says_resuming_then_continues_where_it_paused() -> None:
    s = Session(one_hold(), shape="dc")
    ref = drive(s.mixer(), 512)
    intro = s.plan.events[0]
    at = intro.start_frame + 1000
    back = at + 3 * SR
    mixer = s.mixer()
    out = drive(mixer, 512, {at: [Command.PAUSE], back: [Command.PAUSE]})
    resuming = len(s.extra[RESUMING])
    # "Resuming" fades in, then the pause of RESUME_GAP_S, then the plan fades back in.
    np.testing.assert_array_equal(
        out[back : back + F], s.value[RESUMING] * FADE_IN
    )  # the 5 ms fade-in
    np.testing.assert_array_equal(out[back + F : back + resuming], s.value[RESUMING])
    cont = back + resuming + round(RESUME_GAP_S * SR)
    assert not out[back + resuming : cont].any()
    paused_at = at + F
    np.testing.assert_array_equal(out[cont : cont + F], ref[paused_at : paused_at + F] * FADE_IN)
    np.testing.assert_array_equal(out[cont + F :], ref[paused_at + F :])
    assert [e.cue.role for _, _, e in mixer.events][:2] == ["intro", "resume"]


def test_resume_inside_work_counts_down_afresh_and_restarts_the_hold() -> None:
    s = Session(one_hold(6))
    ref = drive(s.mixer(), 512)
    i, work = segment(s.plan, lambda seg: seg.phase == "work")
    at = work.start_frame + 3 * SR
    back = at + 2 * SR
    mixer = s.mixer()
    out = drive(mixer, 512, {at: [Command.PAUSE], back: [Command.PAUSE]})
    count_at = back + len(s.extra[RESUMING]) + round(RESUME_GAP_S * SR)
    restart = count_at + 3 * SR
    inserted = [(o, e.cue.role, e.key) for o, _, e in mixer.events if back <= o < restart]
    lead = tone_lead_frames(len(s.tones["tick"]), SR)  # each tick leads its number
    assert inserted == [
        (back, "resume", RESUMING),
        (count_at, "countdown", "tick"),
        (count_at + lead, "countdown", "3"),
        (count_at + SR, "countdown", "tick"),
        (count_at + SR + lead, "countdown", "2"),
        (count_at + 2 * SR, "countdown", "tick"),
        (count_at + 2 * SR + lead, "countdown", "1"),
    ]
    # From the restart on, the rest of the session is the original, from the work start.
    np.testing.assert_array_equal(out[restart:], ref[work.start_frame :])
    assert out[restart] == s.value["tone:start"]
    stop = next(o for o, _, e in mixer.events if e.cue.role == "stop")
    assert stop - restart == 6 * SR
    assert [(e.segment_index, e.seconds, e.completed) for e in mixer.work_log] == [(i, 6.0, True)]
    assert mixer.state.outcome is Outcome.COMPLETED


def test_a_hold_restarted_after_a_pause_keeps_its_start_tone_ahead_of_its_count() -> None:
    # "Rep 1." is said at the work start, so its start tone leads it by 200 ms, in the
    # get-ready before the work; the restart after a pause must not lose that tone.
    s = Session(compile_routine(Routine("One", (hold(0, "Bird dog", (2,), 6),))))
    ref = drive(s.mixer(), 512)
    _, work = segment(s.plan, lambda seg: seg.phase == "work")
    tone = next(e for e in s.plan.events if e.cue.role == "start")
    assert tone.start_frame == work.start_frame - tone_lead_frames(len(s.tones["start"]), SR)
    at = work.start_frame + 2 * SR
    back = at + SR
    mixer = s.mixer()
    out = drive(mixer, 512, {at: [Command.PAUSE], back: [Command.PAUSE]})
    count_at = back + len(s.extra[RESUMING]) + round(RESUME_GAP_S * SR)
    restart = count_at + 3 * SR  # where the next tick would be: the start tone
    np.testing.assert_array_equal(out[restart:], ref[tone.start_frame :])
    assert out[restart] == s.value["tone:start"]
    words = [(o, e.key) for o, _, e in mixer.events if e.kind == "speech" and o > restart]
    assert words[0] == (restart + work.start_frame - tone.start_frame, "Rep 1.")


def test_pause_pressed_twice_within_the_fade_pauses_then_resumes() -> None:
    s = Session(one_hold(), shape="dc")
    at = s.plan.events[0].start_frame + 500
    mixer = s.mixer()
    drive(mixer, 512, {at: [Command.PAUSE, Command.PAUSE]}, max_frames=at + SR)
    roles = [e.cue.role for _, _, e in mixer.events]
    assert roles == ["intro", "resume"]
    assert [o for o, _, e in mixer.events if e.cue.role == "resume"] == [at + F]
    assert not mixer.state.paused


def test_one_way_pause_and_resume_never_toggle() -> None:
    # A media key's "pause" pressed twice, or "play" while playing, must not flip the state.
    s = Session(one_hold(), shape="dc")
    ref = drive(s.mixer(), 512)
    at = s.plan.events[0].start_frame + 5000
    back = at + 2 * SR
    mixer = s.mixer()
    out = drive(
        mixer,
        512,
        {
            at - 4000: [Command.RESUME],  # playing already: nothing happens
            at: [Command.PAUSE_ONLY, Command.PAUSE_ONLY],
            at + SR: [Command.PAUSE_ONLY],  # paused already: stays paused
            back: [Command.RESUME, Command.RESUME],
        },
    )
    np.testing.assert_array_equal(out[: at - F], ref[: at - F])
    assert not out[at + F : back].any()
    resumes = [(o, e) for o, _, e in mixer.events if e.cue.role == "resume"]
    assert [o for o, _ in resumes] == [back]  # one resume: the second RESUME found it playing
    # An inserted word's span is its length: a listener knows when the coach speaks.
    assert resumes[0][1].end_frame - resumes[0][1].start_frame == len(s.extra[RESUMING])
    assert mixer.state.outcome is Outcome.COMPLETED


# --- Stop, pain ----------------------------------------------------------------------


def check_stop(s: Session, mixer: Mixer, out: np.ndarray, silent_from: int, onset: int) -> None:
    safety = len(s.extra[SAFETY_MESSAGE])
    question = len(s.extra[PAIN_QUESTION])
    assert not out[silent_from:onset].any()
    np.testing.assert_array_equal(out[onset : onset + safety], s.value[SAFETY_MESSAGE])
    q = onset + safety + round(PAIN_QUESTION_GAP_S * SR)
    assert not out[onset + safety : q].any()
    np.testing.assert_array_equal(out[q : q + question], s.value[PAIN_QUESTION])
    assert len(out) == q + question == mixer.state.ended_at_output_frame
    assert mixer.state.finished and mixer.state.outcome is Outcome.STOP_PAIN


def pain_session() -> Session:
    values = {SAFETY_MESSAGE: 0.5, PAIN_QUESTION: 0.75}
    return Session(two_exercises(), shape="dc", values=values)


@pytest.mark.parametrize("seed", range(3))
def test_stop_pain_at_random_instants_fades_out_then_speaks_the_safety_message(seed: int) -> None:
    s = pain_session()
    rng = random.Random(seed)
    for _ in range(8):
        at = rng.randrange(1, s.plan.total_frames - 2 * F)
        mixer = s.mixer()
        out = drive(mixer, rng.choice([64, 512, 4096]), {at: [Command.STOP_PAIN]})
        check_stop(s, mixer, out, at + F - 1, at + F + STOP_SILENCE)
        report = mixer.state.stop_report
        assert report is not None and report.plan_frame == at and not report.paused
        index = s.plan.segment_index_at(at)
        ps = s.plan.segments[index]
        assert report.segment_index == index and report.phase == ps.segment.phase
        assert (report.exercise, report.set, report.rep, report.side) == (
            ps.segment.exercise,
            ps.segment.set,
            ps.segment.rep,
            ps.segment.side,
        )
        if ps.segment.phase == "work":
            assert report.seconds == (at - ps.start_frame) / SR
            if at > ps.start_frame:
                assert mixer.work_log[-1].completed is False
                assert mixer.work_log[-1].seconds == report.seconds
        else:
            assert report.seconds == 0


@pytest.mark.parametrize("seed", range(2))
def test_stop_pain_while_paused_speaks_at_once(seed: int) -> None:
    s = pain_session()
    rng = random.Random(seed)
    for _ in range(6):
        pause = rng.randrange(0, s.plan.total_frames - 2 * F)
        at = pause + rng.randrange(F, 3 * SR)
        mixer = s.mixer()
        out = drive(mixer, 512, {pause: [Command.PAUSE], at: [Command.STOP_PAIN]})
        check_stop(s, mixer, out, pause + F - 1, at + STOP_SILENCE)
        report = mixer.state.stop_report
        assert report is not None and report.paused and report.plan_frame == pause + F


@pytest.mark.parametrize("seed", range(2))
def test_stop_pain_during_the_resume_lead_in_fades_out_then_speaks(seed: int) -> None:
    s = pain_session()
    rng = random.Random(seed)
    works = [ps for ps in s.plan.segments if ps.segment.phase == "work"]
    resume_frames = len(s.extra[RESUMING]) + round(RESUME_GAP_S * SR) + 3 * SR
    for _ in range(6):
        work = rng.choice(works)
        pause = rng.randrange(work.start_frame, work.end_frame - F)
        back = pause + rng.randrange(F, SR)
        at = back + rng.randrange(F, resume_frames)
        mixer = s.mixer()
        out = drive(
            mixer,
            rng.choice([64, 512]),
            {pause: [Command.PAUSE], back: [Command.PAUSE], at: [Command.STOP_PAIN]},
        )
        check_stop(s, mixer, out, at + F - 1, at + F + STOP_SILENCE)
        assert mixer.state.position_frames == pause + F  # the lead-in never moved the plan clock
        assert mixer.state.stop_report is not None and mixer.state.stop_report.paused


def test_stop_pain_right_after_resume_fades_from_the_gain_reached() -> None:
    s = pain_session()
    pause = s.plan.events[0].start_frame + 200
    back = pause + SR
    at = back + F // 2  # halfway through the resume's fade-in
    mixer = s.mixer()
    out = drive(
        mixer, 512, {pause: [Command.PAUSE], back: [Command.PAUSE], at: [Command.STOP_PAIN]}
    )
    check_stop(s, mixer, out, at + F // 2 - 1, at + F // 2 + STOP_SILENCE)
    assert out[at - 1] == pytest.approx(out[at], abs=s.value[RESUMING] * 2 / F)


def test_quit_fades_out_and_ends_after_the_fade() -> None:
    s = Session(two_exercises(), shape="dc")
    i, work = segment(s.plan, lambda seg: seg.phase == "work")
    at = work.start_frame + SR
    mixer = s.mixer()
    out = drive(mixer, 4096, {at: [Command.QUIT]})
    assert len(out) == at + F == mixer.state.ended_at_output_frame
    assert out[-1] == 0 and out[at - 1] != 0
    assert mixer.state.outcome is Outcome.QUIT and mixer.state.stop_report is None
    assert [(e.segment_index, e.seconds, e.completed) for e in mixer.work_log] == [(i, 1.0, False)]


def test_stop_pain_overrides_a_quit_that_is_still_fading_out() -> None:
    s = pain_session()
    at = s.plan.events[0].start_frame + 200
    mixer = s.mixer()
    out = drive(mixer, 512, {at: [Command.QUIT], at + F // 2: [Command.STOP_PAIN]})
    check_stop(s, mixer, out, at + F - 1, at + F + STOP_SILENCE)


# --- Next and back -------------------------------------------------------------------


def jump(s: Session, at: int, command: Command) -> tuple[Mixer, np.ndarray]:
    """Play to ``at``, send ``command``, and play exactly the fade that follows."""
    mixer = s.mixer()
    out = drive(mixer, 512, {at: [command]}, max_frames=at + F)
    return mixer, out


def test_next_jumps_to_the_first_segment_of_the_next_exercise() -> None:
    s = Session(two_exercises())
    plan = s.plan
    i, work = segment(plan, lambda seg: seg.phase == "work" and seg.set == 1 and seg.rep == 2)
    target, ready = segment(plan, lambda seg: seg.exercise == 1)
    assert ready.segment.phase == "get_ready"
    at = work.start_frame + SR
    mixer, _ = jump(s, at, Command.NEXT)
    assert mixer.state.position_frames == ready.start_frame
    assert mixer.state.segment_index == target
    drive(mixer, 512)
    first = next(e for e in plan.events if e.start_frame >= ready.start_frame)
    after = [(o, p, e) for o, p, e in mixer.events if o >= at + F]
    assert after[0] == (at + F + first.start_frame - ready.start_frame, first.start_frame, first)
    # The interrupted rep is not a completed one.
    assert i not in [e.segment_index for e in mixer.work_log]
    assert mixer.state.ended_at_output_frame == at + F + plan.total_frames - ready.start_frame


def test_next_during_the_rest_after_an_exercise_also_lands_on_the_next_one() -> None:
    s = Session(two_exercises())
    _, rest = segment(s.plan, lambda seg: seg.phase == "rest")
    target, _ = segment(s.plan, lambda seg: seg.exercise == 1)
    mixer, _ = jump(s, rest.start_frame + 100, Command.NEXT)
    # The rest between the sets of exercise 0 belongs to exercise 0.
    assert mixer.state.segment_index == target


def test_next_in_the_last_exercise_goes_to_the_outro() -> None:
    s = Session(two_exercises())
    _, work = segment(s.plan, lambda seg: seg.phase == "work" and seg.exercise == 1)
    outro, ps = segment(s.plan, lambda seg: seg.phase == "outro")
    mixer, _ = jump(s, work.start_frame + 10, Command.NEXT)
    assert (mixer.state.segment_index, mixer.state.position_frames) == (outro, ps.start_frame)


def test_back_returns_to_the_get_ready_of_the_current_set() -> None:
    s = Session(two_exercises())
    _, work = segment(s.plan, lambda seg: seg.phase == "work" and seg.set == 2 and seg.rep == 2)
    target, ready = segment(
        s.plan, lambda seg: seg.phase == "get_ready" and seg.set == 2 and seg.exercise == 0
    )
    mixer, _ = jump(s, work.start_frame + 2 * SR, Command.BACK)
    assert (mixer.state.segment_index, mixer.state.position_frames) == (target, ready.start_frame)


def test_back_during_a_rest_returns_to_the_set_just_finished() -> None:
    s = Session(two_exercises())
    _, rest = segment(s.plan, lambda seg: seg.phase == "rest")
    target, ready = segment(s.plan, lambda seg: seg.phase == "get_ready" and seg.set == 1)
    mixer, _ = jump(s, rest.start_frame + SR, Command.BACK)
    assert (mixer.state.segment_index, mixer.state.position_frames) == (target, ready.start_frame)


def test_a_jump_fades_out_over_5_ms_before_landing() -> None:
    s = Session(two_exercises(), shape="dc")
    intro = s.plan.events[0]
    at = intro.start_frame + 100
    _, out = jump(s, at, Command.NEXT)
    assert (np.diff(out[at:]) < 0).all() and out[-1] == 0


def test_next_while_paused_moves_the_position_and_stays_paused() -> None:
    s = Session(two_exercises())
    # From the intro, the next exercise is the first one.
    target, ready = segment(s.plan, lambda seg: seg.exercise == 0)
    mixer = s.mixer()
    drive(mixer, 512, {1000: [Command.PAUSE], 5000: [Command.NEXT]}, max_frames=9000)
    assert mixer.state.paused and mixer.state.position_frames == ready.start_frame
    assert mixer.state.segment_index == target


def test_the_state_is_replaced_whole_by_each_block_and_never_changed_in_place() -> None:
    s = Session(one_hold())
    mixer = s.mixer()
    before = mixer.state
    assert before == MixerState(0, 0, 0, False, False, None, None, None)
    mixer.send(Command.QUIT)
    mixer.fill(np.zeros((256, 2), dtype=np.float32))
    after = mixer.state
    # A reader holding the old state still sees one block's values, all of them.
    assert before.output_frames == 0 and before.outcome is None
    assert after.output_frames == 256 and after.outcome is Outcome.QUIT and after.finished
    with pytest.raises(AttributeError):
        after.finished = False  # type: ignore[misc]
