"""Issue "Hidden regions and fine-scale details": the mouth and details stages on real clips in
../shared/data (self-reenactment: a clip's neutral frame driven by its own clip)."""

from __future__ import annotations

import numpy as np
import pytest

from reactive.core.rig import build_rig
from reactive.io.target import find_target_face
from reactive.io.video import VideoReader
from reactive.tools import quality
from tests.helpers import self_reenactment, shared_path

pytestmark = pytest.mark.slow


def _self_reenactment(clip, pack_cache):
    pack = pack_cache(clip)
    return (pack, *self_reenactment(clip, pack))


def test_details_make_the_smile_closer_to_the_real_one(pack_cache):
    pack, real, rig = _self_reenactment("d0", pack_cache)
    without = quality.render_all(rig, pack, stages=("coarse", "hidden"))
    with_details = quality.render_all(rig, pack, stages=("coarse", "hidden", "details"))
    # Frames of the smile: the third of the clip furthest from neutral.
    from reactive.core.clip import expressive_frames

    frames = expressive_frames(pack, count=max(3, pack.frame_count // 3))
    a = quality.face_ssim(real, without, pack, frames)
    b = quality.face_ssim(real, with_details, pack, frames)
    print(f"d0 face SSIM on {len(frames)} smile frames: without details {a:.4f}, with {b:.4f}")
    # Measured 0.8227 -> 0.8234 (before issue 11: -> 0.8421). Driven by its own clip, a face
    # gains from every change of its own shading, its nostrils flaring and its features
    # shifting past the alignment included; on another face those are the smudges and
    # strokes issue 11 removes, and its smooth video frame takes half-depth folds.
    assert b > a


def test_details_never_brighten_beyond_the_damped_amount(pack_cache):
    from precompute.details import ratio_images
    from reactive.core.details import decode_table
    from reactive.params import DetailParams

    damping = DetailParams().brighten_damping
    for clip in ("d0", "d3"):
        pack = pack_cache(clip)
        with VideoReader(shared_path("driving", f"{clip}.mp4")) as reader:
            frames = reader.read_all()[:pack.frame_count]
        ratio = ratio_images(frames, pack)
        stored = float(decode_table()[ratio.codes].max())
        print(f"{clip}: raw brightening up to x{ratio.raw_max:.2f}, stored at most "
              f"x{stored:.4f}")
        # Sec. 6: the effect of values > 1 is multiplied by 0.01 (one 1/128 log2 step of
        # quantization on top).
        assert stored - 1 <= damping * (ratio.raw_max - 1) + 0.0055


def test_temporal_filter_smooths_the_ratio_images(pack_cache):
    from dataclasses import replace

    from precompute.details import ratio_images
    from reactive.core.details import decode_table
    from reactive.params import DetailParams

    pack = pack_cache("d0")
    with VideoReader(shared_path("driving", "d0.mp4")) as reader:
        frames = reader.read_all()[:pack.frame_count]
    lut = decode_table()
    raw = ratio_images(frames, pack, replace(DetailParams(), temporal_frames=1))
    smooth = ratio_images(frames, pack, DetailParams())
    step_raw = np.abs(np.diff(lut[raw.codes], axis=0)).max()
    step_smooth = np.abs(np.diff(lut[smooth.codes], axis=0)).max()
    print(f"d0 max frame-to-frame ratio change: {step_raw:.3f} without the temporal filter, "
          f"{step_smooth:.3f} with it")
    assert step_smooth < 0.5 * step_raw


def test_mouth_gate_is_linear_between_a_star_and_twice_a_star(pack_cache):
    """Sec. 5: no interior below the target's own a*, all of it above 2 a*, linear between.
    (On a photo whose closed lips show no teeth: s42 shows a sliver of hers, which stay and
    need no gate.)"""
    from reactive.core import landmarks as lm
    from reactive.core.geometry import polygon_area
    from reactive.core.mouth import MouthLayer
    from reactive.io.photo import load_photo

    pack = pack_cache("d3")
    photo = load_photo(shared_path("portraits", "s9.jpg"))
    layer = MouthLayer(build_rig(photo, find_target_face(photo), pack), pack)
    assert not layer.has_photo_teeth
    # An opening of area k * a*: a flat 64-gon at the mouth (the gate reads only its area).
    t = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    shape = np.stack([2 * np.cos(t), np.sin(t)], axis=1)
    centre = layer.rig.target_points[lm.LIPS_INNER].mean(axis=0)
    got = [layer.alpha(shape * np.sqrt(k * layer.a_star / polygon_area(shape)) + centre)
           for k in (0.5, 1.0, 1.25, 1.5, 1.75, 2.0, 3.0)]
    np.testing.assert_allclose(got, [0.0, 0.0, 0.25, 0.5, 0.75, 1.0, 1.0], atol=1e-6)


def test_face_region_adds_the_forehead_and_leaves_the_hair(pack_cache):
    """Sec. 6: the landmark oval stops below the hairline; the ellipse fitted to the jaw
    reaches over the forehead and GrabCut trims what it catches of the hair (d0: a man with
    dark hair combed back, on a green backdrop)."""
    import cv2

    from reactive.core.ratio import face_region
    from reactive.core import landmarks as lm

    pack = pack_cache("d0")
    with VideoReader(shared_path("driving", "d0.mp4")) as reader:
        neutral = reader.read_all()[pack.neutral_index]
    points = pack.landmarks[pack.neutral_index]
    face = face_region(neutral, points)
    oval = np.zeros(face.shape, np.uint8)
    cv2.fillPoly(oval, [np.round(lm.face_polygon(points)).astype(np.int32)], 1)
    oval = oval.astype(bool)
    assert not (oval & ~face).any()                      # the landmark oval is always face
    added = face & ~oval
    iod = float(lm.interocular(points))
    centre = int(round(points[:lm.N_MESH, 0].mean()))
    reach = np.argmax(oval[:, centre]) - np.argmax(face[:, centre])
    lum = cv2.cvtColor(neutral, cv2.COLOR_RGB2GRAY).astype(np.float32)
    dark = float((lum[added] < 0.5 * np.median(lum[oval])).mean())
    print(f"d0 face region: forehead reaches {reach / iod:.2f} IOD above the landmark oval; "
          f"{100 * dark:.1f}% of the added pixels are dark (hair)")
    assert reach > 0.25 * iod                            # the forehead is in
    # The bare fitted ellipse puts about a quarter of what it adds on the hair (measured
    # 25%); GrabCut keeps to skin.
    assert dark < 0.05


@pytest.mark.parametrize("portrait", ["s9.jpg", "s12.jpg"])
def test_details_land_on_the_target_face(portrait, pack_cache):
    """The ratio images live in the driver's neutral frame; phi^-1 brings them onto the
    photo. On photos whose phi is far from the identity (s9: scale 0.7, shifted by ~100 px;
    s12: scale 0.55) the folds' darkening must fall on the photo's face, not beside it.
    (d3's frown: since issue 11, d0's smile keeps only its faint folds beside the nose, too
    few pixels to judge where they land.)"""
    import cv2

    from reactive.core import landmarks as lm
    from reactive.core.clip import expressive_frames
    from reactive.core.details import DetailLayer
    from reactive.core.synthesis import Layer
    from reactive.io.photo import load_photo

    pack = pack_cache("d3")
    photo = load_photo(shared_path("portraits", portrait))
    rig = build_rig(photo, find_target_face(photo), pack)
    layer = DetailLayer(rig, pack)
    grey = photo.astype(int).sum(axis=-1) + 3
    darks = [(layer.shade([Layer(0, float(f), 1.0)]).astype(int).sum(axis=-1) + 3) / grey < 0.97
             for f in expressive_frames(pack, count=3)]
    dark = max(darks, key=lambda d: int(d.sum()))
    # The photo's landmark oval, grown by a quarter of the inter-ocular distance: the
    # driver's face region reaches up to the hairline, the oval stops below it.
    r = int(round(0.25 * float(lm.interocular(rig.target_points))))
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    near_face = cv2.dilate(rig.face_mask.astype(np.uint8), disk) > 0
    inside = float((dark & near_face).sum() / max(int(dark.sum()), 1))
    print(f"{portrait} x d3: {int(dark.sum())} px darkened by > 3%, {100 * inside:.1f}% on the "
          f"face (oval + {r} px)")
    assert dark.sum() > 200
    # Measured 100% on both. (On d0 before issue 11: 97-99% and 100%; with phi applied the
    # wrong way round, 0-19%.)
    assert inside > 0.9


# Issue 11: creases that belong to the face. Photos and paintings (s0, s4, s8 painted; s42 a
# young woman's smooth skin; s9 a cracked painting; s12 a small old photo) x clips with hair
# over the face (d12), eyeliner and raised brows (d10), head turns, frowns and closed eyes
# (d3), and a turned head (s10). Before issue 11 (main at f6eee36): excess 1.2-7.2% of the
# face's pixel-frames, its 99.9th percentile 15-50%, darkening at rest 8-33% (p99); see
# crease_fidelity. Since the ratio images land by the face mesh (details.ratio_map), the
# driver's darkening is read at the landmark-aligned pixel the same way (before, through
# phi for both); the ratio images mapped by phi alone, judged so: s10 x d3 0.52%, s9 x d3
# 0.43% (p99.9 17.4%).
CREASE_PORTRAITS = ("s9", "s12", "s42", "s0", "s4", "s8", "s10")


@pytest.mark.parametrize("clip", ["d3", "d10", "d12"])
def test_details_darken_only_where_the_drivers_expression_did(clip, pack_cache):
    """No pixel of the face is darkened by the details stage more than the driver's own
    expression darkened the landmark-aligned pixel (measured with a 3% IOD misalignment
    tolerance and over the temporal filter's window), beyond 2 points; and what darkens
    follows the expression: little is left when the driver's face is near its neutral."""
    from reactive.io.photo import load_photo

    pack = pack_cache(clip)
    with VideoReader(shared_path("driving", f"{clip}.mp4")) as reader:
        frames = reader.read_all()[:pack.frame_count]
    darkening = quality.driver_darkening(frames, pack)
    for name in CREASE_PORTRAITS:
        photo = load_photo(shared_path("portraits", f"{name}.jpg"))
        rig = build_rig(photo, find_target_face(photo), pack)
        m = quality.crease_fidelity(rig, pack, darkening)
        print(f"{name} x {clip}: darkened beyond the driver on {m['excess_share']:.3f}% of "
              f"the face's pixel-frames (p99.9 {m['excess_p999']:.1f}%); darkening at rest "
              f"{m['rest_dark_p99']:.1f}% (p99), at its deepest {m['peak_dark_p999']:.1f}% "
              "(p99.9)")
        # Measured 0.000-0.12% (before: 1.2-7.2%).
        assert m["excess_share"] < 0.2
        # Measured 0.7-8.3% (before: 15-50%).
        assert m["excess_p999"] < 10.0
        # Measured 0.0-6.7% (before: 8.4-33%). d10's least expressive frames still raise
        # the brows a little: their trail is most of what is left.
        assert m["rest_dark_p99"] < 8.0
