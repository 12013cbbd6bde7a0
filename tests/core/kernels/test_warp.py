"""The numba warp kernels agree with their numpy twins, and give exactly known answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial import Delaunay

from reactive.core.kernels.warp import (
    front_sheets,
    interpolate_offsets,
    inverse_map,
    sample_map,
    smooth_field,
)
from reactive.core.rig import border_points, pixel_barycentrics
from reactive.params import WarpParams
from tests import naive


def inverse_sample(photo, field, *, iterations, out):
    """The exact path without folds: the inverse map, the photo sampled there."""
    source = inverse_map(field, iterations=iterations, out=np.zeros(field.shape, np.float32))
    return sample_map(photo, source, out=out)


def _points(rng, w, h, n):
    inner = rng.uniform([2, 2], [w - 3, h - 3], size=(n, 2))
    return np.concatenate([inner, border_points(w, h, 4)]).astype(np.float32)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_interpolate_offsets_matches_naive(seed):
    rng = np.random.default_rng(seed)
    h, w = 23, 31
    pts = _points(rng, w, h, 12)
    # A near-degenerate sliver and a point exactly on a pixel centre.
    pts = np.concatenate([pts, [[10.0, 10.0], [10.5, 10.01], [11.0, 10.02]]]).astype(np.float32)
    offsets = rng.normal(0, 3, size=(len(pts), 2)).astype(np.float32)
    ids, weights = pixel_barycentrics(Delaunay(pts.astype(np.float64)), (h, w))
    got = interpolate_offsets(ids, weights, offsets, np.zeros((h, w, 2), np.float32))
    want = naive.interpolate_offsets(pts, offsets, (h, w))
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_interpolate_offsets_reproduces_vertex_offsets():
    rng = np.random.default_rng(3)
    h, w = 40, 50
    pts = np.round(_points(rng, w, h, 15))
    pts = np.unique(pts, axis=0).astype(np.float32)
    offsets = rng.normal(0, 2, size=(len(pts), 2)).astype(np.float32)
    ids, weights = pixel_barycentrics(Delaunay(pts.astype(np.float64)), (h, w))
    field = interpolate_offsets(ids, weights, offsets, np.zeros((h, w, 2), np.float32))
    xi, yi = pts[:, 0].astype(int), pts[:, 1].astype(int)
    np.testing.assert_allclose(field[yi, xi], offsets, atol=1e-4)


@pytest.mark.parametrize("passes", [1, 2])
def test_smooth_field_matches_naive(passes):
    rng = np.random.default_rng(passes)
    h, w = 19, 27
    field = rng.normal(0, 2, size=(h, w, 2)).astype(np.float32)
    radii = np.array([0, 1, 3, 5, 7], np.int32)
    level = rng.uniform(0, 4, size=(h, w)).astype(np.float32)
    level[5:9, 6:12] = 0                        # an unsmoothed "face"
    level[0, :] = 4                             # the largest windows, clipped by the border
    level[1, :] = 2                             # exactly on a level
    hold = rng.uniform(0, 1, size=(h, w)).astype(np.float32)
    got = field.copy()
    smooth_field(got, level, radii, hold, passes=passes, sat=np.zeros((2, h + 1, w + 1)),
                 scratch=np.zeros_like(field))
    want = naive.smooth_field(field, level, radii, hold, passes)
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_smooth_field_leaves_radius_zero_untouched():
    rng = np.random.default_rng(7)
    field = rng.normal(0, 2, size=(16, 16, 2)).astype(np.float32)
    level = np.zeros((16, 16), np.float32)
    got = field.copy()
    smooth_field(got, level, np.array([0, 2, 4], np.int32), np.ones((16, 16), np.float32),
                 passes=2,
                 sat=np.zeros((2, 17, 17)), scratch=np.zeros_like(field))
    np.testing.assert_array_equal(got, field)


@pytest.mark.parametrize("iterations", [0, 1, 4])
def test_inverse_sample_matches_naive(iterations):
    rng = np.random.default_rng(iterations)
    h, w = 21, 33
    photo = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    yy, xx = np.mgrid[0:h, 0:w]
    # A smooth, contracting field plus out-of-frame pulls at the edges.
    field = np.stack([2.5 * np.sin(yy / 5.0) + 0.3 * xx / w,
                      1.5 * np.cos(xx / 7.0) - 4.0 * (yy < 2)], -1).astype(np.float32)
    got = inverse_sample(photo, field, iterations=iterations, out=np.zeros_like(photo))
    want = naive.inverse_sample(photo, field, iterations)
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1


def test_zero_field_returns_photo_bit_for_bit():
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, size=(30, 40, 3), dtype=np.uint8)
    out = inverse_sample(photo, np.zeros((30, 40, 2), np.float32), iterations=4,
                         out=np.zeros_like(photo))
    np.testing.assert_array_equal(out, photo)


def test_constant_field_is_an_integer_shift():
    rng = np.random.default_rng(1)
    photo = rng.integers(0, 256, size=(30, 40, 3), dtype=np.uint8)
    field = np.zeros((30, 40, 2), np.float32)
    field[..., 0], field[..., 1] = 3.0, -2.0    # content moves right 3, up 2
    out = inverse_sample(photo, field, iterations=2, out=np.zeros_like(photo))
    np.testing.assert_array_equal(out[:-2, 3:], photo[2:, :-3])


def test_inverse_really_inverts_the_forward_field():
    """A dot moved by the forward field lands where the field says, to a fraction of a pixel."""
    h, w = 64, 64
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    field = np.stack([4.0 * np.exp(-((xx - 32) ** 2 + (yy - 32) ** 2) / 300.0),
                      -3.0 * np.exp(-((xx - 32) ** 2 + (yy - 30) ** 2) / 200.0)], -1)
    photo = np.zeros((h, w, 3), np.uint8)
    y0, x0 = 30, 28
    photo[y0, x0] = 255
    out = inverse_sample(photo, field.astype(np.float32), iterations=6, out=np.zeros_like(photo))
    ys, xs = np.nonzero(out[..., 0])
    wts = out[ys, xs, 0].astype(float)
    centre = np.array([(xs * wts).sum(), (ys * wts).sum()]) / wts.sum()
    want = np.array([x0 + field[y0, x0, 0], y0 + field[y0, x0, 1]])
    assert np.linalg.norm(centre - want) < 0.35


@pytest.mark.parametrize("iterations", [1, 3])
def test_inverse_map_matches_naive(iterations):
    rng = np.random.default_rng(7)
    field = ndimage.gaussian_filter(rng.normal(0, 3, (24, 32, 2)), (2, 2, 0)).astype(np.float32)
    got = inverse_map(field, iterations=iterations, out=np.zeros_like(field))
    want = naive.inverse_map(field, iterations)
    np.testing.assert_allclose(got, want, atol=1e-3)


@pytest.mark.parametrize("iterations", [1, 6])
def test_inverse_map_matches_naive_where_the_field_folds_and_jumps(iterations):
    """A fold (det(I + J) <= 0.05: fixed-point steps) and a jump larger than a Newton step
    may go (MAX_STEP_PX: capped steps): the kernel takes the same steps as its twin."""
    field = np.zeros((20, 28, 2), np.float32)
    xx = np.arange(28, dtype=np.float32)
    field[:, :, 0] = np.where(xx < 14, 0.0, -1.6 * (xx - 14))[None, :]   # folds back
    field[8:12, :, 1] = 9.0                                              # a 9 px jump
    got = inverse_map(field, iterations=iterations, out=np.zeros_like(field))
    want = naive.inverse_map(field, iterations)
    np.testing.assert_allclose(got, want, atol=1e-3)


def test_inverse_map_of_zero_field_is_the_identity_grid():
    field = np.zeros((5, 7, 2), np.float32)
    got = inverse_map(field, iterations=3, out=np.full_like(field, -1))
    yy, xx = np.mgrid[0:5, 0:7]
    np.testing.assert_array_equal(got, np.dstack([xx, yy]).astype(np.float32))


def test_inverse_of_a_strongly_stretched_field_converges():
    """A bulge stretching the centre three-fold (as a turning head stretches the near
    cheek): the inverse still lands on the source. Three Newton steps leave it 0.14 px off;
    the default budget reaches the grid's own interpolation error (0.07 px)."""
    h = w = 80
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    c, s, a = 40.0, 10.0, 2.1   # a < 2.24: stretched, never folded

    def forward(x, y):
        e = a * np.exp(-((x - c) ** 2 + (y - c) ** 2) / s ** 2)
        return x + (x - c) * e, y + (y - c) * e

    fx, fy = forward(xx, yy)
    field = np.stack([fx - xx, fy - yy], -1).astype(np.float32)
    got = inverse_map(field, iterations=WarpParams().inverse_iterations,
                      out=np.zeros_like(field)).astype(np.float64)
    x, y = forward(got[..., 0], got[..., 1])
    assert np.hypot(x - xx, y - yy).max() < 0.1


def _lip_over_skin(h=40, w=30, drop=9.0, y0=12, y1=18):
    """A band rolling down over the rows beneath it: rows above ``y0`` move down by
    ``drop``, falling to 0 at ``y1`` (a slope steeper than 1: folded), as a lower lip rolls
    over the skin under it. The fold's reach varies along x, so rows enter it on either
    sheet."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    reach = drop * (0.75 + 0.25 * np.sin(xx / 3.0))
    v = np.where(yy < y0, reach, reach * np.clip((y1 - yy) / (y1 - y0), 0.0, 1.0))
    return np.stack([0.15 * np.sin(yy / 4.0), v], -1).astype(np.float32)


def _scores(field, source):
    h, w = field.shape[:2]
    out = np.zeros((h, w))
    for y in range(h):
        for x in range(w):
            out[y, x] = naive.front_score(field, x, y, *source[y, x])
    return out


@pytest.mark.parametrize("iterations", [1, 6])
def test_front_sheets_matches_naive(iterations):
    field = _lip_over_skin()
    source = inverse_map(field, iterations=iterations, out=np.zeros_like(field))
    want = naive.front_sheets(field, source.copy(), iterations, passes=5)
    n = front_sheets(field, source, iterations=iterations, passes=5, reach=4,
                     scratch=np.zeros_like(field), near=np.zeros(field.shape[:2], np.uint8),
                     flags=np.zeros((2,) + field.shape[:2], np.uint8),
                     box=np.zeros(4, np.int64))
    assert n > 0
    np.testing.assert_allclose(source, want, atol=1e-3)


def test_where_a_band_rolls_over_the_rows_beneath_every_pixel_shows_it():
    """The overlap shows the band that moved down (the lip), never the turned-over sheet
    and never, row by row, the skin it covers: after the passes every pixel there has a
    converged, not turned-over source on the band's side of the fold, and its score is
    at least its neighbours' where they share a sheet."""
    field = _lip_over_skin()
    h, w = field.shape[:2]
    source = inverse_map(field, iterations=12, out=np.zeros_like(field))
    before = _scores(field, source)
    front_sheets(field, source, iterations=4, passes=12, reach=4, scratch=np.zeros_like(field),
                 near=np.zeros((h, w), np.uint8), flags=np.zeros((2, h, w), np.uint8),
                 box=np.zeros(4, np.int64))
    after = _scores(field, source)
    assert (after >= before - 1e-6).all()          # no pixel moved back
    # Output rows the band reaches over the fold (its sources above y0 land at y0 + drop
    # at most): wherever a source above row 12 exists for a pixel, that pixel shows it.
    yy, xx = np.mgrid[0:h, 0:w]
    band_bottom = 12 + field[11, :, 1] - 1        # the last band row's landing, per column
    covered = (yy >= 14) & (yy < band_bottom[None, :] - 1)
    assert covered.sum() > 20
    assert (source[covered, 1] < 12.5).all()
    assert (after[covered] > 0).all()
    # Before, some of those pixels showed the skin or the turned-over sheet: rows entered
    # the overlap on different sheets.
    assert ((before[covered] < 0) | (np.abs(before[covered] - after[covered]) > 1e-3)).any()


def test_front_sheets_changes_nothing_where_nothing_folds():
    rng = np.random.default_rng(7)
    field = ndimage.gaussian_filter(rng.normal(0, 3, (24, 32, 2)), (2, 2, 0)).astype(np.float32)
    source = inverse_map(field, iterations=12, out=np.zeros_like(field))
    kept = source.copy()
    n = front_sheets(field, source, iterations=4, passes=4, reach=4, scratch=np.zeros_like(field),
                     near=np.zeros((24, 32), np.uint8), flags=np.zeros((2, 24, 32), np.uint8),
                     box=np.zeros(4, np.int64))
    assert n == 0
    np.testing.assert_array_equal(source, kept)


@pytest.mark.parametrize("reach", [0, 2, 5])
def test_near_folds_matches_naive(reach):
    """The zone around turned-over cells (two folds, one at the grid's edge)."""
    from reactive.core.kernels.warp import _near_folds

    field = _lip_over_skin()
    field[30:33, 26:29, 0] -= np.array([0.0, 3.0, 6.0], np.float32)[None, :]   # folds back
    near = np.zeros(field.shape[:2], np.uint8)
    box = np.zeros(4, np.int64)
    assert _near_folds(field, reach, near, np.zeros_like(near), box)
    np.testing.assert_array_equal(near.astype(bool), naive.near_folds(field, reach))
    assert not _near_folds(np.zeros_like(field), reach, near, np.zeros_like(near), box)
    assert not near.any()
