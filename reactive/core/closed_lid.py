"""The closed lid (beyond the paper): what a closed eye shows where the open one showed its
eye, made once per photo from the photo's own lid skin, in the closed eye's geometry, and
faded in by the eye layer."""

from __future__ import annotations

import cv2
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.linalg import spsolve

from reactive.core.geometry import fill_polygon, triangle_affines
from reactive.core.kernels.eyes import raster_triangles
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


def _disc(r: float) -> np.ndarray:
    r = max(1, int(round(r)))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def _fill_triangles(shape: tuple[int, int], tris_xy: np.ndarray, origin) -> np.ndarray:
    """(h, w) uint8, 1 inside the triangles ``tris_xy`` (T, 3, 2) taken from ``origin``."""
    mask = np.zeros(shape, np.uint8)
    for t in tris_xy:
        cv2.fillConvexPoly(mask, np.round((t - origin) * 16).astype(np.int32), 1, cv2.LINE_8, 4)
    return mask


def _skin_reference(photo: np.ndarray, pts: np.ndarray, topo: EyeTopology, width: float,
                    rest_tris: np.ndarray, first: np.ndarray
                    ) -> tuple[np.ndarray, float, np.ndarray] | None:
    """The lid skin's colour in the photo, from the first ring of triangles around the eye
    (the second ring's cheek is lit differently from a lid), away from the opening: Lab
    median, the median Lab distance from it (its spread), and the fine grain's per-channel
    spread (RGB, median absolute deviation of the image less its Gaussian blur of 1 px).
    None when fewer than 16 such pixels."""
    h, w = photo.shape[:2]
    lo = np.maximum(np.floor(rest_tris.reshape(-1, 2).min(axis=0)).astype(int) - 2, 0)
    hi = np.minimum(np.ceil(rest_tris.reshape(-1, 2).max(axis=0)).astype(int) + 3, (w, h))
    crop = photo[lo[1]:hi[1], lo[0]:hi[0]]
    shape = crop.shape[:2]
    opening = fill_polygon(shape, pts[topo.contour], lo) > 127
    near = cv2.dilate(opening.astype(np.uint8), _disc(0.12 * width)) > 0
    ring = _fill_triangles(shape, rest_tris[first], lo)
    skin = cv2.erode(ring, _KERNEL3).astype(bool) & ~near
    if skin.sum() < 16:
        skin = ring.astype(bool) & ~near
    if skin.sum() < 16:
        return None
    lab = cv2.cvtColor(crop.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    ref = np.median(lab[skin], axis=0)
    spread = max(float(np.median(np.linalg.norm(lab[skin] - ref, axis=1))), 2.0)
    fine = crop.astype(np.float32) - cv2.GaussianBlur(crop.astype(np.float32), (0, 0), 1.0)
    f = fine[skin]
    # Robust (median absolute deviation): the skin sample holds some lashes and edges.
    grain = 1.4826 * np.median(np.abs(f - np.median(f, axis=0)), axis=0)
    return ref, spread, grain


def _eye_in_photo(photo: np.ndarray, pts: np.ndarray, topo: EyeTopology, width: float,
                  rest_tris: np.ndarray, reference, params: EyeParams
                  ) -> tuple[np.ndarray, np.ndarray]:
    """What a closed lid must cover, in the photo: the opening dilated by
    ``closed_margin_w`` eye widths (the lash line and the lid margins go too) and the upper
    lashes above it (``closed_lashes_up``), grown through
    the pixels around it unlike the lid skin (``reference``, from ``_skin_reference``) up
    to ``closed_reach_w`` eye widths from it: a cartoon's drawn eye is often much larger
    than the face mesh's contour. Returns (h, w) uint8 0/1 over the box of ``rest_tris``
    and the box's photo pixel (x, y)."""
    h, w = photo.shape[:2]
    lo = np.maximum(np.floor(rest_tris.reshape(-1, 2).min(axis=0)).astype(int) - 2, 0)
    hi = np.minimum(np.ceil(rest_tris.reshape(-1, 2).max(axis=0)).astype(int) + 3, (w, h))
    crop = photo[lo[1]:hi[1], lo[0]:hi[0]]
    shape = crop.shape[:2]
    opening = (fill_polygon(shape, pts[topo.contour], lo) > 127).astype(np.uint8)
    eye = cv2.dilate(opening, _disc(params.closed_margin_w * width)) > 0
    # The upper lashes, up to ``closed_lashes_up`` of the way to the first ring of skin: a
    # closed lid's lashes point down, and lashes carried to the seam pointing up read as
    # streaks on the lid.
    a, b = topo.corners
    upper = pts[topo.upper]
    top = upper + params.closed_lashes_up * (pts[topo.upper_skin] - upper)
    lashes = np.concatenate([pts[[a]], top, pts[[b]], upper[::-1]])
    eye |= fill_polygon(shape, lashes, lo) > 127
    if reference is not None:
        ref, spread, _ = reference
        lab = cv2.cvtColor(crop.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
        foreign = np.linalg.norm(lab - ref, axis=2) > params.closed_skin_dist * spread
        reach = cv2.dilate(opening, _disc(params.closed_reach_w * width)) > 0
        _, labels = cv2.connectedComponents(((foreign & reach) | eye).astype(np.uint8),
                                            connectivity=8)
        keep = np.unique(labels[eye & (labels > 0)])
        eye = np.isin(labels, keep) & (labels > 0)
        # A pixel or two more: the anti-aliased edge of a drawn line is not quite foreign.
        eye = cv2.dilate(eye.astype(np.uint8), _disc(max(1.0, 0.02 * width))) > 0
    return eye.astype(np.uint8), lo


def closed_lid(photo: np.ndarray, pts: np.ndarray, closed_pts: np.ndarray,
               topo: EyeTopology, width: float, tris: np.ndarray, source_tris: np.ndarray,
               first: np.ndarray, *, params: EyeParams) -> tuple[np.ndarray, np.ndarray]:
    """The closed eye, made once per photo in the geometry of the closed eye at rest: the
    lid skin that covers what the open eye showed, as a layer over the redrawn lid patch.

    Closing the lids brings the lid down and with it skin that the open eye's fold hid: in
    2D, the skin between the moving lid and the brow stretches, and whatever it held (lash
    tips, the fold's dark line, texture) becomes streaks along the stretch or a blurred
    band. So the closed eye is made where it is seen, in the closed geometry, and never
    stretched afterwards: the triangles ``tris`` (the lid patch and the ring around it) are
    rendered closed from the photo (as the redraw and the warp render them), then the
    stretched ones (area grown by more than ``closed_stretch``) and a band along the seam
    (``closed_margin_w`` eye widths each side) are replaced, grown through the pixels
    around them that do not look like the photo's lid skin (Lab distance from its median
    beyond ``closed_skin_dist`` times the skin's own spread: lashes, eyeliner, a cartoon's
    drawn eye larger than the face mesh's) up to ``closed_reach_w`` eye widths from the
    seam. The replaced region is filled by membrane interpolation from the skin around it
    (where a pixel there is not skin - a lash, a dark corner - the skin nearby, averaged,
    so nothing dark spreads into the lid), plus ``closed_grain`` of a noise as strong as the
    skin's own fine grain, isotropic (it is not stretched after), so the lid is not a
    plastic smear on a textured photo. What moved without stretching (the lid itself, its
    fold, the lash line brought down to the seam) keeps the photo's pixels. Per frame the
    eye layer lays this over the lids with the same triangles, from the closed rest to
    where they are.

    Parameters
    ----------
    photo : (H, W, 3) uint8 RGB. pts : (478, 2) float64 its landmarks.
    closed_pts : (468, 2) float64 the mesh with the lids closed at rest (``close_lids``).
    tris : (T, 3) int mesh indices of the triangles the layer covers.
    source_tris : (T, 3, 2) where the closed eye samples them in the photo (the lid margins
        read ``lid_margin_frac`` outside the opening, as the redraw does).
    first : (T,) bool, the triangles of the first ring around the eye: the lid skin's
        colour is read there.

    Returns
    -------
    origin : (2,) int, the photo pixel (x, y) of the layer's top-left pixel.
    rgba : (h, w, 4) float32, premultiplied RGB and alpha (0..1), in the closed geometry.
    """
    h, w = photo.shape[:2]
    closed_tris = closed_pts[tris]
    lo = np.maximum(np.floor(closed_tris.reshape(-1, 2).min(axis=0)).astype(int) - 2, 0)
    hi = np.minimum(np.ceil(closed_tris.reshape(-1, 2).max(axis=0)).astype(int) + 3, (w, h))
    shape = (int(hi[1] - lo[1]), int(hi[0] - lo[0]))
    lin, off, live = triangle_affines(closed_tris - lo, source_tris)
    closed = np.zeros(shape + (3,), np.uint8)
    raster_triangles(photo, closed_tris - lo, lin, off, live, closed)
    inner = cv2.erode(_fill_triangles(shape, closed_tris[live], lo), _KERNEL3).astype(bool)
    # What closing stretched.
    rest_tris = pts[tris]

    def areas(t):
        e1, e2 = t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]
        return e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]

    grew = areas(closed_tris) > params.closed_stretch * np.maximum(areas(rest_tris), 1e-9)
    stretched = _fill_triangles(shape, closed_tris[grew & live], lo).astype(bool) & inner
    # The band along the seam.
    a, b = topo.corners
    down = np.array([-(pts[b] - pts[a])[1], (pts[b] - pts[a])[0]]) / max(width, 1e-9)
    seam_pts = np.concatenate([closed_pts[[a]], 0.5 * (closed_pts[topo.upper]
                                                       + closed_pts[topo.lower]),
                               closed_pts[[b]]])
    margin = params.closed_margin_w * width * down
    band = np.concatenate([seam_pts - margin, (seam_pts + margin)[::-1]])
    covered = fill_polygon(shape, band, lo) > 127
    reference = _skin_reference(photo, pts, topo, width, rest_tris, first)
    # Everything of the photo's eye, wherever closing carried it: the opening and its
    # margins, and what looks unlike lid skin connected to it (a cartoon's drawn eye).
    eye, eye_lo = _eye_in_photo(photo, pts, topo, width, rest_tris, reference, params)
    carried = np.zeros(shape + (3,), np.uint8)
    raster_triangles(np.repeat(eye[..., None] * np.uint8(255), 3, axis=2), closed_tris - lo,
                     lin, off - eye_lo, live, carried)
    covered |= carried[..., 0] > 127
    # Grown by the alpha ramp below, so what must be covered is covered fully.
    ramp = max(1.5, 0.02 * width)
    covered = (cv2.dilate(covered.astype(np.uint8), _disc(ramp)) > 0) & inner
    base = closed.astype(np.float32)
    if reference is not None:
        ref, spread, _ = reference
        lab = cv2.cvtColor(closed.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
        foreign = (np.linalg.norm(lab - ref, axis=2) > params.closed_skin_dist * spread) & inner
        # The skin's own shading, without what is not skin: its pixels nearby, averaged.
        skin = inner & ~foreign & ~covered
        sigma = max(1.0, 0.06 * width)
        num = cv2.GaussianBlur(base * skin[..., None], (0, 0), sigma)
        den = cv2.GaussianBlur(skin.astype(np.float32), (0, 0), sigma)
        local = num / np.maximum(den, 1e-6)[..., None]
        seen = den > 1e-3
        # Stretched skin keeps its shading (a fold becomes a soft shade) but not its
        # streaks: the local average, the grain added below. What is not skin there (a
        # brow, hair) stays as the warp stretches it: its edge against the skin is real.
        stretched &= seen & ~foreign
        base = np.where(stretched[..., None], local, base)
        # Around the covered region, what is not skin is not interpolated from.
        base = np.where((~skin & ~stretched & seen)[..., None], local, base)
    # Faded into what surrounds it over ``closed_feather_w`` eye widths, outside what must
    # be covered: the fill meets the skin around it (whose non-skin pixels it ignored)
    # without an outline.
    feather = max(ramp, params.closed_feather_w * width)
    region = cv2.dilate((covered | stretched).astype(np.uint8), _disc(feather)) > 0
    region &= inner
    unknown = (covered | (region & ~stretched)) \
        & cv2.erode(np.ones(shape, np.uint8), _KERNEL3).astype(bool)
    fill = harmonic_fill(base, unknown)
    if reference is not None and params.closed_grain > 0.0:
        # One noise for all channels: grain is in brightness, colour noise looks like dust.
        # Seeded, so that a photo always gets the same lid.
        noise = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        noise = cv2.GaussianBlur(noise, (0, 0), 0.6)
        noise /= max(float(noise.std()), 1e-6)
        fill += (params.closed_grain * noise)[..., None] * reference[2]
        # (Outside the region the layer is transparent: only its alpha matters there.)
    dist = cv2.distanceTransform(region.astype(np.uint8), cv2.DIST_L2, 3)
    alpha = np.clip(dist / feather, 0.0, 1.0).astype(np.float32)
    rgba = np.empty(shape + (4,), np.float32)
    rgba[..., :3] = np.clip(fill, 0.0, 255.0) * alpha[..., None]
    rgba[..., 3] = alpha
    return lo, rgba
