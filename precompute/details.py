"""Fine-scale details: expression ratio images (paper Sec. 6; Liu et al. 2001), per clip.

For every frame i, the driver's frame s_i is sampled back into the neutral frame's geometry
(through the same warp the player uses), and R_i = f(aligned s_i) / f(s*), f a lightly
smoothed luminance. Aligned to the neutral frame, the ratio images say how each point of the
face darkened (creases, wrinkles) or brightened. Then, as in the paper:

- brightening is damped (x 0.01): it is mostly misalignment;
- R = 1 outside the face region (landmark oval plus the forehead: an ellipse fitted to the
  jaw line, refined with GrabCut);
- outliers: significant components of the most expressive frame whose pixels find a similar
  3x3 patch (rotated up to 30 degrees) nearby in s* were already there in the neutral frame
  (cast shadows, nostrils): R = 1 within 20 px of them, in every frame;
- a 21-frame Gaussian over time.

Beyond the paper, R is high-passed (divided by its own blur): turning heads move their
shadows, which the ratio would otherwise paint over half the target's face.

The mouth interior is the hidden stage's (``mouth.py``) and the eyes stay the target's: R = 1
inside the neutral frame's mouth and eye openings.
Stored cropped to the face, at half resolution, as log2(R) quantized to 1/128 in uint8.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d

from reactive.core import landmarks as lm
from reactive.core.clip import ClipPack, peak_frame
from reactive.core.details import encode_ratio
from reactive.core.kernels.patches import patch_search
from reactive.core.motion import frame_offsets
from reactive.core.rig import build_rig
from reactive.core.warper import Warper
from reactive.params import DetailParams, WarpParams

log = logging.getLogger(__name__)


@dataclass
class RatioImages:
    """What a clip pack stores: (F, h, w) uint8 codes over ``box`` = [x0, y0, x1, y1] of the
    neutral frame (source pixels), and the outlier mask kept for inspection."""

    codes: np.ndarray
    box: np.ndarray
    outliers: np.ndarray  # (h, w) bool, at storage resolution
    raw_max: float = 1.0  # largest brightening before damping, on the face


def face_region(neutral: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Face mask of the neutral frame (H, W) bool: landmark oval + forehead (Sec. 6).

    The oval of the face mesh stops near the hairline; an ellipse fitted to the jaw line
    (the oval below the eyes) reaches over the forehead, and GrabCut trims it to skin.
    """
    h, w = neutral.shape[:2]
    oval = lm.face_polygon(points)
    eye_y = points[np.concatenate([lm.LEFT_EYE, lm.RIGHT_EYE]), 1].mean()
    jaw = oval[oval[:, 1] > eye_y]
    inside = np.zeros((h, w), np.uint8)
    cv2.fillPoly(inside, [np.round(oval).astype(np.int32)], 1)
    ellipse = np.zeros((h, w), np.uint8)
    if len(jaw) >= 5:
        cv2.ellipse(ellipse, cv2.fitEllipse(jaw.astype(np.float32)), 1, -1)
    candidate = (inside | ellipse).astype(bool)
    ys, xs = np.nonzero(candidate)
    if len(xs) == 0:
        return candidate
    pad = 10
    x0, x1 = max(xs.min() - pad, 0), min(xs.max() + pad + 1, w)
    y0, y1 = max(ys.min() - pad, 0), min(ys.max() + pad + 1, h)
    gc = np.full((y1 - y0, x1 - x0), cv2.GC_BGD, np.uint8)
    gc[candidate[y0:y1, x0:x1]] = cv2.GC_PR_FGD
    sure = cv2.erode(inside, np.ones((7, 7), np.uint8)).astype(bool)[y0:y1, x0:x1]
    gc[sure] = cv2.GC_FGD
    try:
        bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
        cv2.grabCut(np.ascontiguousarray(neutral[y0:y1, x0:x1]), gc, None, bgd, fgd, 3,
                    cv2.GC_INIT_WITH_MASK)
    except cv2.error:  # degenerate colour models (flat image): keep the geometric region
        return candidate
    refined = np.zeros((h, w), bool)
    refined[y0:y1, x0:x1] = (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)
    # The landmark oval is always face; GrabCut only decides the forehead.
    return (refined & candidate) | inside.astype(bool)


def patch_distances(expressive: np.ndarray, neutral: np.ndarray, points: np.ndarray,
                    params: DetailParams) -> np.ndarray:
    """Sec. 6 patch search. ``expressive``, ``neutral``: (H, W, 3) aligned RGB; ``points``:
    (N, 2) int (x, y). Returns (N,) float64 min-over-window max RGB difference."""
    angles = np.deg2rad(np.linspace(-params.patch_max_rotation_deg,
                                    params.patch_max_rotation_deg,
                                    params.patch_rotation_steps))
    out = np.empty(len(points), np.float64)
    patch_search(expressive.astype(np.float32), neutral.astype(np.float32),
                     np.ascontiguousarray(points, dtype=np.int64), params.patch_window_px,
                     np.cos(angles), np.sin(angles), out)
    return out


def find_outliers(ratio: np.ndarray, expressive: np.ndarray, neutral: np.ndarray,
                  face: np.ndarray, params: DetailParams, *, max_samples: int = 200,
                  seed: int = 0) -> np.ndarray:
    """Outlier mask (H, W) bool: significant components of ``ratio`` (the most expressive
    frame's, aligned) whose shading was already in ``neutral``, grown by the outlier radius."""
    sig = ((ratio > params.significant_ratio) | (ratio < 1.0 / params.significant_ratio)) & face
    n, labels, stats, _ = cv2.connectedComponentsWithStats(sig.astype(np.uint8), connectivity=8)
    rng = np.random.default_rng(seed)
    outlier = np.zeros(ratio.shape, bool)
    for k in range(1, n):
        if stats[k, cv2.CC_STAT_AREA] < params.min_component_px:
            continue
        ys, xs = np.nonzero(labels == k)
        pick = rng.choice(len(xs), size=min(len(xs), max_samples), replace=False)
        d = patch_distances(expressive, neutral, np.stack([xs[pick], ys[pick]], 1), params)
        if d.mean() < params.outlier_max_diff:
            outlier |= labels == k
    if outlier.any():
        r = int(round(params.outlier_radius_px))
        disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        outlier = cv2.dilate(outlier.astype(np.uint8), disk).astype(bool)
    return outlier


def openings_mask(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The mouth and eye openings of the neutral frame, grown a little: (H, W) bool.

    Their ratio says where the driver's teeth and irises went, not how the skin creased:
    the mouth is the hidden stage's, and the target keeps its own eyes.
    """
    mask = np.zeros(shape, np.uint8)
    for ring in (lm.LIPS_INNER, lm.LEFT_EYE, lm.RIGHT_EYE):
        cv2.fillPoly(mask, [np.round(points[ring]).astype(np.int32)], 1)
    grow = max(2, int(round(0.15 * float(lm.interocular(points)))))
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    return cv2.dilate(mask, disk).astype(bool)


def temporal_filter(ratio: np.ndarray, frames: int) -> np.ndarray:
    """Gaussian over time (axis 0), ``frames`` taps wide (sigma = frames / 6)."""
    if frames <= 1 or ratio.shape[0] < 2:
        return ratio
    sigma = frames / 6.0
    return gaussian_filter1d(ratio, sigma, axis=0, mode="nearest",
                             truncate=(frames // 2) / sigma)


def ratio_images(frames: list[np.ndarray], pack: ClipPack,
                 params: DetailParams = DetailParams()) -> RatioImages:
    """The clip's ratio images, aligned to its neutral frame. ``frames``: the clip's RGB
    frames (H, W, 3) uint8, as tracked into ``pack``."""
    n0 = pack.neutral_index
    neutral = frames[n0]
    h, w = neutral.shape[:2]
    points = pack.landmarks[n0]
    face = face_region(neutral, points)
    ys, xs = np.nonzero(face)
    pad = int(params.outlier_radius_px)
    x0, x1 = max(xs.min() - pad, 0), min(xs.max() + pad + 1, w)
    y0, y1 = max(ys.min() - pad, 0), min(ys.max() + pad + 1, h)
    box = (slice(y0, y1), slice(x0, x1))

    # The same warp the player uses, with the driver's neutral frame as the "photo": phi is
    # the identity and frame_offsets are s_i - s*. Alignment must follow the landmarks
    # exactly, so none of the player's safeguards (caps near the frame's edge, the border
    # hold, unfolding) apply: they would misalign and paint hair or background onto skin.
    rig = replace(build_rig(neutral, points, pack, params=WarpParams(
        max_squeeze=0.0, border_hold_frac=0.0, border_fade_frac=0.0)), unfold=None)
    warper = Warper(rig, smooth=False)
    grid_y, grid_x = np.mgrid[0:h, 0:w].astype(np.float32)
    sigma = params.luminance_sigma_px

    def lum(img):
        gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
        return cv2.GaussianBlur(gray, (0, 0), sigma) + 1.0

    base = lum(neutral)[box]
    offsets = np.zeros((len(rig.rest), 2), np.float32)
    ref = peak_frame(pack)
    crop_h, crop_w = y1 - y0, x1 - x0
    out_h = max(1, int(round(crop_h * params.storage_scale)))
    out_w = max(1, int(round(crop_w * params.storage_scale)))
    stack = np.empty((len(frames), crop_h, crop_w), np.float32)
    aligned_ref = None
    for i, frame in enumerate(frames):
        field = warper.compute_field(frame_offsets(rig, pack, i, offsets))
        aligned = cv2.remap(frame, grid_x + field[..., 0], grid_y + field[..., 1],
                            cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        stack[i] = lum(aligned)[box] / base
        if i == ref:
            aligned_ref = aligned
    if params.highpass_sigma_iod > 0:
        sigma_hp = params.highpass_sigma_iod * float(lm.interocular(points))
        for i in range(len(frames)):
            stack[i] /= cv2.GaussianBlur(stack[i], (0, 0), sigma_hp)
    # Outliers on the raw ratio of the most expressive frame (before damping, as in Sec. 6).
    outlier = find_outliers(stack[ref], aligned_ref[box], neutral[box], face[box], params)
    log.info("details: reference frame %d, outliers cover %.1f%% of the face", ref,
             100.0 * outlier.sum() / max(face[box].sum(), 1))
    raw_max = float(stack[:, face[box]].max())
    # Brightening damped; R = 1 off the face, on outliers and inside the mouth.
    np.subtract(stack, 1.0, out=stack)
    np.multiply(stack, np.where(stack > 0, params.brighten_damping, 1.0).astype(np.float32),
                out=stack)
    keep = face[box] & ~outlier & ~openings_mask(points, (h, w))[box]
    # A soft edge: the mask's blur keeps a seam out of the target.
    soft = cv2.GaussianBlur(keep.astype(np.float32), (0, 0), 2.0)
    stack *= soft[None]
    stack += 1.0
    stack = temporal_filter(stack, params.temporal_frames)
    codes = np.empty((len(frames), out_h, out_w), np.uint8)
    for i in range(len(frames)):
        codes[i] = encode_ratio(cv2.resize(stack[i], (out_w, out_h), interpolation=cv2.INTER_AREA))
    small_outliers = cv2.resize(outlier.astype(np.uint8), (out_w, out_h),
                                interpolation=cv2.INTER_NEAREST).astype(bool)
    return RatioImages(codes=codes, box=np.array([x0, y0, x1, y1], np.float32),
                       outliers=small_outliers, raw_max=raw_max)
