"""The mixer makes up time the device lost (an underrun) in the next long silence, in memory.

A device that runs dry plays silence of its own: every later frame sounds that much late.
`Mixer.lost` is told how much, and the plan skips as much of its next silent stretch
outside work. These tests compare the output with the render sample by sample: the only
difference allowed is the skipped silence, and after it every cue is back on its sample
of the device clock (output frames plus the frames the device lost).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_mixer import SR, Session, drive, two_exercises
from voicecoach.commands import Command
from voicecoach.mixer import CATCH_UP_KEEP_S, CATCH_UP_MIN_GAP_S, Mixer
from voicecoach.schedule import Plan


def lose_at(mixer: Mixer, at: int, frames: int, blocksize: int = 256) -> np.ndarray:
    """Play to output frame ``at``, lose ``frames`` there, then play to the end."""
    head = drive(mixer, blocksize, max_frames=at)
    mixer.lost(frames)
    return np.concatenate([head, drive(mixer, blocksize)])


def phase_at(plan: Plan, frame: int) -> str:
    return next(ps.segment.phase for ps in plan.segments if ps.start_frame <= frame < ps.end_frame)


def quiet_span(plan: Plan, frame: int) -> tuple[int, int]:
    """The silence of the plan around ``frame``: no event sounds in it."""
    before = max((e.end_frame for e in plan.events if e.start_frame <= frame), default=0)
    after = min((e.start_frame for e in plan.events if e.start_frame > frame), default=frame)
    return before, after


def work_frames(mixer: Mixer, plan: Plan) -> list[int]:
    """The length of every work segment as played, from the mixer's log."""
    return [round(w.seconds * SR) for w in mixer.work_log]


@pytest.mark.parametrize("lost", [1, 117, 2000])
def test_time_lost_in_a_hold_is_made_up_in_the_next_rest_and_nothing_else_changes(
    lost: int,
) -> None:
    s = Session(two_exercises())
    render = drive(s.mixer(), 512)
    hold = next(ps for ps in s.plan.segments if ps.segment.phase == "work")
    mixer = s.mixer()
    out = lose_at(mixer, hold.start_frame + SR, lost)

    assert [c.frames for c in mixer.catch_ups] == [lost]
    skip = mixer.catch_ups[0]
    cut = range(skip.plan_frame, skip.plan_frame + lost)
    # The output is the render less the skipped frames, which were silence outside work
    # in a long quiet stretch, leaving at least CATCH_UP_KEEP_S of it.
    np.testing.assert_array_equal(out, np.delete(render, cut))
    assert not render[cut.start : cut.stop].any()
    assert phase_at(s.plan, skip.plan_frame) != "work"
    before, after = quiet_span(s.plan, skip.plan_frame)
    assert after - before >= CATCH_UP_MIN_GAP_S * SR
    assert after - cut.stop >= round(CATCH_UP_KEEP_S * SR)
    # It happened at the first chance: the first long silence after the loss.
    assert skip.plan_frame > hold.start_frame + SR
    # On the device clock (frames written plus frames lost), every cue after the skip
    # sounds at its planned frame again.
    for out_frame, plan_frame, _ in mixer.events:
        if plan_frame >= cut.stop:
            assert out_frame + lost == plan_frame
    assert work_frames(mixer, s.plan) == [
        ps.frames for ps in s.plan.segments if ps.segment.phase == "work"
    ]
    assert mixer.behind_frames == 0


def test_more_time_lost_than_one_silence_holds_is_made_up_over_several() -> None:
    s = Session(two_exercises())
    mixer = s.mixer()
    lost = 12 * SR  # more than any one rest has to spare
    lose_at(mixer, SR // 2, lost)
    assert len(mixer.catch_ups) >= 2
    made_up = sum(c.frames for c in mixer.catch_ups)
    assert made_up + mixer.behind_frames == lost
    for c in mixer.catch_ups:
        assert phase_at(s.plan, c.plan_frame) != "work"
    assert work_frames(mixer, s.plan) == [
        ps.frames for ps in s.plan.segments if ps.segment.phase == "work"
    ]


def test_the_output_does_not_depend_on_the_block_size() -> None:
    s = Session(two_exercises(), shape="dc")
    outs = []
    for blocksize in (64, 256, 1000):
        mixer = s.mixer()
        outs.append(lose_at(mixer, 3 * SR, 555, blocksize))
    for other in outs[1:]:
        np.testing.assert_array_equal(outs[0], other)


def test_time_lost_while_paused_is_not_owed() -> None:
    s = Session(two_exercises())
    mixer = s.mixer()
    drive(mixer, 256, commands={SR: [Command.PAUSE]}, max_frames=2 * SR)
    assert mixer.state.paused
    mixer.lost(800)
    assert mixer.behind_frames == 0
    drive(mixer, 256, commands={3 * SR: [Command.PAUSE]})
    assert mixer.catch_ups == []


def test_a_resume_or_a_jump_starts_the_schedule_afresh() -> None:
    s = Session(two_exercises())
    mixer = s.mixer()
    drive(mixer, 256, max_frames=SR)
    mixer.lost(900)
    assert mixer.behind_frames == 900
    drive(mixer, 256, commands={SR + 256: [Command.NEXT]}, max_frames=2 * SR)
    assert mixer.behind_frames == 0
    mixer.lost(400)
    drive(
        mixer, 256, commands={2 * SR: [Command.PAUSE], 3 * SR: [Command.PAUSE]}, max_frames=4 * SR
    )
    assert mixer.behind_frames == 0
    assert mixer.catch_ups == []


@pytest.mark.parametrize("gained", [1, 700])
def test_time_gained_is_given_back_as_silence_in_the_next_rest(gained: int) -> None:
    s = Session(two_exercises())
    render = drive(s.mixer(), 512)
    hold = next(ps for ps in s.plan.segments if ps.segment.phase == "work")
    mixer = s.mixer()
    out = lose_at(mixer, hold.start_frame + SR, -gained)

    assert [c.frames for c in mixer.catch_ups] == [-gained]
    at = mixer.catch_ups[0].plan_frame
    assert phase_at(s.plan, at) != "work"
    before, _ = quiet_span(s.plan, at)
    assert at - gained >= before
    # The output is the render with that much more of the same silence.
    np.testing.assert_array_equal(out, np.insert(render, at, np.zeros(gained, np.float32)))
    for out_frame, plan_frame, _ in mixer.events:
        if plan_frame >= at:
            assert out_frame - gained == plan_frame
    assert work_frames(mixer, s.plan) == [
        ps.frames for ps in s.plan.segments if ps.segment.phase == "work"
    ]
    assert mixer.behind_frames == 0


def test_nothing_is_owed_for_a_loss_of_no_frames_or_after_the_end() -> None:
    s = Session(two_exercises())
    mixer = s.mixer()
    mixer.lost(0)
    assert mixer.behind_frames == 0
    drive(mixer, 512)
    mixer.lost(100)
    assert mixer.behind_frames == 0


def test_quiet_ahead_is_true_only_before_a_silence_that_long() -> None:
    # The player swaps the device stream where this says so: the frames it promises
    # silent must be silent in the output, and a routine with rests must offer some.
    s = Session(two_exercises())
    render = drive(s.mixer(), 256)
    mixer = s.mixer()
    span = SR // 2
    promised = 0
    for at in range(0, len(render), 256):
        if mixer.quiet_ahead(span):
            promised += 1
            assert not render[at : at + span].any(), at
        drive(mixer, 256, max_frames=at + 256)
    assert promised > 0
    paused = s.mixer()
    drive(paused, 256, commands={SR: [Command.PAUSE]}, max_frames=2 * SR)
    assert paused.state.paused and not paused.quiet_ahead(1)
