"""A mouth interior drawn for one photo, for when no real mouth is at hand (beyond the paper).

The built-in clips are not filmed, so they have no mouth of their own; without a bank of real
mouths (``mouthbank``) the player draws one, once per photo, in the photo's colours: a dark
cavity shaded by depth (deepest at the back, in the middle), a tongue low in it, and two rows
of separate teeth, each tooth rounded and shaded as a cylinder, with dark gaps between them,
narrower and darker towards the corners as the arch turns away. It is drawn for an opening
of a fixed shape (flat lips, ``OPEN_FRAC`` mouth widths apart); ``mouthmap`` hangs the upper
row under the output's upper lip and stands the lower row on its lower lip, stretching only
the cavity between, so one image serves every opening.

Colours: the cavity and tongue from the photo's lips (darkened, towards red-brown), the
teeth near-white at a brightness set by the skin, with only a bounded part of the skin's hue
(a sepia photo gets sepia-ish teeth, a ruddy face no pink ones).
"""

from __future__ import annotations

import cv2
import numpy as np

from reactive.core import landmarks as lm
from reactive.core import mouthmap as mm
from reactive.core.mouthbank import Interiors, lip_shape, skin_colour

OPEN_FRAC = 0.8           # opening height over mouth width of the drawn mouth
MARGIN_FRAC = 0.15        # cavity drawn around it (the map reaches past the lips)
# Upper row, from the middle outwards: (width, height) in mouth widths. Central incisors,
# lateral incisors, canines, two premolars, a molar: the arch turns away from the viewer,
# so each is seen narrower than it is.
UPPER_TEETH = ((0.105, 0.135), (0.078, 0.118), (0.066, 0.124), (0.056, 0.104),
               (0.050, 0.098), (0.046, 0.090))
LOWER_TEETH = ((0.060, 0.070), (0.060, 0.072), (0.060, 0.078), (0.054, 0.070),
               (0.048, 0.064), (0.044, 0.060))
TOOTH_GAP_FRAC = 0.005     # dark line between teeth, mouth widths


def _luma(rgb: np.ndarray) -> float:
    return float(np.asarray(rgb, np.float64) @ (0.299, 0.587, 0.114))


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


def _smooth_box(x, y, x0, x1, y0, y1, radius, px):
    """Antialiased coverage (0-1) of a box with rounded lower/upper ends of ``radius``."""
    cx, hw = 0.5 * (x0 + x1), 0.5 * (x1 - x0)
    dx = np.maximum(np.abs(x - cx) - (hw - radius), 0.0)
    cy, hh = 0.5 * (y0 + y1), 0.5 * (y1 - y0)
    dy = np.maximum(np.abs(y - cy) - (hh - radius), 0.0)
    d = np.sqrt(dx * dx + dy * dy) - radius
    return np.clip(0.5 - d / px, 0.0, 1.0)


def draw_interior(width_px: float, colours: dict[str, np.ndarray], *, teeth: bool = True
                  ) -> tuple[np.ndarray, float, float]:
    """The drawn mouth: (h, w, 3) uint8 RGB for a mouth ``width_px`` wide, and the reach of
    the upper and lower rows of teeth (px; 0 without teeth). The opening's lips are the
    lines y = m and y = m + OPEN_FRAC * width_px, the corners at x = m and x = m + width_px,
    with m the margin."""
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

    # Cavity: red-brown, darkest at the back in the middle, a little light on the inner
    # cheeks and just under the lips, darker again into the corners.
    cavity = lips * np.float32(0.30)
    depth = np.exp(-(u / 0.32) ** 2 - ((v - 0.45) / 0.45) ** 2)
    corner = np.clip(np.abs(u) / 0.5, 0.0, 1.0) ** 2
    shade = (1.0 - 0.6 * depth) * (1.0 - 0.5 * corner)
    img = cavity[None, None, :] * shade[..., None]

    # Tongue: a wide low mound, lit from above, with a faint groove down its middle.
    tongue_rgb = lips * np.float32(0.78) + np.float32(0.08 * _luma(lips))
    t = 1.0 - (u / 0.40) ** 2 - ((v - 1.08) / 0.40) ** 2
    cover = np.clip(t * 6.0, 0.0, 1.0)
    lit = 0.55 + 0.45 * np.clip((1.08 - v) / 0.40, 0.0, 1.0) ** 0.7
    groove = 1.0 - 0.18 * np.exp(-(u / 0.012) ** 2) * np.clip((v - 0.7) / 0.2, 0.0, 1.0)
    tongue = tongue_rgb[None, None, :] * (lit * groove * (0.65 + 0.35 * (1.0 - corner)))[..., None]
    img += cover[..., None] * (tongue - img)

    up_reach = low_reach = 0.0
    if teeth:
        # Near-white, as bright as the skin or a little more, with a quarter of its hue.
        hue = (skin / y_skin) ** 0.25
        white = np.float32(np.clip(1.15 * y_skin + 30.0, 120.0, 248.0)) * (hue / _luma(hue))
        gap = TOOTH_GAP_FRAC * wm
        for row, specs, sign in ((0, UPPER_TEETH, 1.0), (1, LOWER_TEETH, -1.0)):
            # Behind the row, its own shadowed colour: between two teeth one sees the
            # next tooth's side in shade, not the black cavity (only the tips part).
            span = sum(tw for tw, _ in specs) * wm
            root = (specs[0][1] * 0.6) * wm
            if row == 0:
                behind = _smooth_box(x, y, m + 0.5 * wm - span, m + 0.5 * wm + span,
                                     m - root, m + root, 0.3 * root, px)
            else:
                behind = _smooth_box(x, y, m + 0.5 * wm - span, m + 0.5 * wm + span,
                                     m + h_open - root, m + h_open + root, 0.3 * root, px)
            fade = (1.0 - 0.6 * np.clip(np.abs(u) / 0.5, 0.0, 1.0))
            img += (behind * fade)[..., None] * (white * np.float32(0.62) - img)
            x_edge = 0.0
            for k, (tw, th) in enumerate(specs):
                for side in (-1.0, 1.0):
                    x0 = m + 0.5 * wm + side * x_edge * wm
                    x1 = x0 + side * tw * wm
                    lo, hi = min(x0, x1), max(x0, x1)
                    lo, hi = lo + 0.5 * gap, hi - 0.5 * gap
                    height = th * wm
                    if row == 0:
                        y0, y1 = m - 0.3 * height, m + height
                    else:
                        y0, y1 = m + h_open - height, m + h_open + 0.3 * height
                    radius = 0.28 * (hi - lo)
                    cov = _smooth_box(x, y, lo, hi, y0, y1, radius, px)
                    # Cylinder shading across the tooth, the arch turning away (darker
                    # outwards), a shadow under the upper lip, greyer see-through tips.
                    across = np.clip((x - 0.5 * (lo + hi)) / (0.5 * (hi - lo)), -1.0, 1.0)
                    cyl = 0.86 + 0.14 * np.sqrt(np.maximum(1.0 - across * across, 0.0))
                    turn = 1.0 - 0.07 * k - (0.08 if row == 1 else 0.0)
                    along = np.clip((y - (m if row == 0 else m + h_open)) * sign / height,
                                    0.0, 1.0)
                    lipshade = 0.78 + 0.22 * np.clip(along / 0.3, 0.0, 1.0)
                    tip = 1.0 - 0.10 * np.clip((along - 0.8) / 0.2, 0.0, 1.0)
                    tooth = white[None, None, :] * (cyl * turn * lipshade * tip)[..., None]
                    img += cov[..., None] * (tooth - img)
                x_edge += tw
        up_reach = max(th for _, th in UPPER_TEETH) * wm
        low_reach = max(th for _, th in LOWER_TEETH) * wm
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
                     shape=lip_shape(points[None], points), in_photo_colours=True)
