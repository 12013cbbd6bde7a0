"""Gaze (beyond the paper): where the irises look, and the head's share of a look.

Gaze comes from the clip (``clip_gaze``: the driver's iris relative to its eye) and/or a
pointer (``pointer_gaze``: the eyes turn towards a point in front of the face), smoothed by
``GazeFollower``; the eye layer (``eye_layer.py``) paints the iris there, no farther than
the opening lets it (``iris_shift_scale``). As people do, the head turns a little towards
the pointer too (``pointer_head_turn``, ``HeadTurn``: a small rigid rotation of the face),
so the eyes need not do it all.

Gaze is ``(gx, gy)`` in eye widths (the corner-to-corner distance) along the eye's own axes:
+x towards the image's right along the line through the corners, +y perpendicular to it,
down in the image. A head turn is ``(yaw, pitch)`` in radians: +yaw towards the image's
right, +pitch down.
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


def _pointer_local(pointer_xy, face_points: np.ndarray) -> np.ndarray:
    """The pointer relative to the eyes' midpoint along the face's axes (the line through
    the eye centres, and down), in inter-ocular distances. (2,) float64."""
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
    return np.array([d @ x_axis, d @ y_axis]) / iod


def pointer_angles(pointer_xy, face_points: np.ndarray, *,
                   params: EyeParams = EyeParams()) -> np.ndarray:
    """The direction from the eyes to a pointer on a plane ``pointer_depth_iod`` inter-ocular
    distances in front of them: (yaw, pitch) radians, (2,) float64 (+ image right, + down)."""
    local = _pointer_local(pointer_xy, face_points)
    return np.arctan2(local, params.pointer_depth_iod)


def pointer_head_turn(pointer_xy, face_points: np.ndarray, *,
                      params: EyeParams = EyeParams()) -> np.ndarray:
    """How far the head turns towards a pointer: ``head_share`` of the direction to it,
    softly clamped to ``max_head_yaw_deg`` / ``max_head_pitch_deg``. (2,) float32 radians."""
    angles = pointer_angles(pointer_xy, face_points, params=params)
    limit = np.deg2rad([params.max_head_yaw_deg, params.max_head_pitch_deg])
    return _soft_clamp(params.head_share * angles, np.maximum(limit, 1e-9)).astype(np.float32)


def pointer_gaze(pointer_xy, face_points: np.ndarray, *, params: EyeParams = EyeParams(),
                 head=(0.0, 0.0)) -> np.ndarray:
    """Gaze towards a pointer: (x, y) in photo pixels -> (2,) float32 eye widths.

    The pointer is taken to lie on a plane ``pointer_depth_iod`` inter-ocular distances in
    front of the eyes; the eyeballs (radius ``eyeball_radius`` eye widths) turn towards it,
    less the ``head`` turn (yaw, pitch radians) that already points the face there, softly
    clamped to ``max_gaze_x`` / ``max_gaze_y``. Axes are the face's (the line through the
    eye centres), so a tilted photo looks along its own eyes.

    Parameters
    ----------
    pointer_xy : (2,) pointer position in the photo's pixels.
    face_points : (478, 2) the face's landmarks in the same pixels.
    head : (2,) the head's current turn towards it (``pointer_head_turn``, smoothed).
    """
    angles = pointer_angles(pointer_xy, face_points, params=params)
    head = np.asarray(head, np.float64)
    if head.shape != (2,):
        raise ValueError(f"`head` must be (2,); got {head.shape}")
    raw = params.eyeball_radius * np.sin(angles - head)
    limit = np.array([params.max_gaze_x, params.max_gaze_y])
    return _soft_clamp(raw, limit).astype(np.float32)


# A unit disc sampled evenly (sunflower pattern): the iris for ``iris_hidden``.
_DISC_N = 64
_DISC = np.stack([np.sqrt((np.arange(_DISC_N) + 0.5) / _DISC_N)
                  * np.cos(np.arange(_DISC_N) * np.pi * (3.0 - np.sqrt(5.0))),
                  np.sqrt((np.arange(_DISC_N) + 0.5) / _DISC_N)
                  * np.sin(np.arange(_DISC_N) * np.pi * (3.0 - np.sqrt(5.0)))], axis=1)


def iris_hidden(centres: np.ndarray, radius: float, corners: np.ndarray, upper: np.ndarray,
                lower: np.ndarray) -> np.ndarray:
    """Fraction of an iris disc hidden by the lids, for each of ``centres`` (J, 2).

    The disc (``radius`` px) is sampled evenly; a sample counts as seen by how far inside
    the opening (corners (2, 2), lid margins (M, 2) each) it lies, ramped over an eighth of
    the radius, so the fraction changes smoothly as the iris or the lids move. (J,) float64.
    """
    centres = np.asarray(centres, np.float64).reshape(-1, 2)
    a, b = corners[0].astype(np.float64), corners[1].astype(np.float64)
    width = max(float(np.hypot(*(b - a))), 1e-9)
    x_axis = (b - a) / width
    y_axis = np.array([-x_axis[1], x_axis[0]])
    frame = np.stack([x_axis, y_axis], axis=1)                 # photo -> (along, across) px
    disc = (radius * _DISC) @ frame                             # (N, 2)
    pos = ((centres - a) @ frame)[:, None, :] + disc[None]      # (J, N, 2)
    s, t = pos[..., 0].ravel(), pos[..., 1].ravel()
    up, low = (upper - a) @ frame, (lower - a) @ frame
    t_up = np.interp(s, np.maximum.accumulate(np.r_[0.0, up[:, 0], width]), np.r_[0.0, up[:, 1], 0.0])
    t_low = np.interp(s, np.maximum.accumulate(np.r_[0.0, low[:, 0], width]),
                      np.r_[0.0, low[:, 1], 0.0])
    # Seen by how far inside it lies, ramped over an eighth of the radius (in pixels).
    ramp = max(0.125 * radius, 0.5)
    across = np.clip(np.minimum(t - t_up, t_low - t) / ramp + 0.5, 0.0, 1.0)
    along = np.clip(np.minimum(s, width - s) / ramp + 0.5, 0.0, 1.0)
    seen = (across * along).reshape(len(centres), _DISC_N).mean(axis=1)
    return 1.0 - seen


def iris_shift_scale(centre: np.ndarray, shift: np.ndarray, radius: float,
                     corners: np.ndarray, upper: np.ndarray, lower: np.ndarray, *,
                     params: EyeParams = EyeParams(), steps: int = 8) -> float:
    """How much of ``shift`` (2,) px the iris (``centre`` (2,), ``radius`` px) may move
    within the opening: the largest fraction in [0, 1] up to which no more than
    ``max_iris_hidden`` of it is hidden by the lids (or ``iris_hidden_slack`` more than at
    ``centre``, for eyes whose lids hide more of it at rest). A real eye's lids ride on the
    eyeball; a painted iris pushed against a 2D lid looks rolled back. Continuous in all its
    inputs (``iris_hidden`` is smooth; the crossing is interpolated between ``steps``)."""
    t = np.linspace(0.0, 1.0, steps + 1)
    hidden = iris_hidden(centre[None] + t[:, None] * shift[None], radius, corners, upper,
                         lower)
    allowed = max(params.max_iris_hidden, hidden[0] + params.iris_hidden_slack)
    over = np.flatnonzero(hidden > allowed)
    if len(over) == 0:
        return 1.0
    j = int(over[0])
    # hidden[j - 1] <= allowed < hidden[j]
    f = (allowed - hidden[j - 1]) / max(hidden[j] - hidden[j - 1], 1e-12)
    return float(t[j - 1] + f * (t[j] - t[j - 1]))


class HeadTurn:
    """A small rigid rotation of the face towards where it looks, as 2D offsets of the face
    mesh. Made once per photo from its landmarks: the face is taken as a dome over its oval
    (depth ``head_depth`` x its half-width at the middle, falling to zero at the oval, as
    ``1 - r^2``), rotated about the oval's centre and projected back orthographically. Points
    in front (nose, eyes, mouth) move most, the oval not at all: the face turns inside its
    outline, and the rig's points outside the face stay.

    ``offsets(yaw, pitch, out)`` writes the (468, 2) float32 offsets in the photo's pixels.
    """

    def __init__(self, points: np.ndarray, *, params: EyeParams = EyeParams()):
        if points.shape[0] < lm.N_MESH or points.shape[1:] != (2,):
            raise ValueError(f"`points` must be ({lm.N_MESH}+, 2); got {points.shape}")
        pts = points[:lm.N_MESH].astype(np.float64)
        right = pts[RIGHT_EYE_TOPOLOGY.contour].mean(axis=0)
        left = pts[LEFT_EYE_TOPOLOGY.contour].mean(axis=0)
        x_axis = (left - right) / max(float(np.linalg.norm(left - right)), 1e-6)
        y_axis = np.array([-x_axis[1], x_axis[0]])
        self.axes = np.stack([x_axis, y_axis])                   # rows: face x, face y
        oval = pts[lm.FACE_OVAL] @ self.axes.T
        lo, hi = oval.min(axis=0), oval.max(axis=0)
        centre = 0.5 * (lo + hi)
        half = np.maximum(0.5 * (hi - lo), 1e-6)
        local = pts @ self.axes.T - centre
        r2 = ((local / half) ** 2).sum(axis=1)
        z = params.head_depth * half[0] * np.clip(1.0 - r2, 0.0, 1.0)
        self.local = np.column_stack([local, z])                 # (468, 3)

    def offsets(self, yaw: float, pitch: float, out: np.ndarray) -> np.ndarray:
        """Offsets of the face mesh for a turn of ``yaw``, ``pitch`` radians, into ``out``
        (468, 2) float32 (overwritten). Returns ``out``."""
        if out.shape != (lm.N_MESH, 2):
            raise ValueError(f"`out` must be ({lm.N_MESH}, 2); got {out.shape}")
        cy, sy = np.cos(yaw), np.sin(yaw)
        cp, sp = np.cos(pitch), np.sin(pitch)
        x, y, z = self.local[:, 0], self.local[:, 1], self.local[:, 2]
        # Yaw about the face's vertical axis, then pitch about its horizontal one; z is
        # towards the viewer, so a point in front moves the way the face turns.
        x1 = cy * x + sy * z
        z1 = -sy * x + cy * z
        y1 = cp * y + sp * z1
        d = np.column_stack([x1 - x, y1 - y]) @ self.axes
        out[:] = d
        return out


class Follower:
    """A critically damped spring towards a target, clamped to ``limit`` (2,): ``update(
    target, dt_s)`` advances by ``dt_s`` seconds (exact solution for a target held over the
    step, so any frame time is stable) and returns the current value (2,) float32."""

    def __init__(self, time_constant_s: float, limit):
        if time_constant_s <= 0:
            raise ValueError(f"`time_constant_s` must be > 0; got {time_constant_s}")
        self.time_constant_s = time_constant_s
        self.limit = np.asarray(limit, np.float64)
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
        w = 1.0 / self.time_constant_s
        e0 = self.value - target
        v0 = self.velocity
        k = np.exp(-w * dt_s)
        b = v0 + w * e0
        self.value = target + (e0 + b * dt_s) * k
        self.velocity = (v0 - w * b * dt_s) * k
        self.value = np.clip(self.value, -self.limit, self.limit)
        return self.value.astype(np.float32)


class GazeFollower(Follower):
    """Smooth gaze: a ``Follower`` with the eyes' time constant (``gaze_time_constant_s``),
    clamped to ``max_gaze_x`` / ``max_gaze_y``."""

    def __init__(self, params: EyeParams = EyeParams()):
        if params.gaze_time_constant_s <= 0:
            raise ValueError("`params.gaze_time_constant_s` must be > 0; got "
                             f"{params.gaze_time_constant_s}")
        super().__init__(params.gaze_time_constant_s, [params.max_gaze_x, params.max_gaze_y])
        self.params = params


class HeadFollower(Follower):
    """Smooth head turn: a ``Follower`` with ``head_time_constant_s`` (slower than the eyes:
    they lead, the head follows), clamped to the head's limits."""

    def __init__(self, params: EyeParams = EyeParams()):
        super().__init__(params.head_time_constant_s,
                         np.deg2rad([params.max_head_yaw_deg, params.max_head_pitch_deg]))
