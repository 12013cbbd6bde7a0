"""Rig and Warper on synthetic landmarks: exact answers, no tracker needed."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from reactive.core import landmarks as lm
from reactive.core.clip import ClipPack
from reactive.core.folds import Unfolder, head_scale, signed_areas, soft_cap
from reactive.core.motion import frame_offsets
from reactive.core.rig import build_rig, smoothing_levels
from reactive.core.warper import Warper
from reactive.params import WarpParams
from tests.helpers import fake_face, fake_pack


@pytest.fixture
def photo():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(180, 200, 3), dtype=np.uint8)


def test_zero_offsets_give_the_photo_back(photo):
    pts = fake_face()
    pack = fake_pack(pts, np.zeros((2, 2)))
    rig = build_rig(photo, pts, pack)
    out = Warper(rig)(frame_offsets(rig, pack, 1))
    np.testing.assert_array_equal(out, photo)


def test_translated_face_moves_the_face_by_exactly_that(photo):
    pts = fake_face()
    pack = fake_pack(pts, np.array([[0.0, 0.0], [3.0, -2.0]]))
    rig = build_rig(photo, pts, pack, params=WarpParams(max_squeeze=0.0))
    out = Warper(rig)(frame_offsets(rig, pack, 1))
    # Well inside the face every pixel comes from 3 px left, 2 px down.
    ys, xs = np.mgrid[75:105, 85:115]
    np.testing.assert_array_equal(out[ys, xs], photo[ys + 2, xs - 3])


def test_phi_scales_and_rotates_offsets(photo):
    """Eq. 1: a driver face twice the size moves the target half as far."""
    target = fake_face()
    driver = (target - 100) * 2 + 300
    pack = fake_pack(driver, np.array([[0.0, 0.0], [4.0, 2.0]]))
    rig = build_rig(photo, target, pack, params=WarpParams(max_squeeze=0.0))
    np.testing.assert_allclose(rig.phi[:, :2], 0.5 * np.eye(2), atol=1e-6)
    off = frame_offsets(rig, pack, 1)
    np.testing.assert_allclose(off[:rig.n_face], np.tile([2.0, 1.0], (rig.n_face, 1)), atol=1e-5)
    np.testing.assert_array_equal(off[rig.n_face:], 0.0)


def test_smoothing_levels_zero_in_face_and_growing_outside():
    mask = np.zeros((200, 200), bool)
    mask[80:120, 80:120] = True
    params = WarpParams()
    level, radii = smoothing_levels(mask, params)
    assert (level[mask] == 0).all()
    assert len(radii) == params.blur_levels and radii[0] == 0
    assert radii[-1] <= params.blur_radius_max_frac * np.hypot(200, 200)
    assert level.max() <= params.blur_levels - 1
    row = level[100, 120:]
    assert (np.diff(row) >= 0).all() and row[-1] > row[1]
    # Continuous: the blur radius changes by at most a pixel from one pixel to the next
    # (slope 1), never by a whole level's jump.
    spacing = params.blur_radius_max_frac * np.hypot(200, 200) / (params.blur_levels - 1)
    assert np.abs(np.diff(level, axis=1)).max() * spacing <= 1.01
    assert np.abs(np.diff(level, axis=0)).max() * spacing <= 1.01


def test_build_rig_rejects_bad_landmarks(photo):
    pts = fake_face()
    with pytest.raises(ValueError, match="`target_points`"):
        build_rig(photo, pts[:468], fake_pack(pts, np.zeros((1, 2))))


def test_warper_allocates_nothing_per_frame(photo):
    import tracemalloc

    pts = fake_face()
    pack = fake_pack(pts, np.array([[0.0, 0.0], [1.0, 1.0], [2.0, -1.0]]))
    rig = build_rig(photo, pts, pack)
    warper = Warper(rig)
    off = np.zeros((len(rig.rest), 2), np.float32)
    offsets = [frame_offsets(rig, pack, i) for i in range(3)]
    warper(offsets[1])  # compile / warm caches
    tracemalloc.start()
    for i in range(3):
        warper(offsets[i])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # The frame alone is 108 kB; per-frame work must not allocate anything of that order.
    assert peak < 20_000


def test_moves_towards_the_border_are_capped_softly():
    room = np.array([[10.0, 40.0, 20.0, 20.0]] * 4, np.float32)  # left, right, up, down
    off = np.array([[1.0, -1.0], [100.0, 0.0], [-100.0, 0.0], [0.0, 1000.0]], np.float32)
    soft_cap(off, room, 0.5)
    np.testing.assert_array_equal(off[0], [1.0, -1.0])     # small moves pass as they are
    assert 14.0 < off[1, 0] <= 20.0 + 1e-4                  # right: cap 0.5 * 40
    assert -5.0 - 1e-4 <= off[2, 0] < -3.5                  # left: cap 0.5 * 10
    assert 7.0 < off[3, 1] <= 10.0 + 1e-4                   # down: cap 0.5 * 20
    # Monotone: a bigger move is never capped to less.
    a = np.array([[16.0, 0.0]], np.float32)
    b = np.array([[19.0, 0.0]], np.float32)
    soft_cap(a, room[:1], 0.5)
    soft_cap(b, room[:1], 0.5)
    assert b[0, 0] > a[0, 0] > 14.0


def test_moves_along_the_border_are_not_capped():
    """A shear does not fold (det(I + J) = 1): sliding parallel to a near edge is free."""
    room = np.array([[100.0, 100.0, 5.0, 100.0]], np.float32)  # 5 px below the top band
    off = np.array([[30.0, 0.0]], np.float32)
    soft_cap(off, room, 0.5)
    np.testing.assert_array_equal(off, [[30.0, 0.0]])


def test_head_scale_is_one_factor_from_the_most_constrained_point():
    room = np.array([[100.0] * 4, [100.0] * 4, [10.0, 100.0, 100.0, 100.0]], np.float32)
    assert head_scale(np.full((3, 2), 1.0), room, 0.5) == 1.0
    s = head_scale(np.array([[-8.0, 0.0]] * 3), room, 0.5)  # towards the near left edge
    assert 0.5 < s < 1.0 and 8.0 * s <= 5.0 + 1e-6
    assert head_scale(np.array([[8.0, 0.0]] * 3), room, 0.5) == 1.0  # away from it: free


def test_big_head_moves_keep_the_expression(photo):
    """A head shift far beyond the room is scaled down; the expression on top stays whole."""
    pts = fake_face()
    shift = np.array([[0.0, 0.0], [60.0, 0.0]])
    pack = fake_pack(pts, shift)
    pack.head[1, 0, 2] = 60.0                              # the tracked head move
    smile = np.zeros((lm.N_LANDMARKS, 2), np.float32)
    smile[61, 0], smile[291, 0] = -3.0, 3.0                # mouth corners apart
    pack.landmarks[1] += smile
    # The random fake mesh has slivers that a 3 px smile could flip: no unfolding.
    rig = replace(build_rig(photo, pts, pack), unfold=None)
    off = frame_offsets(rig, pack, 1)
    cap = rig.params.max_squeeze * rig.room[:rig.n_face, 1].min()   # room to the right
    assert off[:rig.n_face, 0].mean() <= cap + 1e-3 < 60.0  # the shift was capped
    np.testing.assert_allclose(off[291, 0] - off[61, 0], 6.0, atol=1e-4)  # smile intact


def _grid_mesh(n=6):
    from scipy.spatial import Delaunay

    yy, xx = np.mgrid[0:n, 0:n]
    rest = np.stack([xx.ravel(), yy.ravel()], 1).astype(np.float64) * 10.0
    rest += np.random.default_rng(0).normal(0, 0.5, rest.shape)  # no co-circular ties
    tri = Delaunay(rest).simplices.astype(np.int32)
    edge = (rest.min(axis=1) < 5) | (rest.max(axis=1) > 10.0 * (n - 1) - 5)
    return rest, tri, ~edge


def test_unfolder_removes_flips_and_leaves_the_rest_alone():
    rest, tri, movable = _grid_mesh()
    unfold = Unfolder(rest, tri, movable)
    off = np.zeros((len(rest), 2), np.float32)
    v = 14                                   # an interior vertex, pushed past its neighbour
    off[v] = (25.0, 0.0)
    gentle = np.zeros_like(off)
    gentle[v] = (3.0, 1.0)
    assert unfold(gentle) == 0 and gentle[v, 0] == 3.0   # nothing flipped: untouched
    orient = np.sign(signed_areas(rest, tri))
    assert (signed_areas(rest + off, tri) * orient < 0).any()
    unfold(off)
    assert not (signed_areas(rest + off, tri) * orient < -unfold.tolerance).any()
    assert (off[~movable] == 0).all()       # fixed points stay fixed
    assert 0 < off[v, 0] < 25.0             # the fold became a squeeze, the move not undone


def test_unfolder_lets_a_lip_lead_the_skin_it_rolls_over():
    """A stiff row (a lower lip) pushed two and a half rows down over the skin below, the
    frame's edge held: relaxing the skin towards its neighbours leaves a fold; with the lip
    leading, the skin beneath is pushed on ahead of it and nothing stays folded, the lip
    moved as far as asked (it keeps its thickness)."""
    rest, tri, movable = _grid_mesh(8)
    rows = np.round(rest[:, 1] / 10.0)
    lip = np.flatnonzero((rows == 2) & movable)
    off = np.zeros((len(rest), 2), np.float32)
    off[lip, 1] = 25.0
    orient = np.sign(signed_areas(rest, tri))
    left = {}
    for lead in (False, True):
        unfold = Unfolder(rest, tri, movable, stiff=lip)
        if not lead:
            unfold._lip_over_skin = lambda o: False   # the passes without the lip leading
        got = off.copy()
        unfold(got)
        area = signed_areas(rest + got, tri) * orient
        left[lead] = int((area < -unfold.tolerance).sum())
        assert (got[lip] == off[lip]).all()
        assert (got[~movable] == 0).all()
    assert left == {False: 1, True: 0}


def test_unfolder_keeps_a_triangle_squashed_flat():
    """A lid closing onto the other lid: zero area is allowed, only a flip is relaxed."""
    rest = np.array([[0, 0], [10, 0], [5, 5], [5, -5]], np.float64)
    tri = np.array([[0, 1, 2], [0, 3, 1]], np.int32)
    unfold = Unfolder(rest, tri, movable=np.array([False, False, True, False]))
    off = np.zeros((4, 2), np.float32)
    off[2] = (0.0, -5.0)                     # apex onto the base: area exactly 0
    assert unfold(off) == 0 and off[2, 1] == -5.0


# --- the real-time grid warp and the multi-clip rig ----------------------------------------

from reactive.core.warper import GridWarper  # noqa: E402


def _smooth_photo(shape=(180, 200)):
    """A photo with structure at every scale but no pixel noise (so a sub-pixel resampling
    difference stays a small grey-level difference)."""
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32)
    chans = [128 + 100 * np.sin(xx / 9.0 + c) * np.cos(yy / 13.0 - c) for c in range(3)]
    return np.clip(np.dstack(chans), 0, 255).astype(np.uint8)


def test_grid_warp_zero_offsets_give_the_photo_back():
    photo = _smooth_photo()
    pts = fake_face()
    pack = fake_pack(pts, np.zeros((1, 2)))
    rig = build_rig(photo, pts, pack, dense=False, grid=True)
    out = GridWarper(rig)(np.zeros((len(rig.rest), 2), np.float32))
    np.testing.assert_array_equal(out, photo)


@pytest.mark.parametrize("cells", [64, 100])
def test_grid_warp_agrees_with_the_exact_warp(cells):
    photo = _smooth_photo()
    pts = fake_face()
    offs = np.array([[0, 0], [2.5, -1.5], [-3.0, 2.0]], np.float32)
    pack = fake_pack(pts, offs)
    rig = build_rig(photo, pts, pack, grid=True, params=WarpParams(grid_cells=cells))
    exact, fast = Warper(rig), GridWarper(rig)
    for i in range(3):
        off = frame_offsets(rig, pack, i)
        a, b = exact(off).astype(int), fast(off).astype(int)
        diff = np.abs(a - b)
        assert diff.mean() < 1.0
        assert np.percentile(diff, 99) <= 6


@pytest.mark.parametrize("cells", [64, 100])
def test_grid_pixel_map_is_the_displacement_upsampled_plus_the_identity(cells):
    """The sources are upsampled whole (the identity is linear between grid points): the
    same map as upsampling the displacement and adding every pixel's own position, edges
    included (before the first and after the last grid point cv2.resize holds the edge
    value), for grid scales that are not whole numbers."""
    photo = _smooth_photo()
    pts = fake_face()
    pack = fake_pack(pts, np.array([[0, 0], [2.5, -1.5], [-3.0, 2.0]], np.float32))
    rig = build_rig(photo, pts, pack, dense=False, grid=True,
                    params=WarpParams(grid_cells=cells))
    warper = GridWarper(rig)
    h, w = rig.shape
    py, px = np.mgrid[0:h, 0:w].astype(np.float32)
    moved = 0.0
    for i in range(3):
        got = warper.compute_pixel_map(frame_offsets(rig, pack, i))
        want = cv2.resize(warper._disp, (w, h), interpolation=cv2.INTER_LINEAR)
        want += np.dstack([px, py])
        np.testing.assert_allclose(got, want, atol=1e-3)
        moved = max(moved, float(np.abs(warper._disp).max()))
    assert moved > 1.0


def test_grid_warp_allocates_nothing_per_frame():
    import tracemalloc

    photo = _smooth_photo()
    pts = fake_face()
    pack = fake_pack(pts, np.array([[0, 0], [2.0, 1.0]], np.float32))
    rig = build_rig(photo, pts, pack, dense=False, grid=True)
    warper = GridWarper(rig)
    off = frame_offsets(rig, pack, 1)
    warper(off)  # first call: kernels loaded
    tracemalloc.start()
    for _ in range(3):
        warper(off)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # A few small Python objects (numba's dispatch), never a grid- or frame-sized buffer.
    assert peak < min(warper.field.nbytes, warper.frame.nbytes) // 4


def test_multi_clip_rig_each_clip_keeps_its_own_phi():
    photo = _smooth_photo()
    pts = fake_face()
    small = fake_pack(pts * 0.5, np.array([[0, 0], [2.0, 0]], np.float32))
    big = fake_pack(pts, np.array([[0, 0], [2.0, 0]], np.float32))
    rig = build_rig(photo, pts, [small, big], dense=False, grid=True,
                    params=WarpParams(max_squeeze=0.0))
    np.testing.assert_allclose(rig.bindings[0].phi[:, :2], 2 * np.eye(2), atol=1e-5)
    np.testing.assert_allclose(rig.bindings[1].phi[:, :2], np.eye(2), atol=1e-5)
    # The same driver motion (2 px) lands scaled by each clip's phi.
    a = frame_offsets(rig, small, 1, binding=rig.bindings[0])
    b = frame_offsets(rig, big, 1, binding=rig.bindings[1])
    np.testing.assert_allclose(a[:rig.n_face, 0], 4.0, atol=1e-4)
    np.testing.assert_allclose(b[:rig.n_face, 0], 2.0, atol=1e-4)
    assert rig.for_clip(1).phi is rig.bindings[1].phi


def test_peripheral_points_of_one_clip_follow_anothers_motion():
    """Each clip drives the rig's peripheral points it did not bring through its own
    nearest points; a clip without points there leaves them still."""
    photo = _smooth_photo((240, 260))
    pts = fake_face(cx=130, cy=120)
    f = 2
    lms = np.repeat(pts[None], f, 0)

    def pack_with(periph_xy, move):
        per = np.repeat(np.asarray(periph_xy, np.float32)[None], f, 0)
        per[1] += move
        return ClipPack(fps=25.0, source_size=(260, 240), neutral_index=0, landmarks=lms,
                        face_detected=np.ones(f, bool), peripheral=per,
                        peripheral_valid=np.ones(per.shape[:2], bool),
                        head=np.repeat(np.array([[[1, 0, 0], [0, 1, 0]]], np.float32), f, 0))

    a = pack_with([[40, 40], [220, 40]], np.float32([3, 0]))
    b = pack_with([[45, 200], [215, 200]], np.float32([0, -2]))
    rig = build_rig(photo, pts, [a, b], dense=False, grid=True,
                    params=WarpParams(max_squeeze=0.0))
    p = rig.bindings[0].peripheral.shape[0]
    assert p == 4
    off_a = frame_offsets(rig, a, 1, binding=rig.bindings[0])
    per = off_a[rig.n_face:rig.n_face + p]
    # a's own points move by exactly its motion; b's points (far below) move less, same way.
    own = np.isclose(per[:, 0], 3.0, atol=1e-4)
    assert own.sum() == 2
    assert np.all((per[~own, 0] >= 0) & (per[~own, 0] < 3.0))


def test_unfolder_never_leaves_more_folds_than_it_found():
    """Random meshes held at the frame's border, their inner points thrown far (a head
    moved towards the border) and jittered (a turn, an expression): relaxing never leaves
    more folded triangles than it found, and undoes most."""
    from scipy.spatial import Delaunay

    total_before = total_after = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        inner = rng.uniform(20, 140, (60, 2))
        side = np.linspace(0, 160, 6)
        border = np.array([(x, 0) for x in side] + [(x, 160) for x in side]
                          + [(0, y) for y in side[1:-1]] + [(160, y) for y in side[1:-1]])
        rest = np.concatenate([inner, border])
        tri = Delaunay(rest).simplices.astype(np.int32)
        unfold = Unfolder(rest, tri, movable=np.arange(len(rest)) < 60)

        def folds(o):
            area = signed_areas(rest + o, tri) * unfold.orientation
            return int(((area < -unfold.tolerance) & unfold.watched).sum())

        off = np.zeros((len(rest), 2), np.float32)
        off[:60] = rng.normal(0, 3, (60, 2)) + rng.normal(0, 25, 2)
        before = folds(off)
        unfold(off)
        after = folds(off)
        assert after <= before, seed
        total_before += before
        total_after += after
    assert total_before > 100
    assert total_after < 0.25 * total_before
