"""The procedural clips (precompute/synth/): action units, clips, packs, determinism, CLI.

Action units are checked on the model in template units (1 = inter-ocular distance): each
moves the landmarks it should, the way it should, and leaves the rest of the face alone.
"""

from __future__ import annotations

import math
import zlib

import cv2
import numpy as np
import pytest

from precompute import synth
from precompute.cli import main as precompute_main
from precompute.mouth import mouth_crop
from precompute.synth import exact
from precompute.track import head_motion
from reactive.core import landmarks as lm
from reactive.errors import InputError
from reactive.io.assets import BUILTIN_CLIPS_DIR
from reactive.io.clippack import load_pack, save_pack

COMMITTED = BUILTIN_CLIPS_DIR

BROWS = np.concatenate([lm.LEFT_BROW, lm.RIGHT_BROW])
INNER_BROWS = np.array([55, 107, 285, 336])   # the brows' medial ends
OUTER_BROWS = np.array([46, 70, 276, 300])    # and lateral ends
UPPER_LIDS = np.array(synth.EYES["right"]["upper"] + synth.EYES["left"]["upper"])
LOWER_LIDS = np.array(synth.EYES["right"]["lower"] + synth.EYES["left"]["lower"])
LIDS = np.concatenate([UPPER_LIDS, LOWER_LIDS])
IRISES = np.concatenate([lm.RIGHT_IRIS, lm.LEFT_IRIS])
LIPS = np.unique(np.concatenate([lm.LIPS_OUTER, lm.LIPS_INNER]))
CORNERS = np.array([61, 291])


@pytest.fixture(scope="module")
def model() -> synth.FaceModel:
    return synth.face_model()


def move(model, **values) -> np.ndarray:
    """(478, 3) displacement of the face for channel ``values`` from neutral."""
    return model.shape(values) - model.rest


def size(d: np.ndarray, ids) -> float:
    """Largest displacement length among points ``ids``."""
    return float(np.linalg.norm(d[ids], axis=1).max())


# --- template ---------------------------------------------------------------------------------

def test_template_is_symmetric_neutral_and_normalised(model):
    rest = model.rest
    pairs = synth.mirror_pairs(synth.load_template())
    np.testing.assert_array_equal(pairs[pairs], np.arange(lm.N_LANDMARKS))
    np.testing.assert_allclose(rest[pairs] * [-1, 1, 1], rest, atol=1e-12)
    assert lm.interocular(rest[:, :2]) == pytest.approx(1.0, abs=1e-6)
    # Neutral: mouth closed, eyes open as in the tracked test drivers (~0.36).
    assert lm.mouth_open_ratio(rest[:, :2]) < 1e-9
    assert 0.3 < lm.eye_open_ratio(rest[:, :2]) < 0.42
    assert np.linalg.norm(rest[291, :2] - rest[61, :2]) == pytest.approx(
        synth.NEUTRAL_MOUTH_WIDTH, abs=1e-9)


def test_template_file_loads_without_pickle_and_rejects_bad_shapes(tmp_path):
    raw = synth.load_template()
    assert raw.shape == (478, 3) and np.isfinite(raw).all()
    path = synth.save_template(raw[:5].repeat(96, axis=0)[:478], tmp_path / "t.json",
                               source="test")
    assert synth.load_template(path).shape == (478, 3)
    (tmp_path / "bad.json").write_text('{"points": [[0, 0, 0]]}')
    with pytest.raises(ValueError, match="478 x 3"):
        synth.load_template(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="`points` must be"):
        synth.normalise_points(np.zeros((468, 3)))


def test_normalise_points_removes_roll_scale_and_offset():
    raw = synth.load_template() * 80.0
    a = math.radians(20)
    rot = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    moved = raw @ rot.T + [300.0, 200.0, 5.0]
    np.testing.assert_allclose(synth.normalise_points(moved), synth.normalise_points(raw),
                               atol=1e-9)


# --- action units -----------------------------------------------------------------------------

def test_neutral_values_give_the_template(model):
    np.testing.assert_array_equal(model.shape({}), model.rest)
    with pytest.raises(ValueError, match="unknown channels"):
        model.shape({"AU99": 1.0})


def test_au1_raises_inner_brows_more_than_outer_and_nothing_below(model):
    d = move(model, AU1=1.0)
    assert (d[INNER_BROWS, 1] < -0.06).all()
    assert -d[INNER_BROWS, 1].mean() > 2 * -d[OUTER_BROWS, 1].mean()
    assert size(d, np.concatenate([LIDS, LIPS, CORNERS, [1, 152]])) < 1e-9


def test_au2_raises_outer_brows_more_than_inner(model):
    d = move(model, AU2=1.0)
    assert (d[OUTER_BROWS, 1] < -0.06).all()
    assert -d[OUTER_BROWS, 1].mean() > 2 * -d[INNER_BROWS, 1].mean()
    assert size(d, np.concatenate([LIDS, LIPS])) < 1e-9


def test_au4_lowers_and_knits_the_inner_brows(model):
    d = move(model, AU4=1.0)
    inner = model.rest[INNER_BROWS]
    assert (d[INNER_BROWS, 1] > 0.02).all()                       # down
    assert (np.sign(d[INNER_BROWS, 0]) == -np.sign(inner[:, 0])).all()  # towards the midline
    assert size(d, np.concatenate([LIDS, LIPS])) < 1e-9


def test_au5_raises_the_upper_lids_only(model):
    d = move(model, AU5=1.0)
    assert d[159, 1] < -0.03 and d[386, 1] < -0.03
    assert size(d, LOWER_LIDS) < 1e-9 and size(d, BROWS) < 1e-9 and size(d, LIPS) < 1e-9
    assert lm.eye_open_ratio(model.shape({"AU5": 1.0})[:, :2]) > \
        lm.eye_open_ratio(model.rest[:, :2]) + 0.1


def test_au6_raises_the_cheeks_and_lower_lids(model):
    d = move(model, AU6=1.0)
    cheeks = [117, 118, 346, 347]
    assert (d[cheeks, 1] < -0.02).all()
    assert (d[[145, 374], 1] < -0.01).all()
    assert size(d, UPPER_LIDS) < 1e-9 and size(d, BROWS) < 1e-9 and size(d, LIPS) < 1e-9


def test_au7_tightens_the_lids(model):
    d = move(model, AU7=1.0)
    assert (d[[145, 374], 1] < -0.02).all() and (d[[159, 386], 1] > 0.0).all()
    assert lm.eye_open_ratio(model.shape({"AU7": 1.0})[:, :2]) < \
        lm.eye_open_ratio(model.rest[:, :2]) - 0.05
    assert size(d, BROWS) < 1e-9 and size(d, LIPS) < 1e-9


def test_au9_wrinkles_the_nose_up(model):
    d = move(model, AU9=1.0)
    assert (d[[48, 278, 49, 279], 1] < -0.02).all()     # nose sides up
    assert size(d, LIDS) < 1e-9 and size(d, CORNERS) < 0.01


def test_au12_raises_and_widens_lip_corners_and_leaves_brows(model):
    d = move(model, AU12=1.0)
    assert d[61, 0] < -0.05 and d[291, 0] > 0.05          # outwards
    assert d[61, 1] < -0.05 and d[291, 1] < -0.05         # upwards
    assert size(d, [13, 14]) < 0.01                       # the lip middle stays
    assert size(d, np.concatenate([BROWS, LIDS, [1, 152]])) < 1e-9


def test_au15_pulls_the_corners_down(model):
    d = move(model, AU15=1.0)
    assert d[61, 1] > 0.05 and d[291, 1] > 0.05
    assert size(d, np.concatenate([BROWS, LIDS])) < 1e-9 and size(d, [13, 14]) < 0.01


def test_au17_raises_the_chin_and_keeps_the_mouth_closed(model):
    d = move(model, AU17=1.0)
    assert d[152, 1] < -0.02 and d[17, 1] < -0.02
    assert lm.mouth_open_ratio(model.shape({"AU17": 1.0})[:, :2]) < 0.01
    assert size(d, np.concatenate([BROWS, LIDS])) < 1e-9


def test_au20_stretches_the_lips_sideways(model):
    d = move(model, AU20=1.0)
    assert d[61, 0] < -0.05 and d[291, 0] > 0.05
    assert abs(d[61, 1]) < 0.5 * abs(d[61, 0])
    assert size(d, np.concatenate([BROWS, LIDS])) < 1e-9


def test_au24_presses_the_lips_thinner(model):
    s = model.shape({"AU24": 1.0})
    r = model.rest
    assert s[13, 1] - s[0, 1] < 0.8 * (r[13, 1] - r[0, 1])     # upper lip height
    assert s[17, 1] - s[14, 1] < 0.8 * (r[17, 1] - r[14, 1])   # lower lip height
    assert lm.mouth_open_ratio(s[:, :2]) < 1e-6
    assert size(s - r, np.concatenate([BROWS, LIDS])) < 1e-9


def test_au25_parts_the_lips_without_dropping_the_jaw(model):
    d = move(model, AU25=1.0)
    assert lm.mouth_open_ratio(model.shape({"AU25": 1.0})[:, :2]) > 0.04
    assert abs(d[152, 1]) < 0.3 * d[14, 1]
    assert size(d, np.concatenate([BROWS, LIDS])) < 1e-9


def test_au26_drops_the_jaw_about_its_joint(model):
    d = move(model, AU26=1.0)
    assert (d[[14, 17, 152], 1] > 0.1).all()              # lower lip, its edge, the chin
    assert d[152, 2] > 0.0                                 # the chin swings back too
    assert abs(d[13, 1]) < 0.01 and abs(d[0, 1]) < 0.01   # the upper lip stays
    assert size(d, np.concatenate([BROWS, LIDS, [1, 4]])) < 1e-9
    assert 0.1 < d[61, 1] / d[14, 1] < 0.7                # corners go part of the way
    assert lm.mouth_open_ratio(model.shape({"AU26": 1.0})[:, :2]) > 0.2
    # No flipped lips: every lower inner-lip point stays below its upper partner.
    s = model.shape({"AU26": 1.0, "AU27": 1.0})
    assert (s[synth.LOWER_INNER, 1] >= s[synth.UPPER_INNER, 1]).all()


def test_au27_opens_wider_and_draws_the_corners_in(model):
    d26, d27 = move(model, AU26=1.0), move(model, AU26=1.0, AU27=1.0)
    assert d27[14, 1] > 1.5 * d26[14, 1]
    w = lambda d: (model.rest[291, 0] + d[291, 0]) - (model.rest[61, 0] + d[61, 0])
    assert w(d27) < w(d26)


@pytest.mark.parametrize("channel", ["AU45", "AU43"])
def test_full_closure_lands_upper_lids_on_the_lower(model, channel):
    s = model.shape({channel: 1.0})
    assert lm.eye_open_ratio(s[:, :2]) < 0.05
    np.testing.assert_allclose(s[UPPER_LIDS], s[LOWER_LIDS], atol=1e-12)
    # The meeting line is low (the upper lid does most of the travel), corners stay.
    d = s - model.rest
    assert (d[UPPER_LIDS, 1] > 2 * -d[LOWER_LIDS, 1]).all()
    assert size(d, [33, 133, 362, 263]) < 1e-12
    assert size(d, np.concatenate([BROWS, LIPS])) < 1e-9
    half = lm.eye_open_ratio(model.shape({channel: 0.5})[:, :2])
    assert 0.1 < half < 0.3


@pytest.mark.parametrize("channel, closed, still", [("AU46L", lm.LEFT_EYE, lm.RIGHT_EYE),
                                                    ("AU46R", lm.RIGHT_EYE, lm.LEFT_EYE)])
def test_wink_closes_one_eye_only(model, channel, closed, still):
    from reactive.core.lids import eye_aspect_ratios

    s = model.shape({channel: 1.0})
    left, right = eye_aspect_ratios(s[None, :, :2])[0]
    shut, open_ = (left, right) if channel == "AU46L" else (right, left)
    assert shut < 0.05
    assert open_ == pytest.approx(eye_aspect_ratios(model.rest[None, :, :2])[0][0], abs=1e-9)
    d = s - model.rest
    assert size(d, still) < 1e-12
    assert size(d, np.concatenate([BROWS, LIPS])) < 1e-9


def iris_margin(points: np.ndarray) -> tuple[float, float]:
    """Signed px distance of the iris centres and horizontal iris points to their eye
    contour (positive inside), the worst of both eyes."""
    centre, sides = 1e9, 1e9
    for ring, iris in ((lm.RIGHT_EYE, lm.RIGHT_IRIS), (lm.LEFT_EYE, lm.LEFT_IRIS)):
        poly = points[ring].astype(np.float32).reshape(-1, 1, 2)
        test = lambda k: cv2.pointPolygonTest(poly, tuple(map(float, points[iris[k]])), True)
        centre = min(centre, test(0))
        sides = min(sides, test(1), test(3))
    return centre, sides


@pytest.mark.parametrize("gx,gy", [(-1, 0), (1, 0), (0, -1), (0, 1), (1, 1), (-1, -1)])
def test_gaze_moves_the_irises_inside_the_eyes(model, gx, gy):
    d = move(model, gaze_x=gx, gaze_y=gy)
    iris = d[IRISES].mean(axis=0)
    if gx:
        assert np.sign(iris[0]) == gx and abs(iris[0]) > 0.05
    if gy:   # towards a corner the opening narrows: less room to go up or down
        assert np.sign(iris[1]) == gy and abs(iris[1]) > (0.01 if gx else 0.02)
    # Only the irises and (looking up or down) the lids move; nothing else.
    others = np.setdiff1d(np.arange(lm.N_MESH), np.flatnonzero(np.abs(d).sum(axis=1) > 0))
    assert size(d, np.concatenate([BROWS, LIPS, [1, 4, 152, 33, 133, 362, 263]])) == 0.0
    assert len(others) > 350
    # Scaled to pixels (100 px per unit), the irises stay inside the eye opening.
    centre, sides = iris_margin(model.shape({"gaze_x": gx, "gaze_y": gy})[:, :2] * 100)
    assert centre > 0.5 and sides > 0.0


@pytest.mark.parametrize("gx", [-1.0, -0.5, 0.5, 1.0])
def test_sideways_gaze_moves_only_the_irises(model, gx):
    d = move(model, gaze_x=gx)
    assert size(d, np.arange(lm.N_MESH)) == 0.0
    assert np.sign(d[IRISES, 0]).tolist() == [np.sign(gx)] * 10


@pytest.mark.parametrize("gy", [-1.0, 1.0])
def test_the_lids_follow_vertical_gaze_less_than_the_irises(model, gy):
    d = move(model, gaze_y=gy)
    iris = d[IRISES, 1].mean()
    assert np.sign(d[[159, 386], 1]).tolist() == [np.sign(gy)] * 2
    assert (np.abs(d[[159, 386], 1]) < np.abs(iris)).all()
    assert (np.abs(d[[145, 374], 1]) < np.abs(d[[159, 386], 1])).all()


def test_closed_eyes_hold_the_iris_on_the_lid_line(model):
    s = model.shape({"AU45": 1.0, "gaze_x": 1.0})
    centre, _ = iris_margin(s[:, :2] * 100)
    assert centre > -0.01
    # The iris circle keeps its size (as MediaPipe's does; the lids hide it).
    np.testing.assert_allclose(s[IRISES] - s[np.repeat([468, 473], 5)],
                               model.rest[IRISES] - model.rest[np.repeat([468, 473], 5)],
                               atol=1e-12)


def test_pose_rotates_about_the_neck(model):
    rest = model.rest
    yaw = model.pose_face(rest, yaw=10.0)
    # Nose tip turns to the image's right, more than the cheek contour does.
    assert yaw[1, 0] - rest[1, 0] > 0.1
    assert yaw[1, 0] - rest[1, 0] > 2 * abs(yaw[234, 0] - rest[234, 0])
    roll = model.pose_face(rest, roll=5.0)
    eye_line = roll[lm.LEFT_EYE].mean(0) - roll[lm.RIGHT_EYE].mean(0)
    assert math.degrees(math.atan2(eye_line[1], eye_line[0])) == pytest.approx(5.0, abs=1e-6)
    d = lambda p, a, b: np.linalg.norm(p[a, :2] - p[b, :2])
    assert d(roll, 33, 263) == pytest.approx(d(rest, 33, 263), rel=1e-9)   # rigid
    pitch = model.pose_face(rest, pitch=8.0)
    assert pitch[1, 1] > rest[1, 1]                       # the face looks down
    breath = model.pose_face(rest, breath=1.0)
    np.testing.assert_allclose(breath[:, :2] - rest[:, :2],
                               np.tile([0.0, -model.p.breath_lift], (478, 1)), atol=1e-12)
    # Peripheral points can follow a part of the rotation only.
    pts = np.array([[0.0, -1.3, 0.5], [1.5, 2.8, 0.7]])
    full, part = model.pose(pts, roll=6.0), model.pose(pts, roll=6.0, follow=0.25)
    np.testing.assert_allclose(part - pts, model.pose(pts, roll=1.5) - pts, atol=1e-12)
    assert np.linalg.norm(full - pts) > 3 * np.linalg.norm(part - pts)


@pytest.mark.parametrize("pose", [dict(yaw=10), dict(yaw=-10), dict(pitch=12),
                                  dict(pitch=-12), dict(roll=8),
                                  dict(yaw=6, pitch=9, roll=-4)], ids=str)
def test_head_turns_do_not_fold_the_face_mesh(model, pose):
    rest = model.rest[:lm.N_MESH, :2]
    tri, area0 = _watched_triangles(rest)
    assert _flipped(model.pose_face(model.rest, **pose)[:lm.N_MESH, :2], tri, area0) == 0


# --- portable arithmetic, curves --------------------------------------------------------------

def test_portable_sin_cos_match_libm():
    xs = np.linspace(-exact.TRIG_MAX, exact.TRIG_MAX, 2001)
    assert max(abs(exact.sin(x) - math.sin(x)) for x in xs) < 2e-15
    assert max(abs(exact.cos(x) - math.cos(x)) for x in xs) < 2e-15
    with pytest.raises(ValueError, match="out of the supported range"):
        exact.sin(4.0)


def test_track_eases_in_and_out_through_its_keys():
    tr = synth.Track(((0.0, 0.0), (1.0, 2.0), (3.0, -1.0)))
    assert tr(-1) == 0.0 and tr(0.0) == 0.0 and tr(1.0) == 2.0 and tr(3.0) == -1.0
    assert tr(5.0) == -1.0 and tr(0.5) == pytest.approx(1.0)
    eps = 1e-4
    for t in (0.0, 1.0, 3.0):   # zero slope at every key
        assert abs(tr(t + eps) - tr(t - eps)) / (2 * eps) < 1e-3
    sp = synth.Track(((0.0, 0.0), (1.0, 2.0), (2.0, 0.0), (3.0, 1.0)), spline=True)
    assert [sp(t) for t in (0.0, 1.0, 2.0, 3.0)] == [0.0, 2.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="increasing times"):
        synth.Track(((1.0, 0.0), (1.0, 1.0)))


@pytest.mark.parametrize("seed", range(20))
def test_idle_blink_times_are_2_to_6_s_apart_across_the_loop(seed):
    rng = np.random.default_rng(seed)
    times = synth.idle_blink_times(rng, 12.0)
    gaps = np.diff(times + [times[0] + 12.0])
    assert (gaps >= 2.0).all() and (gaps <= 6.0).all()
    assert times[0] >= 0.6 and times[-1] + 0.3 <= 12.0 - 0.6


# --- packs ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def packs() -> dict:
    return {name: synth.synth_clip(name) for name in synth.CLIPS}


def test_every_clip_is_a_valid_pack_shaped_like_a_tracked_512_clip(packs):
    assert list(packs) == ["idle", "blink", "smile", "laugh", "surprise", "sad", "angry",
                           "nod", "look_left", "look_right", "wink"]
    for name, pack in packs.items():
        pack.validate()
        assert pack.tag == name and pack.fps == 30.0 and pack.source_size == (512, 512)
        assert pack.neutral_index == 0 and pack.face_detected.all()
        assert pack.peripheral_valid.all() and 30 <= pack.peripheral.shape[1] <= 60
        assert pack.extra == {"role": "idle" if name == "idle" else "emotion",
                              "loop": name == "idle", "synthetic": True,
                              "generator": "precompute.synth 1",
                              "seed": synth.clip_seed(name, synth.DEFAULT_SEED)}
        assert pack.ratio is not None and pack.ratio.shape[1:] == packs["idle"].ratio.shape[1:]
        l0 = pack.landmarks[0]
        assert 200 <= np.linalg.norm(l0[454] - l0[234]) <= 240          # face width, px
        centre = 0.5 * (l0[10] + l0[152])
        assert abs(centre[0] - 256) < 1 and 200 < centre[1] < 256       # a bit above middle
        assert (pack.landmarks >= 0).all() and (pack.landmarks < 512).all()
        assert (pack.peripheral >= 0).all() and (pack.peripheral < 512).all()


def test_clips_start_and_end_at_the_neutral_face(packs, model):
    params = synth.SynthParams()
    neutral = synth.quantize(synth.project(model.rest, params), params)
    for name, pack in packs.items():
        np.testing.assert_array_equal(pack.landmarks[0], neutral, err_msg=name)
        np.testing.assert_array_equal(pack.landmarks[-1], neutral, err_msg=name)
        np.testing.assert_array_equal(pack.peripheral[-1], pack.peripheral[0], err_msg=name)
        np.testing.assert_array_equal(pack.mouth[-1], pack.mouth[0], err_msg=name)
        np.testing.assert_allclose(pack.head[0], [[1, 0, 0], [0, 1, 0]], atol=1e-6)
        # ... and move in between.
        assert np.abs(pack.landmarks - neutral).max() > 2.0, name


def test_head_is_the_tracker_similarity_and_mouth_affine_the_crop_geometry(packs):
    for name, pack in packs.items():
        np.testing.assert_array_equal(pack.head, head_motion(pack.landmarks, 0), err_msg=name)
        for i in range(0, pack.frame_count, 17):
            _, affine = mouth_crop(np.zeros((8, 8, 3), np.uint8), pack.landmarks[i])
            np.testing.assert_array_equal(pack.mouth_affine[i], affine, err_msg=name)


def test_idle_loops_breathes_and_blinks_every_2_to_6_s(packs):
    pack = packs["idle"]
    assert pack.frame_count >= 12 * 30 + 1
    ear = lm.eye_open_ratio(pack.landmarks)
    closed = ear < 0.05
    starts = np.flatnonzero(closed[1:] & ~closed[:-1]) + 1
    assert len(starts) >= 2
    gaps = np.diff(np.concatenate([starts, [starts[0] + pack.frame_count - 1]])) / pack.fps
    assert (gaps >= 2.0).all() and (gaps <= 6.0).all(), gaps
    assert not closed[0] and not closed[-1]
    # Frame 0 and the last frame are the same picture: the clip loops.
    for key in ("landmarks", "peripheral", "head", "mouth", "mouth_affine"):
        np.testing.assert_array_equal(getattr(pack, key)[0], getattr(pack, key)[-1])
    # Breathing and sway: the head keeps moving a little, never much.
    t = pack.head[:, :, 2]
    assert 0.5 < np.ptp(t[:, 1]) < 8.0 and np.ptp(t[:, 0]) < 8.0
    # Glances: the irises leave the eye centre for a while.
    iris = pack.landmarks[:, 468, 0] - pack.landmarks[0, 468, 0]
    assert np.abs(iris).max() > 2.0


def test_emotion_clips_show_their_expression(packs):
    def peak(name, fn):
        return fn(packs[name].landmarks)

    open_ = lm.mouth_open_ratio
    assert peak("surprise", lambda L: open_(L).max()) > 0.3
    assert peak("laugh", lambda L: open_(L).max()) > 0.15
    for name in ("blink", "sad", "nod"):
        assert lm.eye_open_ratio(packs[name].landmarks).min() < 0.05, name
    width = lambda L: np.linalg.norm(L[:, 291] - L[:, 61], axis=1)
    assert peak("smile", lambda L: width(L).max() / width(L)[0]) > 1.12
    corners_y = lambda L: (L[:, [61, 291], 1].mean(1) - L[:, 13, 1])
    assert peak("sad", lambda L: corners_y(L).max() - corners_y(L)[0]) > 4.0   # px down
    brow_gap = lambda L: np.linalg.norm(L[:, 55] - L[:, 285], axis=1)
    assert peak("angry", lambda L: brow_gap(L)[0] - brow_gap(L).min()) > 5.0
    for name, sign in (("look_left", -1), ("look_right", 1)):
        L = packs[name].landmarks
        assert (sign * (L[:, 1, 0] - L[0, 1, 0])).max() > 5.0     # the nose turns that way
        assert (sign * (L[:, 468, 0] - L[0, 468, 0])).max() > 8.0  # the eyes lead
    nod = packs["nod"].head[:, 1, 2]
    assert nod.max() - nod[0] > 5.0


def test_irises_stay_inside_the_eyes_in_every_clip(packs):
    from reactive.core.lids import eye_aspect_ratios

    for name, pack in packs.items():
        # The more closed eye decides (a wink closes one): iris_margin takes the worst eye.
        ear = eye_aspect_ratios(pack.landmarks).min(axis=1)
        for i in range(pack.frame_count):
            centre, sides = iris_margin(pack.landmarks[i])
            # Closed lids are a line; the iris centre rides on it (within rounding).
            assert centre > (0.5 if ear[i] > 0.15 else -0.5), (name, i)
            if ear[i] > 0.2:
                assert sides > 0.0, (name, i)


def test_peripheral_points_follow_the_head_hair_fully_shoulders_less(packs):
    pack = packs["look_left"]
    i = int(np.argmax(np.abs(pack.head[:, 0, 2])))
    move_ = np.linalg.norm(pack.peripheral[i] - pack.peripheral[0], axis=1)
    y0 = pack.peripheral[0, :, 1]
    hair = y0 < pack.landmarks[0, 10, 1]          # above the forehead
    shoulders = y0 > 440
    assert hair.sum() >= 6 and shoulders.sum() >= 4
    assert move_[hair].mean() > 3 * move_[shoulders].mean()
    # Outside the face: every peripheral point is out of the neutral face oval.
    oval = lm.face_polygon(pack.landmarks[0]).reshape(-1, 1, 2)
    assert all(cv2.pointPolygonTest(oval, tuple(map(float, p)), True) < -5
               for p in pack.peripheral[0])


def open_frame(pack) -> int:
    return int(np.argmax(lm.mouth_open_ratio(pack.landmarks)))


def test_mouth_crops_show_a_dark_cavity_teeth_and_lips(packs):
    pack = packs["surprise"]
    i = open_frame(pack)
    crop, aff = pack.mouth[i].astype(float), pack.mouth_affine[i].astype(float)
    q = pack.landmarks[i] @ aff[:, :2].T + aff[:, 2]
    inner = np.zeros(crop.shape[:2], np.uint8)
    cv2.fillPoly(inner, [np.round(q[lm.LIPS_INNER]).astype(np.int32)], 1)
    inner = cv2.erode(inner, np.ones((3, 3), np.uint8)).astype(bool)
    lum = crop.mean(axis=2)
    skin = lum[:4].mean()
    assert lum[inner].min() < 0.3 * skin                    # a dark cavity
    # A bright band (teeth) just under the upper inner lip, in the middle.
    x, y = np.round(q[13]).astype(int)
    assert lum[y + 1:y + 4, x - 5:x + 6].mean() > 0.9 * skin
    # Lips redder than skin.
    lip = np.round(q[0] + 0.4 * (q[13] - q[0])).astype(int)
    r, g = crop[lip[1], lip[0], 0], crop[lip[1], lip[0], 1]
    assert r - g > crop[2, 2, 0] - crop[2, 2, 1]


def test_no_teeth_changes_only_the_mouth_crops(packs):
    plain = synth.synth_clip("surprise", teeth=False)
    pack = packs["surprise"]
    for key in ("landmarks", "peripheral", "head", "mouth_affine", "face_detected",
                "peripheral_valid", "ratio", "ratio_box"):
        np.testing.assert_array_equal(getattr(plain, key), getattr(pack, key))
    assert plain.extra == pack.extra and plain.tag == pack.tag
    i = open_frame(pack)
    x, y = np.round(pack.landmarks[i, 13] @ pack.mouth_affine[i, :, :2].T
                    + pack.mouth_affine[i, :, 2]).astype(int)
    band = lambda m: m[i, y + 1:y + 4, x - 5:x + 6].astype(float).mean()
    assert band(plain.mouth) < 0.5 * band(pack.mouth)
    np.testing.assert_array_equal(plain.mouth[0], pack.mouth[0])   # closed: no teeth to show


def _ratio_point(pack, xy) -> tuple[int, int]:
    """Ratio-image pixel (row, col) of a neutral-frame position ``xy`` (px)."""
    x0, y0, x1, y1 = pack.ratio_box
    h, w = pack.ratio.shape[1:]
    return (int(round((xy[1] - y0) * h / (y1 - y0) - 0.5)),
            int(round((xy[0] - x0) * w / (x1 - x0) - 0.5)))


def test_ratio_images_darken_creases_where_the_expression_makes_them(packs):
    for name, pack in packs.items():
        assert (pack.ratio <= 128).all(), name                # creases darken, never lighten
        assert (pack.ratio[0] == 128).all() and (pack.ratio[-1] == 128).all(), name
        box = pack.ratio_box
        oval = pack.landmarks[0, lm.FACE_OVAL]
        assert box[0] <= oval[:, 0].min() and box[2] >= oval[:, 0].max()
        assert box[1] <= oval[:, 1].min() - 10 and box[3] >= oval[:, 1].max()
    assert (packs["idle"].ratio == 128).all() and (packs["blink"].ratio == 128).all()
    l0 = packs["smile"].landmarks[0]

    def darkest(name, around, reach_px=12):
        pack = packs[name]
        r, c = _ratio_point(pack, around)
        k = int(round(reach_px * pack.ratio.shape[2] / (pack.ratio_box[2] - pack.ratio_box[0])))
        return int(pack.ratio[:, max(r - k, 0):r + k + 1, max(c - k, 0):c + k + 1].min())

    # Smile: beside the nose wing towards the mouth corner (nasolabial fold), not the forehead.
    fold = 0.5 * (l0[49] + l0[61]) + [-8, 0]
    assert darkest("smile", fold) < 128 - 10
    forehead = 0.5 * (l0[10] + l0[9])
    assert darkest("smile", forehead) == 128
    # Surprise: lines across the forehead; angry: between the brows.
    assert darkest("surprise", forehead) < 128 - 6
    assert darkest("angry", 0.5 * (l0[55] + l0[285])) < 128 - 10
    assert darkest("angry", fold) == 128


def test_built_in_creases_follow_the_details_rules(packs):
    """The rules a driver's ratio images follow (``DetailParams``, issue 11): darkening only
    (checked above), never deeper than a fold of skin, never a thin drawn line, and the
    inner and outer brow raisers crease the same forehead lines (two lines side by side
    read as bright wavy stripes)."""
    from precompute.synth.creases import CREASES, FOREHEAD_LINES, crease_maps
    from reactive.core.details import decode_table
    from reactive.params import DetailParams

    floor = DetailParams().crease_floor
    for name, pack in packs.items():
        assert decode_table()[pack.ratio.min()] >= floor, name
    for au, creases in CREASES.items():
        for _, depth, half_width in creases:
            assert half_width >= 0.04, au            # 4% of the inter-ocular distance
            assert 2.0 ** depth >= floor, au
    # A vertical profile through the forehead where both raisers act: one minimum per line.
    ty, tx = np.mgrid[-0.8:-0.3:0.0025, 0.25:0.2501:1.0]
    maps = crease_maps(tx, ty)
    profile = (maps["AU1"] + maps["AU2"])[:, 0]
    inner = profile[1:-1]
    minima = np.flatnonzero((inner < profile[:-2]) & (inner <= profile[2:]) & (inner < -0.01))
    assert len(minima) == len(FOREHEAD_LINES)


def test_packs_round_trip_through_save_and_load(packs, tmp_path):
    for name, pack in packs.items():
        loaded = load_pack(save_pack(pack, tmp_path / f"{name}.npz"))
        for key in ("landmarks", "face_detected", "peripheral", "peripheral_valid", "head",
                    "mouth", "mouth_affine", "ratio", "ratio_box"):
            a, b = getattr(loaded, key), getattr(pack, key)
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
        assert (loaded.tag, loaded.extra, loaded.fps) == (pack.tag, pack.extra, pack.fps)


def test_regeneration_is_byte_identical(tmp_path):
    names = ["blink", "smile"]
    a = synth.write_clips(tmp_path / "a", names=names)
    b = synth.write_clips(tmp_path / "b", names=names)
    for pa, pb in zip(a, b):
        assert pa.read_bytes() == pb.read_bytes()
    other = synth.write_clips(tmp_path / "c", names=["smile"], seed=synth.DEFAULT_SEED + 1)
    assert other[0].read_bytes() != a[1].read_bytes()


# The committed packs were written with this zlib; another zlib may deflate the same arrays
# into other bytes, so there the check falls back to comparing the contents.
COMMITTED_ZLIB = "1.2.13"


def test_committed_packs_are_what_the_generator_makes(packs, tmp_path):
    paths = sorted(COMMITTED.glob("*.npz"))
    assert sorted(p.stem for p in paths) == sorted(synth.CLIPS)
    total = sum(p.stat().st_size for p in paths)
    assert total < 3 * 1024 * 1024
    # write_clips is synth_clip + save_pack (test_regeneration_is_byte_identical runs it).
    fresh = {name: save_pack(pack, tmp_path / f"{name}.npz") for name, pack in packs.items()}
    for path in paths:
        if zlib.ZLIB_RUNTIME_VERSION == COMMITTED_ZLIB:
            assert path.read_bytes() == fresh[path.stem].read_bytes(), path.name
        committed, made = load_pack(path), load_pack(fresh[path.stem])
        for key in ("landmarks", "peripheral", "head", "mouth", "mouth_affine", "ratio",
                    "ratio_box"):
            np.testing.assert_array_equal(getattr(committed, key), getattr(made, key))
        assert committed.extra == made.extra


def test_synth_clip_rejects_unknown_names():
    with pytest.raises(ValueError, match="`name` must be one of"):
        synth.synth_clip("yawn")


# --- command line -----------------------------------------------------------------------------

def test_cli_synth_writes_the_chosen_clips(tmp_path, capsys):
    out = tmp_path / "new" / "clips"
    assert precompute_main(["synth", "-o", str(out), "blink", "--no-teeth"]) == 0
    assert [p.name for p in out.iterdir()] == ["blink.npz"]
    assert "wrote 1 clip pack(s)" in capsys.readouterr().out


@pytest.mark.parametrize("args, needle", [
    (["synth", "-o", "{file}/clips"], "cannot create the output folder"),
    (["synth", "-o", "{file}"], "cannot create the output folder"),
    (["synth", "-o", "{tmp}", "yawn"], "unknown clip 'yawn'"),
])
def test_cli_synth_errors_are_one_line(tmp_path, capsys, args, needle):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    args = [a.format(file=blocker, tmp=tmp_path) for a in args]
    assert precompute_main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and needle in err
    assert "Traceback" not in err


def test_write_clips_raises_input_error_for_an_unusable_folder(tmp_path):
    blocker = tmp_path / "f"
    blocker.write_text("")
    with pytest.raises(InputError, match="cannot create"):
        synth.write_clips(blocker / "x", names=["blink"])


def test_cli_without_synth_still_tracks_a_video(tmp_path, capsys):
    # The old form is untouched: a missing video is the usual one-line error about it.
    assert precompute_main([str(tmp_path / "synth.mp4"), "-o", str(tmp_path / "p.npz")]) == 2
    err = capsys.readouterr().err
    assert "synth.mp4" in err and "unknown clip" not in err


# --- no folds ---------------------------------------------------------------------------------

def _watched_triangles(rest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Delaunay triangles of the neutral face mesh (as the renderer triangulates), without
    slivers and without those spanning an opening (lips, eyes): (T, 3) and rest areas."""
    from scipy.spatial import Delaunay

    from reactive.core.folds import signed_areas

    tri = Delaunay(rest).simplices
    area = signed_areas(rest, tri)
    pts = rest[tri]
    edges = np.stack([pts[:, 1] - pts[:, 0], pts[:, 2] - pts[:, 1], pts[:, 0] - pts[:, 2]], 1)
    keep = np.abs(area) >= 0.05 * (edges ** 2).sum(axis=2).max(axis=1)
    for ring in (lm.LIPS_INNER, lm.LEFT_EYE, lm.RIGHT_EYE):
        keep &= ~np.isin(tri, ring).all(axis=1)
    return tri[keep], area[keep]


def _flipped(points: np.ndarray, tri: np.ndarray, area0: np.ndarray) -> int:
    from reactive.core.folds import signed_areas

    return int((signed_areas(points, tri) * np.sign(area0) < -1e-9).sum())


@pytest.mark.parametrize("values", [{au: 1.0} for au in synth.AU_CHANNELS]
                         + [{"AU26": 1.0, "AU27": 1.0, "AU12": 1.0, "AU6": 1.0},
                            {"AU5": 1.0, "AU1": 1.0, "AU2": 1.0, "AU26": 1.0, "AU27": 1.0},
                            {"AU4": 1.0, "AU7": 1.0, "AU9": 1.0, "AU24": 1.0, "AU17": 1.0},
                            {"AU45": 1.0, "AU6": 1.0, "AU7": 1.0},
                            {"gaze_y": 1.0, "AU43": 1.0}, {"gaze_y": -1.0, "AU5": 1.0}],
                         ids=lambda v: "+".join(v))
def test_no_action_unit_folds_the_face_mesh(model, values):
    rest = model.rest[:lm.N_MESH, :2]
    tri, area0 = _watched_triangles(rest)
    assert _flipped(model.shape(values)[:lm.N_MESH, :2], tri, area0) == 0


def test_no_clip_frame_folds_the_face_mesh(packs):
    for name, pack in packs.items():
        tri, area0 = _watched_triangles(pack.landmarks[0, :lm.N_MESH].astype(np.float64))
        for i in range(pack.frame_count):
            pts = pack.landmarks[i, :lm.N_MESH].astype(np.float64)
            assert _flipped(pts, tri, area0) == 0, (name, i)
