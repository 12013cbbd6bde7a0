"""The target photo's face: find it, pick one, and say when it breaks the paper's assumptions;
the person around it, split from the background (``photo_backdrop``)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from reactive.core import landmarks as lm
from reactive.core.backdrop import Backdrop, make_backdrop
from reactive.errors import InputError
from reactive.io.cache import cached_backdrop
from reactive.io.tracker import detect_faces, detect_faces_in_tiles, segment_person
from reactive.params import BackdropParams, PhotoParams

log = logging.getLogger(__name__)


def find_target_face(photo: np.ndarray, *, source: str = "photo",
                     params: PhotoParams = PhotoParams()) -> np.ndarray:
    """Landmarks of the face to animate in ``photo`` (H, W, 3) uint8 RGB -> (478, 2) float32.

    No face is an InputError naming ``source``; several faces -> the largest, with a warning;
    a turned head or a non-neutral face -> a warning (Sec. 3 assumes frontal and neutral).
    """
    points, faces = detect_target_face(photo, source=source)
    warn_about_face(points, faces, source=source, params=params)
    return points


def detect_target_face(photo: np.ndarray, *, source: str = "photo") -> tuple[np.ndarray, int]:
    """:func:`find_target_face` without the warnings -> (points, number of faces found)."""
    faces = detect_faces(photo)
    if not faces:
        # A face too small for the detector in the whole photo (a full-length portrait).
        faces = detect_faces_in_tiles(photo)
        if faces:
            log.warning("%s: the face is small in the photo (found in a part of it); a photo "
                        "cropped closer to the face animates larger and sharper", source)
    if not faces:
        raise InputError(f"{source}: no face found; use a photo with a clearly visible, "
                         "roughly frontal face")
    return faces[0], len(faces)


def warn_about_face(points: np.ndarray, faces: int, *, source: str = "photo",
                    params: PhotoParams = PhotoParams()) -> None:
    """The warnings of :func:`find_target_face`, from its results (also for cached ones)."""
    if faces > 1:
        log.warning("%s: %d faces found; animating the largest", source, faces)
    yaw = float(lm.yaw_ratio(points))
    if abs(yaw) > params.max_yaw_warn:
        log.warning("%s: the head is turned (%s); results are best with a frontal face",
                    source, "to the left" if yaw > 0 else "to the right")
    mouth = float(lm.mouth_open_ratio(points))
    if mouth > params.max_mouth_open_warn:
        log.warning("%s: the mouth is open; results are best with a neutral, closed-mouth face",
                    source)
    elif float(lm.smile_ratio(points)) > params.max_smile_warn:
        log.warning("%s: the face is smiling; expressions are added on top of it (results "
                    "are best with a neutral face)", source)


def photo_backdrop(photo: np.ndarray, points: np.ndarray, *, folder: Path | None = None,
                   params: BackdropParams = BackdropParams()) -> Backdrop | None:
    """The person around the face ``points`` (478, 2) split from the still background of
    ``photo`` (H, W, 3) uint8 RGB (``core.backdrop``), or None when the photo is better
    warped whole. Cached under ``folder`` when given (``io.cache``)."""

    def make(image, face):
        return make_backdrop(image, segment_person(image), face, params=params)

    if folder is None:
        return make(photo, points)
    return cached_backdrop(photo, points, folder, make, params)
