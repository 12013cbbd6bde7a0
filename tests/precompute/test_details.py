"""Ratio images: outliers, damping, encoding, temporal filter (synthetic, no tracker)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from precompute.details import find_outliers, patch_distances, temporal_filter
from reactive.core.details import decode_table, encode_ratio
from reactive.params import DetailParams
from tests import naive


def _skin(h=120, w=160, seed=0):
    rng = np.random.default_rng(seed)
    base = np.full((h, w, 3), (190, 150, 130), np.float64)
    base += cv2.GaussianBlur(rng.normal(0, 6, (h, w)), (0, 0), 2)[..., None]
    return base


def _lum(img):
    return cv2.GaussianBlur(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32),
                            (0, 0), 1.0) + 1.0


def test_shadow_already_in_the_neutral_frame_is_an_outlier_and_a_new_crease_is_not():
    neutral, expressive = _skin(), _skin()
    # A cast shadow (dark blob) in both frames, 3 px apart: misalignment makes it light up
    # in the ratio image although nothing creased.
    cv2.circle(neutral, (40, 60), 6, (60, 45, 40), -1)
    cv2.circle(expressive, (43, 61), 6, (60, 45, 40), -1)
    # A crease only in the expressive frame.
    cv2.line(expressive, (100, 40), (130, 80), (120, 90, 80), 2)
    neutral = np.clip(neutral, 0, 255).astype(np.uint8)
    expressive = np.clip(expressive, 0, 255).astype(np.uint8)
    ratio = _lum(expressive) / _lum(neutral)
    face = np.ones(ratio.shape, bool)
    params = DetailParams()
    outliers = find_outliers(ratio, expressive, neutral, face, params)
    assert outliers[61, 43] and outliers[60, 40]        # the shadow, grown by 20 px
    assert not outliers[60, 115]                        # the crease survives
    crease = (ratio < 1 / 1.1)[50:70, 105:125]
    assert crease.any()


def test_patch_search_finds_rotated_patches():
    rng = np.random.default_rng(1)
    neutral = cv2.GaussianBlur(rng.uniform(0, 255, (60, 60, 3)), (0, 0), 3.0)
    neutral = (neutral - neutral.min()) / np.ptp(neutral) * 255   # full contrast
    m = cv2.getRotationMatrix2D((30, 30), 15, 1.0)      # the expressive frame: rotated 15 deg
    expressive = cv2.warpAffine(neutral, m, (60, 60), flags=cv2.INTER_LINEAR)
    params = DetailParams()
    d_rot = patch_distances(expressive, neutral, np.array([[30, 30], [34, 28]]), params)
    flat = np.zeros_like(neutral)
    d_none = patch_distances(expressive, flat + 128, np.array([[30, 30]]), params)
    assert d_rot.max() < 5.0 < d_none[0]


def test_encoding_round_trips_within_half_a_percent():
    r = np.linspace(0.55, 1.9, 200)
    back = decode_table()[encode_ratio(r)]
    np.testing.assert_allclose(back, r, rtol=0.003)
    assert decode_table()[encode_ratio(np.array([1.0]))][0] == 1.0


def test_temporal_filter_is_21_frames_wide_and_smooths():
    spikes = np.ones((60, 2, 2), np.float32)
    spikes[30] = 2.0
    out = temporal_filter(spikes, 21)
    changed = np.flatnonzero(np.abs(out[:, 0, 0] - 1.0) > 1e-7)
    assert changed.min() == 20 and changed.max() == 40     # 21 taps, centred
    assert np.abs(np.diff(out, axis=0)).max() < np.abs(np.diff(spikes, axis=0)).max() / 5
    assert out.sum() == pytest.approx(spikes.sum(), rel=1e-5)


@pytest.mark.parametrize("seed", [0, 1])
def test_patch_search_kernel_matches_naive(seed):
    rng = np.random.default_rng(seed)
    expressive = rng.uniform(0, 255, (36, 40, 3))
    neutral = cv2.GaussianBlur(rng.uniform(0, 255, (36, 40, 3)), (0, 0), 1.5)
    points = np.array([[20, 18], [1, 1], [0, 20], [39, 35], [12, 30]])  # edges and corners too
    params = DetailParams(patch_window_px=8)
    angles = np.deg2rad(np.linspace(-params.patch_max_rotation_deg,
                                    params.patch_max_rotation_deg,
                                    params.patch_rotation_steps))
    got = patch_distances(expressive, neutral, points, params)
    want = naive.patch_distances(expressive.astype(np.float32), neutral.astype(np.float32),
                                 points, params.patch_window_px, angles)
    np.testing.assert_allclose(got, want, atol=1e-3)
