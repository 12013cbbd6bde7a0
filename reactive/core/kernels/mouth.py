"""Numba kernels of the mouth interior (``mouthmap``): the piecewise map of the interior into
the output's opening, and the compositing. Each has a plain-numpy twin in ``tests/naive.py``."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def interior_map_kernel(x0, y0, o_t, ex_t, w_t, cols_t, o_s, ex_s, w_s, cols_s,
                  map_x, map_y, rigid):
    h, w = map_x.shape
    n = cols_t.shape[1]
    k = w_t / w_s
    for r in range(h):
        for c in range(w):
            dx = x0 + c - o_t[0]
            dy = y0 + r - o_t[1]
            a = dx * ex_t[0] + dy * ex_t[1]
            b = -dx * ex_t[1] + dy * ex_t[0]
            f = min(max(a / w_t, 0.0), 1.0) * (n - 1)
            j = min(int(f), n - 2)
            t = f - j
            top_t = cols_t[0, j] + t * (cols_t[0, j + 1] - cols_t[0, j])
            zu_t = cols_t[1, j] + t * (cols_t[1, j + 1] - cols_t[1, j])
            zl_t = cols_t[2, j] + t * (cols_t[2, j + 1] - cols_t[2, j])
            bot_t = cols_t[3, j] + t * (cols_t[3, j + 1] - cols_t[3, j])
            top_s = cols_s[0, j] + t * (cols_s[0, j + 1] - cols_s[0, j])
            zu_s = cols_s[1, j] + t * (cols_s[1, j + 1] - cols_s[1, j])
            zl_s = cols_s[2, j] + t * (cols_s[2, j + 1] - cols_s[2, j])
            bot_s = cols_s[3, j] + t * (cols_s[3, j + 1] - cols_s[3, j])
            # Knots of the piecewise-linear vertical map, target -> source.
            t1 = top_t + zu_t
            t2 = bot_t - zl_t
            s1 = top_s + zu_s
            s2 = bot_s - zl_s
            if b <= top_t:
                bs = top_s + (b - top_t) / k
            elif b < t1:
                bs = top_s + (b - top_t) * (zu_s / zu_t)
            elif b < t2:
                bs = s1 + (b - t1) * ((s2 - s1) / (t2 - t1))
            elif b < bot_t:
                bs = s2 + (b - t2) * (zl_s / zl_t) if zl_t > 0.0 else bot_s
            else:
                bs = bot_s + (b - bot_t) / k
            a_s = a / k
            map_x[r, c] = o_s[0] + a_s * ex_s[0] - bs * ex_s[1]
            map_y[r, c] = o_s[1] + a_s * ex_s[1] + bs * ex_s[0]
            # 1 in the rigid rows (a pixel-wide ramp at their inner edges), 0 in the middle;
            # where the rows meet (no middle) the ramps add up to 1.
            up = min(max(t1 - b + 0.5, 0.0), 1.0)
            lo = min(max(b - t2 + 0.5, 0.0), 1.0)
            rigid[r, c] = min(up + lo, 1.0)


@njit(cache=True)
def compose_kernel(roi, inner, interior, gain, saturation, alpha, patch, patch_alpha, use_patch):
    h, w = inner.shape
    for r in range(h):
        for c in range(w):
            m = inner[r, c]
            if m == 0:
                continue
            mi = m * (1.0 / 255.0)
            pa = patch_alpha[r, c] if use_patch else 0.0
            v0 = interior[r, c, 0] * gain[0]
            v1 = interior[r, c, 1] * gain[1]
            v2 = interior[r, c, 2] * gain[2]
            y = 0.299 * v0 + 0.587 * v1 + 0.114 * v2
            for ch in range(3):
                v = v0 if ch == 0 else (v1 if ch == 1 else v2)
                v = min(max(y + saturation * (v - y), 0.0), 255.0)
                base = float(roi[r, c, ch])
                v = base + alpha * (v - base)
                if use_patch:
                    v += pa * (patch[r, c, ch] - v)
                v = base + mi * (v - base)
                roi[r, c, ch] = np.uint8(min(max(v + 0.5, 0.0), 255.0))


@njit(cache=True)
def shade_corners(interior, x0, y0, o, ex, width, reach, depth):
    """The interior (h, w, 3) uint8 darkened in place towards the mouth's corners: by
    ``depth`` at a corner, fading out (smoothstep) over ``reach`` x ``width`` along the
    mouth's axis (``o`` the image-left corner, ``ex`` the unit axis, both in frame
    pixels; ``x0``, ``y0`` the interior's top-left frame pixel)."""
    h, w = interior.shape[0], interior.shape[1]
    span = max(reach * width, 1e-6)
    for r in range(h):
        base = (x0 - o[0]) * ex[0] + (y0 + r - o[1]) * ex[1]
        # a = base + c ex[0] along the row: only where it lies within ``span`` of an end.
        lo_end, hi_start = w, 0
        if ex[0] > 1e-3:
            lo_end = min(w, max(0, int(np.ceil((span - base) / ex[0]))))
            hi_start = max(0, min(w, int(np.floor((width - span - base) / ex[0]))))
        for c in range(w):
            if lo_end <= c < hi_start:
                continue
            a = base + c * ex[0]
            d = min(a, width - a) / span
            if d >= 1.0:
                continue
            d = max(d, 0.0)
            f = 1.0 - depth * (1.0 - d * d * (3.0 - 2.0 * d))
            for ch in range(3):
                interior[r, c, ch] = np.uint8(interior[r, c, ch] * f + 0.5)


@njit(cache=True)
def closed_spline(points, per_segment, out):
    """A closed polygon ``points`` (N >= 3, 2) rounded into ``out`` (N * per_segment, 2)
    float64: the centripetal Catmull-Rom curve through its vertices (no overshoot, no loops
    at tight corners), ``per_segment`` points from each vertex to the next, the vertex
    first."""
    n = points.shape[0]
    for i in range(n):
        p0x, p0y = points[(i - 1) % n, 0], points[(i - 1) % n, 1]
        p1x, p1y = points[i, 0], points[i, 1]
        p2x, p2y = points[(i + 1) % n, 0], points[(i + 1) % n, 1]
        p3x, p3y = points[(i + 2) % n, 0], points[(i + 2) % n, 1]
        t1 = np.sqrt(max(np.hypot(p1x - p0x, p1y - p0y), 1e-6))
        t2 = t1 + np.sqrt(max(np.hypot(p2x - p1x, p2y - p1y), 1e-6))
        t3 = t2 + np.sqrt(max(np.hypot(p3x - p2x, p3y - p2y), 1e-6))
        for k in range(per_segment):
            t = t1 + (t2 - t1) * k / per_segment
            a1x = ((t1 - t) * p0x + t * p1x) / t1
            a1y = ((t1 - t) * p0y + t * p1y) / t1
            a2x = ((t2 - t) * p1x + (t - t1) * p2x) / (t2 - t1)
            a2y = ((t2 - t) * p1y + (t - t1) * p2y) / (t2 - t1)
            a3x = ((t3 - t) * p2x + (t - t2) * p3x) / (t3 - t2)
            a3y = ((t3 - t) * p2y + (t - t2) * p3y) / (t3 - t2)
            b1x = ((t2 - t) * a1x + t * a2x) / t2
            b1y = ((t2 - t) * a1y + t * a2y) / t2
            b2x = ((t3 - t) * a2x + (t - t1) * a3x) / (t3 - t1)
            b2y = ((t3 - t) * a2y + (t - t1) * a3y) / (t3 - t1)
            out[i * per_segment + k, 0] = ((t2 - t) * b1x + (t - t1) * b2x) / (t2 - t1)
            out[i * per_segment + k, 1] = ((t2 - t) * b1y + (t - t1) * b2y) / (t2 - t1)
