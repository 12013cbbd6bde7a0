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

Beyond the paper, so that only expression creases reach the target (``FrameRatio``, per
frame, before the steps above):

- misalignment is not darkening: a pixel is darkened only where it is darker than every
  neutral pixel within a few percent of the inter-ocular distance (a brow, a lash line,
  eyeliner, a nostril or a glasses frame the 2D alignment shifted by a few pixels paints
  nothing);
- occluders are not creases: a patch that darkens deeply and widely against the frame's
  broad shading (hair falling over the forehead, a turned cheek's edge sampling hair or
  background) is dropped with the whole darkening around it;
- R is high-passed (divided by its own blur): turning heads move their shadows, which the
  ratio would otherwise paint over half the target's face;
- a fold darkens by a fraction: what is left is compressed smoothly towards a floor;
- after the temporal filter, darkening below a noise floor is subtracted everywhere.

The mouth interior is the hidden stage's (``mouth.py``) and the eyes stay the target's: R = 1
inside the neutral frame's mouth and eye openings (and nostrils).
Stored cropped to the face, at half resolution, as log2(R) quantized to 1/128 in uint8.

The per-frame part (the alignment, ``FrameRatio``, the face region and openings) lives in
``reactive.core.ratio``, shared with the live puppet's creases; here are the clip-wide steps
(outliers from the most expressive frame, the centred temporal filter).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d

from reactive.core import landmarks as lm
from reactive.core.clip import ClipPack, peak_frame
from reactive.core.details import encode_ratio
from reactive.core.kernels.patches import patch_search
from reactive.core.ratio import (
    FrameRatio,
    aligned_frames,
    edge_fade,
    face_box,
    face_region,
    luminance,
    openings_mask,
    shrink_darkening,
)
from reactive.params import DetailParams

log = logging.getLogger(__name__)


@dataclass
class RatioImages:
    """What a clip pack stores: (F, h, w) uint8 codes over ``box`` = [x0, y0, x1, y1] of the
    neutral frame (source pixels), and the outlier mask kept for inspection."""

    codes: np.ndarray
    box: np.ndarray
    outliers: np.ndarray  # (h, w) bool, at storage resolution
    raw_max: float = 1.0  # largest brightening before damping, on the face


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
    box = face_box(face, int(params.outlier_radius_px))
    sigma = params.luminance_sigma_px
    openings = openings_mask(points, (h, w))[box]
    frame_ratio = FrameRatio(luminance(neutral, sigma)[box], openings,
                             float(lm.interocular(points)), params)
    ref = peak_frame(pack)
    crop_h, crop_w = box[0].stop - box[0].start, box[1].stop - box[1].start
    out_h = max(1, int(round(crop_h * params.storage_scale)))
    out_w = max(1, int(round(crop_w * params.storage_scale)))
    # log2 R per frame, at storage resolution.
    stack = np.empty((len(frames), out_h, out_w), np.float32)
    face_crop = face[box]
    raw_max = 1.0
    occluded = 0
    aligned_ref = ratio_ref = None
    for i, aligned in enumerate(aligned_frames(frames, pack)):
        ratio, drop = frame_ratio(luminance(aligned[box], sigma))
        occluded += int((drop & face_crop).sum())
        raw_max = max(raw_max, float(ratio[face_crop].max()))
        if i == ref:
            aligned_ref, ratio_ref = aligned[box].copy(), ratio
        stack[i] = np.log2(cv2.resize(ratio, (out_w, out_h), interpolation=cv2.INTER_AREA))
    log.info("details: occluders cover %.1f%% of the face's pixel-frames",
             100.0 * occluded / max(int(face_crop.sum()) * len(frames), 1))
    # Outliers on the ratio of the most expressive frame (before damping, as in Sec. 6).
    outlier = find_outliers(ratio_ref, aligned_ref, neutral[box], face_crop, params)
    log.info("details: reference frame %d, outliers cover %.1f%% of the face", ref,
             100.0 * outlier.sum() / max(face_crop.sum(), 1))
    # Brightening damped; R = 1 off the face, on outliers and inside the mouth.
    damp = np.float32(params.brighten_damping)
    np.multiply(stack, np.where(stack > 0, damp, np.float32(1.0)), out=stack)
    keep = face_crop & ~outlier & ~openings
    # A soft edge: the mask's blur keeps a seam out of the target. Towards the face's own
    # outline the ratio fades out over ``edge_fade_iod``: strands of hair, the jaw's and a
    # turned cheek's edge live there, and folds hardly reach it.
    soft = cv2.GaussianBlur(keep.astype(np.float32), (0, 0), 2.0)
    soft *= edge_fade(face_crop, params.edge_fade_iod * float(lm.interocular(points)))
    stack *= cv2.resize(soft, (out_w, out_h), interpolation=cv2.INTER_AREA)[None]
    stack = temporal_filter(stack, params.temporal_frames)
    shrink_darkening(stack, params.noise_floor)
    codes = encode_ratio(np.exp2(stack))
    small_outliers = cv2.resize(outlier.astype(np.uint8), (out_w, out_h),
                                interpolation=cv2.INTER_NEAREST).astype(bool)
    x0, y0 = box[1].start, box[0].start
    return RatioImages(codes=codes,
                       box=np.array([x0, y0, box[1].stop, box[0].stop], np.float32),
                       outliers=small_outliers, raw_max=raw_max)
