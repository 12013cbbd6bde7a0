"""Every tunable constant, one frozen dataclass per stage.

Defaults are the paper's values ("Bringing Portraits to Life", Averbuch-Elor et al. 2017)
where the paper gives one, with the section named; the rest are ours and say why.
Change them with ``dataclasses.replace``; never mutate mid-run.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrackingParams:
    """precompute: landmarks and peripheral points in the driving clip (Sec. 4)."""

    # MediaPipe face mesh confidences (video mode); 0.5 is MediaPipe's own default.
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    # Peripheral points: "good features" outside the face on the neutral frame (Sec. 4).
    peripheral_max_points: int = 80
    peripheral_quality: float = 0.01
    # Spacing as a fraction of the frame diagonal, so point density does not depend on size.
    peripheral_min_distance_frac: float = 0.04
    # Keep features off the face: the face hull is grown by this fraction of its size.
    peripheral_face_margin_frac: float = 0.08
    # Pyramidal Lucas-Kanade (Bouguet 2001, the paper's tracker [4]).
    lk_window_px: int = 21
    lk_levels: int = 3
    # Forward-backward check: a point whose round trip misses by more than this is lost.
    fb_max_error_px: float = 1.0
    # Face lost: gaps up to this long are interpolated; longer ones are an error.
    max_gap_s: float = 0.5
    # More than this fraction of frames without a face -> the clip is unusable.
    max_lost_fraction: float = 0.2


@dataclass(frozen=True)
class PhotoParams:
    """reactive: loading and checking the target photo t*."""

    # Longer side cap; keeps per-frame cost bounded for 20-megapixel photos.
    max_side: int = 1024
    # Head turn (|yaw| estimate, 0 = frontal, 1 = profile) above which we warn (Sec. 3 assumes
    # a frontal target). 0.35 is roughly 20 degrees: the Mona Lisa (about 0.3) passes quietly.
    max_yaw_warn: float = 0.35
    # Mouth opening / mouth width above which the target is not neutral (Sec. 3 assumes neutral).
    # Relaxed lips are often parted (0.1-0.2); a visibly open mouth is above 0.3.
    max_mouth_open_warn: float = 0.25


@dataclass(frozen=True)
class WarpParams:
    """reactive: confidence-aware warping (Sec. 4)."""

    # "10 different blurring kernels with radii in the range [0, 0.05 * S_diag]" (Sec. 4).
    blur_levels: int = 10
    blur_radius_max_frac: float = 0.05
    # Blur radius at distance d from the face is min(d * slope, max). slope <= 1 keeps every
    # blur window outside the face, so the face stays unsmoothed and the field stays continuous
    # at its edge.
    blur_radius_slope: float = 1.0
    # Two box passes approximate the paper's disk with a smoother (tent) profile; a box of any
    # radius costs O(1) per pixel through a summed-area table.
    blur_passes: int = 2
    # Newton steps that invert the forward field (inverse mapping, Sec. 4); 3 reach a
    # hundredth of a pixel on smooth fields.
    inverse_iterations: int = 3
    # The outer band of the frame is held still (the paper's fixed border points); the hold
    # fades out over the next band so there is no seam. The fade must be wider than the
    # displacement reaching it, or the ramp itself folds the field (gradient > 1).
    border_hold_frac: float = 0.05
    border_fade_frac: float = 0.10
    # Each control point's move towards the frame edge is softly capped at this fraction of
    # its room to the held border band (beyond the paper, which assumes moderate head motion
    # and a face well inside the frame): no band is squeezed flat, where the field would fold
    # and the picture tear. Moves below 70% of the cap pass unchanged. 0 turns the cap off.
    max_squeeze: float = 0.9
    # Border control points per side.
    border_points_per_side: int = 9
    # A hallucinated peripheral point closer than this (fraction of the face size) to another
    # control point is dropped: near-duplicate points make slivers.
    min_point_spacing_frac: float = 0.03


@dataclass(frozen=True)
class DetailParams:
    """precompute + reactive: fine-scale details, expression ratio images (Sec. 6)."""

    # f = a smoothed luminance: a light blur (px) keeps sensor noise out of the ratio.
    luminance_sigma_px: float = 1.0
    # "multiply the effect of values > 1 by 0.01": brightening is mostly misalignment.
    brighten_damping: float = 0.01
    # Outliers (Sec. 6): pixels with R > 1.1 or R < 1/1.1 are significant ...
    significant_ratio: float = 1.1
    # ... a component is an outlier when its pixels find, on average, a 3x3 patch in s*
    # within a 20x20 window (rotated up to 30 degrees) whose largest RGB difference is < 5.
    patch_window_px: int = 20
    patch_max_rotation_deg: float = 30.0
    patch_rotation_steps: int = 5
    outlier_max_diff: float = 5.0
    # Pixels within 20 px of an outlier get R = 1.
    outlier_radius_px: float = 20.0
    # Components smaller than this (px) are noise, not creases or shadows: left as they are.
    min_component_px: int = 4
    # "Gaussian filter over time, 21 frames wide" on the aligned ratio images.
    temporal_frames: int = 21
    # Storage: ratio images at this fraction of the clip's resolution, log2(R) quantized to
    # 1/128 (0.5% steps) in uint8, cropped to the face.
    storage_scale: float = 0.5


@dataclass(frozen=True)
class MouthParams:
    """reactive: hidden regions, the mouth interior (Sec. 5)."""

    # "eroded by a disk of radius 0.1 * h_mouth" (Sec. 5), h_mouth in the target photo.
    erode_frac: float = 0.1
    # Gate: none below a*, full above 2 a*, linear between (Sec. 5): no flicker as the mouth
    # opens and closes.
    full_at: float = 2.0
    # a* floor, as a fraction of mouth width squared: a photo with closed lips has a* ~ 0,
    # and landmark jitter alone would then switch the interior on.
    min_a_star_frac: float = 0.01
    # Feather of the composite's edge, px.
    feather_px: float = 1.5
