"""Mouth interiors to draw from: a clip's own crops, a bank of real mouths, or one image.

``Interiors`` holds a stack of mouth images with, per image, its mouth frame and inner-lip
columns (``mouthmap``), how far its teeth reach, the skin colour around it (to match the
photo's light) and its lip shape (to be found by shape). A driving clip's pack gives one per
frame (``from_packs``); a *bank* is the open-mouthed frames of any tracked clips, from which
the built-in clips take, frame by frame, the real mouth whose inner lips are shaped most
like theirs (as Face2Face's mouth database does; ``choose_frames``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from reactive.core import landmarks as lm
from reactive.core import mouthmap as mm
from reactive.core.clip import ClipPack
from reactive.params import MouthParams

log = logging.getLogger(__name__)


@dataclass
class Interiors:
    """F mouth images and what the mouth layer needs to know of each.

    images : (F, h, w, 3) uint8 RGB, or a list of F such images of different sizes.
    origin, axis : (F, 2) float64 and width : (F,) the mouth frames
    (``mouthmap.mouth_frame``) in image pixels. lips : (F, 2, N_COLUMNS) inner-lip columns.
    teeth : (F, 2) reach of the upper and lower teeth (px). skin : (F, 3) float32 skin
    colour beside and below the mouth. shape : (F, 3) lip shape (``lip_shape``).
    drawn_from: images from this index on are the photo's drawn mouth (``drawnmouth``: in
    the photo's colours already, its rows slide out from under the lips); None: none is.
    """

    images: np.ndarray | list[np.ndarray]
    origin: np.ndarray
    axis: np.ndarray
    width: np.ndarray
    lips: np.ndarray
    teeth: np.ndarray
    skin: np.ndarray
    shape: np.ndarray
    drawn_from: int | None = None

    def __len__(self) -> int:
        return len(self.images)

    @property
    def first_drawn(self) -> int:
        """The index of the first drawn image (``len(self)`` when none is)."""
        return len(self) if self.drawn_from is None else self.drawn_from

    def frame(self, j: int) -> tuple[np.ndarray, np.ndarray, float]:
        return self.origin[j], self.axis[j], float(self.width[j])


def lip_shape(points: np.ndarray, neutral: np.ndarray) -> np.ndarray:
    """What a mouth retrieval compares (Face2Face's mouth database uses the same kind of
    descriptor): inner-lip opening over mouth width, mouth width relative to the person's
    neutral width (after the faces' scale, the inter-ocular distance), and the smile (lip
    corners above the middle of the lips, over the width). ``points`` (..., 478, 2),
    ``neutral`` (478, 2); returns (..., 3)."""
    points = np.asarray(points, np.float64)
    left, right = lm.MOUTH_CORNERS
    width = np.maximum(np.linalg.norm(points[..., left, :] - points[..., right, :], axis=-1),
                       1e-6)
    rel = width / lm.interocular(points)
    rel0 = float(np.linalg.norm(neutral[left] - neutral[right]) / lm.interocular(neutral))
    # The smile as lm.smile_ratio, for many frames at once: across the eye line.
    eyes = points[..., lm.LEFT_EYE, :].mean(axis=-2) - points[..., lm.RIGHT_EYE, :].mean(axis=-2)
    eyes /= np.maximum(np.linalg.norm(eyes, axis=-1, keepdims=True), 1e-6)
    down = np.stack([-eyes[..., 1], eyes[..., 0]], axis=-1)
    middle = (0.5 * (points[..., lm.UPPER_LIP_BOTTOM, :] + points[..., lm.LOWER_LIP_TOP, :])
              * down).sum(axis=-1)
    corners = (0.5 * (points[..., left, :] + points[..., right, :]) * down).sum(axis=-1)
    smile = (middle - corners) / width
    return np.stack([lm.mouth_open_ratio(points), rel / rel0, smile], axis=-1)


# A skin patch darker than this share of the brightest is in shadow, or a beard: the
# interior is lit as the face's front is (a same face, self-reenactment, changes nothing:
# d3's mouth PSNR 31.70 -> 31.73 dB, d10's 24.80 both).
SKIN_SHADOW_FRAC = 0.7


def skin_colour(image: np.ndarray, frame: tuple, lips: np.ndarray) -> np.ndarray:
    """Median RGB (3,) float32 of the lit skin round the mouth: three small patches (beside
    both mouth corners, on the chin below the lower lip), less those darker than
    ``SKIN_SHADOW_FRAC`` of the brightest. A patch in the shadow of a turned head or of the
    lower lip, or on a beard, said the mouth was lit far dimmer than the face (s8: its
    teeth came out grey-brown; s2's chin patch 26 grey levels beside corners of 113 and
    187). ``lips`` (2, N_COLUMNS) inner-lip columns."""
    origin, ex, width = frame
    r = max(1, int(round(0.07 * width)))
    low = float(lips[1, mm.N_COLUMNS // 2])
    spots = [(-0.2 * width, 0.0), (1.2 * width, 0.0), (0.5 * width, low + 0.33 * width)]
    h, w = image.shape[:2]
    patches = []
    for a, b in spots:
        x = origin[0] + a * ex[0] - b * ex[1]
        y = origin[1] + a * ex[1] + b * ex[0]
        x0, y0 = int(np.clip(round(x) - r, 0, w - 1)), int(np.clip(round(y) - r, 0, h - 1))
        x1, y1 = int(np.clip(round(x) + r + 1, 1, w)), int(np.clip(round(y) + r + 1, 1, h))
        patches.append(image[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)].reshape(-1, 3))
    luma = np.array([0.299, 0.587, 0.114])
    level = np.array([float(np.median(p, axis=0) @ luma) for p in patches])
    lit = np.concatenate([p for p, y in zip(patches, level)
                          if y >= SKIN_SHADOW_FRAC * level.max()])
    return np.median(lit, axis=0).astype(np.float32)


def colour_match(photo_skin: np.ndarray, source_skin: np.ndarray,
                 params: MouthParams = MouthParams()) -> tuple[np.ndarray, float]:
    """Per-channel gain (3,) float32 and saturation that bring an interior lit like
    ``source_skin`` into a photo whose skin is ``photo_skin``.

    The gain is mostly a brightness ratio (a dim painting gets a dim mouth); of the
    difference in hue only a bounded part passes (``tint_max``), or white teeth would take
    on the skin-tone difference between two people (teal on a pale face). A photo with
    hardly any colour (black and white, sepia) gets a correspondingly grey interior.
    """
    luma = np.array([0.299, 0.587, 0.114], np.float32)
    yt = max(float(photo_skin @ luma), 1.0)
    ys = max(float(source_skin @ luma), 1.0)
    gain = float(np.clip(yt / ys, *params.brightness_range))
    tint = (np.maximum(photo_skin, 1.0) / yt) / (np.maximum(source_skin, 1.0) / ys)
    tint /= float(tint @ luma)  # hue only, not brightness
    # Only ever warmer (red >= green >= blue gains): a mouth is lit through flesh, and a
    # cooler or paler photo must not turn a pink tongue violet or white teeth blue-grey.
    tint[1] = min(tint[1], tint[0])
    tint[2] = min(tint[2], tint[1])
    tint /= float(tint @ luma)
    tint = np.clip(tint, 1.0 - params.tint_max, 1.0 + params.tint_max)
    chroma_t = float(np.ptp(photo_skin)) / yt
    chroma_s = max(float(np.ptp(source_skin)) / ys, 1e-3)
    saturation = float(np.clip(chroma_t / chroma_s / params.grey_below, 0.0, 1.0))
    return (gain * tint).astype(np.float32), saturation


_SMOOTH_COLUMNS = np.array([1.0, 2.0, 3.0, 4.0, 3.0, 2.0, 1.0]) / 16.0


def _lab_along(image: np.ndarray, frame: tuple, y: np.ndarray) -> np.ndarray:
    """CIE Lab (L 0-100) of ``image`` (H, W, 3) uint8 RGB sampled in its mouth ``frame``
    at heights ``y`` (k, N_COLUMNS) px (0 on the mouth's axis, down positive) under each
    column: (k, N_COLUMNS, 3) float32, bilinear."""
    origin, ex, width = frame
    a = np.broadcast_to(mm.COLUMNS_U * width, y.shape)
    mx = (origin[0] + a * ex[0] - y * ex[1]).astype(np.float32)
    my = (origin[1] + a * ex[1] + y * ex[0]).astype(np.float32)
    return cv2.cvtColor(cv2.remap(image, mx, my, cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE).astype(np.float32) / 255.0,
                        cv2.COLOR_RGB2LAB)


def lip_body(image: np.ndarray, frame: tuple, cols: np.ndarray) -> np.ndarray:
    """The colour of each lip's body just outside the inner lip (0.06 mouth widths out),
    the median over the middle columns: (2, 3) float32 CIE Lab (L 0-100), upper lip
    first. ``image`` (H, W, 3) uint8 RGB, ``frame`` its ``mouth_frame``, ``cols``
    (2, N_COLUMNS) its ``lip_columns`` (open or closed)."""
    lip = 0.06 * frame[2]
    lab = _lab_along(image, frame, np.stack([cols[0] - lip, cols[1] + lip]))
    return np.median(lab[:, mm.N_COLUMNS // 4: 3 * mm.N_COLUMNS // 4], axis=1
                     ).astype(np.float32)


def lip_tissue(image: np.ndarray, frame: tuple, cols: np.ndarray,
               params: MouthParams = MouthParams(), *, samples: int = 32
               ) -> tuple[np.ndarray, np.ndarray]:
    """How far a real mouth's lips' own tissue reaches into its tracked opening.

    The tracked inner lip often lies a little inside the lips (their wet inner side), and
    on a pout far inside: the crop's opening then starts with a band of the driver's lip,
    which in another face reads as a pale or pink rim inside the lips. From each lip
    inwards, the run of pixels coloured like that lip (within ``lip_tissue_delta_e`` in
    CIE Lab of the lip's body just outside) is lip, at most ``lip_tissue_max_frac`` of the
    opening per lip. ``image`` (H, W, 3) uint8 RGB, ``frame`` its ``mouth_frame``, ``cols``
    (2, N_COLUMNS) its ``lip_columns``. Returns the band's depth per column (2, N_COLUMNS)
    px (upper lip, lower lip) and the lips' body colours (2, 3) in CIE Lab (L 0-100).
    """
    height = np.maximum(cols[1] - cols[0], 0.0)
    depth = np.zeros((2, mm.N_COLUMNS))
    body = lip_body(image, frame, cols)
    if float(height.max()) < 3.0:
        return depth, body
    ts = (np.arange(samples) + 0.5) / samples
    inside = _lab_along(image, frame, cols[0][None, :] + ts[:, None] * height[None, :])
    cap = params.lip_tissue_max_frac
    for side in (0, 1):
        run_from = inside if side == 0 else inside[::-1]
        close = np.linalg.norm(run_from - body[side][None, None, :], axis=-1) \
            < params.lip_tissue_delta_e
        run = np.minimum(np.cumprod(close, axis=0).sum(axis=0) / samples, cap)
        # Smooth across columns: a lip edge is smooth, a column-by-column cut would streak.
        run = np.convolve(np.pad(run, 3, mode="edge"), _SMOOTH_COLUMNS, mode="valid")
        depth[side] = run * height
    return depth, body


def trim_lip_tissue(image: np.ndarray, frame: tuple, cols: np.ndarray,
                    params: MouthParams = MouthParams(), *, samples: int = 32) -> np.ndarray:
    """Move a real mouth's inner-lip columns off the lips' own tissue (``lip_tissue``), in
    place; returns ``cols``."""
    depth, _ = lip_tissue(image, frame, cols, params, samples=samples)
    cols[0] += depth[0]
    cols[1] -= depth[1]
    np.maximum(cols[1], cols[0], out=cols[1])
    return cols


def flesh_weight(lab: np.ndarray, lip: np.ndarray, params: MouthParams = MouthParams()
                 ) -> np.ndarray:
    """How much each pixel of a mouth image is its flesh (tongue, gums, lips), by colour:
    ``lab`` (..., 3) CIE Lab (L 0-100) against the lips' colour ``lip`` (3,). Colourful
    (chroma from ``flesh_chroma`` to twice it: teeth and the dark cavity have less) and
    hued within ``flesh_hue_deg`` of the lips (``flesh_hue_yellow_deg`` towards yellow;
    fading over the last third). (...) float32, 0..1."""
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    lo = params.flesh_chroma
    w = np.clip((chroma - lo) / lo, 0.0, 1.0)
    lip_hue = np.arctan2(lip[2], lip[1])
    off = np.angle(np.exp(1j * (np.arctan2(lab[..., 2], lab[..., 1]) - lip_hue)))
    limit = np.deg2rad(np.where(off > 0.0, params.flesh_hue_yellow_deg,
                                params.flesh_hue_deg))
    w *= np.clip((limit - np.abs(off)) / (limit / 3.0), 0.0, 1.0)
    return w.astype(np.float32)


def turn_hue(lab: np.ndarray, lip_from: np.ndarray, lip_to: np.ndarray,
             params: MouthParams = MouthParams()) -> np.ndarray:
    """``lab`` (..., 3) CIE Lab with its hue turned as far as from lip colour ``lip_from``
    to ``lip_to`` (3,) and its chroma scaled by the square root of theirs' ratio (within
    ``flesh_chroma_range``); lightness kept. (..., 3) float32."""
    turn = np.arctan2(lip_to[2], lip_to[1]) - np.arctan2(lip_from[2], lip_from[1])
    ratio = np.hypot(lip_to[1], lip_to[2]) / max(float(np.hypot(lip_from[1], lip_from[2])),
                                                 1e-6)
    # Half the lips' change of colourfulness (in proportion): lipstick or pale lips say
    # little of the tongue's colour; a painting's muted palette still mutes it.
    ratio = float(np.clip(np.sqrt(ratio), *params.flesh_chroma_range))
    c, s = np.cos(turn) * ratio, np.sin(turn) * ratio
    out = lab.astype(np.float32).copy()
    out[..., 1] = c * lab[..., 1] - s * lab[..., 2]
    out[..., 2] = s * lab[..., 1] + c * lab[..., 2]
    return out


def recolour_lip_tissue(image: np.ndarray, frame: tuple, cols: np.ndarray,
                        lips_lab: np.ndarray, photo_body: np.ndarray,
                        params: MouthParams = MouthParams()) -> None:
    """Give a real mouth's own lip tissue inside its tracked opening the hue of another
    face's lips, in place, keeping its shading: a driving clip's pout shows the inside of
    the lips, which in a photo with other lips must be the photo's lips, not a pink ring
    of the driver's. The rest of the opening's flesh (tongue, gums, the cavity's red,
    ``flesh_weight``) turns with them (``turn_hue``: as far as the driver's lips' hue to the
    photo's), its lightness kept.

    ``lips_lab`` (3,) CIE Lab (L 0-100): the photo's lip colour as it must come out of
    this image; ``photo_body`` (2, 3) Lab: the photo's ``lip_body``. Lips alike (the same
    face, or one with lips of the same colour) are left alone: the change fades in from
    ``lip_recolour_from`` to ``lip_recolour_from + lip_recolour_span`` CIE Lab units
    between the two faces' ``lip_body``.

    The tissue: pixels of the opening within ``lip_tissue_delta_e`` (CIE Lab) of the
    nearer lip's body colour (``lip_tissue``), connected to the opening's edge and at most
    ``lip_tissue_max_frac`` of the opening's height from it: towards the corners all of
    it (a pout's ring runs up the opening's sides), in the middle only the run straight
    in from each lip (a tongue touching a lip may be lip coloured too). ``image``
    (H, W, 3) uint8 RGB, ``frame`` its ``mouth_frame``, ``cols`` (2, N_COLUMNS) its
    ``lip_columns``."""
    height = float(np.max(cols[1] - cols[0]))
    if height < 3.0:
        return
    body = lip_body(image, frame, cols)
    strength = np.clip((np.linalg.norm(body - photo_body, axis=1) - params.lip_recolour_from)
                       / params.lip_recolour_span, 0.0, 1.0)
    if not strength.any():
        return
    depth, body = lip_tissue(image, frame, cols, params)
    origin, ex, width = frame
    a = mm.COLUMNS_U * width
    ring = np.concatenate([np.stack([a, cols[0]], 1), np.stack([a, cols[1]], 1)[::-1]])
    poly = np.stack([origin[0] + ring[:, 0] * ex[0] - ring[:, 1] * ex[1],
                     origin[1] + ring[:, 0] * ex[1] + ring[:, 1] * ex[0]], 1)
    # Only the opening's box (and a px around) is looked at.
    x0, y0 = np.maximum(np.floor(poly.min(axis=0)).astype(int) - 2, 0)
    x1, y1 = np.ceil(poly.max(axis=0)).astype(int) + 3
    x1, y1 = min(x1, image.shape[1]), min(y1, image.shape[0])
    if x1 - x0 < 3 or y1 - y0 < 3:
        return
    box = image[y0:y1, x0:x1]
    h, w = box.shape[:2]
    opening = np.zeros((h, w), np.uint8)
    cv2.fillPoly(opening, [np.round(poly - (x0, y0)).astype(np.int32)], 1)
    if not opening.any():
        return
    # Distance from the opening's edge (one px of the lips outside included).
    grown = cv2.dilate(opening, np.ones((3, 3), np.uint8))
    dist = cv2.distanceTransform(grown, cv2.DIST_L2, 3)
    lab = cv2.cvtColor(box.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    yy, xx = np.mgrid[y0:y1, x0:x1]
    u = ((xx - origin[0]) * ex[0] + (yy - origin[1]) * ex[1]) / width
    yl = -(xx - origin[0]) * ex[1] + (yy - origin[1]) * ex[0]
    top = np.interp(u, mm.COLUMNS_U, cols[0])
    bot = np.interp(u, mm.COLUMNS_U, cols[1])
    upper = yl < 0.5 * (top + bot)
    src = np.where(upper[..., None], body[0], body[1])
    # Teeth are never lip or flesh: a driver's pale lips and its pink-tinged teeth (a
    # compressed video's warm cast) share a hue, and the band grown by hue below took in
    # whole rows of teeth and a pale tongue and painted them the photo's lip red (s42 x d6).
    teeth = mm.tooth_coloured(lab, src[..., 0], np.hypot(src[..., 1], src[..., 2]))
    close = (np.linalg.norm(lab - src, axis=-1) < params.lip_tissue_delta_e) & (grown > 0)
    close &= ~teeth
    close &= dist <= params.lip_tissue_max_frac * height + 1.0
    n, labels = cv2.connectedComponents(close.astype(np.uint8), connectivity=8)
    edge_labels = np.unique(labels[close & (dist <= 1.5)])
    tissue = np.isin(labels, edge_labels[edge_labels > 0])
    # Above and below the middle of the opening the tongue may touch a lip and be lip
    # coloured too: there only the run straight in from each lip (``lip_tissue``) counts;
    # the rest (a pout's ring up the opening's sides) towards the corners.
    run = np.where(upper, yl <= top + np.interp(u, mm.COLUMNS_U, depth[0]),
                   yl >= bot - np.interp(u, mm.COLUMNS_U, depth[1]))
    # Up the sides, a band as thick as the lips' own runs (a pout's ring is about as thick
    # all round); what lies deeper is the tongue's.
    side = min(float(depth.max()), params.lip_tissue_max_frac * height) + 1.0
    tissue &= run | ((np.abs(u - 0.5) > params.lip_tissue_side_u) & (dist <= side))
    # The rest of the mouth's flesh (tongue, gums) keeps its place relative to the lips: the
    # same turn of hue and change of colourfulness as the lips'. A driver's pink tongue
    # under a painting's ochre lips read as a pasted-on magenta patch (s9, s4, s6 x d10).
    # Teeth and the dark cavity have little colour and barely move.
    not_teeth = 1.0 - cv2.GaussianBlur(teeth.astype(np.float32), (0, 0), 0.7)
    flesh_w = flesh_weight(lab, body.mean(axis=0), params) * float(strength.mean()) \
        * (grown > 0) * not_teeth
    if flesh_w.any():
        lab_f = turn_hue(lab, body.mean(axis=0), lips_lab, params)
        rgb_f = cv2.cvtColor(lab_f, cv2.COLOR_LAB2RGB) * 255.0
        box[:] = np.clip(box + flesh_w[..., None] * (rgb_f - box) + 0.5, 0, 255
                         ).astype(np.uint8)
    if not tissue.any():
        return
    # The lips' inner side going into the dark: lip hued but in shadow (too dark for the
    # band's colour distance), it read as a red line inside another face's lips (s9 x
    # d3). What joins the band with its lip's hue (within ~25 degrees) and at least half
    # its colour (teeth have next to none; the cavity's dark red fades to none), as far in
    # as the band may reach.
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    lip_chroma = np.maximum(np.hypot(src[..., 1], src[..., 2]), 1e-6)
    cosine = (lab[..., 1] * src[..., 1] + lab[..., 2] * src[..., 2]) \
        / np.maximum(chroma * lip_chroma, 1e-6)
    # Into the dark only: lighter than the lip by more than half the band's distance, a
    # pixel of the lips' hue is a tongue (a pale one lies right against the lip), not lip.
    hued = (grown > 0) & (chroma > 0.5 * lip_chroma) & (cosine > 0.9) & ~teeth \
        & (lab[..., 0] < src[..., 0] + 0.5 * params.lip_tissue_delta_e) \
        & (dist <= params.lip_tissue_max_frac * height + 1.0)
    n, labels = cv2.connectedComponents((hued | tissue).astype(np.uint8), connectivity=8)
    seeds = np.unique(labels[tissue])
    tissue |= np.isin(labels, seeds[seeds > 0]) & hued
    weight = cv2.GaussianBlur(tissue.astype(np.float32), (0, 0), 0.7) * (grown > 0)
    weight *= np.where(upper, strength[0], strength[1]).astype(np.float32) * not_teeth
    moved = lab.copy()
    # The band's own shading (its lightness relative to its lip's body), the lips' hue,
    # its colour fading with the light (as the square root: a mouth's shadow stays a deep
    # red-brown): in full, the inner lips' shadow going into the cavity came out a
    # saturated lipstick-red ring (s1 x d11, s4 x d10); in proportion, grey-black holes.
    shade = lab[..., 0] / np.maximum(src[..., 0], 1.0)
    moved[..., 0] = shade * lips_lab[0]
    moved[..., 1:] = lips_lab[1:] * np.sqrt(np.minimum(shade, 1.0))[..., None]
    out = cv2.cvtColor(moved, cv2.COLOR_LAB2RGB) * 255.0
    box[:] = np.clip(box + weight[..., None] * (out - box) + 0.5, 0, 255).astype(np.uint8)


def describe(image: np.ndarray, points: np.ndarray, *, trim: bool = False,
             params: MouthParams = MouthParams()
             ) -> tuple[tuple, np.ndarray, np.ndarray, tuple[float, float]]:
    """What the mouth layer needs to know of one mouth image (H, W, 3) uint8 whose landmarks
    are ``points`` (478, 2) in its pixels: its mouth frame, inner-lip columns (2, N_COLUMNS),
    skin colour (3,) and the reach of its teeth (up, low) px. ``trim``: the inner lips moved
    off the lips' own tissue first (``trim_lip_tissue``)."""
    frame = mm.mouth_frame(points)
    cols = mm.lip_columns(points, *frame)
    if trim:
        trim_lip_tissue(image, frame, cols, params)
    up, low = mm.teeth_extent(image, frame, cols)
    # Teeth are told by colour, which fails in dim or warm light: never assume less than a
    # typical row (a photo's own teeth must cover the driver's).
    reach = (max(up, 0.2 * frame[2]), max(low, 0.15 * frame[2]))
    return frame, cols, skin_colour(image, frame, cols), reach


def live_interiors(slots: int, crop_size: tuple[int, int], fallback: Interiors) -> Interiors:
    """Interiors for a live driver (the puppet's camera): ``slots`` images filled frame by
    frame (``set_image``), then ``fallback``'s (the drawn mouth, shown while no crop is at
    hand)."""
    empty = Interiors(images=np.zeros((slots, *crop_size, 3), np.uint8),
                      origin=np.zeros((slots, 2)), axis=np.tile([1.0, 0.0], (slots, 1)),
                      width=np.ones(slots), lips=np.zeros((slots, 2, mm.N_COLUMNS)),
                      teeth=np.zeros((slots, 2)), skin=np.zeros((slots, 3), np.float32),
                      shape=np.zeros((slots, 3)))
    return with_drawn(empty, fallback)


def with_drawn(mouths: Interiors, drawn: Interiors) -> Interiors:
    """``mouths`` (real ones: a bank, or a live driver's slots) followed by the photo's
    ``drawn`` mouth, in new images (a list: the two differ in size, and the drawn one grows
    with the photo) of which ``drawn_from`` is the first drawn one."""
    if drawn.drawn_from != 0:
        raise ValueError("`drawn` must be a drawn mouth (drawnmouth.drawn_interiors)")
    n = len(mouths)
    images = [image.copy() for image in (*mouths.images, *drawn.images)]

    def stack(name: str) -> np.ndarray:
        a, b = getattr(mouths, name), getattr(drawn, name)
        return np.concatenate([a, b.astype(a.dtype)])

    return Interiors(images=images, origin=stack("origin"), axis=stack("axis"),
                     width=stack("width"), lips=stack("lips"), teeth=stack("teeth"),
                     skin=stack("skin"), shape=stack("shape"), drawn_from=n)


def set_image(interiors: Interiors, j: int, crop: np.ndarray, points: np.ndarray) -> None:
    """Write a mouth ``crop`` (h, w, 3) uint8 with landmarks ``points`` (478, 2, in crop
    pixels) as image ``j`` of ``interiors`` (made by ``live_interiors``), in place."""
    h, w = crop.shape[:2]
    image = interiors.images[j]
    if h > image.shape[0] or w > image.shape[1]:
        raise ValueError(f"`crop` must fit in {image.shape[:2]}; got {(h, w)}")
    image[:h, :w] = crop
    frame, cols, skin, reach = describe(image[:h, :w], points)
    interiors.origin[j], interiors.axis[j], interiors.width[j] = frame
    interiors.lips[j] = cols
    interiors.skin[j] = skin
    interiors.teeth[j] = reach


def from_packs(packs: list[ClipPack], *, frames: list[np.ndarray] | None = None,
               params: MouthParams = MouthParams(), trim: bool = False) -> Interiors:
    """The mouth crops of ``packs`` (those with crops), all frames or ``frames[k]`` of pack
    k; ``trim``: their inner lips moved off the lips' own tissue (``trim_lip_tissue``).
    Raises ValueError when no pack has mouth crops."""
    images, origins, axes, widths, lips, teeth, skins, shapes = ([] for _ in range(8))
    for k, pack in enumerate(packs):
        if pack.mouth is None:
            continue
        ids = np.arange(pack.frame_count) if frames is None else np.asarray(frames[k], int)
        if len(ids) == 0:
            continue
        neutral = pack.landmarks[pack.neutral_index]
        shapes.append(lip_shape(pack.landmarks[ids], neutral))
        crops = pack.mouth[ids]
        if images and crops.shape[1:] != images[0].shape[1:]:
            crops = np.stack([_fit(c, images[0].shape[1:3]) for c in crops])
            scale_to = images[0].shape[1:3]
        else:
            scale_to = None
        for j, i in enumerate(ids):
            a = pack.mouth_affine[i].astype(np.float64)
            if scale_to is not None:
                a = _scaled_affine(a, pack.mouth.shape[1:3], scale_to)
            pts = pack.landmarks[i].astype(np.float64) @ a[:, :2].T + a[:, 2]
            frame, cols, skin, reach = describe(crops[j], pts, trim=trim, params=params)
            origins.append(frame[0])
            axes.append(frame[1])
            widths.append(frame[2])
            lips.append(cols)
            skins.append(skin)
            teeth.append(reach)
        images.append(crops)
        if trim:
            # Found by what it shows: a driver's opening measured on its landmarks includes
            # the inner lips' own tissue, which the trim cuts off (a pout's or a grimace's
            # is half of it), and a laugh given such a mouth stretches a sliver of teeth or
            # tissue three and four times into streaks.
            shapes[-1][:, 0] = visible_opening(np.array(lips[-len(ids):]),
                                               np.array(widths[-len(ids):]))
    if not images:
        raise ValueError("`packs` hold no mouth crops (packs of format version 1)")
    return Interiors(images=np.concatenate(images), origin=np.array(origins),
                     axis=np.array(axes), width=np.array(widths), lips=np.array(lips),
                     teeth=np.array(teeth), skin=np.array(skins, np.float32),
                     shape=np.concatenate(shapes))


def visible_opening(lips: np.ndarray, width: np.ndarray) -> np.ndarray:
    """The opening a mouth image shows, over its width, as ``lm.mouth_open_ratio`` measures
    it on landmarks: the mean height of the middle columns of its inner lips ``lips``
    (F, 2, N_COLUMNS) over the mouth widths ``width`` (F,); returns (F,)."""
    mid = mm.N_COLUMNS // 2
    height = lips[:, 1, mid - 2:mid + 3] - lips[:, 0, mid - 2:mid + 3]
    return np.maximum(height, 0.0).mean(axis=1) / np.maximum(width, 1e-6)


def _fit(crop: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.resize(crop, (size[1], size[0]), interpolation=cv2.INTER_AREA
                      if crop.shape[0] > size[0] else cv2.INTER_CUBIC)


def _scaled_affine(a: np.ndarray, old: tuple[int, int], new: tuple[int, int]) -> np.ndarray:
    s = np.array([[new[1] / old[1]], [new[0] / old[0]]])
    return a * s


def bank_frames(packs: list[ClipPack], params: MouthParams = MouthParams()
                ) -> list[np.ndarray]:
    """Which frames of each pack go into a bank: open mouths (a closed one shows nothing),
    evenly thinned to at most ``bank_max_frames`` in all."""
    chosen = [np.flatnonzero(lm.mouth_open_ratio(p.landmarks) > params.bank_min_open)
              if p.mouth is not None else np.zeros(0, int) for p in packs]
    total = sum(len(c) for c in chosen)
    if total > params.bank_max_frames:
        step = total / params.bank_max_frames
        chosen = [c[np.floor(np.arange(0, len(c), step)).astype(int)] for c in chosen]
    return chosen


def build_bank(packs: list[ClipPack], params: MouthParams = MouthParams()) -> Interiors | None:
    """A bank of real mouth interiors from ``packs`` (tracked clips), or None when none of
    them opens its mouth."""
    real = [p for p in packs if p.mouth is not None and not p.extra.get("synthetic")]
    frames = bank_frames(real, params)
    if sum(len(f) for f in frames) == 0:
        return None
    # Cut the drivers' lip tissue off: it is another person's lip. (A clip's own mouth on
    # its own photo keeps it: there it is the right lip, and self-reenactment's mouth PSNR
    # drops by 6 dB on d10 when the tongue, coloured like the lips, is cut too.)
    bank = from_packs(real, frames=frames, params=params, trim=True)
    log.info("mouth bank: %d open-mouthed frames from %d clip(s)", len(bank), len(real))
    return bank


def choose_frames(bank_shape: np.ndarray, clip_shape: np.ndarray,
                  params: MouthParams = MouthParams(), *, drawn: bool = False) -> np.ndarray:
    """For each clip frame, the bank frame to show: (F,) int; with ``drawn``, index
    ``len(bank_shape)`` stands for the photo's drawn mouth, shown where no bank mouth fits
    (``drawn_where``).

    Nearest in lip shape (``lip_shape``, each feature over its ``bank_scales``; a bank
    mouth less open than the clip's counts ``bank_under_open`` times as far, as it gets
    stretched to fit), smoothed over time by dynamic programming: changing to another bank
    frame costs ``bank_switch_cost``, moving on to the next frame of the same bank clip a
    quarter of it (real mouths move on between frames), staying nothing; so a mouth holds
    still while the clip's mouth does, instead of flickering between look-alikes.
    """
    diff = (clip_shape[:, None, :] - bank_shape[None, :, :]) / np.asarray(params.bank_scales)
    diff[..., 0] *= np.where(diff[..., 0] > 0.0, params.bank_under_open, 1.0)
    d = (diff ** 2).sum(axis=-1)
    f, n = d.shape
    cost = d[0].copy()
    back = np.zeros((f, n), np.int64)
    switch = params.bank_switch_cost
    for i in range(1, f):
        best = int(np.argmin(cost))
        stay = cost
        step = np.full(n, np.inf)
        step[1:] = cost[:-1] + 0.25 * switch
        choice = np.where(stay <= step, np.arange(n), np.arange(n) - 1)
        via = np.minimum(stay, step)
        jump = cost[best] + switch
        back[i] = np.where(via <= jump, choice, best)
        cost = np.minimum(via, jump) + d[i]
    out = np.empty(f, np.int64)
    out[-1] = int(np.argmin(cost))
    for i in range(f - 1, 0, -1):
        out[i - 1] = back[i, out[i]]
    if drawn:
        out[drawn_where(bank_shape[out, 0], clip_shape[:, 0], params)] = n
    return out


def drawn_where(bank_open: np.ndarray, clip_open: np.ndarray,
                params: MouthParams = MouthParams()) -> np.ndarray:
    """Which clip frames show the drawn mouth rather than the bank's mouth chosen for them
    (opening ``bank_open`` (F,) against the clip's ``clip_open`` (F,)): (F,) bool.

    A bank mouth less open than the clip's is stretched to fit, a sliver of teeth or of
    tissue into streaks (a grimace's clenched teeth in a laugh, a pout in a yawn); only
    that counts, a different width or smile the interior's columns take up. Smoothed over
    time by dynamic programming: the drawn mouth costs ``bank_drawn_cost`` a frame, a bank
    mouth its shortfall (``bank_scales[0]`` units, ``bank_under_open`` times, squared),
    and changing between them ``bank_drawn_switch_cost`` while the mouth is open (a pop;
    nothing while it is closed and no interior shows).
    """
    short = (np.maximum(clip_open - bank_open, 0.0) / params.bank_scales[0]
             * params.bank_under_open) ** 2
    costs = np.stack([short, np.full_like(short, params.bank_drawn_cost)], axis=1)
    opening = np.clip(clip_open / params.bank_min_open, 0.0, 1.0) ** 2
    f = len(costs)
    cost = costs[0].copy()
    back = np.zeros((f, 2), np.int64)
    for i in range(1, f):
        mix = params.bank_drawn_switch_cost * max(opening[i - 1], opening[i])
        other = cost[::-1] + mix
        back[i] = np.where(cost <= other, [0, 1], [1, 0])
        cost = np.minimum(cost, other) + costs[i]
    state = np.empty(f, np.int64)
    state[-1] = int(np.argmin(cost))
    for i in range(f - 1, 0, -1):
        state[i - 1] = back[i, state[i]]
    return state == 1
