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

    # Longer side cap (live and offline alike; ``--max-side``): the warp's cost is per pixel,
    # so this keeps a frame real time however large the photo (a 20-megapixel scan).
    max_side: int = 1024
    # Head turn (|yaw| estimate, 0 = frontal, 1 = profile) above which we warn (Sec. 3 assumes
    # a frontal target). 0.35 is roughly 20 degrees: the Mona Lisa (about 0.3) passes quietly.
    max_yaw_warn: float = 0.35
    # Mouth opening / mouth width above which the target is not neutral (Sec. 3 assumes neutral).
    # Relaxed lips are often parted (0.1-0.2); a visibly open mouth is above 0.3.
    max_mouth_open_warn: float = 0.25
    # Lip corners raised above the lips' middle by this fraction of the mouth's width: a
    # smile (a relaxed mouth is level or turned down, 0 +- 0.05). The clip's smile is then
    # added on top of the photo's.
    max_smile_warn: float = 0.085


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
    # Newton steps at most that invert the forward field (inverse mapping, Sec. 4). One to
    # three reach a thousandth of a pixel on smooth fields and stop there; where a turning
    # head stretches the field four-fold or more, each capped step crawls, and too few
    # leave streaks and blocks. The budget costs only where it is needed.
    inverse_iterations: int = 12
    # Offline, where the field folds (a lip rolling over the skin beneath it, a nose over
    # the far cheek), every pixel shows the sheet in front (kernels.warp.front_sheets: what
    # moved most), carried from pixel to pixel by at most this many passes; each row's own
    # inverse kept to the sheet it came along on, and rows next to each other showed
    # different ones: streaks (s42 x d12 frames 90, 165, 166). The real-time grid's cells
    # and their bilinear upsampling showed none there; the passes would cost it 2-5 ms on a
    # folded frame, so it goes without.
    front_passes: int = 12
    # Newton steps per try there: started from a neighbour's source on its sheet, a
    # solution on that sheet is a step or two away; one not found in a few is not there.
    front_iterations: int = 4
    # ... tried only within this share of the photo's longer side of a turned-over cell:
    # the sheets in front and behind lie near the crease between them (at s42 x d12's
    # frame 90 up to 6% of it away).
    front_reach_frac: float = 0.08
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
    # The jaw is never held (issue 10, beyond the paper; core/jaw.py). The mesh is
    # triangulated with closed lips parted this far (fraction of the mouth's width,
    # mid-mouth; at most half the thinner lip's thickness): no triangle then joins the upper
    # lip to the lower one, which an opening mouth would turn over (jaw.part_lips). Only the
    # triangulation's layout moves; the rest positions stay the photo's.
    lip_part_frac: float = 0.04
    # No peripheral point is kept this far below the jaw line (fraction of the face size, the
    # square root of the face oval's area): a point on the neck or collar there would hold
    # the jaw, or fold under it. A wide open mouth drops the chin by up to about a fifth of
    # the face size (d3: 0.16).
    jaw_zone_frac: float = 0.25
    # The frame's bottom edge under the jaw (jaw.JawGive): a chin close above it must not be
    # held by the border band. In the column under the jaw the face and this margin round it
    # (fraction of the face size) are never held ...
    jaw_face_fade_frac: float = 0.05
    # ... the column's sides fade out over this width (fraction of the face size): the
    # band beside it is released less, a shear, not a tear. Half the face: a head brought
    # down with the jaw drags the field beside the column too (the face's triangles reach
    # the frame's bottom corners), and a band held within 0.15 of the face folded on the
    # shoulders under a nod (s42 x d12) ...
    jaw_side_fade_frac: float = 0.5
    # ... the head's move down is not capped (``max_squeeze``) over the column: the band
    # there gives way (jaw.JawGive.free_room, nod_scale). The free room fades out over this width
    # (fraction of the face size) beyond the jaw line's ends: a face moving sideways off
    # the column as it comes down keeps the cap, where the held band beside would fold ...
    jaw_free_fade_frac: float = 0.15
    # ... and the band under the jaw is released as the jaw's drop grows from jaw_give_start
    # to jaw_give_full of its distance to the bottom edge (smoothstep). The held band's ramp
    # multiplies a field that falls from the drop to 0 across that distance, which makes it
    # about twice as steep: at a drop of half the distance the strip folds. Below the start
    # the band stays still (a chin far above the edge never moves it).
    jaw_give_start: float = 0.3
    jaw_give_full: float = 0.5
    # With the band released, the strip under the jaw may lose at most this fraction of its
    # height; a drop beyond (a head nodding the chin out of a close crop, as d3 does) moves
    # the bottom edge under the jaw down, out of the frame, by the rest, instead of folding
    # the strip or holding the head. 0.7, not more: the triangles under the chin are steeper
    # than the strip's mean (0.8 folded a pixel under a 60 px drop 40 px above the edge).
    jaw_squeeze_max: float = 0.7
    # The skin from the lower lip to the jaw line (jaw.ChinSkin): a lower lip rolling out in
    # an "O" moves down much further than the skin under it, and by Eq. 1 the first ring of
    # triangles under the lip kept a tenth of its area or turned over: the photo's soft
    # lip-to-skin edge packed into a hard, stepped line (s2, s8, s42 x d10 frame 98). When
    # Eq. 1 leaves a triangle there less than chin_skin_floor of its rest area, the skin's
    # points move towards an even spread along each column between the lip and the jaw
    # line, all the way once the smallest keeps chin_skin_floor - chin_skin_span or less.
    chin_skin_floor: float = 0.5
    chin_skin_span: float = 0.3
    # Real-time warp (beyond the paper, for speed): field, smoothing and inverse on a grid of
    # this many cells along the photo's longer side (4 px at 1024); one fused pass then
    # upsamples the inverse map and samples the photo. The field is smooth at that scale
    # except along triangle edges, where the grid rounds a kink by a fraction of a pixel.
    grid_cells: int = 256


@dataclass(frozen=True)
class TurnParams:
    """reactive: head turns limited to what a 2D warp can show (beyond the paper, which
    assumes moderate head motion; ``core.turns``)."""

    # Yaw as ``landmarks.yaw_ratio`` (0 frontal, 1 profile; the built-in look_left clip's
    # 7 degrees read 0.08), the driver's relative to its neutral frame. Turns up to the knee
    # pass untouched; beyond, the turn (what the face does beyond the head's rigid motion)
    # is scaled so the yaw shown bends smoothly towards max_yaw. Further, the far cheek of a
    # 2D warp squashes into a strip and its contour folds over the face (d3 and d12 turn to
    # 0.45-0.53: on s42 and the Mona Lisa that reads as a squashed face, 0.3 as turned).
    # Lower values look calmer still (0.10 / 0.22), but every turn not shown counts against
    # the expression measure (``tools.quality``: s42 x d3 expression-only 0.430 -> 0.443 at
    # these values, 0.469 at those), which compares with Eq. 1's full turn.
    yaw_knee: float = 0.15
    max_yaw: float = 0.30


@dataclass(frozen=True)
class BackdropParams:
    """reactive: the person warped over a still background (beyond the paper, whose warp
    lets the background near the head wobble: one of its stated limitations)."""

    # The segmentation's probability is refined to the photo's own edges by a guided filter
    # (He et al. 2010) of this radius (fraction of the longer side; ~8 px at 1024) and
    # regularization (on 0..1 intensities): the model sees the photo at 256 x 256, so its
    # edge alone is a blur some 4 px wide at 1024.
    guided_radius_frac: float = 0.008
    guided_eps: float = 1e-3
    # The refined probability ramps to the person's alpha over this range (smoothstep): a
    # soft edge a few pixels wide, no faint veil of "maybe person" far out.
    alpha_low: float = 0.2
    alpha_high: float = 0.8
    # No split when the segmentation calls less than this share of the face oval a person
    # (a statue, a painted or drawn face the model does not see as a person) ...
    min_face_coverage: float = 0.6
    # ... or leaves less than this share of the photo as background (a tight crop): the
    # whole photo is then warped, as the paper does.
    min_background_share: float = 0.03
    # The filled area reaches this far beyond the person (fraction of the longer side):
    # the pixels just outside a segmentation's edge still hold a little hair or skin, which
    # the fill must not continue into the background it paints.
    fill_margin_frac: float = 0.006
    # The fill (made once per photo). Broad colours: within fill_band_frac of the person's
    # edge (fraction of the longer side; fading out to 1.5 times that) those of the
    # background just outside the nearest edge point, read beyond texture_guard_frac (the
    # segmentation's edge leaves hair there) and smoothed over texture_scale_frac; deeper,
    # where a moving head does not reach, a pyramid fill (it averages across the whole
    # hole: beside the head it came out lighter or darker than the background there, a
    # ghost of the outline). Over them, real background detail (finer than
    # texture_scale_frac, Gaussian) copied from texture_shift_frac further out along the
    # direction out of the person, that direction field smoothed over
    # texture_direction_frac so the copy is one coherent translated piece of background (a
    # mirror across the nearest edge point had seams between neighbours: it read as a
    # hatch); where that field fans out or gathers (a starburst) or its source is on the
    # person, straight sideways or upward shifts; out to two bands in. Copies are never read
    # within texture_guards guards of the edge (the background's own gradient towards the
    # edge, copied inside, also reads as a ghost of the outline). Detail beyond texture_clip
    # times its median amplitude in the background is clipped, so no edge strong enough to
    # read as a duplicate (a window frame, lettering) is copied. At 1024: band 154 px,
    # shift 82, guard 10 (copies from beyond 31), direction 102, scale 41.
    fill_band_frac: float = 0.15
    texture_shift_frac: float = 0.08
    texture_guard_frac: float = 0.01
    texture_guards: int = 3
    texture_direction_frac: float = 0.1
    texture_scale_frac: float = 0.04
    texture_clip: float = 3.0
    # ... and copied only from background at most texture_busier times as busy (RMS of its
    # detail over texture_scale_frac) as that beside the nearest edge point, fading out to
    # twice that: a card's or a frame's edge beside a plain backdrop (s11: a photo of a
    # photo) copied in reads as stripes.
    texture_busier: float = 1.5
    texture_colour_apart: float = 1.5
    # The broad colours carried in from beside the edge are smoothed over this fraction of
    # texture_scale_frac: over all of it, a window frame's dark band beside the head (s1)
    # was averaged with the wall above it and the curtain below into a grey that met the
    # frame with an edge where the head had been.
    edge_colour_scale: float = 0.33
    # Hair or skin just outside the segmentation's edge (alpha 0): a pixel there is
    # person-like by the log-likelihood ratio of its colour under local Gaussian colour
    # models of the person and of the background, ramping from fringe_low to fringe_high
    # (nats: e^2 to e^5 times likelier the person's) to "person" (the fill reads no
    # background colour from it; in the fill's margin it is filled and joins the person's
    # soft edge). fringe_noise (grey levels, std) widens both models: JPEG noise, and
    # a flat backdrop whose own spread is near zero.
    fringe_low: float = 2.0
    fringe_high: float = 5.0
    fringe_noise: float = 4.0
    # Within the fill's margin (fill_margin_frac) the person is the likelier side a priori
    # by this much (nats): the segmentation's edge is a few pixels off as often as not, and
    # hair there left in the plate stays behind as a line when the head moves.
    fringe_margin_prior: float = 8.0
    # ... in full where the person's local mean colour stands out from the background's by
    # more than 3.5 of its standard deviations (squared Mahalanobis distance 12 under the
    # background's local model), none below 2.5 (6): there they look alike.
    fringe_apart: tuple[float, float] = (6.0, 12.0)
    # ... and only for a pixel unusual for the background: its squared Mahalanobis distance
    # under the background's local model from 2 to 4 times the median of the background's
    # own pixels (for a 3-d Gaussian, about its 80th to 95th percentile).
    fringe_odd: tuple[float, float] = (2.0, 4.0)
    # The person's colours at its soft edge (``backdrop.unmix_person``): where the least
    # alpha that explains the photo puts them further than unmix_colour_reach (RGB
    # distance, grey levels) from the person's own colour close by (its pixels weighted by
    # coverage squared, a Gaussian of unmix_own_colour_frac of the photo's longer side),
    # alpha rises just enough to bring them within it (s1's white sleeve on a white wall:
    # a line of saturated blue drawn across it as it moved).
    unmix_colour_reach: float = 60.0
    unmix_own_colour_frac: float = 0.01
    # A light or dark band along the person's outline just outside the segmentation (a
    # photo's sharpening halo, a studio light's rim, a painter's contour round the head)
    # belongs to the person: left in the plate it stays behind as a ghost of the outline
    # when the head moves (s2's bright rim, s4's dark contour, x d12). Within halo_reach_frac
    # of the person (fraction of the shorter side), what the photo differs by from the
    # background beyond that, averaged along the outline over halo_along_frac (of the
    # longer side: a band that follows the outline is a halo; the background's own texture
    # averages out), is lifted off the plate and given to the person's soft edge: in full
    # from halo_levels[1] grey levels, none under halo_levels[0] (a plain backdrop's own
    # unevenness), and only where it stands out of how far the photo strays from it along
    # the outline, from halo_over_texture[0] to [1] times that (foliage, a landscape: no
    # halo, and what moved with the head there would swim). Single strands of hair within
    # the same reach go with the person too where the fringe's tests call them the
    # person's beyond doubt (past fringe_high and fringe_odd[1], ``backdrop.stray_strands``).
    halo_reach_frac: float = 0.02
    halo_along_frac: float = 0.03
    halo_levels: tuple[float, float] = (1.5, 4.0)
    halo_over_texture: tuple[float, float] = (1.0, 2.0)
    # Hair moves with the head: control points on rings around the face (the face oval
    # grown by these factors about its centre) follow the head's rigid motion. Without them
    # the hair between the moving face and the still frame border is squeezed and folds.
    # Only down to the nose tip's height: what holds the jaw, chin and neck is the warp's
    # own business. Beyond the head's rigid motion, each ring point may take a share of
    # what the contour beside it does (this much at the oval, falling to none at the
    # outermost ring). None by default: the hair then moves as the head, and the face
    # measures are closest to the whole photo warped (s42 x d3 expression-only 0.434
    # with none, 0.440 with 1; 0.431 without a ring, 0.429 without a backdrop).
    ring_scales: tuple[float, ...] = (1.3, 1.7)
    ring_contour_follow: float = 0.0


@dataclass(frozen=True)
class DetailParams:
    """precompute + reactive: fine-scale details, expression ratio images (Sec. 6)."""

    # f = a smoothed luminance: a light blur (px) keeps sensor noise out of the ratio.
    luminance_sigma_px: float = 1.0
    # Fine scale only (beyond the paper): R is divided by its own blur at this fraction of
    # the inter-ocular distance. A head that turns or nods moves its own shadows and the
    # 2D alignment misses; that shows as broad darkening over half the face, which is
    # lighting, not expression. Creases and wrinkles are narrower and stay. 0 turns it off.
    # 0.08 halves the darkened area on d3 (head turns, hair over the face: 8.7% -> 4.6% of
    # the face below R = 0.9) and keeps d0's smile folds (0.1% -> 0.2%).
    highpass_sigma_iod: float = 0.08
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
    # Beyond the paper, so that only expression creases reach the target (issue 11):
    # - Misalignment is not darkening. The 2D alignment is off by a few pixels near strong
    #   features (brows, lashes, eyeliner, nostrils, lips, glasses, the hairline), and a
    #   feature that merely shifted reads as a dark stroke. A pixel counts as darkened only
    #   when it is darker than every neutral pixel within this fraction of the inter-ocular
    #   distance (and brightened only when brighter than every one).
    align_tolerance_iod: float = 0.03
    # - Occluders are not creases. Hair falling over the forehead, a turned cheek's edge
    #   sampling hair or background darken deeply over a wide area; a fold of skin is
    #   narrow. Judged on the ratio over the frame's broad shading, its blur at
    #   ``broad_shading_iod`` (a face that tips away from the light darkens as a whole;
    #   that is neither), the occluders' cores left out of it. A patch darker than
    #   ``occluder_ratio`` at least ``occluder_width_iod`` across seeds an occluder, which is
    #   the whole connected region below ``occluder_extent_ratio`` around it (its soft edge
    #   too), grown by ``occluder_grow_iod``.
    broad_shading_iod: float = 0.25
    occluder_ratio: float = 0.62
    occluder_width_iod: float = 0.06
    occluder_extent_ratio: float = 0.92
    occluder_grow_iod: float = 0.03
    # - A fold darkens skin by a fraction, never to black: what is left darker than its
    #   surroundings is compressed smoothly towards this floor (log2 R -> c tanh(log2 R / c)).
    crease_floor: float = 0.7
    # - Towards the face region's outline the ratio fades out over this fraction of the
    #   inter-ocular distance: strands of hair, the jaw's and a turned cheek's edge are
    #   there, folds hardly reach it (crow's feet end 0.15-0.2 inside it).
    edge_fade_iod: float = 0.12
    # - Darkening below this fraction, after the temporal filter, is noise (the driver's
    #   skin texture seen through the misalignment tolerance, tracking jitter): it is
    #   subtracted from every darkening (soft threshold), so that the target's skin is not
    #   mottled with the driver's and only folds remain.
    noise_floor: float = 0.02
    # Applying them (reactive.core.details.crease_style, once per photo). A photo whose skin
    # shows little fine detail of its own (a child, a painting, a retouched or small photo)
    # takes shallower folds: log R times its detail (median |band-pass| of the skin's grey
    # level, band ``detail_band_iod`` of the inter-ocular distance) over ``detail_full``,
    # never below ``min_gain``. Sharp photos of adults measure 0.9-2%, smooth faces
    # (renders, retouched photos, small paintings) 0.2-0.5%.
    detail_band_iod: tuple[float, float] = (0.005, 0.02)
    detail_full: float = 0.008
    min_gain: float = 0.5
    # A fold is never narrower in the photo than this (Gaussian sigma): a fraction of the
    # inter-ocular distance (over the gain: shallower folds spread wider) and a floor in
    # pixels (a fold a pixel or two wide is a pencil line, whatever its depth).
    crease_min_iod: float = 0.015
    crease_min_px: float = 1.2
    # The ratio images land on the photo's face by its face mesh (landmark-aligned,
    # ``details.ratio_map``). Where the photo's face is foreshortened against the driver's
    # (the far side of a turned head: its mesh squeezed, the driver's cheek shading
    # squeezed with it into strokes), the folds fade: in full up to squeeze_fade[0] times
    # phi's scale (shape differences between frontal faces reach 1.3 at their 99th
    # percentile), none from squeeze_fade[1] (s10's far cheek: 1.8-2.8).
    squeeze_fade: tuple[float, float] = (1.3, 2.3)
    # Storage: ratio images at this fraction of the clip's resolution, log2(R) quantized to
    # 1/128 (0.5% steps) in uint8, cropped to the face.
    storage_scale: float = 0.5
    # The live puppet's temporal filter (beyond the paper): causal, an exponential mean in
    # which each camera frame weighs this much. The clips' centred 21-frame Gaussian needs
    # 10 frames of the future; 0.35 lags about 2 frames (60 ms at 30 fps) and still halves
    # frame-to-frame noise (its variance to 0.21 of a single frame's).
    live_smoothing: float = 0.35
    # ... and its ratio computed at this fraction of the camera's pixels (the storage
    # scale: no resize after). The clips compute at full resolution and then shrink; live,
    # FrameRatio costs a tenth at half the pixels (1 ms instead of 10 on a 330 x 380 px
    # face box), which the camera's thread cannot spare beside the tracker.
    live_ratio_scale: float = 0.5


@dataclass(frozen=True)
class MouthParams:
    """reactive: hidden regions, the mouth interior (Sec. 5)."""

    # The paper erodes the interior's mask by 0.1 * h_mouth (Sec. 5) because one affine
    # cannot place the driver's interior exactly; the band left between lip and interior
    # then shows the photo's stretched lip seam (a dark band along the upper lip, read as a
    # moustache). Carried piecewise, the interior meets the inner lips exactly, so the mask
    # is the inner-lip polygon itself, antialiased, drawn this many pixels inside.
    inset_px: float = 0.5
    # The interior's outline is as soft as the photo's own edges round the mouth
    # (``blur.edge_sigma``; s42 2.1 px, s1 2.5, the sample 1.0): blurred by what that
    # exceeds this (the outline's own anti-aliasing), at most edge_soften_max_frac of the
    # mouth's width. A crisp outline in a soft photo read as a sticker on the lips.
    edge_own_sigma: float = 0.8
    edge_soften_max_frac: float = 0.04
    # A mouth's corners are deep in shadow, whatever the driver's crop holds there (at the
    # tips of its opening it is mostly the lips' wet inner side, recoloured as the photo's
    # lips: pale wedges past the photo's dark corners). The interior darkens towards each
    # corner by corner_shade, fading out over corner_shade_reach of the mouth's width.
    # Where the driver's own corners are lit, this is a departure from it: self-reenactment
    # mouth PSNR on d10 24.9 dB without, 24.0 at 0.3, 23.4 at 0.4, 22.2 at 0.6.
    corner_shade: float = 0.4
    corner_shade_reach: float = 0.2
    # Gate: none below a*, full above 2 a*, linear between (Sec. 5): no flicker as the mouth
    # opens and closes.
    full_at: float = 2.0
    # a* floor, as a fraction of mouth width squared: a photo with closed lips has a* ~ 0,
    # and landmark jitter alone would then switch the interior on.
    min_a_star_frac: float = 0.01
    # The interior is carried piecewise (``mouthmap``): rows of teeth move rigidly with
    # their lip, the cavity between stretches. Each rigid row covers at least this share of
    # the source's opening (the shadow under a lip moves with it even without teeth) ...
    rigid_min_frac: float = 0.25
    # ... and at most this share of the output's opening (a mouth barely open shows the
    # edges of both rows, not one row squashed) ...
    rigid_max_frac: float = 0.45
    # ... and of the source's: the middle that stretches keeps at least the rest (a driver
    # with clenched teeth would otherwise leave a single row of pixels to stretch, streaks).
    rigid_source_max_frac: float = 0.35
    # A photo's own upper teeth hide the interior's upper row under them, as much of it as
    # the share above; a driver whose teeth reach further (a grin's, d13's 18 px of a 26 px
    # opening) would show its tips a second time under the photo's. Where they do, the gap
    # between the rows is filled from a cavity without tips (``mouthgap``), fully once they
    # reach this much more of the driver's opening ...
    gap_leak_full: float = 0.1
    # ... taken from the clip's (or bank's) own frame whose cavity between its rows is the
    # most open, if at least this share of its mouth's width (else the drawn mouth's), each
    # of its rows hidden with this share of its opening to spare.
    gap_donor_min_open: float = 0.1
    gap_donor_margin: float = 0.08
    # Over a clip the fill follows what most of the frames within this window (s) show,
    # not each frame alone (a driver's rows are told apart or not from one frame to the
    # next).
    gap_window_s: float = 0.4
    # ... unless the output's opening stretches the middle between the rows (output px
    # over the driver's, at the mouths' scale) past the first figure: then the most the
    # frames within the window show, fully from the second (tips drawn out twice read as
    # fangs), where the rows do not meet.
    gap_stretch_from: float = 1.5
    gap_stretch_full: float = 2.0
    # The drawn mouth's rows slide out from under their lips (``drawnmouth.reveal_columns``,
    # beyond the paper): lips parted a little show the upper teeth, over at most this share
    # of the opening ...
    reveal_upper: float = 0.7
    # ... and the lower teeth rise into view only past this dark gap under the upper row
    # (mouth widths; the upper incisors overlap the lower ones when the jaw is closed) ...
    reveal_gap: float = 0.05
    # ... showing at most this share of the rest of the opening.
    reveal_lower: float = 0.6
    # Colour match to the photo (``mouthbank.colour_match``): the skin around the mouths
    # sets the brightness, within this range of gains ...
    brightness_range: tuple[float, float] = (0.35, 1.6)
    # ... and at most this much of the hue difference passes per channel: white teeth stay
    # near-white instead of taking on the skin-tone difference between two people.
    tint_max: float = 0.08
    # A photo whose skin has less than this share of the driver's colourfulness (black and
    # white, sepia) gets the interior's colour reduced in proportion.
    grey_below: float = 0.5
    # A real mouth's tracked inner lip often lies on the lips' wet inner side (far inside
    # on a pout): from each lip inwards, pixels within this CIE Lab distance of the lip's
    # colour are lip, not interior, and are cut off (``mouthbank.trim_lip_tissue``) ...
    lip_tissue_delta_e: float = 14.0
    # ... at most this share of the opening per lip (a tongue may look like a lip).
    lip_tissue_max_frac: float = 0.3
    # Recoloured as the photo's lips (``mouthbank.recolour_lip_tissue``): in the middle
    # columns only the run straight in from each lip (a tongue may touch it), beyond this
    # distance from the middle (share of the width) all of it (a pout's ring).
    lip_tissue_side_u: float = 0.25
    # ... when the two faces' lips differ: not at all below this CIE Lab distance between
    # them (the same face, lips alike: nothing to correct), fully this much further on.
    lip_recolour_from: float = 8.0
    lip_recolour_span: float = 8.0
    # The rest of the mouth's flesh (tongue, gums) turns with the lips' hue
    # (``mouthbank.turn_hue``): what has at least this CIE Lab chroma (teeth and the dark
    # cavity less, fully from twice it) within this many degrees of the lips' hue; its
    # chroma scales by the square root of the lips' ratio, within this range.
    flesh_chroma: float = 6.0
    flesh_hue_deg: float = 110.0
    # ... and only this many degrees towards yellow: teeth stained or in shadow are
    # yellower than any flesh, and turned with it they went olive green (s8 with d13's
    # bank); a tongue's lavender highlight lies the other way.
    flesh_hue_yellow_deg: float = 35.0
    flesh_chroma_range: tuple[float, float] = (0.6, 1.2)
    # Bank of real mouths for the built-in clips (Face2Face's mouth database): frames
    # whose inner-lip opening exceeds this share of the mouth width, at most this many.
    bank_min_open: float = 0.06
    bank_max_frames: int = 600
    # Retrieval: lip-shape differences (opening, relative width, smile) in these units
    # count as one ...
    bank_scales: tuple[float, float, float] = (0.05, 0.08, 0.04)
    # ... and changing to another bank frame costs this much (squared units), so the mouth
    # does not flicker between look-alikes.
    bank_switch_cost: float = 1.0
    # A bank mouth less open than the clip's counts this many times as far: it is stretched
    # to fit, a sliver of teeth or tissue into streaks; one more open is only squeezed ...
    bank_under_open: float = 2.0
    # ... and where the best falls this far short (its shortfall in the units above, times
    # bank_under_open, squared: 4 is 0.05 of the mouth's width, stretched by a third and
    # more at a laugh's opening), the photo's drawn mouth is shown instead; changing
    # between the two while the mouth is open costs this much more: a pop mid-laugh is
    # worse than a mouth a little stretched at its widest, so in effect one of the two is
    # chosen for each opening as a whole (with 30: four changes in the sample's laugh
    # with d3's bank).
    bank_drawn_cost: float = 4.0
    bank_drawn_switch_cost: float = 200.0


@dataclass(frozen=True)
class StateParams:
    """reactive: the emotion state machine (Sec. 8.1: states switch "on the fly")."""

    # A transition blends offsets and ratio images over this time, smoothstep: a quarter
    # second reads as a reaction, not as a cut or a drift.
    transition_s: float = 0.25
    # Idle plays random segments of the idle clips, each this long, cross-faded: a
    # visitor never sees the same loop twice in a row.
    idle_segment_min_s: float = 4.0
    idle_segment_max_s: float = 9.0
    # Clips blended at most at once; the faintest goes when exceeded (its weight is
    # already tiny: each trigger multiplies the older weights by a falling ramp).
    max_layers: int = 6


@dataclass(frozen=True)
class PlayerParams:
    """reactive: the real-time player."""

    # Display and recording rate; the clips play at their own fps, offsets interpolated.
    fps: float = 30.0


@dataclass(frozen=True)
class MicrophoneParams:
    """triggers: a sudden loud sound from the microphone (beyond the paper).

    Levels are the RMS of one block in dBFS (a full-scale sine is -3 dBFS).
    """

    # An onset is a block this far above the adaptive noise floor. A clap or a shout near
    # the kiosk is 30-40 dB over room noise; talking nearby is 15-25 dB and should not count.
    onset_db: float = 20.0
    # ... and at least this loud, so that in a silent room a chair creaking far above the
    # converter's hiss does not count either.
    min_level_dbfs: float = -40.0
    # After an onset, no other for this long: a clap's echo or a double clap is one reaction.
    refractory_s: float = 1.0
    # The floor follows levels below (floor + onset_db) with this time constant: a background
    # rising slower than onset_db per floor_tau_s (traffic, a crowd gathering) lifts the floor
    # and never triggers.
    floor_tau_s: float = 2.0
    # Louder blocks move the floor this slowly: a clap barely shifts it, yet sustained music
    # becomes the new floor within a minute instead of deafening the detector for good.
    loud_floor_tau_s: float = 30.0
    # After an onset the level must fall back to within this of the floor before another
    # can fire: a sustained sound is one onset however long it lasts.
    rearm_db: float = 6.0
    # Block length: 10 ms is well under one frame at 60 fps, and holds a clap's energy.
    block_s: float = 0.01
    # Digital silence is clamped to this level so the floor stays finite.
    silence_dbfs: float = -120.0


@dataclass(frozen=True)
class IdleParams:
    """triggers: the idle timer, an occasional subtle reaction when nothing happens."""

    # Quiet this long -> a subtle reaction (a blink, a glance). 20 s: often enough that a
    # passer-by sees the portrait alive, rare enough that it does not fidget.
    reaction_after_s: float = 20.0
    # Uniform jitter of +- this around reaction_after_s, so reactions never come on a beat.
    jitter_s: float = 8.0


@dataclass(frozen=True)
class EyeParams:
    """reactive: eyes beyond the paper (which could not close them): lids that close fully,
    and gaze (the iris moving within the opening) from the clip or towards a pointer."""

    # Lid closure from the driver's eye aspect ratio (mean lid gap across the eye over the
    # corner distance). MediaPipe seldom reports a closed eye as a zero gap: on d3's closed
    # eyes the tracked ratio spreads over 0.00-0.10 (0.3 open), so 0.10 counts as closed ...
    closed_ear: float = 0.10
    # ... or this fraction of the driver's neutral ratio, when that is lower (narrow eyes).
    closed_ear_frac: float = 0.4
    # The closure starts below this fraction of the neutral ratio: above it, the lids' own
    # travel by Eq. 1 is all there is. A look down lowers the lids to about half open (d3
    # frames 63-99: 0.54-0.67 of the neutral ratio on one eye), which Eq. 1 carries;
    # counted as closing (0.7-0.8 of the way), those eyes shut on the portrait.
    closure_start_frac: float = 0.6
    # The two upper lids are yoked (Hering's law: one nerve drives both levators, so both
    # lids rise and fall together with the gaze); one eye closes alone only in a wink, and a
    # wink shuts it. So where neither eye reads shut, both closures come from the pair's
    # mean (relative to neutral): the face mesh often reads a look down or a squint as one
    # eye half shut and the other open (d3 frames 99 and 268, d6 222, d13 46: both lids low
    # in the video), which by each eye alone showed a wink that is not there. An eye that
    # reads at most ``wink_alone_frac`` of the closed ratio is shut on its own (d3's winks
    # read 0.06-0.6); the sharing fades in (smoothstep) up to ``wink_shared_frac`` of it, a
    # span wider than the tracker's frame-to-frame jitter, or a wink would flicker.
    wink_alone_frac: float = 0.6
    wink_shared_frac: float = 1.2
    # The photo's upper lid margin (core/lid_margin.py): on wide-open eyes the face mesh's
    # upper lid runs through the white, a band of sclera between it and the lash line
    # (d6's neutral frame: 2-4 px, 0.05-0.08 eye widths), which a lowering lid drags down
    # as a white band above it. A point is raised onto the lash line where a ray towards
    # the skin ring above meets white (at least lid_margin_white x the opening's 90th
    # percentile of luma, over lid_margin_min_white_px) and then the lashes (at most
    # lid_margin_dark x it); never further than lid_margin_reach_w eye widths, nor than
    # lid_margin_ring_frac of the way to the ring (its triangles stay unflipped); and only
    # where lid_margin_min_rays of the seven rays agree (one glint is not a margin).
    lid_margin_white: float = 0.7
    lid_margin_min_white_px: float = 1.0
    lid_margin_dark: float = 0.45
    lid_margin_reach_w: float = 0.15
    lid_margin_ring_frac: float = 0.6
    lid_margin_min_rays: int = 3
    # Of the closing travel the Eq. 1 lids still lack, the lower lid does this share, the
    # upper lid the rest (in a real blink the upper lid does nearly all the work; the face
    # mesh also reads a seam near the lower lid as closed, one halfway up as half open).
    lower_lid_share: float = 0.2
    # The skin above the upper lid follows its extra travel fully up to this height above
    # the lid (eye widths), not at all beyond the next (smoothstep between): the lid and
    # lash band moves down whole, as in a real blink, and the skin under the brow stretches
    # (on s42 the first ring of mesh points above the lid follows 0.9-0.97, the second
    # 0.5-0.6; on a heavy lid like the Mona Lisa's both follow fully), instead of one thin
    # band tearing. The ring below the lower lid follows
    # the lower lid's travel by lower_skin_follow.
    skin_follow_full_w: float = 0.2
    skin_follow_none_w: float = 0.6
    lower_skin_follow: float = 0.3
    # At the pairs next to the corners the lids meet this far up the gap (the lower lid's
    # share), and the skin follows this fraction of the above: the triangles between corner,
    # lid end and ring are small, and a lid end dropping past the corner would fold them.
    corner_lower_share: float = 0.5
    corner_skin_follow: float = 0.5
    # Gaze in eye widths (iris centre shift over the corner-to-corner distance): the eyeball
    # radius is about 0.4 eye widths (12 mm over 30 mm), so a rotation theta shifts the iris
    # by 0.4 sin(theta); 0.2 is about 30 degrees sideways, 0.1 about 15 degrees up/down.
    eyeball_radius: float = 0.4
    max_gaze_x: float = 0.2
    max_gaze_y: float = 0.1
    # ... and never farther than the opening lets it: at most this fraction of the iris
    # hidden by the lids (or iris_hidden_slack more than at rest, for eyes whose lids hide
    # more at rest). A real eye's lids ride on the eyeball; an iris pushed against a 2D lid
    # looks rolled back.
    max_iris_hidden: float = 1.0 / 3.0
    iris_hidden_slack: float = 0.05
    # The lids follow a pointer's vertical gaze (lid-eye coordination): the upper lid by
    # this fraction of the iris's shift looking down, this looking up (it lifts only a
    # little), the lower lid by lower_lid_follow either way; the skin around them follows as
    # in a blink (close_lids). Only the pointer's gaze: a driver's lids already follow its
    # own gaze, and Eq. 1 brings them.
    upper_lid_follow_down: float = 0.7
    upper_lid_follow_up: float = 0.35
    lower_lid_follow: float = 0.3
    # The head turns towards the pointer too, by head_share of the direction to it, up to
    # these angles (the built-in look clips turn the head by 7 degrees), following more
    # slowly than the eyes (they lead, it follows): the eyes need not roll to the corners.
    head_share: float = 0.35
    max_head_yaw_deg: float = 8.0
    max_head_pitch_deg: float = 5.0
    head_time_constant_s: float = 0.25
    # The face as a dome over its oval for that turn: depth at its middle in half-widths.
    head_depth: float = 0.8
    # The pointer is taken to be on a plane this many inter-ocular distances in front of the
    # face: a pointer 1 IOD beside the eyes turns them by atan(1/3) ~ 18 degrees.
    pointer_depth_iod: float = 3.0
    # Gaze follows its target critically damped with this time constant: a glance settles
    # in about 4 time constants (0.3 s); no overshoot, no jitter from a jittery pointer.
    gaze_time_constant_s: float = 0.08
    # Painting the eye (GazeLayer): the opening polygon is eroded by this many pixels so the
    # lash line stays the warp's, and the iris disc gets a soft edge of this width.
    opening_erode_px: int = 1
    iris_feather_px: float = 1.0
    # The iris disc is cut from the photo where it shows. Its outer part (beyond iris_rim_from
    # of the radius) is where the lids cross it: a seen pixel there farther from the median
    # colour of the iris at its radius than iris_rim_outlier times the ring's median
    # distance (and 24 levels) is a lid's wet rim or a lash, which would move with the iris
    # as a dotted arc (d10's lower lid); it is filled from the iris at the same radius.
    iris_rim_from: float = 0.45
    iris_rim_lid_w: float = 0.08  # ... within this many eye widths of a lid (2 px at least)
    iris_rim_outlier: float = 2.5
    # The white in view (the opening less a band white_edge_w eye widths wide along its
    # edge, the lash line and the lids' shadow, and less the iris with a limbus ring of
    # white_limbus_frac of its radius, at least 1.5 px) is never brighter than at rest by
    # more than white_brighten_max: an iris moved over a darker corner of a graded white (a
    # drawn eye's: dark corners, a bright middle; s7's glared +16%) leaves the bright part
    # in view; the whole eyeball is dimmed by the excess, its shading kept. Issue 11 bounds
    # the white at +10% of the photo's; on the test photos (s9, s10, s12, s42, the sample) it
    # dims the white by 0-4%.
    white_edge_w: float = 0.05
    white_limbus_frac: float = 0.12
    white_brighten_max: float = 0.0
    # A drawn eye (a cartoon's) is often far larger than the face mesh's eye contour, which
    # then runs through its white and iris: the eye layer would move only the iris inside
    # the contour and leave the drawn iris outside it in place (double outlines, crescents).
    # The opening is grown once per photo by GrabCut seeded with the contour (foreground
    # inside, possibly background up to drawn_reach_w eye widths around it, background
    # beyond), on the eye scaled to drawn_work_px wide (GrabCut's cost grows with the
    # pixels; the lid line of a drawn eye is bold). Rays normal to the lids (drawn_rays per
    # lid) read how far the grown region reaches; it is used only when the image clearly
    # shows a larger eye: the median over the rays of the reach through white or a light
    # iris (a run of which at least drawn_white_frac is as bright as drawn_white x the 90th
    # percentile of the luma inside the contour) is at least drawn_min_w eye widths. A
    # photo's contour lies on the lid margin, and what GrabCut adds there is lashes and
    # eyeliner (dark) or a sliver: on the eight test portraits the median is 0.000-0.013
    # eye widths, on s7's drawn eyes 0.047 and 0.052.
    drawn_reach_w: float = 0.25
    drawn_work_px: float = 48.0
    drawn_rays: int = 17
    drawn_white: float = 0.5
    drawn_white_frac: float = 0.33
    drawn_min_w: float = 0.03
    # The grown opening counts fully while the eye keeps this fraction of its rest area, and
    # not at all by lid_skin_area_frac: a closing eye goes back to the contour before the
    # closed lid's skin fades in (it covers the drawn eye, closed_reach_w, and is laid
    # before the opening is painted).
    drawn_area_frac: float = 0.45
    # Nothing is painted when the eye is as at rest: the opening within this many pixels of
    # its rest shape (after the eye's own similarity) and the gaze shift below it. The layer
    # fades in over the next as many pixels, so switching it on never pops.
    rest_tolerance_px: float = 0.3
    # Below this fraction of the rest opening's area the eye counts as closed: no eyeball.
    closed_area_frac: float = 0.05
    # Below this fraction the lids and the skin around them are rasterized again from the
    # photo (the warp's own triangles): a field sampled per pixel smears the squashed
    # opening into a visible band along a closing lid.
    redraw_area_frac: float = 0.5
    # The redrawn lids read their margins up to this many eye widths outside the photo's
    # opening as they close: MediaPipe's contour runs along the lid margin, and its own
    # pixels still hold a thread of white and iris.
    lid_margin_frac: float = 0.02
    # Below this fraction of the rest opening's area a lash line is drawn where the lids
    # meet (the photo's darkest lid-margin colour), fully when closed: a closed eye reads as
    # closed by its dark lash line, and a painting without lashes would show only a faint,
    # stair-stepped seam.
    seam_area_frac: float = 0.25
    lash_line_frac: float = 0.07  # thickness where thickest, eye widths ...
    lash_line_min_px: float = 1.5  # ... but at least this: a one-pixel line reads as a crease
    lash_opacity: float = 0.85
    # Thickest this far from the inner corner to the outer one, a thread at the inner corner
    # (a real closed eye's lashes are longest and densest towards the outer corner) ...
    lash_taper_peak: float = 0.65
    # ... and the lashes hanging below the band, this fraction of its thickness, soft: a band
    # of one thickness with cut ends reads as a stroke drawn on the lid. Real closed eyes
    # (self-reenactment of d13, d9, d10, d6, their closed frames: the luma across the seam
    # in the middle of the eye, over the lid's at 0.2 eye widths off) darken to half over
    # 0.12-0.2 eye widths, the lashes fading out below over about 0.1; a fringe of 0.8
    # gave 0.07-0.1, a crisp stroke. At 2.0 (and lid_shadow_opacity 0.6, from 0.35) the
    # mean gap between the profiles falls 0.099 -> 0.065, 0.082 -> 0.048, 0.205 -> 0.158,
    # 0.249 -> 0.220 on those four.
    lash_fringe: float = 2.0
    # The band is blurred to the photo's own softness round the eye (``eye_layer.edge_sigma``)
    # beyond this sigma, px: about what its anti-aliased edge already has.
    lash_own_sigma: float = 0.8
    # The closed lid (made once per photo, in the closed eye's geometry): what closing
    # stretched - triangles of the lid patch and of the ring above it whose area grew by
    # more than closed_stretch - and a band along the seam, from closed_margin_w eye widths
    # below it (the lower lid's margin, where a thread of white may linger) to as far above
    # it, grown through pixels unlike the lid skin (Lab distance over closed_skin_dist
    # times the skin's median spread) up to closed_reach_w eye widths from the seam (a
    # cartoon's drawn eye is far larger than the mesh's eye contour), is replaced by skin
    # interpolated from around it, with closed_grain of the skin's fine grain.
    closed_stretch: float = 1.25
    closed_margin_w: float = 0.06
    # ... and the upper lashes: up to this fraction of the way from the upper lid margin to
    # the first ring of skin above it (a closed lid's lashes point down).
    closed_lashes_up: float = 0.6
    closed_skin_dist: float = 3.0
    # What is darker than the lid skin counts as skin to the fill only within this many
    # times the skin's spread (a socket's shadow, the far side of a turned head: taken in,
    # it spreads over the closed lid as a grey blotch). Lighter pixels count as skin unless
    # unlike their surroundings: a cheek lit more than a shaded lid.
    closed_dark_dist: float = 2.0
    closed_reach_w: float = 0.3
    closed_grain: float = 0.5
    # ... and the photo's own skin texture (its detail finer than the fill's 0.06 eye widths
    # of averaging), taken unstretched from these many eye widths below the eye, else above
    # it, where the neighbourhood is as smooth as skin (detail energy at most
    # closed_texture_energy times the median around the eye): a membrane fill with noise
    # alone is a smooth blur patch on a textured photo.
    closed_texture: float = 1.0
    closed_texture_shifts: tuple = (0.6, 0.8, 1.0, -0.6, -0.8, -1.0)
    closed_texture_energy: float = 2.0
    # Of the stretched skin's averaged shading (the fold, but also a socket's shadow or a
    # lid's highlight carried by the stretch), only this fraction of its difference from the
    # skin's shading at four times the scale: all of it reads as a blotch.
    closed_fold: float = 0.5
    # ... and faded into the skin around it over this many eye widths: its edge against
    # a photo's darker surroundings (eye shadow, eyeliner, a shaded socket) would otherwise
    # outline the lid as a pasted patch.
    closed_feather_w: float = 0.08
    # ... but over at least this many pixels: on a small eye a one-pixel fade shows its stairs.
    closed_feather_min_px: float = 3.0
    # A closed lid is convex, over the eyeball: it catches the light as the skin round the
    # eye does, not the socket's shadow it fills (interpolated from its surroundings, a
    # shaded socket made a dull flat patch of it). Where the fill is darker than the lit lid
    # skin (the lighter half of the first ring's), a dome closed_bulge_height eye widths above
    # the seam in the middle of the eye, fading to the corners, the seam and the fold, is
    # brought up to closed_bulge of the way to it.
    closed_bulge: float = 0.8
    closed_bulge_height: float = 0.12
    # The lid skin fades in as the opening's area falls from lid_skin_area_frac of the rest
    # area to closed_area_frac (smoothstep): an eye half open keeps its own lids.
    lid_skin_area_frac: float = 0.3
    # The closed lid's fold: an arc this many eye widths above the closed seam at the middle
    # of the eye (about the tarsal plate's height: below it the lid, smooth and lit; above it
    # the skin turns in under the brow), darkening the skin by closed_crease at its line,
    # fading over closed_crease_edge eye widths below it and closed_crease_fade above: a
    # soft shade, not a drawn line. Without it a closed eye is a lash line on a featureless
    # patch.
    closed_crease: float = 0.10
    closed_crease_height: float = 0.25
    closed_crease_edge: float = 0.05
    closed_crease_fade: float = 0.10
    # With the lash line, a soft shadow above it (the lid's underside turning away into the
    # lashes), this many eye widths high, this dark at the line (towards the lash colour).
    lid_shadow_w: float = 0.15
    lid_shadow_opacity: float = 0.6   # (measured with lash_fringe)


@dataclass(frozen=True)
class CameraParams:
    """live: the camera (beyond the paper): what the visitor does, read from their face.

    Expression thresholds are relative to the visitor's own rest (each face is measured
    against itself, so a wide mouth or high brows at rest do not count); the profile's
    [camera] section sets them.
    """

    # Camera frames are scaled down to this longer side before tracking: the face mesh
    # crops and resamples the face to 192 px anyway, and the puppet's mouth crops and ratio
    # images gain nothing from more.
    max_side: int = 640
    # Faces: the largest of up to this many; faces smaller than min_face_frac of the frame's
    # height are passers-by in the background.
    max_faces: int = 3
    min_face_frac: float = 0.12
    # A face seen for arrive_confirm_s after absence_s without one is a new visitor (a
    # greeting); a face gone for leave_after_s has left. A second's glance away or a tracker
    # dropout is not a departure; three seconds is a new person.
    arrive_confirm_s: float = 0.3
    absence_s: float = 3.0
    leave_after_s: float = 1.5
    # Smile: the mouth wider than the visitor's rest by smile_widen (fraction of the rest
    # width) and the lip corners raised by smile_corners (of the mouth width, as
    # landmarks.smile_ratio). Both must hold: talking widens the mouth without raising the
    # corners. On d0's broad smile the two reach +0.43 and +0.10; talking in d10, +0.28
    # and +0.00.
    smile_widen: float = 0.15
    smile_corners: float = 0.04
    # Surprise: brows raised by surprise_brows (fraction of their rest height above the
    # eyes) and the jaw dropped to surprise_open (inner-lip gap over mouth width), rising
    # from below the release level within onset_window_s: sudden, not a slow drift. d3's
    # surprise reaches +0.18 and 0.55.
    surprise_brows: float = 0.10
    surprise_open: float = 0.25
    onset_window_s: float = 0.5
    # Hysteresis: an expression ends (and can fire again) only when its score falls below
    # this fraction of the thresholds; it must hold over the threshold for hold_s to count
    # (one jittery frame is not a smile).
    release: float = 0.5
    hold_s: float = 0.06
    # After an event of one kind, none of the same kind for this long: the portrait smiles
    # back once per smile, not at every flicker.
    refractory_s: float = 4.0
    # The visitor's rest: a running average (time constant rest_tau_s) of the frames without
    # an expression, with the head within max_yaw of frontal (a turned head changes every
    # 2D measure).
    rest_tau_s: float = 4.0
    max_yaw: float = 0.25
    # A new visitor's rest is the mean of their calm frames over the first rest_settle_s;
    # no expression is judged before (d0's smile starts 0.7 s in).
    rest_settle_s: float = 0.4
    # Eye contact: the camera sits at the top centre of the screen with this horizontal
    # field of view (60-78 degrees for common webcams), and the visitor stands
    # distance_screens screen heights in front of it.
    fov_deg: float = 60.0
    distance_screens: float = 2.0
    # The visitor's face position is smoothed with this time constant (the gaze follower
    # smooths again, this removes the tracker's jitter before it).
    look_tau_s: float = 0.1


@dataclass(frozen=True)
class PuppetParams:
    """live: the visitor's face drives the portrait (the paper's method, the camera as the
    driving clip)."""

    # The neutral face s* is taken automatically from calm_s of calm frames: face frontal
    # (|yaw| below max_yaw), mouth closed (inner-lip gap under max_open of the width),
    # eyes open (eye aspect ratio above min_eye_open), head still (landmarks moving less
    # than max_motion_iod inter-ocular distances per frame).
    calm_s: float = 0.4
    max_yaw: float = 0.12
    max_open: float = 0.06
    min_eye_open: float = 0.2
    max_motion_iod: float = 0.02
    # A visitor who never holds still that long (talking): the calmest frame of their first
    # neutral_timeout_s.
    neutral_timeout_s: float = 2.0
    # The face lost for lost_s: the portrait blends back to its idle clips; lost for
    # CameraParams.absence_s, the next face is a new visitor and its neutral is taken anew.
    lost_s: float = 0.3
    # Between the puppet and the idle portrait: a cross-fade this long, each way.
    fade_s: float = 0.25
    # The visitor's creases (ratio images) are computed for every crease_every-th camera
    # frame, the others showing the newest: a ratio image costs about as much as tracking
    # the frame (7 ms here), and on 2 cores every other frame keeps the puppet at 30 fps.
    # Folds come and go over several frames (the filter smooths them over ~3 anyway).
    crease_every: int = 2


@dataclass(frozen=True)
class RecordParams:
    """tools: ``reactive record``, when a take is good enough to be a clip (beyond the paper,
    which assumes a well-filmed driver)."""

    # Face lost in more than this fraction of a take's frames: the tracker's gaps would be
    # interpolated guesses, not the performance.
    max_lost_fraction: float = 0.1
    # The face's height at least this fraction of the frame's: below it the mouth crop
    # (Sec. 5) and the ratio images (Sec. 6) hold too few pixels of the driver.
    min_face_frac: float = 0.25
    # Turned: |landmarks.yaw_ratio| above max_yaw (about 20 degrees) in more than
    # max_turned_fraction of the frames; the paper's transfer assumes a frontal driver.
    max_yaw: float = 0.25
    max_turned_fraction: float = 0.2
    # The guided window: a countdown before each take, each take's length, the neutral's
    # and the idle minute's.
    countdown_s: float = 3.0
    take_s: float = 3.0
    neutral_s: float = 2.0
    idle_take_s: float = 60.0
