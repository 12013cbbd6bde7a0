"""The closed lid (beyond the paper): what a closed eye shows where the open one showed its
eye, made once per photo from the photo's own lid skin, in the closed eye's geometry, and
faded in by the eye layer."""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.linalg import spsolve

from reactive.core.blur import gaussian_blur
from reactive.core.geometry import fill_polygon, lid_arc, triangle_affines
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


class SkinReference(NamedTuple):
    """The lid skin round an eye in the photo (``_skin_reference``)."""
    lab: np.ndarray      # (3,) its Lab median
    spread: float        # the median Lab distance from it
    grain: np.ndarray    # (3,) RGB spread of its fine grain
    lit: np.ndarray      # (3,) Lab median of its lighter half


def _skin_reference(photo: np.ndarray, pts: np.ndarray, topo: EyeTopology, width: float,
                    rest_tris: np.ndarray, first: np.ndarray) -> SkinReference | None:
    """The lid skin's colour in the photo, from the first ring of triangles around the eye
    (the second ring's cheek is lit differently from a lid), away from the opening: Lab
    median, the median Lab distance from it (its spread), and the fine grain's per-channel
    spread (RGB, median absolute deviation of the image less its Gaussian blur of 1 px), and
    the Lab median of its pixels at least as light as the median (the skin where the light
    falls on it). None when fewer than 16 such pixels."""
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
    sample = lab[skin]
    lit = np.median(sample[sample[:, 0] >= ref[0]], axis=0)
    return SkinReference(ref, spread, grain, lit)


def _skin_texture(photo: np.ndarray, pts: np.ndarray, topo: EyeTopology, width: float,
                  down: np.ndarray, lo: np.ndarray, shape: tuple[int, int], sigma: float,
                  params: EyeParams) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The photo's own skin texture for the closed lid, in the layer's box (origin ``lo``,
    ``shape`` (h, w)): its detail finer than ``sigma`` (the image less its Gaussian blur),
    taken from the skin ``closed_texture_shifts`` eye widths along ``down`` (below the eye
    first, then above it), unstretched. A source pixel must be away from the eye (its
    opening grown by ``closed_reach_w`` + 0.1 eye widths) and in a smooth neighbourhood
    (local detail energy at most ``closed_texture_energy`` times the median around the
    eye): not a brow, hair, lashes, a drawn outline; nor near a pixel whose detail is beyond
    2.5 times the skin's robust spread (a whisker, a strand of hair); the detail is clipped
    at 3 times.
    Returns detail (h, w, 3) float32, where it was found (h, w) bool, and the fine grain
    of that smooth skin (3,) (RGB, the robust spread of the image less its Gaussian blur of
    1 px; None where fewer than 16 pixels are smooth)."""
    h, w = photo.shape[:2]
    shifts = np.asarray(params.closed_texture_shifts, np.float64) * width
    reach = float(np.abs(shifts).max()) * np.abs(down) + 2.0 + 2.0 * sigma
    plo = np.maximum(np.floor(lo - reach).astype(int), 0)
    phi = np.minimum(np.ceil(lo + np.array(shape[::-1]) + reach).astype(int), (w, h))
    detail = np.zeros(shape + (3,), np.float32)
    found = np.zeros(shape, bool)
    if np.any(phi - plo < 3):
        return detail, found, None
    crop = photo[plo[1]:phi[1], plo[0]:phi[0]].astype(np.float32)
    fine = crop - cv2.GaussianBlur(crop, (0, 0), sigma)
    luma = fine.mean(axis=2)
    energy = np.sqrt(cv2.GaussianBlur(luma * luma, (0, 0), sigma))
    opening = (fill_polygon(crop.shape[:2], pts[topo.contour], plo) <= 127).astype(np.uint8)
    eye = cv2.distanceTransform(opening, cv2.DIST_L2, 3) <= (params.closed_reach_w + 0.1) * width
    if (~eye).sum() < 16:
        return detail, found, None
    typical = max(float(np.median(energy[~eye])), 1e-3)
    valid = ~eye & (energy <= params.closed_texture_energy * typical)
    valid = cv2.erode(valid.astype(np.uint8), _disc(sigma)).astype(bool)
    if not valid.any():
        return detail, found, None
    f = fine[valid]
    spread = 1.4826 * np.median(np.abs(f - np.median(f, axis=0)), axis=0) + 1e-3
    # Not a thin line either (a whisker, a strand of hair, a wrinkle's edge) in smooth skin:
    # its average energy is low, its own pixels are not.
    line = (np.abs(fine) > 2.5 * spread).any(axis=2).astype(np.uint8)
    valid &= cv2.dilate(line, _KERNEL3) == 0
    grain = None
    if valid.sum() >= 16:
        g = (crop - cv2.GaussianBlur(crop, (0, 0), 1.0))[valid]
        grain = 1.4826 * np.median(np.abs(g - np.median(g, axis=0)), axis=0)
    fine = np.clip(fine, -3.0 * spread, 3.0 * spread)
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]]
    for d in shifts:
        sx = np.round(xs + lo[0] - plo[0] + d * down[0]).astype(int)
        sy = np.round(ys + lo[1] - plo[1] + d * down[1]).astype(int)
        inside = (sx >= 0) & (sx < crop.shape[1]) & (sy >= 0) & (sy < crop.shape[0])
        take = ~found & inside
        take[take] = valid[sy[take], sx[take]]
        detail[take] = fine[sy[take], sx[take]]
        found |= take
    return detail, found, grain


def _unlike_surroundings(image: np.ndarray, lab: np.ndarray, known: np.ndarray, width: float,
                         params: EyeParams) -> np.ndarray:
    """(h, w) bool: the ``known`` pixels of ``image`` (h, w, 3) uint8 (``lab`` its Lab)
    whose colour is far from the median of their neighbourhood (0.25 eye widths across;
    the unknown pixels first filled from the known ones around them): more than
    ``closed_skin_dist`` times the median such distance."""
    sigma = max(1.0, 0.1 * width)
    num = cv2.GaussianBlur(image.astype(np.float32) * known[..., None], (0, 0), sigma)
    den = cv2.GaussianBlur(known.astype(np.float32), (0, 0), sigma)
    filled = np.where(known[..., None], image,
                      np.clip(num / np.maximum(den, 1e-6)[..., None], 0, 255)).astype(np.uint8)
    k = max(3, int(round(0.25 * width)) | 1)
    median = cv2.medianBlur(filled, k)
    mlab = cv2.cvtColor(median.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    dist = np.linalg.norm(lab - mlab, axis=2)
    if known.sum() < 16:
        return np.zeros(known.shape, bool)
    typical = max(float(np.median(dist[known])), 2.0)
    return known & (dist > params.closed_skin_dist * typical)


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
        ref, spread = reference.lab, reference.spread
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


def lid_dome(shape: tuple[int, int], seam: np.ndarray, width: float,
             params: EyeParams) -> np.ndarray:
    """Where a closed lid bulges over the eyeball, 0..1 over (h, w) ``shape``: highest
    ``closed_bulge_height`` eye widths above the closed seam in the middle of the eye,
    falling off smoothly towards the corners, the seam and the fold above. ``seam`` (K, 2)
    the closed upper lid, corner to corner, in the layer's pixels. Returns (h, w) float32."""
    a, axis, down, span, bend = lid_arc(seam)
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32)
    pu = ((xs - a[0]) * axis[0] + (ys - a[1]) * axis[1]) / span
    across = ((xs - a[0]) * down[0] + (ys - a[1]) * down[1]) / span - bend * pu * (pu - 1.0)
    above = -across * span / width
    along = np.sin(np.pi * np.clip(pu, 0.0, 1.0))
    h = params.closed_bulge_height
    return (along * np.exp(-0.5 * ((above - h) / (0.8 * h)) ** 2)).astype(np.float32)


def _lid_bulge(fill: np.ndarray, seam: np.ndarray, width: float, lit_lab: np.ndarray,
               region: np.ndarray, params: EyeParams) -> np.ndarray:
    """``fill`` (h, w, 3) float32 RGB with the lid's dome (``lid_dome``) brought up to
    ``closed_bulge`` of the way towards the lit lid skin's colour ``lit_lab`` (Lab), where
    that is lighter: the lid over the eyeball catches the light the skin around the eye
    does, not the socket's shadow it fills. Only within ``region`` (h, w) bool, faded over
    its feather."""
    dome = lid_dome(fill.shape[:2], seam, width, params)
    lab = cv2.cvtColor(np.clip(fill, 0.0, 255.0) / 255.0, cv2.COLOR_RGB2LAB)
    lighter = np.clip((lit_lab[0] - lab[..., 0]) / 5.0, 0.0, 1.0)
    inside = cv2.GaussianBlur(region.astype(np.float32), (0, 0), max(1.0, 0.05 * width))
    w = (params.closed_bulge * dome * lighter * inside)[..., None]
    lab = lab + w * (lit_lab.astype(np.float32) - lab)
    return 255.0 * cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_LAB2RGB)


def lid_crease(shape: tuple[int, int], seam: np.ndarray, width: float,
               params: EyeParams) -> np.ndarray:
    """The fold above a closed lid, as darkening 0..1 over (h, w) ``shape``: where the lid's
    skin turns in under the brow, an arc ``closed_crease_height`` eye widths above the
    closed seam at the middle of the eye and meeting it towards the corners, its lower
    edge sharp (the fold), its upper fading over ``closed_crease_fade`` eye widths.
    ``seam`` (K, 2): the closed upper lid, corner to corner (image-left first), in the
    layer's pixels. Returns (h, w) float32."""
    a, axis, down, span, bend = lid_arc(seam)
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32)
    pu = ((xs - a[0]) * axis[0] + (ys - a[1]) * axis[1]) / span
    across = ((xs - a[0]) * down[0] + (ys - a[1]) * down[1]) / span - bend * pu * (pu - 1.0)
    arch = np.clip(np.sin(np.pi * np.clip(pu, 0.0, 1.0)), 0.0, 1.0)
    height = params.closed_crease_height * width / span * arch ** 0.7
    # Above the fold's line (negative: below it), in eye widths: a sharp lower edge, a soft
    # upper one.
    above = (-across - height) * span / width
    edge = max(0.7 / width, params.closed_crease_edge)
    fold = np.where(above < 0.0, np.exp(-0.5 * (above / edge) ** 2),
                    np.exp(-0.5 * (above / params.closed_crease_fade) ** 2))
    return (fold * arch ** 0.5).astype(np.float32)


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
    seam, and through what is unlike its own surroundings there (a wing of eyeliner within
    eye shadow, a drawn outline) when it ends within that reach. The replaced region is
    filled by membrane interpolation from the skin around it (where a pixel there is not
    skin - darker than the lid skin, or unlike its surroundings: a lash, a dark corner, an
    outline - the skin nearby, averaged, so nothing dark spreads into the lid; a cheek
    lighter than a shaded lid is skin); the stretched skin keeps ``closed_fold`` of its
    averaged shading. Then the photo's own skin texture, unstretched, from below the eye
    (else above it) where the photo is as smooth as skin (``_skin_texture``), plus
    ``closed_grain`` of a noise as strong as the skin's own fine grain, so the lid is not a
    blurred patch on a textured photo (kept apart, laid on unstretched). Where the fill is
    darker than the lit lid skin (a shaded socket), the lid's dome is lightened towards it
    (``lid_dome``). What moved without stretching (the lid itself, its fold, the lash line
    brought down to the seam) keeps the photo's pixels. Per frame the eye layer lays this
    over the lids with the same triangles, from the closed rest to where they are.

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
    texture : (h, w, 3) float32, the skin texture and grain to add where the layer shows
        (its fine detail, zero-mean; not premultiplied), in the same pixels.
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
    ramp = max(1.5, 0.02 * width)
    base = closed.astype(np.float32)
    if reference is not None:
        ref, spread = reference.lab, reference.spread
        lab = cv2.cvtColor(closed.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
        foreign = (np.linalg.norm(lab - ref, axis=2) > params.closed_skin_dist * spread) & inner
        # Not skin: darker than the lid skin (a brow, lashes, eyeliner, a shadow's core:
        # beyond ``closed_dark_dist`` times its spread), or unlike the pixels around it (a
        # drawn outline, a wing of eyeliner within eye shadow, a highlight). Lighter than
        # the lid and like its surroundings is skin: a cheek lit more brightly than a
        # shaded lid is the colour the lid's lower part must meet.
        odd = _unlike_surroundings(closed, lab, inner & ~covered, width, params)
        # What is unlike its surroundings, touches the eye and ends within
        # ``closed_reach_w`` eye widths of it, inside the patch, goes with it: a wing of
        # eyeliner past the corner within eye shadow as dark as itself, a drawn eye's
        # outline. (Not hair or a brow that merely touches it: they go on beyond.)
        near = cv2.distanceTransform((~covered).astype(np.uint8), cv2.DIST_L2, 3) \
            <= params.closed_reach_w * width
        # Judged with the dark non-skin it is part of: a strand at the edge of a head of hair
        # is unlike its surroundings only where it frays.
        dark = foreign & (lab[..., 0] < ref[0])
        blob = odd | dark
        n, labels = cv2.connectedComponents(blob.astype(np.uint8), connectivity=8)
        touching = cv2.dilate(covered.astype(np.uint8), _KERNEL3) > 0
        rim = cv2.dilate((~inner).astype(np.uint8), _KERNEL3) > 0
        size = np.bincount(labels[blob], minlength=n)
        inside = np.bincount(labels[blob & near], minlength=n)
        touches = np.bincount(labels[odd & touching], minlength=n) > 0
        beyond = np.bincount(labels[blob & rim], minlength=n) > 0
        keep = touches & ~beyond & (inside >= 0.9 * size)
        keep[0] = False
        covered |= keep[labels] & near & odd
    # Grown by the alpha ramp below, so what must be covered is covered fully.
    covered = (cv2.dilate(covered.astype(np.uint8), _disc(ramp)) > 0) & inner
    if reference is not None:
        shaded = (np.linalg.norm(lab - ref, axis=2) > params.closed_dark_dist * spread) \
            & (lab[..., 0] < ref[0])
        skin = inner & ~covered & ~odd & ~shaded
        # The skin's own shading, without what is not skin: its pixels nearby, averaged;
        # where few are near, blended into the average over four times the distance (else
        # the lid skin's colour): a handful of pixels is not an average.
        sigma = max(1.0, 0.06 * width)
        num = cv2.GaussianBlur(base * skin[..., None], (0, 0), sigma)
        den = cv2.GaussianBlur(skin.astype(np.float32), (0, 0), sigma)
        local = num / np.maximum(den, 1e-6)[..., None]
        far = 4.0 * sigma
        num_far = gaussian_blur(base * skin[..., None], far)
        den_far = gaussian_blur(skin.astype(np.float32), far)
        rgb_ref = 255.0 * cv2.cvtColor(ref.reshape(1, 1, 3).astype(np.float32),
                                       cv2.COLOR_LAB2RGB).reshape(3)
        local_far = np.where((den_far > 1e-3)[..., None],
                             num_far / np.maximum(den_far, 1e-6)[..., None], rgb_ref)
        blend = np.clip(den / 0.05, 0.0, 1.0)[..., None]
        local = blend * local + (1.0 - blend) * local_far
        seen = den > 1e-3
        # Stretched skin keeps its shading (a fold becomes a soft shade) but not its
        # streaks: the local average, the grain added below. What is not skin there (a
        # brow, hair) stays as the warp stretches it: its edge against the skin is real.
        stretched &= seen & ~foreign
        # Averaged, the stretched skin's shading is the fold but also what the stretch
        # carried with it (a socket's shadow, a lid's highlight) smeared into blotches: of
        # its difference from the skin's shading at four times the scale, only
        # ``closed_fold`` is kept.
        shade = local_far + params.closed_fold * (local - local_far)
        base = np.where(stretched[..., None], shade, base)
        # Around the covered region, what is not skin is not interpolated from (unless no
        # skin is near: hair over the eye's corner is hair).
        base = np.where((~skin & ~stretched & seen)[..., None], local, base)
    # Outside the patch (no pixels of its own: black), the nearest skin pixel of the patch
    # (not the average taken in for what is not skin: where the region reaches the patch's
    # edge, as a cartoon's large drawn eye does, that would echo the lid's colour back).
    source = skin if reference is not None and skin.any() else inner
    if source.any() and not inner.all():
        _, nearest = cv2.distanceTransformWithLabels((~source).astype(np.uint8), cv2.DIST_L2,
                                                     3, labelType=cv2.DIST_LABEL_PIXEL)
        base = np.where(inner[..., None], base, base[source][nearest - 1])
    # Faded into what surrounds it over ``closed_feather_w`` eye widths, outside what must
    # be covered: the fill meets the skin around it (whose non-skin pixels it ignored)
    # without an outline.
    feather = max(ramp, params.closed_feather_w * width, params.closed_feather_min_px)
    region = cv2.dilate((covered | stretched).astype(np.uint8), _disc(feather)) > 0
    region &= inner
    unknown = (covered | (region & ~stretched)) \
        & cv2.erode(np.ones(shape, np.uint8), _KERNEL3).astype(bool)
    fill = harmonic_fill(base, unknown)
    if reference is not None and params.closed_bulge > 0.0:
        fill = _lid_bulge(fill, closed_pts[np.r_[a, topo.upper, b]] - lo, width,
                          reference.lit, region, params)
    # The photo's own skin texture, which the fill and the averaged stretched skin lack.
    # Kept apart from the layer: the layer is carried per frame by the warp's triangles,
    # which stretch the lid's band two or three times over what the closed rest has (a
    # driver's lid comes down without its skin); the texture, carried with them, turned
    # into streaks. The eye layer lays it on unstretched.
    detail, _, smooth_grain = _skin_texture(photo, pts, topo, width, down, lo, shape,
                                            max(1.0, 0.06 * width), params)
    texture = detail * np.float32(params.closed_texture)
    if reference is not None and params.closed_grain > 0.0:
        # And a noise as strong as the skin's grain (the texture's source may be smoother
        # than the lid's own surroundings: a noisy shaded socket). One noise for all
        # channels: grain is in brightness, colour noise looks like dust. Seeded, so that a
        # photo always gets the same lid.
        noise = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        noise = cv2.GaussianBlur(noise, (0, 0), 0.6)
        noise /= max(float(noise.std()), 1e-6)
        # The grain as the smooth skin round the eye has it: the lid's first ring of skin is
        # only a few pixels wide on a small face, and its fine detail there is the fold's and
        # the lashes' edges (s0, s4, s12: 4 to 9 times the skin's grain), a dirty lid.
        grain = reference.grain if smooth_grain is None else smooth_grain
        texture += (params.closed_grain * noise)[..., None] * grain
        # (Outside the region the layer is transparent: only its alpha matters there.)
    dist = cv2.distanceTransform(region.astype(np.uint8), cv2.DIST_L2, 3)
    alpha = np.clip(dist / feather, 0.0, 1.0).astype(np.float32)
    rgba = np.empty(shape + (4,), np.float32)
    rgba[..., :3] = np.clip(fill, 0.0, 255.0) * alpha[..., None]
    rgba[..., 3] = alpha
    if params.closed_crease > 0.0:
        # The fold darkens what the eye layer shows there: this layer over the photo's lid
        # as the layer's own lid patch renders it (``base``), so where the layer fades out
        # the fold goes on over the photo's pixels; it fades out before the patch's edge,
        # where the layer's pixels end.
        room = cv2.distanceTransform(inner.astype(np.uint8), cv2.DIST_L2, 3)
        fold = lid_crease(shape, closed_pts[np.r_[a, topo.upper, b]] - lo, width, params) \
            * np.clip(room / max(2.0, 0.06 * width), 0.0, 1.0)
        seen = rgba[..., :3] + (1.0 - alpha)[..., None] * np.clip(base, 0.0, 255.0)
        cover = np.maximum(alpha, np.clip(fold / 0.02, 0.0, 1.0))
        rgba[..., :3] = np.clip(seen * (1.0 - params.closed_crease * fold)[..., None]
                                - (1.0 - cover)[..., None] * np.clip(base, 0.0, 255.0),
                                0.0, 255.0)
        rgba[..., 3] = cover
    return lo, rgba, np.ascontiguousarray(texture, np.float32)
