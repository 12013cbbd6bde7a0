"""Face landmarks: the one module that talks to the tracker (MediaPipe face mesh).

Everything else sees plain arrays: ``(478, 2) float32``, ``(x, y)`` in image pixels. The
index groups below are MediaPipe's topology (468 mesh points + 10 iris points with
``refine_landmarks=True``); swapping the tracker means changing this module only.
"""

from __future__ import annotations

import contextlib
import logging
import os

import numpy as np

from .params import TrackingParams

log = logging.getLogger(__name__)

N_LANDMARKS = 478
N_MESH = 468  # without the iris points

# Ordered loops (polygons), from MediaPipe's FACEMESH_* edge sets.
FACE_OVAL = np.array([
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109])
LIPS_OUTER = np.array([
    61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146])
LIPS_INNER = np.array([
    78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95])
# "left"/"right" are the subject's, as in MediaPipe.
LEFT_EYE = np.array([362, 382, 381, 380, 374, 373, 390, 249, 263, 466, 388, 387, 386, 385, 384, 398])
RIGHT_EYE = np.array([33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246])
LEFT_BROW = np.array([276, 282, 283, 285, 293, 295, 296, 300, 334, 336])
RIGHT_BROW = np.array([46, 52, 53, 55, 63, 65, 66, 70, 105, 107])
LEFT_IRIS = np.arange(473, 478)   # centre first
RIGHT_IRIS = np.arange(468, 473)
NOSE_TIP = 1

# Sec. 4: phi is fitted on "the landmarks located in the eye regions and the tip of the nose".
PHI_POINTS = np.concatenate([LEFT_EYE, RIGHT_EYE, [NOSE_TIP]])
# Rigid-ish points for a per-frame head similarity: eye corners and the nose ridge move little
# with expression, unlike lids (blinks), brows and mouth.
STABLE_POINTS = np.array([33, 133, 362, 263, 168, 6, 197, 195, 5, 4, NOSE_TIP])
# Where expression shows; used by checks and by the fidelity measurements.
EXPRESSION_POINTS = np.concatenate([LIPS_OUTER, LIPS_INNER, LEFT_BROW, RIGHT_BROW, LEFT_EYE,
                                    RIGHT_EYE])


def _dist(p: np.ndarray, a: int, b: int) -> np.ndarray:
    return np.linalg.norm(p[..., a, :] - p[..., b, :], axis=-1)


def interocular(points: np.ndarray) -> np.ndarray:
    """Distance between the eye centres. ``points`` : (..., 478, 2). Returns (...)."""
    left = points[..., LEFT_EYE, :].mean(axis=-2)
    right = points[..., RIGHT_EYE, :].mean(axis=-2)
    return np.linalg.norm(left - right, axis=-1)


def mouth_open_ratio(points: np.ndarray) -> np.ndarray:
    """Inner-lip gap over mouth width (0 = closed). ``points`` : (..., 478, 2)."""
    return _dist(points, 13, 14) / np.maximum(_dist(points, 61, 291), 1e-6)


def lid_gaps_across(points: np.ndarray, upper, lower, corners: tuple[int, int]) -> np.ndarray:
    """Lid gaps across the eye over its width: for each pair ``upper[k]`` / ``lower[k]``,
    the component of their distance perpendicular to the line through the eye's
    ``corners``, over the corner distance. ``points`` : (..., 478, 2); returns (..., K).

    Across, not the straight distance: the mesh's paired lid points are not above one
    another on every face. On the Mona Lisa and on s0 the middle pair (159 over 145) sits
    0.12-0.15 eye widths apart *along* the eye, open or closed, so a straight distance
    hardly reads a closed eye below 0.1 there: a real closed eye (d3's, pasted onto the
    Mona Lisa) reads 0.11-0.12 that way, 0.03-0.07 across.
    """
    a = points[..., corners[0], :]
    v = points[..., corners[1], :] - a
    width = np.maximum(np.linalg.norm(v, axis=-1), 1e-6)
    gap = points[..., list(upper), :] - points[..., list(lower), :]
    cross = gap[..., 0] * v[..., None, 1] - gap[..., 1] * v[..., None, 0]
    return np.abs(cross) / (width[..., None] ** 2)


def eye_open_ratio(points: np.ndarray) -> np.ndarray:
    """Eye aspect ratio from the middle lid pair, mean of both eyes (~0.35 open, < 0.1
    closed): the gap across the eye over its width (``lid_gaps_across``).
    ``points`` : (..., 478, 2); returns (...)."""
    right = lid_gaps_across(points, [159], [145], (33, 133))[..., 0]
    left = lid_gaps_across(points, [386], [374], (362, 263))[..., 0]
    return 0.5 * (left + right)


def smile_ratio(points: np.ndarray) -> np.ndarray:
    """How far the lip corners sit above the lips' middle, over mouth width, measured
    across the eye line (0 level; ~0.1 and up a smile). ``points`` : (478, 2)."""
    right = points[RIGHT_EYE].mean(axis=0)
    left = points[LEFT_EYE].mean(axis=0)
    x_axis = (left - right) / max(float(np.linalg.norm(left - right)), 1e-6)
    y_axis = np.array([-x_axis[1], x_axis[0]])
    middle = 0.5 * (points[13] + points[14]) @ y_axis
    corners = 0.5 * (points[61] + points[291]) @ y_axis
    return (middle - corners) / max(float(_dist(points, 61, 291)), 1e-6)


def yaw_ratio(points: np.ndarray) -> np.ndarray:
    """Signed head-turn estimate: 0 frontal, +-1 profile (nose tip between the cheeks)."""
    to_right = _dist(points, NOSE_TIP, 234)
    to_left = _dist(points, NOSE_TIP, 454)
    return (to_left - to_right) / np.maximum(to_left + to_right, 1e-6)


def face_polygon(points: np.ndarray) -> np.ndarray:
    """The face oval as a closed polygon, (36, 2) float32."""
    return np.ascontiguousarray(points[FACE_OVAL], dtype=np.float32)


@contextlib.contextmanager
def _quiet_stderr():
    """MediaPipe's C++ side prints TFLite/absl banners straight to fd 2; keep the CLI clean."""
    try:
        fd = os.dup(2)
    except OSError:  # no stderr at all
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(fd, 2)
        os.close(fd)


def _import_mediapipe():
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _quiet_stderr():
        import mediapipe as mp  # noqa: PLC0415 - heavy; imported only when a face is needed
    return mp


def _to_pixels(face, width: int, height: int) -> np.ndarray:
    pts = np.array([(lm.x, lm.y) for lm in face.landmark], dtype=np.float32)
    if pts.shape != (N_LANDMARKS, 2):
        raise RuntimeError(f"face mesh returned {pts.shape[0]} landmarks, expected {N_LANDMARKS}")
    pts[:, 0] *= width
    pts[:, 1] *= height
    return pts


class FaceMeshTracker:
    """MediaPipe face mesh in video mode: one face, tracked from frame to frame.

    Call it on consecutive RGB frames ``(H, W, 3) uint8``; it returns ``(478, 2) float32``
    pixel coordinates, or None where no face was found.
    """

    def __init__(self, params: TrackingParams = TrackingParams()):
        mp = _import_mediapipe()
        with _quiet_stderr():
            self._mesh = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=False, max_num_faces=1, refine_landmarks=True,
                min_detection_confidence=params.min_detection_confidence,
                min_tracking_confidence=params.min_tracking_confidence)
        self._first = True

    def __call__(self, frame: np.ndarray) -> np.ndarray | None:
        h, w = frame.shape[:2]
        if self._first:
            with _quiet_stderr():
                result = self._mesh.process(frame)
            self._first = False
        else:
            result = self._mesh.process(frame)
        if not result.multi_face_landmarks:
            return None
        return _to_pixels(result.multi_face_landmarks[0], w, h)

    def close(self) -> None:
        self._mesh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def detect_faces(image: np.ndarray, *, max_faces: int = 5) -> list[np.ndarray]:
    """All faces in a still image, largest first.

    Parameters
    ----------
    image : (H, W, 3) uint8 RGB
    max_faces : how many faces the detector looks for.

    Returns
    -------
    list of (478, 2) float32 pixel coordinates, sorted by face area, largest first.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"`image` must be (H, W, 3) uint8; got {image.shape} {image.dtype}")
    mp = _import_mediapipe()
    h, w = image.shape[:2]
    with _quiet_stderr():
        with mp.solutions.face_mesh.FaceMesh(
                static_image_mode=True, max_num_faces=max_faces, refine_landmarks=True,
                min_detection_confidence=0.5) as mesh:
            result = mesh.process(np.ascontiguousarray(image))
    faces = [_to_pixels(f, w, h) for f in (result.multi_face_landmarks or [])]

    def area(p):
        span = p.max(axis=0) - p.min(axis=0)
        return float(span[0] * span[1])

    return sorted(faces, key=area, reverse=True)
