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

from reactive.core.landmarks import EyeTopology

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
    radius, going outwards from 0.7 x the tracked one, where the brightness rises 60% of
    the way from the iris's level (0.6-0.95 x tracked) to the sclera's (the brightest
    beyond 1.3 x tracked). The centre moves along the axis to halfway between the two
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
        search = np.flatnonzero(seen & (rel >= 0.7))
        above = search[mean[search] >= threshold]
        if len(above) == 0 or above[0] == 0 or not seen[above[0] - 1]:
            edges.append(None)
            continue
        j = int(above[0])
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


# How much brighter than the white across the eye at that height the fill may be where it
# meets the white beside the hole (a mean white of the eye in view no more than 10% above
# the photo's own is issue 11's measure of a stare).
EDGE_EXCESS = 0.08


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
    Returns (h, w, 3) float32 (meaningful inside the opening)."""
    # Bins of about 1 px along the eye and across an opening ~0.35 eye widths high.
    nu = int(np.clip(round(width), 16, 128))
    nv = int(np.clip(round(0.35 * width), 4, 32))
    iu = np.clip((u * nu).astype(int), 0, nu - 1)
    iv = np.clip((v * nv).astype(int), 0, nv - 1)
    sums = np.zeros((nv, nu, 3), np.float32)
    counts = np.zeros((nv, nu), np.float32)
    np.add.at(sums, (iv[known], iu[known]), crop[known].astype(np.float32))
    np.add.at(counts, (iv[known], iu[known]), 1.0)
    if counts.sum() <= 0:
        return np.zeros(crop.shape, np.float32)
    # The white beside the hole, averaged over a couple of pixels (one pixel's noise, or
    # a lash, would be drawn across the whole hole).
    k = {"sigmaX": 2.0, "sigmaY": 1.0, "borderType": cv2.BORDER_CONSTANT}
    den = cv2.GaussianBlur(counts, (0, 0), **k)
    local = cv2.GaussianBlur(sums, (0, 0), **k) / np.maximum(den, 1e-6)[..., None]
    seen = counts > 0
    grid = np.zeros((nv, nu, 3), np.float32)
    rows = np.flatnonzero(seen.any(axis=1))
    at = np.arange(nu, dtype=np.float64)
    for j in rows:
        cols = np.flatnonzero(seen[j])
        for c in range(3):
            grid[j, :, c] = np.interp(at, cols, local[j, cols, c])
    # Away from the white beside it, no brighter than the white across the whole eye at
    # that height: the white beside the iris is often the brightest of it, and a middle
    # lit as brightly as that reads as a stare. Dimmed gradually (over ``taper`` bins from
    # the nearest white in view, from at most EDGE_EXCESS above it), so the fill meets
    # the white beside it with no more than a faint step.
    luma = np.array([0.299, 0.587, 0.114], np.float32)
    row_count = counts.sum(axis=1)
    cap = (sums @ luma).sum(axis=1) / np.maximum(row_count, 1e-6)
    taper = max(0.08 * nu, 2.0)
    for j in rows:
        cols = np.flatnonzero(seen[j])
        gap = np.abs(at[:, None] - cols[None]).min(axis=1)
        t = np.clip(gap / taper, 0.0, 1.0)
        t = t * t * (3.0 - 2.0 * t)
        here = grid[j] @ luma
        limit = cap[j] * (1.0 + EDGE_EXCESS * (1.0 - t))
        grid[j] *= np.minimum(1.0, limit / np.maximum(here, 1e-6))[:, None].astype(np.float32)
    if len(rows) < nv:   # heights with no white in view: the nearest height's
        nearest = rows[np.abs(np.arange(nv)[:, None] - rows[None]).argmin(axis=1)]
        grid = grid[nearest]
    # Across the heights, a bin's worth of smoothing: rows filled from different distances
    # would otherwise show as streaks along the eye.
    grid = cv2.GaussianBlur(grid, (0, 0), sigmaX=1.0, sigmaY=1.5,
                            borderType=cv2.BORDER_REPLICATE)
    mx = (np.clip(u, 0.0, 1.0) * nu - 0.5).astype(np.float32)
    my = (np.clip(v, 0.0, 1.0) * nv - 0.5).astype(np.float32)
    return cv2.remap(grid, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


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
                     feather_px: float, opening_mask) -> dict:
    """The photo's eye without its iris, and the iris disc. ``pts`` (478, 2) float64.

    ``opening_mask(shape, origin)`` -> (h, w) uint8 0..255, the anti-aliased opening.

    Returns a dict: ``eyeball`` (h, w, 3) uint8 and ``eyeball_origin`` (2,) (photo pixel of
    its [0, 0]); ``iris`` (s, s, 4) float32 premultiplied RGB + alpha, ``iris_origin`` (2,);
    ``radius`` (px, from the image where it shows the iris's edge), ``centre`` (2,).
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
        corners = pts[list(topo.corners)]
        u, v = lid_coordinates(xy, corners, pts[topo.upper], pts[topo.lower])
        u, v = u.reshape(crop.shape[:2]), v.reshape(crop.shape[:2])
        fill = fill_iris_hole(crop, known, u, v, width)
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
    want = idist <= radius + feather_px
    rotation_fill(rgb, known_iris, want, centre - o)
    alpha = np.clip((radius - idist) / max(feather_px, 1e-3) + 0.5, 0.0, 1.0)
    # Premultiplied: bilinear sampling at the disc's edge then blends with nothing.
    iris = np.empty((size, size, 4), np.float32)
    iris[..., :3] = rgb * alpha[..., None]
    iris[..., 3] = alpha
    return {"eyeball": eyeball, "eyeball_origin": lo.astype(np.float64), "iris": iris,
            "iris_origin": o.astype(np.float64), "radius": radius, "centre": centre}
