"""The jaw is never held (issue 10; beyond the paper, whose border points never move).

An open mouth drops the chin by up to about a fifth of the face size. Four things held it
back, each undone here, once per photo (``rig.build_rig``) or per frame:

- closed lips: the face mesh reads their inner contours within a fraction of a pixel of each
  other, Delaunay joins the upper lip to the lower across the line where they touch, and
  opening the mouth turns those triangles over (the Unfolder then pulled the lips back
  together). The mesh is triangulated on a layout with the lips parted (``part_lips``); the
  rest positions stay the photo's.
- a peripheral point on the neck or collar where the dropping jaw goes: tracked still, it
  held the chin (the Unfolder relaxing the fold over it). None is kept there (``jaw_zone``).
- the frame's bottom border band on a photo cropped close under the chin: its hold folded
  the strip under the chin or held it. Under the jaw the band gives way as the chin comes
  down, the neck compressed, and past ``jaw_squeeze_max`` of its height the bottom edge
  there is pushed out of the frame (``JawGive``, ``jaw_holds``, ``frame_hold``). Beside
  the jaw the band stays still.
- the cap on head moves towards a frame edge (``folds.head_scale``): a nod bringing the chin
  down towards a close bottom edge was scaled back whole. Over the column under the jaw the
  edge gives way, so the downward room there is not capped (``JawGive.free_room``,
  ``JawGive.nod_scale``), except while a strong turn is limited (``turn_share``).

And one thing that did not hold the jaw but spoilt the lip: under a lower lip rolling out
(an "O") Eq. 1 moves the skin much less than the lip, and the ring under the lip folded into
a hard line. That skin is spread evenly between the lip and the jaw line (``ChinSkin``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from reactive.core import landmarks as lm
from reactive.core.folds import head_scale, signed_areas
from reactive.core.geometry import smoothstep
from reactive.params import TurnParams, WarpParams


def face_down(points: np.ndarray) -> np.ndarray:
    """The face's own downward axis: unit (2,) float64 perpendicular to the line between the
    eye centres, towards the chin. ``points`` (>= 468, 2)."""
    pts = np.asarray(points, np.float64)
    eyes = pts[lm.LEFT_EYE].mean(axis=0) - pts[lm.RIGHT_EYE].mean(axis=0)
    eyes = eyes / max(float(np.linalg.norm(eyes)), 1e-9)
    return np.array([-eyes[1], eyes[0]], np.float64)


def turn_share(yaw: float, params: TurnParams) -> float:
    """How much of the head's move held back by the bottom edge alone is given back under
    the jaw (``JawGive.nod_scale``) at a driver's ``yaw`` (relative to the clip's neutral
    frame): all of it up to the turn limit's knee (``core.turns``), none from its
    ``max_yaw`` on (smoothstep). While the turn is limited the face is already at the edge
    of what a 2D warp shows: a head turning far while coming down, given its whole move,
    folded its far cheek (s42 x d3: 116k -> 183k folded px over the clip, frames 140-170
    and 240-290, where d3 turns to 0.3-0.45; with this share 121k)."""
    span = max(params.max_yaw - params.yaw_knee, 1e-6)
    return float(smoothstep(np.clip((params.max_yaw - abs(yaw)) / span, 0.0, 1.0)))


def part_lips(points: np.ndarray, gap_frac: float) -> np.ndarray:
    """The face points with the inner lip contours at least ``gap_frac`` of the mouth's width
    apart in the middle (in proportion towards the corners): the layout the mesh is
    triangulated on. (N >= 468, 2) -> a new (N, 2) float64 array; open lips are unchanged.

    Triangulated with the lips apart, the only triangles between the lips are the opening's
    (every corner on the inner contour), and an opening mouth turns none over (s9 x d3: the
    lips had opened 7% as far as asked, the upper lip thickened fourfold). Each point moves
    at most a quarter of its lip's thickness, so it never passes the next ring of the lip.
    """
    out = np.array(points, np.float64)
    down = face_down(out)
    width = float(np.linalg.norm(out[lm.MOUTH_CORNERS[0]] - out[lm.MOUTH_CORNERS[1]]))
    upper, lower = lm.UPPER_INNER_LIP, lm.LOWER_INNER_LIP
    n = len(upper)
    profile = np.sin(np.pi * np.arange(1, n + 1) / (n + 1))  # 1 mid-mouth, ~0.3 at the ends
    thick = min(float((out[lm.UPPER_LIP_BOTTOM] - out[lm.UPPER_LIP_TOP]) @ down),
                float((out[lm.LOWER_LIP_BOTTOM] - out[lm.LOWER_LIP_TOP]) @ down))
    want = profile * min(gap_frac * width, 0.5 * max(thick, 0.0))
    short = np.maximum(want - (out[lower] - out[upper]) @ down, 0.0)
    out[upper] -= 0.5 * short[:, None] * down
    out[lower] += 0.5 * short[:, None] * down
    return out


def jaw_zone(face_points: np.ndarray, depth: float) -> np.ndarray:
    """The region a dropping jaw may cover: the jaw line swept down the face's own axis,
    ``depth`` px at the chin and less towards the jaw's ends, in proportion to how far below
    the line between the ends each point lies (the jaw turns about the ears: its angles
    hardly drop). (2J, 2) float32 polygon."""
    pts = np.asarray(face_points, np.float64)
    jaw = pts[lm.JAW_LINE]
    down = face_down(pts)
    below = (jaw - 0.5 * (jaw[0] + jaw[-1])) @ down
    reach = depth * np.clip(below / max(float(below.max()), 1e-6), 0.0, 1.0)
    return np.concatenate([jaw, (jaw + reach[:, None] * down)[::-1]]).astype(np.float32)


def outside_jaw_zone(candidates: np.ndarray, face_points: np.ndarray, depth: float
                     ) -> np.ndarray:
    """Which of ``candidates`` (N, 2) may be peripheral control points: not in the
    ``jaw_zone``, where a point tracked still on the neck or collar would hold the jaw, or
    fold under it. (N,) bool."""
    zone = jaw_zone(face_points, depth).reshape(-1, 1, 2)
    return np.array([cv2.pointPolygonTest(zone, (float(x), float(y)), False) < 0
                     for x, y in np.asarray(candidates, np.float64)], dtype=bool)


def jaw_column(face_points: np.ndarray, positions: np.ndarray, fade_px: float) -> np.ndarray:
    """How much each of ``positions`` (..., 2) lies in the column under the jaw: 1 below the
    mouth and between the jaw line's two ends, across the face's own axes (``face_down``);
    falling to 0 (smoothstep) within ``fade_px`` beyond. Returns (...) float32."""
    pts = np.asarray(face_points, np.float64)
    down = face_down(pts)
    across = np.array([down[1], -down[0]])
    centre = pts[[lm.UPPER_LIP_BOTTOM, lm.LOWER_LIP_TOP]].mean(axis=0)
    u_jaw = (pts[lm.JAW_LINE] - centre) @ across
    rel = np.asarray(positions, np.float64) - centre
    u, v = rel @ across, rel @ down
    side = np.maximum(np.maximum(u_jaw.min() - u, u - u_jaw.max()), 0.0)
    t = np.clip(1.0 - side / max(fade_px, 1e-6), 0.0, 1.0) \
        * np.clip(1.0 + v / max(fade_px, 1e-6), 0.0, 1.0)
    return smoothstep(t).astype(np.float32)


def jaw_holds(face_points: np.ndarray, face_mask: np.ndarray, hold: np.ndarray,
              params: WarpParams, face_size: float, scale: tuple[float, float] = (1.0, 1.0)
              ) -> tuple[np.ndarray, np.ndarray]:
    """The border ``hold`` with the jaw let free: ``(hold, hold_give)`` (h, w) float32 on the
    pixel grid (or ``GridGeometry``'s, ``scale`` photo px per cell) of ``face_mask``.

    In the column under the jaw (``jaw_column``) the face and a margin of
    ``jaw_face_fade_frac`` of the face size round it are never held (a chin inside the
    hold's fade moved only as far as the hold let it); the rest of the column's hold is
    ``hold_give``, released per frame as far as the jaw's drop needs (``JawGive.need``)."""
    h, w = face_mask.shape
    sx, sy = scale
    yy, xx = np.mgrid[0:h, 0:w]
    pix = np.stack([(xx + 0.5) * sx - 0.5, (yy + 0.5) * sy - 0.5], axis=-1)
    column = jaw_column(face_points, pix, params.jaw_side_fade_frac * face_size)
    outside = cv2.distanceTransform((~face_mask).astype(np.uint8), cv2.DIST_L2, 3)
    near = np.clip(1.0 - outside * max(sx, sy) / max(params.jaw_face_fade_frac * face_size, 1.0),
                   0.0, 1.0)
    free = (1.0 - hold) * column
    return (hold + free * near).astype(np.float32), (free * (1.0 - near)).astype(np.float32)


@dataclass(frozen=True)
class JawGive:
    """The frame's bottom edge gives way under a dropping jaw. On a photo cropped close under
    the chin the held border band held the chin back (d3's own neutral frame: the chin 46 px
    above the edge moved 45% of its drop), and a chin brought down by the head and the jaw
    together was sliced flat where the hold folded the strip under it (s42 x d12).

    ``need`` in [0, 1] grows with the largest ratio, over the jaw line, of a point's drop to
    its distance from the bottom edge (from ``start`` to ``full``); the band's hold under the
    jaw is released by that much (``frame_hold``): the neck is compressed, never folded.
    Past ``squeeze`` of that distance the strip could not take the drop even so: the bottom
    edge's control points under the jaw then move down, out of the frame, by the excess
    (``give_edge``). Beside the jaw the band stays held.
    """

    points: np.ndarray       # (J,) int, the jaw line's face points
    gap: np.ndarray          # (J,) float32 px from each to the frame's bottom edge
    edge: np.ndarray         # (E,) int, control points on the bottom edge under the jaw
    edge_weight: np.ndarray  # (E,) float32, how much of the excess each takes (1 under it)
    start: float
    full: float
    squeeze: float
    across: np.ndarray       # (2,) float64, the face's own axis across (``face_down`` turned)
    span: tuple[float, float]  # the jaw line's ends along ``across``
    fade: float              # px beyond them over which the free room fades out
    height: float            # the frame's height, px

    def under(self, positions: np.ndarray) -> np.ndarray:
        """How much the frame's bottom edge gives way below each of ``positions`` (N, 2): 1
        between the jaw line's ends across the face (whatever the height), falling to 0
        (smoothstep) within ``fade`` beyond; 0 everywhere with no edge point under the jaw.
        (N,) float32."""
        if not len(self.edge):
            return np.zeros(len(positions), np.float32)
        u = np.asarray(positions, np.float64) @ self.across
        side = np.maximum(np.maximum(self.span[0] - u, u - self.span[1]), 0.0)
        return smoothstep(np.clip(1.0 - side / max(self.fade, 1e-6), 0.0, 1.0)
                          ).astype(np.float32)

    def free_room(self, room: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """``room`` (N, 4) (``folds.point_room``) with the downward room of points ending at
        ``positions`` (N, 2) over the giving column (``under``) grown by the frame's height.
        Where the face leaves the column (a head moving sideways as it comes down) the band
        is held and the cap stays, or the held band's ramp folds the field (s42 x d12).
        Returns a new (N, 4) float32."""
        out = np.array(room, np.float32)
        out[:, 3] += self.under(positions) * np.float32(self.height)
        return out

    def nod_scale(self, rigid: np.ndarray, scale: float, room: np.ndarray,
                  rest: np.ndarray, fraction: float, share: float = 1.0) -> float:
        """The factor for the head's move ``rigid`` (N, 2) of the face points ``rest``
        (N, 2), given ``scale``, the cap's (``folds.head_scale`` with ``room`` (N, 4)):
        what the bottom edge alone took back is given back, ``share`` (0..1) of it.

        A nod bringing the chin down towards a close bottom edge was scaled back whole (d3's
        own neutral frame, the chin 46 px above the edge: the head had moved a third as far
        as the driver's). Over the column under the jaw the edge gives way (``free_room``),
        so the move is capped only by the other edges. ``share`` is ``turn_share``: none
        while a strong turn is limited."""
        rigid = np.asarray(rigid, np.float64)
        free = head_scale(rigid, self.free_room(room, np.asarray(rest, np.float64) + rigid),
                          fraction)
        return scale + max(free - scale, 0.0) * float(share)

    def need(self, offsets: np.ndarray) -> float:
        """How far the hold under the jaw is released for ``offsets`` (K, 2): 0..1."""
        ratio = float(np.max(offsets[self.points, 1] / self.gap))
        return float(smoothstep((ratio - self.start) / (self.full - self.start)))

    def excess(self, offsets: np.ndarray) -> float:
        """Px the bottom edge gives under the jaw: the drop beyond ``squeeze`` of the gap."""
        return float(max(np.max(offsets[self.points, 1] - self.squeeze * self.gap), 0.0))

    def give_edge(self, offsets: np.ndarray) -> None:
        """Move the bottom edge's points under the jaw down by the ``excess``, in place."""
        if len(self.edge):
            excess = self.excess(offsets)
            if excess > 0.0:
                offsets[self.edge, 1] = self.edge_weight * excess


def jaw_give(face_points: np.ndarray, rest: np.ndarray, shape: tuple[int, int],
             params: WarpParams, face_size: float) -> JawGive:
    """The rig's ``JawGive``: the jaw line's distances to the bottom edge, and the control
    points on that edge under the jaw (``rest`` (K, 2)'s, corners excluded)."""
    h, w = shape
    pts = np.asarray(face_points, np.float64)
    fade = params.jaw_side_fade_frac * face_size
    edge = np.flatnonzero((rest[:, 1] >= h - 1) & (rest[:, 0] > 0) & (rest[:, 0] < w - 1))
    weight = jaw_column(pts, rest[edge], fade)
    keep = weight > 0
    arrays = [lm.JAW_LINE.copy(),
              np.maximum((h - 1) - pts[lm.JAW_LINE, 1], 1.0).astype(np.float32),
              edge[keep], weight[keep]]
    down = face_down(pts)
    across = np.array([down[1], -down[0]])
    u_jaw = pts[lm.JAW_LINE] @ across
    for a in (*arrays, across):
        a.flags.writeable = False
    return JawGive(*arrays, across=across, start=params.jaw_give_start, full=params.jaw_give_full,
                   squeeze=params.jaw_squeeze_max, span=(float(u_jaw.min()), float(u_jaw.max())),
                   fade=params.jaw_free_fade_frac * face_size, height=float(h))


def frame_hold(hold: np.ndarray, give: np.ndarray | None, jaw: JawGive | None,
               offsets: np.ndarray, out: np.ndarray) -> np.ndarray:
    """The border hold for this frame's ``offsets`` (K, 2): ``hold`` (h, w), released under
    the jaw by ``give`` (h, w) as far as the jaw's drop needs (``JawGive.need``), in ``out``
    (h, w) float32; or ``hold`` itself when nothing is released (no copy)."""
    need = jaw.need(offsets) if jaw is not None and give is not None and give.size else 0.0
    if need <= 0.0:
        return hold
    cv2.scaleAdd(give, need, hold, dst=out)
    return out


class ChinSkin:
    """The skin from the lower lip to the jaw line, spread evenly when Eq. 1 squeezes it.

    A lower lip rolling out (an "O") moves down much further than the skin under it; by
    Eq. 1 the triangles under the lip keep a tenth of their area or turn over, and the
    photo's soft edge from lip to skin is packed into a hard, stepped line. Each mesh point
    between the lower lip's outer edge and the jaw line (from the jaw's corners below the
    mouth round the chin) is given, once per photo, its place along its column across the
    mouth: between the lip edge above it and the jaw line below, both interpolated along
    the mouth's axis. Per frame, when Eq. 1 leaves any triangle there less than ``floor``
    of its rest area, those points move towards the same place between the lip's and the
    jaw's moved edges - the column stretched or squeezed evenly - fully once the smallest
    keeps ``floor - span``. The lip and the jaw line themselves move as Eq. 1 says.

    Parameters
    ----------
    rest : (K, 2) control points of the rig; the first 468 are the face mesh.
    triangles : (T, 3) int the rig's triangles.
    """

    def __init__(self, rest: np.ndarray, triangles: np.ndarray, *,
                 params: WarpParams = WarpParams()):
        rest = np.asarray(rest, np.float64)
        if rest.ndim != 2 or rest.shape[0] < lm.N_MESH or rest.shape[1] != 2:
            raise ValueError(f"`rest` must be (K >= {lm.N_MESH}, 2); got {rest.shape}")
        lip = lm.LOWER_LIP_OUTER
        jaw = lm.JAW_LINE[2:-2][::-1]               # image-right jaw corner round the chin
        self.floor = float(params.chin_skin_floor)
        self.span = max(float(params.chin_skin_span), 1e-6)
        a, b = rest[lip[0]], rest[lip[-1]]
        axis = (b - a) / max(float(np.linalg.norm(b - a)), 1e-9)
        down = np.array([-axis[1], axis[0]])
        u, v = (rest - a) @ axis, (rest - a) @ down
        region = rest[np.concatenate([lip, jaw])].astype(np.float32)
        edge = set(lip.tolist()) | set(jaw.tolist())
        inside = [k for k in range(lm.N_MESH) if k not in edge
                  and cv2.pointPolygonTest(region, (float(rest[k, 0]), float(rest[k, 1])),
                                           True) > 0.5]
        self.points = np.array(inside, np.int64)
        self.edges = np.concatenate([lip, jaw])
        weights = np.zeros((len(inside), len(self.edges)))
        for r, k in enumerate(inside):
            top = _along(u[lip], u[k])
            bottom = _along(u[jaw], u[k])
            v_top = sum(w * v[lip[j]] for j, w in top)
            v_bottom = sum(w * v[jaw[j]] for j, w in bottom)
            t = float(np.clip((v[k] - v_top) / max(v_bottom - v_top, 1e-9), 0.0, 1.0))
            for j, w in top:
                weights[r, j] += (1.0 - t) * w
            for j, w in bottom:
                weights[r, len(lip) + j] += t * w
        self.weights = weights
        tris = np.asarray(triangles)
        tris = tris[np.isin(tris, self.points).any(axis=1)]
        area = signed_areas(rest, tris)
        keep = np.abs(area) > 1e-9
        self.triangles, self._rest_area = tris[keep], area[keep]
        self._rest = rest

    def _shares(self, offsets: np.ndarray) -> np.ndarray:
        """Each of the region's triangles' signed area under ``offsets`` over its rest's
        (either winding): below 0, turned over."""
        return signed_areas(self._rest + offsets, self.triangles) / self._rest_area

    def squeeze(self, offsets: np.ndarray) -> float:
        """The smallest share of its rest area a triangle of the region keeps under
        ``offsets`` (negative: turned over); 1.0 when the region is empty."""
        if len(self.triangles) == 0:
            return 1.0
        return float(self._shares(offsets).min())

    def _folded(self, offsets: np.ndarray) -> float:
        """The rest area of the region's triangles turned over by ``offsets``, weighted by
        how far (share below zero)."""
        shares = self._shares(offsets)
        return float((np.maximum(-shares, 0.0) * np.abs(self._rest_area)).sum())

    def __call__(self, offsets: np.ndarray) -> float:
        """Spread the region's skin in ``offsets`` (K, 2) float32 in place, as far as its
        squeeze asks, but never so far that more of it turns over than Eq. 1 turned (a
        strongly turned head's far jaw, where the columns run askew): halved until it does
        not, or left alone. Returns how far (0: untouched, 1: the even spread)."""
        if len(self.points) == 0:
            return 0.0
        w = float(np.clip((self.floor - self.squeeze(offsets)) / self.span, 0.0, 1.0))
        if w <= 0.0:
            return 0.0
        now = offsets[self.points].astype(np.float64)
        even = self.weights @ offsets[self.edges].astype(np.float64)
        before = self._folded(offsets)
        for _ in range(3):
            offsets[self.points] = (now + w * (even - now)).astype(np.float32)
            if self._folded(offsets) <= before:
                return w
            w *= 0.5
        offsets[self.points] = now.astype(np.float32)
        return 0.0


def _along(positions: np.ndarray, u: float) -> list[tuple[int, float]]:
    """Linear interpolation weights at ``u`` over ``positions`` (sorted or not), clamped at
    the ends: [(index, weight), (index, weight)]."""
    order = np.argsort(positions)
    p = positions[order]
    j = int(np.clip(np.searchsorted(p, u), 1, len(p) - 1))
    f = float(np.clip((u - p[j - 1]) / max(p[j] - p[j - 1], 1e-9), 0.0, 1.0))
    return [(int(order[j - 1]), 1.0 - f), (int(order[j]), f)]

