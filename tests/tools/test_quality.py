"""Unit tests of the measures in reactive/tools/quality.py that need no shared media."""

import cv2
import numpy as np

from reactive.core import landmarks as lm
from reactive.tools.quality import rim_brightness, sclera_brightness


def _eye(centre, half_w, half_h, n=7):
    """Corners (2, 2), upper and lower lid margins (n, 2) of an ellipse-shaped opening."""
    t = np.linspace(0, np.pi, n + 2)[1:-1]
    cx, cy = centre
    upper = np.stack([cx - half_w * np.cos(t), cy - half_h * np.sin(t)], axis=1)
    lower = np.stack([cx - half_w * np.cos(t), cy + half_h * np.sin(t)], axis=1)
    corners = np.array([[cx - half_w, cy], [cx + half_w, cy]], np.float64)
    return corners, upper, lower


def _points_with(openings):
    pts = np.zeros((lm.N_MESH, 2), np.float64)
    for eye, (corners, upper, lower) in zip(lm.EYES, openings):
        pts[list(eye.corners)] = corners
        pts[eye.upper] = upper
        pts[eye.lower] = lower
    return pts


def test_white_is_read_over_the_opening_given():
    """A drawn eye larger than the contour: the contour holds only its dark middle band
    (luma 100), the drawn opening around it is white (200). Read over the contour the white
    is 100; over the opening given, the white it holds counts."""
    image = np.full((120, 200, 3), 60, np.uint8)
    small = [_eye((50, 60), 20, 5), _eye((150, 60), 20, 5)]
    large = [_eye((50, 60), 30, 14), _eye((150, 60), 30, 14)]
    for corners, upper, lower in large:
        loop = np.vstack([corners[:1], upper, corners[1:], lower[::-1]])
        cv2.fillPoly(image, [np.round(loop).astype(np.int32)], (200, 200, 200))
    for corners, upper, lower in small:
        loop = np.vstack([corners[:1], upper, corners[1:], lower[::-1]])
        cv2.fillPoly(image, [np.round(loop).astype(np.int32)], (100, 100, 100))
    points = _points_with(small)
    irises = np.array([[10.0, 10.0, 1.0], [190.0, 10.0, 1.0]])   # out of the way
    by_contour, _ = sclera_brightness(image, points, irises)
    assert np.allclose(by_contour, 100.0, atol=1.0)
    same, _ = sclera_brightness(image, points, irises, openings=small)
    assert np.array_equal(same, by_contour)
    by_opening, _ = sclera_brightness(image, points, irises, openings=large)
    assert (by_opening > 150.0).all()
    # The rim band inside the drawn opening is the white, not the contour's grey.
    assert (rim_brightness(image, points, irises, openings=large) > 190.0).all()
    assert np.allclose(rim_brightness(image, points, irises), 100.0, atol=3.0)
