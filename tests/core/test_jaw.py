"""The jaw is never held (issue 10, ``core/jaw.py``): the lips and the jaw move as far as
Eq. 1 asks, on synthetic landmarks (the built-in clips' face mesh), no tracker needed."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest
from scipy.spatial import Delaunay

from reactive.core import landmarks as lm
from reactive.core.folds import head_scale, signed_areas
from reactive.core.geometry import locate_pixels
from reactive.core.jaw import jaw_column, part_lips, turn_share
from reactive.core.motion import frame_offsets
from reactive.core.rig import border_hold, border_points, build_rig, pixel_barycentrics
from reactive.core.similarity import apply_similarity
from reactive.core.warper import GridWarper, Warper
from reactive.io.clippack import load_pack
from reactive.params import TurnParams, WarpParams
from reactive.tools import quality
from tests.helpers import ROOT

CLIPS = ROOT / "assets" / "clips"


def closed_mouth_face(pack, seed=0):
    """The clip's neutral face (its lips exactly closed) with the inner lip points jittered
    by a tenth of a pixel or so, as a face mesh reads closed lips on a photo: the contours
    touch and cross."""
    pts = pack.landmarks[pack.neutral_index].copy()
    rng = np.random.default_rng(seed)
    pts[lm.LIPS_INNER] += rng.normal(0.0, 0.15, (len(lm.LIPS_INNER), 2)).astype(np.float32)
    return pts


def eq1(rig, pack, i):
    """Eq. 1 offsets of the 468 face points."""
    n0 = pack.neutral_index
    return (pack.landmarks[i, :lm.N_MESH] - pack.landmarks[n0, :lm.N_MESH]) @ rig.phi[:, :2].T


@pytest.mark.parametrize("scale", [(1.0, 1.0), (4.0, 3.5)])
def test_locate_pixels_agrees_with_delaunay(scale):
    rng = np.random.default_rng(3)
    h, w = 90, 120
    pts = np.concatenate([rng.uniform(5, [w - 5, h - 5], (40, 2)),
                          border_points(w, h, 5)]).astype(np.float64)
    tri = Delaunay(pts)
    gh, gw = int(h / scale[1]), int(w / scale[0])
    ids_d, wts_d = pixel_barycentrics(tri, (gh, gw), scale)
    ids_r, wts_r = locate_pixels(pts, tri.simplices.astype(np.int32), (gh, gw), scale)
    offsets = rng.normal(0, 5, (len(pts), 2))
    field_d = (wts_d[..., None] * offsets[ids_d]).sum(axis=2)
    field_r = (wts_r[..., None] * offsets[ids_r]).sum(axis=2)
    np.testing.assert_allclose(field_r, field_d, atol=1e-4)


def test_part_lips_parts_closed_lips_only():
    pack = load_pack(CLIPS / "surprise.npz")
    closed = closed_mouth_face(pack)[:lm.N_MESH]
    parted = part_lips(closed, 0.04)
    down = np.array([0.0, 1.0])  # the clip's face is upright
    width = float(np.linalg.norm(closed[61] - closed[291]))
    upper, lower = lm.UPPER_INNER_LIP, lm.LOWER_INNER_LIP
    gap = (parted[lower] - parted[upper]) @ down
    assert gap[4] >= 0.04 * width - 1e-6          # mid-mouth (13 over 14)
    assert (gap > 0).all()                        # no pair crosses any more
    moved = np.flatnonzero(np.abs(parted - closed).max(axis=1) > 0)
    assert set(moved) <= set(np.concatenate([upper, lower]))
    # Never past the next ring of the lip: at most a quarter of the thinner lip.
    thick = min(closed[13, 1] - closed[0, 1], closed[17, 1] - closed[14, 1])
    assert np.abs(parted - closed).max() <= 0.25 * thick + 1e-6
    # An open mouth is left as it is.
    i = int(np.argmax(lm.mouth_open_ratio(pack.landmarks)))
    open_mouth = pack.landmarks[i, :lm.N_MESH].astype(np.float64)
    np.testing.assert_array_equal(part_lips(open_mouth, 0.04), open_mouth)


@pytest.mark.parametrize("clip", ["surprise", "laugh"])
def test_closed_lips_open_as_far_as_the_driver(clip):
    """A photo with closed lips, the clip's jaw dropping: every lip point moves by Eq. 1 and
    no triangle of the lips turns over. Triangulated as they are, the lips' triangles cross
    the line where they touch and turn over as the mouth opens (the warp folds there, and
    the Unfolder pulls the skin of the lips about)."""
    pack = load_pack(CLIPS / f"{clip}.npz")
    pts = closed_mouth_face(pack)
    photo = np.zeros((512, 512, 3), np.uint8)
    lips = np.concatenate([lm.LIPS_INNER, lm.LIPS_OUTER])
    i = int(np.argmax(lm.mouth_open_ratio(pack.landmarks)))
    flipped = {}
    for frac in (0.0, WarpParams().lip_part_frac):
        rig = build_rig(photo, pts, pack, params=replace(WarpParams(), lip_part_frac=frac),
                        dense=False)
        off = frame_offsets(rig, pack, i)
        if frac:
            np.testing.assert_allclose(off[lips], eq1(rig, pack, i)[lips], atol=0.01)
        u = rig.unfold
        area = signed_areas(rig.rest.astype(np.float64) + off, rig.triangles) * u.orientation
        on_lips = np.isin(rig.triangles, lips).any(axis=1)
        flipped[frac] = int(((area < -u.tolerance) & on_lips).sum())
    assert flipped[WarpParams().lip_part_frac] == 0
    assert flipped[0.0] > 0  # the test can fail: without parting, the lips fold


def test_mouth_opening_reads_achieved_over_intended_without_the_head():
    pack = load_pack(CLIPS / "surprise.npz")
    frames = quality.widest_open_frames(pack, 0.1)
    assert len(frames) == round(0.1 * pack.frame_count)
    opening = lm.mouth_open_ratio(pack.landmarks)
    assert opening[frames].min() >= np.sort(opening)[-len(frames)]
    # A jaw drop with no head motion: the lower lip and the chin 12 px down, the upper lip
    # 2 px up, in the widest frames.
    n0 = pack.neutral_index
    intended = np.repeat(pack.landmarks[n0][None].astype(np.float64), pack.frame_count, 0)
    intended[frames[:, None], [14, 17, 152], 1] += 12.0
    intended[frames[:, None], [0, 13], 1] -= 2.0
    perfect = quality.mouth_opening(intended, intended, frames, n0)
    for part in ("upper_lip", "lower_lip", "chin", "opening", "lower_lip_thickness"):
        assert perfect[part] == pytest.approx(1.0)
    assert perfect["chin_px"] == pytest.approx(12.0)
    # The chin only half way, and every frame's head turned, scaled and moved: the head is
    # removed, the chin's shortfall read.
    detected = intended.copy()
    detected[frames, 152, 1] -= 6.0
    c, s = np.cos(0.1), np.sin(0.1)
    head = np.array([[1.1 * c, -1.1 * s, 7.0], [1.1 * s, 1.1 * c, -4.0]])
    detected[frames] = apply_similarity(head, detected[frames])
    got = quality.mouth_opening(detected, intended, frames, n0)
    assert got["chin"] == pytest.approx(0.5, abs=1e-6)
    assert got["chin_err_px"] == pytest.approx(6.0, abs=1e-6)
    assert got["lower_lip"] == pytest.approx(1.0, abs=1e-6)
    assert got["upper_lip"] == pytest.approx(1.0, abs=1e-6)


def jaw_drop_pack(pack, drop_px, collar):
    """Two frames of ``pack``'s neutral face: as it is, then with the jaw dropped by
    ``drop_px`` (everything below the mouth moved down, in proportion to its distance below
    the lips), and one peripheral point at ``collar`` that never moves (the neck)."""
    pts = pack.landmarks[pack.neutral_index].astype(np.float64)
    mouth_y, chin_y = pts[[13, 14], 1].mean(), pts[152, 1]
    dropped = pts.copy()
    dropped[:, 1] += drop_px * np.clip((pts[:, 1] - mouth_y) / (chin_y - mouth_y), 0, 1)
    dropped[13, 1] = pts[13, 1]
    lms = np.stack([pts, dropped]).astype(np.float32)
    still = np.tile(np.asarray(collar, np.float32), (2, 1, 1))
    return replace(pack, landmarks=lms, face_detected=np.ones(2, bool), peripheral=still,
                   peripheral_valid=np.ones((2, 1), bool), head=pack.head[[0, 0]],
                   neutral_index=0, mouth=None, mouth_affine=None, ratio=None, ratio_box=None)


def test_a_still_point_under_the_chin_does_not_hold_the_jaw():
    """A peripheral point on the collar just under the chin (tracked still, as the neck is)
    would have the dropping chin fold over it, and the Unfolder would pull the chin back.
    Points where the jaw may go are not kept."""
    base = load_pack(CLIPS / "surprise.npz")
    pts = base.landmarks[base.neutral_index]
    pack = jaw_drop_pack(base, 25.0, pts[152] + (0.0, 12.0))
    photo = np.zeros((512, 512, 3), np.uint8)
    found = {}
    for frac in (0.0, WarpParams().jaw_zone_frac):
        rig = build_rig(photo, pts, pack, params=replace(WarpParams(), jaw_zone_frac=frac),
                        dense=False)
        found[frac] = (len(rig.bindings[0].peripheral),
                       float(frame_offsets(rig, pack, 1)[152, 1] - eq1(rig, pack, 1)[152, 1]))
    assert eq1(rig, pack, 1)[152, 1] == pytest.approx(25.0, abs=0.01)
    assert found[WarpParams().jaw_zone_frac] == (0, pytest.approx(0.0, abs=0.01))
    assert found[0.0][0] == 1 and found[0.0][1] < -2.0  # kept, it holds the chin back


def low_face_rig(drop_px, gap_px=40.0, grid=False):
    """The clip's face moved down a 512 x 512 photo until its chin is ``gap_px`` above the
    bottom edge, and a pack whose jaw drops by ``drop_px`` (``jaw_drop_pack``)."""
    base = load_pack(CLIPS / "surprise.npz")
    pts = base.landmarks[base.neutral_index].copy()
    pts[:, 1] += (511.0 - gap_px) - pts[152, 1]
    pack = jaw_drop_pack(replace(base, landmarks=np.repeat(pts[None], 2, 0)), drop_px,
                         (20.0, 20.0))
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (512, 512, 3), dtype=np.uint8)
    return build_rig(photo, pts, pack, grid=grid), pack, pts


def fold_free(field):
    """min det(I + grad field): > 0 where the forward warp folds nowhere."""
    dy = np.gradient(field, axis=0)
    dx = np.gradient(field, axis=1)
    det = (1 + dx[..., 0]) * (1 + dy[..., 1]) - dy[..., 0] * dx[..., 1]
    return float(det.min())


def beside_jaw_band(rig, pts):
    """The held border band (bool (H, W)) outside the column under the jaw."""
    h, w = rig.shape
    yy, xx = np.mgrid[0:h, 0:w]
    band = np.zeros((h, w), bool)
    b = int(np.ceil(rig.params.border_hold_frac * min(h, w)))
    band[:b], band[-b:], band[:, :b], band[:, -b:] = True, True, True, True
    size = float(np.sqrt(cv2.contourArea(lm.face_polygon(pts))))
    return band & (jaw_column(pts, np.stack([xx, yy], -1),
                              rig.params.jaw_side_fade_frac * size) == 0)


def test_a_chin_close_above_the_edge_drops_all_the_way():
    """The chin 40 px above the bottom edge, the jaw dropping 25 px: the held band (26 px)
    and its fade would hold the chin and fold the strip under it. Released under the jaw,
    the chin drops fully, nothing folds, and the band beside the jaw stays still."""
    rig, pack, pts = low_face_rig(25.0)
    off = frame_offsets(rig, pack, 1)
    assert rig.jaw.need(off) == 1.0 and rig.jaw.excess(off) == 0.0
    field = Warper(rig).compute_field(off)
    x, y = np.round(pts[152]).astype(int)
    assert field[y, x, 1] == pytest.approx(25.0, abs=0.3)
    assert fold_free(field) > 0.1
    assert np.abs(field[beside_jaw_band(rig, pts)]).max() == 0.0
    # Under the jaw the bottom edge follows the smoothed field down, out of the frame:
    # nothing from beyond the edge is revealed.
    assert field[-1, :, 1].min() >= 0.0
    # Held as before (nothing released), the chin stops short.
    plain = replace(rig.dense, hold=border_hold(rig.shape, rig.params))
    held = Warper(replace(rig, jaw=None, dense=plain)).compute_field(off)
    assert held[y, x, 1] < 22.0


def nod_pack(pack, shift):
    """``pack`` with its second frame's whole head moved by ``shift`` (2,) px."""
    lms = pack.landmarks.copy()
    lms[1] += np.asarray(shift, np.float32)
    head = pack.head.copy()
    head[1, :, 2] += np.asarray(shift, head.dtype)
    return replace(pack, landmarks=lms, head=head)


def test_a_nod_towards_a_close_bottom_edge_is_not_scaled_back():
    """The whole head moving 30 px down with the chin 40 px above the bottom edge: capped
    by its room to the held band (14 px), the face moved 12 px. Over the column under the
    jaw the band gives way: the face moves the whole way, nothing folds, the band beside
    the jaw stays still. A move towards a side edge keeps its cap."""
    rig, pack, pts = low_face_rig(0.0)
    off = frame_offsets(rig, nod_pack(pack, (0.0, 30.0)), 1)
    for i in (10, 1, 152):  # forehead, nose tip, chin
        assert off[i] == pytest.approx((0.0, 30.0), abs=0.3)
    field = Warper(rig).compute_field(off)
    assert fold_free(field) > 0.0
    assert np.abs(field[beside_jaw_band(rig, pts)]).max() < 0.5
    left = 0.9 * rig.room[:rig.n_face, 0].min()
    off = frame_offsets(rig, nod_pack(pack, (-2.0 * left, 0.0)), 1)
    assert -off[:rig.n_face, 0].min() < left


def test_the_edge_gives_way_only_under_the_jaw():
    """The free room down is the column under the jaw line (beyond its ends, fading out):
    a face moving sideways off it as it comes down keeps its cap."""
    rig, _, pts = low_face_rig(0.0)
    jaw = rig.jaw
    ends = pts[lm.JAW_LINE[[0, -1]]]
    assert jaw.under(pts[[152, 1, 10]]) == pytest.approx(1.0)
    beyond = ends + np.array([[-1.0, 0.0], [1.0, 0.0]]) * (jaw.fade + 1.0)
    assert jaw.under(beyond) == pytest.approx(0.0)
    room = np.ones((3, 4), np.float32)
    grown = jaw.free_room(room, np.concatenate([pts[[152]], beyond]))
    assert grown[0, 3] == pytest.approx(1.0 + rig.shape[0]) and (grown[1:, 3] == 1.0).all()
    assert (grown[:, :3] == 1.0).all()


def test_the_nod_is_given_back_only_while_the_turn_is_not_limited():
    """All of the head's move the bottom edge took back is given back up to the turn
    limit's knee, none from its max_yaw on, smoothly in between; ``share`` 0 keeps the
    cap's own factor."""
    tp = TurnParams()
    assert turn_share(0.0, tp) == 1.0 and turn_share(-tp.yaw_knee, tp) == 1.0
    assert turn_share(tp.max_yaw, tp) == 0.0 and turn_share(-0.5, tp) == 0.0
    mid = turn_share(0.5 * (tp.yaw_knee + tp.max_yaw), tp)
    assert mid == pytest.approx(0.5)
    rig, _, pts = low_face_rig(0.0)
    f = rig.n_face
    rest = rig.rest[:f].astype(np.float64)
    rigid = np.zeros_like(rest)
    rigid[:, 1] = 30.0
    scale = head_scale(rigid, rig.room[:f], rig.params.max_squeeze)
    assert scale < 0.6
    full = rig.jaw.nod_scale(rigid, scale, rig.room[:f], rest, rig.params.max_squeeze)
    assert full == pytest.approx(1.0, abs=1e-3)
    assert rig.jaw.nod_scale(rigid, scale, rig.room[:f], rest, rig.params.max_squeeze,
                             0.0) == scale
    half = rig.jaw.nod_scale(rigid, scale, rig.room[:f], rest, rig.params.max_squeeze, 0.5)
    assert half == pytest.approx(0.5 * (scale + full))


def test_a_nod_with_a_limited_turn_keeps_its_cap():
    """The same nod with the driver turned past the limit's max_yaw: the cap stays."""
    rig, pack, pts = low_face_rig(0.0)
    lms = pack.landmarks.copy()
    # turn frame 1: the nose tip moved towards one cheek edge
    nose, (right, left) = lms[1, lm.NOSE_TIP], lms[1, list(lm.CHEEK_EDGES)]
    lms[1, lm.NOSE_TIP] = nose + 0.4 * (right - nose)
    turned = replace(pack, landmarks=lms)
    yaw = float(lm.yaw_ratio(lms[1]) - lm.yaw_ratio(lms[0]))
    assert abs(yaw) > rig.turn.params.max_yaw
    off = frame_offsets(rig, nod_pack(turned, (0.0, 30.0)), 1)
    assert off[10, 1] < 20.0  # the forehead: the head's move capped
    off = frame_offsets(rig, nod_pack(pack, (0.0, 30.0)), 1)
    assert off[10, 1] == pytest.approx(30.0, abs=0.3)


def test_a_drop_past_the_edge_moves_the_edge_under_the_jaw_only():
    """The jaw dropping 60 px with the chin 40 px above the edge: squeezed by at most
    ``jaw_squeeze_max``, the strip takes 28 px; the bottom edge under the jaw moves out of
    the frame by the rest (and by what the smoothing spreads there)."""
    rig, pack, pts = low_face_rig(60.0)
    off = frame_offsets(rig, pack, 1)
    assert rig.jaw.excess(off) == pytest.approx(60.0 - rig.params.jaw_squeeze_max * 40.0,
                                                abs=0.5)
    field = Warper(rig).compute_field(off)
    x, y = np.round(pts[152]).astype(int)
    assert field[y, x, 1] == pytest.approx(60.0, abs=0.5)
    assert field[-1, x, 1] > 20.0                   # the edge under the chin gives way
    assert fold_free(field) > 0.05
    assert np.abs(field[beside_jaw_band(rig, pts)]).max() == 0.0
    assert field[-1, :, 1].min() >= 0.0


def test_a_chin_far_above_the_edge_leaves_the_band_alone():
    rig, pack, pts = low_face_rig(10.0, gap_px=120.0)
    off = frame_offsets(rig, pack, 1)
    assert rig.jaw.need(off) == 0.0 and rig.jaw.excess(off) == 0.0
    field = Warper(rig).compute_field(off)
    assert np.abs(field[-int(np.ceil(0.05 * 512)):]).max() == 0.0


def test_grid_warp_releases_the_band_as_the_exact_warp_does():
    rig, pack, pts = low_face_rig(25.0, grid=True)
    off = frame_offsets(rig, pack, 1)
    exact = Warper(rig)(off).astype(np.float32)
    fast = GridWarper(rig)(off).astype(np.float32)
    x, y = np.round(pts[152]).astype(int)
    # Around the chin (random texture: compare smoothed, the grid rounds kinks).
    box = (slice(y - 30, y + 30), slice(x - 40, x + 40))
    a = cv2.GaussianBlur(exact[box], (0, 0), 3)
    b = cv2.GaussianBlur(fast[box], (0, 0), 3)
    assert np.abs(a - b).mean() < 4.0
    # And the chin's pixel is found 25 px lower on the grid's output too.
    source = GridWarper(rig).compute_pixel_map(off)
    assert source[y + 25, x, 1] == pytest.approx(y, abs=1.5)


def _rolled_out_lip(rig, pack, drop_px):
    """Offsets of the clip's widest-open frame (Eq. 1) with the lower lip rolled out
    further: its edges ``drop_px`` px lower at the middle, tapering to the corners, the
    skin under it left where Eq. 1 put it (as a driver's "O" asks)."""
    i = int(np.argmax(lm.mouth_open_ratio(pack.landmarks)))
    off = frame_offsets(replace(rig, chin=None, unfold=None), pack, i)
    for lip in (lm.LOWER_LIP_OUTER, lm.LOWER_INNER_LIP):
        u = (rig.rest[lip, 0] - rig.rest[61, 0]) / (rig.rest[291, 0] - rig.rest[61, 0])
        off[lip, 1] += drop_px * np.sin(np.pi * np.clip(u, 0.0, 1.0))
    return off


def test_the_skin_under_a_rolled_out_lip_is_spread_not_folded():
    """The lower lip drops far past the skin under it: Eq. 1 folds the ring under the lip
    (a hard line in the picture). ChinSkin spreads the skin evenly down to the jaw line,
    leaving the lip and the jaw line where Eq. 1 put them."""
    pack = load_pack(CLIPS / "surprise.npz")
    pts = pack.landmarks[pack.neutral_index].copy()
    rig = build_rig(np.zeros((512, 512, 3), np.uint8), pts, pack, dense=False)
    chin = rig.chin
    assert chin is not None and len(chin.points) > 20
    off = _rolled_out_lip(rig, pack, 0.06 * float(np.ptp(pts[lm.FACE_OVAL, 1])))
    jaw_drop = off[lm.CHIN, 1]
    assert chin.squeeze(off) < 0.0                        # Eq. 1 turns triangles over
    edges = off[chin.edges].copy()
    assert chin(off) == 1.0
    np.testing.assert_array_equal(off[chin.edges], edges)
    assert chin.squeeze(off) > 0.5
    # Each point of the skin between: down by no less than the jaw, no more than the lip.
    drop = off[chin.points, 1]
    assert drop.min() >= min(jaw_drop, off[lm.LOWER_LIP_OUTER, 1].min()) - 0.5
    assert drop.max() <= off[lm.LOWER_LIP_OUTER, 1].max() + 1e-3


def test_the_skin_under_the_lip_is_left_alone_unless_squeezed():
    """A move that squeezes nothing (the head moving whole, a little lip drop) is Eq. 1's
    own; between the floor and full spreading the skin moves part of the way."""
    pack = load_pack(CLIPS / "surprise.npz")
    pts = pack.landmarks[pack.neutral_index].copy()
    rig = build_rig(np.zeros((512, 512, 3), np.uint8), pts, pack, dense=False)
    chin = rig.chin
    whole = np.tile(np.float32([3.0, -2.0]), (len(rig.rest), 1))
    kept = whole.copy()
    assert chin(whole) == 0.0
    np.testing.assert_array_equal(whole, kept)
    # Find a drop whose squeeze lies between floor - span and floor: part of the way.
    p = WarpParams()
    for drop in np.linspace(0.0, 30.0, 61):
        off = _rolled_out_lip(rig, pack, drop)
        s = chin.squeeze(off)
        if p.chin_skin_floor - p.chin_skin_span < s < p.chin_skin_floor:
            eq = off.copy()
            w = chin(off)
            assert 0.0 < w < 1.0
            assert not np.array_equal(off, eq)
            break
    else:
        pytest.fail("no drop squeezes the skin part of the way")
