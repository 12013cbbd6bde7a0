"""Choosing the neutral frame s* of a driving clip (the paper assumes frame 0; clips rarely oblige).

The neutral frame is the clip's resting face: mouth closed, eyes open, head frontal, and a shape
the clip keeps coming back to. We score every frame on those four and take the best.
"""

from __future__ import annotations

import numpy as np

from reactive.core import landmarks as lm
from reactive.core.similarity import apply_similarity, fit_similarity


def expression_scores(points: np.ndarray) -> np.ndarray:
    """Lower = more neutral. ``points`` : (F, 478, 2) float32. Returns (F,) float64.

    - rest shape: median distance to the 20% nearest frames after removing head pose, in
      inter-ocular units; a clip returns to its resting face more often than to any
      one expression, so the rest shape is the densest.
    - mouth opening (inner-lip gap / mouth width): an open mouth is never neutral.
    - closed eyes (eye aspect ratio below 0.2): a blink is not neutral.
    - head turn: the paper assumes a frontal neutral frame.
    """
    points = np.asarray(points, dtype=np.float64)
    f = points.shape[0]
    ref = points[0]
    aligned = np.empty((f, len(lm.EXPRESSION_POINTS), 2))
    for i in range(f):
        m = fit_similarity(points[i, lm.STABLE_POINTS], ref[lm.STABLE_POINTS])
        aligned[i] = apply_similarity(m, points[i, lm.EXPRESSION_POINTS])
    iod = float(lm.interocular(ref))
    flat = aligned.reshape(f, -1) / max(iod, 1e-6)
    if f > 1:
        sq = (flat ** 2).sum(axis=1)
        d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * flat @ flat.T, 0.0)
        d = np.sqrt(d2 / len(lm.EXPRESSION_POINTS))  # RMS per point
        k = max(2, int(round(0.2 * f)))
        density = np.median(np.sort(d, axis=1)[:, 1:k + 1], axis=1)
    else:
        density = np.zeros(1)
    mouth = lm.mouth_open_ratio(points)
    eyes_closed = np.maximum(0.0, 0.2 - lm.eye_open_ratio(points))
    yaw = np.abs(lm.yaw_ratio(points))
    return density + 1.0 * mouth + 2.0 * eyes_closed + 0.5 * yaw


def choose_neutral(points: np.ndarray, detected: np.ndarray | None = None) -> int:
    """Index of the most neutral frame among the frames where the face was really detected."""
    scores = expression_scores(points)
    if detected is not None and detected.any():
        scores = np.where(detected, scores, np.inf)
    return int(np.argmin(scores))
