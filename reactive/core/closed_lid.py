"""The closed lid (beyond the paper): what a closed eye shows where the open one showed its
eye, made once per photo from the photo's own lid skin and faded in by the eye layer."""

from __future__ import annotations

import cv2
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.linalg import spsolve

from reactive.core.geometry import fill_polygon
from reactive.core.landmarks import EyeTopology
from reactive.params import EyeParams

_KERNEL3 = np.ones((3, 3), np.uint8)


def harmonic_fill(image: np.ndarray, unknown: np.ndarray) -> np.ndarray:
    """``image`` (h, w, C) float32 with its ``unknown`` (h, w) bool pixels replaced by the
    membrane (Laplace) interpolation of the known pixels around them: the smoothest surface
    that meets the known values at the boundary. ``unknown`` must not touch the border.
    Returns (h, w, C) float32."""
    out = image.astype(np.float32).copy()
    ys, xs = np.nonzero(unknown)
    n = len(ys)
    if n == 0:
        return out
    index = np.full(unknown.shape, -1, np.int64)
    index[ys, xs] = np.arange(n)
    rows, cols, vals = [np.arange(n)], [np.arange(n)], [np.full(n, 4.0)]
    rhs = np.zeros((n, image.shape[2]), np.float64)
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        ny, nx = ys + dy, xs + dx
        j = index[ny, nx]
        inner = j >= 0
        rows.append(np.flatnonzero(inner))
        cols.append(j[inner])
        vals.append(np.full(int(inner.sum()), -1.0))
        rhs[~inner] += image[ny[~inner], nx[~inner]]
    a = csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                   shape=(n, n))
    sol = spsolve(a.tocsc(), rhs)
    out[ys, xs] = np.asarray(sol, np.float32).reshape(n, -1)
    return out


def closed_lid(photo: np.ndarray, pts: np.ndarray, topo: EyeTopology, width: float,
                tris_xy: np.ndarray, first: np.ndarray, *, params: EyeParams
                ) -> tuple[np.ndarray, np.ndarray]:
    """The eye of the photo covered by lid skin: what a closed eye shows where the open one
    showed its eye, made once per photo.

    The region replaced is everything of the drawn eye: the tracked opening dilated by
    ``closed_margin_w`` eye widths (the lash line and the lid margin go too), grown into the
    pixels around it that do not look like the skin of the lid patch (Lab distance from its
    median beyond ``closed_skin_dist`` times the skin's own median spread), as long as they
    connect to the opening and lie inside the lid patch: a cartoon's drawn eye is much larger
    than the face mesh's eye contour, and its white below the contour would otherwise stay
    visible under the closed lid. The upper lid up to ``closed_lid_up`` of the way to the
    crease ring goes too. The region is filled by membrane interpolation from the skin around
    it (a smooth lid shaded like the skin above and below), plus ``closed_grain`` of a noise
    as strong as the skin's own fine grain, so the lid is not a plastic smear on a textured
    photo (noise rather than the photo's texture carried over: that carries lashes and
    folds along).

    Parameters
    ----------
    photo : (H, W, 3) uint8 RGB. pts : (478, 2) float64 its landmarks.
    tris_xy : (T, 3, 2) float64 the lid patch's triangles at rest: nothing outside them is
        replaced (the redraw renders only them).
    first : (T,) bool, the triangles of the first ring around the eye (not touching
        ``topo.outer_ring``): the lid skin's colour is read there.

    Returns
    -------
    origin : (2,) int, the photo pixel (x, y) of the delta's top-left pixel.
    delta : (h, w, 3) float32, closed minus open, zero outside the replaced region.
    """
    h, w = photo.shape[:2]
    lo = np.maximum(np.floor(tris_xy.reshape(-1, 2).min(axis=0)).astype(int) - 2, 0)
    hi = np.minimum(np.ceil(tris_xy.reshape(-1, 2).max(axis=0)).astype(int) + 3, (w, h))
    crop = photo[lo[1]:hi[1], lo[0]:hi[0]]
    shape = crop.shape[:2]
    hull = np.zeros(shape, np.uint8)
    hull_first = np.zeros(shape, np.uint8)
    for t, f in zip(tris_xy, first):
        t16 = np.round((t - lo) * 16).astype(np.int32)
        cv2.fillConvexPoly(hull, t16, 1, cv2.LINE_8, 4)
        if f:
            cv2.fillConvexPoly(hull_first, t16, 1, cv2.LINE_8, 4)
    opening = fill_polygon(shape, pts[topo.contour], lo) > 127

    def disc(r: float) -> np.ndarray:
        r = max(1, int(round(r)))
        return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))

    inner = cv2.erode(hull, _KERNEL3).astype(bool)
    lab = cv2.cvtColor(crop.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    near = cv2.dilate(opening.astype(np.uint8), disc(params.closed_margin_w * width)) > 0
    # The lid skin's colour from the first ring around the eye (the second ring's cheek is
    # lit differently from a lid; it is there only to be covered).
    skin = cv2.erode(hull_first, _KERNEL3).astype(bool) & ~(
        cv2.dilate(opening.astype(np.uint8), disc(0.12 * width)) > 0)
    if skin.sum() < 16:
        skin = hull_first.astype(bool) & ~near
    # The upper lid too, up to ``closed_lid_up`` of the way to the crease ring: its fold and
    # its lit bulge over the open eye, stretched over a closed eye, draw the outline of an
    # open eye (a light lens between a dark fold and the lash line).
    top = pts[topo.upper] + params.closed_lid_up * (pts[topo.crease] - pts[topo.upper])
    lid = np.concatenate([pts[[topo.corners[0]]], top, pts[[topo.corners[1]]],
                          pts[topo.lower[::-1]]])
    near |= fill_polygon(shape, lid, lo) > 127
    region = near & inner
    if skin.sum() >= 16:
        ref = np.median(lab[skin], axis=0)
        dist = np.linalg.norm(lab - ref, axis=2)
        spread = max(float(np.median(dist[skin])), 2.0)
        foreign = (dist > params.closed_skin_dist * spread) & inner
        reach = cv2.dilate(opening.astype(np.uint8), disc(params.closed_reach_w * width)) > 0
        grow = (foreign & reach) | region
        _, labels = cv2.connectedComponents(grow.astype(np.uint8), connectivity=8)
        keep = np.unique(labels[region & (labels > 0)])
        grown = np.isin(labels, keep) & (labels > 0)
        # A pixel or two more: the anti-aliased edge of a drawn line is not quite foreign.
        region = (cv2.dilate(grown.astype(np.uint8), disc(max(1.0, 0.02 * width))) > 0) & inner
    fill = harmonic_fill(crop.astype(np.float32), region)
    # Grain: a smooth fill looks like plastic on a grainy photo (a painting's craquelure, film
    # grain, JPEG noise). Noise with the skin's own fine-scale spread per channel, slightly
    # blurred like it, seeded so that a photo always gets the same lid.
    fine = crop.astype(np.float32) - cv2.GaussianBlur(crop.astype(np.float32), (0, 0), 1.0)
    delta = (fill - crop.astype(np.float32)) * region[..., None]
    if skin.sum() >= 16 and params.closed_grain > 0.0:
        # Robust (median absolute deviation): the skin sample holds some lashes and edges.
        f = fine[skin]
        spread = 1.4826 * np.median(np.abs(f - np.median(f, axis=0)), axis=0)
        # One noise for all channels: grain is in brightness, colour noise looks like dust.
        noise = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        noise = cv2.GaussianBlur(noise, (0, 0), 0.6)
        noise /= max(float(noise.std()), 1e-6)
        # Faded in from the region's edge, so no seam of grain starts at it.
        soft = cv2.GaussianBlur(region.astype(np.float32), (0, 0), max(0.7, 0.015 * width))
        soft = np.minimum(soft, region)
        delta += (params.closed_grain * noise * soft)[..., None] * spread
    return lo, delta.astype(np.float32)
