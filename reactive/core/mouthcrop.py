"""A driver's mouth, cropped from one of its frames (paper Sec. 5's source of the interior).

The photo has no teeth or tongue to show when the driver's mouth opens, so the interior is
the driver's own: a fixed-size crop around the lips, and the affine that maps frame pixels
into the crop (so the landmarks can be mapped too). Precompute stores one per clip frame in
the pack; the live puppet crops each camera frame as it comes (``live.puppet``); the mouth
layer carries it into the output's opening (``core.mouth``).

Since pack version 4 the crop keeps the driver's own resolution (pixels copied, not
resampled) whenever the mouth fits: teeth stay as sharp as in the driver. Larger mouths are
scaled down to fit.
"""

from __future__ import annotations

import cv2
import numpy as np

from reactive.core import landmarks as lm

CROP_SIZE = (64, 96)  # (height, width) px of version 2-3 crops (and synth.py's drawn ones)
# Version 4: square (an open mouth is about as tall as wide), at the driver's resolution for
# mouths up to DRIVER_CROP_SIZE / CROP_SPAN = 100 px wide (most clips up to 720 px).
DRIVER_CROP_SIZE = (160, 160)
# The crop spans this many mouth widths, so the lips and some skin around them fit.
CROP_SPAN = 1.6


def mouth_crop(frame: np.ndarray, points: np.ndarray, size: tuple[int, int] = CROP_SIZE, *,
               native: bool = False, out: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Crop the mouth of ``frame`` (H, W, 3) uint8 with landmarks ``points`` (478, 2).

    ``size`` (h, w): the crop spans CROP_SPAN mouth widths across. ``native``: never
    enlarge, and at scale 1 copy whole pixels (an integer shift), so nothing is resampled.
    ``out``: an (h, w, 3) uint8 buffer to crop into (per-frame callers), else a new one.
    Returns the (h, w, 3) uint8 crop and the (2, 3) float32 affine frame -> crop.
    """
    h_c, w_c = size
    if out is not None and (out.shape != (h_c, w_c, 3) or out.dtype != np.uint8):
        raise ValueError(f"`out` must be ({h_c}, {w_c}, 3) uint8; got {out.shape} {out.dtype}")
    lips = points[lm.LIPS_OUTER]
    centre = lips.mean(axis=0)
    left, right = lm.MOUTH_CORNERS
    width = max(float(np.linalg.norm(points[left] - points[right])), 4.0)
    scale = w_c / (CROP_SPAN * width)
    if native and scale >= 1.0:
        tx, ty = round(w_c / 2 - centre[0]), round(h_c / 2 - centre[1])
        affine = np.array([[1.0, 0.0, tx], [0.0, 1.0, ty]], np.float32)
        crop = cv2.warpAffine(frame, affine, (w_c, h_c), dst=out, flags=cv2.INTER_NEAREST,
                              borderMode=cv2.BORDER_REPLICATE)
        return crop, affine
    affine = np.array([[scale, 0.0, w_c / 2 - scale * centre[0]],
                       [0.0, scale, h_c / 2 - scale * centre[1]]], np.float32)
    crop = cv2.warpAffine(frame, affine, (w_c, h_c), dst=out, flags=cv2.INTER_AREA,
                          borderMode=cv2.BORDER_REPLICATE)
    return crop, affine
