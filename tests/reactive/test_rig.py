"""Rig and Warper on synthetic landmarks: exact answers, no tracker needed."""

from __future__ import annotations

import numpy as np
import pytest

from reactive import landmarks as lm
from reactive.clippack import ClipPack
from reactive.params import WarpParams
from reactive.rig import Warper, build_rig, frame_offsets, limit_head_shift, smoothing_radius


def fake_face(cx=100.0, cy=90.0, rx=40.0, ry=52.0, seed=0) -> np.ndarray:
    """478 points: the face oval on an ellipse, the rest scattered inside it."""
    rng = np.random.default_rng(seed)
    pts = np.zeros((lm.N_LANDMARKS, 2), np.float32)
    ang = np.linspace(-np.pi / 2, 1.5 * np.pi, len(lm.FACE_OVAL), endpoint=False)
    pts[lm.FACE_OVAL] = np.stack([cx + rx * np.cos(ang), cy + ry * np.sin(ang)], 1)
    inner = np.setdiff1d(np.arange(lm.N_LANDMARKS), lm.FACE_OVAL)
    r = 0.85 * np.sqrt(rng.uniform(0, 1, len(inner)))
    t = rng.uniform(0, 2 * np.pi, len(inner))
    pts[inner] = np.stack([cx + rx * r * np.cos(t), cy + ry * r * np.sin(t)], 1)
    return pts


def fake_pack(neutral_points: np.ndarray, face_offsets: np.ndarray) -> ClipPack:
    """A pack whose frames are the neutral points plus ``face_offsets`` (F, 2) per frame."""
    f = len(face_offsets)
    lms = np.repeat(neutral_points[None], f, 0) + face_offsets[:, None, :].astype(np.float32)
    periph = np.zeros((f, 0, 2), np.float32)
    head = np.repeat(np.array([[[1, 0, 0], [0, 1, 0]]], np.float32), f, 0)
    return ClipPack(fps=25.0, source_size=(200, 180), neutral_index=0,
                    landmarks=lms.astype(np.float32), face_detected=np.ones(f, bool),
                    peripheral=periph, peripheral_valid=np.zeros((f, 0), bool), head=head)


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
    rig = build_rig(photo, pts, pack, params=WarpParams(head_shift_room_frac=0.0))
    out = Warper(rig)(frame_offsets(rig, pack, 1))
    # Well inside the face every pixel comes from 3 px left, 2 px down.
    ys, xs = np.mgrid[75:105, 85:115]
    np.testing.assert_array_equal(out[ys, xs], photo[ys + 2, xs - 3])


def test_phi_scales_and_rotates_offsets(photo):
    """Eq. 1: a driver face twice the size moves the target half as far."""
    target = fake_face()
    driver = (target - 100) * 2 + 300
    pack = fake_pack(driver, np.array([[0.0, 0.0], [4.0, 2.0]]))
    rig = build_rig(photo, target, pack, params=WarpParams(head_shift_room_frac=0.0))
    np.testing.assert_allclose(rig.phi[:, :2], 0.5 * np.eye(2), atol=1e-6)
    off = frame_offsets(rig, pack, 1)
    np.testing.assert_allclose(off[:rig.n_face], np.tile([2.0, 1.0], (rig.n_face, 1)), atol=1e-5)
    np.testing.assert_array_equal(off[rig.n_face:], 0.0)


def test_smoothing_radius_zero_in_face_and_growing_outside():
    mask = np.zeros((200, 200), bool)
    mask[80:120, 80:120] = True
    params = WarpParams()
    r = smoothing_radius(mask, params)
    assert (r[mask] == 0).all()
    r_max = params.blur_radius_max_frac * np.hypot(200, 200)
    assert r.max() <= r_max
    assert len(np.unique(r)) <= params.blur_levels
    row = r[100, 120:]
    assert (np.diff(row) >= 0).all() and row[-1] > row[1]
    # No window reaches into the face.
    ys, xs = np.nonzero(~mask)
    dx = np.maximum.reduce([80 - xs, np.zeros_like(xs), xs - 119])
    dy = np.maximum.reduce([80 - ys, np.zeros_like(ys), ys - 119])
    chebyshev = np.maximum(dx, dy)  # a box window of half-width r reaches r px in x and y
    assert (r[ys, xs] < chebyshev).all()


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
    warper(frame_offsets(rig, pack, 1, off))  # compile / warm caches
    tracemalloc.start()
    for i in range(3):
        warper(frame_offsets(rig, pack, i % 3, off))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # The frame alone is 108 kB; per-frame work must not allocate anything of that order.
    assert peak < 20_000


def test_head_shift_is_capped_softly():
    room = np.array([10.0, 40.0, 20.0, 20.0], np.float32)  # left, right, up, down
    small = np.tile(np.float32([1.0, 0.0]), (5, 1))
    limit_head_shift(small, 5, room, 0.5)
    assert small[0, 0] == pytest.approx(1.0, abs=0.02)      # small moves pass almost as is
    big = np.tile(np.float32([100.0, -100.0]), (5, 1))
    big[0, 0] += 3.0                                        # expression on top of the shift
    limit_head_shift(big, 4, room, 0.5)
    shift = big[1:4].mean(axis=0)
    assert 0 < shift[0] <= 20.0 and -10.0 <= shift[1] < 0  # half the room on each side
    assert big[0, 0] - big[1, 0] == pytest.approx(3.0)      # the expression is kept
    assert big[4, 0] == 100.0                               # rows past n_moving untouched
