"""The per-frame expression ratio image (paper Sec. 6; Liu et al. 2001): one frame of a
driver, aligned to its neutral frame, over that neutral frame, creases only.

Shared by the clip packs' ratio images (``precompute.details``: every frame of a clip, then
the outliers and a centred temporal filter) and the live puppet's (``LiveRatio``: each camera
frame as it comes, a causal filter), so both see the same creases in the same frame.

- ``face_region``, ``openings_mask``, ``face_box``: the neutral frame's face, its openings
  (R = 1) and the box the ratio images cover;
- ``aligned_frames`` / ``FrameAligner``: a frame sampled into the neutral frame's geometry
  (the whole frame, or only the face's box, into reused buffers);
- ``FrameRatio``: one aligned frame's luminance -> R (see its docstring and the module
  docstring of ``precompute.details`` for the steps beyond the paper);
- ``LiveRatio``: the live path, per camera frame, storage codes out.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from reactive.core import landmarks as lm
from reactive.core.clip import ClipPack
from reactive.core.geometry import smoothstep
from reactive.core.motion import frame_offsets
from reactive.core.rig import build_rig
from reactive.core.warper import Warper
from reactive.params import DetailParams, WarpParams

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


# The nostrils (face mesh indices round each): dark holes that flare and narrow with the
# expression; their shading is the nose's, not a fold of skin.
NOSTRILS = (np.array([218, 79, 239, 44, 125, 241, 238, 20, 60, 75, 166]),
            np.array([438, 309, 459, 274, 354, 461, 458, 250, 290, 305, 392]))


def openings_mask(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The mouth and eye openings and the nostrils of the neutral frame, grown a little:
    (H, W) bool.

    Their ratio says where the driver's teeth, irises and nostrils went, not how the skin
    creased: the mouth is the hidden stage's, and the target keeps its own eyes and nose.
    """
    iod = float(lm.interocular(points))
    mask = np.zeros(shape, np.uint8)
    for ring in (lm.LIPS_INNER, lm.LEFT_EYE, lm.RIGHT_EYE):
        cv2.fillPoly(mask, [np.round(points[ring]).astype(np.int32)], 1)
    nostrils = np.zeros(shape, np.uint8)
    for ring in NOSTRILS:
        cv2.fillPoly(nostrils, [cv2.convexHull(np.round(points[ring]).astype(np.int32))], 1)
    # The nostrils grow less: a nasolabial fold starts just beside the nose's wing.
    return (cv2.dilate(mask, _disk(max(2.0, 0.15 * iod))) > 0) | \
        (cv2.dilate(nostrils, _disk(max(1.0, 0.04 * iod))) > 0)


def _disk(radius: float) -> np.ndarray:
    r = max(1, int(round(radius)))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def robust_ratio(lum: np.ndarray, base_min: np.ndarray, base_max: np.ndarray) -> np.ndarray:
    """The ratio image of one aligned frame, blind to misalignment: (h, w) float32.

    ``lum``: the aligned frame's smoothed luminance; ``base_min``, ``base_max``: the neutral
    frame's, eroded and dilated by the alignment tolerance (all (h, w) float32, > 0). A pixel
    darker than every neutral pixel near it is darkened by lum / base_min, one brighter than
    every one brightened by lum / base_max; anything between is a shifted feature: R = 1.
    """
    dark = np.minimum(lum / base_min, np.float32(1.0))
    bright = np.maximum(lum / base_max, np.float32(1.0))
    return np.where(dark < 1.0, dark, bright)


def broad_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """``cv2.GaussianBlur`` of ``image`` (h, w) float32 by a large ``sigma`` (px), computed
    at a resolution where sigma is 2 px (a broad blur has nothing finer to keep)."""
    k = int(sigma // 2)
    h, w = image.shape
    if k < 2 or min(h, w) < 4 * k:
        return cv2.GaussianBlur(image, (0, 0), sigma)
    small = cv2.resize(image, (max(1, round(w / k)), max(1, round(h / k))),
                       interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / k)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _occluder_seeds(local: np.ndarray, params: DetailParams, width_px: float) -> np.ndarray:
    """Pixels of ``local`` (h, w) below ``occluder_ratio`` in a patch at least ``width_px``
    across (what survives a morphological opening): (h, w) bool."""
    deep = (local < params.occluder_ratio).astype(np.uint8)
    if not deep.any():
        return deep.astype(bool)
    return cv2.morphologyEx(deep, cv2.MORPH_OPEN, _disk(0.5 * width_px)).astype(bool)


def occluders(ratio: np.ndarray, params: DetailParams, width_px: float, grow_px: float,
              broad_px: float) -> np.ndarray:
    """Where ``ratio`` (h, w) darkens like an occluder, not a fold: (h, w) bool.

    A fold of skin is a narrow darkening; hair or a turned cheek's edge darkens deeply over
    a wide area. Both are judged against the frame's broad shading (its blur at
    ``broad_px``; a face that tips away from the light darkens as a whole, and that is
    neither), the occluders' own cores left out of that blur once found. Seeds: pixels
    below ``occluder_ratio`` in a patch at least ``width_px`` across. Every connected
    region below ``occluder_extent_ratio`` that holds a seed is dropped whole (its soft
    edge with it), grown by ``grow_px``.
    """
    seeds = _occluder_seeds(ratio / broad_blur(ratio, broad_px), params, width_px)
    if not seeds.any():
        return seeds
    # The occluder darkened the blur around it: judge its edge against the skin's shading.
    core = cv2.dilate(seeds.astype(np.uint8), _disk(grow_px)).astype(bool)
    local = ratio / masked_blur(ratio, ~core, broad_px)
    seeds = _occluder_seeds(local, params, width_px) | seeds
    extent = (local < params.occluder_extent_ratio).astype(np.uint8)
    n, labels = cv2.connectedComponents(extent, connectivity=8)
    hit = np.zeros(n, bool)
    hit[np.unique(labels[seeds])] = True
    hit[0] = False
    return cv2.dilate(hit[labels].astype(np.uint8), _disk(grow_px)).astype(bool)


def soft_floor(ratio: np.ndarray, floor: float) -> np.ndarray:
    """Darkening compressed towards ``floor`` (in place; (h, w) float32): log2 R -> c
    tanh(log2 R / c), c = -log2 floor. Slight darkening is kept as it is; none goes below
    ``floor``."""
    if floor <= 0.0:
        return ratio
    c = -float(np.log2(floor))
    dark = ratio < 1.0
    ratio[dark] = np.exp2(c * np.tanh(np.log2(ratio[dark]) / c))
    return ratio


def edge_fade(face: np.ndarray, width: float) -> np.ndarray:
    """(h, w) float32 weight, 0 outside ``face`` (h, w) bool, rising smoothly to 1 at
    ``width`` px inside its outline."""
    if width <= 0:
        return face.astype(np.float32)
    inside = cv2.distanceTransform(face.astype(np.uint8), cv2.DIST_L2, 5)
    return smoothstep(inside / np.float32(width)).astype(np.float32)


def shrink_darkening(log_ratio: np.ndarray, floor: float) -> np.ndarray:
    """Darkening less than ``floor`` (a fraction) is noise: log2 R -> min(log2 R + d, 0)
    where it darkens, d = -log2(1 - floor); in place, any shape float32."""
    if floor <= 0.0:
        return log_ratio
    d = np.float32(-np.log2(1.0 - floor))
    dark = log_ratio < 0
    log_ratio[dark] = np.minimum(log_ratio[dark] + d, 0.0)
    return log_ratio


def masked_blur(image: np.ndarray, valid: np.ndarray, sigma: float) -> np.ndarray:
    """Broad Gaussian blur (``broad_blur``) of ``image`` (h, w) float32 over its ``valid``
    (h, w) bool pixels only (normalized convolution); where no valid pixel is near, 1."""
    weight = broad_blur(valid.astype(np.float32), sigma)
    total = broad_blur(np.where(valid, image, np.float32(0.0)), sigma)
    out = np.ones_like(image)
    np.divide(total, weight, out=out, where=weight > 1e-3)
    return out


class FrameRatio:
    """One aligned frame -> its ratio image R over the neutral frame, creases only.

    Built once per clip from the neutral frame's smoothed luminance ``base`` (h, w) float32
    (``luminance``, cropped to the face's box), its ``openings`` (h, w) bool (eyes and
    mouth: R = 1) and the inter-ocular distance ``iod`` (px). Per frame, in this order:

    1. misalignment is not darkening (``robust_ratio``);
    2. occluders are not creases (``occluders``, against the frame's broad shading);
    3. fine scale only: R over its own blur (``highpass_sigma_iod``), occluders left out;
    4. a fold darkens by a fraction: compressed towards ``crease_floor``.
    """

    def __init__(self, base: np.ndarray, openings: np.ndarray, iod: float,
                 params: DetailParams = DetailParams()):
        self.params = params
        self.openings = openings
        tolerance = _disk(params.align_tolerance_iod * iod)
        self.base_min, self.base_max = cv2.erode(base, tolerance), cv2.dilate(base, tolerance)
        self.sigma_hp = params.highpass_sigma_iod * iod
        self.sigma_broad = params.broad_shading_iod * iod
        self.grow = params.occluder_grow_iod * iod
        self.width = params.occluder_width_iod * iod

    def __call__(self, lum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``lum``: the aligned frame's smoothed luminance (h, w) float32. Returns
        ``(ratio, occluded)``: (h, w) float32 R and (h, w) bool, both new arrays."""
        p = self.params
        ratio = robust_ratio(lum, self.base_min, self.base_max)
        ratio[self.openings] = 1.0
        drop = occluders(ratio, p, self.width, self.grow, self.sigma_broad)
        ratio[drop] = 1.0
        if self.sigma_hp > 0 and drop.any():
            ratio /= masked_blur(ratio, ~drop, self.sigma_hp)
            ratio[drop] = 1.0
        elif self.sigma_hp > 0:
            ratio /= broad_blur(ratio, self.sigma_hp)
        soft_floor(ratio, p.crease_floor)
        return ratio, drop


def luminance(img: np.ndarray, sigma: float) -> np.ndarray:
    """f of Sec. 6: (H, W, 3) uint8 RGB -> (H, W) float32 grey, blurred by ``sigma`` px,
    plus 1 (so that ratios of black stay finite)."""
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return cv2.GaussianBlur(gray, (0, 0), sigma) + 1.0


def face_box(face: np.ndarray, pad: int) -> tuple[slice, slice]:
    """The box around ``face`` (H, W) bool, grown by ``pad`` px and clipped: (rows, cols)."""
    h, w = face.shape
    ys, xs = np.nonzero(face)
    x0, x1 = max(xs.min() - pad, 0), min(xs.max() + pad + 1, w)
    y0, y1 = max(ys.min() - pad, 0), min(ys.max() + pad + 1, h)
    return slice(y0, y1), slice(x0, x1)


def aligned_frames(frames: list[np.ndarray], pack: ClipPack):
    """Each frame of the clip sampled into its neutral frame's geometry: yields (H, W, 3)
    uint8 (a buffer reused between frames).

    The same warp the player uses, with the driver's neutral frame as the "photo": phi is
    the identity and frame_offsets are s_i - s*. Alignment must follow the landmarks
    exactly, so none of the player's safeguards (caps near the frame's edge, the border
    hold, unfolding) apply: they would misalign and paint hair or background onto skin.
    """
    n0 = pack.neutral_index
    neutral = frames[n0]
    h, w = neutral.shape[:2]
    rig = replace(build_rig(neutral, pack.landmarks[n0], pack, params=WarpParams(
        max_squeeze=0.0, border_hold_frac=0.0, border_fade_frac=0.0)), unfold=None)
    warper = Warper(rig, smooth=False)
    grid_y, grid_x = np.mgrid[0:h, 0:w].astype(np.float32)
    offsets = np.zeros((len(rig.rest), 2), np.float32)
    map_x, map_y = np.empty_like(grid_x), np.empty_like(grid_y)
    out = np.empty_like(neutral)
    for i, frame in enumerate(frames):
        field = warper.compute_field(frame_offsets(rig, pack, i, offsets))
        np.add(grid_x, field[..., 0], out=map_x)
        np.add(grid_y, field[..., 1], out=map_y)
        cv2.remap(frame, map_x, map_y, cv2.INTER_LINEAR, dst=out,
                  borderMode=cv2.BORDER_REPLICATE)
        yield out
