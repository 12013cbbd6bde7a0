"""The photo's upper lid margin where the face mesh puts it too low (beyond the paper).

On wide-open eyes (a startled face, a driver's wide-eyed neutral frame such as d6's) the
face mesh's upper lid runs through the white, a band of sclera showing between it and the
real margin (the lash line). Every stage takes the mesh's line for the lid: lowering it by
Eq. 1 then drags that band of white down above the lid ("the eye rolls into white"), the eye
layer leaves it out of the opening it repaints, and a closing lid is made from it. Once per
photo, each upper lid point is raised to the margin the photo shows, where one is clearly
there: a run of white above the point, then the dark lash line (``raise_upper_lids``). A
photo whose mesh lies on its margin is left as it is.
"""

from __future__ import annotations

import cv2
import numpy as np

from reactive.core import landmarks as lm
from reactive.core.landmarks import EYES
from reactive.params import EyeParams


def margin_reach(luma: np.ndarray, white: float, dark: float, min_white: int) -> int:
    """Where the white above the mesh's lid point ends at the lash line, in samples.

    ``luma`` (n,) along the ray, from the point outwards. The margin is where a run of at
    least ``min_white`` samples at or above ``white`` ends (the first sample below it; a
    blurred edge's middle), provided the luma then falls to ``dark`` or below (the lash
    line) before it is white again. 0 when no white comes before a dark sample (the point
    is on the lash line, or its ray meets the iris and then the lashes) or when no dark
    sample follows (no margin to be sure of).
    """
    run = 0          # white samples in the current run
    edge = 0         # where the last long enough white run ended
    for k, v in enumerate(luma):
        if v >= white:
            run += 1
            edge = 0
        else:
            if run >= min_white:
                edge = k
            run = 0
            if v <= dark:
                return edge
    return 0


def raise_upper_lids(photo: np.ndarray, points: np.ndarray, *,
                     params: EyeParams = EyeParams()) -> np.ndarray:
    """``points`` with each eye's upper lid margin moved up onto the photo's lash line,
    where the mesh left white above it.

    Per upper lid point, a ray up to the first ring of skin above it reads the photo's luma
    (``margin_reach``), and the point moves up to where the white ends, at most
    ``lid_margin_reach_w`` eye widths and ``lid_margin_ring_frac`` of the way to that ring
    (so the lid never crosses it): white is at
    least ``lid_margin_white`` of the opening's 90th percentile (``lid_margin_min_white_px``
    of it at least), the lash line at most ``lid_margin_dark`` of it. The reaches are taken as the lid's own only when at least
    ``lid_margin_min_rays`` of the seven rays see white below the lashes, and then smoothed
    along the lid (median of three).

    Parameters
    ----------
    photo : (H, W, 3) uint8 RGB.
    points : (478, 2) its landmarks.

    Returns
    -------
    (478, 2) float32: a copy, only upper lid margins (``EyeTopology.upper``) moved.
    """
    if photo.ndim != 3 or photo.shape[2] != 3 or photo.dtype != np.uint8:
        raise ValueError(f"`photo` must be (H, W, 3) uint8; got {photo.shape} {photo.dtype}")
    if points.shape != (lm.N_LANDMARKS, 2):
        raise ValueError(f"`points` must be ({lm.N_LANDMARKS}, 2); got {points.shape}")
    p = params
    out = points.astype(np.float32, copy=True)
    h, w = photo.shape[:2]
    pts = points.astype(np.float64)
    for eye in EYES:
        a, b = eye.corners
        width = float(np.hypot(*(pts[b] - pts[a])))
        if width < 12.0:
            continue
        contour = pts[eye.contour]
        lo = np.floor(np.minimum(contour.min(0), pts[eye.upper_skin].min(0))).astype(int) - 2
        hi = np.ceil(np.maximum(contour.max(0), pts[eye.upper_skin].max(0))).astype(int) + 3
        lo, hi = np.maximum(lo, 0), np.minimum(hi, (w, h))
        if np.any(hi - lo < 4):
            continue
        crop = photo[lo[1]:hi[1], lo[0]:hi[0]]
        luma = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32)
        inside = np.zeros(luma.shape, np.uint8)
        cv2.fillPoly(inside, [np.round((contour - lo) * 16).astype(np.int32)], 1, cv2.LINE_8, 4)
        if inside.sum() < 8:
            continue
        top = float(np.percentile(luma[inside > 0], 90))
        white, dark = p.lid_margin_white * top, p.lid_margin_dark * top
        upper, ring = pts[eye.upper], pts[eye.upper_skin]
        min_white = max(1, int(round(2 * p.lid_margin_min_white_px)))
        reach = np.zeros(len(upper))
        for k in range(len(upper)):
            d = ring[k] - upper[k]
            dist = float(np.hypot(*d))
            if dist < 1e-6:
                continue
            # Read up to the ring (the lashes may lie further than the lid may move) ...
            n = int(dist * 2)   # samples every half pixel
            if n < 2:
                continue
            t = np.arange(n + 1) * 0.5
            xy = (upper[k] - lo)[None] + t[:, None] * (d / dist)[None]
            line = cv2.remap(luma, xy[:, 0:1].astype(np.float32), xy[:, 1:2].astype(np.float32),
                             cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)[:, 0]
            # ... and move it at most so far.
            reach[k] = min(0.5 * margin_reach(line, white, dark, min_white),
                           p.lid_margin_reach_w * width, p.lid_margin_ring_frac * dist)
        if np.count_nonzero(reach) < p.lid_margin_min_rays:
            continue
        padded = np.r_[reach[0], reach, reach[-1]]
        smooth = np.median(np.stack([padded[:-2], padded[1:-1], padded[2:]]), axis=0)
        d = ring - upper
        d /= np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-6)[:, None]
        out[eye.upper] = (upper + smooth[:, None] * d).astype(np.float32)
    return out
