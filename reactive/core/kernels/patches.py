"""Numba kernel of the ratio images' outlier step (paper Sec. 6, ``precompute.details``): the
3x3 patch search. Its plain-numpy twin is in ``tests/naive.py``."""

from __future__ import annotations

from numba import njit, prange


@njit(cache=True, parallel=True)
def patch_search(expressive, neutral, pts, window, cos_t, sin_t, out):
    """For each point: min over window positions and rotations of the max |RGB difference|
    between the 3x3 patch of ``expressive`` at the point and the rotated 3x3 patch of
    ``neutral`` at the position."""
    h, w = neutral.shape[0], neutral.shape[1]
    half = window // 2
    for k in prange(pts.shape[0]):
        px, py = pts[k, 0], pts[k, 1]
        best = 1e9
        for cy in range(py - half, py + half):
            for cx in range(px - half, px + half):
                if cx < 2 or cy < 2 or cx >= w - 2 or cy >= h - 2:
                    continue
                for a in range(cos_t.shape[0]):
                    worst = 0.0
                    for dy in range(-1, 2):
                        for dx in range(-1, 2):
                            ex = px + dx
                            ey = py + dy
                            if ex < 0 or ey < 0 or ex >= w or ey >= h:
                                continue
                            # Rotated offset in the neutral frame, bilinear.
                            sx = cx + cos_t[a] * dx - sin_t[a] * dy
                            sy = cy + sin_t[a] * dx + cos_t[a] * dy
                            x0 = int(sx)
                            y0 = int(sy)
                            fx = sx - x0
                            fy = sy - y0
                            for c in range(3):
                                v = (neutral[y0, x0, c] * (1 - fx) * (1 - fy)
                                     + neutral[y0, x0 + 1, c] * fx * (1 - fy)
                                     + neutral[y0 + 1, x0, c] * (1 - fx) * fy
                                     + neutral[y0 + 1, x0 + 1, c] * fx * fy)
                                d = abs(expressive[ey, ex, c] - v)
                                if d > worst:
                                    worst = d
                                    if worst >= best:
                                        break
                    if worst < best:
                        best = worst
        out[k] = best
