"""Gaussian blurs for the once-per-photo image work (the background plate, the closed
lids): a wide blur at reduced resolution, and the mean over a weighted set of pixels
(normalized convolution)."""

from __future__ import annotations

import cv2
import numpy as np


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of ``image`` (H, W[, C]) float32 by ``sigma`` px; a wide one at reduced
    resolution (its result is smooth: nothing is lost, and it costs a fraction). Same
    shape."""
    factor = int(sigma // 4)
    h, w = image.shape[:2]
    if factor < 2 or min(h, w) // factor < 4:
        return cv2.GaussianBlur(image, (0, 0), sigma)
    small = cv2.resize(image, (max(1, w // factor), max(1, h // factor)),
                       interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / factor)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def normalized_blur(values: np.ndarray, weight: np.ndarray, sigma: float,
                    fallback: np.ndarray | None = None) -> np.ndarray:
    """Gaussian mean of ``values`` (H, W) or (H, W, C) float32 over the pixels ``weight``
    (H, W) float32 counts, as the same shape: 0 where no weight reaches, or with
    ``fallback`` (the shape of ``values``) giving way to it where little does (less than a
    tenth of a full neighbourhood's: a mean of a few pixels is noise, of none is black)."""
    total = gaussian_blur(weight, sigma)
    w = weight[..., None] if values.ndim == 3 else weight
    mean = gaussian_blur(values * w, sigma)
    t = np.maximum(total, 1e-6)
    mean = mean / (t[..., None] if values.ndim == 3 else t)
    if fallback is None:
        return mean
    trust = np.clip(total * 10.0, 0.0, 1.0)
    trust = trust[..., None] if values.ndim == 3 else trust
    return trust * mean + (1.0 - trust) * fallback
