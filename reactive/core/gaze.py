"""Gaze (beyond the paper): where the irises look.

Gaze comes from the clip (``clip_gaze``: the driver's iris relative to its eye) and/or a
pointer (``pointer_gaze``: the eyes turn towards a point in front of the face), smoothed by
``GazeFollower``; the eye layer (``eye_layer.py``) paints the iris there.

Gaze is ``(gx, gy)`` in eye widths (the corner-to-corner distance) along the eye's own axes:
+x towards the image's right along the line through the corners, +y perpendicular to it,
down in the image.
"""

from __future__ import annotations

import numpy as np

from reactive.core import landmarks as lm
from reactive.core.landmarks import EYES, LEFT_EYE_TOPOLOGY, RIGHT_EYE_TOPOLOGY, EyeTopology
from reactive.core.lids import check_points, lid_closure
from reactive.params import EyeParams


def _eye_frame(points: np.ndarray, eye: EyeTopology) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Origin (corner midpoint), x axis (unit, image-left -> image-right corner), width."""
    a = points[..., eye.corners[0], :].astype(np.float64)
    b = points[..., eye.corners[1], :].astype(np.float64)
    v = b - a
    width = np.maximum(np.linalg.norm(v, axis=-1), 1e-6)
    return 0.5 * (a + b), v / width[..., None], width


def iris_in_eye(points: np.ndarray) -> np.ndarray:
    """Iris centre in its eye's frame, in eye widths. ``points`` (..., 478, 2) -> (..., 2, 2)
    float64: per eye (subject's left, right) the (x, y) of the iris from the corner midpoint."""
    out = []
    for eye in EYES:
        origin, x_axis, width = _eye_frame(points, eye)
        y_axis = np.stack([-x_axis[..., 1], x_axis[..., 0]], axis=-1)
        d = points[..., eye.iris, :].astype(np.float64) - origin
        out.append(np.stack([(d * x_axis).sum(-1), (d * y_axis).sum(-1)], axis=-1)
                   / width[..., None])
    return np.stack(out, axis=-2)


def clip_gaze(points: np.ndarray, neutral_index: int, *,
              params: EyeParams = EyeParams()) -> np.ndarray:
    """The driver's gaze per frame: iris centre relative to its eye, minus the neutral's.

    Both eyes averaged, each weighted by how open it is (a closing lid drags the tracked
    iris with it), and faded out as both close. Clamped to ``max_gaze_x`` / ``max_gaze_y``.

    Parameters
    ----------
    points : (F, 478, 2) the driver's landmarks.
    neutral_index : frame whose gaze counts as straight ahead.

    Returns
    -------
    (F, 2) float32, eye widths along the eye's axes (+x image right, +y down).
    """
    points = check_points(points, "points")
    if not 0 <= neutral_index < len(points):
        raise ValueError(f"`neutral_index` must be in [0, {len(points)}); got {neutral_index}")
    rel = iris_in_eye(points)
    rel = rel - rel[neutral_index]
    weight = (1.0 - lid_closure(points, neutral_index, params=params).astype(np.float64)) ** 2
    total = weight.sum(axis=1)
    gaze = (rel * weight[..., None]).sum(axis=1) / np.maximum(total, 1e-6)[:, None]
    gaze *= weight.max(axis=1)[:, None]
    limit = np.array([params.max_gaze_x, params.max_gaze_y])
    return np.clip(gaze, -limit, limit).astype(np.float32)


def _soft_clamp(value: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """limit * tanh(value / limit): identity for small values, never beyond the limit."""
    return limit * np.tanh(value / limit)


def pointer_gaze(pointer_xy, face_points: np.ndarray, *,
                 params: EyeParams = EyeParams()) -> np.ndarray:
    """Gaze towards a pointer: (x, y) in photo pixels -> (2,) float32 eye widths.

    The pointer is taken to lie on a plane ``pointer_depth_iod`` inter-ocular distances in
    front of the eyes; the eyeballs (radius ``eyeball_radius`` eye widths) turn towards it,
    softly clamped to ``max_gaze_x`` / ``max_gaze_y``. Axes are the face's (the line through
    the eye centres), so a tilted photo looks along its own eyes.

    Parameters
    ----------
    pointer_xy : (2,) pointer position in the photo's pixels.
    face_points : (478, 2) the face's landmarks in the same pixels.
    """
    p = np.asarray(pointer_xy, np.float64)
    if p.shape != (2,):
        raise ValueError(f"`pointer_xy` must be (2,); got {p.shape}")
    if face_points.shape != (lm.N_LANDMARKS, 2):
        raise ValueError(f"`face_points` must be ({lm.N_LANDMARKS}, 2); got {face_points.shape}")
    pts = face_points.astype(np.float64)
    right = pts[RIGHT_EYE_TOPOLOGY.contour].mean(axis=0)   # image left
    left = pts[LEFT_EYE_TOPOLOGY.contour].mean(axis=0)
    iod = max(float(np.linalg.norm(left - right)), 1e-6)
    x_axis = (left - right) / iod
    y_axis = np.array([-x_axis[1], x_axis[0]])
    d = p - 0.5 * (left + right)
    local = np.array([d @ x_axis, d @ y_axis]) / iod
    raw = params.eyeball_radius * local / np.sqrt(local @ local + params.pointer_depth_iod ** 2)
    limit = np.array([params.max_gaze_x, params.max_gaze_y])
    return _soft_clamp(raw, limit).astype(np.float32)


class GazeFollower:
    """Smooth gaze: a critically damped spring towards the target, clamped to the limits.

    ``update(target, dt_s)`` advances by ``dt_s`` seconds (exact solution for a target held
    over the step, so any frame time is stable) and returns the current gaze (2,) float32.
    """

    def __init__(self, params: EyeParams = EyeParams()):
        if params.gaze_time_constant_s <= 0:
            raise ValueError("`params.gaze_time_constant_s` must be > 0; got "
                             f"{params.gaze_time_constant_s}")
        self.params = params
        self.limit = np.array([params.max_gaze_x, params.max_gaze_y])
        self.value = np.zeros(2)
        self.velocity = np.zeros(2)

    def reset(self, value=(0.0, 0.0)) -> None:
        self.value = np.clip(np.asarray(value, np.float64), -self.limit, self.limit)
        self.velocity = np.zeros(2)

    def update(self, target, dt_s: float) -> np.ndarray:
        target = np.asarray(target, np.float64)
        if target.shape != (2,):
            raise ValueError(f"`target` must be (2,); got {target.shape}")
        if not dt_s >= 0:
            raise ValueError(f"`dt_s` must be >= 0; got {dt_s}")
        target = np.clip(target, -self.limit, self.limit)
        w = 1.0 / self.params.gaze_time_constant_s
        e0 = self.value - target
        v0 = self.velocity
        k = np.exp(-w * dt_s)
        b = v0 + w * e0
        self.value = target + (e0 + b * dt_s) * k
        self.velocity = (v0 - w * b * dt_s) * k
        self.value = np.clip(self.value, -self.limit, self.limit)
        return self.value.astype(np.float32)
