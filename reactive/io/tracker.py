"""The face tracker: MediaPipe face mesh (and its selfie segmentation, ``segment_person``),
the only module that imports MediaPipe.

It turns images into landmark arrays, ``(478, 2) float32`` ``(x, y)`` pixels in MediaPipe's
topology (``reactive.core.landmarks`` names the indices). Swapping the tracker means changing
this module only. MediaPipe is imported when a face is first needed (it costs about a second
and prints banners), never at import.
"""

from __future__ import annotations

import contextlib
import logging
import os

import numpy as np

from reactive.core.landmarks import N_LANDMARKS
from reactive.params import TrackingParams

log = logging.getLogger(__name__)


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


def _to_pixels(face, width: int, height: int, depth: bool = False) -> np.ndarray:
    if depth:
        # Float64 all the way: the synth template's bytes depend on it.
        pts = np.array([(p.x * width, p.y * height, p.z * width) for p in face.landmark],
                       np.float64)
    else:
        pts = np.array([(p.x, p.y) for p in face.landmark], dtype=np.float32)
        pts[:, 0] *= width
        pts[:, 1] *= height
    if pts.shape[0] != N_LANDMARKS:
        raise RuntimeError(f"face mesh returned {pts.shape[0]} landmarks, expected {N_LANDMARKS}")
    return pts


class FaceMeshTracker:
    """MediaPipe face mesh in video mode: one face, tracked from frame to frame.

    Call it on consecutive RGB frames ``(H, W, 3) uint8``; it returns ``(478, 2) float32``
    pixel coordinates, or None where no face was found. ``max_faces`` > 1 (a camera with
    passers-by): the largest of the faces found.
    """

    def __init__(self, params: TrackingParams = TrackingParams(), *, max_faces: int = 1):
        if max_faces < 1:
            raise ValueError(f"`max_faces` must be >= 1; got {max_faces}")
        mp = _import_mediapipe()
        with _quiet_stderr():
            self._mesh = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=False, max_num_faces=max_faces, refine_landmarks=True,
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
        faces = result.multi_face_landmarks
        if not faces:
            return None
        if len(faces) == 1:
            return _to_pixels(faces[0], w, h)
        return max((_to_pixels(f, w, h) for f in faces), key=_area)

    def close(self) -> None:
        self._mesh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def detect_faces(image: np.ndarray, *, max_faces: int = 5, depth: bool = False
                 ) -> list[np.ndarray]:
    """All faces in a still image, largest first.

    Parameters
    ----------
    image : (H, W, 3) uint8 RGB
    max_faces : how many faces the detector looks for.
    depth : also return MediaPipe's depth: (478, 3) float64 ``(x, y, z)``, z in pixels (its
        normalised z is in image widths) growing away from the camera.

    Returns
    -------
    list of (478, 2) float32 pixel coordinates (or (478, 3), ``depth``), sorted by face
    area, largest first.
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
    faces = [_to_pixels(f, w, h, depth) for f in (result.multi_face_landmarks or [])]
    return sorted(faces, key=_area, reverse=True)


def detect_faces_in_tiles(image: np.ndarray, *, max_faces: int = 5, min_tile: int = 128,
                          max_face_frac: float = 0.2) -> list[np.ndarray]:
    """Faces too small for the detector in the whole image (a full-length portrait, a group
    photo): looked for in overlapping square tiles, the shorter side first, then halving
    (not under ``min_tile`` px), overlapping by half, until a size finds any. Only small
    faces count, at most ``max_face_frac`` of the longer side across: a larger one the
    whole image would have shown, so a tile's is a pattern taken for a face (a cat's fur).
    The same face found in two tiles counts once (the larger find). Largest first, as
    :func:`detect_faces` (without depth).

    image : (H, W, 3) uint8 RGB. Returns a list of (478, 2) float32 pixel coordinates.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"`image` must be (H, W, 3) uint8; got {image.shape} {image.dtype}")
    mp = _import_mediapipe()
    h, w = image.shape[:2]

    def starts(length: int, size: int) -> list[int]:
        step = max(size // 2, 1)
        out = list(range(0, max(length - size, 0) + 1, step))
        if out[-1] != max(length - size, 0):
            out.append(length - size)
        return out

    with _quiet_stderr():
        with mp.solutions.face_mesh.FaceMesh(
                static_image_mode=True, max_num_faces=max_faces, refine_landmarks=True,
                min_detection_confidence=0.5) as mesh:
            size = min(h, w)
            while size >= min_tile:
                found = []
                for y0 in starts(h, size):
                    for x0 in starts(w, size):
                        tile = np.ascontiguousarray(image[y0:y0 + size, x0:x0 + size])
                        result = mesh.process(tile)
                        for f in result.multi_face_landmarks or []:
                            face = _to_pixels(f, size, size) + np.float32((x0, y0))
                            if np.sqrt(_area(face)) <= max_face_frac * max(h, w):
                                found.append(face)
                if found:
                    kept: list[np.ndarray] = []
                    for f in sorted(found, key=_area, reverse=True):
                        span = float(np.sqrt(_area(f)))
                        if all(np.linalg.norm(f.mean(axis=0) - k.mean(axis=0)) > 0.5 * span
                               for k in kept):
                            kept.append(f)
                    return kept[:max_faces]
                size //= 2
    return []


def segment_person(image: np.ndarray) -> np.ndarray:
    """Where the people are in a still image: MediaPipe's selfie segmentation (its general
    model, which sees whole upper bodies at a distance too; its model is in the same wheel
    as the face mesh's, offline).

    Parameters
    ----------
    image : (H, W, 3) uint8 RGB

    Returns
    -------
    (H, W) float32 in [0, 1], the probability that a pixel is a person.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"`image` must be (H, W, 3) uint8; got {image.shape} {image.dtype}")
    mp = _import_mediapipe()
    h, w = image.shape[:2]
    with _quiet_stderr():
        with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as seg:
            result = seg.process(np.ascontiguousarray(image))
    mask = result.segmentation_mask
    if mask is None or mask.shape[:2] != (h, w):
        raise RuntimeError(f"selfie segmentation returned {None if mask is None else mask.shape}"
                           f" for a {w}x{h} image")
    return np.clip(np.asarray(mask, np.float32), 0.0, 1.0)


def _area(points: np.ndarray) -> float:
    span = points[:, :2].max(axis=0) - points[:, :2].min(axis=0)
    return float(span[0] * span[1])
