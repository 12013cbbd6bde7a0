"""The state machine on a fake clock: weights, hand-overs, queueing, holds, idle variety."""

from __future__ import annotations

import numpy as np
import pytest

from reactive.core.geometry import smoothstep
from reactive.live.player import EMOTION, IDLE
from reactive.live.states import ClipInfo, StateMachine
from reactive.params import StateParams

FPS = 30.0


def clips():
    return [
        ClipInfo("idle", IDLE, frame_count=301, fps=FPS, loop=True),
        ClipInfo("idle_b", IDLE, frame_count=200, fps=FPS),
        ClipInfo("smile", EMOTION, frame_count=61, fps=FPS, peak=30),
        ClipInfo("surprise", EMOTION, frame_count=46, fps=FPS, peak=20),
    ]


def machine(seed=0, **kw):
    return StateMachine(clips(), StateParams(**kw), rng=np.random.default_rng(seed))


def pose(layers):
    """A stand-in for the blended offsets: each clip's 'pose' is a distinct smooth curve of
    its frame position, so blending shows up as a weighted sum."""
    return sum(l.weight * (10.0 * l.clip + np.sin(l.position / 7.0)) for l in layers)


def test_smoothstep_ends_and_midpoint():
    assert smoothstep(-1) == 0.0 and smoothstep(0) == 0.0
    assert smoothstep(1) == 1.0 and smoothstep(2) == 1.0
    assert smoothstep(0.5) == pytest.approx(0.5)


def test_starts_idle_and_weights_always_sum_to_one():
    m = machine()
    rng = np.random.default_rng(1)
    assert m.clips[m.layers(0.0)[0].clip].role == IDLE
    for n in range(1, 900):
        now = n / FPS
        if rng.random() < 0.1:
            m.trigger(rng.choice(["smile", "surprise", "idle_b"]), now)
        layers = m.layers(now)
        assert sum(l.weight for l in layers) == pytest.approx(1.0, abs=1e-9)
        assert all(l.weight >= 0 for l in layers)
        assert len(layers) <= m.params.max_layers


def test_a_trigger_starts_a_transition_from_the_current_pose():
    m = machine()
    before = pose(m.layers(1.0))
    assert m.trigger("smile", 1.0)
    at = m.layers(1.0)
    # At the trigger the new clip has weight 0: the picture does not jump.
    assert pose(at) == pytest.approx(before, abs=1e-9)
    assert m.current == "smile"
    # Halfway through the transition it counts half; after it, fully (alone).
    mid = {m.clips[l.clip].name: l.weight for l in m.layers(1.0 + 0.125)}
    assert mid["smile"] == pytest.approx(0.5, abs=1e-6)
    after = m.layers(1.0 + 0.3)
    assert [m.clips[l.clip].name for l in after] == ["smile"]


def test_emotion_plays_once_then_returns_to_idle():
    m = machine()
    m.layers(0.0)
    m.trigger("smile", 0.5)
    smile = m.clips[m.by_name["smile"]]
    assert m.busy(0.6)
    end = 0.5 + smile.duration_s + 0.3
    names = {m.clips[l.clip].name for l in m.layers(end)}
    assert names <= {"idle", "idle_b"}
    assert not m.busy(end)


def test_triggers_faster_than_transitions_queue_instead_of_stacking():
    m = machine()
    m.layers(0.0)
    m.trigger("smile", 1.0)
    m.trigger("surprise", 1.05)   # during smile's transition: waits
    m.trigger("idle_b", 1.10)     # replaces the waiting request
    assert m.current == "smile"
    layers = m.layers(1.1)
    assert len(layers) == 2
    m.layers(1.0 + 0.25)          # smile's transition over: the latest request starts
    assert m.current == "idle_b"
    assert "surprise" not in {m.clips[l.clip].name for l in m.layers(1.3)}


def test_smooth_under_a_trigger_every_third_of_a_second():
    """The blended pose changes no faster with triggers every 0.3 s than the clips
    themselves allow (pose derivative bounded by the curves' own slope)."""
    m = machine(seed=3)
    prev = None
    worst = 0.0
    names = ["smile", "surprise"]
    for n in range(0, 600):
        now = n / 60.0
        if n % 18 == 0:
            m.trigger(names[(n // 18) % 2], now)
        p = pose(m.layers(now))
        if prev is not None:
            worst = max(worst, abs(p - prev))
        prev = p
    # Clip levels differ by 10 per index; a 0.25 s smoothstep moves at most 1.5 x 10 x
    # (1/60) / 0.25 = 1.0 per 60 Hz frame between the two furthest clips (plus the curve).
    assert worst < 1.2


def test_same_emotion_on_its_way_up_is_not_restarted():
    m = machine()
    m.layers(0.0)
    m.trigger("smile", 1.0)
    m.layers(1.4)
    m.trigger("smile", 1.4)  # still rising to its peak (frame 30 at 2.0 s)
    top = [l for l in m.layers(1.5) if m.clips[l.clip].name == "smile"]
    assert len(top) == 1 and top[0].position == pytest.approx(15.0)


def test_hold_pauses_at_the_peak_until_released():
    m = machine()
    m.layers(0.0)
    m.trigger("smile", 1.0, hold=True)
    for now in (3.0, 5.0, 9.0):
        layers = m.layers(now)
        smile = [l for l in layers if m.clips[l.clip].name == "smile"]
        assert smile and smile[0].position == pytest.approx(30.0)
        assert smile[0].weight == pytest.approx(1.0)
    m.release("smile", 9.0)
    smile = [l for l in m.layers(9.5) if m.clips[l.clip].name == "smile"]
    assert smile[0].position == pytest.approx(30.0 + 15.0)
    names = {m.clips[l.clip].name for l in m.layers(9.0 + 1.5)}
    assert "smile" not in names


def test_unknown_state_is_refused():
    m = machine()
    assert not m.trigger("nope", 0.0)


def test_idle_never_repeats_as_a_short_loop():
    """60 s of idle: the (clip, frame) sequence is not periodic with any period under 20 s."""
    m = machine(seed=5)
    seq = []
    for n in range(0, 60 * 10):
        now = n / 10.0
        top = max(m.layers(now), key=lambda l: l.weight)
        seq.append(top.clip * 1000 + round(top.position))
    seq = np.array(seq)
    for period in range(10, 200):  # 1 s .. 20 s at 10 samples per second
        same = np.mean(seq[period:] == seq[:-period])
        assert same < 0.5, f"idle repeats with a period of {period / 10} s"


def test_transition_time_zero_is_a_cut():
    m = machine(transition_s=0.0)
    m.layers(0.0)
    m.trigger("smile", 1.0)
    assert [m.clips[l.clip].name for l in m.layers(1.0)] == ["smile"]


def test_needs_a_clip():
    with pytest.raises(ValueError, match="clips"):
        StateMachine([])


def test_without_idle_clips_it_rests_on_the_first_clips_neutral_frame():
    only = [ClipInfo("smile", EMOTION, frame_count=61, fps=FPS, peak=30, rest=4),
            ClipInfo("surprise", EMOTION, frame_count=46, fps=FPS, peak=20)]
    m = StateMachine(only, StateParams(), rng=np.random.default_rng(0))
    for now in (0.0, 1.0, 7.0):
        (layer,) = m.layers(now)
        assert (layer.clip, layer.position) == (0, 4.0)
    m.trigger("surprise", 8.0)
    end = 8.0 + only[1].duration_s + 0.3
    (layer,) = m.layers(end)
    assert (layer.clip, layer.position) == (0, 4.0)
    # Playing the first clip itself plays it, not its rest pose.
    m.trigger("smile", 20.0)
    top = max(m.layers(21.0), key=lambda l: l.weight)
    assert top.clip == 0 and top.position == pytest.approx(30.0)
