"""The still background's kernels agree with their numpy twins, and give exactly known
answers (the photo back at rest, the still background untouched by a moving person)."""

from __future__ import annotations

import numpy as np
import pytest

from reactive.core.kernels.composite import (
    CELL_MIX,
    CELL_PLATE,
    classify_cells,
    alpha_blocks,
    composite_cells,
    composite_map,
    plate_spans,
)
from reactive.core.kernels.warp import inverse_map
from tests import naive


def inverse_composite(person, alpha, plate, field, *, iterations, out):
    """The exact path without folds: the inverse map, the person composited from there."""
    source = inverse_map(field, iterations=iterations, out=np.zeros(field.shape, np.float32))
    return composite_map(person, alpha, plate, source, out=out)


def _layers(rng, h, w):
    person = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    plate = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    yy, xx = np.mgrid[0:h, 0:w]
    # A soft disc: 255 inside, a ramp a few pixels wide, 0 outside.
    r = np.hypot(xx - w / 2, yy - h / 2)
    alpha = np.clip((0.3 * min(h, w) - r) * 60.0 + 128, 0, 255).astype(np.uint8)[..., None]
    return person, alpha, plate


@pytest.mark.parametrize("iterations", [0, 1, 4])
def test_inverse_composite_matches_naive(iterations):
    rng = np.random.default_rng(iterations)
    h, w = 23, 31
    person, alpha, plate = _layers(rng, h, w)
    yy, xx = np.mgrid[0:h, 0:w]
    field = np.stack([2.5 * np.sin(yy / 5.0) + 0.3 * xx / w,
                      1.5 * np.cos(xx / 7.0) - 4.0 * (yy < 2)], -1).astype(np.float32)
    got = inverse_composite(person, alpha, plate, field, iterations=iterations,
                            out=np.zeros_like(person))
    want = naive.inverse_composite(person, alpha, plate, field, iterations)
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1


def test_inverse_composite_of_zero_field_is_the_layers_composited():
    rng = np.random.default_rng(5)
    person, alpha, plate = _layers(rng, 20, 24)
    got = inverse_composite(person, alpha, plate, np.zeros((20, 24, 2), np.float32),
                            iterations=3, out=np.zeros_like(person))
    a = alpha / 255.0
    want = np.clip(np.floor(a * person + (1 - a) * plate + 0.5), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got[alpha[..., 0] == 0], plate[alpha[..., 0] == 0])
    np.testing.assert_array_equal(got[alpha[..., 0] == 255], person[alpha[..., 0] == 255])


def test_inverse_composite_leaves_the_plate_where_the_person_left():
    """A person moved 5 px right: the pixels it uncovered are the plate's."""
    h, w = 30, 40
    person = np.full((h, w, 3), 200, np.uint8)
    plate = np.full((h, w, 3), 30, np.uint8)
    alpha = np.zeros((h, w, 1), np.uint8)
    alpha[10:20, 10:20] = 255
    field = np.zeros((h, w, 2), np.float32)
    field[..., 0] = 5.0
    out = inverse_composite(person, alpha, plate, field, iterations=3,
                            out=np.zeros_like(person))
    assert (out[10:20, 15:25] == 200).all()
    assert (out[10:20, 10:15] == 30).all()
    assert (out[:, :10] == 30).all() and (out[:, 25:] == 30).all()


def _grid_case(rng, gh=9, gw=11, shift=(0.0, 0.0), jitter=0.0, scale=(4.0, 3.5)):
    gy, gx = np.mgrid[0:gh, 0:gw].astype(np.float32)
    source = np.dstack([gx, gy]) + np.asarray(shift, np.float32)
    source += rng.normal(0.0, jitter, source.shape).astype(np.float32)
    source[..., 0] = np.clip(source[..., 0], 0, gw - 1)
    source[..., 1] = np.clip(source[..., 1], 0, gh - 1)
    # The person a disc in the middle of the photo, its soft edge 5 px wide; the distance
    # maps in quarter pixels, as the warper makes them.
    h, w = int(round(gh * scale[1])), int(round(gw * scale[0]))
    yy, xx = np.mgrid[0:h, 0:w]
    r = np.hypot(xx - w / 2, yy - h / 2)
    radius = 0.3 * min(h, w)
    distances = np.dstack([np.maximum(radius - r, 0), np.maximum(r - radius - 5, 0)])
    depth = np.minimum(distances * 4, 255).astype(np.uint8)
    # Each grid point's own distances (a point every scale px, half a pixel in).
    own = distances[np.round((np.arange(gh) + 0.5) * scale[1] - 0.5).astype(int)][
        :, np.round((np.arange(gw) + 0.5) * scale[0] - 0.5).astype(int)] - 1.0
    still = rng.random((gh - 1, gw - 1)) < 0.8
    return source.astype(np.float32), depth, own.astype(np.float32), still


def _classify(source, depth, own, still, scale):
    gh, gw = source.shape[:2]
    disp = np.zeros((gh, gw, 2), np.float32)
    cells = np.zeros(((gh - 1) * (gw - 1), 3), np.int32)
    n = classify_cells(source, depth, own, still, scale, disp=disp,
                       deep_in=np.zeros((gh, gw), np.float32),
                       deep_out=np.zeros((gh, gw), np.float32),
                       moving=np.zeros((gh, gw), np.uint8),
                       kinds=np.zeros((gh - 1, gw - 1), np.uint8), cells=cells)
    return disp, cells[:n]


@pytest.mark.parametrize("seed, shift, jitter", [(0, (0.0, 0.0), 0.0), (1, (0.7, -0.4), 0.0),
                                                 (2, (0.3, 0.2), 0.4)])
def test_classify_cells_matches_naive(seed, shift, jitter):
    rng = np.random.default_rng(seed)
    source, depth, own, still = _grid_case(rng, shift=shift, jitter=jitter)
    disp, cells = _classify(source, depth, own, still, (4.0, 3.5))
    want_disp, want_cells = naive.classify_cells(source, depth, own, still, (4.0, 3.5))
    np.testing.assert_allclose(disp, want_disp, atol=1e-4)
    assert [tuple(c) for c in cells] == want_cells
    assert {int(k) for k in cells[:, 2]} <= {CELL_PLATE, CELL_MIX}


def test_classify_cells_at_rest_keeps_the_still_background_in_place():
    rng = np.random.default_rng(3)
    source, depth, own, still = _grid_case(rng, gh=25, gw=31, scale=(4.0, 4.0))
    still[:] = True
    disp, cells = _classify(source, depth, own, still, (4.0, 4.0))
    np.testing.assert_array_equal(disp, 0.0)   # at rest nothing moves anyway
    # Only the band along the person's edge is mixed; deep inside and far out nothing is.
    gh, gw = source.shape[:2]
    listed = np.zeros((gh - 1, gw - 1), bool)
    listed[cells[:, 0], cells[:, 1]] = True
    assert listed.any()
    assert not listed[0, 0] and not listed[-1, -1]      # far out
    assert not listed[gh // 2 - 1, gw // 2 - 1]          # deep in


def test_composite_cells_matches_naive():
    rng = np.random.default_rng(4)
    h, w = 26, 34
    _, alpha, plate = _layers(rng, h, w)
    frame = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    py, px = np.mgrid[0:h, 0:w].astype(np.float32)
    pixel_map = np.dstack([px + 1.3 * np.sin(py / 4), py - 0.7]).astype(np.float32)
    row_start = np.array([0, 5, 9, 14, 19], np.int32)
    col_start = np.array([0, 6, 11, 17, 22, 28], np.int32)
    cells = np.array([(0, 0, CELL_PLATE), (2, 2, CELL_MIX), (2, 3, CELL_MIX),
                      (4, 5, CELL_MIX), (3, 1, CELL_PLATE)], np.int32)
    got = composite_cells(frame.copy(), pixel_map, alpha, plate, cells, len(cells),
                          row_start, col_start)
    want = naive.composite_cells(frame, pixel_map, alpha, plate, [tuple(c) for c in cells],
                                 row_start, col_start)
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    untouched = np.ones((h, w), bool)
    for i, j, _ in cells:
        rows = list(row_start) + [h]
        cols = list(col_start) + [w]
        untouched[rows[i]:rows[i + 1], cols[j]:cols[j + 1]] = False
    np.testing.assert_array_equal(got[untouched], frame[untouched])


@pytest.mark.parametrize("seed, band", [(0, 1), (1, 2), (2, 3), (3, 7)])
def test_plate_spans_matches_naive(seed, band):
    """Moving points scattered (none in some bands, one at the grid's edge in others), the
    last frame's spans wider, narrower and elsewhere than the new ones."""
    rng = np.random.default_rng(seed)
    gh, gw, h, w = 12, 10, 40, 33
    moving = (rng.random((gh, gw)) < 0.08).astype(np.uint8)
    moving[:, 0] |= rng.random(gh) < 0.1
    moving[-1, -1] = seed % 2
    row_start = np.array([0, 2, 5, 9, 12, 15, 19, 22, 26, 29, 33], np.int32)
    col_start = np.array([0, 3, 7, 10, 14, 17, 21, 24, 28], np.int32)
    bands = -(-(gh - 1) // band)
    frame = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    plate = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    spans = np.sort(rng.integers(0, w + 1, size=(bands, 2)), axis=1).astype(np.int32)
    spans[0] = 0
    want_frame, want_spans = naive.plate_spans(moving, band, row_start, col_start, frame,
                                               plate, spans)
    got = frame.copy()
    plate_spans(moving, band, row_start, col_start, frame=got, plate=plate, spans=spans)
    np.testing.assert_array_equal(spans, want_spans)
    np.testing.assert_array_equal(got, want_frame)


def test_plate_spans_covers_every_cell_with_a_moving_corner_and_no_other_band():
    gh, gw = 9, 8
    moving = np.zeros((gh, gw), np.uint8)
    moving[4, 3] = 1                      # cells (3..4, 2..3) touch it
    row_start = np.arange(gh - 1, dtype=np.int32) * 4
    col_start = np.arange(gw - 1, dtype=np.int32) * 5
    frame = np.zeros((4 * (gh - 1), 5 * (gw - 1), 3), np.uint8)
    plate = np.full_like(frame, 9)
    spans = np.zeros((4, 2), np.int32)    # bands of 2 cell rows
    plate_spans(moving, 2, row_start, col_start, frame=frame, plate=plate, spans=spans)
    np.testing.assert_array_equal(spans, [[0, 0], [10, 20], [10, 20], [0, 0]])
    assert (frame == 0).all()             # nothing was remapped before: nothing to put back
    moving[:] = 0
    plate_spans(moving, 2, row_start, col_start, frame=frame, plate=plate, spans=spans)
    np.testing.assert_array_equal(spans, 0)
    assert (frame[8:24, 10:20] == 9).all() and (frame[:, :10] == 0).all()


def test_alpha_blocks_say_where_a_bilinear_read_is_plain():
    alpha = np.array([[255, 255, 0, 0],
                      [255, 255, 0, 0],
                      [255, 128, 0, 0]], np.uint8)
    got = alpha_blocks(alpha)
    # From (y, x): the block (y..y+1, x..x+1), the last row and column replicated.
    want = np.array([[2, 0, 1, 1],
                     [0, 0, 1, 1],
                     [0, 0, 1, 1]], np.uint8)
    np.testing.assert_array_equal(got, want)
