"""The person and the still background of a photo (beyond the paper: its warp moves the
background next to the head with the head, so wallpaper, hair edges and shoulders swim).

Once per photo, from a person segmentation (``io.tracker.segment_person``):

- ``person_alpha``: the segmentation refined to the photo's edges, the person around the
  animated face only; None where a split would do harm (no person seen around the face: a
  statue, a painted or drawn face the model does not recognise; a tight crop).
- ``fill_background``: the plate, the photo with the person removed and painted over with
  the background around it, so whatever a moving head uncovers is background, never a hole
  or a copy of the person's edge.
- ``stray_strands``, ``edge_halo``: strands of hair just beyond the segmentation's edge,
  and a light or dark band the photo shows along the person's outline (a sharpening halo,
  a painter's contour), lifted off the plate and given to the person.
- ``unmix_person``: the person's colours with the background taken out of their soft edge,
  so that the person composited back over the plate at rest is the photo (to a grey level).

Per frame the warp moves the person layer only and composites it over the plate, which
never moves (``warper.Warper`` / ``warper.GridWarper``, through ``rig.Rig.backdrop``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from reactive.core import landmarks as lm
from reactive.core.blur import gaussian_blur, normalized_blur
from reactive.core.geometry import smoothstep
from reactive.params import BackdropParams

log = logging.getLogger(__name__)


def _read_only(a: np.ndarray) -> np.ndarray:
    v = np.ascontiguousarray(a).view()
    v.flags.writeable = False
    return v


@dataclass(frozen=True)
class Backdrop:
    """One photo split into a person layer and a still background plate (read-only).

    ``person`` over ``plate`` with ``alpha`` gives the photo back (to a grey level).
    """

    alpha: np.ndarray   # (H, W) uint8, the person's coverage 0..255
    person: np.ndarray  # (H, W, 3) uint8 RGB: the photo, its soft edge unmixed from the plate
    plate: np.ndarray   # (H, W, 3) uint8 RGB: the photo, the person removed and filled
    params: BackdropParams = BackdropParams()  # what it was made with; the head ring's

    def __post_init__(self):
        h, w = self.alpha.shape[:2]
        if self.alpha.shape != (h, w) or self.alpha.dtype != np.uint8:
            raise ValueError(f"`alpha` must be (H, W) uint8; got {self.alpha.shape} "
                             f"{self.alpha.dtype}")
        for name in ("person", "plate"):
            a = getattr(self, name)
            if a.shape != (h, w, 3) or a.dtype != np.uint8:
                raise ValueError(f"`{name}` must be ({h}, {w}, 3) uint8 like `alpha`; got "
                                 f"{a.shape} {a.dtype}")
        for name in ("alpha", "person", "plate"):
            object.__setattr__(self, name, _read_only(getattr(self, name)))

    @property
    def shape(self) -> tuple[int, int]:
        return self.alpha.shape


def _face_oval(face_points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(lm.face_polygon(face_points)).astype(np.int32)], 1)
    return mask.astype(bool)


def person_alpha(probability: np.ndarray, photo: np.ndarray, face_points: np.ndarray, *,
                 params: BackdropParams = BackdropParams()) -> np.ndarray | None:
    """The animated person's alpha, or None when the photo should not be split.

    Parameters
    ----------
    probability : (H, W) float32 in [0, 1], the segmentation's person probability.
    photo : (H, W, 3) uint8 RGB, the guide that sharpens the probability's edge.
    face_points : (478, 2) float32, the animated face's landmarks.

    Returns (H, W) float32 in [0, 1]: 1 on the person (the face oval always), 0 on the
    background; other people and things the segmentation found apart from the animated
    person count as background (they stay still).
    """
    h, w = photo.shape[:2]
    if probability.shape != (h, w):
        raise ValueError(f"`probability` must be ({h}, {w}) like `photo`; got "
                         f"{probability.shape}")
    oval = _face_oval(face_points, (h, w))
    if not oval.any():
        return None
    coverage = float(probability[oval].mean())
    if coverage < params.min_face_coverage:
        log.info("no still background: the segmentation sees a person on %.0f%% of the face "
                 "(a statue or a drawn face?); the whole photo is warped", 100 * coverage)
        return None
    radius = max(2, int(round(params.guided_radius_frac * max(h, w))))
    guide = photo.astype(np.float32) * np.float32(1 / 255)
    refined = cv2.ximgproc.guidedFilter(guide, probability.astype(np.float32), radius,
                                        params.guided_eps)
    span = max(params.alpha_high - params.alpha_low, 1e-6)
    alpha = smoothstep((refined - params.alpha_low) / span).astype(np.float32)
    # The animated person: the parts of the segmentation that touch the face, with their
    # soft fringe; anything else it found (another person, a chair) stays with the background.
    count, labels = cv2.connectedComponents((alpha > 0.5).astype(np.uint8))
    keep = np.unique(labels[oval & (alpha > 0.5)])
    keep = keep[keep > 0]
    body = np.isin(labels, keep).astype(np.uint8)
    reach = cv2.dilate(body, cv2.getStructuringElement(cv2.MORPH_ELLIPSE,
                                                       (4 * radius + 1, 4 * radius + 1)))
    alpha[reach == 0] = 0.0
    alpha[oval] = 1.0
    background = float((alpha < 0.5).mean())
    if background < params.min_background_share:
        log.info("no still background: %.1f%% of the photo is background (a tight crop); "
                 "the whole photo is warped", 100 * background)
        return None
    return alpha


def _push_pull(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Fill where ``known`` (H, W) float32 is 0 with a pyramid of known-weighted means of
    ``image`` (H, W, 3) float32: smooth, follows the colours around each hole, no streaks."""
    levels = []
    colour = image * known[..., None]
    weight = known.astype(np.float32)
    while min(weight.shape) > 4:
        levels.append((colour, weight))
        colour, weight = cv2.pyrDown(colour), cv2.pyrDown(weight)
    total = max(float(weight.sum()), 1e-6)
    mean = colour.reshape(-1, 3).sum(axis=0) / total
    out = np.where(weight[..., None] > 1e-6, colour / np.maximum(weight, 1e-6)[..., None],
                   mean.astype(np.float32))
    for colour, weight in reversed(levels):
        up = cv2.pyrUp(out, dstsize=(colour.shape[1], colour.shape[0]))
        own = colour / np.maximum(weight, 1e-6)[..., None]
        k = np.clip(weight, 0.0, 1.0)[..., None]
        out = np.where(weight[..., None] > 1e-6, k * own + (1.0 - k) * up, up)
    return out.astype(np.float32)


def _outward(hole: np.ndarray, sigma: float
             ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """For each pixel of ``hole`` (H, W) bool: its distance to the nearest pixel outside,
    the direction towards it, smoothed over ``sigma`` px within the hole so that
    neighbouring pixels look out the same way, and that nearest pixel. Returns (distance
    (H, W) float32, direction (H, W, 2) float32 unit x, y, (row, column) (H, W) intp)."""
    h, w = hole.shape
    dist, labels = cv2.distanceTransformWithLabels(hole.astype(np.uint8), cv2.DIST_L2, 5,
                                                   labelType=cv2.DIST_LABEL_PIXEL)
    # Each pixel outside the hole has its own label: map labels to their coordinates.
    ys, xs = np.nonzero(~hole)
    qx = np.zeros(int(labels.max()) + 1, np.float32)
    qy = np.zeros_like(qx)
    qx[labels[ys, xs]] = xs
    qy[labels[ys, xs]] = ys
    py, px = np.mgrid[0:h, 0:w].astype(np.float32)
    towards = np.dstack([qx[labels] - px, qy[labels] - py])
    towards /= np.maximum(np.linalg.norm(towards, axis=2, keepdims=True), 1e-6)
    smooth = normalized_blur(towards, hole.astype(np.float32), sigma)
    smooth /= np.maximum(np.linalg.norm(smooth, axis=2, keepdims=True), 1e-6)
    return dist, smooth, (qy[labels].astype(np.intp), qx[labels].astype(np.intp))


def _colour_model(image: np.ndarray, weight: np.ndarray, sigma: float
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Local Gaussian colour models: the mean and covariance of ``image`` (H, W, 3) float32
    over the pixels ``weight`` (H, W) float32 counts, Gaussian-weighted over ``sigma`` px.
    Returns (total weight (H, W), mean (H, W, 3), squares (H, W, 3): E[r r], E[g g],
    E[b b], cross (H, W, 3): E[r g], E[r b], E[g b]), all float32."""
    total = gaussian_blur(weight, sigma)
    t = np.maximum(total, 1e-6)[..., None]
    weighted = image * weight[..., None]
    mean = gaussian_blur(weighted, sigma) / t
    squares = gaussian_blur(weighted * image, sigma) / t
    cross = np.empty_like(weighted)
    for k, (c, d) in enumerate(((0, 1), (0, 2), (1, 2))):
        np.multiply(weighted[..., c], image[..., d], out=cross[..., k])
    cross = gaussian_blur(cross, sigma) / t
    return total, mean, squares, cross


def _covariance(model, at: tuple[np.ndarray, np.ndarray], noise: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """``model``'s (``_colour_model``'s) mean (N, 3) and covariance (N, 3, 3), float64, at
    the pixels ``at`` (rows, columns), the covariance widened by ``noise`` grey levels
    (std) in every channel."""
    _, mean, squares, cross = (m[at] for m in model)
    mean = mean.astype(np.float64)
    cov = np.empty((len(mean), 3, 3))
    for c in range(3):
        cov[:, c, c] = squares[:, c] - mean[:, c] ** 2 + noise ** 2
    for k, (c, d) in enumerate(((0, 1), (0, 2), (1, 2))):
        cov[:, c, d] = cov[:, d, c] = cross[:, k] - mean[:, c] * mean[:, d]
    return mean, cov


def _mahalanobis(d: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Squared Mahalanobis lengths of ``d`` (N, 3) under ``cov`` (N, 3, 3): (N,)."""
    return np.einsum("ni,ni->n", d, np.linalg.solve(cov, d[..., None])[..., 0])


def _log_likelihood(x: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Gaussian log-likelihood (up to a constant) of colours ``x`` (N, 3) under ``mean``
    (N, 3) and ``cov`` (N, 3, 3). Returns (N,)."""
    sign, logdet = np.linalg.slogdet(cov)
    return -0.5 * (_mahalanobis(x.astype(np.float64) - mean, cov)
                   + np.where(sign > 0, logdet, 0.0))


def _person_likeness(image: np.ndarray, alpha: np.ndarray, known: np.ndarray, sigma: float,
                     params: BackdropParams
                     ) -> tuple[np.ndarray, ...]:
    """How much each pixel beside the person looks like the person rather than like the
    background there, and the background's colours read without such pixels.

    ``image`` (H, W, 3) float32; ``alpha`` (H, W) float32; ``known`` (H, W) bool, where the
    background may be read (beyond the fill's guard); ``sigma`` px, the scale of the local
    colour models. Each side gets a local Gaussian colour model (mean and covariance over
    ``sigma``: the person's from its pixels of alpha >= 0.5, the background's from
    ``known``); a pixel outside the person is person-like by its log-likelihood ratio
    between them, which ramps to 0..1 over ``params.fringe_low`` .. ``fringe_high``. A
    covariance follows the side's own variation (grass shadows are darker grass; a hair
    highlight is grey, not green), which a distance to the mean alone would not. The
    background model is made twice, the second time without the pixels the first found
    person-like (a missed pigtail would darken its colours), and its colour read once more
    without those the second found.

    Returns (ratio (H, W) float32, the log-likelihood ratio, -1000 on the person itself
    and where no person is near; likeness (H, W) float32 in [0, 1]; apart (H, W) float32,
    how far the person's colours stand out from the background's: the squared Mahalanobis
    distance of the person's mean under the background's model, 0 where not compared; odd
    (H, W) float32, each pixel's own squared Mahalanobis distance under the background's
    model over the median of those of the background's pixels compared, 0 where not
    compared; background (H, W, 3) float32, its local mean colour, that of the model
    before where too few of its pixels are left).
    """
    core = (alpha >= 0.5).astype(np.float32)
    person = _colour_model(image, core, sigma)
    weight = known.astype(np.float32)
    # Pixels outside the person with a person near enough to compare them with.
    at = np.nonzero((alpha <= 0) & (person[0] > 0.1) & (gaussian_blur(weight, sigma) > 0.1))
    x = image[at]
    person_mean, person_cov = _covariance(person, at, params.fringe_noise)
    own = _log_likelihood(x, person_mean, person_cov)
    ratio = np.full(alpha.shape, -1000.0, np.float32)
    apart = np.zeros(alpha.shape, np.float32)
    background = _colour_model(image, weight, sigma)
    for last in (False, True):
        mean, cov = _covariance(background, at, params.fringe_noise)
        ratio[at] = own - _log_likelihood(x, mean, cov)
        likeness = _ramp(ratio, params.fringe_low, params.fringe_high)
        if not last:
            background = _colour_model(image, weight * (1.0 - likeness), sigma)
    apart[at] = _mahalanobis(person_mean - mean, cov)
    # How unusual each pixel is for the background, in units of the median over the
    # background's own pixels compared (the models' covariances are local estimates, so
    # the chi-square's figures do not hold as such).
    odd = np.zeros(alpha.shape, np.float32)
    odd[at] = _mahalanobis(x - mean, cov)
    own_background = (weight[at] > 0) & (likeness[at] < 0.5)
    if own_background.any():
        odd[at] /= max(float(np.median(odd[at][own_background])), 1e-6)
    colour = normalized_blur(image, weight * (1.0 - likeness), sigma,
                             fallback=background[1])
    return ratio, likeness, apart, odd, colour


def _ramp(x: np.ndarray, low: float, high: float) -> np.ndarray:
    """``smoothstep`` from 0 at ``low`` to 1 at ``high``, float32 like ``x``."""
    return smoothstep((x - low) / max(high - low, 1e-6)).astype(np.float32)


def _beside(alpha: np.ndarray, params: BackdropParams
            ) -> tuple[np.ndarray, np.ndarray, int] | None:
    """What lies outside the person (``alpha`` (H, W) <= 0), each pixel's distance to it
    and the halo's reach (``params.halo_reach_frac`` of the shorter side, px): (outside
    (H, W) bool, distance (H, W) float32, reach), or None when the person is nowhere or
    everywhere."""
    outside = alpha <= 0
    if outside.all() or not outside.any():
        return None
    h, w = alpha.shape
    reach = max(2, int(round(params.halo_reach_frac * min(h, w))))
    return outside, cv2.distanceTransform(outside.astype(np.uint8), cv2.DIST_L2, 5), reach


def stray_strands(photo: np.ndarray, alpha: np.ndarray, *,
                  params: BackdropParams = BackdropParams()) -> np.ndarray:
    """Single strands of hair beyond the segmentation's edge, within
    ``params.halo_reach_frac`` of the person (a curl, a flyaway lock on a plain wall): as
    a line left in the plate they stay behind when the head moves. A pixel there is one
    where it is far likelier the person's colour than the background's there and unusual
    for the background (``_person_likeness``, past ``fringe_high`` and ``fringe_odd[1]``):
    over foliage or a landscape, whose own colours vary as much, none is.

    ``photo`` (H, W, 3) uint8, ``alpha`` (H, W) uint8 (the person where > 0). Returns
    (H, W) bool."""
    h, w = alpha.shape
    beside = _beside(alpha, params)
    if beside is None:
        return np.zeros((h, w), bool)
    outside, dist, reach = beside
    side = max(h, w)
    guard = max(1, int(round(params.texture_guard_frac * side)))
    scale = max(1.0, params.texture_scale_frac * side)
    ratio, _, _, odd, _ = _person_likeness(photo.astype(np.float32),
                                            alpha.astype(np.float32) / 255.0,
                                            dist > guard, scale / 2, params)
    return (outside & (dist <= reach) & (ratio >= params.fringe_high)
            & (odd >= params.fringe_odd[1]))


def edge_halo(photo: np.ndarray, alpha: np.ndarray, *,
              params: BackdropParams = BackdropParams()) -> np.ndarray:
    """The band the photo shows along the person's outline just outside it (alpha 0): a
    sharpening halo, a studio light's rim, a painter's dark contour round the head. What
    the photo differs by, within ``params.halo_reach_frac`` of the person, from the
    background beyond that carried in, averaged along the outline at each distance from it
    (``halo_along_frac``: a band that follows the outline stays, the background's own
    texture averages out), faded out towards the reach and where it is too faint to tell
    from the backdrop's own unevenness (``halo_levels``) or from how far the photo strays
    from it along the outline (``halo_over_texture``: foliage, a landscape).

    ``photo`` (H, W, 3) uint8, ``alpha`` (H, W) uint8 or float32 (the person where > 0).
    Returns (H, W, 3) float32: photo - halo is the background without it; 0 on the person
    and beyond the reach.
    """
    h, w = alpha.shape
    side = max(h, w)
    halo = np.zeros((h, w, 3), np.float32)
    beside = _beside(alpha, params)
    if beside is None:
        return halo
    outside, dist, reach = beside
    beyond = (outside & (dist > reach) & (dist <= 2 * reach)).astype(np.float32)
    if not beyond.any():
        return halo
    image = photo.astype(np.float32)
    deviation = image - normalized_blur(image, beyond, reach)
    band = outside & (dist <= reach)
    # One level per pixel of distance, two or more on large photos (a profile finer than
    # that is no halo a viewer sees): each averaged along the outline by itself, so the
    # band's profile across the outline is kept.
    step = max(1, reach // 12)
    level = np.ceil(dist / step).astype(np.int32)
    along = max(2.0, params.halo_along_frac * side)
    # How far the photo strays from that mean along the outline (its RMS): a halo stands
    # out of it, the background's own texture (foliage, a landscape) does not.
    spread = np.zeros((h, w), np.float32)
    square = (deviation ** 2).sum(axis=2)
    for k in range(1, int(np.ceil(reach / step)) + 1):
        here = band & (level == k)
        if here.any():
            weight = here.astype(np.float32)
            halo[here] = normalized_blur(deviation, weight, along)[here]
            spread[here] = normalized_blur(square, weight, along)[here]
    size = np.linalg.norm(halo, axis=2)
    spread = np.sqrt(np.maximum(spread - size ** 2, 0.0))
    strength = _ramp(size, *params.halo_levels) * _ramp(size / (spread + 1e-3),
                                                        *params.halo_over_texture)
    fade = np.clip(2.0 * (1.0 - dist / reach), 0.0, 1.0) * band
    halo *= (strength * fade)[..., None]
    return halo


def fill_background(photo: np.ndarray, alpha: np.ndarray, *,
                    params: BackdropParams = BackdropParams()) -> np.ndarray:
    """The background plate: ``photo`` (H, W, 3) uint8 with the person (``alpha`` (H, W)
    float32 > 0) painted over from the background around it, read no closer to the person
    than ``params.fill_margin_frac``. Returns (H, W, 3) uint8; the photo itself where
    ``alpha`` is 0, but for hair just outside the person that the segmentation missed
    (within that margin, person-like by ``_person_likeness``): filled too, so that it does
    not stay behind as a line along the old outline (``unmix_person`` gives it alpha).

    The broad colours are those of the background just outside the nearest edge point,
    smoothed along the edge (deep inside, where a moving head never reaches, a pyramid
    fill's). Over them real background detail is laid: copied from a fixed distance further
    out along a smooth outward direction field (one coherent translated piece, so no seam,
    mirror or hatch), deeper in from straight sideways shifts; never read right beside the
    person, faded where the field fans out, only from background of the same kind as beside
    the nearest edge point (as busy, of the same broad colour), and its strong edges
    clipped so nothing reads as a duplicate (see ``BackdropParams``). ~2 s at 1024 x 1024,
    once per photo (cached).
    """
    h, w = alpha.shape
    side = max(h, w)
    grow = max(1, int(round(params.fill_margin_frac * side)))
    hole = cv2.dilate((alpha > 0).astype(np.uint8),
                      cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2)) > 0
    if not hole.any():
        return photo.copy()
    if hole.all():
        raise ValueError("`alpha` covers the whole photo: there is no background to fill from")
    image = photo.astype(np.float32)
    known = (~hole).astype(np.float32)
    smooth = _push_pull(image, known)
    guard = max(1, int(round(params.texture_guard_frac * side)))
    guarded = cv2.dilate(hole.astype(np.uint8),
                         cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * guard + 1,) * 2)) > 0
    # The background's detail: the photo less its mean over the background alone (no
    # colour of the person bleeds in), clipped, then re-centred (clipping a skewed texture,
    # dark shadows in foliage, would shift its mean). How busy the background is about
    # each pixel: the RMS of its grain (the detail finer than a guard). The detail is
    # clipped to texture_clip times the smaller of its median amplitude over the whole
    # background and that grain: beside a card's or a wall's edge a plain backdrop's detail
    # is the edge's own smooth gradient, which copied elsewhere reads as a band.
    scale = max(1.0, params.texture_scale_frac * side)
    band = max(params.fill_band_frac * side, 1.0)
    local = normalized_blur(image, known, scale)
    detail = image - local
    grain = detail - normalized_blur(detail, known, guard)
    busy = np.sqrt(normalized_blur((grain ** 2).sum(axis=2), known, guard))
    limit = params.texture_clip * np.minimum(float(np.median(np.abs(detail[~hole]))),
                                             busy)[..., None] + 1.0
    np.clip(detail, -limit, limit, out=detail)
    detail -= normalized_blur(detail, known, scale)
    detail *= known[..., None]
    dist, out, nearest = _outward(hole, max(1.0, params.texture_direction_frac * side))
    inside = hole.astype(np.float32)
    # The grain and broad colour beside the person's nearest edge point: a copy is taken
    # only from background of the same kind (see the candidates below).
    busy_here = normalized_blur(busy[nearest], inside, guard)
    local_here = normalized_blur(local[nearest], inside, guard)
    # Hair and skin the segmentation left outside the person (alpha 0, person-coloured: a
    # dark fringe of hair, a missed pigtail) are no background: the colours beside the
    # edge are read without them, and the fringe in the margin is filled as the person is.
    ratio, likeness, apart, odd, background = _person_likeness(
        image, alpha, ~guarded, scale / 2, params)
    ring = background[nearest]
    # The broad colours: near the edge those of the background just outside it, carried in
    # from the nearest edge point (the pyramid averages wider, across the whole hole: it
    # came out lighter or darker than the background beside the head wherever that
    # differs from the rest, a ghost of the outline); deeper, the pyramid's.
    near = np.clip(1.5 - dist / band, 0.0, 1.0)[..., None]
    smooth = near * normalized_blur(ring, inside, params.edge_colour_scale * scale) \
        + (1 - near) * smooth
    # A soft transition at the old outline: the photo's own colours right beside the edge
    # (a painted halo, a shadow: often not those of the ring further out) are carried a
    # few guards in, so the plate shows no line where the person's outline was.
    beside = (guarded & ~hole).astype(np.float32) * (1.0 - likeness)
    edge = normalized_blur(image, beside, guard, fallback=background)
    edge = normalized_blur(edge[nearest], inside, guard)
    blend = (np.clip(1.0 - dist / (params.texture_guards * guard), 0.0, 1.0) ** 2)[..., None]
    smooth += blend * (edge - smooth)
    # Copies are read further out still: the background within a few guards of the edge
    # holds the edge's own gradient (a dark bush behind light skin brightens towards it),
    # which copied inside reads as a lighter ghost of the outline.
    far = cv2.dilate(hole.astype(np.uint8), cv2.getStructuringElement(
        cv2.MORPH_ELLIPSE, (2 * params.texture_guards * guard + 1,) * 2)) > 0
    far |= likeness > 0.5
    py, px = np.mgrid[0:h, 0:w].astype(np.float32)
    divergence = np.gradient(out[..., 0], axis=1) + np.gradient(out[..., 1], axis=0)
    copied = np.zeros_like(image)
    taken = np.zeros((h, w), np.float32)
    # A fixed shift keeps the copy a translation (no mirror, no seam between neighbours);
    # where its source falls on the person or too near it (a concave outline, deeper in, the
    # photo's edge reflected back in) the next candidate is taken, the switch softened over
    # a guard.
    shift = params.texture_shift_frac * side
    # Deeper in, where the outward directions fan out, straight shifts sideways (then up):
    # a plain translation, no starburst.
    candidates = [(out, f, True) for f in (1.0, 1.6, 2.3, 3.2)]
    candidates += [(np.broadcast_to(np.float32(d), out.shape), f, False)
                   for d in ((-1, 0), (1, 0), (0, -1)) for f in (1.0, 2.0, 3.0, 4.5, 6.0, 8.0)]
    for direction, factor, radial in candidates:
        if taken[hole].min() > 0.99:
            break
        mx = np.abs(px + direction[..., 0] * (factor * shift))
        my = np.abs(py + direction[..., 1] * (factor * shift))
        mx = (w - 1) - np.abs((w - 1) - mx)     # reflected at the photo's border
        my = (h - 1) - np.abs((h - 1) - my)
        sy = np.clip(np.round(my), 0, h - 1).astype(np.intp)
        sx = np.clip(np.round(mx), 0, w - 1).astype(np.intp)
        weight = (~far[sy, sx]).astype(np.float32)
        weight *= np.clip(2.0 - busy[sy, sx] / (params.texture_busier * busy_here + 1.0),
                          0.0, 1.0)
        # ... and only from the same surface: background whose broad colour is that of the
        # fill here, within what the background's own detail varies by (a pink cloth's
        # weave over a plain green card reads as a pasted patch; foliage's light and
        # shadow differ as much as its detail does).
        apart_c = np.linalg.norm(local[sy, sx] - local_here, axis=2)
        weight *= np.clip(2.0 - apart_c / (params.texture_colour_apart * busy_here + 4.0),
                          0.0, 1.0)
        if radial:
            # Where the outward directions fan out or gather (the field's divergence), the
            # copy is squeezed or stretched across them: a starburst. It fades there.
            spread = np.abs(factor * shift * divergence)
            weight *= np.clip(1.5 - spread, 0.0, 1.0) * (spread < 1.0)
        take = gaussian_blur(weight, max(3.0, guard)) * (1.0 - taken)
        copied += take[..., None] * cv2.remap(detail, mx, my, cv2.INTER_NEAREST)
        taken += take
    # Deep inside, never uncovered in practice (more than two bands in), the texture fades.
    fade = np.clip(3.0 - dist / band, 0.0, 1.0)
    filled = smooth + fade[..., None] * copied
    # The margin kept its pixels out of the fill's sources. Those that are background stay
    # the photo's; those that look like the person (hair just outside the segmentation's
    # edge) are filled as far as they look so: left in the plate, they would stay behind as
    # a dark line along the old outline when the head moves. ``unmix_person`` raises their
    # alpha so that at rest the photo is unchanged.
    person = alpha > 0
    plate = photo.copy()
    plate[person] = np.clip(filled[person] + 0.5, 0, 255).astype(np.uint8)
    # The segmentation's edge is a few pixels off as often as not (it sees the photo at
    # 256 x 256): in the margin the person is the likelier side, by fringe_margin_prior,
    # where person and background look different enough for that to matter (where they
    # look alike, a fringe left in the plate reads as no line, while one filled and moved
    # with the head is background that swims), and only for a pixel unusual for the
    # background (one as typical of it as most of its own pixels stays).
    prior = params.fringe_margin_prior * _ramp(apart, *params.fringe_apart)
    margin = (_ramp(ratio + prior, params.fringe_low, params.fringe_high)
              * _ramp(odd, *params.fringe_odd))
    fringe = hole & ~person & (margin > 0)
    k = margin[fringe][:, None]
    plate[fringe] = np.clip(image[fringe] + k * (filled[fringe] - image[fringe]) + 0.5,
                            0, 255).astype(np.uint8)
    return plate


def unmix_person(photo: np.ndarray, alpha: np.ndarray, plate: np.ndarray, *,
                 params: BackdropParams = BackdropParams(),
                 lifted: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The person's own colours where ``alpha`` is between 0 and 1: the matting equation
    photo = a F + (1 - a) B solved for F with B = ``plate``, so that the person composited
    over the plate at rest is the photo again.

    Where no F in 0..255 solves it, the segmentation has underestimated the person there (a
    dark strand of hair against a light wall given a tenth of coverage): the alpha is raised
    to the least that explains the photo, rather than leaving that part of the person in the
    plate (it would stay behind as a ghost of the outline when the head moves).

    The same holds where alpha is 0 but the plate is not the photo (``fill_background``
    fills hair just outside the segmentation's edge): the alpha rises from 0 to what
    explains the photo, and that hair moves with the person.

    The least alpha that explains the photo puts F on the edge of the colour cube; where
    that is further than ``params.unmix_colour_reach`` from the person's own colour close
    by, the alpha rises just enough to bring F within it (a line of saturated colour along
    an unsure edge is drawn across the person as soon as it moves). Not where ``lifted``
    (H, W) bool: there the plate lacks a halo along the outline (``edge_halo``), which is
    no colour of the person's; it keeps the least alpha, so that it moves with the person
    as nearly as possible as what it is, a lighter or darker band added to what is behind.

    ``photo``, ``plate`` (H, W, 3) uint8; ``alpha`` (H, W) uint8. Returns (person (H, W, 3)
    uint8, alpha (H, W) uint8); the photo and the alpha themselves where alpha is 255, or 0
    with the plate the photo.
    """
    soft = (alpha < 255) & ((alpha > 0) | (photo != plate).any(axis=2))
    person = photo.copy()
    new_alpha = alpha.copy()
    if not soft.any():
        return person, new_alpha
    image = photo[soft].astype(np.float64)
    back = plate[soft].astype(np.float64)
    a = alpha[soft].astype(np.float64)[:, None] / 255.0
    # photo - (1 - a) B >= 0 and <= 255 a, per channel, solved for a.
    darker = np.where(back > image, (back - image) / np.maximum(back, 1e-6), 0.0)
    lighter = np.where(image > back, (image - back) / np.maximum(255.0 - back, 1e-6), 0.0)
    need = np.maximum(darker, lighter).max(axis=1, keepdims=True)
    least = np.maximum(a, need)
    # With the least alpha, F = B + (photo - B) / a can be far out (the edge of the colour
    # cube): a white sleeve on a white wall given a twentieth of coverage came out a line
    # of saturated blues and reds, drawn across the sleeve as soon as it moved (s1), hair
    # against a window a rainbow fringe. Where that F is further than
    # unmix_colour_reach from the person's own colour close by, alpha rises just enough
    # for F to come within it (or as near as the photo allows): no more, so that
    # background the segmentation left in the soft edge mostly stays in the plate.
    weight = (alpha.astype(np.float32) * np.float32(1 / 255)) ** 2
    sigma = max(2.0, params.unmix_own_colour_frac * max(photo.shape[:2]))
    near = gaussian_blur(weight, sigma)[soft]
    own = normalized_blur(photo.astype(np.float32), weight, sigma)[soft].astype(np.float64)
    u, v = image - back, own - back
    uu = (u * u).sum(axis=1)
    uv = (u * v).sum(axis=1)
    vv = (v * v).sum(axis=1)
    s_max = 1.0 / least[:, 0]
    disc = uv * uv - uu * (vv - params.unmix_colour_reach ** 2)
    farthest = (uv + np.sqrt(np.maximum(disc, 0.0))) / np.maximum(uu, 1e-6)
    closest = uv / np.maximum(uu, 1e-6)
    s = np.clip(np.where(disc >= 0.0, np.minimum(farthest, s_max), closest), 1.0, s_max)
    own_colour = (near > 0.02) & (uu > 1.0)
    if lifted is not None:
        own_colour &= ~lifted[soft]
    s = np.where(own_colour, s, s_max)
    a8 = np.clip(np.ceil(255.0 / s[:, None] - 1e-6), 1, 255)
    a = a8 / 255.0
    f = np.clip((image - (1.0 - a) * back) / a, 0.0, 255.0)
    person[soft] = np.round(f).astype(np.uint8)
    new_alpha[soft] = a8[:, 0].astype(np.uint8)
    return person, new_alpha


def make_backdrop(photo: np.ndarray, probability: np.ndarray, face_points: np.ndarray, *,
                  params: BackdropParams = BackdropParams()) -> Backdrop | None:
    """Split ``photo`` (H, W, 3) uint8 RGB into person and plate, from the segmentation's
    ``probability`` (H, W) float32 and the animated face's ``face_points`` (478, 2).
    None when the photo is better warped whole (see ``person_alpha``)."""
    if photo.ndim != 3 or photo.shape[2] != 3 or photo.dtype != np.uint8:
        raise ValueError(f"`photo` must be (H, W, 3) uint8; got {photo.shape} {photo.dtype}")
    alpha = person_alpha(probability, photo, face_points, params=params)
    if alpha is None:
        return None
    alpha8 = np.round(alpha * 255.0).astype(np.uint8)
    alpha8[(alpha8 == 0) & stray_strands(photo, alpha8, params=params)] = 1
    halo = edge_halo(photo, alpha8, params=params)
    lifted = (halo != 0.0).any(axis=2)
    background = np.clip(photo - halo + 0.5, 0, 255).astype(np.uint8)
    plate = fill_background(background, alpha8.astype(np.float32) * np.float32(1 / 255),
                            params=params)
    person, alpha8 = unmix_person(photo, alpha8, plate, params=params, lifted=lifted)
    return Backdrop(alpha=alpha8, person=person, plate=plate, params=params)


def composite(person: np.ndarray, alpha: np.ndarray, plate: np.ndarray,
              out: np.ndarray | None = None) -> np.ndarray:
    """``person`` over ``plate`` with ``alpha`` (uint8 0..255): (H, W, 3) uint8, rounded."""
    a = alpha.astype(np.float32)[..., None] * np.float32(1 / 255)
    mixed = a * person.astype(np.float32) + (1.0 - a) * plate.astype(np.float32) + 0.5
    if out is None:
        out = np.empty_like(plate)
    np.copyto(out, np.clip(mixed, 0, 255).astype(np.uint8))
    return out


def head_ring(face_points: np.ndarray, *, params: BackdropParams = BackdropParams()
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Control points around the head that move with it, so the hair moves with the head
    (``rig.build_rig`` adds them when the photo has a backdrop; their offsets are
    ``motion.frame_offsets``'s).

    The face oval grown by each of ``params.ring_scales`` about its centre, down to the
    nose tip's height: lower, thin triangles from the ring's last points across under the
    chin would flip as soon as the jaw moves otherwise than the head. Each point takes the
    head's rigid motion, plus a share of what its face-oval point does beyond it (a turn
    moves the contour, and the hair beside it with it), falling from 1 at the oval to 0
    at the outermost ring, so the strip between face and ring is neither squeezed nor torn.

    Returns (points (R, 2) float32, anchors (R,) int: the face-oval landmark each grows
    from, share (R,) float32).
    """
    oval = lm.face_polygon(face_points).astype(np.float64)
    centre = oval.mean(axis=0)
    right = face_points[lm.LEFT_EYE].mean(axis=0) - face_points[lm.RIGHT_EYE].mean(axis=0)
    down = np.array([-right[1], right[0]], np.float64)
    down /= max(float(np.linalg.norm(down)), 1e-9)
    scales = np.asarray(params.ring_scales, np.float64)
    outer = float(scales.max()) if len(scales) else 1.0
    rings = [centre + s * (oval - centre) for s in scales]
    points = np.concatenate(rings + [np.zeros((0, 2))])
    anchors = np.tile(lm.FACE_OVAL, len(scales))
    share = params.ring_contour_follow * np.repeat(
        np.clip((outer - scales) / max(outer - 1.0, 1e-6), 0.0, 1.0), len(oval))
    keep = points @ down <= float(face_points[lm.NOSE_TIP] @ down)
    return (points[keep].astype(np.float32), anchors[keep].astype(np.int64),
            share[keep].astype(np.float32))
