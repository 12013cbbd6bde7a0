"""Keeping the warp from folding (beyond the paper, which assumes moderate head motion).

Where a strongly turned head would fold the mesh in 2D, the offsets are relaxed until no
triangle flips (``Unfolder``); a large move towards a frame edge is softly capped so the held
border band is never squeezed flat (``soft_cap``, ``head_scale``, ``WarpParams.max_squeeze``).
Built once per photo (``rig.build_rig``), applied per clip frame (``motion.frame_offsets``).
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix

from reactive.params import WarpParams


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
    ``stiff`` points (the lips) give way only in a flipped triangle with no other movable
    corner: a driver's lower lip rolling down over the skin beneath, on a face whose lip
    sits closer to that skin, keeps its thickness and the skin yields (s42 x d10: the lower
    lip had lost 14% of its thickness). Where the skin's neighbours cannot take it past the
    lip (the chin below coming down less than the lip), a last pass lets the lip lead: the
    skin corners of a fold with a lip corner follow the lip's offset, and the chin's folds
    this pushes down are relaxed as any (s42 x d10's widest-open frames: folded share 1.0%
    -> 0.25%; s42 x d12's frame 166, the lower lip over the chin, 0.50% -> 0.26%).
    Orientation and shape are read on ``layout`` (K, 2) when given: the positions the mesh
    was triangulated on (``jaw.part_lips``).
    """

    def __init__(self, rest: np.ndarray, triangles: np.ndarray, movable: np.ndarray,
                 max_iterations: int = 30, openings: tuple[np.ndarray, ...] = (),
                 layout: np.ndarray | None = None, stiff: np.ndarray | None = None):
        self.rest = rest.astype(np.float64)
        shape_of = self.rest if layout is None else np.asarray(layout, np.float64)
        self.soft = movable.copy()
        if stiff is not None:
            self.soft[np.asarray(stiff)] = False
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
        # A fold among moving points is relaxed towards the moving neighbours only: a held
        # point's zero offset says nothing about where they belong, and averaging it in
        # drags a face that moved far towards the border back whole, folding it elsewhere.
        # A fold against a held point is relaxed towards all neighbours, held ones included.
        free = adj @ coo_matrix((movable.astype(np.float64), (np.arange(k), np.arange(k))),
                                shape=(k, k)).tocsr()
        self.free_adjacency = free
        self.free_degree = np.maximum(np.asarray(free.sum(axis=1)).ravel(), 1.0)
        area = signed_areas(shape_of, triangles)
        self.orientation = np.sign(area)
        # A fold worth undoing: the triangle turned over by a quarter of its rest area, and by
        # at least a pixel (area2 2). Small dense-mesh triangles flip a little under landmark
        # jitter; that fold is invisible, and relaxing it would only blunt the expression.
        self.tolerance = np.maximum(0.25 * np.abs(area), 2.0)
        # Slivers are not watched: across closed lips (or any two points that nearly touch at
        # rest) a triangle has no area to fold, and opening the mouth flips it legitimately.
        # Healthy: twice the area at least 5% of the longest edge squared (~3 degrees).
        pts = shape_of[triangles]
        edges = np.stack([pts[:, 1] - pts[:, 0], pts[:, 2] - pts[:, 1], pts[:, 0] - pts[:, 2]], 1)
        longest2 = (edges ** 2).sum(axis=2).max(axis=1)
        self.watched = np.abs(area) >= 0.05 * longest2
        # Nor triangles spanning an opening (all corners on the inner lips, or on one eye's
        # rim): they cover a hole, not skin, and the mouth stage paints that hole anyway.
        for ring in openings:
            self.watched &= ~np.isin(triangles, ring).all(axis=1)

    def _folded(self, off: np.ndarray) -> np.ndarray:
        area = signed_areas(self.rest + off, self.triangles) * self.orientation
        return (area < -self.tolerance) & self.watched

    def _turned_over(self, off: np.ndarray) -> float:
        """The area the folds worth undoing turn over (px^2, twice)."""
        area = signed_areas(self.rest + off, self.triangles) * self.orientation
        return float(-area[(area < -self.tolerance) & self.watched].sum())

    def _lip_over_skin(self, off: np.ndarray) -> bool:
        """Whether a fold worth undoing has both a lip (stiff) and a skin corner."""
        soft = self.soft[self.triangles[self._folded(off)]]
        return bool((soft.any(axis=1) & ~soft.all(axis=1)).any())

    def _lips_lead(self, off: np.ndarray, flipped: np.ndarray) -> np.ndarray:
        """The lip-led step: the soft movable corners of the ``flipped`` triangles with a
        stiff corner move halfway towards the mean offset of those stiff corners (a corner in
        several such folds, towards the mean of theirs), in place on ``off``. Returns the
        folds it did not touch (those with no lip corner, or no soft one)."""
        folded = self.triangles[flipped]
        soft = self.soft[folded]
        mixed = soft.any(axis=1) & ~soft.all(axis=1)
        if not mixed.any():
            return flipped
        tri, soft = folded[mixed], soft[mixed]
        lip = np.where(~soft, 1.0, 0.0)
        lead = (lip[..., None] * off[tri]).sum(axis=1) / lip.sum(axis=1)[:, None]
        skin = soft & self.movable[tri]
        k = len(off)
        target = np.zeros((k, 2))
        count = np.bincount(tri[skin], minlength=k).astype(np.float64)
        for axis in range(2):
            target[:, axis] = np.bincount(tri[skin], np.repeat(lead[:, axis], 3)[skin.ravel()],
                                          minlength=k)
        moved = count > 0
        off[moved] = 0.5 * off[moved] + 0.5 * target[moved] / count[moved, None]
        rest = flipped.copy()
        rest[np.flatnonzero(flipped)[mixed]] = False
        return rest

    def _relax(self, off: np.ndarray, flipped: np.ndarray, towards_held: bool,
               lips_lead: bool = False) -> bool:
        """One step on the corners of the ``flipped`` triangles, in place on ``off``;
        False when none can move. ``towards_held``: corners of folds against a held point
        move towards all their neighbours, held ones included (the fold is undone by pulling
        back); otherwise every corner moves towards its moving neighbours only.
        ``lips_lead``: folds with a lip corner take the lip-led step (``_lips_lead``)."""
        if lips_lead:
            before = int(flipped.sum())
            flipped = self._lips_lead(off, flipped)
            if not flipped.any():
                return before > 0
        folded = self.triangles[flipped]
        # Stiff corners (the lips) give way only in a triangle with no soft corner.
        soft = self.soft[folded]
        chosen = soft | ~soft.any(axis=1, keepdims=True)
        if towards_held:
            at_held = ~self.movable[folded].all(axis=1)
            held_side = np.unique(folded[at_held][chosen[at_held]])
            held_side = held_side[self.movable[held_side]]
        else:
            at_held = np.zeros(len(folded), bool)
            held_side = np.zeros(0, np.int64)
        free_side = np.setdiff1d(np.unique(folded[~at_held][chosen[~at_held]]), held_side)
        free_side = free_side[self.movable[free_side]]
        if len(held_side) + len(free_side) == 0:
            return False
        mean_held = (self.adjacency[held_side] @ off) / self.degree[held_side, None]
        mean_free = (self.free_adjacency[free_side] @ off) / self.free_degree[free_side, None]
        off[held_side] = 0.5 * off[held_side] + 0.5 * mean_held
        off[free_side] = 0.5 * off[free_side] + 0.5 * mean_free
        return True

    def _passes(self, start: np.ndarray, lips_lead: bool) -> tuple[np.ndarray | None, int, int]:
        """Relax from ``start`` towards all neighbours, then from the best seen towards the
        moving ones only. Returns the offsets with the fewest folds seen (None: none fewer
        than ``start``'s), their number of folds, and the steps taken."""
        best, fewest = None, int(self._folded(start).sum())
        used = 0
        for towards_held in (True, False):
            if not fewest:
                break
            off = start.copy() if best is None else best.copy()
            for step in range(self.max_iterations + 1):
                flipped = self._folded(off)
                count = int(flipped.sum())
                if count < fewest:
                    best, fewest = off.copy(), count
                if (not count or step == self.max_iterations
                        or not self._relax(off, flipped, towards_held, lips_lead)):
                    break
                used += 1
        return best, fewest, used

    def __call__(self, offsets: np.ndarray) -> int:
        """Relax ``offsets`` (K, 2) float32 in place. Returns the number of steps taken
        (at most four times ``max_iterations``).

        Where a fold cannot be undone (a face pressed against held border points), pulling
        towards the held points can spread it instead; then the folds among moving points
        alone are relaxed. Where a lip is left folded over skin, the same two passes again
        from the input with the lips leading (``_lips_lead``), kept if they fold fewer
        triangles (or as many, over less area). The offsets left are the input's when no
        step improved on them."""
        start = offsets.astype(np.float64)
        best, fewest, used = self._passes(start, lips_lead=False)
        if fewest and self._lip_over_skin(start if best is None else best):
            led, led_fewest, led_used = self._passes(start, lips_lead=True)
            used += led_used
            kept = start if best is None else best
            if led is not None and (led_fewest < fewest or (
                    led_fewest == fewest
                    and self._turned_over(led) < self._turned_over(kept))):
                best = led
        if best is not None:
            offsets[:] = best
        return used
