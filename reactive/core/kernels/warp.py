"""Per-frame warp kernels: sparse offsets -> dense field -> sampled frame (paper Sec. 4).

The field is a *forward* displacement on the photo's pixel grid: photo pixel ``y`` appears at
``y + field[y]`` in the output. Working on the photo's grid means the triangulation and every
per-pixel weight are fixed per photo (see ``rig.py``); a frame costs

1. ``interpolate_offsets``: piecewise-linear field from the control-point offsets (3 taps);
2. ``smooth_field``: confidence-aware smoothing, a box whose radius grows with distance from
   the face (summed-area table: any radius in O(1) per pixel), nothing inside the face;
3. ``inverse_sample``: inverse mapping, solving ``y + field(y) = x`` by Newton steps, then
   bilinear sampling of the photo at ``y``.

Each kernel is a small ``@njit(cache=True)`` function writing into preallocated outputs; the
plain-numpy twins live in ``tests/naive.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True, fastmath=False)
def _interpolate_offsets(vertex_ids, weights, offsets, out):
    h, w = out.shape[0], out.shape[1]
    for y in prange(h):
        for x in range(w):
            a, b, c = vertex_ids[y, x, 0], vertex_ids[y, x, 1], vertex_ids[y, x, 2]
            wa, wb, wc = weights[y, x, 0], weights[y, x, 1], weights[y, x, 2]
            out[y, x, 0] = wa * offsets[a, 0] + wb * offsets[b, 0] + wc * offsets[c, 0]
            out[y, x, 1] = wa * offsets[a, 1] + wb * offsets[b, 1] + wc * offsets[c, 1]


def interpolate_offsets(vertex_ids: np.ndarray, weights: np.ndarray, offsets: np.ndarray,
                        out: np.ndarray) -> np.ndarray:
    """Piecewise-linear dense field from control-point offsets.

    Parameters
    ----------
    vertex_ids : (H, W, 3) int32, the control points of the triangle under each pixel.
    weights : (H, W, 3) float32, barycentric weights of the pixel in that triangle.
    offsets : (K, 2) float32, (dx, dy) per control point.
    out : (H, W, 2) float32, written in place and returned.
    """
    _interpolate_offsets(vertex_ids, weights, offsets, out)
    return out


_SAT_BLOCK = 128  # columns


@njit(cache=True, parallel=True)
def _summed_area(field, sat):
    """sat[c, y + 1, x + 1] = sum of field[:y+1, :x+1, c]; row 0 and column 0 stay zero."""
    h, w = field.shape[0], field.shape[1]
    for y in prange(h):
        s0 = 0.0
        s1 = 0.0
        for x in range(w):
            s0 += field[y, x, 0]
            s1 += field[y, x, 1]
            sat[0, y + 1, x + 1] = s0
            sat[1, y + 1, x + 1] = s1
    # Down the columns, a block of them a row at a time (the same sums in the same order as
    # a running sum per column, but along memory: a column's stride missed the cache at
    # every step).
    blocks = (w + _SAT_BLOCK - 1) // _SAT_BLOCK
    for b in prange(2 * blocks):
        c = b // blocks
        x0 = 1 + (b % blocks) * _SAT_BLOCK
        x1 = min(x0 + _SAT_BLOCK, w + 1)
        for y in range(1, h):
            for x in range(x0, x1):
                sat[c, y + 1, x] += sat[c, y, x]


@njit(cache=True, inline="always")
def _box_mean(sat, c, y, x, r, h, w):
    y0 = max(y - r, 0)
    y1 = min(y + r, h - 1) + 1
    x0 = max(x - r, 0)
    x1 = min(x + r, w - 1) + 1
    s = sat[c, y1, x1] - sat[c, y0, x1] - sat[c, y1, x0] + sat[c, y0, x0]
    return s / ((y1 - y0) * (x1 - x0))


@njit(cache=True, parallel=True)
def _box_by_level(field, sat, level, radii, hold, out):
    h, w = field.shape[0], field.shape[1]
    top = radii.shape[0] - 1
    for y in prange(h):
        for x in range(w):
            lv = level[y, x]
            if lv <= 0.0:
                out[y, x, 0] = field[y, x, 0] * hold[y, x]
                out[y, x, 1] = field[y, x, 1] * hold[y, x]
                continue
            k = min(int(lv), top)
            t = lv - k
            for c in range(2):
                m = _box_mean(sat, c, y, x, radii[k], h, w)
                if t > 0.0 and k < top:
                    m = (1.0 - t) * m + t * _box_mean(sat, c, y, x, radii[k + 1], h, w)
                out[y, x, c] = m * hold[y, x]


def smooth_field(field: np.ndarray, level: np.ndarray, radii: np.ndarray, hold: np.ndarray, *,
                 passes: int, sat: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """Confidence-aware smoothing, in place on ``field``.

    Parameters
    ----------
    field : (H, W, 2) float32 forward displacement; smoothed in place and returned.
    level : (H, W) float32 blur level per pixel: 0 inside the face (no smoothing); a
        fractional level k + t blends the boxes of ``radii[k]`` and ``radii[k + 1]``, so the
        blur grows continuously with distance instead of jumping between the discrete radii
        (a jump would put a step into the field).
    radii : (L,) int32 box half-widths of the levels, ``radii[0] == 0``.
    hold : (H, W) float32 in [0, 1], multiplies the result (1 = free, 0 = held still at the
        frame border); applied once, on the last pass.
    passes : number of box passes (2 = tent-shaped kernel).
    sat : (2, H + 1, W + 1) float64 scratch for the summed-area table (row/col 0 zero).
    scratch : (H, W, 2) float32 scratch.
    """
    ones = _ones_like_hold(hold) if passes > 1 else hold
    src, dst = field, scratch
    for k in range(passes):
        _summed_area(src, sat)
        _box_by_level(src, sat, level, radii, hold if k == passes - 1 else ones, dst)
        src, dst = dst, src
    if src is not field:
        field[...] = src
    return field


_ONES_CACHE: dict[tuple[int, int], np.ndarray] = {}


def _ones_like_hold(hold: np.ndarray) -> np.ndarray:
    # Cached so that a frame allocates nothing after the first one.
    key = hold.shape
    ones = _ONES_CACHE.get(key)
    if ones is None:
        ones = _ONES_CACHE[key] = np.ones(key, np.float32)
    return ones


@njit(cache=True, inline="always")
def _field_and_jacobian(field, x, y):
    """Bilinear field value at (x, y) and its derivatives, from the same four taps."""
    h, w = field.shape[0], field.shape[1]
    x = min(max(x, 0.0), w - 1.0)
    y = min(max(y, 0.0), h - 1.0)
    x0 = min(int(x), w - 2) if w > 1 else 0
    y0 = min(int(y), h - 2) if h > 1 else 0
    x1 = min(x0 + 1, w - 1)
    y1 = min(y0 + 1, h - 1)
    fx = x - x0
    fy = y - y0
    a0, b0, c0, d0 = field[y0, x0, 0], field[y0, x1, 0], field[y1, x0, 0], field[y1, x1, 0]
    a1, b1, c1, d1 = field[y0, x0, 1], field[y0, x1, 1], field[y1, x0, 1], field[y1, x1, 1]
    u = (a0 * (1 - fx) + b0 * fx) * (1 - fy) + (c0 * (1 - fx) + d0 * fx) * fy
    v = (a1 * (1 - fx) + b1 * fx) * (1 - fy) + (c1 * (1 - fx) + d1 * fx) * fy
    ux = (b0 - a0) * (1 - fy) + (d0 - c0) * fy
    uy = (c0 - a0) * (1 - fx) + (d0 - b0) * fx
    vx = (b1 - a1) * (1 - fy) + (d1 - c1) * fy
    vy = (c1 - a1) * (1 - fx) + (d1 - b1) * fx
    return u, v, ux, uy, vx, vy


# A Newton step never moves further than this; a start closer than CONVERGED_PX to a
# solution counts as converged (the next pixel may start from it).
MAX_STEP_PX = 4.0
CONVERGED_PX = 0.25
TOLERANCE_PX = 1e-3  # Newton stops here: far below what bilinear sampling can show


@njit(cache=True, inline="always")
def _newton(field, x, y, sx, sy, iterations):
    """Newton on g(s) = s + field(s) - (x, y) from (sx, sy). Returns (sx, sy, |g|).

    Plain fixed-point steps crawl where the field compresses (lids closing, |grad| near 1);
    Newton converges in one to three. It stops as soon as |g| < TOLERANCE_PX. Where the field
    folds (det(I + J) small) it takes a fixed-point step, and every step is capped so one bad
    cell cannot throw it far away.
    """
    for k in range(iterations + 1):
        u, v, ux, uy, vx, vy = _field_and_jacobian(field, sx, sy)
        rx = sx + u - x
        ry = sy + v - y
        r2 = rx * rx + ry * ry
        if r2 < TOLERANCE_PX * TOLERANCE_PX or k == iterations:
            return sx, sy, np.sqrt(r2)
        j00 = 1.0 + ux
        j11 = 1.0 + vy
        det = j00 * j11 - uy * vx
        if det > 0.05:
            dx = (j11 * rx - uy * ry) / det
            dy = (j00 * ry - vx * rx) / det
        else:
            dx = rx
            dy = ry
        n = np.sqrt(dx * dx + dy * dy)
        if n > MAX_STEP_PX:
            dx *= MAX_STEP_PX / n
            dy *= MAX_STEP_PX / n
        sx -= dx
        sy -= dy
    return sx, sy, 0.0  # not reached  # pragma: no cover


@njit(cache=True, inline="always")
def bilinear(img, sx, sy, c):
    """img[.., c] at (sx, sy), clamped to the edge (replicate)."""
    h, w = img.shape[0], img.shape[1]
    sx = min(max(sx, 0.0), w - 1.0)
    sy = min(max(sy, 0.0), h - 1.0)
    x0 = int(sx)
    y0 = int(sy)
    x1 = min(x0 + 1, w - 1)
    y1 = min(y0 + 1, h - 1)
    ax = sx - x0
    ay = sy - y0
    top = img[y0, x0, c] * (1.0 - ax) + img[y0, x1, c] * ax
    bot = img[y1, x0, c] * (1.0 - ax) + img[y1, x1, c] * ax
    return top * (1.0 - ay) + bot * ay


@njit(cache=True, inline="always")
def _solve_continued(field, x, y, px, py, prev_ok, iterations):
    """Source of output pixel (x, y): Newton from the left neighbour's answer one pixel on
    (``px + 1, py``, when that one converged), within a hundredth of a pixel of the
    solution on a smooth field, so Newton needs a step or none, and neighbours stay on the
    same sheet where the field folds (no speckle). Where it fails, or at a row's start, from
    the local guess x - field(x). Returns (sx, sy, converged)."""
    if prev_ok:
        sx, sy, r = _newton(field, x, y, px + 1.0, py, iterations)
        if r > CONVERGED_PX:
            sx2, sy2, r2 = _newton(field, x, y, x - field[y, x, 0], y - field[y, x, 1],
                                   iterations)
            if r2 < r:
                sx, sy, r = sx2, sy2, r2
    else:
        sx, sy, r = _newton(field, x, y, x - field[y, x, 0], y - field[y, x, 1], iterations)
    return sx, sy, r <= CONVERGED_PX


@njit(cache=True, parallel=True)
def _inverse_sample(photo, field, iterations, out):
    h, w = photo.shape[0], photo.shape[1]
    nch = photo.shape[2]
    for y in prange(h):
        px = 0.0
        py = 0.0
        prev_ok = False
        for x in range(w):
            sx, sy, prev_ok = _solve_continued(field, x, y, px, py, prev_ok, iterations)
            px = sx
            py = sy
            for c in range(nch):
                val = bilinear(photo, sx, sy, c) + 0.5
                out[y, x, c] = np.uint8(min(max(val, 0.0), 255.0))


def inverse_sample(photo: np.ndarray, field: np.ndarray, *, iterations: int,
                   out: np.ndarray) -> np.ndarray:
    """Render the warped photo by inverse mapping.

    Parameters
    ----------
    photo : (H, W, C) uint8.
    field : (H, W, 2) float32 forward displacement on the photo grid.
    iterations : at most this many Newton steps solving ``y + field(y) = x``, from the left
        neighbour's solution or ``x - field(x)`` (see ``_inverse_sample``); exact for a
        constant field after one.
    out : (H, W, C) uint8, written in place and returned. Zero field gives ``photo`` exactly.
    """
    _inverse_sample(photo, field, iterations, out)
    return out


@njit(cache=True, parallel=True)
def _inverse_map(field, iterations, out):
    h, w = field.shape[0], field.shape[1]
    for y in prange(h):
        px = 0.0
        py = 0.0
        prev_ok = False
        for x in range(w):
            sx, sy, prev_ok = _solve_continued(field, x, y, px, py, prev_ok, iterations)
            px = sx
            py = sy
            out[y, x, 0] = min(max(sx, 0.0), w - 1.0)
            out[y, x, 1] = min(max(sy, 0.0), h - 1.0)


def inverse_map(field: np.ndarray, *, iterations: int, out: np.ndarray) -> np.ndarray:
    """Where each grid point of the output comes from: the inverse of ``field``.

    Parameters
    ----------
    field : (h, w, 2) float32 forward displacement on a grid, in grid units.
    iterations : Newton steps, as ``inverse_sample``.
    out : (h, w, 2) float32, source (x, y) per grid point in grid units, clipped to the
        grid; written in place and returned. Zero field gives the identity grid.
    """
    _inverse_map(field, iterations, out)
    return out
