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
import numba
import numpy as np

from reactive.core import landmarks as lm
from reactive.core.clip import ClipPack
from reactive.core.geometry import smoothstep
from reactive.core.jaw import frame_hold
from reactive.core.kernels.warp import interpolate_offsets
from reactive.core.motion import frame_offsets
from reactive.core.rig import Rig, build_rig
from reactive.core.similarity import fit_similarity
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
    rig = alignment_rig(neutral, pack)
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


def alignment_rig(neutral: np.ndarray, pack: ClipPack) -> Rig:
    """The rig that samples ``pack``'s frames into its neutral frame ``neutral`` (H, W, 3)
    uint8: the driver's neutral frame as the "photo", dense, and none of the player's
    safeguards (see ``aligned_frames``)."""
    n0 = pack.neutral_index
    return replace(build_rig(neutral, pack.landmarks[n0], pack, params=WarpParams(
        max_squeeze=0.0, border_hold_frac=0.0, border_fade_frac=0.0)), unfold=None, chin=None)


class FrameAligner:
    """``aligned_frames`` for one frame at a time and only over ``box`` (rows, cols) of the
    neutral frame, into reused buffers: the same per-pixel field (the dense rig's
    structures cropped to the box), so the aligned box is the same pixels as
    ``aligned_frames``' cropped.

    ``aligner(frame, offsets)``: ``frame`` (H, W, 3) uint8, ``offsets`` (K, 2) float32 from
    ``frame_offsets(aligner.rig, ...)``; returns the (h, w, 3) uint8 box, overwritten next
    call.
    """

    def __init__(self, rig: Rig, box: tuple[slice, slice]):
        d = rig.dense
        if d is None:
            raise ValueError("`rig` has no dense geometry: use alignment_rig")
        self.rig, self.box = rig, box
        self.vertex_ids = np.ascontiguousarray(d.vertex_ids[box])
        self.weights = np.ascontiguousarray(d.weights[box])
        self.hold = np.ascontiguousarray(d.hold[box])
        self.give = (np.ascontiguousarray(d.hold_give[box])
                     if d.hold_give is not None and d.hold_give.size else d.hold_give)
        h, w = self.hold.shape
        gy, gx = np.mgrid[box[0].start:box[0].start + h, box[1].start:box[1].start + w]
        self._gx, self._gy = gx.astype(np.float32), gy.astype(np.float32)
        self.field = np.zeros((h, w, 2), np.float32)
        self._hold = np.zeros((h, w), np.float32)
        self._map_x, self._map_y = np.empty((h, w), np.float32), np.empty((h, w), np.float32)
        self.out = np.empty((h, w, 3), np.uint8)

    def __call__(self, frame: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        # One thread: a face box is too small to share (as ``GridWarper.compute_map``), and
        # the live puppet calls this on the camera's thread beside the display's warp.
        threads = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            interpolate_offsets(self.vertex_ids, self.weights, offsets, self.field)
        finally:
            numba.set_num_threads(threads)
        hold = frame_hold(self.hold, self.give, self.rig.jaw, offsets, self._hold)
        self.field *= hold[..., None]
        np.add(self._gx, self.field[..., 0], out=self._map_x)
        np.add(self._gy, self.field[..., 1], out=self._map_y)
        cv2.remap(frame, self._map_x, self._map_y, cv2.INTER_LINEAR, dst=self.out,
                  borderMode=cv2.BORDER_REPLICATE)
        return self.out


def live_pack(points: np.ndarray, size: tuple[int, int]) -> ClipPack:
    """A two-frame clip for ``LiveRatio``: frame 0 the neutral camera frame's ``points``
    (478, 2), frame 1 rewritten for each camera frame; ``size`` (w, h) of the camera's
    frames."""
    head = np.zeros((2, 2, 3), np.float32)
    head[:, 0, 0] = head[:, 1, 1] = 1.0
    return ClipPack(fps=30.0, source_size=(int(size[0]), int(size[1])), neutral_index=0,
                    landmarks=np.repeat(points.astype(np.float32)[None], 2, axis=0),
                    face_detected=np.ones(2, bool),
                    peripheral=np.zeros((2, 0, 2), np.float32),
                    peripheral_valid=np.zeros((2, 0), bool), head=head, tag="live-creases",
                    source="camera")


class LiveRatio:
    """The live puppet's creases: each camera frame's ratio image over the neutral camera
    frame, as the clip packs' (``precompute.details.ratio_images``: the same alignment, the
    same ``FrameRatio``, face region and openings, brightening damping, soft mask, edge fade
    and noise floor, at ``storage_scale``), with two differences a live camera imposes:

    - the temporal filter is causal, an exponential mean over past frames (each new frame
      weighs ``params.live_smoothing``): the clips' centred Gaussian needs future frames;
    - no outlier step: it needs the clip's most expressive frame, which a live camera has
      not filmed yet. What it guards against (shading already in the neutral frame) is
      mostly caught per frame by the misalignment tolerance and the occluder test.

    Built once per neutral (a few hundred ms: GrabCut of the face, the dense alignment
    rig) from ``neutral`` (H, W, 3) uint8 RGB and ``pack`` (its frame ``pack.neutral_index``
    is ``neutral``'s landmarks; ``live_pack`` for the camera). Per frame, on the camera's
    thread: ``live(frame, points)`` (or ``step(frame, i)`` for a frame of ``pack``) returns
    the frame's filtered ratio image as pack codes (``details.encode_ratio``), (h, w) uint8
    over ``ratio_box``, in one of ``pool`` buffers (valid for the next ``pool - 1`` calls).
    The alignment, luminance, filter and codes use reused buffers; ``FrameRatio`` itself
    allocates its face-box-sized temporaries (as for the clips). ``reset()`` forgets the
    filter's past (the face was lost).
    """

    def __init__(self, neutral: np.ndarray, pack: ClipPack,
                 params: DetailParams = DetailParams(), *, scale: float | None = None,
                 pool: int = 4):
        n0 = pack.neutral_index
        points = pack.landmarks[n0]
        h, w = neutral.shape[:2]
        if pack.source_size != (w, h):
            raise ValueError(f"`neutral` must be of the pack's size {pack.source_size}; got "
                             f"{(w, h)}")
        self.params, self.pack = params, pack
        face = face_region(neutral, points)
        box = face_box(face, int(params.outlier_radius_px))
        self.box = box
        self.ratio_box = np.array([box[1].start, box[0].start, box[1].stop, box[0].stop],
                                  np.float32)
        iod = float(lm.interocular(points))
        openings = openings_mask(points, (h, w))[box]
        crop_h, crop_w = box[0].stop - box[0].start, box[1].stop - box[1].start
        out_h = max(1, int(round(crop_h * params.storage_scale)))
        out_w = max(1, int(round(crop_w * params.storage_scale)))
        self.size = (out_w, out_h)
        # FrameRatio at ``scale`` of the camera's pixels: 1 is the clips' own computation;
        # at the storage scale it costs about a tenth and needs no resize after.
        scale = params.live_ratio_scale if scale is None else float(scale)
        if not 0.0 < scale <= 1.0:
            raise ValueError(f"`scale` must be in (0, 1]; got {scale}")
        self.work = ((out_w, out_h) if abs(scale - params.storage_scale) < 1e-9 else
                     (max(1, int(round(crop_w * scale))), max(1, int(round(crop_h * scale)))))
        base = luminance(neutral, params.luminance_sigma_px)[box]
        if scale < 1.0:
            base = cv2.resize(base, self.work, interpolation=cv2.INTER_AREA)
            # Any pixel touching an opening is one (its ratio is the eye's or the teeth's).
            openings_work = cv2.resize(openings.astype(np.float32), self.work,
                                       interpolation=cv2.INTER_AREA) > 0
        else:
            openings_work = openings
        self.scale = scale
        self.frame_ratio = FrameRatio(base, openings_work, iod * scale, params)
        face_crop = face[box]
        soft = cv2.GaussianBlur((face_crop & ~openings).astype(np.float32), (0, 0), 2.0)
        soft *= edge_fade(face_crop, params.edge_fade_iod * iod)
        self.soft = cv2.resize(soft, self.size, interpolation=cv2.INTER_AREA)
        self.aligner = FrameAligner(alignment_rig(neutral, pack), box)
        self._offsets = np.zeros((len(self.aligner.rig.rest), 2), np.float32)
        self._grey = np.empty((crop_h, crop_w), np.uint8)
        self._grey32 = np.empty((crop_h, crop_w), np.float32)
        self._lum = np.empty((crop_h, crop_w), np.float32)
        self._lum_work = (self._lum if scale == 1.0 else
                          np.empty((self.work[1], self.work[0]), np.float32))
        self._small = np.empty((out_h, out_w), np.float32)
        self._tmp = np.empty((out_h, out_w), np.float32)
        self._state = np.zeros((out_h, out_w), np.float32)
        self._out = np.empty((out_h, out_w), np.float32)
        self._codes = np.full((pool, out_h, out_w), 128, np.uint8)
        self._next = 0
        self._started = False
        self._shrink = np.float32(-np.log2(1.0 - params.noise_floor)
                                  if params.noise_floor > 0 else 0.0)

    def reset(self) -> None:
        self._started = False

    def log_ratio(self, frame: np.ndarray, i: int) -> np.ndarray:
        """log2 R of ``frame`` (H, W, 3) uint8, frame ``i`` of the pack, before the temporal
        filter and the noise floor (brightening damped, masked): (h, w) float32, a buffer
        overwritten next call. The same values as the clips' stack before their filter,
        outliers aside."""
        p = self.params
        offsets = frame_offsets(self.aligner.rig, self.pack, i, self._offsets)
        aligned = self.aligner(frame, offsets)
        # luminance(), into buffers.
        cv2.cvtColor(aligned, cv2.COLOR_RGB2GRAY, dst=self._grey)
        np.copyto(self._grey32, self._grey)
        cv2.GaussianBlur(self._grey32, (0, 0), p.luminance_sigma_px, dst=self._lum)
        self._lum += np.float32(1.0)
        if self._lum_work is not self._lum:
            cv2.resize(self._lum, self.work, dst=self._lum_work, interpolation=cv2.INTER_AREA)
        ratio, _ = self.frame_ratio(self._lum_work)
        small = self._small
        if ratio.shape == small.shape:
            np.log2(ratio, out=small)
        else:
            cv2.resize(ratio, self.size, dst=small, interpolation=cv2.INTER_AREA)
            np.log2(small, out=small)
        # Brightening damped: x -> min(x, 0) + damping * max(x, 0).
        np.maximum(small, np.float32(0.0), out=self._tmp)
        np.minimum(small, np.float32(0.0), out=small)
        self._tmp *= np.float32(p.brighten_damping)
        small += self._tmp
        small *= self.soft
        return small

    def step(self, frame: np.ndarray, i: int) -> np.ndarray:
        """Frame ``i`` of the pack (``frame`` (H, W, 3) uint8): its filtered ratio image as
        (h, w) uint8 codes, in a pooled buffer."""
        small = self.log_ratio(frame, i)
        state = self._state
        if self._started:
            np.subtract(small, state, out=self._tmp)
            self._tmp *= np.float32(self.params.live_smoothing)
            state += self._tmp
        else:
            np.copyto(state, small)
            self._started = True
        # shrink_darkening into _out: min(x + d, 0) where x < 0, x elsewhere.
        out, tmp = self._out, self._tmp
        np.minimum(state, np.float32(0.0), out=tmp)
        tmp += self._shrink
        np.minimum(tmp, np.float32(0.0), out=tmp)
        np.maximum(state, np.float32(0.0), out=out)
        out += tmp
        # encode_ratio: 128 + 128 log2 R, rounded, clipped.
        out *= np.float32(128.0)
        out += np.float32(128.0)
        np.rint(out, out=out)
        np.clip(out, 0.0, 255.0, out=out)
        codes = self._codes[self._next]
        self._next = (self._next + 1) % len(self._codes)
        np.copyto(codes, out, casting="unsafe")
        return codes

    def __call__(self, frame: np.ndarray, points: np.ndarray) -> np.ndarray:
        """A camera frame (``frame`` (H, W, 3) uint8 and its ``points`` (478, 2)), the pack
        being ``live_pack``'s: its codes as ``step``'s."""
        pack = self.pack
        pack.landmarks[1] = points
        pack.head[1] = fit_similarity(pack.landmarks[0, lm.STABLE_POINTS].astype(np.float64),
                                      points[lm.STABLE_POINTS].astype(np.float64))
        return self.step(frame, 1)
