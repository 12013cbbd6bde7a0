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


def edge_sigma(photo: np.ndarray, contour: np.ndarray, width: float) -> float:
    """How soft the photo's edges are round a feature, as the sigma (px) of a Gaussian blur
    of a sharp step: the box round the feature's ``contour`` (N, 2) (0.3 ``width`` beyond
    it) holds its strongest edges (an eye's iris and lid margins, the lips' outlines); a
    step of contrast C blurred by sigma has a steepest slope of C / (sigma sqrt(2 pi)). C
    is the box's luma range (5th to 95th percentile), the slope its 99th percentile
    (central differences). 0.0 when the box is flat or empty."""
    h, w = photo.shape[:2]
    pad = 0.3 * width
    lo = np.maximum(np.floor(contour.min(axis=0) - pad).astype(int), 0)
    hi = np.minimum(np.ceil(contour.max(axis=0) + pad).astype(int) + 1, (w, h))
    if np.any(hi - lo < 5):
        return 0.0
    box = photo[lo[1]:hi[1], lo[0]:hi[0]].astype(np.float32) @ np.float32([0.299, 0.587, 0.114])
    p5, p95 = np.percentile(box, [5.0, 95.0])
    gy, gx = np.gradient(box)
    slope = float(np.percentile(np.hypot(gx, gy), 99.0))
    if p95 - p5 < 10.0 or slope < 1e-3:
        return 0.0
    return float((p95 - p5) / (slope * np.sqrt(2.0 * np.pi)))


# A blur narrower than this (px) changes nothing one can see: it is skipped.
MIN_SOFTEN = 0.3


def soften_sigma(photo_sigma: float, own_sigma: float, limit: float) -> float:
    """How much to blur something drawn with edges of Gaussian softness ``own_sigma`` (px)
    for them to be as soft as the photo's (``photo_sigma``, ``edge_sigma``): the sigma that
    adds up with its own to the photo's, at most ``limit``; 0.0 below ``MIN_SOFTEN``."""
    sigma = min(float(np.sqrt(max(photo_sigma ** 2 - own_sigma ** 2, 0.0))), float(limit))
    return sigma if sigma >= MIN_SOFTEN else 0.0
