"""Issue "Foundation": what the warp must show on real clips in ../shared/data.

Slow-ish (tracking, rendering and re-detecting faces on a few hundred frames); each clip is
tracked once per session (``pack_cache``).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from reactive.core import landmarks as lm
from reactive.core.jaw import jaw_column
from reactive.core.motion import frame_offsets
from reactive.core.rig import build_rig
from reactive.core.warper import Warper
from reactive.io.photo import load_photo
from reactive.io.target import find_target_face
from reactive.io.video import VideoReader
from reactive.tools import quality
from tests.helpers import shared_path

pytestmark = pytest.mark.slow


def _rig(photo_name, pack):
    photo = load_photo(shared_path("portraits", photo_name))
    return build_rig(photo, find_target_face(photo), pack)


# The naive face-only piecewise-affine warp reaches these expression-only errors.
NAIVE_EXPRESSION_ERROR = {"d0": 0.34, "d3": 0.48}


@pytest.mark.parametrize("clip", ["d0", "d3"])
def test_expression_fidelity_beats_naive_warp(clip, pack_cache, record_property):
    pack = pack_cache(clip)
    rig = _rig("s42.jpg", pack)
    # The foundation's geometry: the coarse warp (Steps 1-2). The later stages paint the
    # mouth and creases, which the detector then reads too; that number is printed only.
    frames = quality.render_all(rig, pack, stages=("coarse",))
    err = quality.expression_fidelity(rig, pack, frames)
    record_property("expression_error", err)
    full = quality.expression_fidelity(rig, pack, quality.render_all(rig, pack))
    print(f"s42 x {clip}: expression error with head {err['with_head']:.3f}, "
          f"expression only {err['expression_only']:.3f} (all stages: "
          f"{full['with_head']:.3f}, {full['expression_only']:.3f})")
    assert err["expression_only"] < NAIVE_EXPRESSION_ERROR[clip]
    # Head motion is carried too: the error with head motion stays of the same order.
    assert err["with_head"] < NAIVE_EXPRESSION_ERROR[clip]


@pytest.mark.parametrize("clip", ["d0", "d9", "d12"])
def test_self_reenactment_beats_the_still_photo(clip, pack_cache):
    pack = pack_cache(clip)
    with VideoReader(shared_path("driving", f"{clip}.mp4")) as reader:
        real = reader.read_all()[:pack.frame_count]
    photo = real[pack.neutral_index]
    rig = build_rig(photo, find_target_face(photo), pack)
    rendered = quality.render_all(rig, pack)
    psnr = quality.self_reenactment_psnr(real, rendered, pack)
    gain = psnr["rendered_db"] - psnr["still_db"]
    print(f"self-reenactment {clip}: rendered {psnr['rendered_db']:.2f} dB, still "
          f"{psnr['still_db']:.2f} dB, gain {gain:+.2f} dB")
    assert gain > 0.5


# d12 is known to fail on main since the jaw (issue 10) and the turn limit (issue 11) were
# merged: at frame 165 (an extreme turn) 34 px of the bottom band just beside the jaw's
# column change by up to 133 grey levels (each branch alone: 0). Open in issue 10.
@pytest.mark.parametrize("clip, jaw_reaches_the_band", [
    ("d0", False),
    pytest.param("d12", True, marks=pytest.mark.xfail(
        reason="frame 165: the bottom band beside the jaw moves (jaw + turn limit merged); "
               "open in issue 10", strict=False))])
def test_frame_border_stays_put(clip, jaw_reaches_the_band, pack_cache):
    """The outer 5% of the frame stays still, except under the jaw when the jaw comes down
    so far that holding the band would fold the strip under it and slice the chin flat
    (d12's head and jaw bring s42's chin 70 px down, its whole distance to the edge): there
    the neck is compressed and the bottom edge gives way (``jaw.JawGive``)."""
    pack = pack_cache(clip)
    rig = _rig("s42.jpg", pack)
    h, w = rig.shape
    band = np.zeros((h, w), bool)
    bh, bw = int(np.ceil(0.05 * h)), int(np.ceil(0.05 * w))
    band[:bh], band[-bh:], band[:, :bw], band[:, -bw:] = True, True, True, True
    yy, xx = np.mgrid[0:h, 0:w]
    face_size = float(np.sqrt(cv2.contourArea(lm.face_polygon(rig.target_points))))
    under_jaw = jaw_column(rig.target_points, np.stack([xx, yy], axis=-1),
                           rig.params.jaw_side_fade_frac * face_size) > 0
    photo = rig.photo.astype(np.int16)
    beside = under = 0
    for f in quality.render_all(rig, pack):
        change = np.abs(f.astype(np.int16) - photo).max(axis=-1)
        beside = max(beside, int(change[band & ~under_jaw].max()))
        under = max(under, int(change[band & under_jaw].max()))
    print(f"{clip}: max grey-level change in the outer 5% border = {beside} beside the jaw, "
          f"{under} under it")
    assert beside <= 3
    if not jaw_reaches_the_band:
        assert under <= 3


def test_smoothing_removes_kinks_outside_the_face_only(pack_cache):
    pack = pack_cache("d12")
    rig = _rig("s42.jpg", pack)
    smooth, raw = Warper(rig, smooth=True), Warper(rig, smooth=False)
    offsets = np.zeros((len(rig.rest), 2), np.float32)
    # Outside the face where the smoothing has reached its first radius (~8 px out at 512 px):
    # right at the face's edge the radius grows from 0 by design (Sec. 4), so nothing there
    # is smoothed much.
    outside = rig.dense.blur_level >= 1.0
    stats = {"grad": [0.0, 0.0], "kink": [0.0, 0.0]}
    motion = np.abs(pack.landmarks - pack.landmarks[pack.neutral_index]).max(axis=(1, 2))
    for i in np.argsort(motion)[-12:]:  # the frames with the largest head motion
        frame_offsets(rig, pack, int(i), offsets)
        f_s = smooth.compute_field(offsets).copy()
        f_r = raw.compute_field(offsets).copy()
        np.testing.assert_array_equal(f_s[rig.face_mask], f_r[rig.face_mask])
        for k, f in enumerate((f_s, f_r)):
            gy, gx = np.gradient(f, axis=(0, 1))
            grad = np.sqrt(gx ** 2 + gy ** 2).max(axis=-1)
            # Second differences: a kink of the piecewise-linear field shows up here.
            kink = np.maximum(np.abs(np.diff(f, 2, axis=0))[:, 1:-1],
                              np.abs(np.diff(f, 2, axis=1))[1:-1, :]).max(-1)
            stats["grad"][k] = max(stats["grad"][k], float(grad[outside].max()))
            stats["kink"][k] = max(stats["kink"][k], float(kink[outside[1:-1, 1:-1]].max()))
    print(f"d12 outside the face: max |grad| smoothed {stats['grad'][0]:.3f} vs raw "
          f"{stats['grad'][1]:.3f}; max second difference {stats['kink'][0]:.3f} vs "
          f"{stats['kink'][1]:.3f}")
    # Smoothing removes at least half of the kinks and adds no steepness of its own: a
    # blur of fixed radius cannot steepen a field, one whose radius varies can by a term in
    # grad(radius), kept to 10% here. (The steepest spot is the strip under s42's chin,
    # squeezed between a dropping jaw and the held border: a squeeze, not a kink.)
    assert stats["grad"][0] <= 1.1 * stats["grad"][1]
    assert stats["kink"][0] < 0.5 * stats["kink"][1]


def test_several_faces_animate_the_largest_with_a_warning(caplog):
    import cv2

    photo = load_photo(shared_path("portraits", "s42.jpg"))
    small = cv2.resize(photo, (200, 200), interpolation=cv2.INTER_AREA)
    canvas = np.full((512, 800, 3), 255, np.uint8)
    canvas[:, :512] = photo
    canvas[150:350, 560:760] = small
    with caplog.at_level("WARNING", logger="reactive.io.target"):
        points = find_target_face(canvas, source="two.jpg")
    assert any("2 faces found; animating the largest" in r.getMessage() for r in caplog.records)
    assert points[:, 0].max() < 512                      # the big face, on the left


def target_warnings(image, source: str, caplog) -> list[str]:
    """What ``find_target_face`` warns about ``image`` (named ``source``)."""
    caplog.clear()
    with caplog.at_level("WARNING", logger="reactive.io.target"):
        find_target_face(image, source=source)
    return [r.getMessage() for r in caplog.records]


@pytest.mark.parametrize("name, warning", [
    ("s10", "the head is turned"),
    ("s1", "the face is smiling"),   # closed lips, but not neutral
])
def test_unusual_photo_warns(name, warning, caplog):
    photo = load_photo(shared_path("portraits", f"{name}.jpg"))
    messages = target_warnings(photo, f"{name}.jpg", caplog)
    assert any(f"{name}.jpg: {warning}" in m for m in messages)


def test_frontal_neutral_photo_does_not_warn(caplog):
    photo = load_photo(shared_path("portraits", "s42.jpg"))
    assert not target_warnings(photo, "s42.jpg", caplog)


def test_open_mouth_photo_warns(caplog):
    # No portrait in ../shared/data has an open mouth; d3's frame 316 (surprise) has.
    with VideoReader(shared_path("driving", "d3.mp4")) as reader:
        frame = reader.read_all()[316]
    messages = target_warnings(frame, "d3#316", caplog)
    assert any("d3#316: the mouth is open" in m for m in messages)
