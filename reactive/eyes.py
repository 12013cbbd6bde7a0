"""Eyes beyond the paper: lids that close completely, and gaze that follows a point.

The paper transfers the driver's lid travel by Eq. 1, scaled by phi, and notes that "there is
not enough detail to fully close the eyes of the target image" (Sec. 7.3). Two reasons: a
target whose eyes are more open than the driver's travels the same distance and stops short,
and the tracker itself seldom reports a closed eye as a zero gap (MediaPipe gives an eye
aspect ratio of 0.00-0.10 on d3's closed eyes). Here

- ``lid_closure`` reads, per frame and eye, how closed the driver's eye is (0 open, 1 what the
  tracker shows for a closed eye);
- ``close_lids`` then moves the target's own upper lid onto its lower lid by that fraction,
  in the target's geometry, on top of Eq. 1 (never opening the eye wider than Eq. 1 did), and
  drags the lid skin above along so it stretches over several bands of the mesh;
- ``GazeLayer`` repaints the eye opening every frame: an eyeball without iris (made once from
  the photo) and the photo's iris disc, shifted by the gaze and clipped by the current lids.
  The warp alone would squash the iris as the lids close; this keeps it round and lets the
  lid slide over it, and it is what moves the iris for gaze. As the lids close it also
  rasterizes the lids again (the warp's dense field smears the squashed opening into a band
  of white and iris along the closed lid) and draws the lash line along the seam;
- gaze comes from the clip (``clip_gaze``: the driver's iris relative to its eye) and/or a
  pointer (``pointer_gaze``), smoothed by ``GazeFollower``.

Conventions: points are ``(x, y)`` in pixels; "left"/"right" eye are the subject's, as in
MediaPipe (the subject's right eye is on the image's left). Gaze is ``(gx, gy)`` in eye widths
(the corner-to-corner distance) along the eye's own axes: +x towards the image's right along
the line through the corners, +y perpendicular to it, down in the image.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np
from numba import njit

from . import landmarks as lm
from .mouth import polygon_area
from .params import EyeParams
from .warp import bilinear

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EyeTopology:
    """Mesh indices of one eye, pairs ordered along the eye from the image's left corner."""

    contour: np.ndarray     # (16,) closed loop, as lm.LEFT_EYE / lm.RIGHT_EYE
    corners: tuple[int, int]  # (image-left corner, image-right corner)
    upper: np.ndarray       # (7,) upper lid margin
    lower: np.ndarray       # (7,) lower lid margin, lower[k] under upper[k]
    upper_skin: np.ndarray  # (7,) first ring above the upper lid, above upper[k]
    crease: np.ndarray      # (7,) second ring above (under the brow)
    lower_skin: np.ndarray  # (7,) first ring below the lower lid
    ring_ends: tuple[int, ...]  # closing the first ring around the eye at the corners
    iris: int               # iris centre; the next four are its rim points
    # The second ring below the eye, from beyond the outer corner. It does not move with the
    # lids; it widens what a closed lid may cover: a drawn eye (a cartoon's) is often larger
    # than the mesh's, its white and rim reaching past the first ring.
    outer_ring: np.ndarray  # (8,)
    # The lid patch's outer boundary, clockwise in the image: the crease ring from its
    # image-left end, the outer ring end on the right, the second ring below from right to
    # left, the outer ring end on the left.
    outline: np.ndarray  # (17,)

    @property
    def lid_patch(self) -> np.ndarray:
        """The opening, the lids, the first ring of skin around them, the crease ring and
        the second ring below (49 points): all the skin that moves when the lids close, and
        all that a closed lid may cover."""
        return np.concatenate([self.contour, self.upper_skin, self.lower_skin,
                               self.ring_ends, self.crease, self.outer_ring])


# Checked on MediaPipe's canonical mesh and on s42 (index plot): each column is one vertical
# line across the eye, from the brow side down.
RIGHT = EyeTopology(
    contour=lm.RIGHT_EYE, corners=(33, 133),
    upper=np.array([246, 161, 160, 159, 158, 157, 173]),
    lower=np.array([7, 163, 144, 145, 153, 154, 155]),
    upper_skin=np.array([247, 30, 29, 27, 28, 56, 190]),
    crease=np.array([113, 225, 224, 223, 222, 221, 189]),
    lower_skin=np.array([25, 110, 24, 23, 22, 26, 112]),
    ring_ends=(130, 226, 243, 244),
    iris=468,
    outer_ring=np.array([35, 31, 228, 229, 230, 231, 232, 233]),
    outline=np.array([113, 225, 224, 223, 222, 221, 189, 244,
                      233, 232, 231, 230, 229, 228, 31, 35, 226]))
LEFT = EyeTopology(
    contour=lm.LEFT_EYE, corners=(362, 263),
    upper=np.array([398, 384, 385, 386, 387, 388, 466]),
    lower=np.array([382, 381, 380, 374, 373, 390, 249]),
    upper_skin=np.array([414, 286, 258, 257, 259, 260, 467]),
    crease=np.array([413, 441, 442, 443, 444, 445, 342]),
    lower_skin=np.array([341, 256, 252, 253, 254, 339, 255]),
    ring_ends=(463, 464, 359, 446),
    iris=473,
    outer_ring=np.array([265, 261, 448, 449, 450, 451, 452, 453]),
    outline=np.array([413, 441, 442, 443, 444, 445, 342, 446,
                      265, 261, 448, 449, 450, 451, 452, 453, 464]))
EYES = (LEFT, RIGHT)  # index 0 = the subject's left eye, 1 = right, as in lid_closure


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


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _check_points(points: np.ndarray, name: str) -> np.ndarray:
    points = np.asarray(points)
    if points.ndim != 3 or points.shape[1:] != (lm.N_LANDMARKS, 2):
        raise ValueError(f"`{name}` must be (F, {lm.N_LANDMARKS}, 2); got {points.shape}")
    return points


def lid_closure(points: np.ndarray, neutral_index: int, *,
                params: EyeParams = EyeParams()) -> np.ndarray:
    """How closed the driver's eyes are, per frame and eye.

    0 at the neutral frame's opening (or wider), 1 at what the tracker reports for a closed
    eye (``params.closed_ear``, or ``closed_ear_frac`` of the neutral ratio when lower), and
    a smoothstep of the ratio in between, so the small lid jitter of an open eye stays ~0.

    Parameters
    ----------
    points : (F, 478, 2) the driver's landmarks (a clip pack's ``landmarks``).
    neutral_index : the clip's neutral frame, whose eyes count as open.

    Returns
    -------
    (F, 2) float32 in [0, 1]: (subject's left eye, right eye).
    """
    points = _check_points(points, "points")
    if not 0 <= neutral_index < len(points):
        raise ValueError(f"`neutral_index` must be in [0, {len(points)}); got {neutral_index}")
    ear = eye_aspect_ratios(points).astype(np.float64)
    open_ear = ear[neutral_index]
    closed = np.minimum(params.closed_ear, params.closed_ear_frac * open_ear)
    if np.any(open_ear <= closed + 1e-6):
        log.warning("the neutral frame's eyes look closed (aspect ratios %s); no closure",
                    np.round(open_ear, 3))
    t = (open_ear - ear) / np.maximum(open_ear - closed, 1e-6)
    return _smoothstep(t).astype(np.float32)


def _eye_linear(rest: np.ndarray, now: np.ndarray, corners: tuple[int, int]) -> complex:
    """The eye's rotation+scale rest -> now from its two corners, as a complex number."""
    a, b = corners
    v0 = complex(*(rest[b] - rest[a]))
    v1 = complex(*(now[b] - now[a]))
    return v1 / v0 if abs(v0) > 1e-9 else 1.0 + 0j


# How much each lid pair (across the eye) is a corner pair: the lids meet nearer the middle of
# the gap there, and the skin follows less, or the small triangles between corner, lid and
# ring fold over.
_CORNER_WEIGHT = np.array([1.0, 0.3, 0.0, 0.0, 0.0, 0.3, 1.0])


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
        z = _eye_linear(rest, rest + off, eye.corners)
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
        for ring in (eye.upper_skin, eye.crease):
            height = np.linalg.norm(rest[ring] - rest[eye.upper], axis=1) / width
            t = (height - params.skin_follow_full_w) / max(
                params.skin_follow_none_w - params.skin_follow_full_w, 1e-6)
            amount = 1.0 - _smoothstep(t)
            face_offsets[ring] += (amount[:, None] * follow * up_move).astype(np.float32)
        face_offsets[eye.lower_skin] += (params.lower_skin_follow * follow * low_move
                                         ).astype(np.float32)


# --- gaze -----------------------------------------------------------------------------------

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
    points = _check_points(points, "points")
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
    right = pts[RIGHT.contour].mean(axis=0)   # image left
    left = pts[LEFT.contour].mean(axis=0)
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


# --- painting the eye -----------------------------------------------------------------------


@njit(cache=True)
def _raster_triangles(photo, tri_now, lin, off, live, out):
    """Piecewise-affine rendering of triangles, in order (later ones win on shared edges).

    photo : (H, W, 3) uint8 source. tri_now : (T, 3, 2) float64 corners in ``out`` pixels.
    lin, off : (T, 2, 2), (T, 2) the affine ``out`` pixel -> photo pixel of each triangle.
    live : (T,) bool, False skips (squashed) triangles. out : (H', W', 3) uint8, written at
    the pixel centres (integer coordinates) inside each triangle, edges included.
    """
    h, w = out.shape[0], out.shape[1]
    for t in range(tri_now.shape[0]):
        if not live[t]:
            continue
        ax, ay = tri_now[t, 0, 0], tri_now[t, 0, 1]
        bx, by = tri_now[t, 1, 0], tri_now[t, 1, 1]
        cx, cy = tri_now[t, 2, 0], tri_now[t, 2, 1]
        area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
        if abs(area) < 1e-9:
            continue
        xa = max(int(np.ceil(min(ax, min(bx, cx)))), 0)
        xb = min(int(np.floor(max(ax, max(bx, cx)))), w - 1)
        ya = max(int(np.ceil(min(ay, min(by, cy)))), 0)
        yb = min(int(np.floor(max(ay, max(by, cy)))), h - 1)
        eps = -1e-6
        for y in range(ya, yb + 1):
            for x in range(xa, xb + 1):
                wa = ((bx - x) * (cy - y) - (by - y) * (cx - x)) / area
                wb = ((cx - x) * (ay - y) - (cy - y) * (ax - x)) / area
                wc = 1.0 - wa - wb
                if wa < eps or wb < eps or wc < eps:
                    continue
                sx = lin[t, 0, 0] * x + lin[t, 0, 1] * y + off[t, 0]
                sy = lin[t, 1, 0] * x + lin[t, 1, 1] * y + off[t, 1]
                for c in range(3):
                    out[y, x, c] = np.uint8(min(bilinear(photo, sx, sy, c) + 0.5, 255.0))


@njit(cache=True)
def _composite_eye(frame, x0, y0, mask, strength, eyeball, m_ball, iris, m_iris):
    """Eyeball, then the iris over it, blended into ``frame`` where ``mask`` > 0.

    frame : (H, W, 3) uint8, changed in place. mask : (h, w) uint8 coverage of the region
    whose top-left pixel is (x0, y0) in ``frame``. eyeball : (he, we, 3) uint8, sampled at
    ``m_ball @ (x, y, 1)`` (edge replicated). iris : (s, s, 4) float32 premultiplied RGB and
    alpha, sampled at ``m_iris @ (x, y, 1)``, transparent outside.
    """
    h, w = mask.shape
    si, sj = iris.shape[0], iris.shape[1]
    for j in range(h):
        for i in range(w):
            m = mask[j, i]
            if m == 0:
                continue
            a = m * (strength / 255.0)
            x = float(x0 + i)
            y = float(y0 + j)
            bx = m_ball[0, 0] * x + m_ball[0, 1] * y + m_ball[0, 2]
            by = m_ball[1, 0] * x + m_ball[1, 1] * y + m_ball[1, 2]
            ix = m_iris[0, 0] * x + m_iris[0, 1] * y + m_iris[0, 2]
            iy = m_iris[1, 0] * x + m_iris[1, 1] * y + m_iris[1, 2]
            inside = ix > -1.0 and iy > -1.0 and ix < sj and iy < si
            ai = 0.0
            if inside:
                ai = _bilinear_zero(iris, ix, iy, 3)
            for c in range(3):
                v = bilinear(eyeball, bx, by, c) * (1.0 - ai)
                if inside:
                    v += _bilinear_zero(iris, ix, iy, c)
                f = frame[y0 + j, x0 + i, c]
                frame[y0 + j, x0 + i, c] = np.uint8(min(max(f + a * (v - f) + 0.5, 0.0),
                                                        255.0))


@njit(cache=True)
def _blur_under_mask(frame, x0, y0, mask, source):
    """frame[y0 + j, x0 + i] moves towards the 3x3 Gaussian (1-2-1) of ``source`` (a copy
    of that region, (h, w, 3) uint8) by mask[j, i] / 255."""
    h, w = mask.shape
    for j in range(h):
        for i in range(w):
            m = mask[j, i]
            if m == 0:
                continue
            a = m / 255.0
            for c in range(3):
                acc = 0.0
                norm = 0.0
                for dj in range(-1, 2):
                    jj = j + dj
                    if jj < 0 or jj >= h:
                        continue
                    for di in range(-1, 2):
                        ii = i + di
                        if ii < 0 or ii >= w:
                            continue
                        k = (2.0 - abs(dj)) * (2.0 - abs(di))
                        acc += k * source[jj, ii, c]
                        norm += k
                f = float(source[j, i, c])
                frame[y0 + j, x0 + i, c] = np.uint8(min(max(f + a * (acc / norm - f) + 0.5,
                                                            0.0), 255.0))


@njit(cache=True)
def _paint_under_mask(frame, x0, y0, mask, colour, opacity, centre, axis, width):
    """frame[y0 + j, x0 + i] moves towards ``colour`` by mask / 255 x opacity x a taper
    that is 1 over the middle of the eye and falls to 0 at its corners (``centre``,
    unit ``axis`` along the eye, ``width`` between the corners)."""
    h, w = mask.shape
    for j in range(h):
        for i in range(w):
            m = mask[j, i]
            if m == 0:
                continue
            u = abs((x0 + i - centre[0]) * axis[0] + (y0 + j - centre[1]) * axis[1]) / width
            taper = min(max((0.5 - u) / 0.2, 0.0), 1.0)
            a = m / 255.0 * opacity * taper
            for c in range(3):
                f = float(frame[y0 + j, x0 + i, c])
                frame[y0 + j, x0 + i, c] = np.uint8(min(max(f + a * (colour[c] - f) + 0.5,
                                                            0.0), 255.0))


@njit(cache=True, inline="always")
def _bilinear_zero(img, sx, sy, c):
    """img[.., c] at (sx, sy), zero outside the image."""
    h, w = img.shape[0], img.shape[1]
    fx = np.floor(sx)
    fy = np.floor(sy)
    x0 = int(fx)
    y0 = int(fy)
    ax = sx - fx
    ay = sy - fy
    v = 0.0
    for dy in range(2):
        yy = y0 + dy
        if yy < 0 or yy >= h:
            continue
        wy = ay if dy else 1.0 - ay
        for dx in range(2):
            xx = x0 + dx
            if xx < 0 or xx >= w:
                continue
            wx = ax if dx else 1.0 - ax
            v += wx * wy * img[yy, xx, c]
    return v


_SUBPIXEL_BITS = 4
_KERNEL3 = np.ones((3, 3), np.uint8)


def _fill_polygon(shape: tuple[int, int], polygon: np.ndarray, origin) -> np.ndarray:
    """Anti-aliased filled polygon (N, 2) at sub-pixel precision, (h, w) uint8 0..255."""
    mask = np.zeros(shape, np.uint8)
    pts = np.round((polygon - np.asarray(origin, np.float64)) * (1 << _SUBPIXEL_BITS))
    cv2.fillPoly(mask, [pts.astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=_SUBPIXEL_BITS)
    return mask


def _fill_sclera(crop: np.ndarray, sclera: np.ndarray, *, sigma: float) -> np.ndarray:
    """The eye without its iris: every non-sclera pixel of ``crop`` (h, w, 3) uint8 filled
    row by row with the brighter half of that row's sclera, rows without sclera copied from
    the nearest row that has some. Row-wise, because the white of the eye is shaded top to
    bottom (the upper lid's shadow) far more than across. The
    sclera is smoothed first (normalized Gaussian, ``sigma`` px) so one noisy pixel does not
    streak across the fill. Returns (h, w, 3) uint8; sclera pixels keep their values.
    """
    known = sclera.astype(np.float32)
    norm = cv2.GaussianBlur(known, (0, 0), sigma)
    smooth = cv2.GaussianBlur(crop.astype(np.float32) * known[..., None], (0, 0), sigma)
    smooth /= np.maximum(norm, 1e-6)[..., None]
    fill = np.zeros(crop.shape, np.float32)
    rows = np.flatnonzero(sclera.any(axis=1))
    luma_w = np.array([0.299, 0.587, 0.114], np.float32)
    for y in rows:
        vals = smooth[y, sclera[y]]
        # The brighter part of the row: the white of the eye, not the caruncle or the
        # shadow in a corner (which would paint the middle of the eye grey).
        luma = vals @ luma_w
        fill[y] = vals[luma >= np.quantile(luma, 0.5)].mean(axis=0)
    nearest = rows[np.abs(np.arange(crop.shape[0])[:, None] - rows[None, :]).argmin(axis=1)]
    # Rows see different stretches of sclera (lid shadow on one side only): blur across rows
    # too, or the fill comes out banded.
    fill = cv2.GaussianBlur(np.ascontiguousarray(fill[nearest]), (0, 0), sigma)
    # Keep the photo's sclera, fading into the fill over a pixel on the sclera's side (the
    # iris side must not bleed in).
    keep = np.minimum(cv2.GaussianBlur(known, (0, 0), 1.0), known)[..., None]
    out = crop.astype(np.float32) * keep + fill * (1.0 - keep)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _rotation_fill(iris: np.ndarray, known: np.ndarray, want: np.ndarray, centre) -> None:
    """Fill ``want & ~known`` pixels of ``iris`` (h, w, 3) in place with the known pixel at
    the same radius and the nearest angle: an iris is nearly rotationally symmetric, so the
    part hidden under a lid in the photo is best guessed from the visible part at the same
    radius (pupil, iris ring, limbus stay concentric)."""
    todo = want & ~known
    if not todo.any():
        return
    if not known.any():
        iris[todo] = (70, 55, 45)  # no visible iris at all: a dark brown disc
        return
    ys, xs = np.nonzero(todo)
    dx, dy = xs - centre[0], ys - centre[1]
    h, w = known.shape
    filled = np.zeros(len(xs), bool)
    for step in range(1, 19):
        for sign in (1, -1):
            a = np.deg2rad(10.0 * step * sign)
            sx = np.round(centre[0] + np.cos(a) * dx - np.sin(a) * dy).astype(int)
            sy = np.round(centre[1] + np.sin(a) * dx + np.cos(a) * dy).astype(int)
            ok = ~filled & (sx >= 0) & (sx < w) & (sy >= 0) & (sy < h)
            ok[ok] = known[sy[ok], sx[ok]]
            iris[ys[ok], xs[ok]] = iris[sy[ok], sx[ok]]
            filled |= ok
        if filled.all():
            return
    iris[ys[~filled], xs[~filled]] = np.median(iris[known], axis=0)


@dataclass
class _EyeModel:
    """One eye of the photo, made once: rest shape, eyeball and iris images."""

    topo: EyeTopology
    rest: np.ndarray          # (478, 2) float64 photo landmarks (all, for the corners)
    contour: np.ndarray       # (16, 2) float64 rest opening
    area: float               # rest opening area, px^2
    width: float              # rest corner distance, px
    centre: np.ndarray        # (2,) iris centre in the photo
    eyeball: np.ndarray       # (h, w, 3) uint8, the eye region with the iris inpainted
    eyeball_origin: np.ndarray  # (2,) photo pixel of eyeball[0, 0]
    iris: np.ndarray          # (s, s, 4) float32 premultiplied RGB + alpha (0..1), soft edge
    iris_origin: np.ndarray   # (2,)
    patch_ids: np.ndarray     # (V,) mesh points of the lid patch
    patch_rest: np.ndarray    # (V, 2) float64 their photo positions
    patch_tris: np.ndarray    # (T, 3) int into patch_ids; opening triangles first
    patch_normals: np.ndarray  # (V, 2) unit, away from the opening for lid points, else 0
    lash_colour: np.ndarray   # (3,) float32 RGB, the darkest of the upper lid margin
    closed_origin: np.ndarray  # (2,) int, photo pixel (x, y) of closed_delta[0, 0]
    closed_delta: np.ndarray  # (h, w, 3) float32, the closed lid minus the photo there

    def patch_source(self, margin_frac: float) -> np.ndarray:
        """Photo positions the lid patch samples: lid points moved ``margin_frac`` eye
        widths away from the opening. (V, 2) float64."""
        return self.patch_rest + (margin_frac * self.width) * self.patch_normals


class GazeLayer:
    """Repaints the eye openings of warped frames: eyeball, and the iris moved by the gaze.

    Built once per photo. ``apply(frame, points_now, gaze)`` paints, per eye, inside the
    current opening (eye contour at ``points_now``, eroded by ``opening_erode_px``, soft
    edge) the eyeball carried by the eye's corners (rotation, scale, translation from the
    photo) and the photo's iris disc at its rest place in the eye shifted by ``gaze`` eye
    widths. The lids clip the iris by construction: nothing of it is painted outside the
    opening. Below ``redraw_area_frac`` of the rest opening the lids and the skin around
    them are rasterized again from the photo with the warp's own triangles, and below
    ``seam_area_frac`` a lash line is drawn along the closing seam; a closed eye
    (``closed_area_frac``) gets those, no eyeball. An eye as at rest with no gaze is left
    alone (bit for bit). Per frame: numba kernels on small regions, no frame-sized buffer
    (about 0.03 ms at rest, 0.1-0.2 ms with gaze, 0.2-0.4 ms while blinking, both eyes of a
    1024 px photo, on a loaded 2-core machine).

    Parameters
    ----------
    photo : (H, W, 3) uint8 RGB, the target photo t*.
    target_points : (478, 2) its landmarks (iris points 468-477 included).
    """

    def __init__(self, photo: np.ndarray, target_points: np.ndarray, *,
                 params: EyeParams = EyeParams()):
        if photo.ndim != 3 or photo.shape[2] != 3 or photo.dtype != np.uint8:
            raise ValueError(f"`photo` must be (H, W, 3) uint8; got {photo.shape} {photo.dtype}")
        if target_points.shape != (lm.N_LANDMARKS, 2):
            raise ValueError(f"`target_points` must be ({lm.N_LANDMARKS}, 2); got "
                             f"{target_points.shape}")
        from .rig import triangulate  # noqa: PLC0415 - rig -> eyes at run time

        self.params = params
        self.photo = photo
        pts = target_points.astype(np.float64)
        tri, index = triangulate(pts[:lm.N_MESH], folded_over_eyes(pts))
        self._delaunay = index[tri.simplices]
        self.eyes = [self._model(photo, pts, topo) for topo in EYES]

    def _model(self, photo: np.ndarray, pts: np.ndarray, topo: EyeTopology) -> _EyeModel:
        p = self.params
        h, w = photo.shape[:2]
        contour = pts[topo.contour]
        width = float(np.linalg.norm(pts[topo.corners[1]] - pts[topo.corners[0]]))
        centre = pts[topo.iris]
        radius = float(np.linalg.norm(pts[topo.iris + 1:topo.iris + 5] - centre, axis=1).mean())
        radius = float(np.clip(radius, 0.05 * width, 0.4 * width))
        # Eyeball image: the eye region with wide margins (the gaze moves the iris by up to
        # 0.2 eye widths, a surprised eye opens beyond the photo's opening).
        lo = np.floor(contour.min(axis=0) - (0.3 * width, 0.5 * width)).astype(int)
        hi = np.ceil(contour.max(axis=0) + (0.3 * width, 0.5 * width)).astype(int) + 1
        lo = np.maximum(lo, 0)
        hi = np.minimum(hi, (w, h))
        crop = np.ascontiguousarray(photo[lo[1]:hi[1], lo[0]:hi[0]])
        opening = _fill_polygon(crop.shape[:2], contour, lo) > 127
        # The lash line and lid shadow are not eyeball: keep a margin inside the opening.
        erode = max(1, int(round(0.03 * width)))
        visible = cv2.erode(opening.astype(np.uint8), _KERNEL3, iterations=erode).astype(bool)
        yy, xx = np.mgrid[0:crop.shape[0], 0:crop.shape[1]]
        dist = np.hypot(xx + lo[0] - centre[0], yy + lo[1] - centre[1])
        # The limbus (the iris's dark rim) is often a pixel or two outside the tracked disc.
        sclera = visible & (dist > radius + max(1.5, 0.12 * radius))
        if sclera.sum() >= 8:
            eyeball = _fill_sclera(crop, sclera, sigma=max(0.8, 0.03 * width))
        else:  # the photo shows no white of the eye: a plain, slightly warm white
            log.debug("eye %d: no sclera visible; painting a plain eyeball", topo.iris)
            eyeball = np.empty_like(crop)
            eyeball[:] = (215, 205, 200)
        # Iris disc: visible pixels from the photo, the hidden part filled by rotation.
        s = int(np.ceil(radius + 2 * p.iris_feather_px + 1))
        o = np.floor(centre).astype(int) - s
        size = 2 * s + 1
        iris = np.zeros((size, size, 4), np.uint8)
        ys0, xs0 = max(o[1], 0), max(o[0], 0)
        ys1, xs1 = min(o[1] + size, h), min(o[0] + size, w)
        iris[ys0 - o[1]:ys1 - o[1], xs0 - o[0]:xs1 - o[0], :3] = photo[ys0:ys1, xs0:xs1]
        iy, ix = np.mgrid[0:size, 0:size]
        idist = np.hypot(ix + o[0] - centre[0], iy + o[1] - centre[1])
        known = np.zeros((size, size), bool)
        inside = (iy + o[1] >= lo[1]) & (iy + o[1] < hi[1]) & (ix + o[0] >= lo[0]) \
            & (ix + o[0] < hi[0])
        known[inside] = visible[(iy + o[1] - lo[1])[inside], (ix + o[0] - lo[0])[inside]]
        known &= idist <= radius - 0.5
        want = idist <= radius + p.iris_feather_px
        rgb = np.ascontiguousarray(iris[..., :3])
        _rotation_fill(rgb, known, want, centre - o)
        alpha = np.clip((radius - idist) / max(p.iris_feather_px, 1e-3) + 0.5, 0.0, 1.0)
        # Premultiplied: bilinear sampling at the disc's edge then blends with nothing.
        iris = np.empty((size, size, 4), np.float32)
        iris[..., :3] = rgb * alpha[..., None]
        iris[..., 3] = alpha
        # The warp's own triangles over the lid patch: Delaunay on the photo's points, as the
        # rig triangulates them (points outside the face cannot change triangles this deep
        # inside it).
        ids = topo.lid_patch
        tris = self._delaunay[np.isin(self._delaunay, ids).all(axis=1)]
        lookup = np.full(lm.N_MESH, -1)
        lookup[ids] = np.arange(len(ids))
        tris = lookup[tris]
        in_opening = np.isin(ids[tris], topo.contour).all(axis=1)
        tris = np.concatenate([tris[in_opening], tris[~in_opening]]).astype(np.int32)
        # Lid margins push outwards: up (against the eye's y axis) for the upper lid, down for
        # the lower; corners stay (they are where the lids meet).
        axis = (pts[topo.corners[1]] - pts[topo.corners[0]]) / max(width, 1e-9)
        down = np.array([-axis[1], axis[0]])
        normals = np.zeros((len(ids), 2))
        normals[np.isin(ids, topo.upper)] = -down
        normals[np.isin(ids, topo.lower)] = down
        first = ~np.isin(ids[tris], topo.outer_ring).any(axis=1)
        closed_origin, closed_delta = _closed_lid(photo, pts, topo, width, pts[ids][tris],
                                                  first, params=p)
        return _EyeModel(topo=topo, rest=pts, contour=contour,
                         area=polygon_area(contour), width=width, centre=centre.copy(),
                         eyeball=eyeball, eyeball_origin=lo.astype(np.float64),
                         iris=iris, iris_origin=o.astype(np.float64),
                         patch_ids=ids, patch_rest=pts[ids], patch_tris=tris,
                         patch_normals=normals,
                         lash_colour=self._lash_colour(photo, pts, topo, width),
                         closed_origin=closed_origin, closed_delta=closed_delta)

    @staticmethod
    def _lash_colour(photo, pts, topo: EyeTopology, width: float) -> np.ndarray:
        """Mean colour of the darkest fifth of the pixels along the upper lid margin (up
        to 0.06 eye widths above it): the photo's own lash line."""
        lid = pts[np.r_[topo.corners[0], topo.upper, topo.corners[1]]]
        dense = np.concatenate([np.linspace(lid[k], lid[k + 1], 6, endpoint=False)
                                for k in range(len(lid) - 1)])
        axis = (lid[-1] - lid[0]) / max(width, 1e-9)
        up = np.array([axis[1], -axis[0]])
        samples = np.concatenate([dense + (f * width) * up for f in np.linspace(0, 0.06, 4)])
        h, w = photo.shape[:2]
        xy = np.round(samples).astype(int)
        xy = xy[(xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h)]
        if len(xy) == 0:
            return np.array([40.0, 30.0, 25.0], np.float32)
        rgb = photo[xy[:, 1], xy[:, 0]].astype(np.float32)
        luma = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
        dark = rgb[luma <= np.quantile(luma, 0.2)]
        return dark.mean(axis=0).astype(np.float32)

    def apply(self, frame: np.ndarray, points_now: np.ndarray, gaze, *,
              source: np.ndarray | None = None) -> None:
        """Paint both eyes of ``frame`` (H, W, 3) uint8 in place.

        Parameters
        ----------
        frame : the warped frame, at the photo's size.
        points_now : (478, 2) or (468, 2) where the photo's landmarks are in ``frame``
            (rest + offsets). Only the mesh points (eye contours and corners) are read: the
            iris is placed from the corners, so a lid sliding down does not drag it along.
        gaze : (2,) eye widths along the eye's axes (+x image right, +y down).
        source : the image the warp sampled, when not the photo itself (the photo shaded by
            the detail stage): the redrawn lids sample it too. (H, W, 3) uint8.
        """
        if points_now.shape != (lm.N_LANDMARKS, 2) and points_now.shape != (lm.N_MESH, 2):
            raise ValueError(f"`points_now` must be ({lm.N_LANDMARKS}, 2); got "
                             f"{points_now.shape}")
        gaze = np.asarray(gaze, np.float64)
        if gaze.shape != (2,):
            raise ValueError(f"`gaze` must be (2,); got {gaze.shape}")
        if source is None:
            source = self.photo
        elif source.shape != self.photo.shape or source.dtype != np.uint8:
            raise ValueError(f"`source` must be {self.photo.shape} uint8 like the photo; got "
                             f"{source.shape} {source.dtype}")
        for eye in self.eyes:
            self._apply_eye(frame, points_now, gaze, eye, source)

    def _apply_eye(self, frame, points_now, gaze, eye: _EyeModel, source) -> None:
        p = self.params
        topo = eye.topo
        a, b = topo.corners
        now = points_now[topo.contour].astype(np.float64)
        ca_rest, ca_now = eye.rest[a], points_now[a].astype(np.float64)
        z = _eye_linear(eye.rest, points_now, topo.corners)
        zr = np.array([[z.real, -z.imag], [z.imag, z.real]])
        expected = (eye.contour - ca_rest) @ zr.T + ca_now
        deviation = float(np.abs(now - expected).max())
        # Corners are (image-left, image-right): the eye's x axis is the line through them.
        v = points_now[b].astype(np.float64) - ca_now
        x_axis = v / max(float(np.hypot(*v)), 1e-9)
        y_axis = np.array([-x_axis[1], x_axis[0]])
        width_now = abs(z) * eye.width
        shift = (gaze[0] * x_axis + gaze[1] * y_axis) * width_now
        tol = p.rest_tolerance_px
        change = max(deviation, float(np.hypot(*shift)))
        strength = min(max((change - tol) / tol, 0.0), 1.0)
        if strength <= 0.0:
            return
        open_frac = polygon_area(now) / max(eye.area * abs(z) ** 2, 1e-9)
        redraw = open_frac < p.redraw_area_frac
        if redraw:
            closing = min(1.0, (p.redraw_area_frac - open_frac)
                          / max(p.redraw_area_frac - p.closed_area_frac, 1e-9))
            skin = float(_smoothstep((p.lid_skin_area_frac - open_frac)
                                     / max(p.lid_skin_area_frac - p.closed_area_frac, 1e-9)))
            self._redraw_lids(frame, points_now, eye, closing, source, skin)
        if open_frac >= p.closed_area_frac:
            self._paint_opening(frame, now, zr, ca_rest, ca_now, shift, strength, eye)
        if redraw:
            self._soften_margin(frame, now)
        if open_frac < p.seam_area_frac:
            seam = min(1.0, (p.seam_area_frac - open_frac) / max(p.seam_area_frac
                                                                 - p.closed_area_frac, 1e-9))
            self._draw_lash_line(frame, points_now, eye, seam * strength)

    def _paint_opening(self, frame, now, zr, ca_rest, ca_now, shift, strength,
                       eye: _EyeModel) -> None:
        """Eyeball and shifted iris inside the current opening ``now`` (16, 2)."""
        p = self.params
        h, w = frame.shape[:2]
        x0, y0 = np.maximum(np.floor(now.min(axis=0)).astype(int) - 1, 0)
        x1, y1 = np.minimum(np.ceil(now.max(axis=0)).astype(int) + 2, (w, h))
        if x1 - x0 < 2 or y1 - y0 < 2:
            return
        mask = _fill_polygon((y1 - y0, x1 - x0), now, (x0, y0))
        if p.opening_erode_px > 0:
            mask = cv2.erode(mask, _KERNEL3, iterations=p.opening_erode_px)
        if not mask.any():
            return
        # Frame pixel q -> photo: ca_rest + z^-1 (q - ca_now); the iris sits ``shift`` on.
        inv = np.array([[zr[0, 0], zr[1, 0]], [zr[0, 1], zr[1, 1]]]) / max(
            zr[0, 0] ** 2 + zr[1, 0] ** 2, 1e-12)
        t = ca_rest - inv @ ca_now
        m_ball = np.hstack([inv, (t - eye.eyeball_origin)[:, None]])
        m_iris = np.hstack([inv, (t - inv @ shift - eye.iris_origin)[:, None]])
        _composite_eye(frame, int(x0), int(y0), mask, float(strength), eye.eyeball, m_ball,
                       eye.iris, m_iris)

    def _redraw_lids(self, frame, points_now, eye: _EyeModel, closing: float,
                     source: np.ndarray, skin: float = 0.0) -> None:
        """Render the lid patch (opening, lids, the skin around them) again, piecewise-affine
        from the photo with the warp's own triangles, exactly where ``points_now`` puts them.

        Where the lids nearly meet, the opening's triangles are squashed flat; a dense field
        sampled per pixel smears them over a few pixels and its inverse mapping may land in
        them, so a band of the hidden eye shows along the closed lid. Rasterizing the
        triangles directly has no such band: squashed triangles cover no pixel. As the eye
        closes (``closing`` 0 -> 1) the lid margins are read up to ``lid_margin_frac`` eye
        widths outside the photo's opening, so the closed seam shows lashes and lid, never a
        thread of the eye that the contour's own pixels still hold.
        """
        now = points_now[eye.patch_ids].astype(np.float64)
        tris = eye.patch_tris
        d = now[tris]                                                  # (T, 3, 2)
        e1, e2 = d[:, 1] - d[:, 0], d[:, 2] - d[:, 0]
        area2 = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
        live = np.abs(area2) > 0.5  # squashed flat: covers no pixel, has no inverse
        # Per triangle, the affine frame pixel q -> photo: s0 + S D^-1 (q - d0), with D and
        # S the edge vectors from corner 0 now and in the photo (closed form: np.linalg
        # costs more than the whole redraw on small batches).
        src = eye.patch_source(closing * self.params.lid_margin_frac)[tris]
        det = np.where(live, area2, 1.0)
        inv = np.empty((len(tris), 2, 2))
        inv[:, 0, 0], inv[:, 0, 1] = e2[:, 1], -e2[:, 0]
        inv[:, 1, 0], inv[:, 1, 1] = -e1[:, 1], e1[:, 0]
        inv /= det[:, None, None]
        f = np.stack([src[:, 1] - src[:, 0], src[:, 2] - src[:, 0]], axis=2)
        lin = f @ inv                                                  # (T, 2, 2)
        off = src[:, 0] - (lin @ d[:, 0, :, None])[..., 0]
        if skin > 0.0:
            # Sample the closed lid instead, ``skin`` of the way: the source's region plus
            # the closed lid's delta (the source may be the photo shaded by the details).
            (x0, y0), dh = eye.closed_origin, eye.closed_delta
            roi = source[y0:y0 + dh.shape[0], x0:x0 + dh.shape[1]].astype(np.float32)
            roi += skin * dh
            source = np.clip(roi + 0.5, 0, 255).astype(np.uint8)
            off = off - eye.closed_origin
        _raster_triangles(source, d, lin, off, live, frame)

    def _soften_margin(self, frame, now) -> None:
        """Anti-alias the lid margins after a redraw: it gives each pixel to one triangle,
        so where the content jumps (lid against opening, upper lid against lower when
        closed) the margin comes out stair-stepped. A 3x3 blur on a two-pixel band along
        the opening's outline smooths the steps."""
        h, w = frame.shape[:2]
        x0, y0 = np.maximum(np.floor(now.min(axis=0)).astype(int) - 3, 0)
        x1, y1 = np.minimum(np.ceil(now.max(axis=0)).astype(int) + 4, (w, h))
        if x1 - x0 < 3 or y1 - y0 < 3:
            return
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.polylines(mask, [np.round((now - (x0, y0)) * (1 << _SUBPIXEL_BITS)).astype(
            np.int32)], True, 255, thickness=2, lineType=cv2.LINE_AA, shift=_SUBPIXEL_BITS)
        _blur_under_mask(frame, int(x0), int(y0), mask, frame[y0:y1, x0:x1].copy())

    def _draw_lash_line(self, frame, points_now, eye: _EyeModel, weight) -> None:
        """A closed eye is a dark line where the lashes meet. The redrawn lids bring the
        photo's lash line down, but a painting without lashes (or a thin one) leaves only a
        faint seam, stair-stepped where each pixel belongs to one triangle; this draws the
        photo's own lash colour along the upper lid, ``lash_line_frac`` eye widths thick
        (at least ``lash_line_min_px``), anti-aliased, tapering off towards the corners."""
        p = self.params
        topo = eye.topo
        if weight <= 0.0:
            return
        poly = points_now[np.r_[topo.corners[0], topo.upper, topo.corners[1]]].astype(
            np.float64)
        a, b = poly[0], poly[-1]
        width_now = float(np.hypot(*(b - a)))
        thick = max(p.lash_line_min_px, p.lash_line_frac * width_now)
        t_px = max(1, int(round(thick)))
        shadow_px = p.lid_shadow_w * width_now
        h, w = frame.shape[:2]
        pad = int(np.ceil(max(t_px, shadow_px))) + 2
        x0, y0 = np.maximum(np.floor(poly.min(axis=0)).astype(int) - pad, 0)
        x1, y1 = np.minimum(np.ceil(poly.max(axis=0)).astype(int) + pad + 1, (w, h))
        if x1 - x0 < 3 or y1 - y0 < 3:
            return
        centre, axis = 0.5 * (a + b), (b - a) / max(width_now, 1e-9)
        if p.lid_shadow_opacity > 0.0 and shadow_px >= 1.0:
            # The lid's underside curves away from the light into the lashes: a soft shadow
            # just above the lash line, fading upwards over ``lid_shadow_w`` eye widths. A
            # closed lid lit evenly down to the lashes reads as the white of an open eye.
            local = (poly - (x0, y0)) * (1 << _SUBPIXEL_BITS)
            line = np.full((y1 - y0, x1 - x0), 255, np.uint8)
            cv2.polylines(line, [np.round(local).astype(np.int32)], False, 0, thickness=1,
                          lineType=cv2.LINE_8, shift=_SUBPIXEL_BITS)
            dist = cv2.distanceTransform(line, cv2.DIST_L2, 3)
            up = np.array([axis[1], -axis[0]]) * (2.0 * shadow_px) * (1 << _SUBPIXEL_BITS)
            above = np.zeros_like(line)
            cv2.fillPoly(above, [np.round(np.concatenate([local, local[::-1] + up])).astype(
                np.int32)], 1, cv2.LINE_8, _SUBPIXEL_BITS)
            ramp = np.clip(1.0 - dist / shadow_px, 0.0, 1.0) ** 2 * above
            _paint_under_mask(frame, int(x0), int(y0), (ramp * 255.0 + 0.5).astype(np.uint8),
                              eye.lash_colour.astype(np.float64),
                              weight * p.lid_shadow_opacity, centre, axis, width_now)
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.polylines(mask, [np.round((poly - (x0, y0)) * (1 << _SUBPIXEL_BITS)).astype(
            np.int32)], False, 255, thickness=t_px, lineType=cv2.LINE_AA,
            shift=_SUBPIXEL_BITS)
        # Taper: full over the middle of the eye, none at the corners.
        _paint_under_mask(frame, int(x0), int(y0), mask, eye.lash_colour.astype(np.float64),
                          weight * p.lash_opacity * min(1.0, thick / t_px),
                          centre, axis, width_now)


# --- the closed lid -------------------------------------------------------------------------

def _harmonic_fill(image: np.ndarray, unknown: np.ndarray) -> np.ndarray:
    """``image`` (h, w, C) float32 with its ``unknown`` (h, w) bool pixels replaced by the
    membrane (Laplace) interpolation of the known pixels around them: the smoothest surface
    that meets the known values at the boundary. ``unknown`` must not touch the border.
    Returns (h, w, C) float32."""
    from scipy.sparse import csr_matrix  # noqa: PLC0415 - only when building
    from scipy.sparse.linalg import spsolve  # noqa: PLC0415

    out = image.astype(np.float32).copy()
    ys, xs = np.nonzero(unknown)
    n = len(ys)
    if n == 0:
        return out
    index = np.full(unknown.shape, -1, np.int64)
    index[ys, xs] = np.arange(n)
    rows, cols, vals = [np.arange(n)], [np.arange(n)], [np.full(n, 4.0)]
    rhs = np.zeros((n, image.shape[2]), np.float64)
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        ny, nx = ys + dy, xs + dx
        j = index[ny, nx]
        inner = j >= 0
        rows.append(np.flatnonzero(inner))
        cols.append(j[inner])
        vals.append(np.full(int(inner.sum()), -1.0))
        rhs[~inner] += image[ny[~inner], nx[~inner]]
    a = csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                   shape=(n, n))
    sol = spsolve(a.tocsc(), rhs)
    out[ys, xs] = np.asarray(sol, np.float32).reshape(n, -1)
    return out


def _closed_lid(photo: np.ndarray, pts: np.ndarray, topo: EyeTopology, width: float,
                tris_xy: np.ndarray, first: np.ndarray, *, params: EyeParams
                ) -> tuple[np.ndarray, np.ndarray]:
    """The eye of the photo covered by lid skin: what a closed eye shows where the open one
    showed its eye, made once per photo.

    The region replaced is everything of the drawn eye: the tracked opening dilated by
    ``closed_margin_w`` eye widths (the lash line and the lid margin go too), grown into the
    pixels around it that do not look like the skin of the lid patch (Lab distance from its
    median beyond ``closed_skin_dist`` times the skin's own median spread), as long as they
    connect to the opening and lie inside the lid patch: a cartoon's drawn eye is much larger
    than the face mesh's eye contour, and its white below the contour would otherwise stay
    visible under the closed lid. The upper lid up to ``closed_lid_up`` of the way to the
    crease ring goes too. The region is filled by membrane interpolation from the skin around
    it (a smooth lid shaded like the skin above and below), plus ``closed_grain`` of a noise
    as strong as the skin's own fine grain, so the lid is not a plastic smear on a textured
    photo (noise rather than the photo's texture carried over: that carries lashes and
    folds along).

    Parameters
    ----------
    photo : (H, W, 3) uint8 RGB. pts : (478, 2) float64 its landmarks.
    tris_xy : (T, 3, 2) float64 the lid patch's triangles at rest: nothing outside them is
        replaced (the redraw renders only them).
    first : (T,) bool, the triangles of the first ring around the eye (not touching
        ``topo.outer_ring``): the lid skin's colour is read there.

    Returns
    -------
    origin : (2,) int, the photo pixel (x, y) of the delta's top-left pixel.
    delta : (h, w, 3) float32, closed minus open, zero outside the replaced region.
    """
    h, w = photo.shape[:2]
    lo = np.maximum(np.floor(tris_xy.reshape(-1, 2).min(axis=0)).astype(int) - 2, 0)
    hi = np.minimum(np.ceil(tris_xy.reshape(-1, 2).max(axis=0)).astype(int) + 3, (w, h))
    crop = photo[lo[1]:hi[1], lo[0]:hi[0]]
    shape = crop.shape[:2]
    hull = np.zeros(shape, np.uint8)
    hull_first = np.zeros(shape, np.uint8)
    for t, f in zip(tris_xy, first):
        t16 = np.round((t - lo) * 16).astype(np.int32)
        cv2.fillConvexPoly(hull, t16, 1, cv2.LINE_8, 4)
        if f:
            cv2.fillConvexPoly(hull_first, t16, 1, cv2.LINE_8, 4)
    opening = _fill_polygon(shape, pts[topo.contour], lo) > 127

    def disc(r: float) -> np.ndarray:
        r = max(1, int(round(r)))
        return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))

    inner = cv2.erode(hull, _KERNEL3).astype(bool)
    lab = cv2.cvtColor(crop.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    near = cv2.dilate(opening.astype(np.uint8), disc(params.closed_margin_w * width)) > 0
    # The lid skin's colour from the first ring around the eye (the second ring's cheek is
    # lit differently from a lid; it is there only to be covered).
    skin = cv2.erode(hull_first, _KERNEL3).astype(bool) & ~(
        cv2.dilate(opening.astype(np.uint8), disc(0.12 * width)) > 0)
    if skin.sum() < 16:
        skin = hull_first.astype(bool) & ~near
    # The upper lid too, up to ``closed_lid_up`` of the way to the crease ring: its fold and
    # its lit bulge over the open eye, stretched over a closed eye, draw the outline of an
    # open eye (a light lens between a dark fold and the lash line).
    top = pts[topo.upper] + params.closed_lid_up * (pts[topo.crease] - pts[topo.upper])
    lid = np.concatenate([pts[[topo.corners[0]]], top, pts[[topo.corners[1]]],
                          pts[topo.lower[::-1]]])
    near |= _fill_polygon(shape, lid, lo) > 127
    region = near & inner
    if skin.sum() >= 16:
        ref = np.median(lab[skin], axis=0)
        dist = np.linalg.norm(lab - ref, axis=2)
        spread = max(float(np.median(dist[skin])), 2.0)
        foreign = (dist > params.closed_skin_dist * spread) & inner
        reach = cv2.dilate(opening.astype(np.uint8), disc(params.closed_reach_w * width)) > 0
        grow = (foreign & reach) | region
        _, labels = cv2.connectedComponents(grow.astype(np.uint8), connectivity=8)
        keep = np.unique(labels[region & (labels > 0)])
        grown = np.isin(labels, keep) & (labels > 0)
        # A pixel or two more: the anti-aliased edge of a drawn line is not quite foreign.
        region = (cv2.dilate(grown.astype(np.uint8), disc(max(1.0, 0.02 * width))) > 0) & inner
    fill = _harmonic_fill(crop.astype(np.float32), region)
    # Grain: a smooth fill looks like plastic on a grainy photo (a painting's craquelure, film
    # grain, JPEG noise). Noise with the skin's own fine-scale spread per channel, slightly
    # blurred like it, seeded so that a photo always gets the same lid.
    fine = crop.astype(np.float32) - cv2.GaussianBlur(crop.astype(np.float32), (0, 0), 1.0)
    delta = (fill - crop.astype(np.float32)) * region[..., None]
    if skin.sum() >= 16 and params.closed_grain > 0.0:
        # Robust (median absolute deviation): the skin sample holds some lashes and edges.
        f = fine[skin]
        spread = 1.4826 * np.median(np.abs(f - np.median(f, axis=0)), axis=0)
        # One noise for all channels: grain is in brightness, colour noise looks like dust.
        noise = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        noise = cv2.GaussianBlur(noise, (0, 0), 0.6)
        noise /= max(float(noise.std()), 1e-6)
        # Faded in from the region's edge, so no seam of grain starts at it.
        soft = cv2.GaussianBlur(region.astype(np.float32), (0, 0), max(0.7, 0.015 * width))
        soft = np.minimum(soft, region)
        delta += (params.closed_grain * noise * soft)[..., None] * spread
    return lo, delta.astype(np.float32)
