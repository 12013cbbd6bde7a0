"""Per-frame warp kernels: sparse offsets -> dense field -> sampled frame (paper Sec. 4).

The field is a *forward* displacement on the photo's pixel grid: photo pixel ``y`` appears at
``y + field[y]`` in the output. Working on the photo's grid means the triangulation and every
per-pixel weight are fixed per photo (see ``rig.py``); a frame costs

1. ``interpolate_offsets``: piecewise-linear field from the control-point offsets (3 taps);
2. ``smooth_field``: confidence-aware smoothing, a box whose radius grows with distance from
   the face (summed-area table: any radius in O(1) per pixel), nothing inside the face;
3. ``inverse_sample``: inverse mapping by fixed-point iteration ``y <- x - field(y)``, then
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
    for x in prange(w):
        for c in range(2):
            acc = 0.0
            for y in range(h):
                acc += sat[c, y + 1, x + 1]
                sat[c, y + 1, x + 1] = acc


@njit(cache=True, parallel=True)
def _box_by_radius(field, sat, radius, hold, out):
    h, w = field.shape[0], field.shape[1]
    for y in prange(h):
        for x in range(w):
            r = radius[y, x]
            if r == 0:
                out[y, x, 0] = field[y, x, 0] * hold[y, x]
                out[y, x, 1] = field[y, x, 1] * hold[y, x]
                continue
            y0 = max(y - r, 0)
            y1 = min(y + r, h - 1) + 1
            x0 = max(x - r, 0)
            x1 = min(x + r, w - 1) + 1
            inv_area = 1.0 / ((y1 - y0) * (x1 - x0))
            for c in range(2):
                s = sat[c, y1, x1] - sat[c, y0, x1] - sat[c, y1, x0] + sat[c, y0, x0]
                out[y, x, c] = s * inv_area * hold[y, x]


def smooth_field(field: np.ndarray, radius: np.ndarray, hold: np.ndarray, *, passes: int,
                 sat: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """Confidence-aware smoothing, in place on ``field``.

    Parameters
    ----------
    field : (H, W, 2) float32 forward displacement; smoothed in place and returned.
    radius : (H, W) int32 box half-width per pixel; 0 inside the face (no smoothing).
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
        _box_by_radius(src, sat, radius, hold if k == passes - 1 else ones, dst)
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
def _bilinear_field(field, x, y, c):
    h, w = field.shape[0], field.shape[1]
    if x < 0.0:
        x = 0.0
    elif x > w - 1:
        x = w - 1.0
    if y < 0.0:
        y = 0.0
    elif y > h - 1:
        y = h - 1.0
    x0 = int(x)
    y0 = int(y)
    x1 = min(x0 + 1, w - 1)
    y1 = min(y0 + 1, h - 1)
    fx = x - x0
    fy = y - y0
    top = field[y0, x0, c] * (1.0 - fx) + field[y0, x1, c] * fx
    bot = field[y1, x0, c] * (1.0 - fx) + field[y1, x1, c] * fx
    return top * (1.0 - fy) + bot * fy


@njit(cache=True, parallel=True)
def _inverse_sample(photo, field, iterations, out):
    h, w = photo.shape[0], photo.shape[1]
    nch = photo.shape[2]
    for y in prange(h):
        for x in range(w):
            sx = x - field[y, x, 0]
            sy = y - field[y, x, 1]
            for _ in range(iterations):
                fx_ = _bilinear_field(field, sx, sy, 0)
                fy_ = _bilinear_field(field, sx, sy, 1)
                sx = x - fx_
                sy = y - fy_
            if sx < 0.0:
                sx = 0.0
            elif sx > w - 1:
                sx = w - 1.0
            if sy < 0.0:
                sy = 0.0
            elif sy > h - 1:
                sy = h - 1.0
            x0 = int(sx)
            y0 = int(sy)
            x1 = min(x0 + 1, w - 1)
            y1 = min(y0 + 1, h - 1)
            ax = sx - x0
            ay = sy - y0
            for c in range(nch):
                top = photo[y0, x0, c] * (1.0 - ax) + photo[y0, x1, c] * ax
                bot = photo[y1, x0, c] * (1.0 - ax) + photo[y1, x1, c] * ax
                v = top * (1.0 - ay) + bot * ay + 0.5
                out[y, x, c] = np.uint8(min(max(v, 0.0), 255.0))


def inverse_sample(photo: np.ndarray, field: np.ndarray, *, iterations: int,
                   out: np.ndarray) -> np.ndarray:
    """Render the warped photo by inverse mapping.

    Parameters
    ----------
    photo : (H, W, C) uint8.
    field : (H, W, 2) float32 forward displacement on the photo grid.
    iterations : fixed-point steps of ``y <- x - field(y)``; exact for a constant field after
        one, and converges wherever the field is a contraction (|grad field| < 1).
    out : (H, W, C) uint8, written in place and returned. Zero field gives ``photo`` exactly.
    """
    _inverse_sample(photo, field, iterations, out)
    return out
