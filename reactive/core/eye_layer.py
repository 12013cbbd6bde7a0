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
from reactive.core.blur import edge_sigma, soften_sigma
from reactive.core.closed_lid import closed_lid
from reactive.core.eyeball import eyeball_and_iris
from reactive.core.geometry import (
    SUBPIXEL_BITS,
    fill_polygon,
    lid_arc,
    polygon_area,
    smoothstep,
    triangle_affines,
    triangulate,
)
from reactive.core.kernels.eyes import (
    blur_under_mask,
    composite_eye,
    lash_mask,
    paint_under_mask,
    raster_triangles,
    raster_triangles_over,
)
from reactive.core.gaze import iris_shift_scale
from reactive.core.landmarks import EYES, EyeTopology
from reactive.core.lids import close_lids, eye_linear, folded_over_eyes
from reactive.params import EyeParams

log = logging.getLogger(__name__)

_KERNEL3 = np.ones((3, 3), np.uint8)


@dataclass
class _EyeModel:
    """One eye of the photo, made once: rest shape, eyeball and iris images."""

    topo: EyeTopology
    rest: np.ndarray          # (478, 2) float64 photo landmarks (all, for the corners)
    contour: np.ndarray       # (16, 2) float64 rest opening
    area: float               # rest opening area, px^2
    width: float              # rest corner distance, px
    centre: np.ndarray        # (2,) iris centre in the photo
    radius: float             # iris radius, px (where the photo shows its edge)
    eyeball: np.ndarray       # (h, w, 3) uint8, the eye region with the iris filled in
    eyeball_origin: np.ndarray  # (2,) photo pixel of eyeball[0, 0]
    iris: np.ndarray          # (s, s, 4) float32 premultiplied RGB + alpha (0..1), soft edge
    iris_origin: np.ndarray   # (2,)
    patch_ids: np.ndarray     # (V,) mesh points of the lid patch
    patch_rest: np.ndarray    # (V, 2) float64 their photo positions
    patch_tris: np.ndarray    # (T, 3) int into patch_ids; opening triangles first
    n_opening: int            # how many: the eyeball is painted through them
    patch_normals: np.ndarray  # (V, 2) unit, away from the opening for lid points, else 0
    lash_colour: np.ndarray   # (3,) float32 RGB, the darkest of the upper lid margin
    cover_ids: np.ndarray     # (V', 2) mesh points of the closed lid's triangles: the patch
    cover_tris: np.ndarray    # (T', 3) int into cover_ids  ... and the ring around it
    cover_closed: np.ndarray  # (V', 2) float64 their positions with the lids closed at rest
    cover_source: np.ndarray  # (V', 2) float64 and where a closed eye samples them in the photo
    closed_origin: np.ndarray  # (2,) int, photo pixel (x, y) of closed_rgba[0, 0]
    closed_rgba: np.ndarray   # (h, w, 4) float32 premultiplied, the closed lid (closed_lid.py)
    closed_texture: np.ndarray  # (h, w, 3) float32, its skin texture, laid on unstretched
    closed_corners: np.ndarray  # (2, 2) float64 the eye's corners in the layer's pixels
    # A drawn eye larger than the contour (eyeball.drawn_opening): its opening's vertices,
    # each carried by the lid patch triangle it lies in (index into patch_tris, barycentric
    # weights), as the warp carries the drawn lid line; n_drawn points per lid. Empty when
    # the image shows no larger opening.
    drawn_tri: np.ndarray     # (K,) int
    drawn_bary: np.ndarray    # (K, 3) float64
    n_drawn: int
    # True when corners[0] is the inner (nasal) corner: a closed eye's lash line is thin there.
    inner_first: bool = True
    # How soft the photo's own edges are around the eye (Gaussian sigma, px): the drawn lash
    # line is made as soft.
    edge_sigma: float = 0.0
    # Mean luma of the white the eyeball shows at rest (iris in place, the rest opening),
    # as composite_eye reads it; 0.0 until measured (no limit).
    white_rest: float = 0.0

    def drawn_now(self, points_now: np.ndarray) -> np.ndarray | None:
        """The drawn opening where ``points_now`` puts the lid patch: (K, 2) float64 (upper
        lid from the image-left corner, then the lower lid back), or None."""
        if len(self.drawn_tri) == 0:
            return None
        corners = points_now[self.patch_ids].astype(np.float64)[
            self.patch_tris[self.drawn_tri]]                          # (K, 3, 2)
        return np.einsum("kj,kjc->kc", self.drawn_bary, corners)

    def drawn_lids(self, loop: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Corners (2, 2), upper and lower lid margins (n - 2, 2) of a drawn opening
        ``loop`` (K, 2), as ``EyeTopology`` orders them."""
        n = self.n_drawn
        upper = loop[:n]
        lower = np.vstack([loop[0], loop[n:][::-1], loop[n - 1]])
        return np.stack([upper[0], upper[-1]]), upper[1:-1], lower[1:-1]

    def patch_source(self, margin_frac: float) -> np.ndarray:
        """Photo positions the lid patch samples: lid points moved ``margin_frac`` eye
        widths away from the opening. (V, 2) float64."""
        return self.patch_rest + (margin_frac * self.width) * self.patch_normals


@dataclass
class _Look:
    """One eye in one frame: its opening, its corners' similarity from the photo, the
    iris's wanted shift and how much of it the opening allows."""

    now: np.ndarray         # (16, 2) the opening now
    z: complex              # rotation and scale photo -> frame, from the corners
    zr: np.ndarray          # (2, 2) the same as a matrix
    ca_rest: np.ndarray     # (2,) image-left corner in the photo ...
    ca_now: np.ndarray      # ... and in the frame
    shift: np.ndarray       # (2,) px, the gaze's iris shift
    deviation: float        # px, the opening's change of shape beyond the similarity
    open_frac: float        # opening area over the rest area (scaled)
    scale: float            # of ``shift``, that the opening allows (1: all of it)
    weight: float           # how much the eye's own limit counts for both (0 closing)
    drawn: np.ndarray | None  # (K, 2) the drawn opening now (``_EyeModel.drawn_now``)
    drawn_weight: float     # how much of it is painted (0 as the eye closes)


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
        self._tex_affine = np.zeros((2, 3))
        # Both eyes closed at rest: where the closed lid is made.
        off = np.zeros((lm.N_MESH, 2), np.float32)
        close_lids(off, pts[:lm.N_MESH].astype(np.float32), np.ones(2), params=params)
        closed = pts[:lm.N_MESH] + off
        self.eyes = [self._model(photo, pts, closed, topo) for topo in EYES]
        # The white in view at rest, read as the eyeball is painted (on a scratch copy): an
        # iris moved over a darker corner leaves a brighter middle in view, a drawn white
        # graded from dark corners to a bright middle (s7's) then glares; the white is
        # kept within white_brighten_max of this.
        scratch = photo.copy()
        for eye in self.eyes:
            look = self._look(pts, np.zeros(2), eye)
            eye.white_rest = self._paint_opening(scratch, pts, look, np.zeros(2), 1.0, eye,
                                                 white_limit=0.0)

    def _model(self, photo: np.ndarray, pts: np.ndarray, closed: np.ndarray,
               topo: EyeTopology) -> _EyeModel:
        p = self.params
        contour = pts[topo.contour]
        width = float(np.linalg.norm(pts[topo.corners[1]] - pts[topo.corners[0]]))
        eye = eyeball_and_iris(photo, pts, topo, feather_px=p.iris_feather_px,
                               opening_mask=lambda shape, lo: fill_polygon(shape, contour, lo),
                               params=p)
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
        n_opening = int(in_opening.sum())
        # Lid margins push outwards: up (against the eye's y axis) for the upper lid, down for
        # the lower; corners stay (they are where the lids meet).
        axis = (pts[topo.corners[1]] - pts[topo.corners[0]]) / max(width, 1e-9)
        down = np.array([-axis[1], axis[0]])
        normals = np.zeros((len(ids), 2))
        normals[np.isin(ids, topo.upper)] = -down
        normals[np.isin(ids, topo.lower)] = down
        # The closed lid covers the patch and the ring of triangles around it: closing
        # stretches the skin between the lid and the brow, beyond the patch too.
        around = np.isin(self._delaunay, ids).any(axis=1) & ~np.isin(self._delaunay,
                                                                      ids).all(axis=1)
        cover = np.concatenate([ids[tris], self._delaunay[around]])
        cover_ids, cover_tris = np.unique(cover, return_inverse=True)
        cover_tris = cover_tris.reshape(-1, 3).astype(np.int32)
        source = pts[cover_ids].copy()
        at = np.searchsorted(cover_ids, ids)
        source[at] += (p.lid_margin_frac * width) * normals
        first = np.r_[~np.isin(ids[tris], topo.outer_ring).any(axis=1),
                      np.zeros(int(around.sum()), bool)]
        closed_origin, closed_rgba, closed_texture = closed_lid(
            photo, pts, closed, topo, width, cover, source[cover_tris], first, params=p)
        # Only the triangles the closed lid covers at all are laid over per frame.
        alpha = closed_rgba[..., 3]
        used = np.zeros(len(cover_tris), bool)
        for k, t in enumerate(closed[cover_ids][cover_tris] - closed_origin):
            m = np.zeros(alpha.shape, np.uint8)
            cv2.fillConvexPoly(m, np.round(t * 16).astype(np.int32), 1, cv2.LINE_8, 4)
            used[k] = bool((alpha[cv2.dilate(m, _KERNEL3) > 0] > 0).any())
        cover_tris = cover_tris[used]
        drawn_tri, drawn_bary = self._carry(eye["drawn"], pts[ids][tris])
        return _EyeModel(topo=topo, rest=pts, contour=contour,
                         area=polygon_area(contour), width=width, centre=eye["centre"],
                         radius=eye["radius"], eyeball=eye["eyeball"],
                         eyeball_origin=eye["eyeball_origin"], iris=eye["iris"],
                         iris_origin=eye["iris_origin"],
                         patch_ids=ids, patch_rest=pts[ids], patch_tris=tris,
                         n_opening=n_opening,
                         patch_normals=normals,
                         lash_colour=self._lash_colour(photo, pts, topo, width),
                         cover_ids=cover_ids, cover_tris=cover_tris,
                         cover_closed=closed[cover_ids], cover_source=source,
                         closed_origin=closed_origin,
                         closed_rgba=closed_rgba, closed_texture=closed_texture,
                         closed_corners=closed[list(topo.corners)] - closed_origin,
                         drawn_tri=drawn_tri, drawn_bary=drawn_bary,
                         n_drawn=0 if eye["drawn"] is None else (len(eye["drawn"]) + 2) // 2,
                         inner_first=self._inner_first(pts, topo),
                         edge_sigma=edge_sigma(photo, contour, width))

    @staticmethod
    def _carry(points, tris: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each of ``points`` (K, 2) (or None), the triangle of ``tris`` (T, 3, 2) it
        lies in (least outside of, beyond them all) and its barycentric weights there.
        Returns (K,) int and (K, 3) float64 (empty when ``points`` is None)."""
        if points is None:
            return np.zeros(0, np.int64), np.zeros((0, 3))
        a, b, c = tris[:, 0], tris[:, 1], tris[:, 2]
        area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
        area = np.where(np.abs(area) < 1e-9, np.nan, area)
        x, y = points[:, None, 0], points[:, None, 1]
        wa = ((b[:, 0] - x) * (c[:, 1] - y) - (b[:, 1] - y) * (c[:, 0] - x)) / area
        wb = ((c[:, 0] - x) * (a[:, 1] - y) - (c[:, 1] - y) * (a[:, 0] - x)) / area
        bary = np.stack([wa, wb, 1.0 - wa - wb], axis=-1)             # (K, T, 3)
        low = np.nan_to_num(bary.min(axis=-1), nan=-np.inf)
        best = low.argmax(axis=1)
        return best, bary[np.arange(len(points)), best]

    @staticmethod
    def _inner_first(pts, topo: EyeTopology) -> bool:
        """Whether ``topo.corners[0]`` is the inner corner: the one nearer the other eye."""
        other = pts[next(e for e in EYES if e is not topo).contour].mean(axis=0)
        return bool(np.linalg.norm(pts[topo.corners[0]] - other)
                    <= np.linalg.norm(pts[topo.corners[1]] - other))

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
        looks, scale = self._looks(points_now, gaze)
        for eye, look in zip(self.eyes, looks):
            self._apply_eye(frame, points_now, look, scale, eye, source)

    def irises(self, points_now: np.ndarray, gaze) -> np.ndarray:
        """Where ``apply`` paints the irises for these arguments: (2, 3) float64, per eye
        (subject's left, right as ``landmarks.EYES``) the centre x, y and the radius, px."""
        gaze = np.asarray(gaze, np.float64)
        looks, scale = self._looks(points_now, gaze)
        out = np.empty((len(self.eyes), 3))
        for k, (eye, look) in enumerate(zip(self.eyes, looks)):
            centre = look.ca_now + look.zr @ (eye.centre - look.ca_rest) + scale * look.shift
            out[k] = (centre[0], centre[1], abs(look.z) * eye.radius)
        return out

    def openings(self, points_now: np.ndarray) -> list[tuple[np.ndarray, np.ndarray,
                                                            np.ndarray]]:
        """The opening each eye (subject's left, right as ``landmarks.EYES``) shows at
        ``points_now``: the drawn one where the image showed a drawn eye larger than the
        contour (``eyeball.drawn_opening``), else the contour. Per eye corners (2, 2), upper
        and lower lid margins (n, 2) from the image-left corner, float64."""
        pts = np.asarray(points_now, np.float64)
        out = []
        for eye in self.eyes:
            drawn = eye.drawn_now(points_now)
            if drawn is not None:
                out.append(eye.drawn_lids(drawn))
            else:
                topo = eye.topo
                out.append((pts[list(topo.corners)], pts[topo.upper], pts[topo.lower]))
        return out

    def _looks(self, points_now, gaze) -> tuple[list["_Look"], float]:
        looks = [self._look(points_now, gaze, eye) for eye in self.eyes]
        # Both eyes turn together: the gaze goes as far as the tighter opening lets its iris
        # (an eye closing in a blink or a wink counts less, by how closed it is).
        scale = min(lk.scale * lk.weight + (1.0 - lk.weight) for lk in looks)
        return looks, scale

    def _look(self, points_now, gaze, eye: _EyeModel) -> "_Look":
        """Where the eye is in the frame and how far its iris may follow ``gaze``."""
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
        open_frac = polygon_area(now) / max(eye.area * abs(z) ** 2, 1e-9)
        scale, weight = 1.0, 0.0
        drawn = eye.drawn_now(points_now)
        drawn_weight = 0.0 if drawn is None else float(smoothstep(
            (open_frac - p.lid_skin_area_frac) / max(p.drawn_area_frac - p.lid_skin_area_frac,
                                                     1e-9)))
        if np.hypot(*shift) > 1e-3 and open_frac >= p.closed_area_frac:
            centre = ca_now + zr @ (eye.centre - ca_rest)
            if drawn_weight > 0.0:   # a drawn eye: its iris moves within the drawn opening
                corners, upper, lower = eye.drawn_lids(drawn)
            else:
                corners = points_now[[a, b]].astype(np.float64)
                upper = points_now[topo.upper].astype(np.float64)
                lower = points_now[topo.lower].astype(np.float64)
            scale = iris_shift_scale(centre, shift, abs(z) * eye.radius, corners, upper,
                                     lower, params=p)
            weight = float(smoothstep((open_frac - p.lid_skin_area_frac)
                                      / max(p.redraw_area_frac - p.lid_skin_area_frac, 1e-9)))
        return _Look(now=now, z=z, zr=zr, ca_rest=ca_rest, ca_now=ca_now, shift=shift,
                     deviation=deviation, open_frac=open_frac, scale=scale, weight=weight,
                     drawn=drawn, drawn_weight=drawn_weight)

    def _apply_eye(self, frame, points_now, look: "_Look", scale: float, eye: _EyeModel,
                   source) -> None:
        p = self.params
        shift = scale * look.shift
        tol = p.rest_tolerance_px
        change = max(look.deviation, float(np.hypot(*shift)))
        strength = min(max((change - tol) / tol, 0.0), 1.0)
        if strength <= 0.0:
            return
        open_frac = look.open_frac
        redraw = open_frac < p.redraw_area_frac
        if redraw:
            closing = min(1.0, (p.redraw_area_frac - open_frac)
                          / max(p.redraw_area_frac - p.closed_area_frac, 1e-9))
            skin = float(smoothstep((p.lid_skin_area_frac - open_frac)
                                     / max(p.lid_skin_area_frac - p.closed_area_frac, 1e-9)))
            self._redraw_lids(frame, points_now, eye, closing, source, skin)
        if open_frac >= p.closed_area_frac:
            self._paint_opening(frame, points_now, look, shift, strength, eye)
        if redraw:
            self._soften_margin(frame, look.now)
        if open_frac < p.seam_area_frac:
            seam = min(1.0, (p.seam_area_frac - open_frac) / max(p.seam_area_frac
                                                                 - p.closed_area_frac, 1e-9))
            self._draw_lash_line(frame, points_now, eye, seam * strength)

    def _paint_opening(self, frame, points_now, look: "_Look", shift, strength,
                       eye: _EyeModel, white_limit: float | None = None) -> float:
        """Eyeball (through the opening's triangles) and the shifted iris (carried by the
        eye's corners) inside the current opening; the white in view no brighter than
        ``white_limit`` (mean luma; default: the rest white's plus white_brighten_max, 0:
        no limit). Returns the white's mean luma before that limit (0.0: none in view)."""
        p = self.params
        if white_limit is None:
            white_limit = eye.white_rest * (1.0 + p.white_brighten_max)
        now = look.now
        drawn = look.drawn if look.drawn_weight > 0.0 else None
        span = now if drawn is None else np.vstack([now, drawn])
        h, w = frame.shape[:2]
        x0, y0 = np.maximum(np.floor(span.min(axis=0)).astype(int) - 1, 0)
        x1, y1 = np.minimum(np.ceil(span.max(axis=0)).astype(int) + 2, (w, h))
        if x1 - x0 < 2 or y1 - y0 < 2:
            return 0.0
        mask = fill_polygon((y1 - y0, x1 - x0), now, (x0, y0))
        if p.opening_erode_px > 0:
            mask = cv2.erode(mask, _KERNEL3, iterations=p.opening_erode_px)
        tris = eye.patch_tris[:eye.n_opening]
        if drawn is not None:
            # The drawn eye around the contour too, sampled through the lid patch's own
            # triangles (where the warp put it), fading out as the eye closes.
            ring = fill_polygon((y1 - y0, x1 - x0), drawn, (x0, y0))
            if p.opening_erode_px > 0:
                ring = cv2.erode(ring, _KERNEL3, iterations=p.opening_erode_px)
            mask = np.maximum(mask, (ring * look.drawn_weight + 0.5).astype(np.uint8))
            tris = eye.patch_tris
        if not mask.any():
            return 0.0
        # The white whose brightness is held: the opening less its edge band (the lash line
        # and the lids' shadow, which the lids carry whatever the iris does) and less the
        # iris with its limbus (the ring where the iris's soft edge darkens the white).
        corners = (points_now[list(eye.topo.corners)].astype(np.float64) if drawn is None
                   else eye.drawn_lids(drawn)[0])
        white = cv2.erode(mask, _KERNEL3, iterations=max(
            1, int(round(p.white_edge_w * float(np.hypot(*(corners[1] - corners[0])))))),
            borderType=cv2.BORDER_CONSTANT, borderValue=0)
        centre = look.ca_now + look.zr @ (eye.centre - look.ca_rest) + shift
        radius = abs(look.z) * eye.radius
        cv2.circle(white, (int(round((centre[0] - x0) * 16)), int(round((centre[1] - y0) * 16))),
                   int(round((radius + max(1.5, p.white_limbus_frac * radius)) * 16)), 0, -1,
                   cv2.LINE_8, 4)
        d = points_now[eye.patch_ids].astype(np.float64)[tris]
        lin, off, live = triangle_affines(d, eye.patch_rest[tris] - eye.eyeball_origin)
        # Frame pixel q -> photo: ca_rest + z^-1 (q - ca_now); the iris sits ``shift`` on.
        zr = look.zr
        inv = np.array([[zr[0, 0], zr[1, 0]], [zr[0, 1], zr[1, 1]]]) / max(
            zr[0, 0] ** 2 + zr[1, 0] ** 2, 1e-12)
        t = look.ca_rest - inv @ look.ca_now
        m_iris = np.hstack([inv, (t - inv @ shift - eye.iris_origin)[:, None]])
        return composite_eye(frame, int(x0), int(y0), mask, float(strength), eye.eyeball, d,
                             lin, off, live, eye.iris, m_iris, white, float(white_limit))

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
        src = eye.patch_source(closing * self.params.lid_margin_frac)[tris]
        lin, off, live = triangle_affines(d, src)
        raster_triangles(source, d, lin, off, live, frame)
        if skin > 0.0:
            # The closed lid over it, ``skin`` of the way, carried from the closed rest by
            # the same triangles (not stretched: it was made closed), shaded as the source
            # is shaded where each pixel came from in the photo.
            d = points_now[eye.cover_ids].astype(np.float64)[eye.cover_tris]
            lin, off, live = triangle_affines(
                d, eye.cover_closed[eye.cover_tris] - eye.closed_origin)
            lin_s, off_s, _ = triangle_affines(d, eye.cover_source[eye.cover_tris])
            raster_triangles_over(eye.closed_rgba, d, lin, off, live, frame, skin, self.photo,
                                  source, lin_s, off_s, source is not self.photo,
                                  eye.closed_texture, self._texture_affine(points_now, eye))

    def _texture_affine(self, points_now, eye: _EyeModel) -> np.ndarray:
        """(2, 3): frame pixel -> closed lid layer pixel by the similarity that takes the
        eye's corners now to their closed rest: the lid's texture goes with the eye, neither
        stretched nor squashed with the lid's band."""
        a, b = eye.topo.corners
        (qx0, qy0), (qx1, qy1) = eye.closed_corners
        px0, py0 = float(points_now[a, 0]), float(points_now[a, 1])
        dp = complex(float(points_now[b, 0]) - px0, float(points_now[b, 1]) - py0)
        z = complex(qx1 - qx0, qy1 - qy0) / dp if abs(dp) > 1e-9 else 1.0 + 0.0j
        m = self._tex_affine
        m[0, 0], m[0, 1], m[1, 0], m[1, 1] = z.real, -z.imag, z.imag, z.real
        m[0, 2] = qx0 - (z.real * px0 - z.imag * py0)
        m[1, 2] = qy0 - (z.imag * px0 + z.real * py0)
        return m

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
        t_px = int(np.ceil(thick * (1.0 + p.lash_fringe)))
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
        mask = lash_line_mask(poly - (x0, y0), (y1 - y0, x1 - x0), thick,
                              inner_first=eye.inner_first, params=p)
        # As soft as the photo's own edges there (a blurred or scanned photo, a small face):
        # a line sharper than everything round it reads as drawn on.
        soften = soften_sigma(eye.edge_sigma, p.lash_own_sigma, 0.1 * width_now)
        if soften > 0.0:
            cv2.GaussianBlur(mask, (0, 0), soften, dst=mask)
        # The mask tapers the line itself: the kernel's corner taper is switched off (a width
        # far beyond the eye's).
        paint_under_mask(frame, int(x0), int(y0), mask, eye.lash_colour.astype(np.float64),
                          weight * p.lash_opacity, centre, axis, 1e6)


def lash_line_mask(lid: np.ndarray, shape: tuple[int, int], thick: float, *,
                   inner_first: bool, params: EyeParams = EyeParams()) -> np.ndarray:
    """Where a closed eye's lash line darkens, as coverage 0..255.

    A closed eye's lashes meet in a band that is a thread at the inner corner, thickest
    past the middle towards the outer corner (``lash_taper_peak`` of the way) and thinning
    again at the outer one, with the lashes hanging below it as a soft fringe
    (``lash_fringe`` of the thickness): a band of one thickness with cut ends reads as a
    stroke drawn on the lid. The band follows a parabola through the corners fitted to the
    lid: the closed lid's points zigzag by a pixel, which a thin band shows as a wavy line.

    Parameters
    ----------
    lid : (K, 2) float64 the upper lid, corner to corner (image-left first), in mask pixels.
    shape : (h, w) of the mask.
    thick : the band's thickness where thickest, px.
    inner_first : whether ``lid[0]`` is the inner (nasal) corner.

    Returns
    -------
    (h, w) uint8.
    """
    a, axis, normal, span, bend = lid_arc(lid)
    k = np.log(0.5) / np.log(min(max(params.lash_taper_peak, 0.05), 0.95))
    mask = np.empty(shape, np.uint8)
    lash_mask(mask, a, axis, normal, span, bend, float(thick), float(params.lash_fringe),
              float(k), bool(inner_first))
    return mask
