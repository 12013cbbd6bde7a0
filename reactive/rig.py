"""The rig: everything about one photo and one clip that does not change per frame (Sec. 4).

Built once from the target photo's landmarks and a clip pack:

- ``phi``: least-squares similarity t* <- s* from eye-region and nose-tip landmarks.
- Control points (rest positions in the photo): the 468 face-mesh points, the clip's
  peripheral points hallucinated through ``phi``, and fixed points on the image border.
- Per-frame offsets by Eq. 1: ``p_i^t = p_0^t + A (p_i^s - p_0^s)``, A = phi's rotation+scale.
- Triangulation (Delaunay on the photo's rest positions, so it is valid where we sample;
  without the far side of a turned face where it folds over an eye, ``eyes.folded_over_eyes``)
  and per-pixel triangle vertices and barycentric weights.
- Smoothing radius per pixel (0 inside the face, growing with distance outside) and the
  border hold.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import cv2
import numba
import numpy as np
from scipy.spatial import Delaunay

from . import landmarks as lm
from .clippack import ClipPack
from .params import WarpParams
from .similarity import apply_similarity, fit_similarity
from .warp import interpolate_offsets, inverse_map, inverse_sample, smooth_field

log = logging.getLogger(__name__)


@dataclass
class Rig:
    """Per photo + clip(s). K control points = 468 face + P peripheral + B border.

    The per-pixel arrays (``vertex_ids`` to ``hold``) are empty when built with
    ``dense=False`` (the player uses ``grid`` instead)."""

    photo: np.ndarray           # (H, W, 3) uint8 RGB
    target_points: np.ndarray   # (478, 2) float32, the photo's landmarks
    phi: np.ndarray             # (2, 3) float64, s* -> t*
    rest: np.ndarray            # (K, 2) float32 control points in the photo
    n_face: int
    triangles: np.ndarray       # (T, 3) int32 into ``rest``
    vertex_ids: np.ndarray      # (H, W, 3) int32
    weights: np.ndarray         # (H, W, 3) float32
    blur_level: np.ndarray      # (H, W) float32 smoothing level, 0 inside the face
    blur_radii: np.ndarray      # (L,) int32 box half-width of each level
    hold: np.ndarray            # (H, W) float32 border hold, 0 at the edge .. 1 inside
    face_mask: np.ndarray       # (H, W) bool, the face oval in the photo
    params: WarpParams
    room: np.ndarray            # (K, 4) float32 px from each point to the held band:
                                # left, right, up, down
    unfold: "Unfolder | None" = None
    # One per clip the rig serves (the player's rig serves several); bindings[0] is ``pack``'s.
    bindings: "list[ClipBinding]" = field(default_factory=list)
    grid: "GridGeometry | None" = None

    def __post_init__(self):
        self.phi3 = _as3(self.phi)
        self.phi3_inv = np.linalg.inv(self.phi3)

    @property
    def shape(self) -> tuple[int, int]:
        return self.photo.shape[:2]

    def for_clip(self, k: int) -> "Rig":
        """This rig as seen by clip ``k``: same control points, that clip's phi (what the
        mouth and detail layers read)."""
        b = self.bindings[k]
        return replace(self, phi=b.phi, bindings=[b] + self.bindings[:k] + self.bindings[k + 1:])


@dataclass
class ClipBinding:
    """One clip bound to one photo: its alignment and how its points drive the rig's."""

    phi: np.ndarray         # (2, 3) float64, this clip's s* -> t*
    peripheral: np.ndarray  # (P_rig, P_pack) float32: the rig's peripheral control points'
                            # offsets as weighted sums of the pack's tracked point offsets
    closure: np.ndarray | None = None  # (F, 2) float32 lid closure per frame (eyes.py)

    def __post_init__(self):
        self.phi3 = _as3(self.phi)
        self.phi3_inv = np.linalg.inv(self.phi3)


@dataclass
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


def border_points(width: int, height: int, per_side: int) -> np.ndarray:
    """Points evenly spaced along the frame border, corners included. (B, 2) float32."""
    xs = np.linspace(0, width - 1, per_side)
    ys = np.linspace(0, height - 1, per_side)
    pts = [(x, 0) for x in xs] + [(x, height - 1) for x in xs]
    pts += [(0, y) for y in ys[1:-1]] + [(width - 1, y) for y in ys[1:-1]]
    return np.array(pts, np.float32)


def select_peripheral(candidates: np.ndarray, taken: np.ndarray, face_points: np.ndarray,
                      shape: tuple[int, int], min_spacing: float, border_band: float
                      ) -> np.ndarray:
    """Which hallucinated peripheral points to keep (indices into ``candidates``).

    Dropped: points outside the photo or in the held border band, inside the photo's face
    oval (the driver's head may be wider than the target's), and points closer than
    ``min_spacing`` to a point already taken (slivers).
    """
    h, w = shape
    oval = lm.face_polygon(face_points).reshape(-1, 1, 2)
    keep = []
    pts = [p for p in taken]
    for k, (x, y) in enumerate(candidates):
        if not (border_band <= x <= w - 1 - border_band and border_band <= y <= h - 1 - border_band):
            continue
        if cv2.pointPolygonTest(oval, (float(x), float(y)), True) > -min_spacing:
            continue
        if pts and np.min(np.hypot(*(np.asarray(pts) - (x, y)).T)) < min_spacing:
            continue
        keep.append(k)
        pts.append((x, y))
    return np.array(keep, dtype=np.int64)


def triangulate(points: np.ndarray, skip: np.ndarray | None = None
                ) -> tuple[Delaunay, np.ndarray]:
    """Delaunay triangulation of ``points`` (K, 2) without the ``skip`` (K,) bool ones.

    Returns the Delaunay of the kept points and ``index`` (K',) int: kept vertex -> index
    into ``points`` (``index[tri.simplices]`` are the triangles in ``points``' numbering)."""
    index = np.arange(len(points)) if skip is None else np.flatnonzero(~np.asarray(skip))
    return Delaunay(np.asarray(points, np.float64)[index]), index


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
    t = np.clip(t, 0.0, 1.0)
    return (t * t * (3 - 2 * t)).astype(np.float32)


def point_room(rest: np.ndarray, shape: tuple[int, int], params: WarpParams) -> np.ndarray:
    """Free pixels from each control point to the held border band, per direction.

    Returns (K, 4) float32: left, right, up, down (at least 1 px).
    """
    h, w = shape
    band = params.border_hold_frac * min(h, w)
    x, y = rest[:, 0], rest[:, 1]
    room = np.stack([x - band, (w - 1 - band) - x, y - band, (h - 1 - band) - y], axis=1)
    return np.maximum(room, 1.0).astype(np.float32)


def _demand(offsets: np.ndarray, room: np.ndarray, fraction: float) -> np.ndarray:
    """How much of its cap each offset uses, (N,). Only the component towards a border
    counts: moving at the held band compresses the strip in between and folds it at 1, while
    moving along it only shears (det(I + J) stays 1: no fold)."""
    dx, dy = offsets[:, 0], offsets[:, 1]
    room_x = np.where(dx > 0, room[:, 1], room[:, 0])
    room_y = np.where(dy > 0, room[:, 3], room[:, 2])
    return np.maximum(np.abs(dx) / (fraction * room_x), np.abs(dy) / (fraction * room_y))


KNEE = 0.7  # moves below this fraction of their cap pass unchanged


def _soft_ratio(demand: np.ndarray) -> np.ndarray:
    """Demand (offset / cap) -> allowed: identity up to KNEE, then bending smoothly to 1."""
    out = demand.astype(np.float64, copy=True)
    over = out > KNEE
    out[over] = KNEE + (1 - KNEE) * np.tanh((out[over] - KNEE) / (1 - KNEE))
    return out


def soft_cap(offsets: np.ndarray, room: np.ndarray, fraction: float) -> None:
    """Softly cap each offset at ``fraction`` of its point's room towards the held band.

    For the sparse points outside the face: a point moving towards the held border squeezes
    the strip between them; past a gradient of 1 the field folds and the picture tears. Offsets up to KNEE of the cap pass unchanged; beyond, their length
    bends smoothly (tanh) towards the cap, direction kept. Below KNEE of the cap nothing
    changes.

    Parameters
    ----------
    offsets : (N, 2) float32, changed in place.
    room : (N, 4) float32, see ``point_room``.
    """
    demand = _demand(offsets, room, fraction)
    over = demand > KNEE
    if over.any():
        offsets[over] *= (_soft_ratio(demand[over]) / demand[over]).astype(np.float32)[:, None]


def head_scale(rigid: np.ndarray, room: np.ndarray, fraction: float) -> float:
    """One factor for the face's rigid (head) displacement so that no face point's rigid move
    exceeds ``fraction`` of its distance to the held band (softly, as ``soft_cap``).

    A driver who moves a lot, mapped onto a photo whose face nearly fills the frame, would
    otherwise squeeze the strip between face and border flat and fold it: a chin moving
    40 px down towards a border held 40 px below. Scaling the whole rigid move by one factor
    keeps the face itself undistorted; the expression is added on top, untouched.

    Parameters
    ----------
    rigid : (N, 2) rigid displacement of the face points.
    room : (N, 4) float32, see ``point_room``.
    """
    worst = float(_demand(rigid, room, fraction).max(initial=0.0))
    if worst <= KNEE:
        return 1.0
    return float(_soft_ratio(np.array([worst]))[0] / worst)


def _as3(m: np.ndarray) -> np.ndarray:
    return np.vstack([np.asarray(m, np.float64), [0.0, 0.0, 1.0]])


def _inverse_similarity3(m: np.ndarray) -> np.ndarray:
    """Inverse of a (2, 3) similarity as 3x3, in closed form (np.linalg.inv costs ~1 ms)."""
    a, b = float(m[0, 0]), float(m[1, 0])
    s2 = a * a + b * b
    lin = np.array([[a, b], [-b, a]]) / s2
    out = np.eye(3)
    out[:2, :2] = lin
    out[:2, 2] = -lin @ np.asarray(m[:, 2], np.float64)
    return out


def signed_areas(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Twice the signed area of each triangle. ``points`` (K, 2), ``triangles`` (T, 3)."""
    a, b, c = points[triangles[:, 0]], points[triangles[:, 1]], points[triangles[:, 2]]
    return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])


class Unfolder:
    """Relaxes offsets where the driver's 2D motion would flip triangles of the mesh.

    A head turning or pitching far (the paper assumes it does not) moves the near side of the
    face over the far side: in 2D some triangles flip, the warp folds, and a fold has no
    single inverse, so the picture smears. Where a triangle flips, the offsets of its corners
    are pulled halfway towards the mean of their neighbours', repeatedly, until no triangle is
    flipped: the fold becomes a local squeeze. A triangle squashed to zero area (a lid
    closing onto the other) is not flipped and is left alone. Fixed points never move.
    """

    def __init__(self, rest: np.ndarray, triangles: np.ndarray, movable: np.ndarray,
                 max_iterations: int = 30, openings: tuple[np.ndarray, ...] = ()):
        from scipy.sparse import coo_matrix

        self.rest = rest.astype(np.float64)
        self.triangles = triangles
        self.movable = movable
        self.max_iterations = max_iterations
        k = len(rest)
        i = np.concatenate([triangles[:, [0, 1, 2]].ravel(), triangles[:, [1, 2, 0]].ravel()])
        j = np.concatenate([triangles[:, [1, 2, 0]].ravel(), triangles[:, [0, 1, 2]].ravel()])
        adj = coo_matrix((np.ones(len(i)), (i, j)), shape=(k, k)).tocsr()
        adj.data[:] = 1.0  # duplicate edges summed: back to 0/1
        self.adjacency = adj
        self.degree = np.maximum(np.asarray(adj.sum(axis=1)).ravel(), 1.0)
        area = signed_areas(self.rest, triangles)
        self.orientation = np.sign(area)
        # A fold worth undoing: the triangle turned over by a quarter of its rest area, and by
        # at least a pixel (area2 2). Small dense-mesh triangles flip a little under landmark
        # jitter; that fold is invisible, and relaxing it would only blunt the expression.
        self.tolerance = np.maximum(0.25 * np.abs(area), 2.0)
        # Slivers are not watched: across closed lips (or any two points that nearly touch at
        # rest) a triangle has no area to fold, and opening the mouth flips it legitimately.
        # Healthy: twice the area at least 5% of the longest edge squared (~3 degrees).
        pts = self.rest[triangles]
        edges = np.stack([pts[:, 1] - pts[:, 0], pts[:, 2] - pts[:, 1], pts[:, 0] - pts[:, 2]], 1)
        longest2 = (edges ** 2).sum(axis=2).max(axis=1)
        self.watched = np.abs(area) >= 0.05 * longest2
        # Nor triangles spanning an opening (all corners on the inner lips, or on one eye's
        # rim): they cover a hole, not skin, and the mouth stage paints that hole anyway.
        for ring in openings:
            self.watched &= ~np.isin(triangles, ring).all(axis=1)

    def __call__(self, offsets: np.ndarray) -> int:
        """Relax ``offsets`` (K, 2) float32 in place. Returns the number of iterations used."""
        off = offsets.astype(np.float64)
        for it in range(self.max_iterations):
            area = signed_areas(self.rest + off, self.triangles) * self.orientation
            flipped = (area < -self.tolerance) & self.watched
            if not flipped.any():
                break
            verts = np.unique(self.triangles[flipped])
            verts = verts[self.movable[verts]]
            if len(verts) == 0:
                break
            mean = (self.adjacency[verts] @ off) / self.degree[verts, None]
            off[verts] = 0.5 * off[verts] + 0.5 * mean
        else:
            it = self.max_iterations
        if it:
            offsets[:] = off
        return it


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


def grid_geometry(tri: Delaunay, face_points: np.ndarray, shape: tuple[int, int],
                  params: WarpParams, index: np.ndarray | None = None) -> GridGeometry:
    """The coarse grid of the real-time warp: ``params.grid_cells`` cells along the longer
    side (fewer for a small photo: never more points than pixels). ``tri`` and ``index``
    as from ``triangulate``."""
    h, w = shape
    step = max(1.0, max(h, w) / params.grid_cells)
    gh = max(2, int(round(h / step)))
    gw = max(2, int(round(w / step)))
    scale = (w / gw, h / gh)
    vertex_ids, weights = pixel_barycentrics(tri, (gh, gw), scale, index)
    mask = face_mask_from_points((face_points + 0.5) / np.asarray(scale, np.float32) - 0.5,
                                 (gh, gw))
    level, radii = smoothing_levels(mask, params)
    return GridGeometry(shape=(gh, gw), scale=scale, vertex_ids=vertex_ids, weights=weights,
                        blur_level=level, blur_radii=radii, hold=border_hold((gh, gw), params))


def build_rig(photo: np.ndarray, target_points: np.ndarray, pack: "ClipPack | list[ClipPack]",
              *, params: WarpParams = WarpParams(), dense: bool = True,
              grid: bool = False) -> Rig:
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
    """
    if target_points.shape != (lm.N_LANDMARKS, 2):
        raise ValueError(f"`target_points` must be ({lm.N_LANDMARKS}, 2); got {target_points.shape}")
    packs = list(pack) if isinstance(pack, (list, tuple)) else [pack]
    if not packs:
        raise ValueError("`pack` must name at least one clip")
    h, w = photo.shape[:2]
    t0 = target_points.astype(np.float64)
    phis, hallucs = [], []
    for p in packs:
        s0 = p.landmarks[p.neutral_index].astype(np.float64)
        phis.append(fit_similarity(s0[lm.PHI_POINTS], t0[lm.PHI_POINTS]))
        hallucs.append(apply_similarity(phis[-1], p.peripheral[p.neutral_index].astype(np.float64)))

    face_rest = target_points[:lm.N_MESH].astype(np.float32)
    border = border_points(w, h, params.border_points_per_side)
    face_size = float(np.sqrt(cv2.contourArea(lm.face_polygon(target_points))))
    band = params.border_hold_frac * min(h, w)
    candidates = np.concatenate(hallucs) if hallucs else np.zeros((0, 2))
    owner = np.concatenate([np.full(len(hh), k) for k, hh in enumerate(hallucs)])
    ids = select_peripheral(candidates, np.concatenate([border]), target_points, (h, w),
                            params.min_point_spacing_frac * face_size, band)
    anchors = candidates[ids]
    bindings = []
    for k, (p, phi, hh) in enumerate(zip(packs, phis, hallucs)):
        weights_k = _peripheral_weights(anchors, hh, scale=0.5 * face_size)
        start = int((owner < k).sum())
        for j, cid in enumerate(ids):  # a clip's own points drive themselves exactly
            if owner[cid] == k:
                weights_k[j] = 0.0
                weights_k[j, cid - start] = 1.0
        bindings.append(ClipBinding(phi=phi, peripheral=weights_k))
    rest = np.concatenate([face_rest, anchors.astype(np.float32), border]).astype(np.float32)
    from .eyes import folded_over_eyes  # noqa: PLC0415 - eyes -> mouth -> rig

    skip = np.zeros(len(rest), bool)
    skip[:lm.N_MESH] = folded_over_eyes(target_points)
    if skip.any():
        log.debug("rig: face points %s lie over an eye (a turned head); not triangulated",
                  np.flatnonzero(skip).tolist())
    tri, index = triangulate(rest, skip)
    if dense:
        vertex_ids, weights = pixel_barycentrics(tri, (h, w), index=index)
        face_mask = face_mask_from_points(target_points, (h, w))
        level, radii = smoothing_levels(face_mask, params)
        hold = border_hold((h, w), params)
    else:
        vertex_ids = np.zeros((0, 0, 3), np.int32)
        weights = np.zeros((0, 0, 3), np.float32)
        face_mask = face_mask_from_points(target_points, (h, w))
        level, radii, hold = np.zeros((0, 0), np.float32), np.zeros(1, np.int32), np.zeros((0, 0), np.float32)
    log.debug("rig: %d face + %d peripheral + %d border points, %d triangles, %d clips",
              len(face_rest), len(ids), len(border), len(tri.simplices), len(packs))
    triangles = index[tri.simplices].astype(np.int32)
    return Rig(photo=np.ascontiguousarray(photo), target_points=target_points.astype(np.float32),
               phi=phis[0], rest=rest, n_face=len(face_rest),
               triangles=triangles, vertex_ids=vertex_ids, weights=weights,
               blur_level=level, blur_radii=radii, hold=hold,
               face_mask=face_mask, params=params,
               room=point_room(rest, (h, w), params),
               unfold=Unfolder(rest, triangles,
                               movable=np.arange(len(rest)) < len(rest) - len(border),
                               openings=(lm.LIPS_INNER, lm.LEFT_EYE, lm.RIGHT_EYE)),
               bindings=bindings,
               grid=grid_geometry(tri, target_points, (h, w), params, index) if grid else None)


def frame_offsets(rig: Rig, pack: ClipPack, i: int, out: np.ndarray | None = None, *,
                  binding: ClipBinding | None = None) -> np.ndarray:
    """Control-point offsets of clip frame ``i`` in the photo, by Eq. 1. (K, 2) float32.

    ``binding``: which of the rig's clips ``pack`` is (default: the rig's first).
    """
    b = binding if binding is not None else rig.bindings[0]
    k = len(rig.rest)
    if out is None:
        out = np.zeros((k, 2), np.float32)
    a = b.phi[:, :2].astype(np.float32)
    n0 = pack.neutral_index
    face = pack.landmarks[i, :lm.N_MESH] - pack.landmarks[n0, :lm.N_MESH]
    out[:rig.n_face] = face @ a.T
    if b.closure is not None:
        from .eyes import close_lids

        close_lids(out[:lm.N_MESH], rig.rest[:lm.N_MESH], b.closure[i])
    p = b.peripheral.shape[0]
    if p:
        per = pack.peripheral[i] - pack.peripheral[n0]
        out[rig.n_face:rig.n_face + p] = b.peripheral @ (per @ a.T)
    out[rig.n_face + p:] = 0.0
    if rig.params.max_squeeze > 0:
        f, n = rig.n_face, rig.n_face + p
        # The head's rigid move in the photo: phi o (neutral -> frame i) o phi^-1.
        head = _as3(pack.head[i]) @ _inverse_similarity3(pack.head[n0])
        move = b.phi3 @ head @ b.phi3_inv
        rest = rig.rest[:f].astype(np.float64)
        rigid = rest @ move[:2, :2].T + move[:2, 2] - rest
        scale = head_scale(rigid, rig.room[:f], rig.params.max_squeeze)
        if scale < 1.0:
            out[:f] -= ((1.0 - scale) * rigid).astype(np.float32)
        # The expression itself is never capped: a jaw drop towards a border close below
        # may fold the strip under the chin (the chin covering the neck), a lesser evil than
        # a mouth that does not open.
        soft_cap(out[f:n], rig.room[f:n], rig.params.max_squeeze)
    if rig.unfold is not None:
        rig.unfold(out)
    return out


class Warper:
    """Per-frame synthesis with preallocated buffers: offsets -> field -> frame.

    ``warper(offsets)`` returns the frame buffer (overwritten by the next call).
    """

    def __init__(self, rig: Rig, *, smooth: bool = True):
        h, w = rig.shape
        self.rig = rig
        self.smooth = smooth
        self.field = np.zeros((h, w, 2), np.float32)
        self._scratch = np.zeros((h, w, 2), np.float32)
        self._sat = np.zeros((2, h + 1, w + 1), np.float64)
        self.frame = np.zeros_like(rig.photo)

    def compute_field(self, offsets: np.ndarray) -> np.ndarray:
        """Dense forward field for ``offsets`` (K, 2) float32; returns the internal buffer."""
        r = self.rig
        interpolate_offsets(r.vertex_ids, r.weights, offsets, self.field)
        if self.smooth:
            smooth_field(self.field, r.blur_level, r.blur_radii, r.hold,
                         passes=r.params.blur_passes,
                         sat=self._sat, scratch=self._scratch)
        else:
            self.field *= r.hold[..., None]
        return self.field

    def __call__(self, offsets: np.ndarray, photo: np.ndarray | None = None) -> np.ndarray:
        """Warp ``photo`` (default: the rig's; e.g. a shaded copy of the same size)."""
        self.compute_field(offsets)
        return inverse_sample(self.rig.photo if photo is None else photo, self.field,
                              iterations=self.rig.params.inverse_iterations, out=self.frame)


class GridWarper:
    """The real-time twin of ``Warper``: the same field (piecewise-linear, confidence-aware
    smoothing, border hold, inverse by Newton) on the rig's coarse grid; the inverse's
    displacement is then upsampled bilinearly to every pixel (``cv2.resize``, whose cell
    alignment the grid follows) and the photo sampled with ``cv2.remap``. Preallocated:
    nothing is allocated per frame.

    ``warper(offsets, photo)`` returns the frame buffer (overwritten by the next call).
    """

    def __init__(self, rig: Rig):
        if rig.grid is None:
            raise ValueError("`rig` has no grid: build it with build_rig(..., grid=True)")
        g = rig.grid
        gh, gw = g.shape
        h, w = rig.shape
        self.rig = rig
        self.field = np.zeros((gh, gw, 2), np.float32)
        self.map = np.zeros((gh, gw, 2), np.float32)
        self._scratch = np.zeros((gh, gw, 2), np.float32)
        self._sat = np.zeros((2, gh + 1, gw + 1), np.float64)
        self._offsets = np.zeros((len(rig.rest), 2), np.float32)
        self._to_grid = np.array([1.0 / g.scale[0], 1.0 / g.scale[1]], np.float32)
        # Full-size, so the multiply needs no broadcasting (numpy would buffer it).
        self._scale = np.broadcast_to(np.array(g.scale, np.float32), (gh, gw, 2)).copy()
        gy, gx = np.mgrid[0:gh, 0:gw].astype(np.float32)
        self._grid_ident = np.dstack([gx, gy])
        self._disp = np.zeros((gh, gw, 2), np.float32)
        py, px = np.mgrid[0:h, 0:w].astype(np.float32)
        self._ident = np.dstack([px, py])
        self._full = np.zeros((h, w, 2), np.float32)
        self.frame = np.zeros_like(rig.photo)

    def compute_map(self, offsets: np.ndarray) -> np.ndarray:
        """Inverse map on the grid for ``offsets`` (K, 2) float32 photo px: (h, w, 2)
        source positions in grid units; the internal buffer."""
        g, r = self.rig.grid, self.rig
        np.multiply(offsets, self._to_grid, out=self._offsets)
        # A 256 x 256 grid is too small to share: waking a second thread for each of the
        # five kernels costs more than the work (7x here, worse when the CPU is busy).
        threads = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            interpolate_offsets(g.vertex_ids, g.weights, self._offsets, self.field)
            smooth_field(self.field, g.blur_level, g.blur_radii, g.hold,
                         passes=r.params.blur_passes, sat=self._sat, scratch=self._scratch)
            return inverse_map(self.field, iterations=r.params.inverse_iterations, out=self.map)
        finally:
            numba.set_num_threads(threads)

    def compute_pixel_map(self, offsets: np.ndarray) -> np.ndarray:
        """Source position of every output pixel, (H, W, 2) float32 photo px; internal."""
        self.compute_map(offsets)
        np.subtract(self.map, self._grid_ident, out=self._disp)
        np.multiply(self._disp, self._scale, out=self._disp)
        h, w = self.rig.shape
        cv2.resize(self._disp, (w, h), dst=self._full, interpolation=cv2.INTER_LINEAR)
        cv2.add(self._full, self._ident, dst=self._full)
        return self._full

    def __call__(self, offsets: np.ndarray, photo: np.ndarray | None = None) -> np.ndarray:
        """Warp ``photo`` (default: the rig's; e.g. a shaded copy of the same size)."""
        self.compute_pixel_map(offsets)
        return cv2.remap(self.rig.photo if photo is None else photo, self._full, None,
                         cv2.INTER_LINEAR, dst=self.frame, borderMode=cv2.BORDER_REPLICATE)
