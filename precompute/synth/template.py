"""The neutral face template of the built-in clips: 478 x 3 points (MediaPipe topology) in
template units (origin between the eye centres, 1 = the inter-ocular distance, x to the
image's right, y down, z away from the camera), measured once from the bundled sample portrait
and stored in ``face_template.json``; made symmetric by mirroring."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from reactive.core import landmarks as lm
from reactive.errors import InputError
from reactive.io.tracker import detect_faces

TEMPLATE_PATH = Path(__file__).with_name("face_template.json")


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
    faces = detect_faces(image, depth=True)
    if not faces:
        raise InputError("no face found for the template")
    return normalise_points(faces[0])


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
    refl = points * np.array([-1.0, 1.0, 1.0])
    cost = ((points[:, None, :] - refl[None, :, :]) ** 2).sum(axis=2)
    _, pairs = linear_sum_assignment(cost)
    if not np.array_equal(pairs[pairs], np.arange(len(points))):
        raise ValueError("template is too asymmetric to pair its points left-right")
    return pairs.astype(np.int64)


def symmetrize(points: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Average each point with the reflection of its mirror: an exactly symmetric face."""
    return 0.5 * (points + points[pairs] * np.array([-1.0, 1.0, 1.0]))
