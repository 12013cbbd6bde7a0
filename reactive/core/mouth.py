"""Hidden regions: the mouth interior (paper Sec. 5).

When the driver's mouth opens, the photo has no teeth or tongue to show: the warp only
stretches the closed lips. Per frame, the driver's mouth crop (from the clip pack) is mapped
onto the target's current lip geometry, cut to the region inside the *inner* lips eroded by
0.1 x the target's mouth height (so the target keeps its own lips), Poisson-blended for colour
(OpenCV's seamless cloning, over the whole mouth so its boundary lies on skin, on log
intensities so the match is a gain) and alpha-composited, the alpha gated by the interior's
area.
"""

from __future__ import annotations

import cv2
import numpy as np

from reactive.core import landmarks as lm
from reactive.core.clip import ClipPack
from reactive.core.geometry import polygon_area
from reactive.core.rig import Rig
from reactive.params import MouthParams


def _fit_affine(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares affine (2, 3) with dst ~ A @ [src, 1]."""
    a = np.hstack([src, np.ones((len(src), 1))])
    sol, *_ = np.linalg.lstsq(a, dst, rcond=None)
    return sol.T


class MouthLayer:
    """Composites the driver's mouth interior into warped frames of one rig + pack."""

    def __init__(self, rig: Rig, pack: ClipPack, params: MouthParams = MouthParams(), *,
                 teeth: bool = True):
        if pack.mouth is None:
            raise ValueError("`pack` has no mouth crops (format version 1); precompute the "
                             "clip again")
        self.rig, self.pack, self.params = rig, pack, params
        # Without teeth (paintings, cartoons: Sec. 8.2 "avoid teeth on emojis"), the
        # driver's interior is reduced to its dark, softly shaded cavity.
        self.teeth = teeth
        t0 = rig.target_points
        width = float(np.linalg.norm(t0[lm.MOUTH_CORNERS[0]] - t0[lm.MOUTH_CORNERS[1]]))
        self.h_mouth = float(np.linalg.norm(t0[lm.UPPER_LIP_TOP] - t0[lm.LOWER_LIP_BOTTOM]))
        self.a_star = max(polygon_area(t0[lm.LIPS_INNER]), params.min_a_star_frac * width ** 2)
        r = max(1, int(round(params.erode_frac * self.h_mouth)))
        self.kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        self.lip_ids = np.concatenate([lm.LIPS_INNER, lm.LIPS_OUTER])
        levels = np.arange(256, dtype=np.float64)
        self._to_log = np.round(255 * np.log1p(levels) / np.log(256.0)).astype(np.uint8)
        self._from_log = np.clip(np.round(np.expm1(levels / 255 * np.log(256.0))), 0, 255
                                 ).astype(np.uint8)

    def alpha(self, target_lips_inner: np.ndarray) -> float:
        """Sec. 5 gate from the target's current interior area."""
        a = polygon_area(target_lips_inner)
        return float(np.clip((a - self.a_star) / ((self.params.full_at - 1) * self.a_star),
                             0.0, 1.0))

    def apply(self, frame: np.ndarray, i: int, offsets: np.ndarray) -> float:
        """Composite clip frame ``i``'s mouth into ``frame`` (H, W, 3) uint8, in place.

        ``offsets`` are the control-point offsets the frame was warped with. Returns alpha.
        """
        rig, pack = self.rig, self.pack
        n = rig.n_face
        target = rig.rest[:n] + offsets[:n]
        inner = target[lm.LIPS_INNER]
        alpha = self.alpha(inner)
        if alpha <= 0.0:
            return 0.0
        h, w = frame.shape[:2]
        outer = target[lm.LIPS_OUTER]
        pad = 4 + 3 * int(self.kernel.shape[0])
        x0, y0 = np.floor(outer.min(axis=0)).astype(int) - pad
        x1, y1 = np.ceil(outer.max(axis=0)).astype(int) + pad
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 - x0 < 8 or y1 - y0 < 8:
            return 0.0
        roi = frame[y0:y1, x0:x1]
        mask = np.zeros(roi.shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round(inner - (x0, y0)).astype(np.int32)], 255)
        mask = cv2.erode(mask, self.kernel)
        # seamlessClone needs the mask clear of the ROI's edge.
        mask[:2], mask[-2:], mask[:, :2], mask[:, -2:] = 0, 0, 0, 0
        if cv2.countNonZero(mask) < 12:
            return 0.0
        # Driver lips (crop pixels) -> target lips (ROI pixels): an affine fit over inner and
        # outer lip points carries the interior's shape well at this scale.
        src = pack.landmarks[i, self.lip_ids] @ pack.mouth_affine[i, :, :2].T \
            + pack.mouth_affine[i, :, 2]
        m = _fit_affine(src.astype(np.float64), (target[self.lip_ids] - (x0, y0)))
        warped = cv2.warpAffine(pack.mouth[i], m, (roi.shape[1], roi.shape[0]),
                                flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if not self.teeth:
            hole = np.zeros(roi.shape[:2], np.uint8)
            cv2.fillPoly(hole, [np.round(inner - (x0, y0)).astype(np.int32)], 255)
            sigma = max(2.0, self.params.cavity_blur_frac * self.h_mouth)
            cavity = cv2.GaussianBlur(warped, (0, 0), sigma)
            cavity = (cavity * self.params.cavity_gain).astype(np.uint8)
            np.copyto(warped, cavity, where=hole[..., None] > 0)
        bx, by, bw, bh = cv2.boundingRect(mask)
        if bw < 3 or bh < 3:
            return 0.0
        # Poisson-blend the driver's whole mouth, lips and a ring of skin included: its
        # boundary then lies on skin in both images, so the interior takes on the photo's
        # colour and light. (Blending only the interior would pin its edge to the photo's
        # stretched lips and wash the dark mouth out to lip colour.)
        region = np.zeros(roi.shape[:2], np.uint8)
        cv2.fillPoly(region, [np.round(outer - (x0, y0)).astype(np.int32)], 255)
        region = cv2.dilate(region, self.kernel, iterations=2)
        region[:2], region[-2:], region[:, :2], region[:, -2:] = 0, 0, 0, 0
        # In log space the blend is a gain, not an offset: a dark mouth on a lighter face
        # stays dark instead of being lifted to grey.
        cloned = cv2.LUT(self._poisson(cv2.LUT(warped, self._to_log), cv2.LUT(roi, self._to_log),
                                       region), self._from_log)
        # Composite only over the mask's box (plus the feather): the rest is untouched.
        f = int(np.ceil(3 * self.params.feather_px)) + 1
        ys = slice(max(by - f, 0), min(by + bh + f, roi.shape[0]))
        xs = slice(max(bx - f, 0), min(bx + bw + f, roi.shape[1]))
        soft = cv2.GaussianBlur(mask[ys, xs].astype(np.float32), (0, 0),
                                self.params.feather_px) * np.float32(alpha / 255.0)
        soft = cv2.merge([soft] * 3)
        part = roi[ys, xs]
        mixed = cv2.add(cv2.multiply(part, 1.0 - soft, dtype=cv2.CV_32F),
                        cv2.multiply(cloned[ys, xs], soft, dtype=cv2.CV_32F))
        part[...] = cv2.convertScaleAbs(mixed)
        return alpha

    def _poisson(self, src: np.ndarray, dst: np.ndarray, region: np.ndarray) -> np.ndarray:
        """Poisson blending of ``src`` into ``dst`` over ``region`` (uint8 images).

        Inside the region the result is src plus a membrane, the harmonic interpolation of
        (dst - src) from the region's boundary: smooth by construction, so it is solved at
        ``poisson_px`` rows and upsampled (OpenCV's solver costs ~ the square of the size).
        """
        h, w = src.shape[:2]
        f = self.params.poisson_px / h
        size = (w, h) if f >= 0.75 else (max(8, int(round(w * f))), max(8, int(round(h * f))))
        if size == (w, h):
            src_s, dst_s, reg_s = src, dst, region
        else:
            src_s = cv2.resize(src, size, interpolation=cv2.INTER_AREA)
            dst_s = cv2.resize(dst, size, interpolation=cv2.INTER_AREA)
            reg_s = cv2.resize(region, size, interpolation=cv2.INTER_NEAREST)
            reg_s[:2], reg_s[-2:], reg_s[:, :2], reg_s[:, -2:] = 0, 0, 0, 0
        rx, ry, rw, rh = cv2.boundingRect(reg_s)
        if rw < 3 or rh < 3:
            return src
        cloned = cv2.seamlessClone(src_s, dst_s, reg_s, (rx + rw // 2, ry + rh // 2),
                                   cv2.NORMAL_CLONE)
        membrane = cloned.astype(np.float32) - src_s.astype(np.float32)
        k = self.params.colour_gain
        if k < 1.0:
            # Keep (part of) the interior's own hue: the grey part of the gain matches the
            # photo's light, the colour part would tint white teeth with the skin difference.
            grey = membrane.mean(axis=2, keepdims=True)
            membrane = grey + np.float32(k) * (membrane - grey)
        if size != (w, h):
            membrane = cv2.resize(membrane, (w, h), interpolation=cv2.INTER_LINEAR)
        return cv2.add(src, membrane, dtype=cv2.CV_8U)
