"""Tracking pieces that need no video: gap filling, neutral choice, peripheral LK, head motion."""

from __future__ import annotations

import numpy as np
import pytest

from precompute.neutral import choose_neutral
from precompute.track import fill_gaps, head_motion, track_peripheral
from reactive.core import landmarks as lm
from reactive.errors import InputError
from reactive.params import TrackingParams
from tests.helpers import fake_face


def test_short_gaps_are_interpolated_and_reported():
    base = fake_face()
    pts = [base + i for i in range(10)]
    pts[3] = pts[4] = None
    pts[0] = None  # a gap at the start is held from the first detected frame
    filled, detected, report = fill_gaps(pts, fps=25, params=TrackingParams(max_lost_fraction=0.5))
    assert report.gaps == [(0, 1), (3, 2)] and report.frames == 3
    np.testing.assert_array_equal(detected, [p is not None for p in pts])
    np.testing.assert_allclose(filled[3], base + 3, atol=1e-4)
    np.testing.assert_allclose(filled[4], base + 4, atol=1e-4)
    np.testing.assert_allclose(filled[0], base + 1, atol=1e-4)


def test_long_gap_is_a_clear_error():
    pts = [fake_face()] * 100
    pts[40:60] = [None] * 20
    with pytest.raises(InputError, match=r"clip.mp4: face lost for 0.8 s from 1.60 s"):
        fill_gaps(pts, fps=25, params=TrackingParams(max_lost_fraction=0.5), source="clip.mp4")


def test_too_many_lost_frames_is_a_clear_error():
    pts = [fake_face() if i % 3 else None for i in range(30)]
    with pytest.raises(InputError, match="face lost in 10 of 30 frames"):
        fill_gaps(pts, fps=25, params=TrackingParams(), source="clip")


def test_no_face_at_all_is_a_clear_error():
    with pytest.raises(InputError, match="no face found in any frame"):
        fill_gaps([None] * 5, fps=25, params=TrackingParams())


def _open_mouth(points: np.ndarray, amount: float) -> np.ndarray:
    p = points.copy()
    lower = [14, 87, 178, 88, 95, 317, 402, 318, 324, 17, 84, 181, 91, 146, 314, 405, 321, 375]
    p[lower, 1] += amount
    return p


def test_neutral_is_the_resting_frame_not_frame_zero():
    base = fake_face()
    # Put the lips where a mouth is: a closed mouth 30 px wide.
    base[61], base[291] = (85, 120), (115, 120)
    base[13], base[14] = (100, 119.5), (100, 120.5)
    frames = [_open_mouth(base, 12.0)] * 5 + [_open_mouth(base, 6.0)] * 3 + [base] * 4 \
        + [_open_mouth(base, 9.0)] * 6
    jitter = np.random.default_rng(0).normal(0, 0.05, size=(len(frames), lm.N_LANDMARKS, 2))
    points = np.stack(frames) + jitter
    assert 8 <= choose_neutral(points) <= 11


def test_neutral_skips_frames_where_the_face_was_not_detected():
    base = fake_face()
    points = np.stack([base, base + 0.01, base])
    detected = np.array([False, True, False])
    assert choose_neutral(points, detected) == 1


def test_peripheral_points_follow_a_moving_texture():
    rng = np.random.default_rng(0)
    tex = (rng.uniform(0, 255, size=(140, 180)) > 200).astype(np.uint8) * 255
    import cv2
    tex = cv2.GaussianBlur(tex, (0, 0), 1.5)
    grays = [np.roll(tex, (0, k), axis=(0, 1)) for k in range(6)]  # 1 px/frame to the right
    face = fake_face(cx=90, cy=70, rx=25, ry=30)
    pos, valid = track_peripheral(grays, 2, np.stack([face] * 6), TrackingParams())
    assert pos.shape[1] > 10
    moved = pos[5] - pos[2]
    ok = valid[5]
    np.testing.assert_allclose(np.median(moved[ok], axis=0), [3.0, 0.0], atol=0.1)
    back = pos[0] - pos[2]
    np.testing.assert_allclose(np.median(back[valid[0]], axis=0), [-2.0, 0.0], atol=0.1)


def test_head_motion_recovers_a_rigid_move():
    base = fake_face().astype(np.float64)
    ang = 0.1
    r = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]]) * 1.2
    moved = base @ r.T + [5.0, -3.0]
    head = head_motion(np.stack([base, moved]).astype(np.float32), 0)
    np.testing.assert_allclose(head[1, :, :2], r, atol=1e-4)
    np.testing.assert_allclose(head[0], [[1, 0, 0], [0, 1, 0]], atol=1e-5)
