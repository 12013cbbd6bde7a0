"""The photo's open eye, made once per photo (beyond the paper): the opening without its
iris (the eyeball) and the iris disc, for the eye layer (``eye_layer.py``) to compose per
frame.

The eyeball is painted per frame through the opening's own triangles (lid-relative: a pixel
half way between the lids in the frame shows what lay half way between them in the photo),
so the lash line, the shadow under the upper lid and the darker corners stay at the lids
however the opening changes shape; only the iris moves with the gaze. Where the iris was,
the eyeball is filled from the sclera on either side of it at the same height between the
lids (``lid_coordinates``), so white uncovered by a moving iris is shaded as the photo's own
sclera next to it: never a flat white, never brighter than the sclera beside it.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from reactive.core.geometry import fill_polygon
from reactive.core.landmarks import EyeTopology
from reactive.params import EyeParams

log = logging.getLogger(__name__)



def lid_coordinates(xy: np.ndarray, corners: np.ndarray, upper: np.ndarray,
                    lower: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where points lie in an eye opening: ``u`` along the eye (0 at the image-left corner,
    1 at the other), ``v`` across it (0 on the upper lid, 1 on the lower lid at that ``u``).

    Parameters
    ----------
    xy : (N, 2) points, (x, y) pixels.
    corners : (2, 2) the image-left and image-right corners.
    upper, lower : (M, 2) the lid margins from the image-left corner on (``EyeTopology``).

    Returns
    -------
    u, v : (N,) float64 each.
    """
    a, b = corners[0].astype(np.float64), corners[1].astype(np.float64)
    width = max(float(np.hypot(*(b - a))), 1e-9)
    x_axis = (b - a) / width
    y_axis = np.array([-x_axis[1], x_axis[0]])

    def local(p):
        d = np.asarray(p, np.float64) - a
        return d @ x_axis / width, d @ y_axis / width

    s, t = local(xy)
    su, tu = local(upper)
    sl, tl = local(lower)
    # The lid curves from corner to corner, along the eye (kept monotone for np.interp).
    su = np.maximum.accumulate(np.r_[0.0, su, 1.0])
    sl = np.maximum.accumulate(np.r_[0.0, sl, 1.0])
    t_up = np.interp(s, su, np.r_[0.0, tu, 0.0])
    t_low = np.interp(s, sl, np.r_[0.0, tl, 0.0])
    gap = np.maximum(t_low - t_up, 1e-6)
    return s, (t - t_up) / gap


def iris_from_image(brightness: np.ndarray, centre: np.ndarray, tracked: float,
                    visible: np.ndarray, x_axis: np.ndarray) -> tuple[np.ndarray, float]:
    """The iris where the photo shows its edge: centre and radius, from the brightness
    along rays towards each corner (fans of +-40 degrees about the eye's axis; the lids
    cover the top and bottom). On each side, averaged over its rays, the edge is the first
    radius, going inwards from the sclera's brightest (beyond 1.3 x tracked) to 0.7 x the
    tracked one, where the brightness falls below 60% of the way from the iris's level
    (0.6-0.95 x tracked) to the sclera's (inwards: a light iris around a dark pupil, a
    drawn one's, is brighter than that level inside its dark rim). The centre moves along the axis to halfway between the two
    edges, the radius is half their distance. The face mesh's iris is a model's guess; a
    drawn eye's (a cartoon's) iris is often larger, or elsewhere, and a disc too small
    leaves a crescent of the old iris behind when the iris moves. Falls back on the tracked
    iris when no clear edge shows on both sides (a dark eye in a dark photo, an eye too
    narrow to see white beside the iris).

    Parameters
    ----------
    brightness : (h, w) float32, the darkest channel. centre : (2,) tracked iris centre in its pixels.
    tracked : the face mesh's iris radius, px. visible : (h, w) bool, the opening.
    x_axis : (2,) unit vector along the eye (corner to corner).

    Returns
    -------
    centre : (2,) float64. radius : float, px.
    """
    centre = np.asarray(centre, np.float64)
    if tracked < 2.0:
        return centre, tracked
    base = np.arctan2(x_axis[1], x_axis[0])
    radii = np.linspace(0.5, 2.0, 61) * tracked
    rel = radii / tracked
    fans = []
    for side in (0.0, np.pi):
        angles = base + side + np.deg2rad(np.arange(-40, 41, 5))
        xs = (centre[0] + np.cos(angles)[:, None] * radii[None]).astype(np.float32)
        ys = (centre[1] + np.sin(angles)[:, None] * radii[None]).astype(np.float32)
        prof = cv2.remap(brightness, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        ok = cv2.remap(visible.astype(np.float32), xs, ys, cv2.INTER_NEAREST,
                       borderValue=0.0) > 0.5
        ok = np.minimum.accumulate(ok, axis=1)   # a ray counts until it leaves the opening
        count = ok.sum(axis=0)
        fans.append(((prof * ok).sum(axis=0) / np.maximum(count, 1), count >= 3))
    inner = np.concatenate([m[s & (rel >= 0.6) & (rel <= 0.95)] for m, s in fans])
    if len(inner) == 0:
        return centre, tracked
    iris_level = float(np.median(inner))
    edges = []
    for mean, seen in fans:
        outer = seen & (rel >= 1.3)
        sclera_level = float(mean[outer].max()) if outer.any() else iris_level
        if sclera_level - iris_level < 15.0:
            edges.append(None)
            continue
        threshold = iris_level + 0.6 * (sclera_level - iris_level)
        # Inwards from the white's brightest: the first radius below the threshold. Going
        # outwards from the pupil instead, a light iris (a drawn one's, a blue eye's lit
        # side) crosses the threshold well inside its rim.
        top = int(np.flatnonzero(outer)[np.argmax(mean[outer])])
        search = np.flatnonzero(seen[:top + 1] & (rel[:top + 1] >= 0.7))[::-1]
        below = search[mean[search] < threshold]
        if len(below) == 0 or below[0] + 1 > top:
            edges.append(None)
            continue
        j = int(below[0]) + 1    # mean[j - 1] < threshold <= mean[j]
        f = (threshold - mean[j - 1]) / max(mean[j] - mean[j - 1], 1e-6)
        edges.append(radii[j - 1] + np.clip(f, 0.0, 1.0) * (radii[j] - radii[j - 1]))
    forward, backward = edges
    if forward is None and backward is None:
        return centre, tracked
    if forward is None or backward is None:
        # One side against a corner or in shadow: the radius no smaller than tracked, the
        # centre left where the face mesh put it.
        return centre, max(tracked, float(forward if backward is None else backward))
    shift = 0.5 * (forward - backward)
    if abs(shift) > 0.25 * tracked:  # the two sides disagree: trust the face mesh's centre
        return centre, max(tracked, 0.5 * (forward + backward))
    return centre + shift * np.asarray(x_axis), 0.5 * (forward + backward)


def _resample(poly: np.ndarray, n: int) -> np.ndarray:
    """``n`` points evenly spaced by arc length along the polyline ``poly`` (M, 2)."""
    seg = np.hypot(*np.diff(poly, axis=0).T)
    s = np.r_[0.0, np.cumsum(seg)]
    t = np.linspace(0.0, s[-1], n)
    return np.stack([np.interp(t, s, poly[:, 0]), np.interp(t, s, poly[:, 1])], axis=1)


def drawn_opening(crop: np.ndarray, corners: np.ndarray, upper: np.ndarray,
                  lower: np.ndarray, *, params: EyeParams = EyeParams()
                  ) -> tuple[np.ndarray, np.ndarray] | None:
    """The eye's opening as the image shows it, when that is clearly larger than the face
    mesh's contour (a cartoon's drawn eye: the contour runs through its white and iris).

    GrabCut on ``crop`` (h, w, 3) uint8 RGB, seeded with the contour: its inside (less a
    margin) is eye, the band up to ``drawn_reach_w`` eye widths around it may be, beyond is
    not. Rays normal to each lid (``drawn_rays`` per lid, along the eye's axis at the
    corners) read how far the grown region reaches past the contour. The opening counts as
    larger only when the median reach through white (see ``EyeParams.drawn_min_w``) is at
    least ``drawn_min_w`` eye widths; a photo's contour sits on the lid margin and what
    GrabCut may add there is lashes or eyeliner.

    Parameters
    ----------
    corners : (2, 2) image-left and image-right corners; upper, lower : (M, 2) lid margins
        from the image-left corner on (``EyeTopology``); all in ``crop``'s pixels.

    Returns
    -------
    (upper, lower) : (n, 2) float64 each, the grown lids from corner to corner (both start
        and end at the same grown corners), in ``crop``'s pixels; or None.
    """
    p = params
    corners = np.asarray(corners, np.float64)
    width = float(np.hypot(*(corners[1] - corners[0])))
    if width < 8.0:
        return None
    lids = [np.vstack([corners[0], upper, corners[1]]), np.vstack([corners[0], lower, corners[1]])]
    loop = np.vstack([lids[0], lids[1][::-1][1:-1]])
    # GrabCut's cost grows with the pixels: the eye scaled to drawn_work_px wide.
    scale = min(1.0, p.drawn_work_px / width)
    small = crop if scale >= 1.0 else cv2.resize(crop, None, fx=scale, fy=scale,
                                                 interpolation=cv2.INTER_AREA)
    sw = width * scale
    contour = np.zeros(small.shape[:2], np.uint8)
    cv2.fillPoly(contour, [np.round(loop * scale * 16).astype(np.int32)], 1, cv2.LINE_8, 4)
    core = cv2.erode(contour, np.ones((3, 3), np.uint8),
                     iterations=max(1, int(round(0.03 * sw))))
    if core.sum() < 8:
        return None
    reach = max(1, int(round(p.drawn_reach_w * sw)))
    near = cv2.dilate(contour, cv2.getStructuringElement(cv2.MORPH_ELLIPSE,
                                                         (2 * reach + 1, 2 * reach + 1)))
    seeds = np.full(small.shape[:2], cv2.GC_BGD, np.uint8)
    seeds[near > 0] = cv2.GC_PR_BGD
    seeds[contour > 0] = cv2.GC_PR_FGD
    seeds[core > 0] = cv2.GC_FGD
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    # GrabCut seeds its colour models by k-means from OpenCV's global generator: seeded, the
    # same photo always grows the same opening (nothing else here draws from it).
    cv2.setRNGSeed(0)
    try:
        cv2.grabCut(np.ascontiguousarray(small), seeds, None, bgd, fgd, 4,
                    cv2.GC_INIT_WITH_MASK)
    except cv2.error:  # a degenerate colour model (a flat region): nothing to grow
        return None
    grown = ((seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD)).astype(np.uint8)
    _, labels = cv2.connectedComponents(grown)
    keep = np.unique(labels[core > 0])
    grown = np.isin(labels, keep[keep > 0]).astype(np.float32)
    luma = small.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    white = p.drawn_white * float(np.percentile(luma[core > 0], 90))
    # Rays from the lids, in full-scale pixels, sampled every half pixel of the small crop.
    x_axis = (corners[1] - corners[0]) / width
    down = np.array([-x_axis[1], x_axis[0]])
    steps = np.arange(0.0, p.drawn_reach_w * width, 0.5 / scale)
    n = max(int(p.drawn_rays), 3)
    reach_px, bright, starts, normals = [], [], [], []
    for lid, sign in zip(lids, (-1.0, 1.0)):
        q = _resample(lid, n)
        tangent = np.gradient(q, axis=0)
        tangent /= np.maximum(np.linalg.norm(tangent, axis=1, keepdims=True), 1e-9)
        normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
        normal *= np.where(normal @ down * sign >= 0.0, 1.0, -1.0)[:, None]
        normal[0], normal[-1] = -x_axis, x_axis
        xs = ((q[:, :1] + normal[:, :1] * steps[None]) * scale).astype(np.float32)
        ys = ((q[:, 1:] + normal[:, 1:] * steps[None]) * scale).astype(np.float32)
        inside = cv2.remap(grown, xs, ys, cv2.INTER_LINEAR, borderValue=0.0) > 0.5
        run = np.minimum.accumulate(inside, axis=1)
        count = run.sum(axis=1)
        reach_px.append(np.where(count > 0, steps[np.maximum(count - 1, 0)], 0.0))
        lit = cv2.remap(luma, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE) >= white
        bright.append((lit & run).sum(axis=1) >= p.drawn_white_frac * np.maximum(count, 1))
        starts.append(q)
        normals.append(normal)
    reach_px, bright = np.array(reach_px), np.array(bright)
    # The corners are one ray each, shared by both lids.
    for end in (0, -1):
        reach_px[:, end] = reach_px[:, end].min()
        bright[:, end] = bright[:, end].all()
    through_white = np.where(bright, reach_px, 0.0)
    evidence = float(np.median(through_white[:, 1:-1])) / width
    if evidence < p.drawn_min_w:
        log.debug("eye opening as tracked (reach through white %.3f eye widths)", evidence)
        return None
    # A ray slipping out through a gap in the lid line is one ray: the median of three.
    padded = np.pad(reach_px, ((0, 0), (1, 1)), mode="edge")
    smooth = np.median(np.stack([padded[:, :-2], padded[:, 1:-1], padded[:, 2:]]), axis=0)
    smooth[:, 0], smooth[:, -1] = smooth[:, 0].min(), smooth[:, -1].min()
    out = [q + normal * r[:, None] for q, normal, r in zip(starts, normals, smooth)]
    log.debug("eye opening grown from the image: reach through white %.3f eye widths, "
              "median reach %.3f", evidence, float(np.median(smooth)) / width)
    return out[0], out[1]


# How much brighter than the white across the eye at that height the fill may be where it
# meets the white beside the hole (a mean white of the eye in view no more than 10% above
# the photo's own is issue 11's measure of a stare).
EDGE_EXCESS = 0.08
# The white of the eye: at least this fraction of the bright end (the 90th percentile luma)
# of what the opening shows away from its edge; the fill where the iris was is shaded no
# darker than this fraction of the white beside it.
WHITE_FRAC = 0.7


def fill_iris_hole(crop: np.ndarray, known: np.ndarray, u: np.ndarray, v: np.ndarray,
                   width: float) -> np.ndarray:
    """Colours for the opening where the iris was, from the ``known`` pixels of the opening
    (``crop`` (h, w, 3) uint8), in lid coordinates (``u``, ``v``, (h, w) each): at each
    height between the lids, a straight blend along the eye from the white just beside the
    hole on one side to the white just beside it on the other (one side only: that side's
    white). The white under the upper lid is in shadow and the corners are darker, and the
    fill follows: it meets the white around it without a seam; away from it, it dims to
    no brighter than the white across the whole eye at that height (a bright middle reads
    as a stare). A height with no white in view on either side takes the nearest height's.

    The colour is the white's (the opening away from its edge, not darker than
    ``WHITE_FRAC`` of its bright end: not the lash line, a dark corner, the lid's shadow);
    what lies beside the hole only shades it, down to ``WHITE_FRAC`` of it. Where the iris
    reached a lid or a corner, a blend towards the lashes and the lid margin beside it made
    a flat grey or a skin-coloured eyeball (s1, s10). The dimming is against the photo's
    white away from the edge.
    Returns (h, w, 3) float32 (meaningful inside the opening)."""
    # Bins of about 1 px along the eye and across an opening ~0.35 eye widths high.
    nu = int(np.clip(round(width), 16, 128))
    nv = int(np.clip(round(0.35 * width), 4, 32))
    iu = np.clip((u * nu).astype(int), 0, nu - 1)
    iv = np.clip((v * nv).astype(int), 0, nv - 1)
    luma = np.array([0.299, 0.587, 0.114], np.float32)
    bright = crop.astype(np.float32) @ luma
    # The white proper: away from the lash line and the lid's shadow along the opening's
    # edge (0.05 eye widths, as issue 11 measures the photo's white), and not much darker
    # than the bright end of it (a dark corner, lashes crossing the opening).
    opening = known | ((u > 0.0) & (u < 1.0) & (v > 0.0) & (v < 1.0))
    inner = cv2.erode(opening.astype(np.uint8), np.ones((3, 3), np.uint8),
                      iterations=max(1, int(round(0.05 * width)))).astype(bool) & known
    white = (inner if inner.sum() >= 8 else known).copy()
    if white.any():
        white &= bright >= WHITE_FRAC * float(np.percentile(bright[white], 90))
    if white.sum() < 8:
        white = known
    at = np.arange(nu, dtype=np.float64)
    # The white beside the hole, averaged over a couple of pixels (one pixel's noise, or
    # a lash, would be drawn across the whole hole).
    k = {"sigmaX": 2.0, "sigmaY": 1.0, "borderType": cv2.BORDER_CONSTANT}

    def bins(mask):
        """The ``mask`` pixels' colours summed per bin, and their counts."""
        sums = np.zeros((nv, nu, 3), np.float32)
        counts = np.zeros((nv, nu), np.float32)
        np.add.at(sums, (iv[mask], iu[mask]), crop[mask].astype(np.float32))
        np.add.at(counts, (iv[mask], iu[mask]), 1.0)
        return sums, counts

    def rows_of(mask):
        """Per height, the blend along the eye between the ``mask`` pixels' colours (a
        height with none in view: the nearest height's), and which bins hold any."""
        sums, counts = bins(mask)
        den = cv2.GaussianBlur(counts, (0, 0), **k)
        local = cv2.GaussianBlur(sums, (0, 0), **k) / np.maximum(den, 1e-6)[..., None]
        seen = counts > 0
        grid = np.zeros((nv, nu, 3), np.float32)
        rows = np.flatnonzero(seen.any(axis=1))
        for j in rows:
            cols = np.flatnonzero(seen[j])
            for c in range(3):
                grid[j, :, c] = np.interp(at, cols, local[j, cols, c])
        if 0 < len(rows) < nv:
            nearest = rows[np.abs(np.arange(nv)[:, None] - rows[None]).argmin(axis=1)]
            grid = grid[nearest]
        return grid, seen

    if not known.any():
        return np.zeros(crop.shape, np.float32)
    beside, seen = rows_of(known)
    # The white's colour, shaded as what is beside the hole shades it (towards a corner, under
    # a lid), but never darker than ``WHITE_FRAC`` of that white: the white next to lashes
    # or a dark lid margin is a shaded white, not their colour.
    grid = rows_of(white)[0]
    shade = (beside @ luma) / np.maximum(grid @ luma, 1e-6)
    grid *= np.clip(shade, WHITE_FRAC, 1.0)[..., None]
    # Away from the white beside it, no brighter than the photo's white across the whole
    # eye at that height (away from the edge, as above, but with its darker corners): the
    # white beside the iris is often the brightest of it, and a middle lit as brightly as
    # that reads as a stare. Dimmed gradually (over ``taper`` bins from the nearest white in
    # view, from at most EDGE_EXCESS above it), so the fill meets the white beside it with
    # no more than a faint step.
    sums, counts = bins(inner if inner.any() else known)
    row_count = counts.sum(axis=1)
    cap = (sums @ luma).sum(axis=1) / np.maximum(row_count, 1e-6)
    filled = np.flatnonzero(row_count > 0)
    if 0 < len(filled) < nv:
        cap = cap[filled[np.abs(np.arange(nv)[:, None] - filled[None]).argmin(axis=1)]]
    taper = max(0.08 * nu, 2.0)
    for j in np.flatnonzero(seen.any(axis=1)):
        cols = np.flatnonzero(seen[j])
        gap = np.abs(at[:, None] - cols[None]).min(axis=1)
        t = np.clip(gap / taper, 0.0, 1.0)
        t = t * t * (3.0 - 2.0 * t)
        here = grid[j] @ luma
        limit = cap[j] * (1.0 + EDGE_EXCESS * (1.0 - t))
        grid[j] *= np.minimum(1.0, limit / np.maximum(here, 1e-6))[:, None].astype(np.float32)
    # Across the heights, a bin's worth of smoothing: rows filled from different distances
    # would otherwise show as streaks along the eye.
    grid = cv2.GaussianBlur(grid, (0, 0), sigmaX=1.0, sigmaY=1.5,
                            borderType=cv2.BORDER_REPLICATE)
    mx = (np.clip(u, 0.0, 1.0) * nu - 0.5).astype(np.float32)
    my = (np.clip(v, 0.0, 1.0) * nv - 0.5).astype(np.float32)
    return cv2.remap(grid, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


# A drawn eye's white is shaded mostly across the eye (the lid's shadow along the top, the
# lid lines): the fill's kernels reach this many times farther along the eye than across.
ALONG_ACROSS = 3.0


def smooth_fill(crop: np.ndarray, known: np.ndarray, x_axis: np.ndarray,
                width: float) -> np.ndarray:
    """Colours for a drawn eye's opening where its iris was: a smooth membrane over the
    hole from the ``known`` pixels of the opening alone (the lids and the skin outside it
    count as unknown), by normalized convolution at scales from a pixel to 0.4 eye widths,
    each finer scale taking over where it sees enough known pixels (push-pull). The
    kernels are ``ALONG_ACROSS`` times longer along the eye (``x_axis`` (2,), unit) than
    across it, so the white at the same height beside the hole counts most: the lid's
    shadow and the lid lines carry on across where the iris was, as behind a real iris.

    A drawn eye's grown lids are lines around a painted ball, its white is read around the
    hole rather than in the lid-relative rows of ``fill_iris_hole``, and it is not dimmed
    in the middle as there: a blend of the white around, never brighter than the brightest
    of it (a dimmer middle shows as a grey disc where the iris was). (h, w, 3) float32."""
    if not known.any():
        return np.zeros(crop.shape, np.float32)
    h, w = known.shape
    angle = float(np.degrees(np.arctan2(x_axis[1], x_axis[0])))
    level = abs(angle) < 1.0
    if not level:   # the eye's axis along the image rows
        rot = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, 1.0)
        back = cv2.invertAffineTransform(rot)
        crop = cv2.warpAffine(crop, rot, (w, h), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
        known = cv2.warpAffine(known.astype(np.uint8), rot, (w, h),
                               flags=cv2.INTER_NEAREST) > 0
    weight = known.astype(np.float32)
    img = crop.astype(np.float32) * weight[..., None]
    est = np.broadcast_to(img.sum(axis=(0, 1)) / weight.sum(), crop.shape).astype(np.float32)
    sigma = max(0.4 * width / ALONG_ACROSS, 1.0)
    sigmas = []
    while sigma >= 1.0:
        sigmas.append(sigma)
        sigma *= 0.5
    k = {"borderType": cv2.BORDER_CONSTANT}
    for sigma in sigmas:                      # coarse to fine
        den = cv2.GaussianBlur(weight, (0, 0), ALONG_ACROSS * sigma, sigmaY=sigma, **k)
        num = cv2.GaussianBlur(img, (0, 0), ALONG_ACROSS * sigma, sigmaY=sigma, **k)
        local = num / np.maximum(den, 1e-6)[..., None]
        # A scale counts where a fair share of the pixels it weighs are known.
        share = np.clip(den / 0.25, 0.0, 1.0)[..., None]
        est = share * local + (1.0 - share) * est
    if not level:
        est = cv2.warpAffine(est, back, (w, h), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE)
    return est


def rotation_fill(iris: np.ndarray, known: np.ndarray, want: np.ndarray, centre) -> None:
    """Fill ``want & ~known`` pixels of ``iris`` (h, w, 3) in place with the known pixel at
    the same radius and the nearest angle: an iris is nearly rotationally symmetric, so the
    part hidden under a lid in the photo is best guessed from the visible part at the same
    radius (pupil, iris ring, limbus stay concentric)."""
    todo = want & ~known
    if not todo.any():
        return
    if not known.any():
        iris[todo] = (70, 55, 45)  # no visible iris at all: a dark brown disc
        return
    ys, xs = np.nonzero(todo)
    dx, dy = xs - centre[0], ys - centre[1]
    h, w = known.shape
    filled = np.zeros(len(xs), bool)
    for step in range(1, 19):
        for sign in (1, -1):
            a = np.deg2rad(10.0 * step * sign)
            sx = np.round(centre[0] + np.cos(a) * dx - np.sin(a) * dy).astype(int)
            sy = np.round(centre[1] + np.sin(a) * dx + np.cos(a) * dy).astype(int)
            ok = ~filled & (sx >= 0) & (sx < w) & (sy >= 0) & (sy < h)
            ok[ok] = known[sy[ok], sx[ok]]
            iris[ys[ok], xs[ok]] = iris[sy[ok], sx[ok]]
            filled |= ok
        if filled.all():
            return
    iris[ys[~filled], xs[~filled]] = np.median(iris[known], axis=0)


def eyeball_and_iris(photo: np.ndarray, pts: np.ndarray, topo: EyeTopology, *,
                     feather_px: float, opening_mask, params: EyeParams | None = None) -> dict:
    """The photo's eye without its iris, and the iris disc. ``pts`` (478, 2) float64.

    ``opening_mask(shape, origin)`` -> (h, w) uint8 0..255, the anti-aliased opening.
    With ``params``, an opening the image shows clearly larger than the contour (a drawn
    eye, ``drawn_opening``) is taken instead: the iris is found, removed and cut out within
    it.

    Returns a dict: ``eyeball`` (h, w, 3) uint8 and ``eyeball_origin`` (2,) (photo pixel of
    its [0, 0]); ``iris`` (s, s, 4) float32 premultiplied RGB + alpha, ``iris_origin`` (2,);
    ``radius`` (px, from the image where it shows the iris's edge), ``centre`` (2,);
    ``drawn`` (2n - 2, 2) float64, the grown opening in the photo's pixels (a loop: the
    upper lid from the image-left corner to the other, then the lower lid back, ``n`` points
    per lid with the corners), or None.
    """
    h, w = photo.shape[:2]
    contour = pts[topo.contour]
    width = float(np.linalg.norm(pts[topo.corners[1]] - pts[topo.corners[0]]))
    centre = pts[topo.iris].copy()
    tracked = float(np.linalg.norm(pts[topo.iris + 1:topo.iris + 5] - centre, axis=1).mean())
    tracked = float(np.clip(tracked, 0.05 * width, 0.4 * width))
    # The eye region with wide margins: the triangles of a wide-open eye sample only the
    # opening, but the bilinear taps at its edge reach a pixel beyond.
    lo = np.floor(contour.min(axis=0) - (0.3 * width, 0.5 * width)).astype(int)
    hi = np.ceil(contour.max(axis=0) + (0.3 * width, 0.5 * width)).astype(int) + 1
    lo = np.maximum(lo, 0)
    hi = np.minimum(hi, (w, h))
    crop = np.ascontiguousarray(photo[lo[1]:hi[1], lo[0]:hi[0]])
    opening = opening_mask(crop.shape[:2], lo) > 127
    corners, upper, lower = pts[list(topo.corners)], pts[topo.upper], pts[topo.lower]
    drawn = None
    if params is not None:
        grown = drawn_opening(crop, corners - lo, upper - lo, lower - lo, params=params)
        if grown is not None:
            g_up, g_low = grown[0] + lo, grown[1] + lo
            drawn = np.vstack([g_up, g_low[::-1][1:-1]])
            opening |= fill_polygon(crop.shape[:2], drawn, lo) > 127
            corners, upper, lower = np.stack([g_up[0], g_up[-1]]), g_up[1:-1], g_low[1:-1]
    # The white of the eye is bright in every channel; an iris, of whatever colour, is
    # darker in at least one: its edge shows best in the darkest channel.
    whiteness = np.ascontiguousarray(crop.min(axis=2).astype(np.float32))
    x_axis = (pts[topo.corners[1]] - pts[topo.corners[0]]) / max(width, 1e-9)
    c_local, radius = iris_from_image(whiteness, centre - lo, tracked, opening, x_axis)
    radius = float(np.clip(radius, 0.05 * width, 0.45 * width))
    if abs(radius - tracked) > 0.15 * tracked or np.hypot(*(c_local + lo - centre)) > 1.0:
        log.debug("eye %d: iris at %s radius %.1f px from the image (face mesh %s, %.1f)",
                  topo.iris, np.round(c_local + lo, 1), radius, np.round(centre, 1), tracked)
    centre = c_local + lo
    yy, xx = np.mgrid[0:crop.shape[0], 0:crop.shape[1]]
    dist = np.hypot(xx - c_local[0], yy - c_local[1])
    # The limbus (the iris's dark rim) reaches a pixel or two past the edge.
    hole_r = radius + max(1.5, 0.12 * radius)
    hole = opening & (dist <= hole_r)
    known = opening & ~hole
    eyeball = crop.copy()
    if known.sum() >= 8 and hole.any():
        xy = np.stack([xx + lo[0], yy + lo[1]], axis=-1).reshape(-1, 2).astype(np.float64)
        u, v = lid_coordinates(xy, corners, upper, lower)
        u, v = u.reshape(crop.shape[:2]), v.reshape(crop.shape[:2])
        if drawn is None:
            fill = fill_iris_hole(crop, known, u, v, width)
        else:
            fill = smooth_fill(crop, known, x_axis, width)
        # Soft into the known pixels over a pixel, so the fill has no edge of its own.
        m = np.clip(hole_r + 1.0 - dist, 0.0, 1.0)[..., None] * opening[..., None]
        eyeball = np.clip(crop * (1.0 - m) + fill * m + 0.5, 0, 255).astype(np.uint8)
    elif hole.any():  # the photo shows no white of the eye: a plain, slightly warm white
        log.debug("eye %d: no sclera visible; painting a plain eyeball", topo.iris)
        eyeball[hole] = (215, 205, 200)
    # Iris disc: visible pixels from the photo, the hidden part filled by rotation.
    s = int(np.ceil(radius + 2 * feather_px + 1))
    o = np.floor(centre).astype(int) - s
    size = 2 * s + 1
    rgb = np.zeros((size, size, 3), np.uint8)
    ys0, xs0 = max(o[1], 0), max(o[0], 0)
    ys1, xs1 = min(o[1] + size, h), min(o[0] + size, w)
    rgb[ys0 - o[1]:ys1 - o[1], xs0 - o[0]:xs1 - o[0]] = photo[ys0:ys1, xs0:xs1]
    iy, ix = np.mgrid[0:size, 0:size]
    idist = np.hypot(ix + o[0] - centre[0], iy + o[1] - centre[1])
    # Seen iris: inside the opening, away from the lash line (a lid's shadow and lashes are
    # not iris, and would move with it).
    erode = max(1, int(round(0.03 * width)))
    visible = cv2.erode(opening.astype(np.uint8), np.ones((3, 3), np.uint8),
                        iterations=erode).astype(bool)
    known_iris = np.zeros((size, size), bool)
    inside = (iy + o[1] >= lo[1]) & (iy + o[1] < hi[1]) & (ix + o[0] >= lo[0]) \
        & (ix + o[0] < hi[0])
    known_iris[inside] = visible[(iy + o[1] - lo[1])[inside], (ix + o[0] - lo[0])[inside]]
    known_iris &= idist <= radius - 0.5
    # The iris's outer part is where the lids cross it: a lid's wet rim, lashes or its
    # shadow left in it move with the iris as a dotted arc. A seen pixel there next to a
    # lid (a catchlight elsewhere is as unlike its surroundings, and is the eye's life),
    # unlike the iris at its own radius (farther from that circle's median colour than
    # ``iris_rim_outlier`` times the median such distance, and 24 levels; a drawn iris's
    # dark outline is its circle's own colour), is filled from the iris at the same radius.
    rim = params if params is not None else EyeParams()
    outer = known_iris & (idist > rim.iris_rim_from * radius)
    edge = cv2.distanceTransform(opening.astype(np.uint8), cv2.DIST_L2, 3)
    by_lid = np.zeros((size, size), bool)
    by_lid[inside] = edge[(iy + o[1] - lo[1])[inside], (ix + o[0] - lo[0])[inside]] \
        <= max(2.0, rim.iris_rim_lid_w * width)
    if (outer & by_lid).any() and outer.sum() >= 12:
        circle = np.round(idist).astype(int)
        dev = np.full((size, size), -1.0)
        for c in np.unique(circle[outer]):
            on = outer & (circle == c)
            if on.sum() >= 6:
                dev[on] = np.linalg.norm(rgb[on].astype(np.float32)
                                         - np.median(rgb[on], axis=0), axis=1)
        judged = dev >= 0.0
        if judged.any():
            limit = max(24.0, rim.iris_rim_outlier * float(np.median(dev[judged])))
            known_iris &= ~(judged & by_lid & (dev > limit))
    want = idist <= radius + feather_px
    rotation_fill(rgb, known_iris, want, centre - o)
    alpha = np.clip((radius - idist) / max(feather_px, 1e-3) + 0.5, 0.0, 1.0)
    # Premultiplied: bilinear sampling at the disc's edge then blends with nothing.
    iris = np.empty((size, size, 4), np.float32)
    iris[..., :3] = rgb * alpha[..., None]
    iris[..., 3] = alpha
    return {"eyeball": eyeball, "eyeball_origin": lo.astype(np.float64), "iris": iris,
            "iris_origin": o.astype(np.float64), "radius": radius, "centre": centre,
            "drawn": drawn}
