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


# Beyond the paper (issue 11): only expression creases reach the ratio images.

def _frame_ratio(base, iod=100.0, params=DetailParams()):
    from reactive.core.ratio import FrameRatio

    return FrameRatio(base, np.zeros(base.shape, bool), iod, params)


def test_a_feature_the_alignment_shifted_is_no_darkening_but_a_new_crease_is():
    from reactive.core.ratio import robust_ratio

    neutral, expressive = _skin(), _skin()
    # A brow-like dark band in both frames, 2 px apart (the 2D alignment's error).
    cv2.rectangle(neutral, (20, 50), (70, 56), (70, 50, 40), -1)
    cv2.rectangle(expressive, (20, 52), (70, 58), (70, 50, 40), -1)
    # A fold only in the expressive frame.
    cv2.line(expressive, (110, 30), (130, 90), (150, 115, 100), 3)
    base = _lum(np.clip(neutral, 0, 255).astype(np.uint8))
    lum = _lum(np.clip(expressive, 0, 255).astype(np.uint8))
    r = max(1, round(DetailParams().align_tolerance_iod * 100))
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    ratio = robust_ratio(lum, cv2.erode(base, disk), cv2.dilate(base, disk))
    naive = lum / base
    assert naive[57:59, 25:65].min() < 0.6           # the plain ratio paints a dark stroke
    assert ratio[45:65, 15:75].min() > 0.97          # the robust one sees nothing there
    assert ratio[55:65, 115:125].min() < 0.9         # the fold stays


def test_hair_over_the_forehead_is_dropped_whole_and_a_deep_narrow_fold_is_kept():
    neutral = _skin(160, 200)
    frame = neutral.copy()
    # Hair: a wide, very dark lock with a soft edge, over skin that was bare.
    lock = np.zeros(frame.shape[:2], np.float32)
    cv2.ellipse(lock, (60, 50), (40, 18), 10, 0, 360, 1.0, -1)
    lock = cv2.GaussianBlur(lock, (0, 0), 4.0)[..., None]
    frame = frame * (1 - 0.7 * lock)
    # A deep but narrow fold.
    cv2.line(frame, (150, 60), (165, 140), (120, 90, 75), 2)
    base = _lum(np.clip(neutral, 0, 255).astype(np.uint8))
    lum = _lum(np.clip(frame, 0, 255).astype(np.uint8))
    ratio, dropped = _frame_ratio(base)(lum)
    assert dropped[50, 60] and dropped[35, 30]       # the lock, soft edge included
    # Nothing of it is left but its outermost fringe, a few percent (which the noise floor
    # takes after the temporal filter).
    assert ratio[20:80, 10:110].min() > 0.95
    assert not dropped[100, 158]
    assert ratio[90:110, 150:168].min() < 0.85       # the fold is kept ...
    assert ratio.min() >= DetailParams().crease_floor - 1e-4   # ... and never near black


def test_broad_shading_is_neither_an_occluder_nor_a_crease():
    """A face that tips away from the light darkens as a whole."""
    neutral = _skin(160, 200)
    ramp = np.linspace(1.0, 0.55, 200)[None, :, None]
    base = _lum(np.clip(neutral, 0, 255).astype(np.uint8))
    lum = _lum(np.clip(neutral * ramp, 0, 255).astype(np.uint8))
    ratio, dropped = _frame_ratio(base)(lum)
    assert not dropped.any()
    inner = ratio[20:-20, 20:-20]                    # away from the blur's border
    assert inner.min() > 0.9


def test_noise_floor_is_subtracted_from_every_darkening():
    from reactive.core.ratio import shrink_darkening

    log_r = np.log2(np.array([1.0, 0.99, 0.97, 0.9, 0.7, 1.01], np.float32))
    out = np.exp2(shrink_darkening(log_r.copy(), 0.03))
    np.testing.assert_allclose(out[:3], 1.0, atol=1e-6)       # below the floor: gone
    np.testing.assert_allclose(out[3:5], [0.9 / 0.97, 0.7 / 0.97], rtol=1e-5)
    assert out[5] == pytest.approx(1.01)                       # brightening untouched


def test_soft_floor_keeps_slight_darkening_and_never_goes_below_the_floor():
    from reactive.core.ratio import soft_floor

    r = np.array([1.0, 0.97, 0.8, 0.5, 0.1, 0.01], np.float32)
    out = soft_floor(r.copy(), 0.7)
    assert out[0] == 1.0 and out[1] == pytest.approx(0.97, abs=0.002)
    assert np.all(np.diff(out) <= 0) and out.min() > 0.7 - 1e-6


def test_broad_blur_is_a_gaussian_blur_at_low_resolution():
    from reactive.core.ratio import broad_blur

    rng = np.random.default_rng(3)
    image = cv2.GaussianBlur(rng.uniform(0.6, 1.2, (150, 170)).astype(np.float32), (0, 0), 6)
    for sigma in (1.5, 10.0, 30.0):
        exact = cv2.GaussianBlur(image, (0, 0), sigma)
        np.testing.assert_allclose(broad_blur(image, sigma), exact, atol=0.01)
