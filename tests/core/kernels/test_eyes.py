"""The eye layer's numba kernels against their plain-numpy twins (``tests/naive.py``)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy.spatial import Delaunay

from reactive.core.kernels.eyes import (
    blur_under_mask,
    composite_eye,
    lash_mask,
    paint_under_mask,
    raster_triangles,
    raster_triangles_over,
)
from tests import naive


@pytest.mark.parametrize("seed", [0, 1])
def test_raster_triangles_matches_naive(seed):
    rng = np.random.default_rng(seed)
    photo = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    pts = np.concatenate([rng.uniform(2, [37, 27], (10, 2)), [[5.0, 5.0], [5.5, 5.0]]])
    tris = Delaunay(pts).simplices
    tri_now = pts[tris] + rng.normal(0, 1.0, (len(tris), 3, 2))
    tri_now[0, 2] = tri_now[0, 0]                      # one squashed flat
    lin = np.eye(2)[None] + rng.normal(0, 0.1, (len(tris), 2, 2))
    off = rng.normal(0, 2, (len(tris), 2))
    live = np.ones(len(tris), bool)
    live[1] = False
    got = np.zeros_like(photo)
    want = np.zeros_like(photo)
    raster_triangles(photo, tri_now, lin, off, live, got)
    naive.raster_triangles(photo, tri_now, lin, off, live, want)
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1


@pytest.mark.parametrize("shade", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_raster_triangles_over_matches_naive(seed, shade):
    """The closed lid laid over the frame: premultiplied RGBA (transparent outside it and
    where its alpha is 0), its texture through one affine (part of the frame beyond the
    texture), with and without the detail stage's shading ratio."""
    rng = np.random.default_rng(seed)
    out = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    photo = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    shaded = (photo * rng.uniform(0.5, 1.0, photo.shape)).astype(np.uint8)
    pts = np.concatenate([rng.uniform(2, [37, 27], (10, 2)), [[5.0, 5.0], [5.5, 5.0]]])
    tris = Delaunay(pts).simplices
    tri_now = pts[tris] + rng.normal(0, 1.0, (len(tris), 3, 2))
    tri_now[0, 2] = tri_now[0, 0]                      # one squashed flat
    live = np.ones(len(tris), bool)
    live[1] = False
    alpha = rng.uniform(0, 1, (20, 25, 1)).astype(np.float32)
    alpha[:5] = 0.0
    rgba = np.concatenate([rng.uniform(0, 255, (20, 25, 3)).astype(np.float32) * alpha, alpha],
                          axis=2)
    lin = np.eye(2)[None] * 0.7 + rng.normal(0, 0.05, (len(tris), 2, 2))
    off = rng.normal(-2, 2, (len(tris), 2))
    lin_s = np.eye(2)[None] + rng.normal(0, 0.05, (len(tris), 2, 2))
    off_s = rng.normal(0, 1, (len(tris), 2))
    texture = rng.normal(0, 20, (18, 22, 3)).astype(np.float32)
    m_tex = np.array([[0.9, -0.1, -1.5], [0.1, 0.9, 0.5]])
    got, want = out.copy(), out.copy()
    raster_triangles_over(rgba, tri_now, lin, off, live, got, 0.7, photo, shaded, lin_s,
                          off_s, shade, texture, m_tex)
    naive.raster_triangles_over(rgba, tri_now, lin, off, live, want, 0.7, photo, shaded, lin_s,
                                off_s, shade, texture, m_tex)
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    assert not np.array_equal(got, out)
    # The texture shows: without it, other pixels.
    plain = out.copy()
    raster_triangles_over(rgba, tri_now, lin, off, live, plain, 0.7, photo, shaded, lin_s,
                          off_s, shade, np.zeros_like(texture), m_tex)
    assert np.abs(plain.astype(int) - got.astype(int)).max() > 5


@pytest.mark.parametrize("seed", [2, 3])
def test_composite_eye_matches_naive(seed):
    """The eyeball through an opening's triangles (one squashed flat, one not live, pixels
    of the mask outside every triangle), the iris over it."""
    rng = np.random.default_rng(seed)
    frame = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    x0, y0, strength = 7, 9, 0.8
    mask = np.zeros((20, 30), np.uint8)
    cv2.ellipse(mask, (15, 10), (13, 8), 0, 0, 360, 255, -1, cv2.LINE_AA)
    # An opening as the face mesh's: corners, four points on each lid, fanned.
    xs = np.linspace(x0 + 2, x0 + 28, 6)
    upper = np.stack([xs[1:-1], y0 + 10 - 7 * np.sin(np.linspace(0.6, 2.5, 4))], 1)
    lower = np.stack([xs[1:-1], y0 + 10 + 6 * np.sin(np.linspace(0.6, 2.5, 4))], 1)
    pts = np.concatenate([[[xs[0], y0 + 10.0]], upper, [[xs[-1], y0 + 10.0]], lower])
    tris = Delaunay(pts).simplices
    tri_now = pts[tris] + rng.normal(0, 0.3, (len(tris), 3, 2))
    tri_now[0, 2] = tri_now[0, 0]                      # one squashed flat
    live = np.ones(len(tris), bool)
    live[1] = False
    lin = np.eye(2)[None] * 0.9 + rng.normal(0, 0.05, (len(tris), 2, 2))
    off = rng.normal(-4, 1.0, (len(tris), 2))
    eyeball = rng.integers(0, 256, (25, 35, 3), dtype=np.uint8)
    alpha = np.clip(6.5 - np.hypot(*np.mgrid[-7:8, -7:8]), 0, 1).astype(np.float32)
    iris = np.concatenate([rng.uniform(0, 255, (15, 15, 3)).astype(np.float32)
                           * alpha[..., None], alpha[..., None]], axis=2)
    m_iris = np.array([[0.9, 0.1, -8.5], [-0.1, 0.9, -12.0]])
    white = cv2.erode(mask, np.ones((3, 3), np.uint8), iterations=2)
    got = frame.copy()
    mean = composite_eye(got, x0, y0, mask, strength, eyeball, tri_now, lin, off, live, iris,
                         m_iris, white, 0.0)
    want = frame.copy()
    mean_want = naive.composite_eye(want, x0, y0, mask, strength, eyeball, tri_now, lin, off,
                                    live, iris, m_iris, white, 0.0)
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    assert mean == pytest.approx(mean_want, rel=1e-9) and 60.0 < mean < 200.0
    np.testing.assert_array_equal(got[:y0], frame[:y0])
    assert not np.array_equal(got, frame)
    # The white in view limited below its mean: the eyeball is scaled down, the mean
    # returned is still the one before.
    dim, dim_want = frame.copy(), frame.copy()
    assert composite_eye(dim, x0, y0, mask, strength, eyeball, tri_now, lin, off, live, iris,
                         m_iris, white, 0.8 * mean) == pytest.approx(mean, rel=1e-9)
    naive.composite_eye(dim_want, x0, y0, mask, strength, eyeball, tri_now, lin, off, live,
                        iris, m_iris, white, 0.8 * mean)
    assert np.abs(dim.astype(int) - dim_want.astype(int)).max() <= 1
    assert dim.astype(int).sum() < got.astype(int).sum()
    # A limit above the mean changes nothing.
    high = frame.copy()
    composite_eye(high, x0, y0, mask, strength, eyeball, tri_now, lin, off, live, iris,
                  m_iris, white, 1.01 * mean)
    np.testing.assert_array_equal(high, got)
    # No live triangle at all: nothing is painted, nothing is in view.
    none = frame.copy()
    assert composite_eye(none, x0, y0, mask, strength, eyeball, tri_now, lin, off,
                         np.zeros(len(tris), bool), iris, m_iris, white, 100.0) == 0.0
    np.testing.assert_array_equal(none, frame)


@pytest.mark.parametrize("seed", [0, 1])
def test_blur_under_mask_matches_naive(seed):
    rng = np.random.default_rng(seed)
    frame = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    x0, y0 = 6, 4
    mask = np.zeros((18, 25), np.uint8)
    cv2.ellipse(mask, (12, 9), (10, 6), 0, 0, 360, 255, 2, cv2.LINE_AA)
    mask[0, :3] = 255                                      # the region's corner and edge
    source = frame[y0:y0 + 18, x0:x0 + 25].copy()
    got, want = frame.copy(), frame.copy()
    blur_under_mask(got, x0, y0, mask, source)
    naive.blur_under_mask(want, x0, y0, mask, source)
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    assert not np.array_equal(got, frame)                  # it did blur something


@pytest.mark.parametrize("seed", [0, 1])
def test_paint_under_mask_matches_naive(seed):
    rng = np.random.default_rng(seed)
    frame = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    x0, y0 = 3, 5
    mask = rng.integers(0, 256, (20, 30), dtype=np.uint8)
    mask[:, :4] = 0
    colour = np.array([30.0, 20.0, 15.0])
    centre, axis, width = np.array([18.0, 15.0]), np.array([0.96, 0.28]), 22.0
    got, want = frame.copy(), frame.copy()
    paint_under_mask(got, x0, y0, mask, colour, 0.8, centre, axis, width)
    naive.paint_under_mask(want, x0, y0, mask, colour, 0.8, centre, axis, width)
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    assert not np.array_equal(got, frame)


@pytest.mark.parametrize("inner_first", [True, False])
def test_lash_mask_matches_naive(inner_first):
    axis = np.array([0.96, 0.28])
    normal = np.array([-axis[1], axis[0]])
    args = (np.array([4.0, 6.0]), axis, normal, 40.0, 0.12, 4.5, 0.8, 1.6, inner_first)
    got = np.full((30, 50), 7, np.uint8)
    want = np.full((30, 50), 7, np.uint8)
    lash_mask(got, *args)
    naive.lash_mask(want, *args)
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    assert got.max() == 255 and (got == 0).sum() > 100
