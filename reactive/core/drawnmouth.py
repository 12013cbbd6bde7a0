"""A mouth interior drawn for one photo, for when no real mouth is at hand (beyond the paper).

The built-in clips are not filmed, so they have no mouth of their own; without a bank of real
mouths (``mouthbank``) the player draws one, once per photo, in the photo's colours: a dark
cavity shaded by depth (deepest at the back, in the middle, and into the corners, where the
arch turns into the cheeks' shadow), a tongue shaded as a lit mound, and two rows of ivory
teeth, each tooth rounded, shaded across its front and a little irregular in size and
brightness, so the rows do not read as a moulded denture. The rows fade before the corners
(teeth never meet or cross in the lip corners). It is drawn for an opening of a fixed shape
(flat lips, ``OPEN_FRAC`` mouth widths apart), each row whole; ``reveal_columns`` then slides
each row out from under its lip as far as the output's opening allows (the upper teeth
first, the lower ones only as the jaw drops, partly hidden by the lower lip), and
``mouthmap`` stretches only the cavity between, so one image serves every opening.

Colours: the cavity and tongue from the photo's lips (darkened, towards red-brown), the
teeth ivory at a brightness set by the skin, with only a bounded part of the skin's hue
(a sepia photo gets sepia-ish teeth, a ruddy face no pink ones, no photo violet ones).
"""

from __future__ import annotations

import cv2
import numpy as np

from reactive.core import landmarks as lm
from reactive.core import mouthmap as mm
from reactive.core.mouthbank import Interiors, lip_shape, skin_colour
from reactive.params import MouthParams

OPEN_FRAC = 0.8           # opening height over mouth width of the drawn mouth
MARGIN_FRAC = 0.15        # cavity drawn around it (the map reaches past the lips)
# Upper row, from the middle outwards: (width, height) in mouth widths. Central incisors,
# lateral incisors, canines, two premolars, a molar: the arch turns away from the viewer,
# so each is seen narrower than it is.
UPPER_TEETH = ((0.105, 0.135), (0.078, 0.118), (0.066, 0.124), (0.056, 0.104),
               (0.050, 0.098), (0.046, 0.090))
LOWER_TEETH = ((0.060, 0.070), (0.060, 0.072), (0.060, 0.078), (0.054, 0.070),
               (0.048, 0.064), (0.044, 0.060))
# Teeth show only this far out from the middle (share of the half-width): beyond, the arch
# has turned away into the cheeks' shadow (the dark "buccal corridor" of a real smile), so
# the rows fade into the cavity instead of meeting in the lip corners.
CORRIDOR_U = (0.30, 0.46)
# Slight irregularity, so the rows do not read as a moulded denture: each tooth's width,
# length and brightness vary by up to these shares (a fixed pattern: the same mouth every
# run).
TOOTH_JITTER = (0.06, 0.07, 0.06)
# Ivory: the hue of natural teeth (R >= G >= B), before the photo's bounded skin hue.
IVORY = (1.0, 0.965, 0.88)


def _luma(rgb: np.ndarray) -> float:
    return float(np.asarray(rgb, np.float64) @ (0.299, 0.587, 0.114))


# Skin at least this colourful (CIE Lab chroma) gives the teeth their full ivory; a greyer
# photo's teeth are greyer in proportion (pale skin in colour ~10, a ruddy or painted face
# 30-40, a black-and-white photo 0).
FULL_COLOUR_CHROMA = 10.0


def _colourfulness(rgb: np.ndarray) -> float:
    """0 (grey) .. 1 (at least FULL_COLOUR_CHROMA) for an RGB colour (3,) 0-255."""
    lab = cv2.cvtColor(np.asarray(rgb, np.float32).reshape(1, 1, 3) / 255.0,
                       cv2.COLOR_RGB2LAB)[0, 0]
    return float(np.clip(np.hypot(lab[1], lab[2]) / FULL_COLOUR_CHROMA, 0.0, 1.0))


def photo_colours(photo: np.ndarray, points: np.ndarray) -> dict[str, np.ndarray]:
    """Skin and lip colours of the photo (RGB float32): the skin beside and below the
    mouth, the lips' median over the outer-lip ring (inner lips excluded)."""
    frame = mm.mouth_frame(points)
    cols = mm.lip_columns(points, *frame)
    skin = skin_colour(photo, frame, cols)
    ring = np.zeros(photo.shape[:2], np.uint8)
    cv2.fillPoly(ring, [np.round(points[lm.LIPS_OUTER]).astype(np.int32)], 1)
    cv2.fillPoly(ring, [np.round(points[lm.LIPS_INNER]).astype(np.int32)], 0)
    lips = np.median(photo[ring > 0], axis=0).astype(np.float32) if ring.any() else skin
    return {"skin": skin, "lips": lips}


def _tooth(x, y, lo, hi, y_root, y_tip, px):
    """Antialiased coverage (0-1) of one tooth seen from the front: straight sides, the
    biting edge rounded at its corners (a quarter of the width); its root end, under the
    lip, is never seen. ``y_tip`` may be above ``y_root`` (a lower tooth)."""
    cx, hw = 0.5 * (lo + hi), 0.5 * (hi - lo)
    r = 0.25 * (hi - lo)
    y0, y1 = min(y_root, y_tip), max(y_root, y_tip)
    cy, hh = 0.5 * (y0 + y1), 0.5 * (y1 - y0)
    qx = np.abs(x - cx) - (hw - r)
    qy = np.abs(y - cy) - (hh - r)
    d = (np.sqrt(np.maximum(qx, 0.0) ** 2 + np.maximum(qy, 0.0) ** 2)
         + np.minimum(np.maximum(qx, qy), 0.0) - r)
    return np.clip(0.5 - d / px, 0.0, 1.0)


def draw_interior(width_px: float, colours: dict[str, np.ndarray], *, teeth: bool = True
                  ) -> tuple[np.ndarray, float, float]:
    """The drawn mouth: (h, w, 3) uint8 RGB for a mouth ``width_px`` wide, and the reach of
    the upper and lower rows of teeth (px; 0 without teeth). The opening's lips are the
    lines y = m and y = m + OPEN_FRAC * width_px, the corners at x = m and x = m + width_px,
    with m the margin. Each row is drawn whole (up to its reach from its lip, the rest
    under the lip); how much of it shows is up to the map (``reveal_columns``)."""
    wm = float(max(width_px, 16.0))
    m = int(np.ceil(MARGIN_FRAC * wm))
    h_open = OPEN_FRAC * wm
    h, w = int(np.ceil(h_open)) + 2 * m, int(np.ceil(wm)) + 2 * m
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    u = (x - m) / wm - 0.5           # -0.5 .. 0.5 between the corners
    v = (y - m) / h_open             # 0 at the upper lip, 1 at the lower
    px = 1.0                         # antialiasing width, pixels
    lips = colours["lips"].astype(np.float32)
    skin = colours["skin"].astype(np.float32)
    y_skin = max(_luma(skin), 1.0)
    au = np.abs(u)

    # Cavity: red-brown, darkest at the back in the middle and into the corners (the
    # cheeks' shadow) and in the upper row's shadow; lit from the front towards the tongue,
    # so a laugh's opening between the rows reads as depth, not as a flat black band.
    cavity = lips * np.float32(0.50)
    depth = np.exp(-(u / 0.30) ** 2 - ((v - 0.35) / 0.30) ** 2)
    corner = np.clip(au / 0.5, 0.0, 1.0) ** 2
    lit = 0.75 + 0.35 * np.clip((v - 0.25) / 0.5, 0.0, 1.0)
    shade = (1.0 - 0.40 * depth) * (1.0 - 0.6 * corner) * lit
    img = cavity[None, None, :] * shade[..., None]

    # Tongue: a low mound seen from the front and above, shaded as a squashed ellipsoid lit
    # from above and in front (bright top, shaded sides and front), with a faint groove
    # and a soft sheen.
    tongue_rgb = lips * np.float32(0.80) + np.float32(0.06 * _luma(lips))
    # It fills the jaw's arch: seen in a laugh's opening from just behind the lower teeth.
    tx, ty = u / 0.42, (v - 0.98) / 0.50
    t = 1.0 - tx * tx - ty * ty
    cover = np.clip(t * 5.0, 0.0, 1.0)
    nz = np.sqrt(np.clip(t, 0.0, 1.0))                   # normal towards the viewer
    light = np.clip(0.55 * nz + 0.6 * np.clip(-ty, 0.0, 1.0) * nz, 0.0, 1.0)
    groove = 1.0 - 0.12 * np.exp(-(u / 0.025) ** 2) * np.clip((v - 0.62) / 0.2, 0.0, 1.0)
    sheen = 0.10 * np.exp(-((u - 0.06) / 0.08) ** 2 - ((v - 0.64) / 0.05) ** 2)
    body = (0.35 + 0.65 * light) * groove * (0.7 + 0.3 * (1.0 - corner))
    tongue = tongue_rgb[None, None, :] * body[..., None] + np.float32(255.0) * sheen[..., None]
    img += cover[..., None] * (tongue - img)

    up_reach = low_reach = 0.0
    if teeth:
        # Ivory, as bright as the skin or a little more, with a bounded part of the skin's
        # hue (a sepia photo: sepia-ish teeth; never pink or violet ones).
        hue = np.asarray(IVORY, np.float32) * (skin / y_skin) ** 0.15
        hue[1] = min(hue[1], hue[0])
        hue[2] = min(hue[2], hue[1])
        # ... and only as colourful as the photo: a black-and-white photo's teeth are grey
        # (ivory ones read as painted in, s2), a faded one's faintly ivory.
        hue = 1.0 + np.float32(_colourfulness(skin)) * (hue - 1.0)
        white = np.float32(np.clip(1.1 * y_skin + 40.0, 130.0, 240.0)) * (hue / _luma(hue))
        rng = np.random.default_rng(10)
        fade_out = np.clip((CORRIDOR_U[1] - au) / (CORRIDOR_U[1] - CORRIDOR_U[0]), 0.0, 1.0)
        fade_out = fade_out * fade_out * (3.0 - 2.0 * fade_out)
        for row, specs in ((0, UPPER_TEETH), (1, LOWER_TEETH)):
            lip_y = m if row == 0 else m + h_open
            sign = 1.0 if row == 0 else -1.0
            reach_row = max(th for _, th in specs) * wm
            # Behind the row, the next teeth's sides in shade (between two teeth one does
            # not see the black cavity, only between the rounded tips).
            span = sum(tw for tw, _ in specs) * wm
            behind = _tooth(x, y, m + 0.5 * wm - span, m + 0.5 * wm + span,
                            lip_y - sign * 0.4 * reach_row, lip_y + sign * 0.6 * reach_row, px)
            layer = np.broadcast_to(white * np.float32(0.5), img.shape).copy()
            cov_all = behind.astype(np.float32)
            x_edge = 0.0
            for k, (tw, th) in enumerate(specs):
                for side in (-1.0, 1.0):
                    jw, jh, jb = (1.0 + TOOTH_JITTER[i] * rng.uniform(-1.0, 1.0)
                                  for i in range(3))
                    x0 = m + 0.5 * wm + side * x_edge * wm
                    x1 = x0 + side * tw * jw * wm
                    lo, hi = min(x0, x1), max(x0, x1)
                    if row == 0:
                        lo, hi = lo + 0.15, hi - 0.15         # a seam between teeth
                    height = th * jh * wm
                    y_tip = lip_y + sign * height
                    y_root = lip_y - sign * 0.4 * height
                    cov = _tooth(x, y, lo, hi, y_root, y_tip, px)
                    # Rounded front: bright in the middle of the tooth, darker at its sides
                    # (where it turns towards its neighbour); the arch turns away outwards.
                    across = np.clip((x - 0.5 * (lo + hi)) / (0.5 * (hi - lo)), -1.0, 1.0)
                    # (The small lower teeth are seen mostly as one row: softer seams.)
                    depth_c = 0.20 if row == 0 else 0.12
                    cyl = (1.0 - depth_c) + depth_c * np.sqrt(
                        np.maximum(1.0 - across * across, 0.0))
                    turn = (1.0 - 0.085 * k) * (0.92 if row == 1 else 1.0) * jb
                    along = np.clip((y - lip_y) * sign / height, 0.0, 1.0)
                    # The lip's shadow near the gum, the thin see-through biting edge.
                    lipshade = 0.70 + 0.30 * np.clip(along / 0.35, 0.0, 1.0)
                    edge = 1.0 - 0.14 * np.clip((along - 0.82) / 0.18, 0.0, 1.0)
                    tone = cyl * turn * lipshade * edge
                    np.maximum(cov_all, cov, out=cov_all)
                    layer += cov[..., None] * (white[None, None, :] * tone[..., None] - layer)
                x_edge += tw
            if row == 1:
                # The lower row stands in the upper row's shadow, deeper in the mouth.
                layer *= np.float32(0.95)
            cov_all *= fade_out
            img += cov_all[..., None] * (layer - img)
            if row == 0:
                up_reach = reach_row
            else:
                low_reach = reach_row
    return np.clip(img + 0.5, 0, 255).astype(np.uint8), up_reach, low_reach


def drawn_interiors(photo: np.ndarray, points: np.ndarray, *, teeth: bool = True,
                    width_gain: float = 1.3) -> Interiors:
    """The photo's drawn mouth as a one-image ``Interiors`` (in the photo's colours).
    ``width_gain``: drawn this much wider than the photo's mouth, so that a smile's wider
    mouth is not enlarged."""
    width = float(np.linalg.norm(points[78] - points[308])) * width_gain
    image, up, low = draw_interior(width, photo_colours(photo, points), teeth=teeth)
    m = int(np.ceil(MARGIN_FRAC * max(width, 16.0)))
    wm = float(max(width, 16.0))
    h_open = OPEN_FRAC * wm
    lips = np.stack([np.zeros(mm.N_COLUMNS), np.full(mm.N_COLUMNS, h_open)])[None]
    return Interiors(images=image[None], origin=np.array([[m, m]], np.float64),
                     axis=np.array([[1.0, 0.0]]), width=np.array([wm]), lips=lips,
                     teeth=np.array([[up, low]]), skin=np.zeros((1, 3), np.float32),
                     shape=lip_shape(points[None], points), drawn_from=0)


def reveal_columns(s_lips: np.ndarray, reach: np.ndarray, lips_t: np.ndarray, k: float,
                   cols_t: np.ndarray, cols_s: np.ndarray, params: MouthParams,
                   up_fixed: np.ndarray | None = None, low_fixed: np.ndarray | None = None
                   ) -> None:
    """Map columns (``mouthmap.interior_map``) that show as much of the drawn rows as
    the lips let through, written into ``cols_t`` and ``cols_s`` (4, N_COLUMNS).

    A real mouth that parts a little shows the upper teeth under the upper lip and hides
    the lower ones behind the lower lip; the lower teeth rise into view with the jaw drop.
    So each row *slides* out from under its lip (its tips first), never squashed: the upper
    row shows ``reveal_upper`` of the opening (up to its whole reach), the lower row what
    is left past ``reveal_gap`` mouth widths of dark gap under the upper row, at most
    ``reveal_lower`` of it. ``s_lips`` (2, N_COLUMNS) the drawn opening's lips, ``reach``
    (2,) the rows' whole reach (px, drawn image), ``lips_t`` the output's, ``k`` output px
    per drawn px. ``up_fixed`` / ``low_fixed``: the photo's own rows in the output (their
    reach per column), which the drawn rows end under instead."""
    height = np.maximum(lips_t[1] - lips_t[0], 0.0)
    up_s_full, low_s_full = float(reach[0]), float(reach[1])
    if up_fixed is not None:
        up_t = np.minimum(up_fixed, height)
        up_s = np.full_like(up_t, up_s_full)         # squeezed under the photo's row
        top_s = s_lips[0]
    else:
        up_t = np.minimum(up_s_full * k, params.reveal_upper * height)
        up_s = up_t / k
        top_s = s_lips[0] + (up_s_full - up_s)       # the root part stays under the lip
    if low_fixed is not None:
        low_t = np.minimum(low_fixed, height - up_t)
        low_s = np.full_like(low_t, low_s_full)
        bot_s = s_lips[1]
    else:
        gap = params.reveal_gap * k * float(np.max(s_lips[1] - s_lips[0])) / OPEN_FRAC
        room = np.maximum(height - up_t - gap, 0.0)
        # The lower lip hides more of its row towards the corners.
        d = np.abs(2.0 * mm.COLUMNS_U - 1.0)
        low_t = np.minimum(np.minimum(low_s_full * k, params.reveal_lower * room)
                           * (1.0 - 0.6 * d * d), height - up_t)
        low_s = low_t / k
        bot_s = s_lips[1] - (low_s_full - low_s)
    cols_t[0], cols_t[1], cols_t[2], cols_t[3] = lips_t[0], up_t, low_t, lips_t[1]
    cols_s[0], cols_s[1], cols_s[2], cols_s[3] = top_s, up_s, low_s, bot_s
