"""Live puppet: the neutral from calm frames, the photo driven by camera points, the idle
portrait when nobody is seen. Fast tests drive it with the built-in clips' landmarks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from reactive.core import landmarks as lm
from reactive.core.clip import peak_frame
from reactive.io.assets import BUILTIN_CLIPS_DIR, SAMPLE_PORTRAIT
from reactive.io.clippack import load_pack
from reactive.io.video import VideoReader
from reactive.live.build import build_player
from reactive.live.puppet import CalmNeutral, is_calm, puppet_for
from reactive.params import PuppetParams
from tests.helpers import ROOT, run_python, shared_path

FPS = 30.0
pytestmark = pytest.mark.skipif(not any(BUILTIN_CLIPS_DIR.glob("*.npz")),
                                reason=f"no built-in clips in {BUILTIN_CLIPS_DIR}")


@pytest.fixture(scope="module")
def faces():
    smile, surprise = (load_pack(BUILTIN_CLIPS_DIR / f"{n}.npz") for n in ("smile", "surprise"))
    return {"neutral": smile.landmarks[smile.neutral_index],
            "smile": smile.landmarks[peak_frame(smile)],
            "surprise": surprise.landmarks[peak_frame(surprise)]}


def test_the_neutral_comes_from_calm_frames(faces):
    p = PuppetParams()
    n, s = faces["neutral"], faces["surprise"]
    assert is_calm(n, n, p) and not is_calm(s, s, p)        # the surprise opens the mouth
    assert not is_calm(n + 0.5 * lm.interocular(n) * p.max_motion_iod * 4, n, p)  # moving
    calm = CalmNeutral(p)
    got = [calm.update(n + 0.1 * k, k / FPS) for k in range(int(FPS))]
    done = [k for k, g in enumerate(got) if g is not None]
    assert done[0] == int(np.ceil(p.calm_s * FPS))           # after calm_s of calm frames
    assert np.abs(got[done[0]] - n).max() < 0.1 * done[0]    # their mean
    # A visitor who talks (mouth open) without a pause: the calmest frame after a while.
    calm = CalmNeutral(p)
    shapes = [s if k % 3 else n + (s - n) * 0.3 for k in range(int(3 * FPS))]
    got = [calm.update(x, k / FPS) for k, x in enumerate(shapes)]
    first = next(k for k, g in enumerate(got) if g is not None)
    assert first / FPS == pytest.approx(p.neutral_timeout_s, abs=1.5 / FPS)
    assert np.allclose(got[first], n + (s - n) * 0.3)


@pytest.fixture
def player(sample_player_cache, monkeypatch):
    monkeypatch.setenv("REACTIVE_CACHE", str(sample_player_cache))
    return build_player(SAMPLE_PORTRAIT, max_side=320, seed=0)


def _mouth(frame, points):
    x0, y0 = points[lm.LIPS_OUTER].min(axis=0).astype(int) - 6
    x1, y1 = points[lm.LIPS_OUTER].max(axis=0).astype(int) + 6
    return frame[y0:y1, x0:x1].astype(np.int16)


def test_the_puppet_shows_the_visitors_face_and_the_idle_portrait_without_one(player, faces):
    mode = puppet_for(player)
    size = (512, 512)
    photo = player.rig.photo
    target = player.rig.target_points
    # Nobody yet: the player's own frames.
    assert not mode.puppet.ready
    idle = mode.frame(0.0).copy()
    assert np.abs(idle.astype(int) - photo).mean() < 10
    # Calm frames: the neutral is taken, and at rest the puppet gives the photo back.
    n = faces["neutral"]
    t = 0.0
    for k in range(int(FPS)):
        t = k / FPS
        mode.on_camera(np.zeros((*size[::-1], 3), np.uint8), n, t)
    assert mode.puppet.ready
    for k in range(10):  # through the cross-fade
        rest = mode.frame(t + k / FPS).copy()
    assert np.abs(rest.astype(int) - photo).mean() < 1.5
    # The visitor smiles: the portrait's mouth changes, the rest of it hardly.
    t += 1 / FPS
    mode.on_camera(np.zeros((512, 512, 3), np.uint8), faces["smile"], t)
    smile = mode.frame(t).copy()
    mouth_change = np.abs(_mouth(smile, target) - _mouth(rest, target)).mean()
    assert mouth_change > 8, mouth_change
    # The face is lost: back to the idle portrait after the cross-fade.
    t += 1 / FPS
    mode.on_camera(np.zeros((512, 512, 3), np.uint8), None, t)
    for k in range(12):  # the cross-fade: 0.25 s
        back = mode.frame(t + (k + 1) / FPS)
    assert np.abs(back.astype(int) - photo).mean() < 10
    assert mode._mix == 0.0
    # N: the neutral is taken again from the next calm frames.
    mode.retake()
    before = mode.puppet.synthesis
    for k in range(int(FPS)):
        mode.on_camera(np.zeros((512, 512, 3), np.uint8), n + 1.0, t + (k + 1) / FPS)
    assert mode.puppet.synthesis is not before
    assert np.allclose(mode.puppet.neutral, n + 1.0)


@pytest.mark.slow
def test_headless_puppet_with_d0_as_the_camera(tmp_path):
    d0 = shared_path("driving", "d0.mp4")
    out = tmp_path / "puppet.mp4"
    done = run_python([str(ROOT / "demo.py"), str(shared_path("portraits", "s42.jpg")),
                       "--camera", str(d0), "--puppet", "--headless", "--duration", "4",
                       "--record", str(out), "--no-mic"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with VideoReader(out) as reader:
        frames = reader.read_all()
    assert len(frames) == 120
    # d0: neutral until 0.7 s, a broad smile 0.8-2.6 s; the portrait's mouth follows.
    def mouth_energy(f):
        return float(np.abs(np.diff(f[300:380, 200:320].astype(int), axis=0)).mean())
    assert mouth_energy(frames[int(1.5 * FPS)]) > 1.3 * mouth_energy(frames[int(0.5 * FPS)])


def _camera_image(points, size, inside):
    """A camera frame for ``points``: skin, lips, and ``inside`` (RGB) within the inner lips."""
    image = np.empty((size[1], size[0], 3), np.uint8)
    image[:] = (200, 150, 130)
    cv2.fillPoly(image, [np.round(points[lm.LIPS_OUTER]).astype(np.int32)], (170, 80, 85))
    cv2.fillPoly(image, [np.round(points[lm.LIPS_INNER]).astype(np.int32)], inside)
    return image


def test_the_puppets_open_mouth_shows_the_visitors_own(player, faces):
    """What is inside the visitor's lips in the camera frame is what the portrait's open
    mouth shows (colour matched); without a crop, the drawn mouth."""
    mode = puppet_for(player)
    size = (512, 512)
    n, s = faces["neutral"], faces["surprise"]
    for k in range(int(FPS)):
        mode.on_camera(_camera_image(n, size, (170, 80, 85)), n, k / FPS)
    puppet = mode.puppet
    assert puppet.ready

    def mouth_luma(inside):
        mouth = None if inside is None else puppet.crop_mouth(_camera_image(s, size, inside), s)
        frame = puppet.render(s, mouth=mouth)
        mask = np.zeros(frame.shape[:2], np.uint8)
        inner = puppet.synthesis.points_now[lm.LIPS_INNER]
        cv2.fillPoly(mask, [np.round(inner).astype(np.int32)], 1)
        mask = cv2.erode(mask, np.ones((5, 5), np.uint8)).astype(bool)
        assert mask.sum() > 50
        return float(frame[mask].astype(float).mean()), frame.copy()

    white, _ = mouth_luma((245, 245, 240))
    dark, _ = mouth_luma((25, 10, 10))
    drawn, a = mouth_luma(None)
    drawn_again, b = mouth_luma(None)
    assert white > dark + 100, (white, dark)
    np.testing.assert_array_equal(a, b)   # the drawn mouth is the fallback, every time
    assert abs(drawn - white) > 10 and abs(drawn - dark) > 10
    # The camera thread crops every tracked frame: the display's frame shows it.
    mode.on_camera(_camera_image(s, size, (245, 245, 240)), s, 2.0)
    assert mode.latest[2] is not None


def test_the_puppets_creases_are_the_visitors_own(player):
    """The portrait as its own camera: a fold drawn between the brows of a camera frame
    darkens the portrait there and nowhere else; without a face the creases are gone."""
    from tests.core.test_ratio import frown  # the same drawn fold as the core test's

    mode = puppet_for(player)
    photo, target = player.rig.photo, player.rig.target_points
    # (The sample smiles: its neutral comes after neutral_timeout_s, the calmest frame.)
    for k in range(int(3 * FPS)):
        mode.on_camera(photo, target, k / FPS)
    assert mode.puppet.ready and mode.puppet.synthesis.details is not None
    t = 3.0
    frowned, (x, y0, y1) = frown(photo, target)
    for k in range(15):  # through the cross-fade, the fold held: the causal filter settles
        t += 1 / FPS
        mode.on_camera(frowned, target, t)
        shown = mode.frame(t).copy()
    rest = mode.puppet.render(target).copy()  # the same frame without creases
    grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(int) for f in (rest, shown)]
    fold = (slice(y0 + 2, y1 - 1), slice(x - 1, x + 2))
    darker = grey[0][fold].mean() - grey[1][fold].mean()
    # Less than drawn (40 grey levels): a fold is compressed towards crease_floor, widened
    # to the photo's least fold width and made shallower on smooth skin (crease_style).
    assert darker > 3.0, darker
    away = np.ones(photo.shape[:2], bool)
    m = int(round(0.3 * lm.interocular(target)))  # the fold, widened (a few sigma)
    away[y0 - m:y1 + m, x - m:x + m + 1] = False
    assert np.abs(grey[1] - grey[0])[away].max() <= 1
    # The face lost, then back: no creases until a new ratio image is computed.
    t += 1 / FPS
    mode.on_camera(frowned, None, t)
    assert mode.latest_creases is None
    mode.puppet.render(target)
    assert mode.puppet.synthesis.shaded is None
