"""The expression model of the built-in clips: action units (FACS) as displacement fields on
the neutral template, with smooth compactly supported falloffs and anatomical directions.

AU1/AU2 inner/outer brow raiser, AU4 brow lowerer, AU5 upper lid raiser, AU6 cheek raiser,
AU7 lid tightener, AU9 nose wrinkler, AU12 lip corner puller, AU15 lip corner depressor,
AU17 chin raiser, AU20 lip stretcher, AU24 lip pressor, AU25 lips part; AU26 jaw drop and
AU27 mouth stretch rotate the lower lip, chin and jaw about the jaw joint (skinned weights);
AU43 eyes closed / AU45 blink bring each upper-lid point down onto its partner on the lower
lid (full closure: eye aspect ratio 0); gaze (AU61-64 as ``gaze_x``/``gaze_y``) moves the
irises inside the eye opening. Head pose (yaw, pitch, roll) rotates the 3D shape about a
neck pivot; breathing lifts it a little.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import cv2
import numpy as np
from scipy.spatial import cKDTree

from precompute.synth.exact import apply3, cos, falloff, length, rotation, sin
from precompute.synth.template import TEMPLATE_PATH, load_template, mirror_pairs, symmetrize
from reactive.core import landmarks as lm
from reactive.core.geometry import smoothstep

# Every channel a clip can drive. AU intensities are in [0, 1] (AU26/AU27 a little beyond is
# fine); gaze in [-1, 1] of the eye's range (x: + = image right, y: + = down); pose in degrees
# (yaw +: the nose turns to the image's right; pitch +: the face looks down; roll +: the top of
# the head tips to the image's right); breath in [0, 1] (1 = full inhale).
AU_CHANNELS = ("AU1", "AU2", "AU4", "AU5", "AU6", "AU7", "AU9", "AU12", "AU15", "AU17", "AU20",
               "AU24", "AU25", "AU26", "AU27", "AU43", "AU45", "AU46L", "AU46R")

# Named mesh points (``reactive.core.landmarks``), short for the formulas below.
_CORNER_L, _CORNER_R = lm.MOUTH_CORNERS        # outer lip corners, image left / right
_INNER_L, _INNER_R = lm.INNER_MOUTH_CORNERS    # inner lip corners
_UPPER_LIP_BOTTOM, _LOWER_LIP_TOP = lm.UPPER_LIP_BOTTOM, lm.LOWER_LIP_TOP
_LOWER_LIP_BOTTOM, _CHIN = lm.LOWER_LIP_BOTTOM, lm.CHIN
_CHEEK_L, _CHEEK_R = lm.CHEEK_EDGES


CHANNELS = AU_CHANNELS + ("gaze_x", "gaze_y", "yaw", "pitch", "roll", "breath")


# Eye lids, from the inner corner outwards: upper lid point k closes onto lower lid point k.
# "right"/"left" are the subject's (right = image left), as in MediaPipe; the mesh's eye
# topology orders them from the image's left corner.
_R, _L = lm.RIGHT_EYE_TOPOLOGY, lm.LEFT_EYE_TOPOLOGY
EYES = {
    "right": dict(inner=_R.corners[1], outer=_R.corners[0],
                  upper=[int(i) for i in _R.upper[::-1]], lower=[int(i) for i in _R.lower[::-1]],
                  iris=lm.RIGHT_IRIS),
    "left": dict(inner=_L.corners[0], outer=_L.corners[1],
                 upper=[int(i) for i in _L.upper], lower=[int(i) for i in _L.lower],
                 iris=lm.LEFT_IRIS),
}
# Inner lips between the corners (78 image left, 308 image right): upper k sits on lower k
# when the mouth is closed.
UPPER_INNER = [int(i) for i in lm.UPPER_INNER_LIP]
LOWER_INNER = [int(i) for i in lm.LOWER_INNER_LIP]
MOUTH_CORNERS = lm.MOUTH_CORNERS + lm.INNER_MOUTH_CORNERS

LOWER_LID_REACH = 0.16  # template units of cheek below the lower lid that follow its margin
JAW_MIN_LEVER = 0.6     # template units; see FaceModel._jaw


def lower_lip_points(points: np.ndarray) -> np.ndarray:
    """(478,) bool: the lower lip (below the lip seam, inside the outer lip contour).

    Decided on a face with the mouth a little open, where the two inner lips are apart.
    """
    seam_x = points[UPPER_INNER, 0]
    seam_y = 0.5 * (points[UPPER_INNER, 1] + points[LOWER_INNER, 1])
    order = np.argsort(seam_x)
    corners = points[[_INNER_L, _INNER_R]]
    xs = np.concatenate([[corners[0, 0]], seam_x[order], [corners[1, 0]]])
    ys = np.concatenate([[corners[0, 1]], seam_y[order], [corners[1, 1]]])
    outer = points[lm.LIPS_OUTER, :2].astype(np.float32).reshape(-1, 1, 2)
    out = np.zeros(len(points), bool)
    for i in range(lm.N_MESH):
        x, y = float(points[i, 0]), float(points[i, 1])
        if i in MOUTH_CORNERS:
            continue
        inside = cv2.pointPolygonTest(outer, (x, y), True) >= -0.02
        if inside and y > float(np.interp(x, xs, ys)):
            out[i] = True
    out[LOWER_INNER] = True
    out[UPPER_INNER] = False
    return out


@dataclass(frozen=True)
class ModelParams:
    """Anatomical amplitudes and reaches, in template units (1 = inter-ocular distance)."""

    brow_raise: float = 0.11          # AU1/AU2 at the brow
    brow_reach: float = 0.5           # lateral reach of a brow raise
    brow_lower: float = 0.07          # AU4 down ...
    brow_knit: float = 0.05           # ... and towards the midline
    lid_raise: float = 0.05           # AU5 upper lid margin
    lid_tighten: float = 0.035        # AU7 lower lid margin up
    cheek_raise: float = 0.06         # AU6 infraorbital cheek
    nose_wrinkle: float = 0.045       # AU9 nose sides
    corner_pull: tuple = (0.10, -0.11, 0.04)   # AU12 at the right-side corner (x y z)
    corner_depress: tuple = (0.015, 0.075, 0.0)  # AU15
    corner_stretch: tuple = (0.085, 0.015, 0.02)  # AU20
    corner_reach: float = 0.45
    chin_raise: float = 0.05          # AU17
    lip_press: float = 0.35           # AU24: fraction of lip thickness pressed away
    lips_part: float = 0.045          # AU25 lower lip drop at the centre
    jaw_deg: float = 12.0             # AU26 jaw rotation at intensity 1
    stretch_deg: float = 11.0         # AU27 extra jaw rotation
    lid_close_at: float = 0.2         # lids meet this far from the lower lid (fraction)
    gaze_x: float = 0.075             # iris travel at gaze +-1
    gaze_y: float = 0.045
    # The lids follow vertical gaze (upper, lower), as fractions of the iris's travel.
    lids_follow_up: tuple = (0.6, 0.3)
    lids_follow_down: tuple = (0.7, 0.2)
    breath_lift: float = 0.011        # head lift on a full breath
    # Depth is scaled by this for head rotations: the 2D warp renders the foreshortened far
    # cheek of a turning head as a jagged contour; a flatter head turns more gently.
    pose_depth: float = 0.8
    # Head rotations use the face's depth averaged over this many nearest neighbours (in the
    # image plane), this many times: MediaPipe's depth is noisy at the silhouette, where a
    # few nearly edge-on triangles would otherwise flip as soon as the head nods.
    depth_neighbours: int = 6
    depth_passes: int = 3


class FaceModel:
    """Action units on a neutral template. ``shape(values)`` -> (478, 3) template units.

    Parameters
    ----------
    neutral : (478, 3) float64 neutral, symmetric template (``neutral_template``).
    lower_lip : (478,) bool lower-lip points (``lower_lip_points`` on an open mouth).
    """

    def __init__(self, neutral: np.ndarray, lower_lip: np.ndarray,
                 params: ModelParams = ModelParams()):
        self.rest = np.asarray(neutral, np.float64)
        self.p = params
        self.lower_lip = lower_lip
        x, y = self.rest[:, 0], self.rest[:, 1]
        # Anatomical landmarks of this face.
        self.corner_x = 0.5 * (self.rest[_CORNER_R, 0] - self.rest[_CORNER_L, 0])
        self.nose_base_y = float(self.rest[2, 1])
        brow = np.concatenate([lm.LEFT_BROW, lm.RIGHT_BROW])
        self.brow_y = float(self.rest[brow, 1].mean())
        self.forehead_top_y = float(self.rest[10, 1])   # the mesh's top, below the hair
        self.chin_y = float(self.rest[_CHIN, 1])
        side = (self.rest[_CHEEK_L] + self.rest[_CHEEK_R] * np.array([-1.0, 1.0, 1.0])) * 0.5
        # Jaw joint (TMJ): just in front of the ear, a little below the cheek's widest point.
        self.jaw_pivot = np.array([0.0, side[1] + 0.2, side[2] - 0.05])
        # Head/neck pivot: upper cervical spine, behind the mouth's level.
        self.neck_pivot = np.array([0.0, 0.55 * self.chin_y, side[2] + 0.1])
        mouth_zone = (np.abs(x) < self.corner_x + 0.05) & (y > self.nose_base_y + 0.05) & \
            (y < self.rest[_LOWER_LIP_BOTTOM, 1] + 0.02)
        self.upper_lip = mouth_zone & ~lower_lip & (y < self.rest[_UPPER_LIP_BOTTOM, 1] + 0.005)
        self.upper_lip[list(MOUTH_CORNERS)] = False
        self.jaw_weight = self._jaw_weights()
        self.lid_ops = {name: self._lid_operators(eye) for name, eye in EYES.items()}
        self.linear = {au: getattr(self, f"_{au.lower()}")() for au in
                       ("AU1", "AU2", "AU4", "AU5", "AU6", "AU7", "AU9", "AU12", "AU15", "AU17",
                        "AU20", "AU24", "AU25")}
        self.iris_offsets = {name: self.rest[eye["iris"]] - self.rest[eye["iris"][0]]
                             for name, eye in EYES.items()}
        self.depth_fix = self._smooth_depth() - self.rest[:, 2]
        # Unit lid-margin lifts (profile 1 at the middle of each lid), for gaze coupling.
        self.lid_unit = {lid: self._lid_au(lid, 1.0) for lid in ("up", "lo")}

    # -- geometry helpers --

    def _smooth_depth(self) -> np.ndarray:
        """(478,) the rest depth averaged over image-plane neighbours (mesh points); the
        irises keep their depth relative to their eye ring."""

        r, p = self.rest, self.p
        z = r[:lm.N_MESH, 2].copy()
        _, nb = cKDTree(r[:lm.N_MESH, :2]).query(r[:lm.N_MESH, :2], k=p.depth_neighbours)
        for _ in range(p.depth_passes):
            z = z[nb].mean(axis=1)
        out = np.concatenate([z, r[lm.N_MESH:, 2]])
        for eye in EYES.values():
            ring = [eye["inner"], eye["outer"]] + eye["upper"] + eye["lower"]
            out[eye["iris"]] += z[ring].mean() - r[ring, 2].mean()
        return out

    def _seam(self, xq: np.ndarray) -> np.ndarray:
        """y of the closed lip seam (upper inner lip) at x, corners included."""
        ids = [_INNER_L] + UPPER_INNER + [_INNER_R]
        xs, ys = self.rest[ids, 0], self.rest[ids, 1]
        order = np.argsort(xs)
        return np.interp(xq, xs[order], ys[order])

    def _jaw_weights(self) -> np.ndarray:
        """(478,) skinning weight of the jaw: 1 on the lower lip and chin, 0 on the upper lip
        and above, 0.5 at the mouth corners, fading across the cheek along the line from the
        mouth corner to the jaw joint."""
        x, y = self.rest[:, 0], self.rest[:, 1]
        ax = np.abs(x)
        xc = self.corner_x
        yc = float(self.rest[[_CORNER_L, _CORNER_R], 1].mean())
        xj, yj = abs(float(self.rest[_CHEEK_L, 0])) * 0.95, float(self.jaw_pivot[1])
        line = np.where(ax <= xc, self._seam(x), yc + (ax - xc) * (yj - yc) / (xj - xc))
        band = 0.06 + 0.5 * np.maximum(ax - xc, 0.0)
        w = smoothstep((y - line) / band + 0.5)
        # Along the lips the opening tapers into the corners: the corners go half way, the
        # lips next to them part of the way (an oval, not a box).
        u = np.clip(ax / xc, 0.0, 1.0)
        taper = 0.5 * u * u * u
        w[self.lower_lip] = 1.0 - taper[self.lower_lip]
        w[self.upper_lip] = taper[self.upper_lip]
        w[list(MOUTH_CORNERS)] = 0.5
        w[lm.N_MESH:] = 0.0
        return w

    def _lid_operators(self, eye: dict) -> dict:
        """Per eye: how lid-margin displacements spread over the lid skin.

        ``up``/``lo``: (478, m) weights; field = sum_k weight[:, k] * margin_disp[k] with the
        corners (displacement 0) at both ends of the m = 9 margin columns.
        """
        r = self.rest
        ops = {}
        for lid, ids in (("up", eye["upper"]), ("lo", eye["lower"])):
            margin = [eye["inner"]] + list(ids) + [eye["outer"]]
            mx, my = r[margin, 0], r[margin, 1]
            order = np.argsort(mx)
            xs = mx[order]
            x, y = r[:, 0], r[:, 1]
            # Interpolation weights along the margin (linear in x between neighbours).
            idx = np.clip(np.searchsorted(xs, x) - 1, 0, len(xs) - 2)
            t = np.clip((x - xs[idx]) / (xs[idx + 1] - xs[idx]), 0.0, 1.0)
            interp = np.zeros((len(r), len(margin)))
            rows = np.arange(len(r))
            interp[rows, order[idx]] += 1.0 - t
            interp[rows, order[idx + 1]] += t
            margin_y = np.interp(x, xs, my[order])
            if lid == "up":
                # The lid skin up to ~60% of the way to the brow moves with the margin.
                h = margin_y - y
                span = 0.6 * (float(my.mean()) - self.brow_y)
            else:
                h = y - margin_y
                span = LOWER_LID_REACH
            s = np.clip(h / span, 0.0, 1.0)
            fall = (1.0 - s) ** 2
            fall[h < -0.004] = 0.0            # the other side of the margin: not this lid
            lateral = 1.0 - smoothstep((np.maximum(xs[0] - x, x - xs[-1])) / 0.12)
            w = fall * lateral
            w[lm.N_MESH:] = 0.0
            w[margin] = 1.0
            ops[lid] = interp * w[:, None]
            ops[lid + "_ids"] = margin
        return ops

    def _spread(self, op: np.ndarray, margin_disp: np.ndarray) -> np.ndarray:
        """Field (478, 3) from margin displacements (m, 3) through a lid operator."""
        return (op[:, :, None] * margin_disp[None, :, :]).sum(axis=1)

    def _lid_profile(self, ids: Sequence[int], eye: dict) -> np.ndarray:
        """(len(ids),) 0 at the eye corners, 1 at the middle of the lid."""
        xi, xo = self.rest[eye["inner"], 0], self.rest[eye["outer"], 0]
        u = (self.rest[ids, 0] - xi) / (xo - xi)
        return np.clip(4.0 * u * (1.0 - u), 0.0, 1.0)

    def _per_side(self, fn: Callable[[float], np.ndarray]) -> np.ndarray:
        """fn(sign) for the image-left (-1) and image-right (+1) halves, summed."""
        return fn(-1.0) + fn(1.0)

    def _above_lids(self, reach: float = 1.0) -> np.ndarray:
        """(478,) 0 on and below the upper-lid margins, rising to 1 at the lower edge of the
        brows (``reach`` < 1: sooner) and above: brow action units move the brows and the
        forehead fully and stretch the upper-lid skin in between, never the lid margins."""
        r = self.rest
        margin = np.concatenate([[e["inner"]] + e["upper"] + [e["outer"]]
                                 for e in EYES.values()])
        brow_low = [46, 53, 52, 65, 55, 285, 295, 282, 283, 276]
        x, y = r[:, 0], r[:, 1]
        om, ob = np.argsort(r[margin, 0]), np.argsort(r[brow_low, 0])
        my = np.interp(x, r[margin, 0][om], r[margin, 1][om])
        by = np.interp(x, r[brow_low, 0][ob], r[brow_low, 1][ob])
        u = (my - y) / np.maximum(my - by, 0.05)
        out = smoothstep(u / reach)
        out[margin] = 0.0
        return out

    def _forehead_taper(self) -> np.ndarray:
        """Brow raises drag the forehead skin less towards the hairline: 1 .. 0.35."""
        y = self.rest[:, 1]
        u = np.clip((self.brow_y - 0.05 - y) / (self.brow_y - 0.05 - self.forehead_top_y),
                    0, 1)
        return 1.0 - 0.65 * u

    def _brow_raise(self, at_x: float) -> np.ndarray:
        p = self.p
        x = self.rest[:, 0]
        gate = self._above_lids() * self._forehead_taper()

        def side(sign):
            k = falloff(x - sign * at_x, p.brow_reach)
            return k * (np.sign(x) == sign)

        out = np.zeros_like(self.rest)
        out[:, 1] = -p.brow_raise * gate * self._per_side(side)
        out[lm.N_MESH:] = 0.0
        return out

    # -- linear action units: (478, 3) displacement at intensity 1 --

    def _au1(self):
        inner = float(np.abs(self.rest[[55, 285], 0]).mean())
        return self._brow_raise(inner)

    def _au2(self):
        outer = float(np.abs(self.rest[[70, 300], 0]).mean())
        return self._brow_raise(outer)

    def _au4(self):
        p, r = self.p, self.rest
        x, y = r[:, 0], r[:, 1]
        gate = self._above_lids(reach=0.7)
        inner = r[[55, 285]].copy()

        def side(sign):
            c = inner[1] if sign > 0 else inner[0]
            return falloff(length(x - c[0], (y - c[1]) * 1.3), 0.4) * (np.sign(x) == sign)

        k = self._per_side(side) * gate
        out = np.zeros_like(r)
        out[:, 1] = p.brow_lower * k
        out[:, 0] = -np.sign(x) * p.brow_knit * k
        # The nose root is pulled down a little with the brows (procerus).
        out[:, 1] += 0.3 * p.brow_lower * falloff(length(x, y - self.brow_y), 0.3) * gate
        out[lm.N_MESH:] = 0.0
        return out

    def _lid_au(self, lid: str, amount: float) -> np.ndarray:
        out = np.zeros_like(self.rest)
        for eye_name, eye in EYES.items():
            op = self.lid_ops[eye_name]
            ids = op[lid + "_ids"]
            disp = np.zeros((len(ids), 3))
            disp[:, 1] = amount * self._lid_profile(ids, eye)
            out += self._spread(op[lid], disp)
        return out

    def _au5(self):
        return self._lid_au("up", -self.p.lid_raise)

    def _au7(self):
        return self._lid_au("lo", -self.p.lid_tighten) + self._lid_au("up", 0.012)

    def _au6(self):
        p, r = self.p, self.rest
        x, y = r[:, 0], r[:, 1]
        out = self._lid_au("lo", -0.4 * p.cheek_raise)
        below_eyes = smoothstep((y - 0.04) / 0.12)

        def side(sign):
            k = falloff(length(x - sign * 0.6, (y - 0.28)), 0.5)
            crow = falloff(length(x - sign * 0.86, y - 0.02), 0.22)
            return np.stack([-sign * 0.15 * crow * p.cheek_raise,
                             -(k * below_eyes + 0.4 * crow) * p.cheek_raise,
                             np.zeros_like(x)], axis=1) * (np.sign(x) == sign)[:, None]

        # Below the brows only (the crow's feet reach up towards the brow's tail).
        cheek = self._per_side(side) * (1.0 - self._above_lids())[:, None]
        # Keep the lid margins to the lid operator (the cheek pushes the lower lid up above).
        lids = np.concatenate([self.lid_ops[e]["up_ids"] + self.lid_ops[e]["lo_ids"]
                               for e in EYES])
        cheek[lids] = 0.0
        up_skin = np.zeros(len(r), bool)
        for e in EYES:
            up_skin |= self.lid_ops[e]["up"].sum(axis=1) > 0
        cheek[up_skin] = 0.0
        out += cheek
        out[lm.N_MESH:] = 0.0
        return out

    def _au9(self):
        p, r = self.p, self.rest
        x, y = r[:, 0], r[:, 1]
        out = np.zeros_like(r)

        def side(sign):   # the alae and the sides of the nose
            return falloff(length(x - sign * 0.25, (y - 0.5) * 0.8), 0.3)

        nose = self._per_side(side) + 0.3 * falloff(length(x, y - 0.15), 0.25)
        out[:, 1] -= p.nose_wrinkle * np.clip(nose, 0, 1)
        # Upper lip lifted a little at its centre, inner brows drawn down (procerus).
        prof = np.clip(1.0 - (x / self.corner_x) ** 2, 0.0, 1.0)
        up = falloff(np.maximum(y - self.rest[0, 1], 0.0), 0.3) * prof \
            * smoothstep((y - self.nose_base_y) / 0.1)
        up[self.lower_lip] = 0.0
        out[:, 1] -= 0.45 * p.nose_wrinkle * up
        out += 0.35 * self._au4()
        out[lm.N_MESH:] = 0.0
        return out

    def _corner_field(self, vec: Sequence[float], reach: float | None = None) -> np.ndarray:
        """A displacement ``vec`` (x y z, for the image-right corner; mirrored for the left)
        at each mouth corner, falling off smoothly; the lip centre stays."""
        r = self.rest
        reach = reach or self.p.corner_reach
        vec = np.asarray(vec, np.float64)
        out = np.zeros_like(r)
        for sign, corner in ((-1.0, _CORNER_L), (1.0, _CORNER_R)):
            c = r[corner]
            d = length(r[:, 0] - c[0], (r[:, 1] - c[1]) * 1.15)
            k = falloff(d, reach)
            # Along the lips, the pull fades towards the middle of the mouth.
            along = np.clip(np.abs(r[:, 0]) / self.corner_x, 0.0, 1.0)
            along = along * np.sqrt(along)   # ^1.5
            k = np.where((np.abs(r[:, 0]) < self.corner_x) & (self.lower_lip | self.upper_lip),
                         k * along, k) * (np.sign(r[:, 0]) == sign)
            out += k[:, None] * (vec * np.array([sign, 1.0, 1.0]))
        out[lm.N_MESH:] = 0.0
        return out

    def _au12(self):
        return self._corner_field(self.p.corner_pull)

    def _au15(self):
        return self._corner_field(self.p.corner_depress, reach=0.4)

    def _au20(self):
        return self._corner_field(self.p.corner_stretch)

    def _au17(self):
        p, r = self.p, self.rest
        x, y = r[:, 0], r[:, 1]
        out = np.zeros_like(r)
        # Below the seam, a ramp from 0 (on it) to 1: whatever moves the lower lip and chin
        # more than the upper lip must vanish at the seam, or the closed lips would cross.
        ramp = np.clip((y - self._seam(x)) / 0.12, 0.0, 1.0) * self.jaw_weight
        chin = falloff(length(x, (y - (self.chin_y - 0.25)) * 0.9), 0.5) * ramp
        out[:, 1] -= p.chin_raise * chin
        # The lips are pushed up together at the middle (the seam rises, the lower lip
        # bulges up and forward).
        prof = np.clip(1.0 - (x / self.corner_x) ** 2, 0.0, 1.0)
        lips = (self.lower_lip | self.upper_lip).astype(np.float64)
        out[:, 1] -= 0.4 * p.chin_raise * prof * lips
        out[:, 1] -= 0.25 * p.chin_raise * prof * self.lower_lip * ramp
        out[:, 2] -= 0.3 * p.chin_raise * prof * self.lower_lip * ramp
        out[lm.N_MESH:] = 0.0
        return out

    def _au24(self):
        p, r = self.p, self.rest
        x, y = r[:, 0], r[:, 1]
        seam = self._seam(x)
        lips = self.lower_lip | self.upper_lip
        out = np.zeros_like(r)
        out[:, 1] = np.where(lips, -(y - seam) * p.lip_press, 0.0)
        out[:, 0] = np.where(lips, -x * 0.03, 0.0)
        # Skin just outside the lips follows a little.
        near = ~lips & (np.abs(x) < self.corner_x + 0.1)
        d = np.abs(y - seam)
        out[:, 1] += np.where(near, -(y - seam) * p.lip_press * falloff(d, 0.25), 0.0)
        out[lm.N_MESH:] = 0.0
        return out

    def _au25(self):
        p, r = self.p, self.rest
        x, y = r[:, 0], r[:, 1]
        prof = np.sqrt(np.clip(1.0 - (x / self.corner_x) ** 2, 0.0, 1.0))
        out = np.zeros_like(r)
        below = self.jaw_weight * falloff(np.maximum(y - self._seam(x), 0.0), 0.5)
        out[:, 1] += p.lips_part * prof * np.where(self.lower_lip, 1.0, 0.5 * below)
        above = falloff(np.maximum(self._seam(x) - y, 0.0), 0.25)
        out[:, 1] -= 0.3 * p.lips_part * prof * np.where(self.upper_lip, 1.0, 0.0) * above
        out[list(MOUTH_CORNERS)] = 0.0
        out[lm.N_MESH:] = 0.0
        return out

    # -- non-linear parts --

    def _jaw(self, shape: np.ndarray, deg: float, narrow: float) -> np.ndarray:
        """Rotate the jaw region of ``shape`` about the jaw joint by ``deg`` (skinned)."""
        if deg == 0.0 and narrow == 0.0:
            return shape
        a = deg * math.pi / 180.0
        c, s = cos(a), sin(a)
        piv = self.jaw_pivot
        v = shape - piv
        # Opening: points in front of the pivot go down, points below it go back. Seen from
        # the front, a point drops by its depth in front of the joint; the jaw's angle, deep
        # and near the joint, would hardly drop while the cheek above it (half weight, but
        # further forward) drops more: a fold. The condyle also slides forward as the jaw
        # opens, so every jaw point drops at least ``JAW_MIN_LEVER`` per radian.
        vz = np.minimum(v[:, 2], -JAW_MIN_LEVER)
        rot = np.stack([v[:, 0], c * v[:, 1] - s * vz, s * v[:, 1] + c * v[:, 2]], 1)
        w = self.jaw_weight[:, None]
        out = shape + w * (rot - v)
        if narrow:
            # A wide-open mouth (AU27) draws the corners in.
            k = self._corner_field((-narrow, 0.0, 0.0), reach=0.35)
            out = out + k
        return out

    def _close_eyes(self, shape: np.ndarray, closure: dict[str, float]) -> np.ndarray:
        """Each upper-lid point meets its lower-lid partner ``lid_close_at`` of the way up from
        the lower lid; ``closure`` in [0, 1] per eye ("left", "right": the subject's)."""
        if max(closure.values()) <= 0.0:
            return shape
        out = shape.copy()
        f = self.p.lid_close_at
        for name, eye in EYES.items():
            if closure[name] <= 0.0:
                continue
            op = self.lid_ops[name]
            up, lo = eye["upper"], eye["lower"]
            meet = shape[lo] + f * (shape[up] - shape[lo])
            d_up = np.zeros((len(op["up_ids"]), 3))
            d_lo = np.zeros((len(op["lo_ids"]), 3))
            d_up[1:-1] = closure[name] * (meet - shape[up])
            d_lo[1:-1] = closure[name] * (meet - shape[lo])
            out += self._spread(op["up"], d_up) + self._spread(op["lo"], d_lo)
            out[up] = shape[up] + d_up[1:-1]
            out[lo] = shape[lo] + d_lo[1:-1]
        return out

    def _place_irises(self, shape: np.ndarray, gaze_x: float, gaze_y: float) -> np.ndarray:
        """Irises moved by the gaze and kept inside the current eye opening; the iris circle
        keeps its size (as MediaPipe's does: its top and bottom hide behind the lids)."""
        out = shape
        p = self.p
        for name, eye in EYES.items():
            ids = eye["iris"]
            centre = self.rest[ids[0]].copy()
            centre[0] += gaze_x * p.gaze_x
            centre[1] += gaze_y * p.gaze_y
            radius = float(np.abs(self.iris_offsets[name][:, 0]).max())
            xi, xo = shape[eye["inner"], 0], shape[eye["outer"], 0]
            lo_x, hi_x = min(xi, xo) + radius + 0.015, max(xi, xo) - radius - 0.015
            cx = min(max(centre[0], lo_x), hi_x)
            upper = [eye["inner"]] + eye["upper"] + [eye["outer"]]
            lower = [eye["inner"]] + eye["lower"] + [eye["outer"]]
            ou, ol = np.argsort(shape[upper, 0]), np.argsort(shape[lower, 0])
            xs = np.array([cx - radius, cx, cx + radius])
            yu = np.interp(xs, shape[upper, 0][ou], shape[upper, 1][ou])
            yl = np.interp(xs, shape[lower, 0][ol], shape[lower, 1][ol])
            gap = max(float(yl[1] - yu[1]), 0.0)
            # The centre keeps off the lids by 30% of the opening, the iris's left and right
            # points stay between the lids; where both cannot be had (nearly closed), the
            # centre sits on the middle line, which is the lid line once closed.
            lo = max(float(yu[1]) + 0.3 * gap, float(yu[0]) + 0.012, float(yu[2]) + 0.012)
            hi = min(float(yl[1]) - 0.3 * gap, float(yl[0]) - 0.012, float(yl[2]) - 0.012)
            if lo <= hi:
                cy = min(max(float(centre[1]), lo), hi)
            else:
                cy = 0.5 * float(yu[1] + yl[1])
            # Depth: the iris rides on the eyeball with the lids.
            base = np.array([cx, cy, shape[ids[0], 2]])
            out[ids] = base + self.iris_offsets[name]
        return out

    def shape(self, values: Mapping[str, float]) -> np.ndarray:
        """The face for channel ``values`` (AUs and gaze; pose and breath are ``pose``'s).

        Returns (478, 3) float64 template units. Unknown channel names raise ValueError.
        """
        bad = [k for k in values if k not in CHANNELS]
        if bad:
            raise ValueError(f"`values` has unknown channels {bad}; known: {CHANNELS}")
        out = self.rest.copy()
        for au, field_ in self.linear.items():
            v = float(values.get(au, 0.0))
            if v:
                out += v * field_
        p = self.p
        out = self._jaw(out, p.jaw_deg * float(values.get("AU26", 0.0))
                        + p.stretch_deg * float(values.get("AU27", 0.0)),
                        0.05 * float(values.get("AU27", 0.0)))
        gy = float(values.get("gaze_y", 0.0))
        if gy:
            # Lid-gaze coupling: looking down, the upper lid comes down with the eye; up, it
            # lifts.
            up, lo = p.lids_follow_down if gy > 0 else p.lids_follow_up
            out = out + gy * p.gaze_y * (up * self.lid_unit["up"] + lo * self.lid_unit["lo"])
        a43, a45 = float(values.get("AU43", 0.0)), float(values.get("AU45", 0.0))
        both = 1.0 - (1.0 - a43) * (1.0 - a45)
        # AU46 (wink) closes one eye: L the subject's left, R the right.
        closure = {side: min(max(1.0 - (1.0 - both) * (1.0 - float(values.get(au, 0.0))),
                                 0.0), 1.0)
                   for side, au in (("left", "AU46L"), ("right", "AU46R"))}
        out = self._close_eyes(out, closure)
        return self._place_irises(out, float(values.get("gaze_x", 0.0)),
                                  float(values.get("gaze_y", 0.0)))

    def pose_face(self, shape: np.ndarray, **pose) -> np.ndarray:
        """``pose`` for a face ``shape`` (478, 3), turned with its smoothed depth."""
        smoothed = shape.copy()
        smoothed[:, 2] += self.depth_fix
        return self.pose(smoothed, **pose)

    def pose(self, points: np.ndarray, *, yaw: float = 0.0, pitch: float = 0.0,
             roll: float = 0.0, breath: float = 0.0, follow: float = 1.0) -> np.ndarray:
        """Rotate (N, 3) points about the neck pivot by ``follow`` x the head pose (degrees),
        lift them by breathing. ``follow`` < 1 for the neck and shoulders."""
        rot = rotation(follow * yaw, follow * pitch, follow * roll)
        depth = np.array([1.0, 1.0, self.p.pose_depth])
        out = apply3(rot, (points - self.neck_pivot) * depth) / depth + self.neck_pivot
        out[:, 1] -= self.p.breath_lift * breath
        return out


def neutral_template(raw: np.ndarray, params: ModelParams = ModelParams()
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Measured template -> (neutral symmetric template, lower-lip mask).

    The sample portrait smiles with parted lips. The template is made symmetric, its mouth
    closed by running the jaw model backwards (then the inner lips laid onto each other), and
    its smile relaxed by AU12 run backwards until the mouth is ``NEUTRAL_MOUTH_WIDTH`` wide.
    """
    pairs = mirror_pairs(raw)
    pts = symmetrize(raw, pairs)
    lower = lower_lip_points(pts)
    # 1. Close the jaw: find the angle that brings the lower lip's middle onto the upper's.
    model = FaceModel(pts, lower, params)
    lo_deg, hi_deg = -30.0, 0.0
    for _ in range(60):
        mid = 0.5 * (lo_deg + hi_deg)
        s = model._jaw(pts, mid, 0.0)
        if s[_LOWER_LIP_TOP, 1] - s[_UPPER_LIP_BOTTOM, 1] > 0.0:
            hi_deg = mid
        else:
            lo_deg = mid
    pts = model._jaw(pts, hi_deg, 0.0)
    # 2. Lay each lower inner-lip point onto its upper partner; the lower lip's body follows.
    gap = pts[UPPER_INNER] - pts[LOWER_INNER]
    xs = pts[LOWER_INNER, 0]
    order = np.argsort(xs)
    move = np.zeros_like(pts)
    for c in range(3):
        g = np.concatenate([[0.0], gap[order, c], [0.0]])
        gx = np.concatenate([[pts[_INNER_L, 0]], xs[order], [pts[_INNER_R, 0]]])
        move[:, c] = np.interp(pts[:, 0], gx, g)
    below = np.clip(1.0 - (pts[:, 1] - pts[_LOWER_LIP_TOP, 1]) / 0.2, 0.0, 1.0)
    move *= (lower * below)[:, None]
    move[LOWER_INNER] = gap
    pts = pts + move
    # 3. Relax the smile: AU12 backwards until the mouth is a neutral width.
    model = FaceModel(pts, lower, params)
    width = pts[_CORNER_R, 0] - pts[_CORNER_L, 0]
    per_unit = model.linear["AU12"][_CORNER_R, 0] - model.linear["AU12"][_CORNER_L, 0]
    pts = pts + ((NEUTRAL_MOUTH_WIDTH - width) / per_unit) * model.linear["AU12"]
    return symmetrize(pts, pairs), lower


# Mouth width over inter-ocular distance of a relaxed mouth (0.76 and 0.77 in the project's
# two tracked test drivers' neutral frames).
NEUTRAL_MOUTH_WIDTH = 0.80


_MODELS: dict[tuple, FaceModel] = {}


def face_model(params: ModelParams = ModelParams(), template: str | Path = TEMPLATE_PATH
               ) -> FaceModel:
    """The model on the bundled template (built once per parameters)."""
    key = (params, str(template))
    if key not in _MODELS:
        neutral, lower = neutral_template(load_template(template), params)
        _MODELS[key] = FaceModel(neutral, lower, params)
    return _MODELS[key]
