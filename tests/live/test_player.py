"""The live player on the built-in clips and the bundled sample portrait: trigger latency,
smoothness under rapid triggers, the headless recorder, events and overlays' actions."""

from __future__ import annotations

import numpy as np
import pytest

from reactive.core.synthesis import Layer
from reactive.io.assets import BUILTIN_CLIPS_DIR, SAMPLE_PORTRAIT
from reactive.live.build import build_player
from reactive.live.headless import run_headless
from reactive.live.triggers import Event

SIZE = 320  # small: these tests are about behaviour, not pixels per second
FPS = 30.0

pytestmark = pytest.mark.skipif(not any(BUILTIN_CLIPS_DIR.glob("*.npz")),
                                reason=f"no built-in clips in {BUILTIN_CLIPS_DIR}; run "
                                       "`python -m precompute synth`")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def make_player(cache, monkeypatch):
    monkeypatch.setenv("REACTIVE_CACHE", str(cache))

    def make(seed=0):
        return build_player(SAMPLE_PORTRAIT, max_side=SIZE, seed=seed)

    return make


def _change(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute grey-level change between two frames."""
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_the_first_frame_after_a_trigger_already_moves_toward_the_new_state(make_player):
    base, trig = make_player(seed=1), make_player(seed=1)
    emotion = trig.triggers.emotions[0]
    k = trig.state_names.index(emotion)
    t_event = 2.0
    for n in range(int(t_event * FPS) + 1):
        now = n / FPS
        base.render(now)
        trig.render(now)
    trig.handle(Event(t_event, "key", key="1"), t_event)
    now = t_event + 1 / FPS
    base.render(now)
    trig.render(now)
    moved = trig.synthesis.offsets - base.synthesis.offsets
    assert np.abs(moved).max() > 1e-3, "the first frame after the trigger did not move"
    weight = {trig.clips[l.clip].name: l.weight for l in trig.last_layers}
    assert 0 < weight[emotion] < 0.5
    # Toward where the emotion is at that moment (its own offsets), from where idle is.
    layer = next(l for l in trig.last_layers if l.clip == k)
    toward = trig.synthesis.tables[k][int(layer.position)] - base.synthesis.offsets
    assert float((moved * toward).sum()) > 0


def _record(player, duration_s, events):
    frames = []
    run_headless(player, duration_s=duration_s, fps=FPS, events=events,
                 write=lambda f: frames.append(f.copy()))
    return frames


def test_rapid_triggers_change_the_picture_no_faster_than_the_clips_themselves(make_player):
    """Issue: with a trigger every 0.3 s, the largest frame-to-frame change stays within
    1.5x of the largest during undisturbed playback of the same clips."""
    player = make_player(seed=2)
    emotions = list(player.triggers.emotions)
    # Undisturbed: each emotion played once to its end, idle between.
    events, t = [], 1.0
    for name in emotions:
        events.append(Event(t, "key", key=str(emotions.index(name) + 1)))
        t += player.clips[player.state_names.index(name)].pack.frame_count / \
            player.clips[player.state_names.index(name)].pack.fps + 1.0
    calm = _record(player, t, events)
    calm_max = max(_change(a, b) for a, b in zip(calm, calm[1:]))
    # Rapid: a trigger every 0.3 s, cycling through the same emotions.
    rapid_player = make_player(seed=2)
    keys = [str(i + 1) for i in range(min(9, len(emotions)))]
    rapid_events = [Event(0.5 + 0.3 * j, "key", key=keys[j % len(keys)]) for j in range(40)]
    rapid = _record(rapid_player, 0.5 + 0.3 * 40 + 1.0, rapid_events)
    rapid_max = max(_change(a, b) for a, b in zip(rapid, rapid[1:]))
    print(f"largest frame-to-frame change: undisturbed {calm_max:.2f}, "
          f"trigger every 0.3 s {rapid_max:.2f} (ratio {rapid_max / calm_max:.2f})")
    assert rapid_max <= 1.5 * calm_max


def test_headless_recording_follows_the_script(make_player, tmp_path):
    player = make_player()
    frames = _record(player, 3.0, [Event(0.5, "key", key="space"),
                                   Event(1.0, "pointer", x=0.0, y=0.0),
                                   Event(2.0, "click", x=10.0, y=10.0)])
    assert len(frames) == 90
    assert frames[0].shape[:2] == player.shape
    assert player.pointer == (0.0, 0.0)
    # The script's "quit" ends the recording early.
    player = make_player()
    frames = _record(player, 3.0, [Event(1.0, "key", key="q")])
    assert len(frames) == 30


def test_window_actions_are_returned_not_played(make_player):
    player = make_player()
    player.render(0.0)
    assert player.handle(Event(0.1, "key", key="h"), 0.1).kind == "toggle_help"
    assert player.handle(Event(0.1, "key", key="f"), 0.1).kind == "toggle_fps"
    assert player.handle(Event(0.1, "key", key="escape"), 0.1).kind == "quit"
    assert player.handle(Event(0.1, "key", key="1"), 0.1) is None
    assert player.machine.current == player.triggers.emotions[0]


def test_every_state_renders_without_error(make_player):
    player = make_player()
    now = 0.0
    for name in player.state_names:
        assert player.play(name, now)
        for _ in range(10):
            now += 0.1
            frame = player.render(now)
            assert frame.dtype == np.uint8 and frame.shape[2] == 3


def test_teeth_off_darkens_the_open_mouth(cache, monkeypatch, tmp_path):
    """The sample smiles with her upper teeth: those are the photo's and stay; what opens
    below them (the lower half of the opening) has the drawn lower teeth, or with
    ``teeth = false`` only the dark cavity and tongue."""
    import cv2

    from reactive.core import landmarks as lm
    from reactive.core.synthesis import Layer

    monkeypatch.setenv("REACTIVE_CACHE", str(cache))
    toml = tmp_path / "p.toml"
    toml.write_text("teeth = false\n")
    mouths = {}
    for teeth in (True, False):
        player = build_player(SAMPLE_PORTRAIT, max_side=SIZE, seed=0,
                              profile_path=None if teeth else toml)
        k = player.state_names.index("surprise")
        peak = player.machine.clips[k].peak
        layers = [Layer(k, float(peak), 1.0)]
        frame = player.synthesis.render(layers).copy()
        offsets = player.synthesis.offsets
        inner = (player.rig.rest[:lm.N_MESH] + offsets[:lm.N_MESH])[lm.LIPS_INNER]
        mask = np.zeros(frame.shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round(inner).astype(np.int32)], 1)
        mask = cv2.erode(mask, np.ones((3, 3), np.uint8))
        middle = 0.5 * (inner[5, 1] + inner[15, 1])   # between points 13 and 14
        mask[:int(np.ceil(middle))] = 0
        assert mask.sum() > 20, "surprise does not open the mouth"
        mouths[teeth] = frame[mask > 0].astype(float)
    bright = {t: float(np.percentile(v.mean(axis=1), 95)) for t, v in mouths.items()}
    # Near-white: brighter than the tongue can be (lip colour, shaded) on this photo, and
    # nearly grey (her pale lower lip, which moves with the lower lip, is as bright).
    white = {t: float(((v.mean(axis=1) > 160) & (np.ptp(v, axis=1) < 35)).mean())
             for t, v in mouths.items()}
    print(f"lower half of the open mouth: brightest 5% teeth {bright[True]:.0f}, no teeth "
          f"{bright[False]:.0f}; near-white pixels {100 * white[True]:.1f}% / "
          f"{100 * white[False]:.1f}%")
    assert bright[False] < bright[True]
    assert white[True] > 0.05
    assert white[False] < 0.01


def test_the_pointer_turns_the_eyes_first_and_the_head_after(make_player):
    """A pointer far to the right: the eyes turn quickly, the head follows more slowly (and
    a little: the eyes then need to turn less); both come back when the pointer leaves."""
    player = make_player()
    h, w = player.shape
    player.handle(Event(0.0, "pointer", x=w - 1.0, y=h / 3), 0.0)
    pulls = [player.pointer_pull(n / FPS) for n in range(int(2 * FPS))]
    gaze = np.array([p["gaze"][0] for p in pulls])
    head = np.array([p["head"][0] for p in pulls])
    # The eyes lead: half way in under half the head's time.
    half_eyes = int(np.argmax(gaze >= 0.5 * gaze.max()))
    half_head = int(np.argmax(head >= 0.5 * head[-1]))
    assert 0 < half_eyes < 0.5 * half_head
    assert 0.0 < head[-1] <= np.deg2rad(player.eye_params.max_head_yaw_deg)
    assert gaze[-1] < gaze.max()                # the eyes turn back as the head arrives
    # The frame's face-mesh points moved towards the pointer (the head turn, in the offsets).
    player.synthesis.render([Layer(0, 0.0, 1.0)], **pulls[-1])
    nose = player.synthesis.offsets[1]
    assert nose[0] > 0.5
