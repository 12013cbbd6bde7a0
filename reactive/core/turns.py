"""Head turns a 2D warp can show (beyond the paper, which assumes moderate head motion).

A driver turning the head far (yaw) moves the near side of the face over the far side in
2D: Eq. 1 hands the photo the same 2D motion, the far cheek squashes, and past about 20
degrees the mesh folds. A warp has no 3D model to show the other side of the head; what it
can show is a moderate turn. So the part of each frame's motion that is the turn is
limited, smoothly, to what it can show, and the rest passes unchanged:

- the head's rigid motion (a similarity: translation, roll, scale) is left alone;
- the turn is what the face points away from the mouth, eyes and brows and above the
  upper lip (contour, cheekbones, forehead, nose: ``carriers``) do beyond that rigid
  motion, spread over the whole face by a thin-plate spline through them (``turn_basis``:
  once per photo; along the face, the jaw reads it at the upper lip's level,
  ``held_below_lip``);
- the expression is the rest (the mouth opening and the jaw, the brows, the lids), kept
  whole.

Turns up to ``TurnParams.yaw_knee`` of the driver's yaw (``landmarks.yaw_ratio``, relative
to the clip's neutral frame) pass untouched; beyond, the turn is scaled so that the yaw
shown bends smoothly towards ``TurnParams.max_yaw`` (as ``folds.soft_cap`` does), a smooth
function of the driver's yaw, so a clip turning through the knee shows no jump.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reactive.core import landmarks as lm
from reactive.core.clip import ClipPack
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
OUTSIDE_EXPRESSION = np.setdiff1d(np.arange(lm.N_MESH), EXPRESSION)


def _face_down(points: np.ndarray) -> np.ndarray:
    """Unit vector from the eyes' line towards the chin, (2,) float64."""
    right = points[lm.LEFT_EYE].mean(axis=0) - points[lm.RIGHT_EYE].mean(axis=0)
    down = np.array([-right[1], right[0]], np.float64)
    return down / max(float(np.linalg.norm(down)), 1e-9)


def carriers(rest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The face points that show the turn, from the photo's face at rest (468, 2): across
    the face, every point away from the mouth, eyes and brows (contour, cheeks, forehead,
    nose, jaw); along it, only those above the upper lip (a jaw drop moves the jaw and chin
    down: that is expression). Returns (across, along), index arrays into the mesh."""
    down = _face_down(rest)
    level = float(rest[lm.UPPER_LIP_TOP] @ down)
    above = rest[OUTSIDE_EXPRESSION] @ down < level
    return OUTSIDE_EXPRESSION, OUTSIDE_EXPRESSION[above]


def held_below_lip(rest: np.ndarray) -> np.ndarray:
    """Where each face point reads the turn along the face, (468, 2) float64: points below
    the upper lip (the jaw, the lower lip, the chin) at their own place across the face but
    on the upper lip's level. Their motion along the face is the expression (a jaw drop),
    so the turn's along motion has no carrier there; a spline extrapolated down into the
    jaw would carry the trend between forehead and lip on, and limiting it would move the
    chin against the lower lip (s42 x d12: a wide-open mouth at the strongest turn folded
    the chin under the lip). Held at the lip's level, the jaw takes the along motion of the
    face just above it, as one piece with the lower lip."""
    pts = rest[:lm.N_MESH].astype(np.float64)
    down = _face_down(pts)
    level = float(pts[lm.UPPER_LIP_TOP] @ down)
    return pts - np.maximum(pts @ down - level, 0.0)[:, None] * down


def _tps_kernel(r2: np.ndarray) -> np.ndarray:
    """Thin-plate spline radial function r^2 log r (from squared distances)."""
    return 0.5 * r2 * np.log(np.maximum(r2, 1e-12))


def turn_basis(rest: np.ndarray, points: np.ndarray, at: np.ndarray | None = None
               ) -> np.ndarray:
    """The thin-plate spline through the face points ``points`` (R,) (``carriers``), as a
    matrix: a motion of those points ``m`` (R, 2) spreads over every face point as
    ``basis @ m``.

    Parameters
    ----------
    rest : (468, 2) the face points at rest (the photo's).
    points : (R,) indices of the points that carry the motion.
    at : (468, 2) where each face point reads the spline (default: ``rest``).

    Returns (468, R) float32; exact at ``points`` (their rows pick them out).
    """
    pts = rest[:lm.N_MESH].astype(np.float64)
    ctrl = pts[points]
    if at is not None:
        if at.shape != pts.shape:
            raise ValueError(f"`at` must be {pts.shape}; got {at.shape}")
        pts = np.asarray(at, np.float64)
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
    basis[points] = np.eye(n)
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


@dataclass(frozen=True)
class TurnLimiter:
    """Per photo (``rig.build_rig``): limits each clip frame's turn (``motion.frame_offsets``)."""

    across: np.ndarray        # (R,) int, the points that show the turn across the face ...
    along: np.ndarray         # (R',) int, ... and along it (``carriers``)
    basis_across: np.ndarray  # (468, R) float32, ``turn_basis`` through them
    basis_along: np.ndarray   # (468, R') float32
    params: TurnParams

    @staticmethod
    def for_face(rest: np.ndarray, params: TurnParams = TurnParams()) -> "TurnLimiter":
        """``rest`` (468, 2): the photo's face points."""
        across, along = carriers(rest[:lm.N_MESH])
        arrays = dict(across=across, along=along, basis_across=turn_basis(rest, across),
                      basis_along=turn_basis(rest, along, held_below_lip(rest)))
        for a in arrays.values():
            a.flags.writeable = False
        return TurnLimiter(params=params, **arrays)

    def __call__(self, face: np.ndarray, pack: ClipPack, i: int, a: np.ndarray) -> float:
        """Limit the turn of clip frame ``i`` in ``face`` (468, 2) float32, the face
        points' offsets in the photo (Eq. 1), in place. ``a`` (2, 2) is phi's linear part.
        Returns the share of the turn kept (1: all, the offsets untouched)."""
        n0 = pack.neutral_index
        yaw = float(lm.yaw_ratio(pack.landmarks[i]) - lm.yaw_ratio(pack.landmarks[n0]))
        gain = yaw_gain(yaw, self.params)
        if gain >= 1.0:
            return 1.0
        s0 = pack.landmarks[n0, :lm.N_MESH].astype(np.float64)
        head = as3x3(pack.head[i]) @ inverse_similarity3x3(pack.head[n0])
        rigid = (s0 @ head[:2, :2].T + head[:2, 2] - s0) @ a.T.astype(np.float64)
        down = _face_down(pack.landmarks[i] @ a.T.astype(np.float64))
        right = np.array([-down[1], down[0]])
        beyond = face.astype(np.float64) - rigid
        turn = np.outer(turn_motion(beyond @ right, self.basis_across, self.across), right)
        turn += np.outer(turn_motion(beyond @ down, self.basis_along, self.along), down)
        face -= ((1.0 - gain) * turn).astype(np.float32)
        return gain


def turn_motion(beyond: np.ndarray, basis: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The turn's motion of every face point along one direction, (468,) float64: what
    the carriers ``points`` (R,) move along it beyond the head's rigid motion (``beyond``
    (468,), every face point's), spread over the face by the spline ``basis`` (468, R)."""
    return basis.astype(np.float64) @ beyond[points]
