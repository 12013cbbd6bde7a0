"""The rig: everything about one photo and its clips that does not change per frame (Sec. 4).

Built once from the target photo's landmarks and clip packs (``build_rig``), then never
changed (a frozen dataclass over read-only arrays; per-frame inputs are arguments):

- ``phi`` per clip: least-squares similarity t* <- s* from eye-region and nose-tip landmarks.
- Control points (rest positions in the photo): the 468 face-mesh points, the clips'
  peripheral points hallucinated through ``phi``, and fixed points on the image border.
- Triangulation (Delaunay on the photo's rest positions, so it is valid where we sample;
  without the far side of a turned face where it folds over an eye,
  ``lids.folded_over_eyes``) and per-pixel (``DenseGeometry``, offline) or per-grid-point
  (``GridGeometry``, real time) triangle vertices and barycentric weights.
- Smoothing radius per pixel (0 inside the face, growing with distance outside) and the
  border hold, released under a dropping jaw (``jaw.JawGive``).
- The person and the still background plate (``backdrop.Backdrop``, beyond the paper), when
  the photo is split: the warp then moves the person only, and rings of control points
  around the head (``backdrop.head_ring``) carry the head's rigid motion into the hair.

The per-frame motion of the control points is ``motion.frame_offsets``; the warp itself
``warper.Warper`` / ``warper.GridWarper``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
from scipy.spatial import Delaunay

from reactive.core import landmarks as lm
from reactive.core.backdrop import Backdrop, head_ring
from reactive.core.clip import ClipPack
from reactive.core.folds import Unfolder, point_room
from reactive.core.geometry import locate_pixels, smoothstep, triangulate
from reactive.core.jaw import (ChinSkin, JawGive, jaw_give, jaw_holds, outside_jaw_zone,
                               part_lips)
from reactive.core.lid_margin import raise_upper_lids
from reactive.core.lids import folded_over_eyes
from reactive.core.similarity import apply_similarity, as3x3, fit_similarity
from reactive.core.turns import TurnLimiter
from reactive.params import EyeParams, TurnParams, WarpParams

log = logging.getLogger(__name__)


def _read_only(a: np.ndarray) -> np.ndarray:
    """A read-only view of ``a``: the rig's arrays cannot be changed through it."""
    v = a.view()
    v.flags.writeable = False
    return v


@dataclass(frozen=True)
class ClipBinding:
    """One clip bound to one photo: its alignment and how its points drive the rig's."""

    phi: np.ndarray         # (2, 3) float64, this clip's s* -> t*
    peripheral: np.ndarray  # (P_rig, P_pack) float32: the rig's peripheral control points'
                            # offsets as weighted sums of the pack's tracked point offsets
    phi3: np.ndarray = field(init=False, repr=False)      # (3, 3) phi
    phi3_inv: np.ndarray = field(init=False, repr=False)  # (3, 3) its inverse

    def __post_init__(self):
        phi3 = as3x3(self.phi)
        object.__setattr__(self, "phi3", _read_only(phi3))
        object.__setattr__(self, "phi3_inv", _read_only(np.linalg.inv(phi3)))


@dataclass(frozen=True)
class DenseGeometry:
    """The exact warp's per-pixel structures (offline rendering, ``warper.Warper``)."""

    vertex_ids: np.ndarray      # (H, W, 3) int32, the control points of the pixel's triangle
    weights: np.ndarray         # (H, W, 3) float32, its barycentric weights
    blur_level: np.ndarray      # (H, W) float32 smoothing level, 0 inside the face
    blur_radii: np.ndarray      # (L,) int32 box half-width of each level
    hold: np.ndarray            # (H, W) float32 border hold, 0 at the edge .. 1 inside
    hold_give: np.ndarray       # (H, W) float32 hold released under the jaw (jaw.frame_hold)


@dataclass(frozen=True)
class GridGeometry:
    """The real-time warp's coarse grid (beyond the paper, for speed): the field, its
    smoothing and its inverse are computed on grid points every ``scale`` photo pixels;
    the inverse is then upsampled to every pixel and the photo sampled (``GridWarper``).

    Grid point (i, j) sits at the centre of a cell of ``scale`` photo pixels: photo
    position ``((j + 0.5) * scale_x - 0.5, (i + 0.5) * scale_y - 0.5)``, the alignment
    ``cv2.resize`` assumes, so it upsamples the grid exactly bilinearly.
    """

    shape: tuple[int, int]      # (h, w) grid points
    scale: tuple[float, float]  # photo px per grid unit, x and y
    vertex_ids: np.ndarray      # (h, w, 3) int32
    weights: np.ndarray         # (h, w, 3) float32
    blur_level: np.ndarray      # (h, w) float32
    blur_radii: np.ndarray      # (L,) int32, in grid units
    hold: np.ndarray            # (h, w) float32
    hold_give: np.ndarray       # (h, w) float32


@dataclass(frozen=True)
class Rig:
    """Per photo + clip(s). K control points = 468 face + P peripheral + R head ring (only
    with a backdrop) + B border.

    ``dense`` (offline, exact warp) and ``grid`` (real time) are what ``build_rig`` was asked
    to build; None when not built."""

    photo: np.ndarray           # (H, W, 3) uint8 RGB
    target_points: np.ndarray   # (478, 2) float32, the photo's landmarks (lids: lid_margin)
    rest: np.ndarray            # (K, 2) float32 control points in the photo
    n_face: int
    triangles: np.ndarray       # (T, 3) int32 into ``rest``
    face_mask: np.ndarray       # (H, W) bool, the face oval in the photo
    params: WarpParams
    room: np.ndarray            # (K, 4) float32 px from each point to the held band:
                                # left, right, up, down
    unfold: Unfolder | None
    # One per clip the rig serves (the player's rig serves several); bindings[0] is the
    # clip this view of the rig belongs to (``for_clip``).
    bindings: tuple[ClipBinding, ...]
    jaw: JawGive | None = None  # the bottom edge giving way under a dropping jaw
    chin: ChinSkin | None = None  # the skin under the lower lip spread when Eq. 1 squeezes it
    dense: DenseGeometry | None = None
    grid: GridGeometry | None = None
    # The person over a still background (beyond the paper); None: the photo warped whole.
    backdrop: Backdrop | None = None
    # The head-ring points (``backdrop.head_ring``; none without a backdrop), which follow
    # the peripheral ones: the face-oval point each grows from, (R,) int, and the share of
    # its motion beyond the head's rigid motion that it takes, (R,) float32.
    ring_anchor: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ring_share: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))

    @property
    def n_ring(self) -> int:
        return len(self.ring_anchor)
    # Head turns limited to what the warp can show (beyond the paper); None: Eq. 1 whole.
    turn: TurnLimiter | None = None

    @property
    def phi(self) -> np.ndarray:
        """(2, 3) float64: the first binding's s* -> t* (the clip of this view)."""
        return self.bindings[0].phi

    @property
    def shape(self) -> tuple[int, int]:
        return self.photo.shape[:2]

    def for_clip(self, k: int) -> "Rig":
        """This rig as seen by clip ``k``: same control points, that clip's binding first
        (so ``phi`` is its phi: what the mouth and detail layers read)."""
        b = self.bindings
        return replace(self, bindings=(b[k],) + b[:k] + b[k + 1:])


def border_points(width: int, height: int, per_side: int) -> np.ndarray:
    """Points evenly spaced along the frame border, corners included. (B, 2) float32."""
    xs = np.linspace(0, width - 1, per_side)
    ys = np.linspace(0, height - 1, per_side)
    pts = [(x, 0) for x in xs] + [(x, height - 1) for x in xs]
    pts += [(0, y) for y in ys[1:-1]] + [(width - 1, y) for y in ys[1:-1]]
    return np.array(pts, np.float32)


def select_peripheral(candidates: np.ndarray, taken: np.ndarray, face_points: np.ndarray,
                      shape: tuple[int, int], min_spacing: float, border_band: float,
                      allowed: np.ndarray | None = None) -> np.ndarray:
    """Which hallucinated peripheral points to keep (indices into ``candidates``).

    Dropped: points outside the photo or in the held border band, inside the photo's face
    oval (the driver's head may be wider than the target's), not ``allowed`` (N,) bool
    (``jaw.outside_jaw_zone``), and points closer than ``min_spacing`` to a point already
    taken (slivers).
    """
    h, w = shape
    oval = lm.face_polygon(face_points).reshape(-1, 1, 2)
    keep = []
    pts = [p for p in taken]
    for k, (x, y) in enumerate(candidates):
        if allowed is not None and not allowed[k]:
            continue
        if not (border_band <= x <= w - 1 - border_band and border_band <= y <= h - 1 - border_band):
            continue
        if cv2.pointPolygonTest(oval, (float(x), float(y)), True) > -min_spacing:
            continue
        if pts and np.min(np.hypot(*(np.asarray(pts) - (x, y)).T)) < min_spacing:
            continue
        keep.append(k)
        pts.append((x, y))
    return np.array(keep, dtype=np.int64)


def pixel_barycentrics(tri: Delaunay, shape: tuple[int, int],
                       scale: tuple[float, float] = (1.0, 1.0),
                       index: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Triangle vertices and barycentric weights of every pixel centre (of the grid points
    of ``GridGeometry`` when ``scale`` is not 1). Points outside the hull (there are none
    when the border points are included) get vertex 0 with weight 0. ``index`` maps the
    triangulation's vertices to control points (``triangulate``)."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    pix = np.stack([(xx.ravel() + 0.5) * scale[0] - 0.5, (yy.ravel() + 0.5) * scale[1] - 0.5],
                   axis=1).astype(np.float64)
    simplex = tri.find_simplex(pix)
    inside = simplex >= 0
    s = np.where(inside, simplex, 0)
    t = tri.transform[s]
    b01 = np.einsum("nij,nj->ni", t[:, :2], pix - t[:, 2])
    bary = np.concatenate([b01, 1 - b01.sum(axis=1, keepdims=True)], axis=1)
    bary = np.clip(bary, 0.0, 1.0)
    bary /= np.maximum(bary.sum(axis=1, keepdims=True), 1e-12)
    bary[~inside] = 0.0
    ids = tri.simplices[s]
    if index is not None:
        ids = index[ids]
    return ids.astype(np.int32).reshape(h, w, 3), bary.astype(np.float32).reshape(h, w, 3)


def smoothing_levels(face_mask: np.ndarray, params: WarpParams) -> tuple[np.ndarray, np.ndarray]:
    """Blur level per pixel and the radii of the levels (Sec. 4).

    ``params.blur_levels`` radii evenly spaced in [0, blur_radius_max_frac * diagonal]; the
    wanted radius grows with the distance from the face (``blur_radius_slope`` px per px)
    and falls between two levels, whose boxes the kernel blends. Returns
    ``(level (H, W) float32, radii (L,) int32)``; level 0 (no smoothing) inside the face.
    """
    h, w = face_mask.shape
    # Chessboard distance is the one that matters for a square window: a box of half-width
    # d - 1 around a pixel at chessboard distance d touches no face pixel.
    dist = cv2.distanceTransform((~face_mask).astype(np.uint8), cv2.DIST_C, 3) - 1.0
    r_max = params.blur_radius_max_frac * float(np.hypot(w, h))
    levels = np.linspace(0.0, r_max, params.blur_levels)
    want = np.clip(dist * params.blur_radius_slope, 0.0, r_max)
    level = np.interp(want, levels, np.arange(len(levels), dtype=np.float64))
    level[face_mask] = 0.0
    return level.astype(np.float32), np.floor(levels).astype(np.int32)


def border_hold(shape: tuple[int, int], params: WarpParams) -> np.ndarray:
    """1 inside, 0 within ``border_hold_frac`` of the shorter side from the edge, smooth ramp."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    d = np.minimum(np.minimum(xx, w - 1 - xx), np.minimum(yy, h - 1 - yy)).astype(np.float32)
    side = float(min(h, w))
    t = (d - params.border_hold_frac * side) / max(params.border_fade_frac * side, 1.0)
    return smoothstep(t).astype(np.float32)


def face_mask_from_points(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(lm.face_polygon(points)).astype(np.int32)], 1)
    return mask.astype(bool)


def _peripheral_weights(anchors: np.ndarray, own: np.ndarray, scale: float,
                        neighbours: int = 4) -> np.ndarray:
    """How a clip's hallucinated peripheral points ``own`` (P_pack, 2) drive the rig's
    peripheral control points ``anchors`` (P_rig, 2): inverse-distance weights over the
    nearest few, fading out with distance (``scale`` px) so a clip whose points all lie
    elsewhere does not drag a far anchor. (P_rig, P_pack) float32."""
    out = np.zeros((len(anchors), len(own)), np.float32)
    if len(own) == 0 or len(anchors) == 0:
        return out
    d = np.linalg.norm(anchors[:, None, :] - own[None, :, :], axis=2)
    k = min(neighbours, len(own))
    near = np.argsort(d, axis=1)[:, :k]
    dn = np.take_along_axis(d, near, axis=1)
    w = 1.0 / (dn + 1e-3) ** 2
    w /= w.sum(axis=1, keepdims=True)
    w *= np.exp(-(dn[:, :1] / scale) ** 2)
    np.put_along_axis(out, near, w.astype(np.float32), axis=1)
    return out


def grid_geometry(points: np.ndarray, triangles: np.ndarray, face_points: np.ndarray,
                  shape: tuple[int, int], params: WarpParams, face_size: float) -> GridGeometry:
    """The coarse grid of the real-time warp: ``params.grid_cells`` cells along the longer
    side (fewer for a small photo: never more points than pixels). ``triangles`` (T, 3) of
    the control points ``points`` (K, 2), as the rig's."""
    h, w = shape
    step = max(1.0, max(h, w) / params.grid_cells)
    gh = max(2, int(round(h / step)))
    gw = max(2, int(round(w / step)))
    scale = (w / gw, h / gh)
    vertex_ids, weights = locate_pixels(points, triangles, (gh, gw), scale)
    mask = face_mask_from_points((face_points + 0.5) / np.asarray(scale, np.float32) - 0.5,
                                 (gh, gw))
    level, radii = smoothing_levels(mask, params)
    hold, give = jaw_holds(face_points, mask, border_hold((gh, gw), params), params, face_size,
                           scale)
    return GridGeometry(shape=(gh, gw), scale=scale, vertex_ids=_read_only(vertex_ids),
                        weights=_read_only(weights), blur_level=_read_only(level),
                        blur_radii=_read_only(radii),
                        hold=_read_only(hold), hold_give=_read_only(give))


def build_rig(photo: np.ndarray, target_points: np.ndarray, pack: "ClipPack | list[ClipPack]",
              *, params: WarpParams = WarpParams(), dense: bool = True,
              grid: bool = False, backdrop: Backdrop | None = None,
              turns: TurnParams | None = TurnParams(),
              eyes: EyeParams = EyeParams()) -> Rig:
    """Fit phi and build the per-photo warp structures.

    Parameters
    ----------
    photo : (H, W, 3) uint8 RGB target t*.
    target_points : (478, 2) float32 landmarks of ``photo``.
    pack : the driving clip, or several (the player's states): each gets its own phi
        (``rig.bindings``); the peripheral control points are those of all clips, thinned,
        and each clip drives the others' through its nearest own points.
    dense : build the exact per-pixel structures (offline rendering, ``Warper``).
    grid : build the coarse grid of the real-time warp (``GridWarper``).
    backdrop : the photo's person and still background (``io.target.photo_backdrop``): the
        warp moves the person over the still plate. None warps the whole photo.
    turns : how far a driver's head turn is shown (``core.turns``); None: all of it.
    eyes : where the photo's upper lid margins are read (``core.lid_margin``): the rig's
        ``target_points`` are the photo's landmarks with those margins.
    """
    if target_points.shape != (lm.N_LANDMARKS, 2):
        raise ValueError(f"`target_points` must be ({lm.N_LANDMARKS}, 2); got {target_points.shape}")
    packs = list(pack) if isinstance(pack, (list, tuple)) else [pack]
    if not packs:
        raise ValueError("`pack` must name at least one clip")
    h, w = photo.shape[:2]
    if backdrop is not None and backdrop.shape != (h, w):
        raise ValueError(f"`backdrop` must be of the photo's size ({h}, {w}); got "
                         f"{backdrop.shape}")
    t0 = target_points.astype(np.float64)
    phis, hallucs = [], []
    for p in packs:
        s0 = p.landmarks[p.neutral_index].astype(np.float64)
        phis.append(fit_similarity(s0[lm.PHI_POINTS], t0[lm.PHI_POINTS]))
        hallucs.append(apply_similarity(phis[-1], p.peripheral[p.neutral_index].astype(np.float64)))
    # The lids where the photo shows them (phi is fitted to the mesh's points on both sides,
    # the photo's and the clips'): every stage then moves, repaints and closes those.
    target_points = raise_upper_lids(photo, target_points, params=eyes)

    face_rest = target_points[:lm.N_MESH].astype(np.float32)
    border = border_points(w, h, params.border_points_per_side)
    face_size = float(np.sqrt(cv2.contourArea(lm.face_polygon(target_points))))
    band = params.border_hold_frac * min(h, w)
    candidates = np.concatenate(hallucs) if hallucs else np.zeros((0, 2))
    owner = np.concatenate([np.full(len(hh), k) for k, hh in enumerate(hallucs)])
    spacing = params.min_point_spacing_frac * face_size
    jaw_zone = params.jaw_zone_frac * face_size
    ring = np.zeros((0, 2), np.float32)
    ring_anchor, ring_share = np.zeros(0, np.int64), np.zeros(0, np.float32)
    if backdrop is not None:
        ring, ring_anchor, ring_share = head_ring(target_points, params=backdrop.params)
        kept = select_peripheral(ring, border, target_points, (h, w), spacing, band,
                                 outside_jaw_zone(ring, target_points, jaw_zone))
        ring, ring_anchor, ring_share = ring[kept], ring_anchor[kept], ring_share[kept]
    # None where the dropping jaw goes: on the neck or collar it would hold the jaw.
    allowed = outside_jaw_zone(candidates, target_points, jaw_zone)
    ids = select_peripheral(candidates, np.concatenate([border, ring]), target_points, (h, w),
                            spacing, band, allowed)
    anchors = candidates[ids]
    bindings = []
    for k, (p, phi, hh) in enumerate(zip(packs, phis, hallucs)):
        weights_k = _peripheral_weights(anchors, hh, scale=0.5 * face_size)
        start = int((owner < k).sum())
        for j, cid in enumerate(ids):  # a clip's own points drive themselves exactly
            if owner[cid] == k:
                weights_k[j] = 0.0
                weights_k[j, cid - start] = 1.0
        bindings.append(ClipBinding(phi=_read_only(phi),
                                    peripheral=_read_only(weights_k)))
    rest = np.concatenate([face_rest, anchors.astype(np.float32), ring, border]
                          ).astype(np.float32)
    skip = np.zeros(len(rest), bool)
    skip[:lm.N_MESH] = folded_over_eyes(target_points)
    if skip.any():
        log.debug("rig: face points %s lie over an eye (a turned head); not triangulated",
                  np.flatnonzero(skip).tolist())
    # Triangulated with closed lips parted (``jaw.part_lips``); the rest positions stay.
    layout = rest.astype(np.float64)
    layout[:lm.N_MESH] = part_lips(layout[:lm.N_MESH], params.lip_part_frac)
    tri, index = triangulate(layout, skip)
    triangles = index[tri.simplices].astype(np.int32)
    face_mask = face_mask_from_points(target_points, (h, w))
    geometry = None
    if dense:
        vertex_ids, weights = locate_pixels(rest, triangles, (h, w))
        level, radii = smoothing_levels(face_mask, params)
        hold, give = jaw_holds(target_points, face_mask, border_hold((h, w), params), params,
                               face_size)
        geometry = DenseGeometry(vertex_ids=_read_only(vertex_ids), weights=_read_only(weights),
                                 blur_level=_read_only(level), blur_radii=_read_only(radii),
                                 hold=_read_only(hold), hold_give=_read_only(give))
    log.debug("rig: %d face + %d peripheral + %d ring + %d border points, %d triangles, "
              "%d clips", len(face_rest), len(ids), len(ring), len(border), len(tri.simplices),
              len(packs))
    unfold = Unfolder(rest, triangles, movable=np.arange(len(rest)) < len(rest) - len(border),
                      openings=(lm.LIPS_INNER, lm.LEFT_EYE, lm.RIGHT_EYE),
                      layout=layout, stiff=np.concatenate([lm.LIPS_INNER, lm.LIPS_OUTER]))
    turn = None if turns is None else TurnLimiter.for_face(face_rest, turns)
    return Rig(photo=_read_only(np.ascontiguousarray(photo)),
               target_points=_read_only(target_points.astype(np.float32)),
               rest=_read_only(rest), n_face=len(face_rest), triangles=_read_only(triangles),
               face_mask=_read_only(face_mask), params=params,
               room=_read_only(point_room(rest, (h, w), params)),
               unfold=unfold, chin=ChinSkin(rest, triangles, params=params),
               bindings=tuple(bindings),
               jaw=jaw_give(target_points, rest, (h, w), params, face_size),
               dense=geometry,
               grid=grid_geometry(rest, triangles, target_points, (h, w), params, face_size)
               if grid else None,
               backdrop=backdrop, ring_anchor=_read_only(ring_anchor),
               ring_share=_read_only(ring_share),
               turn=turn)
