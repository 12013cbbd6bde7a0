"""Per-frame kernels of the still background: the warped person over the still plate
(``core.backdrop``; beyond the paper).

Offline (``warper.Warper``), exact: ``inverse_composite`` solves every pixel's source as
``inverse_sample`` does and mixes the person there over the plate here, by the person's
alpha there.

Real time (``warper.GridWarper``), cheap: the photo is still sampled by one ``cv2.remap`` of
the person layer; what changes is the map. ``classify_cells`` sorts the grid's cells by
where their corners' sources lie: deep in the person (warped as before), deep in the
background (the map set to the identity, so the remap reads the still photo there: the
plate), or near the person's edge. Only the cells near the edge, a band along the
silhouette, are then mixed per pixel by ``composite_cells``. The plain-numpy twins live in
``tests/naive.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from reactive.core.kernels.warp import _solve_continued, bilinear

# Cell kinds of ``classify_cells``: nothing to do (the remap is right), copy the plate
# (background cells next to moving ones, whose map the upsampling blends), mix per pixel.
CELL_DONE = 0
CELL_PLATE = 1
CELL_MIX = 2

# Bilinear interpolation of a distance field overestimates the distance by at most this
# many grid units (half a cell's diagonal), so what is left is a safe lower bound.
_BILINEAR_SLACK = 0.7072


@njit(cache=True, inline="always")
def _mix(person, alpha, plate, sx, sy, x, y, out):
    """out[y, x] = person over plate by alpha, person and alpha read at (sx, sy)."""
    a = bilinear(alpha, sx, sy, 0) * (1.0 / 255.0)
    if a <= 0.0:
        for c in range(3):
            out[y, x, c] = plate[y, x, c]
    else:
        for c in range(3):
            val = a * bilinear(person, sx, sy, c) + (1.0 - a) * plate[y, x, c] + 0.5
            out[y, x, c] = np.uint8(min(max(val, 0.0), 255.0))


@njit(cache=True, parallel=True)
def _inverse_composite(person, alpha, plate, field, iterations, out):
    h, w = person.shape[0], person.shape[1]
    for y in prange(h):
        px = 0.0
        py = 0.0
        prev_ok = False
        for x in range(w):
            sx, sy, prev_ok = _solve_continued(field, x, y, px, py, prev_ok, iterations)
            px = sx
            py = sy
            _mix(person, alpha, plate, sx, sy, x, y, out)


def inverse_composite(person: np.ndarray, alpha: np.ndarray, plate: np.ndarray,
                      field: np.ndarray, *, iterations: int, out: np.ndarray) -> np.ndarray:
    """Warp the person and composite it over the still plate.

    Parameters
    ----------
    person : (H, W, 3) uint8, the layer the warp moves (the photo's person, maybe shaded).
    alpha : (H, W, 1) uint8, the person's coverage 0..255, moved with it.
    plate : (H, W, 3) uint8, the still background.
    field : (H, W, 2) float32 forward displacement; the inverse as ``inverse_sample``.
    iterations : Newton steps, as ``inverse_sample``.
    out : (H, W, 3) uint8, written in place and returned.
    """
    _inverse_composite(person, alpha, plate, field, iterations, out)
    return out


@njit(cache=True, inline="always")
def _bilinear2(grid, x, y):
    """grid (h, w) float32 at (x, y), clamped to the edge."""
    h, w = grid.shape[0], grid.shape[1]
    x = min(max(x, 0.0), w - 1.0)
    y = min(max(y, 0.0), h - 1.0)
    x0 = min(int(x), w - 2) if w > 1 else 0
    y0 = min(int(y), h - 2) if h > 1 else 0
    x1 = min(x0 + 1, w - 1)
    y1 = min(y0 + 1, h - 1)
    ax = x - x0
    ay = y - y0
    top = grid[y0, x0] * (1.0 - ax) + grid[y0, x1] * ax
    bot = grid[y1, x0] * (1.0 - ax) + grid[y1, x1] * ax
    return top * (1.0 - ay) + bot * ay


@njit(cache=True)
def _classify_cells(source, inside, outside, still, scale_x, scale_y, disp, moving,
                    kinds, cells):
    gh, gw = source.shape[0], source.shape[1]
    # Displacement of every grid point, px (what the upsampling spreads to the pixels).
    for i in range(gh):
        for j in range(gw):
            disp[i, j, 0] = (source[i, j, 0] - j) * scale_x
            disp[i, j, 1] = (source[i, j, 1] - i) * scale_y
            moving[i, j] = 0
    for i in range(gh - 1):
        for j in range(gw - 1):
            # Every pixel of the cell takes its source from inside the quadrilateral of its
            # corners' sources: within `reach` of the first corner's.
            x0 = source[i, j, 0]
            y0 = source[i, j, 1]
            reach = 0.0
            deep_in = 1e30
            deep_out = 1e30
            for di in range(2):
                for dj in range(2):
                    sx = source[i + di, j + dj, 0]
                    sy = source[i + di, j + dj, 1]
                    reach = max(reach, np.sqrt((sx - x0) ** 2 + (sy - y0) ** 2))
                    deep_in = min(deep_in, _bilinear2(inside, sx, sy))
                    deep_out = min(deep_out, _bilinear2(outside, sx, sy))
            if deep_in - _BILINEAR_SLACK > reach:
                kinds[i, j] = CELL_DONE            # deep in the person: as warped
            elif deep_out - _BILINEAR_SLACK > reach and still[i, j]:
                kinds[i, j] = 3                    # deep in the still background
                continue
            else:
                kinds[i, j] = CELL_MIX
            moving[i, j] = 1
            moving[i, j + 1] = 1
            moving[i + 1, j] = 1
            moving[i + 1, j + 1] = 1
    # Background only around it: the point stays where it is, so the remap reads the still
    # photo (which is the plate there).
    for i in range(gh):
        for j in range(gw):
            if not moving[i, j]:
                disp[i, j, 0] = 0.0
                disp[i, j, 1] = 0.0
    n = 0
    for i in range(gh - 1):
        for j in range(gw - 1):
            kind = kinds[i, j]
            if kind == 3:
                if moving[i, j] or moving[i, j + 1] or moving[i + 1, j] or moving[i + 1, j + 1]:
                    kind = CELL_PLATE
                else:
                    continue
            elif kind == CELL_DONE:
                continue
            cells[n, 0] = i
            cells[n, 1] = j
            cells[n, 2] = kind
            n += 1
    return n


def classify_cells(source: np.ndarray, inside: np.ndarray, outside: np.ndarray,
                   still: np.ndarray, scale: tuple[float, float], *, disp: np.ndarray,
                   moving: np.ndarray, kinds: np.ndarray, cells: np.ndarray) -> int:
    """Sort the grid's cells for compositing; write the displacement to upsample.

    Parameters
    ----------
    source : (h, w, 2) float32, each grid point's source (x, y) in grid units (the inverse
        map, ``inverse_map``).
    inside : (h, w) float32, each grid point's distance (grid units) to the nearest pixel
        not fully person (0 outside the person).
    outside : (h, w) float32, its distance to the nearest pixel with any person (0 on it).
    still : (h - 1, w - 1) bool, the cell's pixels are the same in the person layer and
        the plate (the background the fill left alone).
    scale : photo px per grid unit (x, y).
    disp : (h, w, 2) float32, written: the displacement in px, 0 at points whose cells
        are all deep in the still background.
    moving : (h, w) uint8 scratch; kinds : (h - 1, w - 1) uint8 scratch.
    cells : ((h - 1) * (w - 1), 3) int32, written: row, column and kind (CELL_PLATE or
        CELL_MIX) of each cell that ``composite_cells`` must do.

    Returns the number of cells written.
    """
    return _classify_cells(source, inside, outside, still, float(scale[0]), float(scale[1]),
                           disp, moving, kinds, cells)


@njit(cache=True)
def _composite_cells(frame, pixel_map, alpha, plate, cells, n, row_start, col_start):
    h, w = frame.shape[0], frame.shape[1]
    for k in range(n):
        i = cells[k, 0]
        j = cells[k, 1]
        y0 = row_start[i]
        y1 = row_start[i + 1] if i + 1 < row_start.shape[0] else h
        x0 = col_start[j]
        x1 = col_start[j + 1] if j + 1 < col_start.shape[0] else w
        if cells[k, 2] == CELL_PLATE:
            for y in range(y0, y1):
                for x in range(x0, x1):
                    for c in range(3):
                        frame[y, x, c] = plate[y, x, c]
            continue
        for y in range(y0, y1):
            for x in range(x0, x1):
                a = bilinear(alpha, pixel_map[y, x, 0], pixel_map[y, x, 1], 0) * (1.0 / 255.0)
                if a >= 1.0:
                    continue
                if a <= 0.0:
                    for c in range(3):
                        frame[y, x, c] = plate[y, x, c]
                    continue
                for c in range(3):
                    val = a * frame[y, x, c] + (1.0 - a) * plate[y, x, c] + 0.5
                    frame[y, x, c] = np.uint8(min(max(val, 0.0), 255.0))


def composite_cells(frame: np.ndarray, pixel_map: np.ndarray, alpha: np.ndarray,
                    plate: np.ndarray, cells: np.ndarray, n: int, row_start: np.ndarray,
                    col_start: np.ndarray) -> np.ndarray:
    """Finish the cells ``classify_cells`` listed, in place on ``frame``.

    Parameters
    ----------
    frame : (H, W, 3) uint8, the remapped person layer; its listed cells are rewritten:
        the plate (CELL_PLATE), or the person mixed over the plate by its alpha at each
        pixel's source (CELL_MIX: the remap read the person's colour there already).
    pixel_map : (H, W, 2) float32, each pixel's source (x, y) in px, as the remap used.
    alpha : (H, W, 1) uint8, the person's coverage; plate : (H, W, 3) uint8.
    cells, n : as from ``classify_cells``.
    row_start : (h - 1,) int32, the first pixel row of each cell row (the pixels the
        upsampling interpolates between grid rows i and i + 1; the first and last cell
        rows also hold the rows beyond the grid's first and last point); the next cell
        row's start ends it, the last ends at H. col_start : (w - 1,) the same for columns.
    """
    _composite_cells(frame, pixel_map, alpha, plate, cells, n, row_start, col_start)
    return frame
