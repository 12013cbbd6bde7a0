"""Procedural clip packs: a parametric expression model over the face mesh, no driving video.

The built-in clips (idle, blink, smile, laugh, surprise, sad, angry, nod, look_left,
look_right) are made here from facial anatomy and written as ordinary clip packs, exactly as if
a 512x512 driving video had been tracked (``track.py``): 478 landmarks per frame, peripheral
points, the per-frame head similarity, mouth crops. The player cannot tell them apart.

The model
---------
- A neutral face template: 478 x 3 points (MediaPipe topology, iris included) in
  *template units*: origin between the eye centres, 1 = the inter-ocular distance, x to the
  image's right, y down, z away from the camera. It is measured once from the bundled sample
  portrait (``measure_template``, the only function here that runs MediaPipe) and stored in
  ``face_template.json``; at load it is made symmetric and neutral (``neutral_template``:
  mouth closed by the jaw model run backwards, the photo's smile relaxed by AU12 run
  backwards), so generation is pure arithmetic on that file.
- Action units (FACS) as displacement fields on the template, with smooth compactly supported
  falloffs and anatomical directions (``FaceModel``):
  AU1/AU2 inner/outer brow raiser, AU4 brow lowerer, AU5 upper lid raiser, AU6 cheek raiser,
  AU7 lid tightener, AU9 nose wrinkler, AU12 lip corner puller, AU15 lip corner depressor,
  AU17 chin raiser, AU20 lip stretcher, AU24 lip pressor, AU25 lips part; AU26 jaw drop and
  AU27 mouth stretch rotate the lower lip, chin and jaw about the jaw joint (skinned weights);
  AU43 eyes closed / AU45 blink bring each upper-lid point down onto its partner on the lower
  lid (full closure: eye aspect ratio 0); gaze (AU61-64 as ``gaze_x``/``gaze_y``) moves the
  irises inside the eye opening.
- Head pose (yaw, pitch, roll) rotates the 3D shape about a neck pivot; breathing lifts it a
  little; orthographic projection into a 512 x 512 driver frame (face ~213 px wide).
- Peripheral points (hair, ears, neck, shoulders) ride with the head: fully (hair, ears) or
  attenuated (neck, shoulders).
- Mouth crops are drawn, not photographed: skin, lips, and inside the inner lips a dark cavity
  with soft shading, a tongue low and an upper-teeth band (``teeth=False`` for paintings and
  cartoons), antialiased and slightly blurred, in the crop geometry of ``mouth.py``.
- Expression ratio images (fine details, ``details.py``'s encoding) hold soft creases per
  action unit: nasolabial folds (AU12), crow's feet (AU6), forehead lines (AU1, AU2), lines
  between the brows (AU4), wrinkles across the nose (AU9), darkening only.

Clips are keyframed action-unit curves with ease-in/ease-out, starting and ending neutral,
randomised (blink times, glances, sway) from a seed. Regeneration with the same seed gives the
same bytes. Frame synthesis uses only IEEE arithmetic (+ - * / sqrt, exactly rounded
everywhere), integer polygon filling and its own sin/cos series: no libm or SIMD
transcendentals and no BLAS, whose last bits can differ between CPUs. (The one-off template
preparation also runs scipy's assignment solver and k-d tree, whose answers are exact.)

``python -m precompute synth`` writes the packs (``cli.py``); ``write_clips`` is the API.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import cv2
import numpy as np

from reactive import landmarks as lm
from reactive.clippack import ClipPack, save_pack
from reactive.errors import InputError

from .mouth import CROP_SIZE, mouth_crop
from .track import head_motion

log = logging.getLogger(__name__)

GENERATOR = "precompute.synth 1"
DEFAULT_SEED = 2017
TEMPLATE_PATH = Path(__file__).with_name("face_template.json")
PROJECT_CLIPS = Path(__file__).resolve().parents[1] / "assets" / "clips"

# Every channel a clip can drive. AU intensities are in [0, 1] (AU26/AU27 a little beyond is
# fine); gaze in [-1, 1] of the eye's range (x: + = image right, y: + = down); pose in degrees
# (yaw +: the nose turns to the image's right; pitch +: the face looks down; roll +: the top of
# the head tips to the image's right); breath in [0, 1] (1 = full inhale).
AU_CHANNELS = ("AU1", "AU2", "AU4", "AU5", "AU6", "AU7", "AU9", "AU12", "AU15", "AU17", "AU20",
               "AU24", "AU25", "AU26", "AU27", "AU43", "AU45", "AU46L", "AU46R")
CHANNELS = AU_CHANNELS + ("gaze_x", "gaze_y", "yaw", "pitch", "roll", "breath")

# Eye lids, from the inner corner outwards: upper lid point k closes onto lower lid point k.
# "right"/"left" are the subject's (right = image left), as in MediaPipe.
EYES = {
    "right": dict(inner=133, outer=33, upper=[173, 157, 158, 159, 160, 161, 246],
                  lower=[155, 154, 153, 145, 144, 163, 7], iris=lm.RIGHT_IRIS),
    "left": dict(inner=362, outer=263, upper=[398, 384, 385, 386, 387, 388, 466],
                 lower=[382, 381, 380, 374, 373, 390, 249], iris=lm.LEFT_IRIS),
}
# Inner lips between the corners (78 image left, 308 image right): upper k sits on lower k
# when the mouth is closed.
UPPER_INNER = [191, 80, 81, 82, 13, 312, 311, 310, 415]
LOWER_INNER = [95, 88, 178, 87, 14, 317, 402, 318, 324]
MOUTH_CORNERS = (61, 291, 78, 308)
LOWER_LID_REACH = 0.16  # template units of cheek below the lower lid that follow its margin
JAW_MIN_LEVER = 0.6     # template units; see FaceModel._jaw


# --- exact, portable arithmetic ---------------------------------------------------------------

_TRIG_MAX = 3.5  # rad; the series below is exact to double precision up to here


def _sin(x: float) -> float:
    """sin for |x| <= 3.5 rad by its Taylor series in plain float arithmetic (libm and numpy's
    SIMD kernels may differ in the last bit between CPUs; this does not)."""
    if abs(x) > _TRIG_MAX:
        raise ValueError(f"angle {x} rad out of the supported range (|x| <= {_TRIG_MAX})")
    x2, term, total = x * x, x, x
    for n in range(1, 24):
        term *= -x2 / ((2 * n) * (2 * n + 1))
        total += term
    return total


def _cos(x: float) -> float:
    """cos for |x| <= 3.5 rad, as ``_sin``."""
    if abs(x) > _TRIG_MAX:
        raise ValueError(f"angle {x} rad out of the supported range (|x| <= {_TRIG_MAX})")
    x2, term, total = x * x, 1.0, 1.0
    for n in range(1, 24):
        term *= -x2 / ((2 * n - 1) * (2 * n))
        total += term
    return total


def _smoothstep(u):
    """0 below 0, 1 above 1, 3u^2 - 2u^3 between (scalar or array): ease-in/ease-out."""
    u = np.clip(u, 0.0, 1.0)
    return u * u * (3.0 - 2.0 * u)


def _len(dx, dy):
    """sqrt(dx^2 + dy^2), elementwise, exactly rounded (libm's hypot may differ by CPU)."""
    return np.sqrt(dx * dx + dy * dy)


def _kernel(dist, radius: float):
    """Compact smooth falloff (1 - (d/r)^2)^3, 1 at d = 0, 0 (with zero slope) from d = r."""
    q = np.clip(1.0 - (np.asarray(dist, np.float64) / radius) ** 2, 0.0, 1.0)
    return q * q * q


def _rotation(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """3x3 rotation R = R_roll R_yaw R_pitch in template axes (x right, y down, z away)."""
    d = math.pi / 180.0
    cy, sy = _cos(yaw_deg * d), _sin(yaw_deg * d)
    cp, sp = _cos(pitch_deg * d), _sin(pitch_deg * d)
    cr, sr = _cos(roll_deg * d), _sin(roll_deg * d)
    yaw = np.array([[cy, 0.0, -sy], [0.0, 1.0, 0.0], [sy, 0.0, cy]])
    pitch = np.array([[1.0, 0.0, 0.0], [0.0, cp, -sp], [0.0, sp, cp]])
    roll = np.array([[cr, -sr, 0.0], [sr, cr, 0.0], [0.0, 0.0, 1.0]])
    return _matmul3(roll, _matmul3(yaw, pitch))


def _matmul3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b for 3x3, summed in a fixed order (no BLAS)."""
    return (a[:, :, None] * b[None, :, :]).sum(axis=1)


def _apply3(m: np.ndarray, p: np.ndarray) -> np.ndarray:
    """(N, 3) points times m^T, summed in a fixed order (no BLAS)."""
    return p[:, 0:1] * m[:, 0] + p[:, 1:2] * m[:, 1] + p[:, 2:3] * m[:, 2]


# --- the template ------------------------------------------------------------------------------

def normalise_points(points: np.ndarray) -> np.ndarray:
    """(478, 3) pixel-scale points -> template units: origin between the eye centres, the eye
    centres on the x axis one unit apart (roll removed), z relative to the eye corners."""
    points = np.asarray(points, np.float64)
    if points.shape != (lm.N_LANDMARKS, 3):
        raise ValueError(f"`points` must be ({lm.N_LANDMARKS}, 3); got {points.shape}")
    right = points[lm.RIGHT_EYE].mean(axis=0)
    left = points[lm.LEFT_EYE].mean(axis=0)
    d = left - right
    iod = math.sqrt(d[0] * d[0] + d[1] * d[1])
    c, s = d[0] / iod, d[1] / iod  # rotate by -roll
    q = points - 0.5 * (left + right)
    out = np.stack([c * q[:, 0] + s * q[:, 1], -s * q[:, 0] + c * q[:, 1], q[:, 2]], axis=1) / iod
    out[:, 2] -= out[[33, 133, 362, 263], 2].mean()
    return out


def measure_template(image: np.ndarray) -> np.ndarray:
    """Run MediaPipe face mesh (static image, iris refined) on ``image`` (H, W, 3) uint8 RGB
    and return its (478, 3) float64 points in template units (``normalise_points``).

    Used once to make ``face_template.json`` from the sample portrait; pack generation never
    calls it.
    """
    mp = lm._import_mediapipe()
    h, w = image.shape[:2]
    with lm._quiet_stderr():
        with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1,
                                             refine_landmarks=True,
                                             min_detection_confidence=0.5) as mesh:
            result = mesh.process(np.ascontiguousarray(image))
    if not result.multi_face_landmarks:
        raise InputError("no face found for the template")
    # MediaPipe's z is in the same normalised units as x (image widths).
    pts = np.array([(p.x * w, p.y * h, p.z * w)
                    for p in result.multi_face_landmarks[0].landmark], np.float64)
    return normalise_points(pts)


def save_template(points: np.ndarray, path: str | Path = TEMPLATE_PATH, *,
                  source: str) -> Path:
    """Write (478, 3) template points to a JSON file (rounded to 1e-5 units)."""
    points = np.asarray(points, np.float64)
    if points.shape != (lm.N_LANDMARKS, 3):
        raise ValueError(f"`points` must be ({lm.N_LANDMARKS}, 3); got {points.shape}")
    doc = {
        "format": "reactive-portraits/face-template", "version": 1, "source": source,
        "units": "x right, y down, z away from the camera; origin between the eye centres; "
                 "1 = inter-ocular distance (eye-ring centres); roll removed",
        "made_by": "precompute.synth.measure_template (MediaPipe face mesh 0.10.21, static "
                   "image mode, refine_landmarks=True)",
        "points": [[round(float(v), 5) for v in p] for p in points],
    }
    path = Path(path)
    path.write_text(json.dumps(doc, indent=None, separators=(",", ":")) + "\n")
    return path


def load_template(path: str | Path = TEMPLATE_PATH) -> np.ndarray:
    """The measured template, (478, 3) float64 in template units."""
    doc = json.loads(Path(path).read_text())
    pts = np.array(doc["points"], np.float64)
    if pts.shape != (lm.N_LANDMARKS, 3) or not np.isfinite(pts).all():
        raise ValueError(f"{path}: template must hold {lm.N_LANDMARKS} x 3 finite numbers")
    return pts


def mirror_pairs(points: np.ndarray) -> np.ndarray:
    """(478,) int: the index of each point's left-right mirror image (itself on the midline).

    Found by optimal assignment between the points and their reflection x -> -x; the result
    is checked to be an involution (a point's mirror's mirror is the point).
    """
    from scipy.optimize import linear_sum_assignment

    refl = points * np.array([-1.0, 1.0, 1.0])
    cost = ((points[:, None, :] - refl[None, :, :]) ** 2).sum(axis=2)
    _, pairs = linear_sum_assignment(cost)
    if not np.array_equal(pairs[pairs], np.arange(len(points))):
        raise ValueError("template is too asymmetric to pair its points left-right")
    return pairs.astype(np.int64)


def symmetrize(points: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Average each point with the reflection of its mirror: an exactly symmetric face."""
    return 0.5 * (points + points[pairs] * np.array([-1.0, 1.0, 1.0]))


def lower_lip_points(points: np.ndarray) -> np.ndarray:
    """(478,) bool: the lower lip (below the lip seam, inside the outer lip contour).

    Decided on a face with the mouth a little open, where the two inner lips are apart.
    """
    seam_x = points[UPPER_INNER, 0]
    seam_y = 0.5 * (points[UPPER_INNER, 1] + points[LOWER_INNER, 1])
    order = np.argsort(seam_x)
    corners = points[[78, 308]]
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


# --- the model ---------------------------------------------------------------------------------

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
        self.corner_x = 0.5 * (self.rest[291, 0] - self.rest[61, 0])
        self.nose_base_y = float(self.rest[2, 1])
        brow = np.concatenate([lm.LEFT_BROW, lm.RIGHT_BROW])
        self.brow_y = float(self.rest[brow, 1].mean())
        self.forehead_top_y = float(self.rest[10, 1])   # the mesh's top, below the hair
        self.chin_y = float(self.rest[152, 1])
        side = (self.rest[234] + self.rest[454] * np.array([-1.0, 1.0, 1.0])) * 0.5
        # Jaw joint (TMJ): just in front of the ear, a little below the cheek's widest point.
        self.jaw_pivot = np.array([0.0, side[1] + 0.2, side[2] - 0.05])
        # Head/neck pivot: upper cervical spine, behind the mouth's level.
        self.neck_pivot = np.array([0.0, 0.55 * self.chin_y, side[2] + 0.1])
        mouth_zone = (np.abs(x) < self.corner_x + 0.05) & (y > self.nose_base_y + 0.05) & \
            (y < self.rest[17, 1] + 0.02)
        self.upper_lip = mouth_zone & ~lower_lip & (y < self.rest[13, 1] + 0.005)
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
        from scipy.spatial import cKDTree

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
        ids = [78] + UPPER_INNER + [308]
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
        yc = float(self.rest[[61, 291], 1].mean())
        xj, yj = abs(float(self.rest[234, 0])) * 0.95, float(self.jaw_pivot[1])
        line = np.where(ax <= xc, self._seam(x), yc + (ax - xc) * (yj - yc) / (xj - xc))
        band = 0.06 + 0.5 * np.maximum(ax - xc, 0.0)
        w = _smoothstep((y - line) / band + 0.5)
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
            lateral = 1.0 - _smoothstep((np.maximum(xs[0] - x, x - xs[-1])) / 0.12)
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
        out = _smoothstep(u / reach)
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
            k = _kernel(x - sign * at_x, p.brow_reach)
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
            return _kernel(_len(x - c[0], (y - c[1]) * 1.3), 0.4) * (np.sign(x) == sign)

        k = self._per_side(side) * gate
        out = np.zeros_like(r)
        out[:, 1] = p.brow_lower * k
        out[:, 0] = -np.sign(x) * p.brow_knit * k
        # The nose root is pulled down a little with the brows (procerus).
        out[:, 1] += 0.3 * p.brow_lower * _kernel(_len(x, y - self.brow_y), 0.3) * gate
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
        below_eyes = _smoothstep((y - 0.04) / 0.12)

        def side(sign):
            k = _kernel(_len(x - sign * 0.6, (y - 0.28)), 0.5)
            crow = _kernel(_len(x - sign * 0.86, y - 0.02), 0.22)
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
            return _kernel(_len(x - sign * 0.25, (y - 0.5) * 0.8), 0.3)

        nose = self._per_side(side) + 0.3 * _kernel(_len(x, y - 0.15), 0.25)
        out[:, 1] -= p.nose_wrinkle * np.clip(nose, 0, 1)
        # Upper lip lifted a little at its centre, inner brows drawn down (procerus).
        prof = np.clip(1.0 - (x / self.corner_x) ** 2, 0.0, 1.0)
        up = _kernel(np.maximum(y - self.rest[0, 1], 0.0), 0.3) * prof \
            * _smoothstep((y - self.nose_base_y) / 0.1)
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
        for sign, corner in ((-1.0, 61), (1.0, 291)):
            c = r[corner]
            d = _len(r[:, 0] - c[0], (r[:, 1] - c[1]) * 1.15)
            k = _kernel(d, reach)
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
        chin = _kernel(_len(x, (y - (self.chin_y - 0.25)) * 0.9), 0.5) * ramp
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
        out[:, 1] += np.where(near, -(y - seam) * p.lip_press * _kernel(d, 0.25), 0.0)
        out[lm.N_MESH:] = 0.0
        return out

    def _au25(self):
        p, r = self.p, self.rest
        x, y = r[:, 0], r[:, 1]
        prof = np.sqrt(np.clip(1.0 - (x / self.corner_x) ** 2, 0.0, 1.0))
        out = np.zeros_like(r)
        below = self.jaw_weight * _kernel(np.maximum(y - self._seam(x), 0.0), 0.5)
        out[:, 1] += p.lips_part * prof * np.where(self.lower_lip, 1.0, 0.5 * below)
        above = _kernel(np.maximum(self._seam(x) - y, 0.0), 0.25)
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
        c, s = _cos(a), _sin(a)
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
        rot = _rotation(follow * yaw, follow * pitch, follow * roll)
        depth = np.array([1.0, 1.0, self.p.pose_depth])
        out = _apply3(rot, (points - self.neck_pivot) * depth) / depth + self.neck_pivot
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
        if s[14, 1] - s[13, 1] > 0.0:
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
        gx = np.concatenate([[pts[78, 0]], xs[order], [pts[308, 0]]])
        move[:, c] = np.interp(pts[:, 0], gx, g)
    below = np.clip(1.0 - (pts[:, 1] - pts[14, 1]) / 0.2, 0.0, 1.0)
    move *= (lower * below)[:, None]
    move[LOWER_INNER] = gap
    pts = pts + move
    # 3. Relax the smile: AU12 backwards until the mouth is a neutral width.
    model = FaceModel(pts, lower, params)
    width = pts[291, 0] - pts[61, 0]
    per_unit = model.linear["AU12"][291, 0] - model.linear["AU12"][61, 0]
    pts = pts + ((NEUTRAL_MOUTH_WIDTH - width) / per_unit) * model.linear["AU12"]
    return symmetrize(pts, pairs), lower


# Mouth width over inter-ocular distance of a relaxed mouth (0.76 and 0.77 in the project's
# two tracked test drivers' neutral frames).
NEUTRAL_MOUTH_WIDTH = 0.80


# --- driver frame, peripheral points -----------------------------------------------------------

@dataclass(frozen=True)
class SynthParams:
    """How the synthetic driver is filmed, and its frame rate."""

    fps: float = 30.0
    frame_size: tuple[int, int] = (512, 512)      # (width, height), like the test drivers
    px_per_unit: float = 100.0                     # face ~213 px from cheek to cheek
    eye_centre_px: tuple[float, float] = (256.0, 192.0)  # face centred a bit above the middle
    # Stored coordinates are rounded to this (exact in float32; compresses well).
    quantum_px: float = 1.0 / 32.0
    model: ModelParams = field(default_factory=ModelParams)


def _peripheral_points() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points outside the face a tracker would find: hair around the head, the ears, the
    neck and the shoulders. Returns (P, 3) template-unit positions, (P,) how much of the
    head's rotation each follows, (P,) how much of the breathing lift."""
    pts, follow, breath = [], [], []

    def add(x, y, z, f, b):
        pts.append((x, y, z))
        follow.append(f)
        breath.append(b)

    # Hair: an outer arc over the head and an inner one just outside the forehead. Depths
    # are those of the hair's surface near the face contour, so a turning head carries them
    # along with the cheeks instead of shearing the band in between.
    for k in range(11):
        a = (-12.0 + 204.0 * k / 10) * math.pi / 180.0
        add(1.40 * _cos(a), 0.20 - 1.52 * _sin(a), 0.45, 1.0, 1.0)
    for k in range(7):
        a = (20.0 + 140.0 * k / 6) * math.pi / 180.0
        add(1.22 * _cos(a), 0.12 - 1.22 * _sin(a), 0.3, 1.0, 1.0)
    for s in (-1.0, 1.0):
        add(s * 1.22, 0.40, 0.6, 1.0, 1.0)            # ears
        add(s * 1.12, 0.85, 0.6, 1.0, 1.0)            # behind the jaw angle
        add(s * 0.95, 1.70, 0.8, 0.6, 1.5)            # upper neck, sides
        add(s * 0.62, 2.15, 0.6, 0.4, 2.0)            # neck
        add(s * 0.75, 2.60, 0.6, 0.2, 3.0)            # neck base
        add(s * 1.25, 2.70, 0.7, 0.08, 3.5)           # shoulders
        add(s * 1.75, 2.78, 0.7, 0.05, 3.5)
        add(s * 2.15, 2.62, 0.8, 0.05, 3.5)
    add(0.0, 2.20, 0.2, 0.4, 2.0)                     # front of the neck, under the chin
    add(0.0, 2.72, 0.3, 0.15, 3.0)                    # collar
    return np.array(pts), np.array(follow), np.array(breath)


def project(points: np.ndarray, params: SynthParams) -> np.ndarray:
    """(N, 3) template units -> (N, 2) float64 driver-frame pixels (orthographic)."""
    cx, cy = params.eye_centre_px
    return np.stack([cx + params.px_per_unit * points[:, 0],
                     cy + params.px_per_unit * points[:, 1]], axis=1)


def _quantize(px: np.ndarray, params: SynthParams) -> np.ndarray:
    q = params.quantum_px
    return (np.round(px / q) * q).astype(np.float32)


# --- keyframed curves --------------------------------------------------------------------------

@dataclass(frozen=True)
class Track:
    """A keyframed curve: ``keys`` (time_s, value) with increasing times; between keys the
    value eases in and out (smoothstep), or with ``spline`` follows a smooth cubic through
    the keys (zero slope at the first and last key). Constant outside the keys."""

    keys: tuple[tuple[float, float], ...]
    spline: bool = False

    def __post_init__(self):
        times = [k[0] for k in self.keys]
        if len(times) < 1 or any(b <= a for a, b in zip(times, times[1:])):
            raise ValueError(f"`keys` must have increasing times; got {times}")

    def __call__(self, t: float) -> float:
        keys = self.keys
        if t <= keys[0][0]:
            return float(keys[0][1])
        if t >= keys[-1][0]:
            return float(keys[-1][1])
        i = 0
        while keys[i + 1][0] < t:
            i += 1
        (t0, v0), (t1, v1) = keys[i], keys[i + 1]
        h = t1 - t0
        u = (t - t0) / h
        if not self.spline:
            return float(v0 + (v1 - v0) * _smoothstep(u))

        def slope(j):
            if j == 0 or j == len(keys) - 1:
                return 0.0
            return (keys[j + 1][1] - keys[j - 1][1]) / (keys[j + 1][0] - keys[j - 1][0])

        m0, m1 = slope(i) * h, slope(i + 1) * h
        u2, u3 = u * u, u * u * u
        return float((2 * u3 - 3 * u2 + 1) * v0 + (u3 - 2 * u2 + u) * m0
                     + (-2 * u3 + 3 * u2) * v1 + (u3 - u2) * m1)


def pulse(start: float, rise: float, hold: float, fall: float, peak: float = 1.0) -> Track:
    """0 -> ``peak`` over ``rise`` s from ``start``, held ``hold`` s, back to 0 over ``fall``."""
    return Track(((start, 0.0), (start + rise, peak), (start + rise + hold, peak),
                  (start + rise + hold + fall, 0.0)))


def blink(start: float, peak: float = 1.0) -> Track:
    """A blink: the lid falls fast (~90 ms), rests, and rises more slowly (~170 ms)."""
    return pulse(start, 0.09, 0.04, 0.17, peak)


@dataclass
class Clip:
    """A clip script: per channel, tracks whose values add up."""

    name: str
    duration_s: float
    role: str
    loop: bool
    tracks: dict[str, list[Track]]

    def values(self, t: float) -> dict[str, float]:
        return {ch: sum(tr(t) for tr in trs) for ch, trs in self.tracks.items()}


def _sway(rng: np.random.Generator, duration: float, amp_deg: float, step_s: float) -> Track:
    """Slow random head drift: spline through random keys, 0 at both ends."""
    n = max(2, int(round(duration / step_s)))
    times = [duration * k / n for k in range(n + 1)]
    vals = [0.0] + [float(rng.uniform(-amp_deg, amp_deg)) for _ in range(n - 1)] + [0.0]
    return Track(tuple(zip(times, vals)), spline=True)


def idle_blink_times(rng: np.random.Generator, duration: float, *, min_gap: float = 2.0,
                     max_gap: float = 6.0, margin: float = 0.6) -> list[float]:
    """Blink start times in a loop of ``duration`` s: every gap, the one across the loop
    point included, within [min_gap, max_gap]; none within ``margin`` s of the loop point."""
    for _ in range(1000):
        n = int(rng.integers(int(math.ceil(duration / max_gap)),
                             int(duration // min_gap) + 1))
        gaps = rng.uniform(min_gap + 0.3, max_gap - 0.3, size=n)
        gaps *= duration / gaps.sum()
        if gaps.min() < min_gap + 0.2 or gaps.max() > max_gap - 0.2:
            continue
        wrap = float(gaps[-1])
        first = float(rng.uniform(margin, wrap - margin - 0.3))
        return [first + float(g) for g in np.concatenate([[0.0], np.cumsum(gaps[:-1])])]
    raise RuntimeError("could not place blinks")  # unreachable for sensible durations


def clip_idle(rng: np.random.Generator) -> Clip:
    """Breathing (4 s cycles), a slow small sway, blinks every 2-6 s, two small glances.
    12 s, a seamless loop: frame 0 and the last frame are the same (neutral) face."""
    dur = 12.0
    tracks: dict[str, list[Track]] = {}
    breath = [(0.0, 0.0)]
    for k in range(3):
        breath += [(4.0 * k + 1.6, float(rng.uniform(0.8, 1.0))), (4.0 * k + 4.0, 0.0)]
    tracks["breath"] = [Track(tuple(breath))]
    tracks["yaw"] = [_sway(rng, dur, 1.5, 3.0)]
    tracks["pitch"] = [_sway(rng, dur, 1.0, 4.0)]
    tracks["roll"] = [_sway(rng, dur, 1.0, 3.0)]
    blinks = idle_blink_times(rng, dur)
    tracks["AU45"] = [blink(t) for t in blinks]
    # Glances: away from the blinks, a quick saccade out, a rest, a saccade back.
    gx, gy = [], []
    busy = [(b - 0.3, b + 0.5) for b in blinks]
    for _ in range(2):
        for _attempt in range(200):
            start = float(rng.uniform(0.8, dur - 2.4))
            hold = float(rng.uniform(0.6, 1.2))
            span = (start - 0.2, start + hold + 0.4)
            if all(span[1] < a or span[0] > b for a, b in busy):
                break
        busy.append(span)
        x = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.35, 0.6))
        y = float(rng.uniform(-0.3, 0.5))
        gx.append(pulse(start, 0.08, hold, 0.1, x))
        gy.append(pulse(start, 0.08, hold, 0.1, y))
    tracks["gaze_x"], tracks["gaze_y"] = gx, gy
    return Clip("idle", dur, "idle", True, tracks)


def clip_blink(rng: np.random.Generator) -> Clip:
    return Clip("blink", 1.0, "emotion", False, {"AU45": [blink(0.3)]})


def clip_wink(rng: np.random.Generator) -> Clip:
    """The subject's left eye closes (the image's right), the cheek rises a little with it,
    the head tips towards it, a hint of a smile."""
    t = {"AU46L": [pulse(0.3, 0.15, 0.35, 0.2, 1.0)],
         "AU6": [pulse(0.3, 0.2, 0.3, 0.3, 0.4)],
         "AU12": [pulse(0.25, 0.3, 0.4, 0.4, 0.4)],
         "roll": [pulse(0.25, 0.3, 0.4, 0.4, 3.0)]}
    return Clip("wink", 1.6, "emotion", False, t)


def clip_smile(rng: np.random.Generator) -> Clip:
    t = {"AU12": [pulse(0.3, 0.7, 1.1, 0.8, 1.0)],
         "AU6": [pulse(0.4, 0.7, 1.0, 0.8, 0.8)],
         "AU25": [pulse(0.45, 0.6, 0.9, 0.7, 0.5)],
         "AU26": [pulse(0.45, 0.6, 0.9, 0.7, 0.08)],
         "roll": [pulse(0.3, 0.9, 0.9, 0.8, 2.5)],
         "pitch": [pulse(0.3, 0.9, 0.9, 0.8, -2.0)],
         "yaw": [_sway(rng, 3.0, 1.0, 1.0)]}
    return Clip("smile", 3.0, "emotion", False, t)


def clip_laugh(rng: np.random.Generator) -> Clip:
    """An open-mouthed laugh: the jaw bounces ("ha-ha-ha"), the head tips back."""
    jaw = [(0.0, 0.0), (0.3, 0.0), (0.7, 0.75)]
    t, k = 0.7, 0
    while t < 2.2:
        t += 0.11
        jaw.append((t, 0.45 if k % 2 == 0 else 0.85))
        k += 1
    jaw += [(t + 0.2, 0.7), (t + 1.0, 0.0)]
    pitch = [(0.0, 0.0), (0.3, 0.0), (0.9, -8.0), (1.5, -6.5), (2.1, -8.0), (t + 1.0, 0.0)]
    tr = {"AU12": [pulse(0.25, 0.5, 1.9, 0.9, 1.0)],
          "AU6": [pulse(0.3, 0.5, 1.8, 0.9, 1.0)],
          "AU7": [pulse(0.3, 0.5, 1.8, 0.9, 0.4)],
          "AU25": [pulse(0.3, 0.4, 1.9, 0.9, 1.0)],
          "AU26": [Track(tuple(jaw))],
          "AU1": [pulse(0.4, 0.5, 1.6, 0.8, 0.25)],
          "AU2": [pulse(0.4, 0.5, 1.6, 0.8, 0.2)],
          "pitch": [Track(tuple(pitch))],
          "roll": [pulse(0.3, 0.8, 1.5, 0.9, -3.0)],
          "yaw": [_sway(rng, 3.6, 1.5, 0.9)]}
    return Clip("laugh", 3.6, "emotion", False, tr)


def clip_surprise(rng: np.random.Generator) -> Clip:
    t = {"AU1": [pulse(0.3, 0.25, 1.3, 0.8, 1.0)],
         "AU2": [pulse(0.3, 0.25, 1.3, 0.8, 1.0)],
         "AU5": [pulse(0.3, 0.2, 1.2, 0.7, 1.0)],
         "AU25": [pulse(0.35, 0.25, 1.2, 0.8, 1.0)],
         "AU26": [pulse(0.35, 0.3, 1.2, 0.8, 0.9)],
         "AU27": [pulse(0.4, 0.3, 1.0, 0.8, 0.3)],
         "pitch": [pulse(0.3, 0.35, 1.2, 0.9, -3.0)],
         "yaw": [_sway(rng, 3.0, 0.8, 1.0)]}
    return Clip("surprise", 3.0, "emotion", False, t)


def clip_sad(rng: np.random.Generator) -> Clip:
    t = {"AU1": [pulse(0.3, 0.9, 1.3, 1.0, 0.9)],
         "AU4": [pulse(0.3, 0.9, 1.3, 1.0, 0.45)],
         "AU15": [pulse(0.4, 0.9, 1.2, 1.0, 1.0)],
         "AU17": [pulse(0.5, 0.8, 1.1, 1.0, 0.7)],
         "AU43": [pulse(0.4, 0.9, 1.2, 1.0, 0.3)],
         "gaze_y": [pulse(0.5, 0.6, 1.3, 1.0, 0.6)],
         "pitch": [pulse(0.3, 1.0, 1.2, 1.0, 6.0)],
         "roll": [pulse(0.3, 1.0, 1.2, 1.0, -2.0)],
         "AU45": [blink(1.9)]}
    return Clip("sad", 3.6, "emotion", False, t)


def clip_angry(rng: np.random.Generator) -> Clip:
    t = {"AU4": [pulse(0.3, 0.35, 1.4, 0.8, 1.0)],
         "AU5": [pulse(0.35, 0.3, 1.4, 0.8, 0.4)],
         "AU7": [pulse(0.3, 0.35, 1.4, 0.8, 0.8)],
         "AU9": [pulse(0.35, 0.35, 1.3, 0.8, 0.35)],
         "AU24": [pulse(0.35, 0.35, 1.3, 0.8, 0.9)],
         "AU17": [pulse(0.35, 0.35, 1.3, 0.8, 0.4)],
         "pitch": [pulse(0.3, 0.4, 1.4, 0.8, 3.5)],
         "yaw": [_sway(rng, 3.0, 1.0, 1.0)]}
    return Clip("angry", 3.0, "emotion", False, t)


def clip_nod(rng: np.random.Generator) -> Clip:
    pitch = Track(((0.0, 0.0), (0.2, 0.0), (0.55, 9.0), (0.9, -2.0), (1.25, 7.0), (1.6, -1.0),
                   (2.2, 0.0)), spline=True)
    t = {"pitch": [pitch], "AU12": [pulse(0.2, 0.4, 1.1, 0.5, 0.25)], "AU45": [blink(0.45)]}
    return Clip("nod", 2.5, "emotion", False, t)


def _clip_look(name: str, sign: float) -> Callable[[np.random.Generator], Clip]:
    def make(rng: np.random.Generator) -> Clip:
        # The eyes lead, the head follows and the eyes re-centre part way; back the same.
        gaze = Track(((0.0, 0.0), (0.25, 0.0), (0.37, sign * 0.9), (1.0, sign * 0.45),
                      (1.8, sign * 0.45), (1.92, 0.0), (3.0, 0.0)))
        # 7 degrees: more foreshortens the far cheek into a band the 2D warp shows as a
        # jagged contour on small faces.
        yaw = Track(((0.0, 0.0), (0.32, 0.0), (1.05, sign * 7.0), (1.8, sign * 7.0),
                     (2.6, 0.0)))
        t = {"gaze_x": [gaze], "yaw": [yaw], "pitch": [pulse(0.32, 0.7, 0.8, 0.8, -1.0)]}
        return Clip(name, 3.0, "emotion", False, t)
    make.__doc__ = f"Eyes then head turn towards the image's {name.split('_')[1]}, and back."
    return make


CLIPS: dict[str, Callable[[np.random.Generator], Clip]] = {
    "idle": clip_idle, "blink": clip_blink, "smile": clip_smile, "laugh": clip_laugh,
    "surprise": clip_surprise, "sad": clip_sad, "angry": clip_angry, "nod": clip_nod,
    "look_left": _clip_look("look_left", -1.0), "look_right": _clip_look("look_right", 1.0),
    "wink": clip_wink,  # last: a clip's seed follows its place here
}


# --- mouth crops -------------------------------------------------------------------------------

SUPERSAMPLE = 4          # drawn at 4x, then box-averaged: antialiased edges
_SUB_BITS = 4            # polygon vertices at 1/16 of a supersampled pixel
# The player Poisson-blends the crop in log space: the photo's skin times (crop / crop skin).
# So what matters are ratios to the skin: teeth a little brighter than the skin in every
# channel alike take the photo's own hue (no blue teeth on pale photos, no green ones on a
# yellowed varnish) and do not glow.
SKIN_RGB = (196.0, 156.0, 138.0)
LIP_RGB = (178.0, 100.0, 98.0)
CAVITY_RGB = (62.0, 28.0, 32.0)
TONGUE_RGB = (150.0, 78.0, 84.0)
TEETH_RGB = (214.0, 176.0, 158.0)  # skin x (1.09, 1.13, 1.14)


def _fill(shape: tuple[int, int], polys: list[np.ndarray]) -> np.ndarray:
    """(h, w) float64 0/1 mask of polygons given in supersampled pixel coordinates."""
    mask = np.zeros(shape, np.uint8)
    pts = [np.round(p * (1 << _SUB_BITS)).astype(np.int32).reshape(-1, 1, 2) for p in polys]
    cv2.fillPoly(mask, pts, 1, lineType=cv2.LINE_8, shift=_SUB_BITS)
    return mask.astype(np.float64)


def _curve(points: np.ndarray, xq: np.ndarray) -> np.ndarray:
    """y of the polyline ``points`` (N, 2) at ``xq`` (sorted by x first)."""
    order = np.argsort(points[:, 0], kind="stable")
    return np.interp(xq, points[order, 0], points[order, 1])


def _window(shape: tuple[int, int], pts: np.ndarray, pad: float) -> tuple[slice, slice]:
    """Rows and columns of ``shape`` covering ``pts`` (N, 2) (x, y) grown by ``pad``."""
    x0 = max(int(np.floor(pts[:, 0].min() - pad)), 0)
    x1 = min(int(np.ceil(pts[:, 0].max() + pad)) + 1, shape[1])
    y0 = max(int(np.floor(pts[:, 1].min() - pad)), 0)
    y1 = min(int(np.ceil(pts[:, 1].max() + pad)) + 1, shape[0])
    return slice(y0, max(y1, y0)), slice(x0, max(x1, x0))


def draw_mouth(points: np.ndarray, *, teeth: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """A plausible mouth for driver-frame landmarks ``points`` (478, 2) float32.

    Returns the (64, 96, 3) uint8 RGB crop and the (2, 3) float32 affine frame -> crop, the
    same geometry ``mouth.mouth_crop`` computes from these landmarks. Skin around, lips, and
    inside the inner lips a dark cavity (darker up and at the corners), a tongue low and,
    with ``teeth``, the upper teeth just under the upper lip.
    """
    h, w = CROP_SIZE
    _, affine = mouth_crop(np.zeros((2, 2, 3), np.uint8), points)
    a = affine.astype(np.float64)
    p = points.astype(np.float64)
    q = np.stack([a[0, 0] * p[:, 0] + a[0, 2], a[1, 1] * p[:, 1] + a[1, 2]], axis=1)
    ss = SUPERSAMPLE
    # Supersampled coordinates: crop pixel centre u sits at ss * u + (ss - 1) / 2.
    qs = q * ss + (ss - 1) / 2.0
    H, W = h * ss, w * ss
    mouth_w = float(_len(*(qs[291] - qs[61])))
    cx = 0.5 * (qs[61, 0] + qs[291, 0])
    img = np.empty((H, W, 3))
    img[:] = SKIN_RGB

    def grid(win):
        ys, xs = win
        return np.mgrid[ys, xs].astype(np.float64)

    # Skin: a little shade under the lower lip (the mentolabial fold).
    below = np.array([[cx, qs[17, 1] + 0.06 * mouth_w]])
    r = 0.25 * mouth_w
    win = _window((H, W), below, 1.6 * r + 1)
    yy, xx = grid(win)
    img[win] *= (1.0 - 0.10 * _kernel(_len((xx - cx) / 1.6, yy - below[0, 1]), r))[..., None]

    # Lips: the upper one a little darker (it faces down), a highlight on the lower one.
    upper_poly = np.concatenate([qs[lm.LIPS_OUTER[:11]], qs[lm.LIPS_INNER[10::-1]]])
    lower_poly = np.concatenate([qs[lm.LIPS_OUTER[10:]], qs[[61]], qs[[78]],
                                 qs[lm.LIPS_INNER[:9:-1]], qs[[308]]])
    win = _window((H, W), qs[lm.LIPS_OUTER], 2)
    sub = img[win]
    origin = np.array([win[1].start, win[0].start], np.float64)
    shape = sub.shape[:2]
    lower_mask = _fill(shape, [lower_poly - origin])
    for mask, gain in ((_fill(shape, [upper_poly - origin]), 0.86), (lower_mask, 1.0)):
        sub += mask[..., None] * (np.array(LIP_RGB) * gain - sub)
    yy, xx = grid(win)
    hl = _kernel(_len((xx - cx) / 2.2, yy - (qs[14, 1] + 0.1 * mouth_w)), 0.1 * mouth_w)
    sub *= (1.0 + 0.10 * hl * lower_mask)[..., None]

    # The opening: cavity, tongue, teeth, all inside the inner lips.
    inner = qs[lm.LIPS_INNER]
    win = _window((H, W), inner, 2)
    sub = img[win]
    origin = np.array([win[1].start, win[0].start], np.float64)
    cavity = _fill(sub.shape[:2], [inner - origin])
    if cavity.any():
        yy, xx = grid(win)
        top = _curve(qs[[78] + UPPER_INNER + [308]], xx[0])[None, :]
        bot = _curve(qs[[78] + LOWER_INNER + [308]], xx[0])[None, :]
        open_px = max(float(qs[14, 1] - qs[13, 1]), 0.0)
        gap = np.maximum(bot - top, 1e-6)
        v = np.clip((yy - top) / gap, 0.0, 1.0)   # 0 under the upper lip, 1 on the lower
        side = np.clip(np.abs(xx - cx) / (0.5 * mouth_w), 0.0, 1.0)
        col = np.empty(sub.shape)
        col[:] = CAVITY_RGB
        col *= ((0.55 + 0.45 * v) * (1.0 - 0.45 * side * side))[..., None]
        # Tongue: a low, wide mound.
        t_cy = qs[14, 1] + 0.05 * open_px
        t_rx, t_ry = 0.30 * mouth_w, max(0.42 * open_px, 1.0)
        tongue = np.clip(1.0 - ((xx - cx) / t_rx) ** 2 - ((yy - t_cy) / t_ry) ** 2, 0.0, 1.0)
        tongue = np.clip(tongue * 4.0, 0.0, 1.0) * _smoothstep(open_px / (0.08 * mouth_w))
        t_col = np.array(TONGUE_RGB)[None, None, :] * (0.7 + 0.3 * (1.0 - v))[..., None]
        col += tongue[..., None] * (t_col - col)
        if teeth:
            span = 0.36 * mouth_w
            dx = (xx - cx) / span
            tooth_h = 0.11 * mouth_w * (1.0 - 0.35 * dx * dx)
            band = (np.abs(dx) <= 1.0) & (yy >= top - 0.5) & (yy <= top + tooth_h)
            edge = np.clip((top + tooth_h - yy) / 1.5, 0.0, 1.0)   # soft biting edge
            tooth = band * edge * _smoothstep((1.0 - np.abs(dx)) / 0.15) \
                * _smoothstep(open_px / (0.04 * mouth_w))
            gain = (1.0 - 0.45 * dx * dx) * (0.78 + 0.22 * np.clip((yy - top) / 3.0, 0.0, 1.0))
            # Faint gaps between the incisors and canines.
            for g in (0.0, 0.3, 0.55, 0.78):
                for sgn in ((1.0,) if g == 0.0 else (-1.0, 1.0)):
                    gain *= 1.0 - 0.22 * _kernel(np.abs(dx - sgn * g) * span, 1.6)
            t_col = np.array(TEETH_RGB)[None, None, :] * gain[..., None]
            col += tooth[..., None] * (t_col - col)
        sub += cavity[..., None] * (col - sub)

    # Antialias (box average of the supersamples), then a light [1 2 1] blur.
    small = img.reshape(h, ss, w, ss, 3).mean(axis=(1, 3))
    pad = np.pad(small, ((1, 1), (1, 1), (0, 0)), mode="edge")
    small = (pad[:-2] + 2.0 * pad[1:-1] + pad[2:]) / 4.0
    small = (small[:, :-2] + 2.0 * small[:, 1:-1] + small[:, 2:]) / 4.0
    return np.clip(np.round(small), 0, 255).astype(np.uint8), affine


# --- expression ratio images (fine details, paper Sec. 6) -------------------------------------

RATIO_SCALE = 0.5        # ratio images at half the driver's resolution, as tracked packs
# Creases per action unit: polylines in template units (image-right half; mirrored), each
# with its darkening (log2 R on the crease line at intensity 1) and half-width. Soft and
# shallow: a crease is a shading, not a drawn line; it fades out towards both ends.
CREASES: dict[str, list[tuple[list[tuple[float, float]], float, float]]] = {
    # Nasolabial folds, from beside the nose's wing to past the mouth corner.
    "AU12": [([(0.30, 0.50), (0.40, 0.70), (0.49, 0.90), (0.53, 1.08)], -0.16, 0.06)],
    # Crow's feet, fanning out from the outer eye corner.
    "AU6": [([(0.80, -0.07), (0.96, -0.13)], -0.09, 0.03),
            ([(0.82, 0.01), (0.99, 0.02)], -0.09, 0.03),
            ([(0.80, 0.09), (0.94, 0.16)], -0.09, 0.03)],
    # Forehead lines: the brows' inner raisers crease the middle, the outer ones the sides.
    "AU1": [([(-0.05, y), (0.14, y + 0.01), (0.34, y + 0.04)], -0.08, 0.04)
            for y in (-0.45, -0.545, -0.635)],
    "AU2": [([(0.20, y + 0.02), (0.42, y + 0.05), (0.62, y + 0.11)], -0.08, 0.04)
            for y in (-0.45, -0.545, -0.635)],
    # Vertical lines between the brows, and a fold across the nose root.
    "AU4": [([(0.075, -0.34), (0.065, -0.21), (0.055, -0.10)], -0.13, 0.035),
            ([(-0.05, -0.02), (0.13, 0.0)], -0.07, 0.035)],
    # Wrinkles across the nose bridge.
    "AU9": [([(-0.03, y), (0.12, y + 0.02)], -0.08, 0.03) for y in (0.13, 0.21)],
}


def _segment_distance(px: np.ndarray, py: np.ndarray, a: tuple, b: tuple) -> np.ndarray:
    """Distance from points (px, py) to the segment a-b (template units)."""
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    t = np.clip(((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
    ex, ey = px - (ax + t * dx), py - (ay + t * dy)
    return np.sqrt(ex * ex + ey * ey)


def ratio_layout(model: FaceModel, params: SynthParams
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where the ratio images sit: ``ratio_box`` (4,) float32 [x0, y0, x1, y1] in the neutral
    frame's pixels (the face and forehead), and the template-unit (x, y) of each ratio pixel
    centre, two (h, w) float64 arrays."""
    neutral = project(model.rest, params)
    w, h = params.frame_size
    s = params.px_per_unit
    lo = neutral[:lm.N_MESH].min(axis=0) - 0.15 * s
    hi = neutral[:lm.N_MESH].max(axis=0) + 0.15 * s
    x0, y0 = max(float(np.floor(lo[0])), 0.0), max(float(np.floor(lo[1])), 0.0)
    x1, y1 = min(float(np.ceil(hi[0])), float(w)), min(float(np.ceil(hi[1])), float(h))
    rw, rh = int(round((x1 - x0) * RATIO_SCALE)), int(round((y1 - y0) * RATIO_SCALE))
    # Ratio pixel u covers frame pixels around x0 + (u + 0.5) / scale - 0.5 (as cv2.resize).
    us = x0 + (np.arange(rw) + 0.5) * ((x1 - x0) / rw) - 0.5
    vs = y0 + (np.arange(rh) + 0.5) * ((y1 - y0) / rh) - 0.5
    cx, cy = params.eye_centre_px
    tx, ty = np.meshgrid((us - cx) / s, (vs - cy) / s)
    return np.array([x0, y0, x1, y1], np.float32), tx, ty


def crease_maps(tx: np.ndarray, ty: np.ndarray) -> dict[str, np.ndarray]:
    """Per action unit, log2 R at intensity 1 on the ratio grid (template units ``tx``,
    ``ty``): darkening (1 - (d/w)^2)^2 across each crease line, tapering to 0 at its ends."""
    maps = {}
    for au, creases in CREASES.items():
        total = np.zeros_like(tx)
        for line, depth, width in creases:
            for sign in (-1.0, 1.0):
                pts = [(sign * x, y) for x, y in line]
                lengths = [float(_len(b[0] - a[0], b[1] - a[1])) for a, b in zip(pts, pts[1:])]
                d = np.full_like(tx, np.inf)
                along = np.zeros_like(tx)      # 0..1 along the line, of the nearest point
                start = 0.0
                for (a, b), seg in zip(zip(pts, pts[1:]), lengths):
                    ds = _segment_distance(tx, ty, a, b)
                    t = np.clip(((tx - a[0]) * (b[0] - a[0]) + (ty - a[1]) * (b[1] - a[1]))
                                / (seg * seg), 0.0, 1.0)
                    closer = ds < d
                    along = np.where(closer, (start + t * seg) / sum(lengths), along)
                    d = np.minimum(d, ds)
                    start += seg
                q = np.clip(1.0 - (d / width) ** 2, 0.0, 1.0)
                taper = np.clip(4.0 * along * (1.0 - along) * 1.6, 0.0, 1.0)
                total = np.minimum(total, depth * q * q * taper)
        maps[au] = total
    return maps


def encode_log_ratio(log2_r: np.ndarray) -> np.ndarray:
    """log2 R -> the pack's uint8 code 128 + 128 log2 R (``precompute.details`` encoding)."""
    return np.clip(np.round(128.0 + 128.0 * log2_r), 0, 255).astype(np.uint8)


# --- packs -------------------------------------------------------------------------------------

_MODELS: dict[tuple, FaceModel] = {}


def face_model(params: ModelParams = ModelParams(), template: str | Path = TEMPLATE_PATH
               ) -> FaceModel:
    """The model on the bundled template (built once per parameters)."""
    key = (params, str(template))
    if key not in _MODELS:
        neutral, lower = neutral_template(load_template(template), params)
        _MODELS[key] = FaceModel(neutral, lower, params)
    return _MODELS[key]


def clip_seed(name: str, seed: int) -> int:
    """Each clip draws from its own stream: ``seed`` + the clip's place in ``CLIPS``."""
    return int(seed) + list(CLIPS).index(name)


def synth_clip(name: str, *, seed: int = DEFAULT_SEED, teeth: bool = True,
               params: SynthParams = SynthParams()) -> ClipPack:
    """One built-in clip as a ClipPack (not written). ``name``: one of ``CLIPS``."""
    if name not in CLIPS:
        raise ValueError(f"`name` must be one of {list(CLIPS)}; got {name!r}")
    s = clip_seed(name, seed)
    clip = CLIPS[name](np.random.default_rng(s))
    model = face_model(params.model)
    periph3, follow, breath_gain = _peripheral_points()
    n = int(round(clip.duration_s * params.fps)) + 1
    landmarks = np.empty((n, lm.N_LANDMARKS, 2), np.float32)
    peripheral = np.empty((n, len(periph3), 2), np.float32)
    mouth = np.empty((n, *CROP_SIZE, 3), np.uint8)
    mouth_affine = np.empty((n, 2, 3), np.float32)
    ratio_box, tx, ty = ratio_layout(model, params)
    creases = crease_maps(tx, ty)
    ratio = np.empty((n, *tx.shape), np.uint8)
    for i in range(n):
        v = clip.values(i / params.fps)
        log2_r = np.zeros_like(tx)
        for au, layer in creases.items():
            if v.get(au, 0.0) > 0.0:
                log2_r += v[au] * layer
        ratio[i] = encode_log_ratio(log2_r)
        pose = {k: v.get(k, 0.0) for k in ("yaw", "pitch", "roll")}
        breath = v.get("breath", 0.0)
        face = model.pose_face(model.shape({k: x for k, x in v.items()
                                            if k in CHANNELS[:-4]}), **pose, breath=breath)
        landmarks[i] = _quantize(project(face, params), params)
        per = np.empty_like(periph3)
        for f in np.unique(follow):
            sel = follow == f
            per[sel] = model.pose(periph3[sel], **pose, breath=0.0, follow=float(f))
        per[:, 1] -= params.model.breath_lift * breath * breath_gain
        peripheral[i] = _quantize(project(per, params), params)
        mouth[i], mouth_affine[i] = draw_mouth(landmarks[i], teeth=teeth)
    pack = ClipPack(
        fps=float(params.fps), source_size=tuple(params.frame_size), neutral_index=0,
        landmarks=landmarks, face_detected=np.ones(n, bool), peripheral=peripheral,
        peripheral_valid=np.ones(peripheral.shape[:2], bool),
        head=head_motion(landmarks, 0), tag=name, source=f"synthetic:{name}",
        extra={"role": clip.role, "loop": clip.loop, "synthetic": True,
               "generator": GENERATOR, "seed": s},
        mouth=mouth, mouth_affine=mouth_affine, ratio=ratio, ratio_box=ratio_box)
    pack.validate()
    return pack


def write_clips(out_dir: str | Path = PROJECT_CLIPS, *, seed: int = DEFAULT_SEED,
                teeth: bool = True, names: Sequence[str] | None = None,
                params: SynthParams = SynthParams()) -> list[Path]:
    """Generate the built-in clips into ``out_dir`` (``NAME.npz`` each); returns the paths.

    The folder is created if missing; an unusable folder is an InputError.
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot create the output folder ({exc.strerror or exc})"
                         ) from None
    if not out.is_dir():
        raise InputError(f"{out}: not a folder")
    paths = []
    for name in names or list(CLIPS):
        pack = synth_clip(name, seed=seed, teeth=teeth, params=params)
        path = out / f"{name}.npz"
        try:
            save_pack(pack, path)
        except OSError as exc:
            raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
        log.info("%s: %d frames", path, pack.frame_count)
        paths.append(path)
    return paths
