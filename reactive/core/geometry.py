"""Small geometric helpers shared by the stages: polygon area, anti-aliased polygon masks,
Delaunay triangulation, per-triangle affine maps, the smoothstep ease."""

from __future__ import annotations

import cv2
import numpy as np
from scipy.spatial import Delaunay

# Polygons are rasterized with this many fractional bits (OpenCV's ``shift``): 1/16 pixel.
SUBPIXEL_BITS = 4


def polygon_area(points: np.ndarray) -> float:
    """Area of a simple polygon (N, 2) (shoelace)."""
    x, y = points[:, 0], points[:, 1]
    return 0.5 * abs(float(x[:-1] @ y[1:] - x[1:] @ y[:-1] + x[-1] * y[0] - x[0] * y[-1]))


def fill_polygon(shape: tuple[int, int], polygon: np.ndarray, origin) -> np.ndarray:
    """Anti-aliased filled ``polygon`` (N, 2), its coordinates taken relative to ``origin``
    (x, y), at sub-pixel precision. Returns (h, w) uint8, 0..255."""
    mask = np.zeros(shape, np.uint8)
    pts = np.round((polygon - np.asarray(origin, np.float64)) * (1 << SUBPIXEL_BITS))
    cv2.fillPoly(mask, [pts.astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=SUBPIXEL_BITS)
    return mask


def lid_arc(lid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """The parabola through a lid's end points fitted to the points between (a closed lid's
    points zigzag by a pixel; the lid itself is a smooth arc).

    ``lid`` (K >= 3, 2), corner to corner, image-left first. Returns the first corner a
    (2,), the unit axis to the other corner (2,), the unit normal (the axis turned a quarter
    clockwise: downwards on an upright face) (2,), the corners' distance ``span`` and the
    ``bend``: the arc is a + span (u axis + bend u (u - 1) normal), u in [0, 1] (bend < 0
    sags downwards in the middle)."""
    lid = np.asarray(lid, np.float64)
    if lid.ndim != 2 or lid.shape[1] != 2 or len(lid) < 3:
        raise ValueError(f"`lid` must be (K >= 3, 2); got {lid.shape}")
    a, b = lid[0], lid[-1]
    span = max(float(np.hypot(*(b - a))), 1e-9)
    axis = (b - a) / span
    normal = np.array([-axis[1], axis[0]])
    u = (lid[1:-1] - a) @ axis / span
    v = (lid[1:-1] - a) @ normal / span
    basis = u * (u - 1.0)
    bend = float((v * basis).sum() / max(float((basis * basis).sum()), 1e-9))
    return a, axis, normal, span, bend


def smoothstep(t):
    """0 below 0, 1 above 1, 3t^2 - 2t^3 between (scalar or array, dtype kept): an ease with
    zero slope at both ends."""
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def triangulate(points: np.ndarray, skip: np.ndarray | None = None
                ) -> tuple[Delaunay, np.ndarray]:
    """Delaunay triangulation of ``points`` (K, 2) without the ``skip`` (K,) bool ones.

    Returns the Delaunay of the kept points and ``index`` (K',) int: kept vertex -> index
    into ``points`` (``index[tri.simplices]`` are the triangles in ``points``' numbering)."""
    index = np.arange(len(points)) if skip is None else np.flatnonzero(~np.asarray(skip))
    return Delaunay(np.asarray(points, np.float64)[index]), index


def triangle_affines(d: np.ndarray, src: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per triangle, the affine that maps its corners ``d`` (T, 3, 2) onto ``src`` (T, 3, 2):
    q -> s0 + S D^-1 (q - d0), with D and S the edge vectors from corner 0 (closed form:
    np.linalg costs more than a whole eye redraw on small batches).

    Returns ``lin`` (T, 2, 2), ``off`` (T, 2) (q -> lin @ q + off) and ``live`` (T,) bool:
    False where ``d`` is squashed flat (under half a pixel of area: covers no pixel, has no
    inverse; its ``lin``, ``off`` are then meaningless)."""
    e1, e2 = d[:, 1] - d[:, 0], d[:, 2] - d[:, 0]
    area2 = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    live = np.abs(area2) > 0.5
    det = np.where(live, area2, 1.0)
    inv = np.empty((len(d), 2, 2))
    inv[:, 0, 0], inv[:, 0, 1] = e2[:, 1], -e2[:, 0]
    inv[:, 1, 0], inv[:, 1, 1] = -e1[:, 1], e1[:, 0]
    inv /= det[:, None, None]
    f = np.stack([src[:, 1] - src[:, 0], src[:, 2] - src[:, 0]], axis=2)
    lin = f @ inv
    off = src[:, 0] - (lin @ d[:, 0, :, None])[..., 0]
    return lin, off, live


def locate_pixels(points: np.ndarray, triangles: np.ndarray, shape: tuple[int, int],
                  scale: tuple[float, float] = (1.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
    """Triangle vertices and barycentric weights of every pixel centre (of a coarse grid's
    points when ``scale``, photo px per grid unit, is not 1), for any triangulation
    ``triangles`` (T, 3) of ``points`` (K, 2) that covers the frame: not only a Delaunay one
    (the rig's is Delaunay on a layout with closed lips parted, ``jaw.part_lips``). A pixel
    on a triangle of no area, or on two (lips pressed so that their contours cross by a
    fraction of a pixel), goes to the triangle that holds it best (largest smallest
    barycentric). Returns ``(vertex_ids (h, w, 3) int32, weights (h, w, 3) float32)``."""
    h, w = shape
    sx, sy = float(scale[0]), float(scale[1])
    pts = np.asarray(points, np.float64)
    ids = np.zeros((h, w, 3), np.int32)
    wts = np.zeros((h, w, 3), np.float32)
    wts[..., 0] = 1.0
    best = np.full((h, w), -np.inf)
    corners = pts[triangles]                                  # (T, 3, 2)
    lo = np.floor((corners.min(axis=1) + 0.5) / (sx, sy) - 0.5).astype(int)
    hi = np.ceil((corners.max(axis=1) + 0.5) / (sx, sy) - 0.5).astype(int)
    for t, (a, b, c) in enumerate(corners):
        j0, i0 = max(lo[t, 0], 0), max(lo[t, 1], 0)
        j1, i1 = min(hi[t, 0], w - 1), min(hi[t, 1], h - 1)
        if j1 < j0 or i1 < i0:
            continue
        det = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
        if abs(det) < 1e-12:
            continue
        x = (np.arange(j0, j1 + 1) + 0.5) * sx - 0.5 - a[0]
        y = ((np.arange(i0, i1 + 1) + 0.5) * sy - 0.5 - a[1])[:, None]
        l1 = (x * (c[1] - a[1]) - y * (c[0] - a[0])) / det
        l2 = ((b[0] - a[0]) * y - (b[1] - a[1]) * x) / det
        l0 = 1.0 - l1 - l2
        held = np.minimum(np.minimum(l0, l1), l2)
        region = best[i0:i1 + 1, j0:j1 + 1]
        take = held > region
        if not take.any():
            continue
        region[take] = held[take]
        ids[i0:i1 + 1, j0:j1 + 1][take] = triangles[t]
        bary = np.stack(np.broadcast_arrays(l0, l1, l2), axis=-1)[take]
        wts[i0:i1 + 1, j0:j1 + 1][take] = bary
    wts = np.clip(wts, 0.0, 1.0)
    wts /= np.maximum(wts.sum(axis=-1, keepdims=True), 1e-12)
    return ids, wts.astype(np.float32)
