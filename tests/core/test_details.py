"""Details applied to the target: the folds fitted to the photo once (``crease_style``), and
the offline layer and the live mixer applying them alike (synthetic faces, no tracker)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from reactive.core import landmarks as lm
from reactive.core.details import (CreaseStyle, DetailLayer, RatioMixer, crease_style,
                                   squeeze_fade,
                                   decode_table, encode_ratio, skin_detail)
from reactive.core.rig import build_rig
from reactive.core.synthesis import Layer
from reactive.params import DetailParams
from tests.helpers import fake_pack


@pytest.fixture(scope="module")
def face():
    """The built-in clips' neutral face (inter-ocular distance 100 px) in a 512 x 512 frame."""
    from precompute.synth.face_model import face_model
    from precompute.synth.projection import SynthParams, project

    params = SynthParams()
    return project(face_model(params.model).rest, params).astype(np.float32)


def _portrait(points, *, texture: float, size=512, seed=0):
    """A skin-coloured face with soft shading; ``texture``: the amplitude of fine detail
    (pores, brush) as a fraction of the grey level."""
    rng = np.random.default_rng(seed)
    img = np.full((size, size, 3), (60, 70, 80), np.float32)
    oval = np.zeros((size, size), np.uint8)
    cv2.fillPoly(oval, [np.round(lm.face_polygon(points)).astype(np.int32)], 1)
    cv2.ellipse(oval, (256, 150), (110, 90), 0, 180, 360, 1, -1)      # the forehead
    yy = np.linspace(0.85, 1.05, size)[:, None]
    skin = np.array([200, 150, 125], np.float32) * yy[..., None]
    fine = cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32), (0, 0), 0.8)
    fine *= texture / max(float(fine.std()), 1e-6)
    img[oval > 0] = (skin * (1 + fine[..., None]))[oval > 0]
    return np.clip(img, 0, 255).astype(np.uint8)


def test_smooth_skin_takes_shallower_and_wider_folds_than_textured_skin(face):
    params = DetailParams()
    smooth = crease_style(_portrait(face, texture=0.0), face, params)
    sharp = crease_style(_portrait(face, texture=0.03), face, params)
    assert sharp.detail > 4 * smooth.detail
    assert sharp.gain == 1.0
    assert smooth.gain == params.min_gain
    assert smooth.sigma_px > 1.5 * sharp.sigma_px
    iod = float(lm.interocular(face))
    assert sharp.sigma_px == pytest.approx(max(params.crease_min_px, params.crease_min_iod * iod))


def test_a_fold_on_a_small_face_is_still_a_few_pixels_wide(face):
    small = ((face - 256) * 0.3 + 80).astype(np.float32)           # inter-ocular 30 px
    img = _portrait(face, texture=0.03)
    img = cv2.resize(img, None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA)[:160, :160]
    style = crease_style(np.ascontiguousarray(img), small)
    assert style.sigma_px == DetailParams().crease_min_px


def test_a_face_without_skin_to_measure_keeps_the_drivers_folds(face):
    assert np.isnan(skin_detail(np.zeros((20, 20, 3), np.uint8), face * 0.01))


def _line_pack(face, frames=3):
    """A pack over ``face`` whose last frame's ratio image holds one thin dark line."""
    pack = fake_pack(face, np.zeros((frames, 2)))
    pack.source_size = (512, 512)
    ratio = np.full((frames, 128, 128), 128, np.uint8)
    ratio[-1, 40:90, 63:65] = encode_ratio(np.array([0.7]))[0]    # 2 ratio px = 4 px wide
    pack.ratio, pack.ratio_box = ratio, np.array([192, 192, 448, 448], np.float32)
    return pack


def test_the_style_makes_a_thin_line_a_soft_shallow_fold(face):
    photo = _portrait(face, texture=0.0)
    pack = _line_pack(face)
    rig = build_rig(photo, face, pack)
    grey = photo.astype(np.float32).sum(-1) + 3

    def darkening(style):
        shaded = DetailLayer(rig, pack, style).shade([Layer(0, 2.0, 1.0)])
        return 1 - (shaded.astype(np.float32).sum(-1) + 3) / grey

    raw = darkening(CreaseStyle())
    soft = darkening(CreaseStyle(gain=0.5, sigma_px=4.0))
    assert raw.max() == pytest.approx(0.3, abs=0.02)
    # Half the depth in log R, then spread: far shallower ...
    assert soft.max() < 0.5 * (1 - 0.7 ** 0.5) + 0.01
    # ... and wider: the row through the line is darkened over more pixels.
    row = 320
    assert (soft[row] > 0.01).sum() > 2 * (raw[row] > 0.01).sum()


def test_the_live_mixer_and_the_offline_layer_shade_alike(face):
    photo = _portrait(face, texture=0.01)
    pack = _line_pack(face)
    rig = build_rig(photo, face, pack)
    style = CreaseStyle(gain=0.7, sigma_px=3.0)
    layers = [Layer(0, 2.0, 1.0)]
    offline = DetailLayer(rig, pack, style).shade(layers).astype(int)
    live = RatioMixer(rig, [pack], style).shade(layers).astype(int)
    assert np.abs(offline - live).max() <= 1
    assert (offline != photo).any()


def test_the_default_style_is_the_photos_own(face):
    photo = _portrait(face, texture=0.0)
    pack = _line_pack(face)
    rig = build_rig(photo, face, pack)
    assert DetailLayer(rig, pack).style == crease_style(photo, face)
    assert RatioMixer(rig, [pack]).style.gain == DetailParams().min_gain
    assert decode_table()[128] == 1.0


def test_folds_land_on_the_photos_own_face_parts_not_where_phi_puts_them(face):
    """A photo whose face is shaped unlike the driver's (its image-right half narrowed to
    0.6, as a turned head's far side is): a fold at one of the driver's landmarks darkens
    the photo at that landmark (its face mesh mapped onto the driver's), not where phi, a
    similarity, puts it (d3's shadow beside the nose landed as a grey blotch on s10's far
    cheek). The offline layer and the live mixer alike."""
    cx = float(face[:lm.N_MESH, 0].mean())
    target = face.copy()
    right = target[:, 0] > cx
    target[right, 0] = cx + 0.6 * (target[right, 0] - cx)
    pack = fake_pack(face, np.zeros((3, 2)))
    pack.source_size = (512, 512)
    nose_y = float(face[lm.NOSE_TIP, 1])
    mesh = face[:lm.N_MESH]
    want = np.array([cx + 0.6 * (mesh[:, 0].max() - cx), nose_y])
    k = int(np.argmin(np.linalg.norm(mesh - want, axis=1)))
    ratio = np.full((3, 128, 128), 128, np.uint8)
    box = np.array([192, 192, 448, 448], np.float32)
    at = np.round((face[k] - box[:2]) * 128 / 256).astype(int)
    cv2.circle(ratio[-1], (int(at[0]), int(at[1])), 3, int(encode_ratio(np.array([0.7]))[0]),
               -1)
    pack.ratio, pack.ratio_box = ratio, box
    photo = _portrait(target, texture=0.0)
    rig = build_rig(photo, target, pack)
    by_phi = face[k] @ rig.phi[:, :2].T + rig.phi[:, 2]
    assert np.linalg.norm(by_phi - target[k]) > 8.0        # phi alone would miss it
    grey = photo.astype(np.float32).sum(-1) + 3
    for stage in (DetailLayer(rig, pack, CreaseStyle()), RatioMixer(rig, [pack], CreaseStyle())):
        shaded = stage.shade([Layer(0, 2.0, 1.0)]).astype(np.float32).sum(-1) + 3
        dark = 1 - shaded / grey
        assert dark.max() > 0.2
        ys, xs = np.nonzero(dark > 0.5 * dark.max())
        centre = np.array([xs.mean(), ys.mean()])                # the fold's centre
        assert np.linalg.norm(centre - target[k]) < 2.5, (centre, target[k], by_phi)


def test_folds_fade_where_the_photos_face_is_squeezed():
    """The far side of a turned head squeezes the driver's shading into strokes: a map no
    more squeezed than phi keeps its folds in full, one squeezed sixfold (the square root
    of the area scale: 2.4) none, one threefold (1.7) part of them."""
    to_ratio = np.array([[0.5, 0, 0], [0, 0.5, 0], [0, 0, 1]], np.float64)
    yy, xx = np.mgrid[0:60, 0:80].astype(np.float32)
    same = np.dstack([0.5 * xx, 0.5 * yy])
    assert np.allclose(squeeze_fade(same, to_ratio, 20.0), 1.0)
    assert np.allclose(squeeze_fade(np.dstack([3.0 * xx, 0.5 * yy]), to_ratio, 20.0), 0.0)
    part = squeeze_fade(np.dstack([1.5 * xx, 0.5 * yy]), to_ratio, 20.0)
    assert np.allclose(part[10:-10, 10:-10], (2.3 - np.sqrt(3.0)) / 1.0, atol=0.01)
