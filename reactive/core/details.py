"""Fine-scale details: expression ratio images applied to the target (paper Sec. 6).

The pack's ratio images are aligned to the driver's neutral frame s*; the face meshes of s*
and of the photo's rest geometry t* map each onto the other (``ratio_map``: landmark-aligned,
phi beyond the mesh). So shading the *rest* photo with R_i o m and then warping it gives the
same picture as warping first and shading in the frame's geometry, at the cost of one small
resample per frame: t_i = W_i(t* x R_i(m)). Where the photo's face is squeezed against the
driver's (a turned head's far side) the folds fade (``squeeze_fade``).

Beyond the paper, the folds are fitted to the target once per photo (``crease_style``): a
face with little fine detail of its own (a child, a painting, a retouched photo) gets
shallower folds, and every fold is at least a few pixels and a fraction of the face wide
in the photo, so that it reads as shading, never as a line drawn on the picture.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial import Delaunay

from reactive.core import landmarks as lm
from reactive.core.blur import normalized_blur
from reactive.core.clip import ClipPack
from reactive.core.rig import Rig, pixel_barycentrics
from reactive.params import DetailParams

# Storage of a ratio image R (clip packs, format 3): code = 128 + 128 log2(R), uint8, so
# R in [0.5, 2) in steps of 0.5%.
LOG_STEPS = 128.0


def encode_ratio(r: np.ndarray) -> np.ndarray:
    """Ratio (any shape, float) -> uint8 code, log2 scale, 1/128 steps, R in [0.5, 2)."""
    return np.clip(np.round(128.0 + LOG_STEPS * np.log2(np.maximum(r, 1e-6))), 0, 255
                   ).astype(np.uint8)


def decode_table() -> np.ndarray:
    """(256,) float32: code -> R."""
    return (2.0 ** ((np.arange(256, dtype=np.float64) - 128.0) / LOG_STEPS)).astype(np.float32)


@dataclass(frozen=True)
class CreaseStyle:
    """How a photo takes the clips' folds: ``gain`` scales log R (1 = the driver's depth),
    ``sigma_px`` is the least width (Gaussian sigma, photo px) a fold has in the photo,
    ``detail`` the photo's own fine detail it was decided from (``skin_detail``)."""

    gain: float = 1.0
    sigma_px: float = 0.0
    detail: float = float("nan")


# The nose, bridge to wings and nostrils (face mesh indices): shading, not skin texture.
_NOSE = np.array([168, 6, 197, 195, 5, 4, 1, 19, 94, 2, 98, 97, 326, 327, 64, 294, 48, 278,
                  129, 358, 49, 279, 102, 331, 219, 439, 115, 344])


def skin_mask(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bare skin of a face (H, W) bool: the landmark oval, eroded, without the eyes, brows,
    lips and nose (grown), from its (478, 2) ``points``."""
    iod = float(lm.interocular(points))
    oval = np.zeros(shape, np.uint8)
    cv2.fillPoly(oval, [np.round(lm.face_polygon(points)).astype(np.int32)], 1)
    oval = cv2.erode(oval, _disk(0.08 * iod))
    features = np.zeros(shape, np.uint8)
    for ring in (lm.LIPS_OUTER, lm.LEFT_EYE, lm.RIGHT_EYE, lm.LEFT_BROW, lm.RIGHT_BROW,
                 _NOSE):
        hull = cv2.convexHull(np.round(points[ring]).astype(np.int32))
        cv2.fillPoly(features, [hull], 1)
    features = cv2.dilate(features, _disk(0.1 * iod))
    return (oval > 0) & (features == 0)


def _disk(radius: float) -> np.ndarray:
    r = max(1, int(round(radius)))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def skin_detail(photo: np.ndarray, points: np.ndarray, params: DetailParams = DetailParams()
                ) -> float:
    """How much fine detail the face's skin shows (pores, fine lines, brush or canvas):
    the median |band-pass| of its grey level over its own local mean, in a band from
    ``detail_band_iod[0]`` to ``[1]`` of the inter-ocular distance; a fraction (0.01 = 1%).
    ``photo``: (H, W, 3) uint8 RGB; ``points``: its (478, 2) landmarks. NaN without skin."""
    iod = float(lm.interocular(points))
    mask = skin_mask(points, photo.shape[:2])
    if mask.sum() < 50:
        return float("nan")
    ys, xs = np.nonzero(mask)
    pad = int(np.ceil(3 * params.detail_band_iod[1] * iod)) + 1
    y0, y1 = max(ys.min() - pad, 0), min(ys.max() + pad + 1, photo.shape[0])
    x0, x1 = max(xs.min() - pad, 0), min(xs.max() + pad + 1, photo.shape[1])
    grey = cv2.cvtColor(photo[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY).astype(np.float32) + 1.0
    fine = cv2.GaussianBlur(grey, (0, 0), max(params.detail_band_iod[0] * iod, 0.5))
    local = cv2.GaussianBlur(grey, (0, 0), max(params.detail_band_iod[1] * iod, 1.0))
    return float(np.median(np.abs(fine / local - 1.0)[mask[y0:y1, x0:x1]]))


def crease_style(photo: np.ndarray, points: np.ndarray,
                 params: DetailParams = DetailParams()) -> CreaseStyle:
    """Decide once per photo how deep and how wide its folds are (``CreaseStyle``).

    Depth: ``gain`` = the photo's ``skin_detail`` over ``detail_full``, within
    [``min_gain``, 1]: on skin with little fine detail of its own a fold stands out, so it
    is shallower. Width: at least ``crease_min_iod`` of the inter-ocular distance divided
    by the gain (shallower folds spread wider) and ``crease_min_px`` pixels.
    """
    detail = skin_detail(photo, points, params)
    gain = 1.0 if not np.isfinite(detail) else float(
        np.clip(detail / params.detail_full, params.min_gain, 1.0))
    iod = float(lm.interocular(points))
    sigma = max(params.crease_min_px, params.crease_min_iod * iod / gain)
    return CreaseStyle(gain=gain, sigma_px=sigma, detail=detail)


def styled_table(style: CreaseStyle) -> np.ndarray:
    """(256,) float32: code -> R ** gain (``decode_table`` at the style's depth)."""
    return (2.0 ** (style.gain * (np.arange(256, dtype=np.float64) - 128.0) / LOG_STEPS)
            ).astype(np.float32)


def ratio_blur(to_ratio: np.ndarray, style: CreaseStyle) -> float:
    """The style's least fold width in ratio-image px (what the decoded image is blurred
    by), from the (3, 3) photo px -> ratio px affine."""
    scale = float(np.sqrt(abs(np.linalg.det(to_ratio[:2, :2]))))
    return style.sigma_px * scale


def ratio_geometry(phi: np.ndarray, ratio_box: np.ndarray, ratio_shape: tuple[int, int],
                   photo_shape: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Where a pack's ratio images land in the photo.

    Returns the (3, 3) affine photo px -> ratio px (phi^-1, then the ratio box's scale) and
    the photo box ``(x0, y0, x1, y1)`` the ratio images cover (plus a pixel), clipped.
    """
    h, w = photo_shape
    x0, y0, x1, y1 = (float(v) for v in ratio_box)
    rh, rw = ratio_shape
    sx, sy = rw / (x1 - x0), rh / (y1 - y0)
    phi_inv = np.linalg.inv(np.vstack([phi, [0, 0, 1]]))
    to_ratio = np.array([[sx, 0, -sx * x0], [0, sy, -sy * y0], [0, 0, 1]]) @ phi_inv
    corners = np.array([[0, 0], [rw, 0], [0, rh], [rw, rh]], np.float64)
    back = np.linalg.inv(to_ratio)
    photo_pts = corners @ back[:2, :2].T + back[:2, 2]
    px0, py0 = np.maximum(np.floor(photo_pts.min(axis=0)) - 1, 0).astype(int)
    px1, py1 = np.minimum(np.ceil(photo_pts.max(axis=0)) + 2, (w, h)).astype(int)
    return to_ratio, (int(px0), int(py0), int(px1), int(py1))


def ratio_roi(phi_box: tuple[int, int, int, int], target_points: np.ndarray,
              photo_shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """The photo box ``(x0, y0, x1, y1)`` a pack's ratio images shade: ``phi_box``, what
    phi^-1 brings them onto (``ratio_geometry``), and the photo's face mesh with two pixels
    to spare (on a turned face the mesh's correspondence reaches past phi's box), clipped
    to the photo."""
    h, w = photo_shape
    mesh = target_points[:lm.N_MESH]
    x0, y0 = np.maximum(np.minimum(np.floor(mesh.min(axis=0)) - 2, phi_box[:2]), 0)
    x1, y1 = np.minimum(np.maximum(np.ceil(mesh.max(axis=0)) + 3, phi_box[2:]), (w, h))
    return int(x0), int(y0), int(x1), int(y1)


class MeshLookup:
    """Which triangle of the photo's face mesh (Delaunay over its 468 rest points) each
    pixel of a photo box lies in, with its barycentric weights: made once per photo, it
    maps any clip's neutral landmarks onto the box (``ratio_map``)."""

    def __init__(self, target_points: np.ndarray, roi: tuple[int, int, int, int]):
        x0, y0, x1, y1 = roi
        mesh = target_points[:lm.N_MESH].astype(np.float64) - (x0, y0)
        self.roi = roi
        self.ids, self.bary = pixel_barycentrics(Delaunay(mesh), (y1 - y0, x1 - x0))
        self.inside = self.bary.sum(axis=2) > 0.5
        self.iod = float(lm.interocular(target_points))


def ratio_map(to_ratio: np.ndarray, driver_points: np.ndarray, ratio_box: np.ndarray,
              ratio_shape: tuple[int, int], lookup: MeshLookup) -> np.ndarray:
    """Where each pixel of ``lookup.roi`` reads a pack's ratio images: (h, w, 2) float32
    ratio px, for ``cv2.remap``.

    The ratio images live in the driver's neutral frame, whose landmarks are
    ``driver_points`` (478, 2) (driver px; ``ratio_box`` (4,) their box, of ``ratio_shape``
    (h, w) px). On the photo's face each pixel reads the landmark-aligned pixel (its face
    mesh triangle mapped onto the driver's: on a turned or differently shaped face a fold
    lands where the photo's face has that part, not where phi, a similarity, puts it: d3's
    shadow beside the nose as a grey blotch on s10's far cheek); beyond the mesh (the
    forehead's top, the edge fade) phi^-1 (``to_ratio`` (3, 3), photo px -> ratio px),
    the mesh's correction to it carried out and faded over a quarter of the inter-ocular
    distance.
    """
    x0, y0, x1, y1 = lookup.roi
    h, w = y1 - y0, x1 - x0
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    base = np.stack([to_ratio[0, 0] * xx + to_ratio[0, 1] * yy + to_ratio[0, 2],
                     to_ratio[1, 0] * xx + to_ratio[1, 1] * yy + to_ratio[1, 2]], axis=-1)
    bx0, by0, bx1, by1 = (float(v) for v in ratio_box)
    rh, rw = ratio_shape
    scale = np.array([rw / (bx1 - bx0), rh / (by1 - by0)])
    driver = (driver_points[:lm.N_MESH].astype(np.float64) - (bx0, by0)) * scale
    mesh = np.einsum("hwk,hwkc->hwc", lookup.bary.astype(np.float64), driver[lookup.ids])
    inside = lookup.inside
    correction = np.where(inside[..., None], mesh - base, 0.0).astype(np.float32)
    carried = normalized_blur(correction, inside.astype(np.float32),
                              max(1.0, 0.25 * lookup.iod),
                              fallback=np.zeros_like(correction))
    correction = np.where(inside[..., None], correction, carried)
    return (base + correction).astype(np.float32).reshape(h, w, 2)


def squeeze_fade(where: np.ndarray, to_ratio: np.ndarray, iod: float,
                 params: DetailParams = DetailParams()) -> np.ndarray:
    """How much of its folds each pixel of a ``ratio_map`` (h, w, 2) takes: 1 where the
    photo's face is no more squeezed against the driver's than ``params.squeeze_fade[0]``
    times phi's scale (``to_ratio``), falling to 0 at ``[1]`` (the squeeze: the square
    root of the map's local area scale over phi's, smoothed over a tenth of the photo's
    inter-ocular distance ``iod``). (h, w) float32."""
    gx = np.gradient(where, axis=1)
    gy = np.gradient(where, axis=0)
    area = np.abs(gx[..., 0] * gy[..., 1] - gx[..., 1] * gy[..., 0])
    squeeze = np.sqrt(area / max(abs(float(np.linalg.det(to_ratio[:2, :2]))), 1e-12))
    squeeze = cv2.GaussianBlur(squeeze.astype(np.float32), (0, 0), max(0.5, 0.1 * iod))
    low, high = params.squeeze_fade
    return np.clip((high - squeeze) / max(high - low, 1e-6), 0.0, 1.0).astype(np.float32)


def pack_maps(to_ratio: np.ndarray, pack: ClipPack, lookup: MeshLookup
              ) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray | None]:
    """A pack's ratio images onto ``lookup.roi``: the ``ratio_map`` as fixed-point
    ``cv2.remap`` maps, and its ``squeeze_fade`` (h, w) float32, or None where nothing
    fades (a frontal face)."""
    where = ratio_map(to_ratio, pack.landmarks[pack.neutral_index], pack.ratio_box,
                      pack.ratio.shape[1:], lookup)
    fade = squeeze_fade(where, to_ratio, lookup.iod)
    return cv2.convertMaps(where, None, cv2.CV_16SC2), (None if fade.min() >= 1.0 else fade)


class DetailLayer:
    """Offline, one clip: per frame, the photo shaded by its ratio image, in a reused buffer.
    (The live player blends several clips' with ``RatioMixer``.)"""

    def __init__(self, rig: Rig, pack: ClipPack, style: CreaseStyle | None = None):
        if pack.ratio is None:
            raise ValueError("`pack` has no ratio images (format before 3); precompute the "
                             "clip again")
        self.rig, self.pack = rig, pack
        self.style = crease_style(rig.photo, rig.target_points) if style is None else style
        self.lut = styled_table(self.style)
        rh, rw = pack.ratio.shape[1:]
        to_ratio, phi_box = ratio_geometry(rig.phi, pack.ratio_box, (rh, rw), rig.shape)
        self.blur = ratio_blur(to_ratio, self.style)
        box = ratio_roi(phi_box, rig.target_points, rig.shape)
        px0, py0, px1, py1 = box
        self.roi = (slice(py0, py1), slice(px0, px1))
        (self.map1, self.map2), self.fade = pack_maps(to_ratio, pack,
                                                      MeshLookup(rig.target_points, box))
        self.photo = rig.photo.copy()
        self._ratio = np.empty((py1 - py0, px1 - px0), np.float32)
        self._decoded = np.empty((rh, rw), np.float32)

    def to_photo(self, image: np.ndarray, out: np.ndarray, border: float) -> np.ndarray:
        """``image`` (h, w) float32 over the pack's ratio box, as the photo's box ``roi``
        sees it (landmark-aligned: ``ratio_map``), into ``out`` (the roi's shape)."""
        return cv2.remap(image, self.map1, self.map2, cv2.INTER_LINEAR, dst=out,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=border)

    def shade(self, layers) -> np.ndarray:
        """The photo shaded for the clip's frame at ``layers`` (one ``synthesis.Layer`` at
        full weight: offline rendering): (H, W, 3) uint8, overwritten next call."""
        if len(layers) != 1 or layers[0].weight != 1.0:
            raise ValueError("`layers` must be one layer at full weight (blend several "
                             "clips with RatioMixer)")
        i = min(int(round(layers[0].position)), self.pack.frame_count - 1)
        roi = self.roi
        np.take(self.lut, self.pack.ratio[i], out=self._decoded)
        if self.blur > 0.3:
            cv2.GaussianBlur(self._decoded, (0, 0), self.blur, dst=self._decoded,
                             borderType=cv2.BORDER_REPLICATE)
        self.to_photo(self._decoded, self._ratio, 1.0)
        if self.fade is not None:                          # R' = 1 + fade (R - 1)
            np.subtract(self._ratio, 1.0, out=self._ratio)
            np.multiply(self._ratio, self.fade, out=self._ratio)
            np.add(self._ratio, 1.0, out=self._ratio)
        src = self.rig.photo[roi]
        cv2.multiply(src, cv2.merge([self._ratio] * 3), dst=self.photo[roi],
                     dtype=cv2.CV_8U)
        return self.photo


class RatioMixer:
    """The player's details stage: several clips' ratio images, blended by the state
    machine's weights, shade one copy of the photo (R = 1 + sum_k w_k (R_k - 1)).

    ``packs[k]`` is clip k of ``rig`` (its binding's phi); packs without ratio images
    contribute nothing. Everything is preallocated over the union of their boxes.
    """

    def __init__(self, rig: Rig, packs: list[ClipPack], style: CreaseStyle | None = None):
        self.rig = rig
        self.style = crease_style(rig.photo, rig.target_points) if style is None else style
        self.lut = styled_table(self.style)
        self.packs = packs
        geo = {}
        for k, pack in enumerate(packs):
            if pack.ratio is not None:
                geo[k] = ratio_geometry(rig.bindings[k].phi, pack.ratio_box,
                                        pack.ratio.shape[1:], rig.shape)
        self.photo = rig.photo.copy()
        if not geo:
            self.roi = None
            return
        boxes = np.array([ratio_roi(g[1], rig.target_points, rig.shape)
                          for g in geo.values()])
        x0, y0 = boxes[:, :2].min(axis=0)
        x1, y1 = boxes[:, 2:].max(axis=0)
        self.roi = (slice(int(y0), int(y1)), slice(int(x0), int(x1)))
        self.size = (int(x1 - x0), int(y1 - y0))
        lookup = MeshLookup(rig.target_points, (int(x0), int(y0), int(x1), int(y1)))
        self.maps, self.fade = {}, {}
        for k, g in geo.items():
            self.maps[k], self.fade[k] = pack_maps(g[0], packs[k], lookup)
        self.blur = {k: ratio_blur(g[0], self.style) for k, g in geo.items()}
        # Frames whose ratio image is 1 everywhere (code 128: a clip at rest) shade nothing.
        self.flat = {k: (packs[k].ratio == 128).all(axis=(1, 2)) for k in geo}
        self._decoded = {k: np.empty(packs[k].ratio.shape[1:], np.float32) for k in geo}
        self._one = np.empty((self.size[1], self.size[0]), np.float32)
        self._sum = np.empty_like(self._one)
        self._sum3 = np.empty((self.size[1], self.size[0], 3), np.float32)

    def set_frame(self, clip: int, i: int, codes: np.ndarray | None) -> None:
        """Live clips (the puppet's ring): frame ``i`` of clip ``clip`` gets the ratio image
        ``codes`` (h, w) uint8, of the pack's ratio shape (copied into the pack's own
        array: nothing allocated), or None: no shading (R = 1)."""
        if clip not in self.maps:
            return
        if codes is None:
            self.flat[clip][i] = True
            return
        np.copyto(self.packs[clip].ratio[i], codes)
        self.flat[clip][i] = False

    def shade(self, layers) -> np.ndarray | None:
        """The photo shaded for ``layers`` (``synthesis.Layer`` list: clip, position, weight),
        or None when no layer has ratio images (use the photo itself)."""
        if self.roi is None:
            return None
        active = []
        for layer in layers:
            if layer.clip in self.maps and layer.weight > 1e-3:
                i = min(int(round(layer.position)), self.packs[layer.clip].frame_count - 1)
                if not self.flat[layer.clip][i]:
                    active.append((layer, i))
        if not active:
            return None
        self._sum.fill(1.0)
        for layer, i in active:
            pack = self.packs[layer.clip]
            np.take(self.lut, pack.ratio[i], out=self._decoded[layer.clip])
            if self.blur[layer.clip] > 0.3:
                cv2.GaussianBlur(self._decoded[layer.clip], (0, 0), self.blur[layer.clip],
                                 dst=self._decoded[layer.clip], borderType=cv2.BORDER_REPLICATE)
            map1, map2 = self.maps[layer.clip]
            cv2.remap(self._decoded[layer.clip], map1, map2, cv2.INTER_LINEAR, dst=self._one,
                      borderMode=cv2.BORDER_CONSTANT, borderValue=1.0)
            # sum += w fade (R_k - 1)
            fade = self.fade[layer.clip]
            if fade is None:
                cv2.scaleAdd(self._one, layer.weight, self._sum, dst=self._sum)
                self._sum -= layer.weight
            else:
                np.subtract(self._one, 1.0, out=self._one)
                np.multiply(self._one, fade, out=self._one)
                cv2.scaleAdd(self._one, layer.weight, self._sum, dst=self._sum)
        cv2.merge([self._sum] * 3, dst=self._sum3)
        cv2.multiply(self.rig.photo[self.roi], self._sum3, dst=self.photo[self.roi],
                     dtype=cv2.CV_8U)
        return self.photo
