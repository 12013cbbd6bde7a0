"""The built-in clips' mouth crops, drawn (not photographed): skin, lips, and inside the inner
lips a dark cavity with soft shading, a tongue low and an upper-teeth band (``teeth=False``
for paintings and cartoons), antialiased and slightly blurred, in the crop geometry of
``precompute.mouth``."""

from __future__ import annotations

import logging

import cv2
import numpy as np

from precompute.mouth import CROP_SIZE, mouth_crop
from precompute.synth.exact import falloff, length
from precompute.synth.face_model import LOWER_INNER, UPPER_INNER
from reactive.core import landmarks as lm
from reactive.core.geometry import smoothstep

log = logging.getLogger(__name__)

# Named mesh points (``reactive.core.landmarks``), short for the formulas below.
_CORNER_L, _CORNER_R = lm.MOUTH_CORNERS        # outer lip corners, image left / right
_INNER_L, _INNER_R = lm.INNER_MOUTH_CORNERS    # inner lip corners
_UPPER_LIP_BOTTOM, _LOWER_LIP_TOP = lm.UPPER_LIP_BOTTOM, lm.LOWER_LIP_TOP
_LOWER_LIP_BOTTOM, _CHIN = lm.LOWER_LIP_BOTTOM, lm.CHIN
_CHEEK_L, _CHEEK_R = lm.CHEEK_EDGES


SUPERSAMPLE = 4          # drawn at 4x, then box-averaged: antialiased edges


_SUB_BITS = 4            # polygon vertices at 1/16 of a supersampled pixel


# The player Poisson-blends the crop in log space: the photo's skin times (crop / crop skin).
# So what matters are ratios to the skin: teeth a little brighter than the skin in every
# channel alike take the photo's own hue (no blue teeth on pale photos, no green ones on a
# yellowed varnish) and do not glow.
SKIN_RGB = (196.0, 156.0, 138.0)


LIP_RGB = (178.0, 100.0, 98.0)


CAVITY_RGB = (62.0, 28.0, 32.0)


TONGUE_RGB = (150.0, 78.0, 84.0)


TEETH_RGB = (214.0, 176.0, 158.0)  # skin x (1.09, 1.13, 1.14)


def _fill(shape: tuple[int, int], polys: list[np.ndarray]) -> np.ndarray:
    """(h, w) float64 0/1 mask of polygons given in supersampled pixel coordinates."""
    mask = np.zeros(shape, np.uint8)
    pts = [np.round(p * (1 << _SUB_BITS)).astype(np.int32).reshape(-1, 1, 2) for p in polys]
    cv2.fillPoly(mask, pts, 1, lineType=cv2.LINE_8, shift=_SUB_BITS)
    return mask.astype(np.float64)


def _curve(points: np.ndarray, xq: np.ndarray) -> np.ndarray:
    """y of the polyline ``points`` (N, 2) at ``xq`` (sorted by x first)."""
    order = np.argsort(points[:, 0], kind="stable")
    return np.interp(xq, points[order, 0], points[order, 1])


def _window(shape: tuple[int, int], pts: np.ndarray, pad: float) -> tuple[slice, slice]:
    """Rows and columns of ``shape`` covering ``pts`` (N, 2) (x, y) grown by ``pad``."""
    x0 = max(int(np.floor(pts[:, 0].min() - pad)), 0)
    x1 = min(int(np.ceil(pts[:, 0].max() + pad)) + 1, shape[1])
    y0 = max(int(np.floor(pts[:, 1].min() - pad)), 0)
    y1 = min(int(np.ceil(pts[:, 1].max() + pad)) + 1, shape[0])
    return slice(y0, max(y1, y0)), slice(x0, max(x1, x0))


def draw_mouth(points: np.ndarray, *, teeth: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """A plausible mouth for driver-frame landmarks ``points`` (478, 2) float32.

    Returns the (64, 96, 3) uint8 RGB crop and the (2, 3) float32 affine frame -> crop, the
    same geometry ``mouth.mouth_crop`` computes from these landmarks. Skin around, lips, and
    inside the inner lips a dark cavity (darker up and at the corners), a tongue low and,
    with ``teeth``, the upper teeth just under the upper lip.
    """
    h, w = CROP_SIZE
    _, affine = mouth_crop(np.zeros((2, 2, 3), np.uint8), points)
    a = affine.astype(np.float64)
    p = points.astype(np.float64)
    q = np.stack([a[0, 0] * p[:, 0] + a[0, 2], a[1, 1] * p[:, 1] + a[1, 2]], axis=1)
    ss = SUPERSAMPLE
    # Supersampled coordinates: crop pixel centre u sits at ss * u + (ss - 1) / 2.
    qs = q * ss + (ss - 1) / 2.0
    H, W = h * ss, w * ss
    mouth_w = float(length(*(qs[_CORNER_R] - qs[_CORNER_L])))
    cx = 0.5 * (qs[_CORNER_L, 0] + qs[_CORNER_R, 0])
    img = np.empty((H, W, 3))
    img[:] = SKIN_RGB

    def grid(win):
        ys, xs = win
        return np.mgrid[ys, xs].astype(np.float64)

    # Skin: a little shade under the lower lip (the mentolabial fold).
    below = np.array([[cx, qs[_LOWER_LIP_BOTTOM, 1] + 0.06 * mouth_w]])
    r = 0.25 * mouth_w
    win = _window((H, W), below, 1.6 * r + 1)
    yy, xx = grid(win)
    img[win] *= (1.0 - 0.10 * falloff(length((xx - cx) / 1.6, yy - below[0, 1]), r))[..., None]

    # Lips: the upper one a little darker (it faces down), a highlight on the lower one.
    upper_poly = np.concatenate([qs[lm.LIPS_OUTER[:11]], qs[lm.LIPS_INNER[10::-1]]])
    lower_poly = np.concatenate([qs[lm.LIPS_OUTER[10:]], qs[[_CORNER_L]], qs[[_INNER_L]],
                                 qs[lm.LIPS_INNER[:9:-1]], qs[[_INNER_R]]])
    win = _window((H, W), qs[lm.LIPS_OUTER], 2)
    sub = img[win]
    origin = np.array([win[1].start, win[0].start], np.float64)
    shape = sub.shape[:2]
    lower_mask = _fill(shape, [lower_poly - origin])
    for mask, gain in ((_fill(shape, [upper_poly - origin]), 0.86), (lower_mask, 1.0)):
        sub += mask[..., None] * (np.array(LIP_RGB) * gain - sub)
    yy, xx = grid(win)
    hl = falloff(length((xx - cx) / 2.2, yy - (qs[_LOWER_LIP_TOP, 1] + 0.1 * mouth_w)), 0.1 * mouth_w)
    sub *= (1.0 + 0.10 * hl * lower_mask)[..., None]

    # The opening: cavity, tongue, teeth, all inside the inner lips.
    inner = qs[lm.LIPS_INNER]
    win = _window((H, W), inner, 2)
    sub = img[win]
    origin = np.array([win[1].start, win[0].start], np.float64)
    cavity = _fill(sub.shape[:2], [inner - origin])
    if cavity.any():
        yy, xx = grid(win)
        top = _curve(qs[[_INNER_L] + UPPER_INNER + [_INNER_R]], xx[0])[None, :]
        bot = _curve(qs[[_INNER_L] + LOWER_INNER + [_INNER_R]], xx[0])[None, :]
        open_px = max(float(qs[_LOWER_LIP_TOP, 1] - qs[_UPPER_LIP_BOTTOM, 1]), 0.0)
        gap = np.maximum(bot - top, 1e-6)
        v = np.clip((yy - top) / gap, 0.0, 1.0)   # 0 under the upper lip, 1 on the lower
        side = np.clip(np.abs(xx - cx) / (0.5 * mouth_w), 0.0, 1.0)
        col = np.empty(sub.shape)
        col[:] = CAVITY_RGB
        col *= ((0.55 + 0.45 * v) * (1.0 - 0.45 * side * side))[..., None]
        # Tongue: a low, wide mound.
        t_cy = qs[_LOWER_LIP_TOP, 1] + 0.05 * open_px
        t_rx, t_ry = 0.30 * mouth_w, max(0.42 * open_px, 1.0)
        tongue = np.clip(1.0 - ((xx - cx) / t_rx) ** 2 - ((yy - t_cy) / t_ry) ** 2, 0.0, 1.0)
        tongue = np.clip(tongue * 4.0, 0.0, 1.0) * smoothstep(open_px / (0.08 * mouth_w))
        t_col = np.array(TONGUE_RGB)[None, None, :] * (0.7 + 0.3 * (1.0 - v))[..., None]
        col += tongue[..., None] * (t_col - col)
        if teeth:
            span = 0.36 * mouth_w
            dx = (xx - cx) / span
            tooth_h = 0.11 * mouth_w * (1.0 - 0.35 * dx * dx)
            band = (np.abs(dx) <= 1.0) & (yy >= top - 0.5) & (yy <= top + tooth_h)
            edge = np.clip((top + tooth_h - yy) / 1.5, 0.0, 1.0)   # soft biting edge
            tooth = band * edge * smoothstep((1.0 - np.abs(dx)) / 0.15) \
                * smoothstep(open_px / (0.04 * mouth_w))
            gain = (1.0 - 0.45 * dx * dx) * (0.78 + 0.22 * np.clip((yy - top) / 3.0, 0.0, 1.0))
            # Faint gaps between the incisors and canines.
            for g in (0.0, 0.3, 0.55, 0.78):
                for sgn in ((1.0,) if g == 0.0 else (-1.0, 1.0)):
                    gain *= 1.0 - 0.22 * falloff(np.abs(dx - sgn * g) * span, 1.6)
            t_col = np.array(TEETH_RGB)[None, None, :] * gain[..., None]
            col += tooth[..., None] * (t_col - col)
        sub += cavity[..., None] * (col - sub)

    # Antialias (box average of the supersamples), then a light [1 2 1] blur.
    small = img.reshape(h, ss, w, ss, 3).mean(axis=(1, 3))
    pad = np.pad(small, ((1, 1), (1, 1), (0, 0)), mode="edge")
    small = (pad[:-2] + 2.0 * pad[1:-1] + pad[2:]) / 4.0
    small = (small[:, :-2] + 2.0 * small[:, 1:-1] + small[:, 2:]) / 4.0
    return np.clip(np.round(small), 0, 255).astype(np.uint8), affine
