"""Least-squares similarity transforms (rotation, uniform scale, translation) between point sets."""

from __future__ import annotations

import numpy as np


def fit_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity mapping ``src`` onto ``dst`` (Umeyama 1991, no reflection).

    Parameters
    ----------
    src, dst : (N, 2) float, (x, y); N >= 2 and not all points equal.

    Returns
    -------
    (2, 3) float64 matrix ``M`` with ``dst ~= src @ M[:, :2].T + M[:, 2]``.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.ndim != 2 or src.shape[1] != 2 or src.shape != dst.shape or src.shape[0] < 2:
        raise ValueError(f"`src` and `dst` must both be (N>=2, 2); got {src.shape} and {dst.shape}")
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    s, d = src - mu_s, dst - mu_d
    var_s = (s ** 2).sum()
    if var_s <= 1e-12:
        raise ValueError("`src` points are all equal; a similarity is undefined")
    # For 2D, the optimal rotation+scale is a complex ratio: a + ib = sum(conj(s) d) / sum|s|^2.
    a = (s[:, 0] * d[:, 0] + s[:, 1] * d[:, 1]).sum() / var_s
    b = (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum() / var_s
    linear = np.array([[a, -b], [b, a]])
    return np.hstack([linear, (mu_d - linear @ mu_s)[:, None]])


def apply_similarity(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a (2, 3) transform to ``points`` (..., 2)."""
    return points @ m[:, :2].T + m[:, 2]


def invert_similarity(m: np.ndarray) -> np.ndarray:
    """Inverse of a (2, 3) similarity."""
    linear_inv = np.linalg.inv(m[:, :2])
    return np.hstack([linear_inv, (-linear_inv @ m[:, 2])[:, None]])


def similarity_scale(m: np.ndarray) -> float:
    """Uniform scale of a (2, 3) similarity."""
    return float(np.sqrt(abs(np.linalg.det(m[:, :2]))))


def as3x3(m: np.ndarray) -> np.ndarray:
    """A (2, 3) transform as a 3x3 homogeneous float64 matrix."""
    return np.vstack([np.asarray(m, np.float64), [0.0, 0.0, 1.0]])


def inverse_similarity3x3(m: np.ndarray) -> np.ndarray:
    """Inverse of a (2, 3) similarity as 3x3, in closed form (np.linalg.inv costs ~1 ms)."""
    a, b = float(m[0, 0]), float(m[1, 0])
    s2 = a * a + b * b
    lin = np.array([[a, b], [-b, a]]) / s2
    out = np.eye(3)
    out[:2, :2] = lin
    out[:2, 2] = -lin @ np.asarray(m[:, 2], np.float64)
    return out
