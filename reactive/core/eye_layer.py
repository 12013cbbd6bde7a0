"""The eye layer (beyond the paper): repaints the eyes of every warped frame.

``GazeLayer`` repaints the eye opening every frame: an eyeball without iris (made once from
the photo) and the photo's iris disc, shifted by the gaze and clipped by the current lids.
The warp alone would squash the iris as the lids close; this keeps it round and lets the lid
slide over it, and it is what moves the iris for gaze. As the lids close it also rasterizes
the lids again (the warp's dense field smears the squashed opening into a band of white and
iris along the closed lid), fades in the closed lid made once per photo (``closed_lid.py``)
and draws the lash line along the seam.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from reactive.core import landmarks as lm
from reactive.core.closed_lid import closed_lid
from reactive.core.geometry import (
    SUBPIXEL_BITS,
    fill_polygon,
    polygon_area,
    smoothstep,
    triangulate,
)
from reactive.core.kernels.eyes import (
    blur_under_mask,
    composite_eye,
    paint_under_mask,
    raster_triangles,
)
from reactive.core.landmarks import EYES, EyeTopology
from reactive.core.lids import eye_linear, folded_over_eyes
from reactive.params import EyeParams

log = logging.getLogger(__name__)

_KERNEL3 = np.ones((3, 3), np.uint8)


def _fill_sclera(crop: np.ndarray, sclera: np.ndarray, *, sigma: float) -> np.ndarray:
    """The eye without its iris: every non-sclera pixel of ``crop`` (h, w, 3) uint8 filled
    row by row with the brighter half of that row's sclera, rows without sclera copied from
    the nearest row that has some. Row-wise, because the white of the eye is shaded top to
    bottom (the upper lid's shadow) far more than across. The
    sclera is smoothed first (normalized Gaussian, ``sigma`` px) so one noisy pixel does not
    streak across the fill. Returns (h, w, 3) uint8; sclera pixels keep their values.
    """
    known = sclera.astype(np.float32)
    norm = cv2.GaussianBlur(known, (0, 0), sigma)
    smooth = cv2.GaussianBlur(crop.astype(np.float32) * known[..., None], (0, 0), sigma)
    smooth /= np.maximum(norm, 1e-6)[..., None]
    fill = np.zeros(crop.shape, np.float32)
    rows = np.flatnonzero(sclera.any(axis=1))
    luma_w = np.array([0.299, 0.587, 0.114], np.float32)
    for y in rows:
        vals = smooth[y, sclera[y]]
        # The brighter part of the row: the white of the eye, not the caruncle or the
        # shadow in a corner (which would paint the middle of the eye grey).
        luma = vals @ luma_w
        fill[y] = vals[luma >= np.quantile(luma, 0.5)].mean(axis=0)
    nearest = rows[np.abs(np.arange(crop.shape[0])[:, None] - rows[None, :]).argmin(axis=1)]
    # Rows see different stretches of sclera (lid shadow on one side only): blur across rows
    # too, or the fill comes out banded.
    fill = cv2.GaussianBlur(np.ascontiguousarray(fill[nearest]), (0, 0), sigma)
    # Keep the photo's sclera, fading into the fill over a pixel on the sclera's side (the
    # iris side must not bleed in).
    keep = np.minimum(cv2.GaussianBlur(known, (0, 0), 1.0), known)[..., None]
    out = crop.astype(np.float32) * keep + fill * (1.0 - keep)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _rotation_fill(iris: np.ndarray, known: np.ndarray, want: np.ndarray, centre) -> None:
    """Fill ``want & ~known`` pixels of ``iris`` (h, w, 3) in place with the known pixel at
    the same radius and the nearest angle: an iris is nearly rotationally symmetric, so the
    part hidden under a lid in the photo is best guessed from the visible part at the same
    radius (pupil, iris ring, limbus stay concentric)."""
    todo = want & ~known
    if not todo.any():
        return
    if not known.any():
        iris[todo] = (70, 55, 45)  # no visible iris at all: a dark brown disc
        return
    ys, xs = np.nonzero(todo)
    dx, dy = xs - centre[0], ys - centre[1]
    h, w = known.shape
    filled = np.zeros(len(xs), bool)
    for step in range(1, 19):
        for sign in (1, -1):
            a = np.deg2rad(10.0 * step * sign)
            sx = np.round(centre[0] + np.cos(a) * dx - np.sin(a) * dy).astype(int)
            sy = np.round(centre[1] + np.sin(a) * dx + np.cos(a) * dy).astype(int)
            ok = ~filled & (sx >= 0) & (sx < w) & (sy >= 0) & (sy < h)
            ok[ok] = known[sy[ok], sx[ok]]
            iris[ys[ok], xs[ok]] = iris[sy[ok], sx[ok]]
            filled |= ok
        if filled.all():
            return
    iris[ys[~filled], xs[~filled]] = np.median(iris[known], axis=0)


@dataclass
class _EyeModel:
    """One eye of the photo, made once: rest shape, eyeball and iris images."""

    topo: EyeTopology
    rest: np.ndarray          # (478, 2) float64 photo landmarks (all, for the corners)
    contour: np.ndarray       # (16, 2) float64 rest opening
    area: float               # rest opening area, px^2
    width: float              # rest corner distance, px
    centre: np.ndarray        # (2,) iris centre in the photo
    eyeball: np.ndarray       # (h, w, 3) uint8, the eye region with the iris inpainted
    eyeball_origin: np.ndarray  # (2,) photo pixel of eyeball[0, 0]
    iris: np.ndarray          # (s, s, 4) float32 premultiplied RGB + alpha (0..1), soft edge
    iris_origin: np.ndarray   # (2,)
    patch_ids: np.ndarray     # (V,) mesh points of the lid patch
    patch_rest: np.ndarray    # (V, 2) float64 their photo positions
    patch_tris: np.ndarray    # (T, 3) int into patch_ids; opening triangles first
    patch_normals: np.ndarray  # (V, 2) unit, away from the opening for lid points, else 0
    lash_colour: np.ndarray   # (3,) float32 RGB, the darkest of the upper lid margin
    closed_origin: np.ndarray  # (2,) int, photo pixel (x, y) of closed_delta[0, 0]
    closed_delta: np.ndarray  # (h, w, 3) float32, the closed lid minus the photo there

    def patch_source(self, margin_frac: float) -> np.ndarray:
        """Photo positions the lid patch samples: lid points moved ``margin_frac`` eye
        widths away from the opening. (V, 2) float64."""
        return self.patch_rest + (margin_frac * self.width) * self.patch_normals


class GazeLayer:
    """Repaints the eye openings of warped frames: eyeball, and the iris moved by the gaze.

    Built once per photo. ``apply(frame, points_now, gaze)`` paints, per eye, inside the
    current opening (eye contour at ``points_now``, eroded by ``opening_erode_px``, soft
    edge) the eyeball carried by the eye's corners (rotation, scale, translation from the
    photo) and the photo's iris disc at its rest place in the eye shifted by ``gaze`` eye
    widths. The lids clip the iris by construction: nothing of it is painted outside the
    opening. Below ``redraw_area_frac`` of the rest opening the lids and the skin around
    them are rasterized again from the photo with the warp's own triangles, and below
    ``seam_area_frac`` a lash line is drawn along the closing seam; a closed eye
    (``closed_area_frac``) gets those, no eyeball. An eye as at rest with no gaze is left
    alone (bit for bit). Per frame: numba kernels on small regions, no frame-sized buffer
    (about 0.03 ms at rest, 0.1-0.2 ms with gaze, 0.2-0.4 ms while blinking, both eyes of a
    1024 px photo, on a loaded 2-core machine).

    Parameters
    ----------
    photo : (H, W, 3) uint8 RGB, the target photo t*.
    target_points : (478, 2) its landmarks (iris points 468-477 included).
    """

    def __init__(self, photo: np.ndarray, target_points: np.ndarray, *,
                 params: EyeParams = EyeParams()):
        if photo.ndim != 3 or photo.shape[2] != 3 or photo.dtype != np.uint8:
            raise ValueError(f"`photo` must be (H, W, 3) uint8; got {photo.shape} {photo.dtype}")
        if target_points.shape != (lm.N_LANDMARKS, 2):
            raise ValueError(f"`target_points` must be ({lm.N_LANDMARKS}, 2); got "
                             f"{target_points.shape}")
        self.params = params
        self.photo = photo
        pts = target_points.astype(np.float64)
        tri, index = triangulate(pts[:lm.N_MESH], folded_over_eyes(pts))
        self._delaunay = index[tri.simplices]
        self.eyes = [self._model(photo, pts, topo) for topo in EYES]

    def _model(self, photo: np.ndarray, pts: np.ndarray, topo: EyeTopology) -> _EyeModel:
        p = self.params
        h, w = photo.shape[:2]
        contour = pts[topo.contour]
        width = float(np.linalg.norm(pts[topo.corners[1]] - pts[topo.corners[0]]))
        centre = pts[topo.iris]
        radius = float(np.linalg.norm(pts[topo.iris + 1:topo.iris + 5] - centre, axis=1).mean())
        radius = float(np.clip(radius, 0.05 * width, 0.4 * width))
        # Eyeball image: the eye region with wide margins (the gaze moves the iris by up to
        # 0.2 eye widths, a surprised eye opens beyond the photo's opening).
        lo = np.floor(contour.min(axis=0) - (0.3 * width, 0.5 * width)).astype(int)
        hi = np.ceil(contour.max(axis=0) + (0.3 * width, 0.5 * width)).astype(int) + 1
        lo = np.maximum(lo, 0)
        hi = np.minimum(hi, (w, h))
        crop = np.ascontiguousarray(photo[lo[1]:hi[1], lo[0]:hi[0]])
        opening = fill_polygon(crop.shape[:2], contour, lo) > 127
        # The lash line and lid shadow are not eyeball: keep a margin inside the opening.
        erode = max(1, int(round(0.03 * width)))
        visible = cv2.erode(opening.astype(np.uint8), _KERNEL3, iterations=erode).astype(bool)
        yy, xx = np.mgrid[0:crop.shape[0], 0:crop.shape[1]]
        dist = np.hypot(xx + lo[0] - centre[0], yy + lo[1] - centre[1])
        # The limbus (the iris's dark rim) is often a pixel or two outside the tracked disc.
        sclera = visible & (dist > radius + max(1.5, 0.12 * radius))
        if sclera.sum() >= 8:
            eyeball = _fill_sclera(crop, sclera, sigma=max(0.8, 0.03 * width))
        else:  # the photo shows no white of the eye: a plain, slightly warm white
            log.debug("eye %d: no sclera visible; painting a plain eyeball", topo.iris)
            eyeball = np.empty_like(crop)
            eyeball[:] = (215, 205, 200)
        # Iris disc: visible pixels from the photo, the hidden part filled by rotation.
        s = int(np.ceil(radius + 2 * p.iris_feather_px + 1))
        o = np.floor(centre).astype(int) - s
        size = 2 * s + 1
        iris = np.zeros((size, size, 4), np.uint8)
        ys0, xs0 = max(o[1], 0), max(o[0], 0)
        ys1, xs1 = min(o[1] + size, h), min(o[0] + size, w)
        iris[ys0 - o[1]:ys1 - o[1], xs0 - o[0]:xs1 - o[0], :3] = photo[ys0:ys1, xs0:xs1]
        iy, ix = np.mgrid[0:size, 0:size]
        idist = np.hypot(ix + o[0] - centre[0], iy + o[1] - centre[1])
        known = np.zeros((size, size), bool)
        inside = (iy + o[1] >= lo[1]) & (iy + o[1] < hi[1]) & (ix + o[0] >= lo[0]) \
            & (ix + o[0] < hi[0])
        known[inside] = visible[(iy + o[1] - lo[1])[inside], (ix + o[0] - lo[0])[inside]]
        known &= idist <= radius - 0.5
        want = idist <= radius + p.iris_feather_px
        rgb = np.ascontiguousarray(iris[..., :3])
        _rotation_fill(rgb, known, want, centre - o)
        alpha = np.clip((radius - idist) / max(p.iris_feather_px, 1e-3) + 0.5, 0.0, 1.0)
        # Premultiplied: bilinear sampling at the disc's edge then blends with nothing.
        iris = np.empty((size, size, 4), np.float32)
        iris[..., :3] = rgb * alpha[..., None]
        iris[..., 3] = alpha
        # The warp's own triangles over the lid patch: Delaunay on the photo's points, as the
        # rig triangulates them (points outside the face cannot change triangles this deep
        # inside it).
        ids = topo.lid_patch
        tris = self._delaunay[np.isin(self._delaunay, ids).all(axis=1)]
        lookup = np.full(lm.N_MESH, -1)
        lookup[ids] = np.arange(len(ids))
        tris = lookup[tris]
        in_opening = np.isin(ids[tris], topo.contour).all(axis=1)
        tris = np.concatenate([tris[in_opening], tris[~in_opening]]).astype(np.int32)
        # Lid margins push outwards: up (against the eye's y axis) for the upper lid, down for
        # the lower; corners stay (they are where the lids meet).
        axis = (pts[topo.corners[1]] - pts[topo.corners[0]]) / max(width, 1e-9)
        down = np.array([-axis[1], axis[0]])
        normals = np.zeros((len(ids), 2))
        normals[np.isin(ids, topo.upper)] = -down
        normals[np.isin(ids, topo.lower)] = down
        first = ~np.isin(ids[tris], topo.outer_ring).any(axis=1)
        closed_origin, closed_delta = closed_lid(photo, pts, topo, width, pts[ids][tris],
                                                  first, params=p)
        return _EyeModel(topo=topo, rest=pts, contour=contour,
                         area=polygon_area(contour), width=width, centre=centre.copy(),
                         eyeball=eyeball, eyeball_origin=lo.astype(np.float64),
                         iris=iris, iris_origin=o.astype(np.float64),
                         patch_ids=ids, patch_rest=pts[ids], patch_tris=tris,
                         patch_normals=normals,
                         lash_colour=self._lash_colour(photo, pts, topo, width),
                         closed_origin=closed_origin, closed_delta=closed_delta)

    @staticmethod
    def _lash_colour(photo, pts, topo: EyeTopology, width: float) -> np.ndarray:
        """Mean colour of the darkest fifth of the pixels along the upper lid margin (up
        to 0.06 eye widths above it): the photo's own lash line."""
        lid = pts[np.r_[topo.corners[0], topo.upper, topo.corners[1]]]
        dense = np.concatenate([np.linspace(lid[k], lid[k + 1], 6, endpoint=False)
                                for k in range(len(lid) - 1)])
        axis = (lid[-1] - lid[0]) / max(width, 1e-9)
        up = np.array([axis[1], -axis[0]])
        samples = np.concatenate([dense + (f * width) * up for f in np.linspace(0, 0.06, 4)])
        h, w = photo.shape[:2]
        xy = np.round(samples).astype(int)
        xy = xy[(xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h)]
        if len(xy) == 0:
            return np.array([40.0, 30.0, 25.0], np.float32)
        rgb = photo[xy[:, 1], xy[:, 0]].astype(np.float32)
        luma = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
        dark = rgb[luma <= np.quantile(luma, 0.2)]
        return dark.mean(axis=0).astype(np.float32)

    def apply(self, frame: np.ndarray, points_now: np.ndarray, gaze, *,
              source: np.ndarray | None = None) -> None:
        """Paint both eyes of ``frame`` (H, W, 3) uint8 in place.

        Parameters
        ----------
        frame : the warped frame, at the photo's size.
        points_now : (478, 2) or (468, 2) where the photo's landmarks are in ``frame``
            (rest + offsets). Only the mesh points (eye contours and corners) are read: the
            iris is placed from the corners, so a lid sliding down does not drag it along.
        gaze : (2,) eye widths along the eye's axes (+x image right, +y down).
        source : the image the warp sampled, when not the photo itself (the photo shaded by
            the detail stage): the redrawn lids sample it too. (H, W, 3) uint8.
        """
        if points_now.shape != (lm.N_LANDMARKS, 2) and points_now.shape != (lm.N_MESH, 2):
            raise ValueError(f"`points_now` must be ({lm.N_LANDMARKS}, 2); got "
                             f"{points_now.shape}")
        gaze = np.asarray(gaze, np.float64)
        if gaze.shape != (2,):
            raise ValueError(f"`gaze` must be (2,); got {gaze.shape}")
        if source is None:
            source = self.photo
        elif source.shape != self.photo.shape or source.dtype != np.uint8:
            raise ValueError(f"`source` must be {self.photo.shape} uint8 like the photo; got "
                             f"{source.shape} {source.dtype}")
        for eye in self.eyes:
            self._apply_eye(frame, points_now, gaze, eye, source)

    def _apply_eye(self, frame, points_now, gaze, eye: _EyeModel, source) -> None:
        p = self.params
        topo = eye.topo
        a, b = topo.corners
        now = points_now[topo.contour].astype(np.float64)
        ca_rest, ca_now = eye.rest[a], points_now[a].astype(np.float64)
        z = eye_linear(eye.rest, points_now, topo.corners)
        zr = np.array([[z.real, -z.imag], [z.imag, z.real]])
        expected = (eye.contour - ca_rest) @ zr.T + ca_now
        deviation = float(np.abs(now - expected).max())
        # Corners are (image-left, image-right): the eye's x axis is the line through them.
        v = points_now[b].astype(np.float64) - ca_now
        x_axis = v / max(float(np.hypot(*v)), 1e-9)
        y_axis = np.array([-x_axis[1], x_axis[0]])
        width_now = abs(z) * eye.width
        shift = (gaze[0] * x_axis + gaze[1] * y_axis) * width_now
        tol = p.rest_tolerance_px
        change = max(deviation, float(np.hypot(*shift)))
        strength = min(max((change - tol) / tol, 0.0), 1.0)
        if strength <= 0.0:
            return
        open_frac = polygon_area(now) / max(eye.area * abs(z) ** 2, 1e-9)
        redraw = open_frac < p.redraw_area_frac
        if redraw:
            closing = min(1.0, (p.redraw_area_frac - open_frac)
                          / max(p.redraw_area_frac - p.closed_area_frac, 1e-9))
            skin = float(smoothstep((p.lid_skin_area_frac - open_frac)
                                     / max(p.lid_skin_area_frac - p.closed_area_frac, 1e-9)))
            self._redraw_lids(frame, points_now, eye, closing, source, skin)
        if open_frac >= p.closed_area_frac:
            self._paint_opening(frame, now, zr, ca_rest, ca_now, shift, strength, eye)
        if redraw:
            self._soften_margin(frame, now)
        if open_frac < p.seam_area_frac:
            seam = min(1.0, (p.seam_area_frac - open_frac) / max(p.seam_area_frac
                                                                 - p.closed_area_frac, 1e-9))
            self._draw_lash_line(frame, points_now, eye, seam * strength)

    def _paint_opening(self, frame, now, zr, ca_rest, ca_now, shift, strength,
                       eye: _EyeModel) -> None:
        """Eyeball and shifted iris inside the current opening ``now`` (16, 2)."""
        p = self.params
        h, w = frame.shape[:2]
        x0, y0 = np.maximum(np.floor(now.min(axis=0)).astype(int) - 1, 0)
        x1, y1 = np.minimum(np.ceil(now.max(axis=0)).astype(int) + 2, (w, h))
        if x1 - x0 < 2 or y1 - y0 < 2:
            return
        mask = fill_polygon((y1 - y0, x1 - x0), now, (x0, y0))
        if p.opening_erode_px > 0:
            mask = cv2.erode(mask, _KERNEL3, iterations=p.opening_erode_px)
        if not mask.any():
            return
        # Frame pixel q -> photo: ca_rest + z^-1 (q - ca_now); the iris sits ``shift`` on.
        inv = np.array([[zr[0, 0], zr[1, 0]], [zr[0, 1], zr[1, 1]]]) / max(
            zr[0, 0] ** 2 + zr[1, 0] ** 2, 1e-12)
        t = ca_rest - inv @ ca_now
        m_ball = np.hstack([inv, (t - eye.eyeball_origin)[:, None]])
        m_iris = np.hstack([inv, (t - inv @ shift - eye.iris_origin)[:, None]])
        composite_eye(frame, int(x0), int(y0), mask, float(strength), eye.eyeball, m_ball,
                       eye.iris, m_iris)

    def _redraw_lids(self, frame, points_now, eye: _EyeModel, closing: float,
                     source: np.ndarray, skin: float = 0.0) -> None:
        """Render the lid patch (opening, lids, the skin around them) again, piecewise-affine
        from the photo with the warp's own triangles, exactly where ``points_now`` puts them.

        Where the lids nearly meet, the opening's triangles are squashed flat; a dense field
        sampled per pixel smears them over a few pixels and its inverse mapping may land in
        them, so a band of the hidden eye shows along the closed lid. Rasterizing the
        triangles directly has no such band: squashed triangles cover no pixel. As the eye
        closes (``closing`` 0 -> 1) the lid margins are read up to ``lid_margin_frac`` eye
        widths outside the photo's opening, so the closed seam shows lashes and lid, never a
        thread of the eye that the contour's own pixels still hold.
        """
        now = points_now[eye.patch_ids].astype(np.float64)
        tris = eye.patch_tris
        d = now[tris]                                                  # (T, 3, 2)
        e1, e2 = d[:, 1] - d[:, 0], d[:, 2] - d[:, 0]
        area2 = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
        live = np.abs(area2) > 0.5  # squashed flat: covers no pixel, has no inverse
        # Per triangle, the affine frame pixel q -> photo: s0 + S D^-1 (q - d0), with D and
        # S the edge vectors from corner 0 now and in the photo (closed form: np.linalg
        # costs more than the whole redraw on small batches).
        src = eye.patch_source(closing * self.params.lid_margin_frac)[tris]
        det = np.where(live, area2, 1.0)
        inv = np.empty((len(tris), 2, 2))
        inv[:, 0, 0], inv[:, 0, 1] = e2[:, 1], -e2[:, 0]
        inv[:, 1, 0], inv[:, 1, 1] = -e1[:, 1], e1[:, 0]
        inv /= det[:, None, None]
        f = np.stack([src[:, 1] - src[:, 0], src[:, 2] - src[:, 0]], axis=2)
        lin = f @ inv                                                  # (T, 2, 2)
        off = src[:, 0] - (lin @ d[:, 0, :, None])[..., 0]
        if skin > 0.0:
            # Sample the closed lid instead, ``skin`` of the way: the source's region plus
            # the closed lid's delta (the source may be the photo shaded by the details).
            (x0, y0), dh = eye.closed_origin, eye.closed_delta
            roi = source[y0:y0 + dh.shape[0], x0:x0 + dh.shape[1]].astype(np.float32)
            roi += skin * dh
            source = np.clip(roi + 0.5, 0, 255).astype(np.uint8)
            off = off - eye.closed_origin
        raster_triangles(source, d, lin, off, live, frame)

    def _soften_margin(self, frame, now) -> None:
        """Anti-alias the lid margins after a redraw: it gives each pixel to one triangle,
        so where the content jumps (lid against opening, upper lid against lower when
        closed) the margin comes out stair-stepped. A 3x3 blur on a two-pixel band along
        the opening's outline smooths the steps."""
        h, w = frame.shape[:2]
        x0, y0 = np.maximum(np.floor(now.min(axis=0)).astype(int) - 3, 0)
        x1, y1 = np.minimum(np.ceil(now.max(axis=0)).astype(int) + 4, (w, h))
        if x1 - x0 < 3 or y1 - y0 < 3:
            return
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.polylines(mask, [np.round((now - (x0, y0)) * (1 << SUBPIXEL_BITS)).astype(
            np.int32)], True, 255, thickness=2, lineType=cv2.LINE_AA, shift=SUBPIXEL_BITS)
        blur_under_mask(frame, int(x0), int(y0), mask, frame[y0:y1, x0:x1].copy())

    def _draw_lash_line(self, frame, points_now, eye: _EyeModel, weight) -> None:
        """A closed eye is a dark line where the lashes meet. The redrawn lids bring the
        photo's lash line down, but a painting without lashes (or a thin one) leaves only a
        faint seam, stair-stepped where each pixel belongs to one triangle; this draws the
        photo's own lash colour along the upper lid, ``lash_line_frac`` eye widths thick
        (at least ``lash_line_min_px``), anti-aliased, tapering off towards the corners."""
        p = self.params
        topo = eye.topo
        if weight <= 0.0:
            return
        poly = points_now[np.r_[topo.corners[0], topo.upper, topo.corners[1]]].astype(
            np.float64)
        a, b = poly[0], poly[-1]
        width_now = float(np.hypot(*(b - a)))
        thick = max(p.lash_line_min_px, p.lash_line_frac * width_now)
        t_px = max(1, int(round(thick)))
        shadow_px = p.lid_shadow_w * width_now
        h, w = frame.shape[:2]
        pad = int(np.ceil(max(t_px, shadow_px))) + 2
        x0, y0 = np.maximum(np.floor(poly.min(axis=0)).astype(int) - pad, 0)
        x1, y1 = np.minimum(np.ceil(poly.max(axis=0)).astype(int) + pad + 1, (w, h))
        if x1 - x0 < 3 or y1 - y0 < 3:
            return
        centre, axis = 0.5 * (a + b), (b - a) / max(width_now, 1e-9)
        if p.lid_shadow_opacity > 0.0 and shadow_px >= 1.0:
            # The lid's underside curves away from the light into the lashes: a soft shadow
            # just above the lash line, fading upwards over ``lid_shadow_w`` eye widths. A
            # closed lid lit evenly down to the lashes reads as the white of an open eye.
            local = (poly - (x0, y0)) * (1 << SUBPIXEL_BITS)
            line = np.full((y1 - y0, x1 - x0), 255, np.uint8)
            cv2.polylines(line, [np.round(local).astype(np.int32)], False, 0, thickness=1,
                          lineType=cv2.LINE_8, shift=SUBPIXEL_BITS)
            dist = cv2.distanceTransform(line, cv2.DIST_L2, 3)
            up = np.array([axis[1], -axis[0]]) * (2.0 * shadow_px) * (1 << SUBPIXEL_BITS)
            above = np.zeros_like(line)
            cv2.fillPoly(above, [np.round(np.concatenate([local, local[::-1] + up])).astype(
                np.int32)], 1, cv2.LINE_8, SUBPIXEL_BITS)
            ramp = np.clip(1.0 - dist / shadow_px, 0.0, 1.0) ** 2 * above
            paint_under_mask(frame, int(x0), int(y0), (ramp * 255.0 + 0.5).astype(np.uint8),
                              eye.lash_colour.astype(np.float64),
                              weight * p.lid_shadow_opacity, centre, axis, width_now)
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.polylines(mask, [np.round((poly - (x0, y0)) * (1 << SUBPIXEL_BITS)).astype(
            np.int32)], False, 255, thickness=t_px, lineType=cv2.LINE_AA,
            shift=SUBPIXEL_BITS)
        # Taper: full over the middle of the eye, none at the corners.
        paint_under_mask(frame, int(x0), int(y0), mask, eye.lash_colour.astype(np.float64),
                          weight * p.lash_opacity * min(1.0, thick / t_px),
                          centre, axis, width_now)
