"""Geometry of the mouth opening: where an interior comes from, pixel by pixel (Sec. 5, ours).

An interior (a driver's mouth crop, a bank frame, the procedural mouth, the photo's own
teeth) is carried into the output's current opening *piecewise*, as a real mouth moves: the
upper teeth hang under the upper lip, the lower teeth stand on the lower lip, and only the
space between them (cavity, tongue) stretches. One affine over all the lip points, as the
paper's warp would do, stretches the teeth with the opening and lets them drift off the lips.

Everything is measured in a *mouth frame*: origin at the inner-lip corner 78 (image left), x
along the corners to 308, y perpendicular, downwards; ``u`` = x / corner distance in [0, 1].
Per column ``u_k`` (``N_COLUMNS`` of them) a mouth is four numbers, ``top`` and ``bot`` (y of
the upper and lower inner lip) and ``zu`` / ``zl`` (how far under the upper lip and above the
lower lip the rows of teeth reach, the parts that move rigidly with their lip). Between two
such column sets the vertical map is piecewise linear:

    target y:  top_t        top_t + zu_t        bot_t - zl_t        bot_t
    source y:  top_s        top_s + zu_s        bot_s - zl_s        bot_s

and above ``top``/below ``bot`` it goes on with the mouths' scale ratio; horizontally ``u``
maps to ``u``. ``interior_map`` evaluates this for every pixel of an output box (a numba
kernel; its plain-numpy twin is ``tests/naive.py``), and ``compose`` puts the result into the
frame.
"""

from __future__ import annotations

import cv2
import numpy as np

from reactive.core import landmarks as lm
from reactive.core.kernels.mouth import compose_kernel, interior_map_kernel

N_COLUMNS = 21
COLUMNS_U = np.linspace(0.0, 1.0, N_COLUMNS)
# The middle of the mouth, where a row of teeth is measured reliably (columns).
MIDDLE = slice(N_COLUMNS // 2 - 4, N_COLUMNS // 2 + 5)
# Inner lips from the image-left inner corner to the right one (both ends included).
UPPER_INNER = lm.LIPS_INNER[:11]
LOWER_INNER = np.concatenate([lm.LIPS_INNER[10:], lm.LIPS_INNER[:1]])[::-1]
CORNER_L, CORNER_R = lm.INNER_MOUTH_CORNERS


def mouth_frame(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The mouth frame of landmarks ``points`` (478, 2): origin (2,), x axis (2,) unit
    vector, corner distance (px). The y axis is x rotated a quarter turn clockwise in image
    coordinates (downwards on an upright face)."""
    o = points[CORNER_L].astype(np.float64)
    v = points[CORNER_R].astype(np.float64) - o
    width = float(np.hypot(v[0], v[1]))
    if width < 1e-6:
        return o, np.array([1.0, 0.0]), 1e-6
    return o, v / width, width


def to_frame(xy: np.ndarray, origin: np.ndarray, ex: np.ndarray) -> np.ndarray:
    """(N, 2) image points -> (N, 2) (x, y) in the mouth frame."""
    d = xy.astype(np.float64) - origin
    return np.stack([d[:, 0] * ex[0] + d[:, 1] * ex[1], -d[:, 0] * ex[1] + d[:, 1] * ex[0]],
                    axis=1)


def lip_columns(points: np.ndarray, origin: np.ndarray, ex: np.ndarray, width: float,
                out: np.ndarray | None = None) -> np.ndarray:
    """``top`` and ``bot`` of the inner lips at ``COLUMNS_U``: (2, N_COLUMNS) float64, y in
    the mouth frame (px). ``bot`` is kept >= ``top`` (lips that cross read as closed)."""
    if out is None:
        out = np.empty((2, N_COLUMNS))
    xs = COLUMNS_U * width
    for row, ids in enumerate((UPPER_INNER, LOWER_INNER)):
        q = to_frame(points[ids], origin, ex)
        order = np.argsort(q[:, 0], kind="stable")
        out[row] = np.interp(xs, q[order, 0], q[order, 1])
    np.maximum(out[1], out[0], out=out[1])
    return out


def rigid_zones(top: np.ndarray, bot: np.ndarray, teeth_up: float, teeth_low: float, *,
                min_frac: float, max_frac: float) -> tuple[np.ndarray, np.ndarray]:
    """How far each row of teeth reaches per column (px): ``teeth_up``/``teeth_low`` where
    the opening allows, at least ``min_frac`` of the opening (the cavity's shadow under the
    lip moves with it too) and at most ``max_frac``; together never past the opening."""
    h = np.maximum(bot - top, 0.0)
    zu = np.clip(teeth_up, min_frac * h, max_frac * h)
    zl = np.clip(teeth_low, min_frac * h, max_frac * h)
    zl = np.minimum(zl, h - zu)
    return zu, zl


def interior_map(box: tuple[int, int], target: tuple, cols_t: np.ndarray, source: tuple,
                 cols_s: np.ndarray, map_x: np.ndarray, map_y: np.ndarray,
                 rigid: np.ndarray) -> None:
    """Where each output pixel of a box finds the interior, and whether it is a rigid row.

    Parameters
    ----------
    box : (x0, y0) of the output box in frame pixels; its size is ``map_x.shape``.
    target, source : (origin (2,), x axis (2,), width) mouth frames (``mouth_frame``).
    cols_t, cols_s : (4, N_COLUMNS) float64 rows top, zu, zl, bot (``rigid_zones``), px;
        every column needs top <= top + zu <= bot - zl <= bot, and where the middle is empty
        in the target it must be empty in the source too.
    map_x, map_y : (h, w) float32, source pixel coordinates, written (for ``cv2.remap``).
    rigid : (h, w) float32, written: 1 in the rows of teeth, 0 between them.
    """
    (ot, et, wt), (os_, es, ws) = target, source
    interior_map_kernel(float(box[0]), float(box[1]), np.asarray(ot, np.float64),
                  np.asarray(et, np.float64), float(wt), cols_t, np.asarray(os_, np.float64),
                  np.asarray(es, np.float64), float(ws), cols_s, map_x, map_y, rigid)


_NO_PATCH_ALPHA = np.zeros((1, 1), np.float32)


def compose(roi: np.ndarray, inner: np.ndarray, interior: np.ndarray, gain: np.ndarray,
            saturation: float, alpha: float, patch: np.ndarray | None = None,
            patch_alpha: np.ndarray | None = None) -> None:
    """Put the interior (and the photo's own teeth) into the opening, in place.

    roi : (h, w, 3) uint8, the frame's box. inner : (h, w) uint8 coverage of the opening
    (antialiased). interior : (h, w, 3) uint8, times ``gain`` (3,) float32 per channel, its
    colour scaled by ``saturation`` about its luma (0 = grey), mixed in by ``alpha`` (the
    Sec. 5 gate). patch : (h, w, 3) uint8 photo teeth over it where ``patch_alpha`` (h, w)
    float32 says so.
    """
    use = patch is not None
    if not use:
        patch, patch_alpha = interior, _NO_PATCH_ALPHA  # not read
    compose_kernel(roi, inner, interior, gain, float(saturation), float(alpha), patch,
             patch_alpha, use)


# --- teeth -------------------------------------------------------------------------------------

def _lab(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)


def tooth_coloured(lab: np.ndarray, lip_l, lip_c) -> np.ndarray:
    """Which pixels of ``lab`` (..., 3) CIE Lab (L 0-100) are coloured as teeth, told from
    lips, tongue and cavity by colour alone relative to the lips of the same image (so
    painted, pale, dim or pink-tinged teeth count too): brighter than the lips (lightness
    ``lip_l``) and much less colourful (chroma ``lip_c``); both scalars or broadcasting
    arrays. (...) bool."""
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    return (lab[..., 0] > lip_l + 0.05 * (100.0 - lip_l)) \
        & (chroma < 0.65 * np.maximum(lip_c, 8.0))


def teeth_extent(image: np.ndarray, frame: tuple, cols: np.ndarray, *, samples: int = 40,
                 u_range: tuple[float, float] = (0.38, 0.62)) -> tuple[float, float]:
    """How far the upper and the lower teeth reach into the opening (px in ``image``), 0 for
    a row that does not show.

    Teeth are told from lips and cavity by colour alone, relative to the lips of the same
    image (so painted, pale or dim teeth count too): brighter than the lips and much less
    saturated. A row shows when, in most of the middle columns (``u_range``), a run of
    teeth starts at its lip; its reach is the median run length.

    image : (H, W, 3) uint8 RGB. frame : ``mouth_frame`` of image. cols : (2, N_COLUMNS)
    ``lip_columns`` of image.
    """
    us = np.linspace(u_range[0], u_range[1], 9)
    tooth, height = _tooth_samples(image, frame, cols, us, samples)
    if tooth is None:
        return 0.0, 0.0

    def median_reach(ends: np.ndarray) -> float:
        if (ends > 0).mean() < 0.3:
            return 0.0
        return float(np.median(ends[ends > 0] * height[ends > 0]))

    # Upper teeth first: a run from lip to lip is the upper row resting on the lower lip
    # (a smile); the lower row is what shows below the upper one.
    up = _runs(tooth, np.full(len(us), samples))
    up_reach = median_reach(up)
    rest = samples - np.round(up * samples).astype(int) - 1 if up_reach > 0 \
        else np.full(len(us), samples)
    low = _runs(tooth[::-1], np.maximum(rest, 0))
    return up_reach, median_reach(low)


def teeth_columns(image: np.ndarray, frame: tuple, cols: np.ndarray, *, samples: int = 40
                  ) -> np.ndarray:
    """How far the upper and the lower teeth reach into the opening at each of the
    ``COLUMNS_U``: (2, N_COLUMNS) px in ``image``, 0 where a row does not show (told as in
    ``teeth_extent``, column by column)."""
    tooth, height = _tooth_samples(image, frame, cols, COLUMNS_U, samples)
    if tooth is None:
        return np.zeros((2, N_COLUMNS))
    up = _runs(tooth, np.full(N_COLUMNS, samples))
    rest = np.where(up > 0, samples - np.round(up * samples).astype(int) - 1, samples)
    low = _runs(tooth[::-1], np.maximum(rest, 0))
    return np.stack([up, low]) * np.maximum(height, 0.0)


def _tooth_samples(image: np.ndarray, frame: tuple, cols: np.ndarray, us: np.ndarray,
                   samples: int) -> tuple[np.ndarray | None, np.ndarray]:
    """Which of ``samples`` points down each column ``us`` (n,) of the opening are
    tooth-coloured (``tooth_coloured``, against the lips of the middle of the mouth):
    (samples, n) bool, the upper lip's end first, and the opening's height there (n,) px;
    (None, height) for a mouth too closed to tell."""
    origin, ex, width = frame
    top = np.interp(us, COLUMNS_U, cols[0])
    bot = np.interp(us, COLUMNS_U, cols[1])
    height = bot - top
    if float(np.median(height)) < 3.0:
        return None, height
    # Sample each column from the lip edge above to the lip edge below, plus the lips'
    # bodies (a tenth of the mouth width further out, mid-mouth) for reference.
    lip = 0.1 * width
    mid = np.linspace(0.38, 0.62, 9)
    ts = (np.arange(samples) + 0.5) / samples
    ys = top[None, :] + ts[:, None] * height[None, :]
    y_all = np.concatenate([ys.ravel(), np.interp(mid, COLUMNS_U, cols[0]) - 0.5 * lip,
                            np.interp(mid, COLUMNS_U, cols[1]) + 0.5 * lip])
    a_all = np.concatenate([np.broadcast_to(us * width, ys.shape).ravel(),
                            mid * width, mid * width])
    mx = (origin[0] + a_all * ex[0] - y_all * ex[1]).astype(np.float32)[None]
    my = (origin[1] + a_all * ex[1] + y_all * ex[0]).astype(np.float32)[None]
    lab = _lab(cv2.remap(image, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))[0]
    inside, lips = lab[:ys.size].reshape(samples, len(us), 3), lab[ys.size:]
    lip_l = float(np.median(lips[:, 0]))
    lip_c = float(np.median(np.hypot(lips[:, 1], lips[:, 2])))
    return tooth_coloured(inside, lip_l, lip_c), height


def _runs(mask: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Per column of ``mask`` (samples, n) bool, the end (share of the samples) of the run
    of teeth that starts within the first half of the samples, a one-sample gap allowed,
    looking no further than ``limit`` (n,) samples; 0 for none. (The lip edge may be off
    the landmarks, and a shadow may hang under the upper lip.)"""
    samples = mask.shape[0]
    lead = max(2, samples // 2)
    out = np.zeros(mask.shape[1])
    for k, col in enumerate(mask.T):
        start = np.flatnonzero(col[:min(lead, limit[k])])
        if len(start) == 0:
            continue
        e = int(start[0])
        while e < limit[k] and (col[e] or (e + 1 < limit[k] and col[e + 1])):
            e += 1
        out[k] = e / samples
    return out
