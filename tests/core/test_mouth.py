"""The mouth interior (Sec. 5): piecewise map, compositing, colour match, teeth, bank, drawn
mouth. Kernels against their twins in tests/naive.py; exact answers where there are some."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from reactive.core import landmarks as lm
from reactive.core import mouthmap as mm
from reactive.core.drawnmouth import draw_interior
from reactive.core.geometry import polygon_area
from reactive.core.mouthbank import (
    Interiors,
    choose_frames,
    colour_match,
    drawn_where,
    lip_shape,
    visible_opening,
    with_drawn,
)
from reactive.params import MouthParams
from tests import naive

K = mm.N_COLUMNS


def _columns(rng, height, teeth=(0.3, 0.25)):
    """(4, K) columns of a plausible opening: zero at the corners, ``height`` in the middle."""
    u = mm.COLUMNS_U
    top = -0.1 * height * np.sin(np.pi * u) + rng.normal(0, 0.3, K)
    bot = top + height * np.sin(np.pi * u) ** 0.7
    bot[[0, -1]] = top[[0, -1]]
    h = bot - top
    zu = np.minimum(teeth[0] * height, h)
    zl = np.minimum(teeth[1] * height, h - zu)
    return np.stack([top, zu, zl, bot])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_interior_map_kernel_matches_its_numpy_twin(seed):
    rng = np.random.default_rng(seed)
    angle = rng.uniform(-0.3, 0.3)
    target = (np.array([40.0, 60.0]), np.array([np.cos(angle), np.sin(angle)]), 80.0)
    source = (np.array([20.0, 30.0]), np.array([1.0, 0.0]), 55.0)
    cols_t, cols_s = _columns(rng, 50.0), _columns(rng, 30.0)
    cols_t[1, 5] = 0.0  # a column without an upper row
    shape = (90, 120)
    got = [np.zeros(shape, np.float32) for _ in range(3)]
    mm.interior_map((25, 20), target, cols_t, source, cols_s, *got)
    want = naive.interior_map((25, 20), target, cols_t, source, cols_s, shape)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, atol=1e-3)


def test_the_same_mouth_maps_onto_itself():
    rng = np.random.default_rng(3)
    frame = (np.array([30.0, 40.0]), np.array([0.96, 0.28]), 70.0)
    cols = _columns(rng, 40.0)
    map_x, map_y, rigid = (np.zeros((60, 90), np.float32) for _ in range(3))
    mm.interior_map((10, 15), frame, cols, frame, cols, map_x, map_y, rigid)
    yy, xx = np.mgrid[0:60, 0:90]
    np.testing.assert_allclose(map_x, xx + 10, atol=1e-3)
    np.testing.assert_allclose(map_y, yy + 15, atol=1e-3)


def test_teeth_hang_from_the_upper_lip_and_only_the_gap_stretches():
    """Source: an opening 30 px tall with 10 px rows; target: the same mouth opened to 60 px.
    Under the upper lip and over the lower one the map is a pure shift (the rows keep their
    size); the middle stretches from 10 to 40 px."""
    frame_s = (np.array([0.0, 100.0]), np.array([1.0, 0.0]), 100.0)
    frame_t = (np.array([0.0, 200.0]), np.array([1.0, 0.0]), 100.0)
    flat = lambda top, zu, zl, bot: np.stack([np.full(K, v, float) for v in (top, zu, zl, bot)])
    cols_s, cols_t = flat(0, 10, 10, 30), flat(-5, 10, 10, 55)
    map_x, map_y, rigid = (np.zeros((80, 1), np.float32) for _ in range(3))
    mm.interior_map((50, 180), frame_t, cols_t, frame_s, cols_s, map_x, map_y, rigid)
    b_t = np.arange(80) + 180 - 200.0          # target y in its mouth frame
    b_s = map_y[:, 0] - 100.0
    upper = (b_t > -5) & (b_t < 5)
    np.testing.assert_allclose(b_s[upper], b_t[upper] + 5, atol=1e-4)       # shifted only
    lower = (b_t > 45) & (b_t < 55)
    np.testing.assert_allclose(b_s[lower], b_t[lower] - 25, atol=1e-4)
    middle = (b_t > 5) & (b_t < 45)
    np.testing.assert_allclose(np.diff(b_s[middle]), 10 / 40, atol=1e-4)     # stretched
    assert rigid[upper].min() == 1.0 and rigid[lower].min() == 1.0
    assert rigid[(b_t > 7) & (b_t < 43)].max() == 0.0
    np.testing.assert_allclose(map_x, 50.0, atol=1e-4)                      # u -> u


def test_compose_kernel_matches_its_twin_and_leaves_the_outside_alone():
    rng = np.random.default_rng(4)
    roi = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    interior = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    patch = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    inner = np.zeros((30, 40), np.uint8)
    inner[5:25, 8:32] = rng.integers(0, 256, (20, 24), dtype=np.uint8)
    patch_alpha = rng.uniform(0, 1, (30, 40)).astype(np.float32)
    gain = np.array([0.9, 1.1, 1.3], np.float32)
    for args in ((None, None), (patch, patch_alpha)):
        got = roi.copy()
        mm.compose(got, inner, interior, gain, 0.6, 0.7, *args)
        want = naive.compose(roi, inner, interior, gain, 0.6, 0.7, *args)
        assert np.abs(got.astype(int) - want).max() <= 1
        np.testing.assert_array_equal(got[inner == 0], roi[inner == 0])
    # Fully inside, gate open, neutral colour: the interior itself; a full patch wins.
    full = np.full((30, 40), 255, np.uint8)
    got = roi.copy()
    mm.compose(got, full, interior, np.ones(3, np.float32), 1.0, 1.0)
    np.testing.assert_array_equal(got, interior)
    mm.compose(got, full, interior, np.ones(3, np.float32), 1.0, 1.0, patch,
               np.ones((30, 40), np.float32))
    np.testing.assert_array_equal(got, patch)


def test_corner_shade_kernel_matches_its_twin_and_darkens_towards_the_corners():
    """The kernel agrees with its twin; a flat interior is ``corner_shade`` darker at each
    corner, untouched from ``corner_shade_reach`` of the width inwards."""
    from reactive.core.kernels.mouth import shade_corners
    p = MouthParams()
    rng = np.random.default_rng(2)
    o, ex = np.array([12.0, 20.0]), np.array([0.98, 0.2])
    ex /= np.linalg.norm(ex)
    img = rng.integers(0, 256, (40, 90, 3), dtype=np.uint8)
    for axis in (ex, np.array([0.0, 1.0]), -ex):       # the row shortcut, and without it
        got, want = img.copy(), img.copy()
        shade_corners(got, 3, 2, o, axis, 70.0, p.corner_shade_reach, p.corner_shade)
        naive.shade_corners(want, 3, 2, o, axis, 70.0, p.corner_shade_reach, p.corner_shade)
        assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    flat = np.full((40, 90, 3), 200, np.uint8)
    shade_corners(flat, 0, 0, np.array([10.0, 20.0]), np.array([1.0, 0.0]), 70.0,
                  p.corner_shade_reach, p.corner_shade)
    row = flat[20, :, 0].astype(float)
    assert row[10] == pytest.approx(200 * (1 - p.corner_shade), abs=1)   # the left corner
    assert row[80] == pytest.approx(200 * (1 - p.corner_shade), abs=1)   # the right one
    inner = int(np.ceil(10 + p.corner_shade_reach * 70))
    assert (row[inner:80 - (inner - 10) + 1] == 200).all()
    assert (np.diff(row[10:inner + 1]) >= 0).all()                     # a ramp, not a step


def test_outline_kernel_matches_its_twin_and_follows_the_lips_curve():
    """The opening's outline is a curve through the inner-lip points: on a round opening of
    20 points it stays within a twentieth of a pixel of the circle, where the chords cut
    in by a third of a pixel; closed lips (points on top of each other) give no NaN."""
    from reactive.core.kernels.mouth import closed_spline as kernel

    def closed_spline(points, steps=4):
        out = np.empty((len(points) * steps, 2))
        kernel(np.asarray(points, np.float64), steps, out)
        twin = naive.closed_spline(points, steps)
        np.testing.assert_allclose(out, twin, atol=1e-9)
        return out

    a = np.linspace(0.0, 2.0 * np.pi, 20, endpoint=False)
    ring = 50.0 * np.stack([np.cos(a), np.sin(a)], axis=1)
    curve = closed_spline(ring, 4)
    np.testing.assert_allclose(curve[::4], ring)
    assert np.abs(np.hypot(*curve.T) - 50.0).max() < 0.05
    chords = 0.5 * (ring + np.roll(ring, -1, axis=0))
    assert 50.0 - np.hypot(*chords.T).min() > 0.3
    closed = np.repeat(np.array([[0.0, 0.0], [10.0, 0.0], [20.0, 0.0]]), 2, axis=0)
    assert np.isfinite(closed_spline(closed, 4)).all()
    rng = np.random.default_rng(5)
    closed_spline(rng.uniform(0, 80, (20, 2)), 3)           # any polygon: kernel = twin


def test_colour_match_keeps_teeth_near_white_and_follows_brightness():
    p = MouthParams()
    skin = np.array([200.0, 150.0, 130.0], np.float32)
    gain, sat = colour_match(skin, skin, p)
    np.testing.assert_allclose(gain, 1.0, atol=1e-6)
    assert sat == 1.0
    # A darker photo: the gain is the brightness ratio; the hue passes only within tint_max.
    gain, _ = colour_match(0.5 * skin, skin, p)
    np.testing.assert_allclose(gain, 0.5, atol=1e-6)
    luma = np.array([0.299, 0.587, 0.114])
    # A cooler skin passes no hue (never a violet tongue or blue teeth); a warmer one passes
    # up to tint_max.
    pale = np.array([150.0, 165.0, 200.0], np.float32)   # cool skin, another person
    gain, _ = colour_match(pale, skin, p)
    tint = gain / ((pale @ luma) / (skin @ luma))
    np.testing.assert_allclose(tint, 1.0, atol=1e-6)
    warm = np.array([230.0, 140.0, 90.0], np.float32)
    gain, _ = colour_match(warm, skin, p)
    tint = gain / ((warm @ luma) / (skin @ luma))
    assert np.all(np.abs(tint - 1.0) <= p.tint_max + 1e-6)
    assert np.abs(tint - 1.0).max() == pytest.approx(p.tint_max)  # the full skin ratio is far
    assert tint[0] >= tint[1] >= tint[2]
    # A black-and-white photo: a grey interior.
    _, sat = colour_match(np.array([140.0, 140.0, 140.0], np.float32), skin, p)
    assert sat == 0.0


def _mouth_scene(teeth_px: float, size=(200, 240)):
    """A frontal mouth: skin, red lips, a 40 px tall opening with a white upper row of
    ``teeth_px`` under a flat upper lip and a dark cavity. Returns image and landmarks."""
    h, w = size
    img = np.full((h, w, 3), (205, 160, 140), np.uint8)
    points = np.zeros((lm.N_LANDMARKS, 2), np.float32)
    cx, top, bot = 120.0, 90.0, 130.0
    u = np.linspace(0, 1, 11)
    xs = 60 + 120 * u
    depth = np.sin(np.pi * u)
    for ids, ys in ((mm.UPPER_INNER, top + 0 * u), (mm.LOWER_INNER, top + (bot - top) * depth)):
        points[ids, 0], points[ids, 1] = xs, ys
    points[mm.UPPER_INNER[[0, -1]], 1] = top
    cv2.rectangle(img, (55, 75), (185, 145), (170, 70, 75), -1)            # lips
    poly = np.round(points[lm.LIPS_INNER]).astype(np.int32)
    cv2.fillPoly(img, [poly], (40, 20, 25))                                 # cavity
    if teeth_px:
        teeth = np.zeros(img.shape[:2], np.uint8)
        cv2.fillPoly(teeth, [poly], 1)
        teeth[int(top + teeth_px):] = 0
        img[teeth > 0] = (235, 232, 225)
    return img, points


@pytest.mark.parametrize("teeth_px", [0, 12, 22])
def test_teeth_extent_measures_the_upper_row(teeth_px):
    img, points = _mouth_scene(teeth_px)
    frame = mm.mouth_frame(points)
    cols = mm.lip_columns(points, *frame)
    up, low = mm.teeth_extent(img, frame, cols)
    assert low == 0.0
    assert up == pytest.approx(teeth_px, abs=1.5)


def test_lip_shape_matches_the_landmark_measures():
    rng = np.random.default_rng(5)
    from reactive.live.app import SAMPLE_PORTRAIT
    from reactive.io.photo import load_photo
    from reactive.io.target import find_target_face

    base = find_target_face(load_photo(SAMPLE_PORTRAIT)).astype(np.float64)
    frames = base[None] + rng.normal(0, 1.0, (4, *base.shape))
    got = lip_shape(frames, base)
    for f, g in zip(frames, got):
        assert g[0] == pytest.approx(float(lm.mouth_open_ratio(f)), abs=1e-9)
        assert g[2] == pytest.approx(float(lm.smile_ratio(f)), abs=1e-9)
    assert lip_shape(base[None], base)[0, 1] == pytest.approx(1.0)


def test_bank_choice_is_nearest_and_holds_still():
    bank = np.array([[0.0, 1.0, 0.0], [0.3, 1.0, 0.0], [0.6, 0.9, 0.05], [0.3, 1.01, 0.0]])
    clip = np.array([[0.0, 1.0, 0.0], [0.3, 1.0, 0.0], [0.3, 1.012, 0.0], [0.3, 1.0, 0.0],
                     [0.6, 0.9, 0.05]])
    no_cost = choose_frames(bank, clip, MouthParams(bank_switch_cost=0.0))
    np.testing.assert_array_equal(no_cost, [0, 1, 3, 1, 2])      # nearest each frame
    held = choose_frames(bank, clip, MouthParams())
    np.testing.assert_array_equal(held, [0, 1, 1, 1, 2])         # no flicker 1-3-1


def test_a_bank_mouth_less_open_than_the_clips_counts_as_further():
    clip = np.array([[0.3, 1.0, 0.0]])
    bank = np.array([[0.2, 1.0, 0.0], [0.4, 1.0, 0.0]])   # as far below as above
    assert choose_frames(bank, clip)[0] == 1                 # squeezed, not stretched


def test_the_drawn_mouth_stands_in_where_no_bank_mouth_opens_enough():
    # A laugh opening to 0.3 of the mouth's width; the bank's widest opens 0.12 (a
    # clenched grimace): drawn while the mouth is open, all of the opening (no pop while
    # it is open, the change made where it is closed).
    t = np.linspace(0.0, 1.0, 60)
    opening = 0.3 * np.sin(np.pi * t) ** 2
    clip = np.stack([opening, np.full(60, 1.1), np.full(60, 0.05)], axis=1)
    grimace = np.array([[0.08, 1.1, 0.05], [0.12, 1.1, 0.05]])
    chosen = choose_frames(grimace, clip, drawn=True)
    assert np.all(chosen[opening > 0.06] == 2)
    changes = np.flatnonzero(np.diff(chosen == 2)) + 1
    assert len(changes) and np.all(np.minimum(opening[changes - 1], opening[changes]) < 0.06)
    # A bank that opens as wide keeps its real mouths throughout.
    wide = np.concatenate([grimace, [[0.3, 1.1, 0.05], [0.22, 1.1, 0.05]]])
    assert not np.any(choose_frames(wide, clip, drawn=True) == 4)
    # Where the clip's mouth is closed changing costs nothing: a bank mouth that fits
    # only the first of two openings is shown there, the drawn one in the second.
    two = np.concatenate([0.12 * np.sin(np.pi * t) ** 2, 0.3 * np.sin(np.pi * t) ** 2])
    bank_open = np.full(120, 0.12)
    drawn = drawn_where(bank_open, two)
    assert not drawn[:60].any() and drawn[60:][two[60:] > 0.22].all()
    # Flicker costs: a shortfall that crosses the threshold for single frames does not
    # switch.
    short = np.full(40, 0.2)
    short[::4] = 0.3
    assert not drawn_where(np.full(40, 0.2), short).any()


def test_visible_opening_is_the_middle_columns_height_over_the_width():
    lips = np.zeros((2, 2, K))
    lips[0, 1] = 10.0
    lips[1, 0, :] = 3.0
    lips[1, 1, :] = 2.0          # crossed: nothing shows
    got = visible_opening(lips, np.array([50.0, 40.0]))
    np.testing.assert_allclose(got, [0.2, 0.0])


def test_the_drawn_mouth_joins_real_mouths_in_a_copy():
    rng = np.random.default_rng(3)

    def interiors(n, h, w, drawn_from=None):
        return Interiors(images=rng.integers(0, 255, (n, h, w, 3), dtype=np.uint8),
                         origin=rng.normal(size=(n, 2)), axis=np.tile([1.0, 0.0], (n, 1)),
                         width=rng.uniform(20, 40, n), lips=rng.normal(size=(n, 2, K)),
                         teeth=rng.uniform(0, 5, (n, 2)),
                         skin=rng.uniform(0, 255, (n, 3)).astype(np.float32),
                         shape=rng.normal(size=(n, 3)), drawn_from=drawn_from)

    real, drawn = interiors(3, 30, 50), interiors(1, 40, 36, drawn_from=0)
    both = with_drawn(real, drawn)
    assert both.drawn_from == 3 and both.first_drawn == 3 and real.first_drawn == 3
    assert len(both) == 4 and both.images[0].shape == (30, 50, 3)
    np.testing.assert_array_equal(np.stack(both.images[:3]), real.images)
    np.testing.assert_array_equal(both.images[3], drawn.images[0])
    both.images[0][:] = 0                      # a copy: the bank is shared by photos
    assert real.images[0].any()
    np.testing.assert_array_equal(both.lips[3], drawn.lips[0])
    assert both.skin.dtype == np.float32
    with pytest.raises(ValueError, match="drawn"):
        with_drawn(real, real)


def test_drawn_mouth_has_separate_teeth_a_dark_cavity_and_no_teeth_when_asked():
    colours = {"skin": np.array([200.0, 160.0, 140.0], np.float32),
               "lips": np.array([170.0, 80.0, 85.0], np.float32)}
    img, up, low = draw_interior(200.0, colours)
    assert up > 0 and low > 0
    luma = img.astype(float) @ [0.299, 0.587, 0.114]
    m = int(np.ceil(0.15 * 200))
    # Along the upper row, a few pixels under the lip: bright teeth parted by dark gaps.
    row = luma[m + 8, m + 20:m + 180]
    assert row.max() > 180
    from scipy.ndimage import maximum_filter1d

    # A gap: darker by a tenth than the teeth around it (within a tooth's width).
    bright = row > 0.9 * maximum_filter1d(row, 15)
    assert np.count_nonzero(np.diff(bright.astype(int)) == 1) >= 6   # >= 7 separate teeth
    # The cavity (the middle of the opening) is dark, darker than the skin by far.
    assert luma[m + 80, m + 100] < 0.35 * (colours["skin"] @ [0.299, 0.587, 0.114])
    plain, up0, low0 = draw_interior(200.0, colours, teeth=False)
    assert up0 == 0 and low0 == 0
    assert plain.max() < 0.8 * img.max()


def test_drawn_teeth_are_grey_in_a_black_and_white_photo_and_ivory_in_colour():
    """Ivory teeth in a black-and-white photo read as painted in (s2): the teeth are as
    colourful as the photo's skin allows, grey on grey skin, ivory (R > G > B) on skin in
    colour."""
    def teeth_rgb(skin, lips):
        img, _, _ = draw_interior(200.0, {"skin": np.array(skin, np.float32),
                                          "lips": np.array(lips, np.float32)})
        m = int(np.ceil(0.15 * 200))
        band = img[m + 6:m + 14, m + 70:m + 130].reshape(-1, 3).astype(float)
        return band[band.sum(axis=1) >= np.percentile(band.sum(axis=1), 75)].mean(axis=0)

    grey = teeth_rgb((189, 189, 189), (126, 126, 126))
    assert grey.mean() > 150 and np.ptp(grey) <= 2.0
    ivory = teeth_rgb((200, 160, 140), (170, 80, 85))
    assert ivory[0] > ivory[1] > ivory[2] and ivory[0] - ivory[2] > 15


def test_native_mouth_crop_copies_pixels():
    from precompute.mouth import DRIVER_CROP_SIZE, mouth_crop

    rng = np.random.default_rng(6)
    frame = rng.integers(0, 256, (300, 300, 3), dtype=np.uint8)
    points = np.zeros((lm.N_LANDMARKS, 2), np.float32)
    points[lm.LIPS_OUTER] = rng.uniform(120, 180, (len(lm.LIPS_OUTER), 2))
    points[61], points[291] = (120.3, 150.2), (181.7, 151.0)
    crop, affine = mouth_crop(frame, points, DRIVER_CROP_SIZE, native=True)
    assert crop.shape == (*DRIVER_CROP_SIZE, 3)
    assert affine[0, 0] == 1.0 and float(affine[0, 2]).is_integer()
    tx, ty = int(affine[0, 2]), int(affine[1, 2])
    np.testing.assert_array_equal(crop[20:-20, 20:-20], frame[20 - ty:140 - ty, 20 - tx:140 - tx])


def test_polygon_area_of_a_square_and_a_triangle():
    assert polygon_area(np.array([[0, 0], [4, 0], [4, 4], [0, 4]], float)) == 16.0
    assert polygon_area(np.array([[0, 0], [6, 0], [0, 3]], float)) == 9.0


@pytest.mark.parametrize("teeth", [True, False])
def test_a_mouth_at_rest_gives_the_photo_back(teeth):
    """The sample shows her teeth: they are redrawn from the photo every frame; at rest
    (no offsets) that is the photo itself, bit for bit, and nothing else is drawn."""
    from reactive.live.app import SAMPLE_PORTRAIT
    from reactive.io.clippack import load_pack
    from reactive.live.clips import BUILTIN_CLIPS_DIR
    from reactive.core.mouth import MouthLayer
    from reactive.io.photo import load_photo
    from reactive.core.rig import build_rig
    from reactive.io.target import find_target_face

    photo = load_photo(SAMPLE_PORTRAIT)
    pack = load_pack(BUILTIN_CLIPS_DIR / "laugh.npz")
    rig = build_rig(photo, find_target_face(photo), pack)
    layer = MouthLayer(rig, pack, teeth=teeth)
    assert layer.has_photo_teeth
    frame = photo.copy()
    layer.apply(frame, 0, np.zeros((len(rig.rest), 2), np.float32))
    np.testing.assert_array_equal(frame, photo)


def test_the_interiors_outline_is_as_soft_as_the_photo():
    """A crisp interior in a soft photo reads as a sticker on the lips: the outline is
    blurred by what the photo's own softness round the mouth exceeds the outline's
    anti-aliasing. The sample (about 1 px) is barely touched; blurred by 2.5 px, its
    outline's soft band is several times as wide. And the blurred photo at rest still
    comes back bit for bit (its teeth redrawn from itself)."""
    from reactive.core.motion import frame_offsets
    from reactive.core.mouth import MouthLayer
    from reactive.core.rig import build_rig
    from reactive.io.clippack import load_pack
    from reactive.io.photo import load_photo
    from reactive.io.target import find_target_face
    from reactive.live.app import SAMPLE_PORTRAIT
    from reactive.live.clips import BUILTIN_CLIPS_DIR

    sharp = load_photo(SAMPLE_PORTRAIT)
    pack = load_pack(BUILTIN_CLIPS_DIR / "laugh.npz")
    i = int(np.argmax(lm.mouth_open_ratio(pack.landmarks)))
    bands = []
    for photo in (sharp, cv2.GaussianBlur(sharp, (0, 0), 2.5)):
        rig = build_rig(photo, find_target_face(sharp), pack)
        layer = MouthLayer(rig, pack)
        frame = photo.copy()
        layer.apply(frame, 0, np.zeros((len(rig.rest), 2), np.float32))
        np.testing.assert_array_equal(frame, photo)
        layer.apply(photo.copy(), i, frame_offsets(rig, pack, i))
        mask = layer._mask
        bands.append((layer.soften, int(((mask > 12) & (mask < 243)).sum())))
    (soft0, band0), (soft1, band1) = bands
    assert soft0 < 1.0 and 2.0 < soft1 < 2.6
    assert band1 > 2.5 * band0


@pytest.mark.parametrize("photo_skin", [(227.0, 190.0, 165.0), (169.0, 145.0, 137.0),
                                        (194.0, 148.0, 123.0), (140.0, 150.0, 190.0)])
def test_a_matched_tongue_stays_red_pink(photo_skin):
    """A filmed tongue (pink, blue above green) put into paler or cooler faces keeps its
    hue in the red-pink range: never pulled towards violet."""
    driver_skin = np.array([226.0, 166.0, 136.0], np.float32)
    tongue = np.array([132.0, 60.0, 75.0], np.float32)
    gain, sat = colour_match(np.array(photo_skin, np.float32), driver_skin)
    v = tongue * gain
    y = v @ [0.299, 0.587, 0.114]
    out = np.clip(y + sat * (v - y), 0, 255)
    hue = cv2.cvtColor(out.reshape(1, 1, 3).astype(np.float32) / 255, cv2.COLOR_RGB2HSV)[0, 0, 0]
    source_hue = cv2.cvtColor(tongue.reshape(1, 1, 3) / 255, cv2.COLOR_RGB2HSV)[0, 0, 0]
    # Red-pink: within 30 degrees below red; no further from red than the driver's own.
    assert hue >= 330.0 or hue <= 20.0
    assert (hue if hue > 180 else hue + 360) >= source_hue - 1e-3


def _lip_band_scene(top_to: float, bottom_px: float, colour):
    """``_mouth_scene(0)`` with the lips' own colour ``colour`` reaching into the opening
    down to ``top_to`` (y) under the upper lip and ``bottom_px`` above the lower one.
    Returns image, points, the opening (H, W) bool, the band (H, W) bool, the pixel grid
    (yy, xx) and the lower lip's height per column."""
    img, points = _mouth_scene(0)
    poly = np.round(points[lm.LIPS_INNER]).astype(np.int32)
    inside = np.zeros(img.shape[:2], np.uint8)
    cv2.fillPoly(inside, [poly], 1)
    yy, xx = np.mgrid[0:img.shape[0], 0:img.shape[1]]
    bottom = 90.0 + 40.0 * np.sin(np.pi * np.clip((xx - 60) / 120.0, 0, 1))
    band = (inside > 0) & ((yy < top_to) | (yy > bottom - bottom_px))
    img[band] = colour
    return img, points, inside > 0, band, (yy, xx), bottom


def test_lip_tissue_inside_the_tracked_inner_lip_is_cut_off():
    """A driver whose tracked inner lip lies inside the lips (a pale lip band inside the
    opening): the columns move past the band, so no lip-coloured rim is carried along."""
    from reactive.core.mouthbank import trim_lip_tissue

    # The lips' colour reaches 6 px into the opening at the top, 5 at the bottom.
    img, points, _, _, _, _ = _lip_band_scene(96, 5, (170, 70, 75))
    frame = mm.mouth_frame(points)
    cols = mm.lip_columns(points, *frame)
    before = cols.copy()
    trim_lip_tissue(img, frame, cols)
    mid = slice(6, 15)
    height = before[1, mid] - before[0, mid]
    assert np.all(cols[0, mid] - before[0, mid] >= np.minimum(5.0, 0.3 * height - 1.0))
    assert np.all(before[1, mid] - cols[1, mid] >= np.minimum(4.0, 0.3 * height - 1.0))
    # A clean opening (no lip inside) keeps its columns.
    clean, _ = _mouth_scene(0)
    cols2 = mm.lip_columns(points, *frame)
    trim_lip_tissue(clean, frame, cols2)
    np.testing.assert_allclose(cols2[:, mid], before[:, mid], atol=1.5)


def _lab(rgb) -> np.ndarray:
    return cv2.cvtColor(np.asarray(rgb, np.float32).reshape(1, -1, 3) / 255,
                        cv2.COLOR_RGB2LAB)[0]


def test_a_drivers_inner_lips_take_the_photos_lip_colour_and_only_they():
    """A pout's ring of the driver's inner lips (lip coloured, inside the tracked opening)
    takes another face's lip hue, keeping its shading; a tongue deeper in and the cavity
    keep their lightness, their hue turned as far as the lips'; the skin outside keeps its
    colour; a face with lips like the driver's changes nothing."""
    from reactive.core.mouthbank import lip_body, recolour_lip_tissue

    # The wet inner lip, a little paler than the lips, 5 px into the opening all along.
    img, points, inside, ring, (yy, xx), bottom = _lip_band_scene(95, 5, (185, 85, 92))
    tongue = inside & (yy > 104) & (yy < bottom - 9) & (abs(xx - 120) < 20)
    img[tongue] = (175, 75, 85)                     # lip coloured, but deeper inside
    frame = mm.mouth_frame(points)
    cols = mm.lip_columns(points, *frame)
    driver_body = lip_body(img, frame, cols)
    ochre = np.array([150.0, 120.0, 60.0], np.float32)
    ochre_lab = _lab(ochre)[0]

    same = img.copy()
    recolour_lip_tissue(same, frame, cols, ochre_lab, driver_body + 3.0)
    np.testing.assert_array_equal(same, img)            # lips alike: nothing to do

    out = img.copy()
    recolour_lip_tissue(out, frame, cols, ochre_lab, np.stack([ochre_lab, ochre_lab]))
    lab_in, lab_out = _lab(img[ring]), _lab(out[ring])
    # The ring: the ochre's hue (a*, b* within a few units), its own lightness kept
    # relative to the lip's body.
    hue_err = np.linalg.norm(lab_out[:, 1:] - ochre_lab[1:], axis=1)
    assert np.median(hue_err) < 4.0
    body_l = np.where(yy[ring] < 110, driver_body[0, 0], driver_body[1, 0])
    light_err = np.abs(lab_out[:, 0] - lab_in[:, 0] * ochre_lab[0] / body_l)
    assert np.percentile(light_err, 90) < 3.0   # (not quite into the thin corners)
    changed = np.abs(out.astype(int) - img).max(axis=2) > 2
    # The tongue is not painted the lips' colour: its own lightness, its hue turned as far
    # as the lips' (the driver's pink to the photo's ochre), so it sits under the new lips
    # as it sat under the driver's.
    t_in, t_out = _lab(img[tongue]), _lab(out[tongue])
    assert np.abs(t_out[:, 0] - t_in[:, 0]).max() < 2.0
    lips_in = driver_body.mean(axis=0)
    turn = np.arctan2(ochre_lab[2], ochre_lab[1]) - np.arctan2(lips_in[2], lips_in[1])
    hue_in = np.arctan2(t_in[:, 2], t_in[:, 1])
    hue_out = np.arctan2(t_out[:, 2], t_out[:, 1])
    assert np.degrees(np.abs(np.angle(np.exp(1j * (hue_out - hue_in - turn))))).max() < 5.0
    assert np.degrees(turn) > 20.0                      # (a real turn, not a no-op)
    assert not changed[~cv2.dilate(inside.astype(np.uint8), np.ones((5, 5), np.uint8)
                                   ).astype(bool)].any()
    near_ring = cv2.dilate(ring.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    cavity = inside & ~near_ring & ~tongue    # (the ring's edge is feathered)
    # The dark cavity keeps its darkness (its faint red turns with the rest).
    assert np.abs(_lab(out[cavity])[:, 0] - _lab(img[cavity])[:, 0]).max() < 2.0


def test_a_drivers_inner_lip_in_shadow_takes_the_photos_lip_hue_too():
    """Past the pale wet band, the inner lip turning into the dark: lip hued, too dark for
    the band's colour distance. Joined to the band, it takes the photo's lip hue too (it
    read as a red line inside ochre lips, s9 x d3); the cavity beyond, dark with little
    colour, keeps its own."""
    from reactive.core.mouthbank import lip_body, recolour_lip_tissue

    img, points, inside, band, (yy, xx), bottom = _lip_band_scene(95, 5, (185, 85, 92))
    shadow = inside & ~band & (yy > bottom - 9)          # 4 px above the lower band
    img[shadow] = (95, 35, 40)                            # the lip's red, in shadow
    cavity = inside & ~band & ~shadow & (yy > 100)
    img[cavity] = (28, 18, 18)                            # the dark, nearly no colour
    frame = mm.mouth_frame(points)
    cols = mm.lip_columns(points, *frame)
    driver_body = lip_body(img, frame, cols)
    ochre_lab = _lab(np.array([150.0, 120.0, 60.0], np.float32))[0]
    out = img.copy()
    recolour_lip_tissue(out, frame, cols, ochre_lab, np.stack([ochre_lab, ochre_lab]))
    mid = shadow & (np.abs(xx - 120) < 30)
    before, after = _lab(img[mid]), _lab(out[mid])
    # Its hue now the ochre's direction (b* over a*), its lightness still the shadow's.
    assert np.median(after[:, 2] / np.maximum(np.abs(after[:, 1]), 1e-3)) > 1.5
    assert np.median(before[:, 2] / np.maximum(np.abs(before[:, 1]), 1e-3)) < 0.6
    lit = _lab(out[band & (np.abs(xx - 120) < 30)])
    assert np.median(after[:, 0]) < np.median(lit[:, 0])
    # ... and its colour fading with the light, as a lip's in shadow: not the photo's lip
    # colour in full (a saturated ring inside the lips, s1 x d11), nor grey (holes).
    chroma = np.median(np.hypot(after[:, 1], after[:, 2]))
    full = float(np.hypot(ochre_lab[1], ochre_lab[2]))
    dark = np.median(after[:, 0]) / np.median(lit[:, 0])
    assert chroma == pytest.approx(full * np.sqrt(dark), rel=0.2)
    assert chroma < 0.85 * full
    deep = cavity & (yy < bottom - 13)
    assert np.abs(out[deep].astype(int) - img[deep]).max() <= 2


def test_flesh_is_told_by_hue_reaching_far_towards_violet_and_little_towards_yellow():
    """A tongue's lavender highlight turns with the lips (s4 x d10); a tooth yellowed by a
    stain or by shadow, as colourful as flesh, does not (turned with it, it went olive
    green: s8 with d13's bank)."""
    from reactive.core.mouthbank import flesh_weight

    lip = np.array([40.0, 26.0, 10.0])                   # hue 21 degrees

    def at(hue_deg, chroma=26.0):
        h = np.deg2rad(hue_deg)
        return np.array([[50.0, chroma * np.cos(h), chroma * np.sin(h)]], np.float32)

    assert flesh_weight(at(25.0), lip)[0] == pytest.approx(1.0)     # tongue, gums
    assert flesh_weight(at(-45.0), lip)[0] == pytest.approx(1.0)    # lavender
    assert flesh_weight(at(62.0), lip)[0] == 0.0                    # a yellowed tooth
    assert flesh_weight(at(40.0), lip)[0] > 0.9                     # an orange tongue
    assert flesh_weight(at(25.0, chroma=5.0), lip)[0] == 0.0        # grey: teeth, cavity


def test_a_drivers_pink_tinged_teeth_and_pale_tongue_are_not_painted_lip_red():
    """A driver with pale lips, teeth tinged pink by its video's warm cast (the lips' hue,
    little colour) and a pink tongue against its lower lip, into a face with red lips: the
    band of the driver's own lip takes the red, but the teeth stay as they were and the
    tongue keeps its lightness (painted lip red, both read as a red patch, s42 x d6)."""
    from reactive.core.mouthbank import recolour_lip_tissue

    img, points = _mouth_scene(0)
    img[np.all(img == (170, 70, 75), axis=2)] = (185, 130, 128)   # pale pink lips
    inside = np.zeros(img.shape[:2], np.uint8)
    cv2.fillPoly(inside, [np.round(points[lm.LIPS_INNER]).astype(np.int32)], 1)
    yy, xx = np.mgrid[0:img.shape[0], 0:img.shape[1]]
    inside = inside > 0
    bottom = 90.0 + 40.0 * np.sin(np.pi * np.clip((xx - 60) / 120.0, 0, 1))
    band = inside & (yy < 93)                                      # the driver's inner lip
    teeth = inside & (yy >= 93) & (yy < 103)
    tongue = inside & (yy > bottom - 14) & (np.abs(xx - 120) < 30)
    img[band] = (180, 125, 124)
    img[teeth] = (232, 200, 195)     # Lab (83, 10, 7): over half the lips' chroma (23)
    img[tongue] = (235, 150, 150)    # the lips' hue, lighter and more colourful
    frame = mm.mouth_frame(points)
    cols = mm.lip_columns(points, *frame)
    red = _lab(np.array([170.0, 40.0, 50.0], np.float32))[0]
    out = img.copy()
    recolour_lip_tissue(out, frame, cols, red, np.stack([red, red]))
    mid = np.abs(xx - 120) < 35
    # The band is the photo's red now (a real recolouring: the test can fail) ...
    b_in, b_out = _lab(img[band & mid]), _lab(out[band & mid])
    assert np.median(np.linalg.norm(b_out[:, 1:] - red[1:], axis=1)) < 6.0
    assert np.median(b_out[:, 1]) > np.median(b_in[:, 1]) + 15.0
    # ... the teeth (away from the band's feathered edge) are not.
    core = teeth & mid & (yy >= 95)
    assert np.abs(out[core].astype(int) - img[core]).max() <= 3
    # The tongue keeps its lightness and is not made lip red (but for the feathered
    # pixels where it meets the lip).
    tongue = cv2.erode(tongue.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    t_in, t_out = _lab(img[tongue]), _lab(out[tongue])
    assert np.abs(t_out[:, 0] - t_in[:, 0]).max() < 2.0
    assert np.median(np.linalg.norm(t_out[:, 1:] - red[1:], axis=1)) > 15.0


def _drawn_layer_at(opening_frac: float, teeth: bool = True):
    """The drawn mouth put into a flat synthetic opening ``opening_frac`` mouth widths tall
    (100 px wide): the composited box, the opening's mask, the lips (top, bottom) in px."""
    from reactive.core.drawnmouth import draw_interior, reveal_columns

    colours = {"skin": np.array([200.0, 160.0, 140.0], np.float32),
               "lips": np.array([170.0, 80.0, 85.0], np.float32)}
    img, up, low = draw_interior(100.0, colours, teeth=teeth)
    m = int(np.ceil(0.15 * 100))
    s_lips = np.stack([np.zeros(mm.N_COLUMNS), np.full(mm.N_COLUMNS, 80.0)])
    top, h = 40.0, opening_frac * 100.0
    lips_t = np.stack([np.zeros(mm.N_COLUMNS), np.full(mm.N_COLUMNS, h)])
    cols_t, cols_s = np.zeros((4, mm.N_COLUMNS)), np.zeros((4, mm.N_COLUMNS))
    reveal_columns(s_lips, np.array([up, low]), lips_t, 1.0, cols_t, cols_s, MouthParams())
    shape = (120, 140)
    map_x, map_y = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    rigid = np.zeros(shape, np.float32)
    target = (np.array([20.0, top]), np.array([1.0, 0.0]), 100.0)
    source = (np.array([float(m), float(m)]), np.array([1.0, 0.0]), 100.0)
    mm.interior_map((0, 0), target, cols_t, source, cols_s, map_x, map_y, rigid)
    out = cv2.remap(img, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out, (top, top + h)


def _tooth_like(rgb: np.ndarray) -> np.ndarray:
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)
    return (lab[..., 0] > 40) & (np.hypot(lab[..., 1], lab[..., 2]) < 25)


def test_drawn_teeth_show_as_far_as_the_lips_part():
    """Lips barely parted: the upper teeth under the upper lip, no lower teeth; a wide
    opening: both rows, the lower standing on the lower lip, a dark gap between."""
    out, (top, bot) = _drawn_layer_at(0.08)
    teeth = _tooth_like(out)
    rows = np.arange(out.shape[0])
    inside = (rows >= top) & (rows < bot)
    mid = slice(55, 85)                                   # middle of the mouth (x 20..120)
    assert teeth[inside][:, mid].mean() > 0.3              # upper teeth show
    lower_half = (rows >= top + 0.6 * (bot - top)) & (rows < bot)
    upper_rows = teeth[int(top):int(top) + 3, mid].mean()
    assert upper_rows > 0.5
    wide, (top, bot) = _drawn_layer_at(0.45)
    teeth = _tooth_like(wide)
    near_lower = teeth[int(bot) - 4:int(bot), mid].mean()
    near_upper = teeth[int(top):int(top) + 4, mid].mean()
    middle = teeth[int(top + 0.45 * (bot - top)):int(top + 0.55 * (bot - top)), mid].mean()
    assert near_upper > 0.6 and near_lower > 0.4 and middle < 0.1
    # Barely parted: the bottom of the opening is not lower teeth.
    assert _tooth_like(out)[lower_half][:, mid][-2:].mean() < 0.2


def test_drawn_teeth_vary_per_tooth_and_fade_before_the_corners():
    out, (top, bot) = _drawn_layer_at(0.45)
    luma = out.astype(float) @ [0.299, 0.587, 0.114]
    y = int(top + 6)
    row = luma[y, 20:121]
    # Per-tooth brightness: the peaks (tooth middles) differ, not one flat band.
    from scipy.signal import find_peaks

    peaks, _ = find_peaks(row, distance=4, prominence=3)
    assert len(peaks) >= 6
    centre = [p for p in peaks if 25 <= p <= 75]
    assert np.ptp(row[centre]) > 6
    # Towards the corners the rows fade into the cheeks' shadow: the outermost teeth
    # (|u| 0.36-0.41) under half as bright as the middle ones, none in the last 5 %.
    teeth = _tooth_like(out)[int(top):int(bot)]
    assert not teeth[:, 20:25].any() and not teeth[:, 116:121].any()
    outer = np.concatenate([row[10:15], row[86:91]])
    assert outer.max() < 0.45 * row[40:60].max()
    # Without teeth, nothing tooth-like at all.
    plain, _ = _drawn_layer_at(0.45, teeth=False)
    assert not _tooth_like(plain).any()


def test_a_live_mouth_layer_shows_each_frames_crop_as_a_filmed_clip_would():
    """The puppet's per-frame entry point: a crop handed to ``set_interior`` is drawn exactly
    as the same crop precomputed into a filmed pack is, into the buffers made at init; no
    crop (or before any): the drawn mouth. (The gap under the sample's own teeth is filled
    from a clip's most open frame, which a live driver cannot know yet: it takes the drawn
    mouth's cavity, and the two differ there only.)"""
    from dataclasses import replace

    from reactive.core.motion import frame_offsets
    from reactive.core.mouth import MouthLayer
    from reactive.core.rig import build_rig
    from reactive.io.assets import BUILTIN_CLIPS_DIR, SAMPLE_PORTRAIT
    from reactive.io.clippack import load_pack
    from reactive.io.photo import load_photo
    from reactive.io.target import find_target_face

    photo = load_photo(SAMPLE_PORTRAIT)
    drawn_pack = load_pack(BUILTIN_CLIPS_DIR / "laugh.npz")
    filmed = replace(drawn_pack, extra={})  # its crops taken as a real driver's
    rig = build_rig(photo, find_target_face(photo), drawn_pack)
    i = int(np.argmax(lm.mouth_open_ratio(drawn_pack.landmarks)))
    offsets = np.zeros((len(rig.rest), 2), np.float32)
    frame_offsets(rig, drawn_pack, i, offsets)

    def out(layer):
        frame = photo.copy()
        assert layer.apply(frame, i, offsets) > 0
        return frame

    no_gap = MouthParams(gap_leak_full=np.inf)
    want_filmed = out(MouthLayer(rig, filmed, no_gap))
    want_drawn = out(MouthLayer(rig, drawn_pack, no_gap))
    assert np.abs(want_filmed.astype(int) - want_drawn).max() > 50  # they differ
    ring = replace(drawn_pack, mouth=None, mouth_affine=None)
    live = MouthLayer(rig, ring, no_gap, live=True)
    np.testing.assert_array_equal(out(live), want_drawn)
    images = live.source.images
    live.pack.landmarks[i] = drawn_pack.landmarks[i]
    live.set_interior(i, drawn_pack.mouth[i], drawn_pack.mouth_affine[i])
    assert live.source.images is images
    np.testing.assert_array_equal(out(live), want_filmed)
    live.set_interior(i, None)
    np.testing.assert_array_equal(out(live), want_drawn)
    # With the gap filled, the two differ only inside the opening.
    live = MouthLayer(rig, ring, live=True)
    live.set_interior(i, drawn_pack.mouth[i], drawn_pack.mouth_affine[i])
    differ = (out(live) != out(MouthLayer(rig, filmed))).any(axis=-1)
    inner = np.zeros(photo.shape[:2], np.uint8)
    cv2.fillPoly(inner, [np.round(rig.rest[lm.LIPS_INNER] + offsets[lm.LIPS_INNER])
                         .astype(np.int32)], 1)
    inner = cv2.dilate(inner, np.ones((5, 5), np.uint8))
    assert differ.any() and not (differ & (inner == 0)).any()
    # A painting's layer (no teeth) keeps its toothless drawn mouth.
    painted = MouthLayer(rig, drawn_pack, teeth=False, live=True)
    painted.set_interior(i, drawn_pack.mouth[i], drawn_pack.mouth_affine[i])
    np.testing.assert_array_equal(out(painted), out(MouthLayer(rig, drawn_pack, teeth=False)))


def test_skin_colour_is_the_lit_skin_not_a_shadow_or_a_beard():
    """A face lit from one side: the skin beside one mouth corner lit, beside the other and
    on the chin in shadow (a turned head, the lower lip's shadow; or a beard). The mouth's
    light is the lit skin's; with every patch lit alike, their median as before."""
    from reactive.core.mouthbank import skin_colour

    img, points = _mouth_scene(0)
    frame = mm.mouth_frame(points)
    cols = mm.lip_columns(points, *frame)
    lit, shade = (200, 150, 120), (90, 60, 40)
    img[:, :120] = lit                       # the image-left half, whose corner is lit
    img[:, 120:] = shade
    img[140:, :] = shade                     # the chin
    np.testing.assert_allclose(skin_colour(img, frame, cols), lit, atol=1.0)
    img[:, :] = lit
    np.testing.assert_allclose(skin_colour(img, frame, cols), lit, atol=1.0)


def _two_rows_scene(up_px: float, low_px: float):
    """A frontal mouth (``_mouth_scene``'s, 40 px open in the middle) with a white upper row
    ``up_px`` long and a lower row ``low_px`` tall standing on the lower lip, the dark
    cavity between."""
    img, points = _mouth_scene(0)
    mask = np.zeros(img.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(points[lm.LIPS_INNER]).astype(np.int32)], 1)
    yy = np.arange(img.shape[0])[:, None]
    bottom = np.round(points[lm.LIPS_INNER][:, 1]).max()
    img[(mask > 0) & (yy < 90 + up_px)] = (235, 232, 225)
    img[(mask > 0) & (yy > bottom - low_px)] = (230, 228, 220)
    return img, points


def _rows_interiors(rows) -> Interiors:
    """Interiors of ``_two_rows_scene`` mouths, one per (up_px, low_px) of ``rows``, each
    described as a driver's crop is (``mouthbank.describe``)."""
    from reactive.core.mouthbank import describe

    images, frames, lips, reach = [], [], [], []
    for up_px, low_px in rows:
        img, points = _two_rows_scene(up_px, low_px)
        frame, cols, _, r = describe(img, points)
        images.append(img)
        frames.append(frame)
        lips.append(cols)
        reach.append(r)
    n = len(images)
    return Interiors(images=np.stack(images), origin=np.array([f[0] for f in frames]),
                     axis=np.array([f[1] for f in frames]),
                     width=np.array([f[2] for f in frames]), lips=np.array(lips),
                     teeth=np.array(reach), skin=np.zeros((n, 3), np.float32),
                     shape=np.zeros((n, 3)))


def test_a_grins_tips_never_show_twice_under_a_photos_teeth():
    """A photo shows its upper teeth, 30% of the opening; the driver grins, its upper row
    reaching 60% of its opening, a dark cavity over its lower row. What of the driver's row
    is hidden under the photo's (35%) leaves its tips in the gap; the gap takes the cavity
    of the source's most open image instead, and the driver's lower row stays. Teeth from
    lip to lip (a toothy smile, clenched) have no cavity to show: they stay."""
    from reactive.core.mouthgap import TeethGap

    # The grin, an open mouth, and teeth from lip to lip (the rows meet).
    source = _rows_interiors(((24, 6), (8, 8), (40, 0)))
    n, reach = len(source), source.teeth
    images = source.images
    p = MouthParams()
    gap = TeethGap(source, np.arange(n), p)
    assert gap.weight[0] == 1.0 and gap.weight[1] == 0.0
    assert gap.donor == 1
    assert gap.reach[0, 0, K // 2] == pytest.approx(24, abs=2.0)
    # Clenched (or a toothy smile): no cavity between the rows, the driver's teeth stay.
    assert gap.weight[2] == 0.0

    # The output's opening is the driver's; the photo's row covers 30% of it.
    s_lips, frame = source.lips[0], source.frame(0)
    height = s_lips[1] - s_lips[0]
    zu_s, zl_s = mm.rigid_zones(s_lips[0], s_lips[1], reach[0][0], reach[0][1],
                                min_frac=p.rigid_min_frac, max_frac=p.rigid_source_max_frac)
    gap.lower_row(0, s_lips, zl_s)
    cols_t = np.stack([s_lips[0], 0.3 * height, zl_s, s_lips[1]])
    cols_s = np.stack([s_lips[0], zu_s, zl_s, s_lips[1]])
    h, w = images[0].shape[:2]
    map_x, map_y = np.zeros((h, w), np.float32), np.zeros((h, w), np.float32)
    rigid = np.zeros((h, w), np.float32)
    mm.interior_map((0, 0), frame, cols_t, frame, cols_s, map_x, map_y, rigid)
    interior = cv2.remap(images[0], map_x, map_y, cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)
    # Under the photo's row (its tips at y 90 + 12), the upper half of the gap; and the
    # lower row.
    x = slice(105, 136)
    under, lower = (slice(105, 112), x), (slice(125, 128), x)
    before = float((interior[under].min(axis=-1) > 180).mean())
    gap.fill(interior, rigid, 0, source, np.ones((n, 3), np.float32), s_lips, frame, cols_t,
             (0, 0), map_x, map_y)
    after = float((interior[under].min(axis=-1) > 180).mean())
    kept = float((interior[lower].min(axis=-1) > 180).mean())
    assert before > 0.9          # the driver's tips, a second time
    assert after < 0.05          # the cavity
    assert kept > 0.9            # the driver's lower row


def test_tips_drawn_out_far_give_way_to_the_cavity_in_any_frame():
    """A smiling photo's parted lips add their opening to the driver's: the middle between
    the driver's rows is drawn out two or three times, and tips hanging in it read as
    fangs. Over a clip the fill follows what most frames around show, so a grin's frame
    amid teeth from lip to lip keeps its tips; drawn out that far it gives way to the
    cavity all the same. Drawn out a little, or where the rows meet (no cavity between
    them: teeth, long but teeth), nothing changes."""
    from reactive.core.mouthgap import TeethGap

    meet, grin = (40, 0), (24, 6)
    source = _rows_interiors((meet,) * 6 + (grin, (8, 8)) + (meet,) * 6)
    n, j = len(source), 6
    p = MouthParams()
    gap = TeethGap(source, np.arange(n), p, fps=30.0)
    # Most frames around the grin show teeth from lip to lip: the window keeps its tips.
    assert gap.weight[j] == 0.0
    assert gap.meet[j] == 0.0 and gap.meet[0] == 1.0 and gap.meet[j + 1] == 0.0
    assert gap.stretched(j, p.gap_stretch_full) == 1.0
    assert gap.stretched(j, p.gap_stretch_from) == 0.0
    assert 0.0 < gap.stretched(j, 0.5 * (p.gap_stretch_from + p.gap_stretch_full)) < 1.0
    # Rows that meet next to it: nothing to give way, at any stretch (the caller need not
    # work the stretch out).
    assert gap.stretched(j - 1, 3.0) == 0.0
    assert gap.may_fill(j) and not gap.may_fill(j - 1)

    # The grin's frame carried into an opening whose middle is drawn out 2.5 times, the
    # photo's row over 30% of it: its tips fill the upper part of the gap, unless the
    # stretch is told.
    s_lips, frame = source.lips[j], source.frame(j)
    height = s_lips[1] - s_lips[0]
    zu_s, zl_s = mm.rigid_zones(s_lips[0], s_lips[1], source.teeth[j][0], source.teeth[j][1],
                                min_frac=p.rigid_min_frac, max_frac=p.rigid_source_max_frac)
    cols_t = np.stack([s_lips[0], 0.3 * height, zl_s, s_lips[1]])
    cols_s = np.stack([s_lips[0], zu_s, zl_s, s_lips[1]])
    h, w = source.images[j].shape[:2]
    map_x, map_y = np.zeros((h, w), np.float32), np.zeros((h, w), np.float32)
    rigid = np.zeros((h, w), np.float32)
    mm.interior_map((0, 0), frame, cols_t, frame, cols_s, map_x, map_y, rigid)
    carried = cv2.remap(source.images[j], map_x, map_y, cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_REPLICATE)
    under = (slice(105, 112), slice(105, 136))
    shown = {}
    for stretch in (1.0, 2.5):
        interior = carried.copy()
        gap.fill(interior, rigid, j, source, np.ones((n, 3), np.float32), s_lips, frame,
                 cols_t, (0, 0), map_x.copy(), map_y.copy(), stretch=stretch)
        shown[stretch] = float((interior[under].min(axis=-1) > 180).mean())
    assert shown[1.0] > 0.9      # the tips, as the window says
    assert shown[2.5] < 0.05     # the cavity

    # A photo without teeth of its own: no tips show twice, whatever the driver's (a grin
    # held: the window's weight is full), only tips drawn out far give way.
    held = _rows_interiors((grin,) * 6 + ((8, 8),))
    bare = TeethGap(held, np.arange(len(held)), p, fps=30.0, photo_teeth=False)
    assert bare.weight[0] == 1.0 and bare.donor == len(held) - 1
    for stretch, tips in ((1.0, True), (2.5, False)):
        interior = carried.copy()
        bare.fill(interior, rigid, 0, held, np.ones((len(held), 3), np.float32), s_lips,
                  frame, cols_t, (0, 0), map_x.copy(), map_y.copy(), stretch=stretch)
        assert ((interior[under].min(axis=-1) > 180).mean() > 0.9) == tips

    # Live, the same: the most the last frames showed, fading over about the window.
    gap = TeethGap(source, np.zeros(0, np.int64), p, fps=30.0, live=True)
    for k in (0, 1, j, 2, 3):
        gap.measure(source, k)
    assert gap.weight[j] < 0.5 and gap.peak[j] == 1.0
    assert gap.stretched(j, 3.0) == 1.0
    gap.measure(source, j + 1)   # the open mouth, a frame later: still most of the peak
    assert 0.5 < gap.peak[j + 1] < 1.0


def test_teeth_columns_measure_each_columns_reach():
    """An upper row reaching 10 px on the image's left half and 20 px on its right: each
    middle column reads its own reach, and ``teeth_extent`` the median of the middle."""
    img, points = _mouth_scene(0)
    mask = np.zeros(img.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(points[lm.LIPS_INNER]).astype(np.int32)], 1)
    yy, xx = np.mgrid[0:img.shape[0], 0:img.shape[1]]
    img[(mask > 0) & (yy < np.where(xx < 120, 100, 110))] = (235, 232, 225)
    frame = mm.mouth_frame(points)
    cols = mm.lip_columns(points, *frame)
    reach = mm.teeth_columns(img, frame, cols)
    assert reach.shape == (2, K)
    u = mm.COLUMNS_U
    left, right = (u > 0.2) & (u < 0.45), (u > 0.55) & (u < 0.8)
    np.testing.assert_allclose(reach[0, left], 10, atol=1.5)
    np.testing.assert_allclose(reach[0, right], 20, atol=1.5)
    assert (reach[1] == 0).all()


def test_a_live_gap_follows_what_most_recent_frames_show():
    """A live driver's crops arrive one at a time: the gap's fill follows the share of
    recent frames that show a cavity under the tips, so a grin held fills it within about
    ``gap_window_s`` and a toothy smile whose lower row is glimpsed every other frame does
    not flicker between teeth and cavity (nor stays half-faded over the teeth)."""
    from reactive.core.mouthgap import TeethGap

    source = _rows_interiors(((24, 6), (40, 0)))     # a grin, teeth from lip to lip
    p = MouthParams()
    gap = TeethGap(source, np.zeros(0, np.int64), p, fps=30.0, live=True)
    held = []
    for _ in range(30):
        gap.measure(source, 0)
        held.append(gap.weight[0])
    assert held[0] == 0.0 and held[-1] > 0.99
    assert 3 <= int(np.argmax(np.array(held) > 0.5)) <= int(30 * p.gap_window_s)
    gap = TeethGap(source, np.zeros(0, np.int64), p, fps=30.0, live=True)
    mixed = []
    for k in range(60):
        gap.measure(source, k % 2)
        mixed.append(gap.weight[k % 2])
    assert max(mixed) < 0.2
