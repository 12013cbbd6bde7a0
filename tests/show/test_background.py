"""Issue 11, the background and head turns: the person moves over a still background, the
face still follows the head, on real clips in ../shared/data.

Slow (whole clips rendered and measured); each clip is tracked once per session
(``pack_cache``). "Today" is the whole photo warped (no backdrop) with turns shown whole:
what the renderer did before the still background and the turn limit.
"""

from __future__ import annotations

import numpy as np
import pytest

from reactive.core import landmarks as lm
from reactive.core.motion import frame_offsets
from reactive.core.rig import build_rig
from reactive.core.synthesis import FrameSynthesis, Layer
from reactive.io.clippack import load_pack
from reactive.io.photo import load_photo
from reactive.io.target import find_target_face, photo_backdrop
from reactive.params import TurnParams
from reactive.tools import quality
from tests.helpers import ROOT, shared_path

pytestmark = pytest.mark.slow


def _photo(name):
    photo = load_photo(shared_path("portraits", f"{name}.jpg"))
    return photo, find_target_face(photo)


def _live_frames(rig, pack):
    """Every clip frame as the live player makes it (grid warp), copies."""
    synthesis = FrameSynthesis(rig, [pack], realtime=True)
    return [synthesis.render([Layer(0, float(i), 1.0)]).copy() for i in range(pack.frame_count)]


@pytest.mark.parametrize("name", ["s9", "s12", "s42"])
def test_background_stays_still_under_large_head_motion(name, pack_cache):
    pack = pack_cache("d12")
    photo, points = _photo(name)
    backdrop = photo_backdrop(photo, points)
    assert backdrop is not None
    today = build_rig(photo, points, pack, turns=None, dense=False, grid=True)
    still = build_rig(photo, points, pack, backdrop=backdrop, dense=False, grid=True)
    before = quality.background_stillness(photo, _live_frames(today, pack))
    after = quality.background_stillness(photo, _live_frames(still, pack))
    exact = quality.background_stillness(
        photo, quality.render_all(build_rig(photo, points, pack, backdrop=backdrop), pack))
    print(f"{name} x d12: background changed where still seen {before['changed_visible']:.1%}"
          f" today -> {after['changed_visible']:.2%} live, {exact['changed_visible']:.2%} "
          f"offline; anywhere (the head covering it included) {before['changed']:.1%} -> "
          f"{after['changed']:.1%}; background {after['background_share']:.0%} of the photo")
    assert before["changed_visible"] > 0.2       # the measure sees today's swimming
    assert after["changed_visible"] <= 0.01
    assert exact["changed_visible"] <= 0.01


def test_background_stays_still_under_a_nod():
    pack = load_pack(ROOT / "assets" / "clips" / "nod.npz")
    photo, points = _photo("s42")
    still = build_rig(photo, points, pack, backdrop=photo_backdrop(photo, points),
                      dense=False, grid=True)
    today = build_rig(photo, points, pack, turns=None, dense=False, grid=True)
    before = quality.background_stillness(photo, _live_frames(today, pack))
    after = quality.background_stillness(photo, _live_frames(still, pack))
    print(f"s42 x nod: background changed {before['changed']:.1%} today -> "
          f"{after['changed']:.2%}")
    assert after["changed"] <= 0.01


# The foundation's bar (tests/show/test_foundation.py): the naive face-only warp's error.
NAIVE_EXPRESSION_ERROR = {"d0": 0.34, "d3": 0.48}
# s42's expression error with the head (coarse warp, ``quality.expression_fidelity``) at
# f4038e1, the "today", measured with that commit's code on its own packs.
WITH_HEAD_AT_F4038E1 = {"d0": 0.1778, "d3": 0.2673}


@pytest.mark.parametrize("clip", ["d0", "d3"])
def test_face_still_follows_the_head(clip, pack_cache, record_property):
    """The foundation's expression measure (coarse warp, s42) with the still background and
    the turn limit (the defaults), printed next to the same code without them. With head
    motion no worse than at f4038e1 (the issue's "today"; the code without them is no
    stand-in for it since the jaw (issue 10) gives a nod under the jaw back only while the
    turn is not limited); the expression alone within the foundation's bar: it compares
    with Eq. 1's full turn, so every degree of a turn past the limit that is not shown
    counts (s42 x d3: 0.430 at f4038e1, 0.44 with the limit), and the tracker reads the
    face a little differently with the hair moving with the head (+0.005)."""
    pack = pack_cache(clip)
    photo, points = _photo("s42")
    backdrop = photo_backdrop(photo, points)
    rigs = {"unlimited": build_rig(photo, points, pack, turns=None),
            "still": build_rig(photo, points, pack, backdrop=backdrop)}
    intended = quality.intended_points(rigs["unlimited"], pack)
    yaw = np.abs(lm.yaw_ratio(pack.landmarks) - lm.yaw_ratio(pack.landmarks[pack.neutral_index]))
    within = np.union1d([0], np.flatnonzero(yaw <= TurnParams().yaw_knee))
    err = {}
    for key, rig in rigs.items():
        detected = quality.track_frames(quality.render_all(rig, pack, stages=("coarse",)))
        err[key] = {
            "with_head": quality.expression_error(detected, intended, expression_only=False),
            "expression_only": quality.expression_error(detected, intended,
                                                        expression_only=True),
            "expression_within": quality.expression_error(detected[within], intended[within],
                                                          expression_only=True)}
    record_property("expression_error", err)
    print(f"s42 x {clip} ({len(within)} of {pack.frame_count} frames turn within the limit): "
          + "; ".join(f"{k} with head {v['with_head']:.3f}, expression only "
                      f"{v['expression_only']:.3f} (those frames {v['expression_within']:.3f})"
                      for k, v in err.items()))
    assert err["still"]["with_head"] <= WITH_HEAD_AT_F4038E1[clip] + 0.005
    assert err["still"]["expression_only"] < NAIVE_EXPRESSION_ERROR[clip]


# Issue 11's own pairs for "the face still follows the head": the foundation's expression
# error (coarse warp, ``quality.expression_fidelity``) on s9, s12, s42 x d12 at f4038e1 (the
# issue's "today": the whole photo warped, turns shown whole, before the jaw of issue 10),
# measured with that commit's code on the same clip and portraits.
D12_AT_F4038E1 = {"s9": {"with_head": 0.0646, "expression_only": 0.5696},
                  "s12": {"with_head": 0.0758, "expression_only": 0.6433},
                  "s42": {"with_head": 0.2719, "expression_only": 0.3892}}


@pytest.mark.parametrize("name", ["s9", "s12", "s42"])
def test_face_still_follows_the_head_on_d12(name, pack_cache, record_property):
    """The still background and the turn limit (the renderer's defaults) on the issue's
    large-head-motion pairs: the expression error with the head and without it no worse
    than at f4038e1."""
    pack = pack_cache("d12")
    photo, points = _photo(name)
    rig = build_rig(photo, points, pack, backdrop=photo_backdrop(photo, points))
    err = quality.expression_fidelity(rig, pack,
                                      quality.render_all(rig, pack, stages=("coarse",)))
    record_property("expression_error", err)
    was = D12_AT_F4038E1[name]
    print(f"{name} x d12: expression error with head {err['with_head']:.4f} (f4038e1 "
          f"{was['with_head']:.4f}), expression only {err['expression_only']:.4f} "
          f"({was['expression_only']:.4f})")
    assert err["with_head"] <= was["with_head"]
    assert err["expression_only"] <= was["expression_only"]


def test_a_tight_crop_is_warped_whole(pack_cache):
    """No clear background (a face cropped to its hair line): no split, and the player and
    the renderer warp the whole photo as before (``backdrop.person_alpha``'s None path)."""
    pack = pack_cache("d12")
    photo, points = _photo("s42")
    box = np.round(np.r_[points[lm.FACE_OVAL].min(axis=0), points[lm.FACE_OVAL].max(axis=0)]
                   ).astype(int)
    crop = np.ascontiguousarray(photo[box[1]:box[3], box[0]:box[2]])
    crop_points = find_target_face(crop)
    assert photo_backdrop(crop, crop_points) is None
    rig = build_rig(crop, crop_points, pack, dense=False, grid=True)
    frames = _live_frames(rig, pack)
    assert all(f.shape == crop.shape for f in frames)
    # The face moves (nothing is frozen by a split that did not happen).
    assert max(np.abs(f.astype(int) - crop).mean() for f in frames) > 5



def _half_widths(points):
    """The face's width either side of the nose tip along the eyes' line, (2,) px."""
    right = points[lm.LEFT_EYE].mean(axis=0) - points[lm.RIGHT_EYE].mean(axis=0)
    right = right / np.linalg.norm(right)
    x = (points[lm.FACE_OVAL] - points[lm.NOSE_TIP]) @ right
    return np.array([-x.min(), x.max()])


# The "today" (f4038e1, measured with that commit's code on its own d12 pack, the
# same 8 most turned frames): the narrower half of the face kept this share of its width,
# the folded triangles covered this share of the face (worst frame).
SQUASH_AT_F4038E1 = {"s42": (0.258, 0.1399), "s9": (0.245, 0.0942), "s12": (0.376, 0.1561)}


@pytest.mark.parametrize("name", ["s42", "s9", "s12"])
def test_a_strongly_turning_driver_does_not_squash_the_face(name, pack_cache):
    """The issue's large-head-motion pairs (x d12) at the driver's most turned frames (yaw
    ratio past 0.45): the narrower half of the face (nose tip to contour) keeps at least
    60% of its width, 10 points more than at f4038e1 and than this code with the whole turn
    shown; the face triangles folded over their neighbours cover less than half the face
    they did at f4038e1, and no more than with the whole turn shown (the limit adds no
    fold). Some slivers along the far contour and the jaw still fold: the tracker's own
    far-side contour, collapsed at that yaw, is carried as expression; the wide-open mouth
    of frames 90, 165 and 166 folds the skin beside the lower lip (s42)."""
    pack = pack_cache("d12")
    photo, points = _photo(name)
    yaw = np.abs(lm.yaw_ratio(pack.landmarks) - lm.yaw_ratio(pack.landmarks[pack.neutral_index]))
    frames = np.argsort(-yaw)[:8]
    rest = _half_widths(points[:lm.N_MESH].astype(np.float64))
    backdrop = photo_backdrop(photo, points)
    kept = {"f4038e1": SQUASH_AT_F4038E1[name]}
    for key, turns in (("whole turn", None), ("limited", TurnParams())):
        rig = build_rig(photo, points, pack, turns=turns, dense=False, backdrop=backdrop)
        tri = rig.triangles[(rig.triangles < lm.N_MESH).all(axis=1)]
        r = rig.rest.astype(np.float64)
        rest_area = np.cross(r[tri[:, 1]] - r[tri[:, 0]], r[tri[:, 2]] - r[tri[:, 0]])
        share, folded = [], []
        for i in frames:
            now = (rig.rest + frame_offsets(rig, pack, int(i))).astype(np.float64)
            share.append((_half_widths(now[:lm.N_MESH]) / rest).min())
            area = np.cross(now[tri[:, 1]] - now[tri[:, 0]], now[tri[:, 2]] - now[tri[:, 0]])
            flipped = np.sign(area) != np.sign(rest_area)
            folded.append(np.abs(area[flipped]).sum() / np.abs(area).sum())
        kept[key] = (float(np.min(share)), float(np.max(folded)))
    print(f"{name} x d12, the {len(frames)} most turned frames (driver yaw "
          f"{yaw[frames].min():.2f}-{yaw.max():.2f}): "
          + "; ".join(f"{k}: the narrower half of the face keeps {v[0]:.0%} of its width, "
                      f"folded triangles cover {v[1]:.2%} of the face" for k, v in kept.items()))
    width, folds = kept["limited"]
    assert width >= 0.6
    assert width > kept["f4038e1"][0] + 0.1 and width > kept["whole turn"][0] + 0.1
    assert folds < 0.5 * kept["f4038e1"][1]
    assert folds <= kept["whole turn"][1]
