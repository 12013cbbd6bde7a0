"""The built-in clips' fine details: expression ratio images (``details``' encoding) holding
soft creases per action unit: nasolabial folds (AU12), crow's feet (AU6), forehead lines
(AU1, AU2), lines between the brows (AU4), wrinkles across the nose (AU9); darkening only."""

from __future__ import annotations

import numpy as np

from precompute.synth.exact import length
from precompute.synth.face_model import FaceModel
from precompute.synth.projection import SynthParams, project
from reactive.core import landmarks as lm

RATIO_SCALE = 0.5        # ratio images at half the driver's resolution, as tracked packs


# Creases per action unit: polylines in template units (image-right half; mirrored), each
# with its darkening (log2 R on the crease line at intensity 1) and half-width. Soft and
# shallow, as the details stage's rules ask of a driver's creases (``DetailParams``): a
# crease is a shading, not a drawn line: wide (a tenth of the inter-ocular distance for
# the nasolabial fold), never deeper than a fold of skin, fading out towards both ends.


def _forehead_arc(y0: float, x0: float, x1: float, steps: int = 6) -> list[tuple[float, float]]:
    """A forehead line from x0 to x1 on the arc y = y0 + 0.16 x^2 (it follows the brows
    down towards the temples). The inner (AU1) and outer (AU2) brow raisers crease parts
    of the same arcs, so together they make one unbroken line, never two side by side."""
    return [(x0 + (x1 - x0) * k / steps, y0 + 0.16 * (x0 + (x1 - x0) * k / steps) ** 2)
            for k in range(steps + 1)]


FOREHEAD_LINES = (-0.47, -0.585)

CREASES: dict[str, list[tuple[list[tuple[float, float]], float, float]]] = {
    # Nasolabial folds, from beside the nose's wing to past the mouth corner.
    "AU12": [([(0.30, 0.50), (0.40, 0.70), (0.49, 0.90), (0.53, 1.08)], -0.12, 0.10)],
    # Crow's feet, fanning out from the outer eye corner.
    "AU6": [([(0.80, -0.07), (0.96, -0.13)], -0.07, 0.045),
            ([(0.82, 0.01), (0.99, 0.02)], -0.07, 0.045),
            ([(0.80, 0.09), (0.94, 0.16)], -0.07, 0.045)],
    # Forehead lines: the brows' inner raisers crease the middle, the outer ones the sides.
    "AU1": [(_forehead_arc(y, -0.36, 0.36), -0.08, 0.055) for y in FOREHEAD_LINES],
    "AU2": [(_forehead_arc(y, 0.16, 0.62, 4), -0.08, 0.055) for y in FOREHEAD_LINES],
    # Vertical lines between the brows, and a fold across the nose root.
    "AU4": [([(0.075, -0.34), (0.065, -0.21), (0.055, -0.10)], -0.10, 0.05),
            ([(-0.05, -0.02), (0.13, 0.0)], -0.06, 0.05)],
    # Wrinkles across the nose bridge.
    "AU9": [([(-0.03, y), (0.12, y + 0.02)], -0.07, 0.045) for y in (0.13, 0.21)],
}


def _segment_distance(px: np.ndarray, py: np.ndarray, a: tuple, b: tuple) -> np.ndarray:
    """Distance from points (px, py) to the segment a-b (template units)."""
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    t = np.clip(((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
    ex, ey = px - (ax + t * dx), py - (ay + t * dy)
    return np.sqrt(ex * ex + ey * ey)


def ratio_layout(model: FaceModel, params: SynthParams
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where the ratio images sit: ``ratio_box`` (4,) float32 [x0, y0, x1, y1] in the neutral
    frame's pixels (the face and forehead), and the template-unit (x, y) of each ratio pixel
    centre, two (h, w) float64 arrays."""
    neutral = project(model.rest, params)
    w, h = params.frame_size
    s = params.px_per_unit
    lo = neutral[:lm.N_MESH].min(axis=0) - 0.15 * s
    hi = neutral[:lm.N_MESH].max(axis=0) + 0.15 * s
    x0, y0 = max(float(np.floor(lo[0])), 0.0), max(float(np.floor(lo[1])), 0.0)
    x1, y1 = min(float(np.ceil(hi[0])), float(w)), min(float(np.ceil(hi[1])), float(h))
    rw, rh = int(round((x1 - x0) * RATIO_SCALE)), int(round((y1 - y0) * RATIO_SCALE))
    # Ratio pixel u covers frame pixels around x0 + (u + 0.5) / scale - 0.5 (as cv2.resize).
    us = x0 + (np.arange(rw) + 0.5) * ((x1 - x0) / rw) - 0.5
    vs = y0 + (np.arange(rh) + 0.5) * ((y1 - y0) / rh) - 0.5
    cx, cy = params.eye_centre_px
    tx, ty = np.meshgrid((us - cx) / s, (vs - cy) / s)
    return np.array([x0, y0, x1, y1], np.float32), tx, ty


def crease_maps(tx: np.ndarray, ty: np.ndarray) -> dict[str, np.ndarray]:
    """Per action unit, log2 R at intensity 1 on the ratio grid (template units ``tx``,
    ``ty``): darkening (1 - (d/w)^2)^2 across each crease line, tapering to 0 at its ends."""
    maps = {}
    for au, creases in CREASES.items():
        total = np.zeros_like(tx)
        for line, depth, width in creases:
            for sign in (-1.0, 1.0):
                pts = [(sign * x, y) for x, y in line]
                lengths = [float(length(b[0] - a[0], b[1] - a[1])) for a, b in zip(pts, pts[1:])]
                d = np.full_like(tx, np.inf)
                along = np.zeros_like(tx)      # 0..1 along the line, of the nearest point
                start = 0.0
                for (a, b), seg in zip(zip(pts, pts[1:]), lengths):
                    ds = _segment_distance(tx, ty, a, b)
                    t = np.clip(((tx - a[0]) * (b[0] - a[0]) + (ty - a[1]) * (b[1] - a[1]))
                                / (seg * seg), 0.0, 1.0)
                    closer = ds < d
                    along = np.where(closer, (start + t * seg) / sum(lengths), along)
                    d = np.minimum(d, ds)
                    start += seg
                q = np.clip(1.0 - (d / width) ** 2, 0.0, 1.0)
                taper = np.clip(4.0 * along * (1.0 - along) * 1.6, 0.0, 1.0)
                total = np.minimum(total, depth * q * q * taper)
        maps[au] = total
    return maps


def encode_log_ratio(log2_r: np.ndarray) -> np.ndarray:
    """log2 R -> the pack's uint8 code 128 + 128 log2 R (``precompute.details`` encoding)."""
    return np.clip(np.round(128.0 + 128.0 * log2_r), 0, 255).astype(np.uint8)
