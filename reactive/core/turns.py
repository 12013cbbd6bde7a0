"""Head turns a 2D warp can show (beyond the paper, which assumes moderate head motion).

A driver turning the head far (yaw) moves the near side of the face over the far side in
2D: Eq. 1 hands the photo the same 2D motion, the far cheek squashes, and past about 20
degrees the mesh folds. A warp has no 3D model to show the other side of the head; what it
can show is a moderate turn. So the part of each frame's motion that is the turn is
limited, smoothly, to what it can show, and the rest passes unchanged:

- the head's rigid motion (a similarity: translation, roll, scale) is left alone;
- the turn is what the face points away from the mouth, eyes and brows (contour, cheeks,
  forehead, nose, jaw) do beyond that rigid motion; under the mouth, eyes and brows it is
  interpolated from them by a thin-plate spline (``turn_basis``: once per photo);
- the expression is the rest (the mouth opening, the brows, the lids), kept whole.

The turn is scaled down when the driver's yaw (``landmarks.yaw_ratio``,
relative to the clip's neutral frame) passes ``TurnParams.yaw_knee``, bending towards
``TurnParams.max_yaw`` (the same soft ceiling as ``folds.soft_cap``), and further, in steps,
until no triangle of the face mesh is folded (the far cheek's triangles near the contour,
seen edge-on, turn over in 2D long before the ceiling).
"""

from __future__ import annotations

import numpy as np

from dataclasses import dataclass

from reactive.core import landmarks as lm
from reactive.core.clip import ClipPack
from reactive.core.folds import signed_areas
from reactive.core.similarity import as3x3, inverse_similarity3x3
from reactive.params import TurnParams

# Where expression shows: the lips and the skin around the mouth, the eyes with their lids
# and the rings around them, the brows. Every other face point (the contour, cheeks,
# forehead, nose, jaw) moves beyond the head's rigid motion only by the turn; under the
# expression points the turn is interpolated from them.
_MOUTH_RING = np.array([
    61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146,
    78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95,
    76, 184, 74, 73, 72, 11, 302, 303, 304, 408, 306, 307, 320, 404, 315, 16, 85, 180, 90, 77,
    62, 183, 42, 41, 38, 12, 268, 271, 272, 407, 292, 325, 319, 403, 316, 15, 86, 179, 89, 96])


def _expression_points() -> np.ndarray:
    eyes = np.concatenate([e.lid_patch for e in lm.EYES])
    return np.unique(np.concatenate([_MOUTH_RING, eyes, lm.LEFT_BROW, lm.RIGHT_BROW]))


EXPRESSION = _expression_points()
RIGID_POINTS = np.setdiff1d(np.arange(lm.N_MESH), EXPRESSION)


def _tps_kernel(r2: np.ndarray) -> np.ndarray:
    """Thin-plate spline radial function r^2 log r (from squared distances)."""
    return 0.5 * r2 * np.log(np.maximum(r2, 1e-12))


def turn_basis(rest: np.ndarray) -> np.ndarray:
    """The thin-plate spline through the rigid points, as a matrix: a motion of the rigid
    points ``m`` (R, 2) spreads over every face point as ``basis @ m``.

    Parameters
    ----------
    rest : (468, 2) the face points at rest (the photo's).

    Returns (468, R) float32; exact at the rigid points (their rows pick them out).
    """
    pts = rest[:lm.N_MESH].astype(np.float64)
    ctrl = pts[RIGID_POINTS]
    # In units of the face's size, so that the kernel is well scaled.
    scale = max(float(np.ptp(ctrl, axis=0).max()), 1e-6)
    ctrl = ctrl / scale
    allp = pts / scale
    n = len(ctrl)
    k = _tps_kernel(((ctrl[:, None] - ctrl[None]) ** 2).sum(-1))
    p = np.hstack([np.ones((n, 1)), ctrl])
    system = np.zeros((n + 3, n + 3))
    system[:n, :n] = k
    system[:n, n:] = p
    system[n:, :n] = p.T
    inv = np.linalg.pinv(system)[:, :n]          # data at the rigid points -> coefficients
    ka = _tps_kernel(((allp[:, None] - ctrl[None]) ** 2).sum(-1))
    pa = np.hstack([np.ones((len(allp), 1)), allp])
    basis = np.hstack([ka, pa]) @ inv
    basis[RIGID_POINTS] = np.eye(n)
    return basis.astype(np.float32)


def yaw_gain(yaw: float, params: TurnParams) -> float:
    """How much of a turn of ``yaw`` (yaw ratio relative to the neutral frame) to keep, 0..1:
    all of it up to ``yaw_knee``, then bending so the kept turn approaches ``max_yaw``."""
    a = abs(yaw)
    if a <= params.yaw_knee:
        return 1.0
    room = max(params.max_yaw - params.yaw_knee, 1e-6)
    kept = params.yaw_knee + room * np.tanh((a - params.yaw_knee) / room)
    return float(kept / a)


# The fold search tries the turn at these fractions of what the yaw allows, largest first.
_STEPS = np.linspace(1.0, 0.0, 9)


@dataclass(frozen=True)
class TurnLimiter:
    """Per photo (``rig.build_rig``): limits each clip frame's turn (``motion.frame_offsets``)."""

    basis: np.ndarray       # (468, R) float32, ``turn_basis`` of the photo's face
    rest: np.ndarray        # (K, 2) float64, the rig's control points at rest
    triangles: np.ndarray   # (T, 3) int32, the rig's triangles that must not fold ...
    orientation: np.ndarray  # (T,) their sign at rest ...
    tolerance: np.ndarray   # (T,) and how far over they may turn (``folds.Unfolder``)
    params: TurnParams

    @staticmethod
    def for_rig(rest: np.ndarray, triangles: np.ndarray, orientation: np.ndarray,
                tolerance: np.ndarray, params: TurnParams = TurnParams()) -> "TurnLimiter":
        """``rest`` (K, 2) the control points, the face's 468 first; the triangles watched
        for folds (``Unfolder``), their orientation and tolerance."""
        arrays = dict(basis=turn_basis(rest[:lm.N_MESH]), rest=rest.astype(np.float64),
                      triangles=np.asarray(triangles, np.int32),
                      orientation=np.asarray(orientation, np.float64),
                      tolerance=np.asarray(tolerance, np.float64))
        for a in arrays.values():
            a.flags.writeable = False
        return TurnLimiter(params=params, **arrays)

    def folds(self, offsets: np.ndarray) -> int:
        """How many watched triangles the control-point ``offsets`` (K, 2) turn over."""
        area = signed_areas(self.rest + offsets, self.triangles) * self.orientation
        return int((area < -self.tolerance).sum())

    def __call__(self, offsets: np.ndarray, pack: ClipPack, i: int, a: np.ndarray) -> float:
        """Limit the turn of clip frame ``i`` in ``offsets`` (K, 2) float32, the control
        points' offsets in the photo (Eq. 1 for the face, the peripheral points' own); the
        face's rows are changed in place. ``a`` (2, 2) is phi's linear part. Returns the
        share of the turn kept (1: all)."""
        n0 = pack.neutral_index
        yaw = float(lm.yaw_ratio(pack.landmarks[i]) - lm.yaw_ratio(pack.landmarks[n0]))
        gain = yaw_gain(yaw, self.params)
        s0 = pack.landmarks[n0, :lm.N_MESH].astype(np.float64)
        head = as3x3(pack.head[i]) @ inverse_similarity3x3(pack.head[n0])
        rigid = (s0 @ head[:2, :2].T + head[:2, 2] - s0) @ a.T.astype(np.float64)
        face = offsets[:lm.N_MESH]
        turn = np.zeros(offsets.shape)
        turn[:lm.N_MESH] = turn_motion(face, rigid, self.basis)
        base = offsets.astype(np.float64) - turn
        best, fewest = gain, None
        for step in _STEPS:
            g = gain * step
            n = self.folds(base + g * turn)
            if fewest is None or n < fewest:
                best, fewest = g, n
            if n == 0:
                break
        if best < 1.0:
            face[:] = (base[:lm.N_MESH] + best * turn[:lm.N_MESH]).astype(np.float32)
        return best


def turn_motion(face: np.ndarray, rigid: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """The turn's motion of every face point, (468, 2) float64: what the points away from
    mouth, eyes and brows do beyond the head's rigid motion, spread under those by the
    spline. ``face`` (468, 2) the face offsets, ``rigid`` (468, 2) the head's rigid
    displacement of the same points, ``basis`` (468, R) ``turn_basis``."""
    beyond = face[RIGID_POINTS].astype(np.float64) - rigid[RIGID_POINTS]
    return basis.astype(np.float64) @ beyond
