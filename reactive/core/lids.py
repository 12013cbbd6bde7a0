"""Lids that close completely (beyond the paper).

The paper transfers the driver's lid travel by Eq. 1, scaled by phi, and notes that "there is
not enough detail to fully close the eyes of the target image" (Sec. 7.3). Two reasons: a
target whose eyes are more open than the driver's travels the same distance and stops short,
and the tracker itself seldom reports a closed eye as a zero gap (MediaPipe gives an eye
aspect ratio of 0.00-0.10 on d3's closed eyes). Here

- ``lid_closure`` reads, per frame and eye, how closed the driver's eye is (0 open, 1 what the
  tracker shows for a closed eye);
- ``close_lids`` then moves the target's own upper lid onto its lower lid by that fraction,
  in the target's geometry, on top of Eq. 1 (never opening the eye wider than Eq. 1 did), and
  drags the lid skin above along so it stretches over several bands of the mesh.

The eye layer (``eye_layer.py``) then repaints what the warp cannot: the eyeball, the iris
and, as the lids close, the lids themselves.

Conventions: points are ``(x, y)`` in pixels; "left"/"right" eye are the subject's, as in
MediaPipe (the subject's right eye is on the image's left).
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from reactive.core import landmarks as lm
from reactive.core.geometry import smoothstep
from reactive.core.landmarks import EYES
from reactive.params import EyeParams

log = logging.getLogger(__name__)


def folded_over_eyes(points: np.ndarray) -> np.ndarray:
    """Face-mesh points that lie over an eye's lid patch in the photo without belonging to
    it. ``points`` : (>= 468, 2). Returns (468,) bool, all False on a frontal face.

    On a strongly turned head the far side of the face folds over the far eye in 2D (s10,
    the Girl with a Pearl Earring: the far temple and cheek, points 34, 127, 139 and 234,
    lie on her far eye; s8: 127). Triangles from the lids to such points flip as the lids
    close, undoing the flips holds the eye open, and the lid patch gets holes. Hidden in the
    photo, nothing of these points is drawn, so they are left out of the triangulation (the
    rig's and the redrawn patch's alike)."""
    pts = np.asarray(points, np.float64)[:lm.N_MESH]
    out = np.zeros(lm.N_MESH, bool)
    for eye in EYES:
        poly = pts[eye.outline].astype(np.float32)
        lo, hi = poly.min(axis=0), poly.max(axis=0)
        near = np.flatnonzero(np.all((pts >= lo) & (pts <= hi), axis=1))
        for i in near[~np.isin(near, eye.lid_patch)]:
            out[i] |= cv2.pointPolygonTest(poly, (float(pts[i, 0]), float(pts[i, 1])),
                                           False) > 0
    return out


def eye_aspect_ratios(points: np.ndarray) -> np.ndarray:
    """Per eye, the mean gap of the five inner lid pairs across the eye (perpendicular to
    the line through its corners, ``lm.lid_gaps_across``) over the corner distance.

    ``points`` : (..., 478, 2). Returns (..., 2) float32: (subject's left, right); ~0.3 open.
    """
    out = [lm.lid_gaps_across(points, eye.upper[1:6], eye.lower[1:6], eye.corners).mean(axis=-1)
           for eye in EYES]
    return np.stack(out, axis=-1).astype(np.float32)


def check_points(points: np.ndarray, name: str) -> np.ndarray:
    """``points`` as an array, or ValueError unless it is (F, 478, 2) (naming ``name``)."""
    points = np.asarray(points)
    if points.ndim != 3 or points.shape[1:] != (lm.N_LANDMARKS, 2):
        raise ValueError(f"`{name}` must be (F, {lm.N_LANDMARKS}, 2); got {points.shape}")
    return points


def lid_closure(points: np.ndarray, neutral_index: int, *,
                params: EyeParams = EyeParams()) -> np.ndarray:
    """How closed the driver's eyes are, per frame and eye.

    0 down to ``params.closure_start_frac`` of the neutral frame's ratio (a look down lowers
    the lids that far, and Eq. 1 carries it), 1 at what the tracker reports for a closed eye
    (``params.closed_ear``, or ``closed_ear_frac`` of the neutral ratio when lower), and a
    smoothstep of the ratio in between. The lids are yoked (``yoke_lids``): unless one eye
    reads shut, both close by the pair's mean, never one alone.

    Parameters
    ----------
    points : (F, 478, 2) the driver's landmarks (a clip pack's ``landmarks``).
    neutral_index : the clip's neutral frame, whose eyes count as open.

    Returns
    -------
    (F, 2) float32 in [0, 1]: (subject's left eye, right eye).
    """
    points = check_points(points, "points")
    if not 0 <= neutral_index < len(points):
        raise ValueError(f"`neutral_index` must be in [0, {len(points)}); got {neutral_index}")
    ear = eye_aspect_ratios(points).astype(np.float64)
    open_ear = ear[neutral_index]
    closed = np.minimum(params.closed_ear, params.closed_ear_frac * open_ear)
    if np.any(open_ear <= closed + 1e-6):
        log.warning("the neutral frame's eyes look closed (aspect ratios %s); no closure",
                    np.round(open_ear, 3))
    ear = yoke_lids(ear, open_ear, closed, params.wink_alone_frac, params.wink_shared_frac)
    start = np.maximum(params.closure_start_frac * open_ear, closed)
    return smoothstep((start - ear) / np.maximum(start - closed, 1e-6)).astype(np.float32)


def yoke_lids(ear: np.ndarray, open_ear: np.ndarray, closed: np.ndarray,
              alone_frac: float, shared_frac: float) -> np.ndarray:
    """The eyes' aspect ratios with what only one eye shows shared by both, unless an eye is
    shut on its own (a wink): ``EyeParams.wink_alone_frac``, ``wink_shared_frac``.

    Parameters
    ----------
    ear : (F, 2) the tracked ratios; open_ear, closed : (2,) the neutral and the closed ratio
        per eye; alone_frac, shared_frac : fractions of ``closed``: an eye reading at most
        the first is shut alone, the pair shares all from the second.

    Returns
    -------
    (F, 2) float64: per frame, each eye's ratio relative to its neutral moved towards the
    pair's mean by how far the more shut eye is from reading shut (all the way at
    ``shared_frac * closed`` and above, not at all at ``alone_frac * closed`` and below).
    """
    open_ear = np.maximum(open_ear, 1e-6)
    rel = ear / open_ear
    mean = rel.mean(axis=-1, keepdims=True)
    shut = (ear / np.maximum(closed, 1e-6)).min(axis=-1, keepdims=True)
    alone = 1.0 - smoothstep((shut - alone_frac) / max(shared_frac - alone_frac, 1e-6))
    return (mean + alone * (rel - mean)) * open_ear


def eye_linear(rest: np.ndarray, now: np.ndarray, corners: tuple[int, int]) -> complex:
    """The eye's rotation+scale rest -> now from its two corners, as a complex number."""
    a, b = corners
    v0 = complex(*(rest[b] - rest[a]))
    v1 = complex(*(now[b] - now[a]))
    return v1 / v0 if abs(v0) > 1e-9 else 1.0 + 0j


# How much each lid pair (across the eye) is a corner pair: the lids meet nearer the middle of
# the gap there, and the skin follows less, or the small triangles between corner, lid and
# ring fold over.
_CORNER_WEIGHT = np.array([1.0, 0.3, 0.0, 0.0, 0.0, 0.3, 1.0])


def _skin_follow(rest: np.ndarray, eye, width: float, params: EyeParams) -> list:
    """Per skin ring above the upper lid (``upper_skin``, ``crease``): how much it follows the
    lid's own travel, by its height above the lid in eye widths (``close_lids``)."""
    out = []
    for ring in (eye.upper_skin, eye.crease):
        height = np.linalg.norm(rest[ring] - rest[eye.upper], axis=1) / width
        t = (height - params.skin_follow_full_w) / max(
            params.skin_follow_none_w - params.skin_follow_full_w, 1e-6)
        out.append((ring, 1.0 - smoothstep(t)))
    return out


def close_lids(face_offsets: np.ndarray, rest: np.ndarray, closure, *,
               params: EyeParams = EyeParams()) -> None:
    """Close the target's lids by ``closure``, on top of the Eq. 1 offsets, in place.

    Per lid pair (upper[k] over lower[k]) the gap's component across the eye is brought to
    ``min(e, (1 - c) max(e, 1))`` of the target's rest gap, e being what Eq. 1 left of it
    (1 = as in the photo); the component along the eye shrinks by (1 - c). So at c = 0 nothing
    changes, at c = 1 the upper lid lies exactly on the lower lid whatever the photo's opening,
    and in between the eye is never more open than Eq. 1 made it. The lower lid does
    ``lower_lid_share`` of the extra travel (``corner_lower_share`` at the pairs by the
    corners). The skin above the upper lid follows its extra travel by its height above the
    lid (fully up to ``skin_follow_full_w`` eye widths, not beyond ``skin_follow_none_w``),
    the ring below the lower lid by ``lower_skin_follow``: the lid and lash band comes down
    whole and the skin under the brow stretches, instead of one thin band tearing. The rest
    axes of the gap are turned and scaled with the eye (its corners), so a rolled head
    closes along the right direction.

    Parameters
    ----------
    face_offsets : (468, 2) float32, Eq. 1 offsets of the face-mesh control points; changed
        in place.
    rest : (468, 2) float32, the photo's face-mesh points (the control points' rest).
    closure : (2,) float in [0, 1], (subject's left eye, right eye), from ``lid_closure``.
    """
    if face_offsets.shape != (lm.N_MESH, 2):
        raise ValueError(f"`face_offsets` must be ({lm.N_MESH}, 2); got {face_offsets.shape}")
    if rest.shape[0] < lm.N_MESH or rest.shape[1:] != (2,):
        raise ValueError(f"`rest` must be ({lm.N_MESH}, 2); got {rest.shape}")
    closure = np.asarray(closure, np.float64)
    if closure.shape != (2,):
        raise ValueError(f"`closure` must be (2,); got {closure.shape}")
    rest = rest[:lm.N_MESH].astype(np.float64)
    for eye, c in zip(EYES, np.clip(closure, 0.0, 1.0)):
        if c <= 0.0:
            continue
        off = face_offsets.astype(np.float64)
        z = eye_linear(rest, rest + off, eye.corners)
        g_rest = rest[eye.upper] - rest[eye.lower]                      # (7, 2)
        g_ref = (complex(z) * (g_rest[:, 0] + 1j * g_rest[:, 1]))
        g_ref = np.stack([g_ref.real, g_ref.imag], axis=1)
        h = np.maximum(np.linalg.norm(g_ref, axis=1), 1e-6)
        n = g_ref / h[:, None]
        gap = (rest[eye.upper] + off[eye.upper]) - (rest[eye.lower] + off[eye.lower])
        across = (gap * n).sum(axis=1)
        along = gap - across[:, None] * n
        e = across / h
        f = np.minimum(e, (1.0 - c) * np.maximum(e, 1.0))
        # Lids that Eq. 1 already crossed uncross as the closure completes.
        f = np.where(e < 0.0, e * (1.0 - c), f)
        new_gap = (f * h)[:, None] * n + (1.0 - c) * along
        delta = gap - new_gap                                           # closing travel
        share = params.lower_lid_share + (params.corner_lower_share
                                          - params.lower_lid_share) * _CORNER_WEIGHT
        up_move = -(1.0 - share)[:, None] * delta
        low_move = share[:, None] * delta
        follow = 1.0 - (1.0 - params.corner_skin_follow) * _CORNER_WEIGHT[:, None]
        face_offsets[eye.upper] += up_move.astype(np.float32)
        face_offsets[eye.lower] += low_move.astype(np.float32)
        # The skin above follows by its height above the lid (in eye widths), not by which
        # ring it is on: on a heavy lid (the Mona Lisa) both rings lie within a few pixels of
        # the lid and must move together, or the thin triangles between them fold.
        width = max(float(np.linalg.norm(rest[eye.corners[1]] - rest[eye.corners[0]])), 1e-6)
        for ring, amount in _skin_follow(rest, eye, width, params):
            face_offsets[ring] += (amount[:, None] * follow * up_move).astype(np.float32)
        face_offsets[eye.lower_skin] += (params.lower_skin_follow * follow * low_move
                                         ).astype(np.float32)


# How much each lid pair follows the gaze: fully over the middle of the eye, less towards
# the corners (which stay where they are).
_GAZE_PROFILE = 1.0 - 0.7 * _CORNER_WEIGHT


class LidFollower:
    """The lids follow a vertical gaze (``lids_follow_gaze``), made once per photo: the
    skin rings' share of the lid's travel is computed here, the per-frame call only moves
    points.

    Parameters
    ----------
    rest : (>= 468, 2) the photo's face-mesh points.
    """

    def __init__(self, rest: np.ndarray, *, params: EyeParams = EyeParams()):
        if rest.shape[0] < lm.N_MESH or rest.shape[1:] != (2,):
            raise ValueError(f"`rest` must be ({lm.N_MESH}, 2); got {rest.shape}")
        self.rest = rest[:lm.N_MESH].astype(np.float64)
        # Per eye: the points that move and their share of the travel (the pair's place
        # along the eye, times the lid's or the skin's share), looking down and looking up.
        self.moves = []
        for eye in EYES:
            width = max(float(np.linalg.norm(self.rest[eye.corners[1]]
                                             - self.rest[eye.corners[0]])), 1e-6)
            ids, down, up = [], [], []
            for ring, amount in [(eye.upper, np.ones(7))] + _skin_follow(self.rest, eye, width,
                                                                         params):
                ids.append(ring)
                down.append(params.upper_lid_follow_down * amount * _GAZE_PROFILE)
                up.append(params.upper_lid_follow_up * amount * _GAZE_PROFILE)
            for ring, share in ((eye.lower, 1.0), (eye.lower_skin, params.lower_skin_follow)):
                ids.append(ring)
                down.append(params.lower_lid_follow * share * _GAZE_PROFILE)
                up.append(params.lower_lid_follow * share * _GAZE_PROFILE)
            self.moves.append((np.concatenate(ids), np.concatenate(down)[:, None],
                               np.concatenate(up)[:, None]))
        self.gap_rest = [float(np.hypot(*(self.rest[e.lower[2:5]] - self.rest[e.upper[2:5]]
                                          ).mean(axis=0))) for e in EYES]

    def __call__(self, face_offsets: np.ndarray, gaze_y: float) -> None:
        """Move the lids of ``face_offsets`` (468, 2) float32 in place for ``gaze_y``."""
        if face_offsets.shape != (lm.N_MESH, 2):
            raise ValueError(f"`face_offsets` must be ({lm.N_MESH}, 2); got "
                             f"{face_offsets.shape}")
        gy = float(gaze_y)
        if gy == 0.0:
            return
        rest = self.rest
        for eye, (ids, down_w, up_w), gap_rest in zip(EYES, self.moves, self.gap_rest):
            a, b = eye.corners
            axis = (rest[b] - rest[a]) + (face_offsets[b] - face_offsets[a])
            width_now = max(float(np.hypot(*axis)), 1e-6)
            down = np.array([-axis[1], axis[0]]) / width_now
            gap_now = (rest[eye.lower[2:5]] - rest[eye.upper[2:5]]
                       + face_offsets[eye.lower[2:5]] - face_offsets[eye.upper[2:5]]).mean(axis=0)
            openness = min(max(float(gap_now @ down) / max(gap_rest, 1e-6), 0.0), 1.0)
            if openness <= 0.0:
                continue
            weights = down_w if gy > 0 else up_w
            face_offsets[ids] += (weights * ((gy * width_now * openness) * down)[None]
                                  ).astype(np.float32)


def lids_follow_gaze(face_offsets: np.ndarray, rest: np.ndarray, gaze_y: float, *,
                     params: EyeParams = EyeParams()) -> None:
    """The lids follow a vertical gaze, in place: looking down (``gaze_y`` > 0, eye widths
    as ``gaze.py``) the upper lid lowers by ``upper_lid_follow_down`` of the iris's shift,
    looking up it lifts by ``upper_lid_follow_up`` of it; the lower lid moves by
    ``lower_lid_follow`` of it either way. Fully over the middle of the eye, less towards
    the corners; the skin above and below follows as in a blink (``close_lids``). An eye
    that is closing follows less, by how open it still is, so the lids never cross. (Per
    frame, ``LidFollower`` made once does the same without recomputing the skin's share.)

    Parameters
    ----------
    face_offsets : (468, 2) float32 offsets of the face-mesh control points; changed in
        place.
    rest : (468, 2) the photo's face-mesh points.
    gaze_y : the pointer's vertical gaze (eye widths, + down).
    """
    LidFollower(rest, params=params)(face_offsets, gaze_y)
