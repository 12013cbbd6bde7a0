"""Driving mouth interiors for the hidden-region stage (paper Sec. 5), cropped per frame.

The photo has no teeth or tongue to show when the driver's mouth opens, so the pack carries
the driver's mouth: a fixed-size crop around the lips of every frame, and the affine that
maps frame pixels into the crop (so the landmarks can be mapped too). The player warps it
into the target geometry and blends it (``reactive/mouth.py``).
"""

from __future__ import annotations

import cv2
import numpy as np

from reactive.core import landmarks as lm

CROP_SIZE = (64, 96)  # (height, width) px; a mouth is about twice as wide as it opens
# The crop spans this many mouth widths, so the lips and some skin around them fit.
CROP_SPAN = 1.6


def mouth_crop(frame: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Crop the mouth of ``frame`` (H, W, 3) uint8 with landmarks ``points`` (478, 2).

    Returns the (64, 96, 3) uint8 crop and the (2, 3) float32 affine frame -> crop.
    """
    h_c, w_c = CROP_SIZE
    lips = points[lm.LIPS_OUTER]
    centre = lips.mean(axis=0)
    left, right = lm.MOUTH_CORNERS
    width = max(float(np.linalg.norm(points[left] - points[right])), 4.0)
    scale = w_c / (CROP_SPAN * width)
    affine = np.array([[scale, 0.0, w_c / 2 - scale * centre[0]],
                       [0.0, scale, h_c / 2 - scale * centre[1]]], np.float32)
    crop = cv2.warpAffine(frame, affine, (w_c, h_c), flags=cv2.INTER_AREA,
                          borderMode=cv2.BORDER_REPLICATE)
    return crop, affine
