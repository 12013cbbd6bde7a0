"""The person over a still background (``core.backdrop``) on synthetic photos: the split,
the plate, the photo back at rest, a still background while the person moves (both warps)."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from reactive.core import backdrop as bd
from reactive.core import landmarks as lm
from reactive.core.kernels.composite import composite_cells
from reactive.core.motion import frame_offsets
from reactive.core.rig import build_rig
from reactive.core.warper import GridWarper, Warper
from reactive.params import BackdropParams, WarpParams
from tests.helpers import fake_face, fake_pack

H, W = 180, 200


def _face():
    """``fake_face`` with its eyes and nose tip where a face has them (the head ring reads
    the face's up from the eye line)."""
    pts = fake_face()
    ang = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    ring = np.stack([8 * np.cos(ang), 4 * np.sin(ang)], 1)
    pts[lm.LEFT_EYE] = ring + (118, 80)     # the subject's left: the image's right
    pts[lm.RIGHT_EYE] = ring + (82, 80)
    pts[lm.NOSE_TIP] = (100, 100)
    return pts


def _scene(seed=0):
    """A textured background, a person (head and shoulders) around ``fake_face``, and the
    segmentation's probability for it: soft at the edge, as MediaPipe's is."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    back = np.dstack([60 + 20 * np.sin(xx / 5.0), 110 + 15 * np.cos(yy / 7.0),
                      160 + 10 * np.sin((xx + yy) / 9.0)])
    back += rng.normal(0, 3, back.shape)
    person = np.zeros((H, W), np.uint8)
    cv2.ellipse(person, (100, 85), (55, 70), 0, 0, 360, 1, -1)      # head and hair
    cv2.ellipse(person, (100, 200), (90, 60), 0, 0, 360, 1, -1)     # shoulders
    skin = np.dstack([200 + 30 * np.sin(yy / 3.0), 150 + 0 * xx, 120 + 20 * np.cos(xx / 4.0)])
    soft = cv2.GaussianBlur(person.astype(np.float32), (0, 0), 2.0)
    photo = np.clip(soft[..., None] * skin + (1 - soft[..., None]) * back, 0, 255)
    return photo.astype(np.uint8), soft, _face()


def test_split_composites_back_to_the_photo_exactly():
    photo, prob, pts = _scene()
    b = bd.make_backdrop(photo, prob, pts)
    assert b is not None
    np.testing.assert_array_equal(bd.composite(b.person, b.alpha, b.plate), photo)
    background = b.alpha == 0
    np.testing.assert_array_equal(b.plate[background], photo[background])
    np.testing.assert_array_equal(b.person[b.alpha == 255], photo[b.alpha == 255])
    face = np.zeros((H, W), np.uint8)
    cv2.fillPoly(face, [np.round(lm.face_polygon(pts)).astype(np.int32)], 1)
    assert (b.alpha[face > 0] == 255).all()


def test_plate_is_background_coloured_under_the_person():
    photo, prob, pts = _scene()
    b = bd.make_backdrop(photo, prob, pts)
    under = b.alpha == 255
    seen = b.alpha == 0
    # The skin is red (200+) and the background's red at most ~85: the fill took none of it.
    assert b.plate[under][:, 0].max() < photo[seen][:, 0].max() + 10
    assert abs(float(b.plate[under][:, 1].mean()) - float(photo[seen][:, 1].mean())) < 15


def test_fill_copies_no_strong_edge_from_the_background():
    """A dark line beside the person: mirrored whole it would show a second line inside the
    fill when the head moves away; the texture is clipped to the background's grain."""
    photo, prob, pts = _scene()
    x_edge = int(np.flatnonzero(prob[85] > 0.5)[0])
    photo[:, x_edge - 12:x_edge - 9] = 0
    b = bd.make_backdrop(photo, prob, pts)
    grey = b.plate.astype(np.float32).mean(axis=2)
    filled = b.alpha[:, x_edge:x_edge + 30] == 255
    assert grey[:, x_edge:x_edge + 30][filled].min() > 40   # the line is 0


def _bush_scene(seed=0, h=360, w=400):
    """A light wall with a dark bush right beside the head's left side, a fine random
    texture over both (no period, so every patch of it is unique), and a person's alpha:
    the background next to the head differs from the background as a whole."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    grain = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 1.5)
    grain *= 12 / grain.std()
    wall = np.where((xx > 60) & (xx < 125) & (yy < 260), 70.0, 190.0).astype(np.float32)
    wall = cv2.GaussianBlur(wall, (0, 0), 4.0)
    back = np.dstack([wall + grain, 0.9 * wall + grain, 0.8 * wall + grain])
    person = np.zeros((h, w), np.uint8)
    cv2.ellipse(person, (200, 170), (80, 110), 0, 0, 360, 1, -1)
    cv2.ellipse(person, (200, 400), (170, 120), 0, 0, 360, 1, -1)
    soft = cv2.GaussianBlur(person.astype(np.float32), (0, 0), 2.0)
    skin = np.array([210, 160, 130], np.float32)
    photo = np.clip(soft[..., None] * skin + (1 - soft[..., None]) * back, 0, 255)
    return photo.astype(np.uint8), (soft * (soft > 0.02)).astype(np.float32)


def _bands(alpha, inner=(3, 15), outer=(7, 19)):
    """Pixels just inside the person's old outline and just outside it (beyond the fill's
    margin), (H, W) bool each."""
    a = (alpha > 0).astype(np.uint8)
    depth = cv2.distanceTransform(a, cv2.DIST_L2, 5)
    away = cv2.distanceTransform(1 - a, cv2.DIST_L2, 5)
    return ((depth > inner[0]) & (depth < inner[1]), (away > outer[0]) & (away < outer[1]))


def test_fill_continues_the_background_colour_beside_the_person():
    """Where the head moves away, the plate shows: just inside the old outline it must be
    the colour of the background just outside it there, not an average over the whole
    background (a lighter patch beside a dark bush: a ghost of the head)."""
    photo, alpha = _bush_scene()
    plate = bd.fill_background(photo, alpha).astype(np.float32)
    inside, outside = _bands(alpha)
    yy, xx = np.mgrid[0:photo.shape[0], 0:photo.shape[1]]
    for side, tolerance in ((xx < 200, 8.0), (xx > 200, 3.0)):     # bush side, wall side
        rows = (yy > 120) & (yy < 220) & side
        gap = plate[inside & rows].mean(axis=0) - plate[outside & rows].mean(axis=0)
        assert np.abs(gap).max() < tolerance, gap
        grain = [np.abs(plate[..., 1] - cv2.GaussianBlur(plate[..., 1], (0, 0), 2.0))[m & rows]
                 .mean() for m in (inside, outside)]
        assert 0.6 < grain[0] / grain[1] < 1.6, grain        # textured, not a smooth patch


def test_fill_near_the_outline_is_made_of_real_background_patches():
    """The texture just inside the old outline is the background's own (each small patch
    of it found in the background), not a mirror, a hatch or a repeated tile of it."""
    photo, alpha = _bush_scene()
    plate = bd.fill_background(photo, alpha)

    def detail(img):
        grey = img.astype(np.float32).mean(axis=2)
        return grey - cv2.GaussianBlur(grey, (0, 0), 3.0)

    a = (alpha > 0).astype(np.uint8)
    source = detail(photo)
    source[cv2.dilate(a, np.ones((9, 9), np.uint8)) > 0] = 0.0
    filled = detail(plate)
    depth = cv2.distanceTransform(a, cv2.DIST_L2, 5)
    ys, xs = np.nonzero((depth > 6) & (depth < 25) & (np.arange(a.shape[0]) < 250)[:, None])
    pick = np.random.default_rng(1).choice(len(ys), 40, replace=False)
    best = [cv2.matchTemplate(source, filled[y - 4:y + 5, x - 4:x + 5],
                              cv2.TM_CCOEFF_NORMED).max() for y, x in zip(ys[pick], xs[pick])]
    assert np.median(best) > 0.75, np.median(best)       # the mirror fill: 0.60


def _card_scene(seed=0, h=360, w=400):
    """A photo of a photo: a plain green card (a cream border round it) on a busy pink
    cloth, the person on the card with only a narrow strip of green beside the head; the
    cloth and the card's border lie within the fill's copying distance of the head."""
    rng = np.random.default_rng(seed)
    grain = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 1.2)
    grain /= grain.std()
    back = np.empty((h, w, 3), np.float32)
    back[:] = (230, 175, 185)
    back += 22 * grain[..., None]                                   # the cloth's weave
    back[30:, 85:315] = (235, 232, 205)                             # the card's border
    back[40:, 95:305] = (60, 110, 70)
    back[40:, 95:305] += 2 * grain[40:, 95:305, None]               # the plain card
    person = np.zeros((h, w), np.uint8)
    cv2.ellipse(person, (200, 170), (82, 105), 0, 0, 360, 1, -1)
    cv2.ellipse(person, (200, 400), (100, 120), 0, 0, 360, 1, -1)
    soft = cv2.GaussianBlur(person.astype(np.float32), (0, 0), 2.0)
    skin = np.array([210, 160, 130], np.float32)
    photo = np.clip(soft[..., None] * skin + (1 - soft[..., None]) * back, 0, 255)
    return photo.astype(np.uint8), (soft * (soft > 0.02)).astype(np.float32)


@pytest.mark.parametrize("guarded", [True, False])
def test_fill_copies_no_other_surface_over_a_plain_backdrop(guarded):
    """Beside the head the backdrop is a plain card; the fill's texture copies (taken from
    further out) would bring the card's border and the cloth's weave in as stripes. It
    copies only from background about as busy and of the same broad colour as that beside
    the nearest edge (``BackdropParams.texture_busier``, ``texture_colour_apart``): where
    the head moves away the plate is the card's plain green. Without that rule (the
    second case) it is striped."""
    photo, alpha = _card_scene()
    params = BackdropParams() if guarded else replace(
        BackdropParams(), texture_busier=1e6, texture_colour_apart=1e6)
    plate = bd.fill_background(photo, alpha, params=params).astype(np.float32)
    a = (alpha > 0).astype(np.uint8)
    depth = cv2.distanceTransform(a, cv2.DIST_L2, 5)
    rows = (np.arange(a.shape[0]) > 80) & (np.arange(a.shape[0]) < 230)
    band = (depth > 3) & (depth < 40) & rows[:, None]
    off = np.linalg.norm(plate[band] - np.array([60, 110, 70]), axis=1)
    fine = np.linalg.norm(plate - cv2.GaussianBlur(plate, (0, 0), 3.0), axis=2)[band]
    print(f"guarded {guarded}: plate beside the head off the card's green by "
          f"{np.median(off):.1f} (median), its detail {np.sqrt(np.mean(fine ** 2)):.1f} RMS")
    if guarded:
        assert np.median(off) < 12 and np.sqrt(np.mean(fine ** 2)) < 4
    else:
        assert np.median(off) > 30


@pytest.mark.parametrize("scale", [None, 1.0])
def test_fill_carries_a_band_beside_the_person_on(scale):
    """A dark band (a window frame) crosses a light wall beside the head: inside the old
    outline, next to it, the plate continues the band instead of averaging it with the wall
    above and below into a grey that meets it with an edge (``edge_colour_scale``; with the
    whole texture scale, the second case, it does: 125 against 84)."""
    h, w = 360, 400
    rng = np.random.default_rng(0)
    back = np.full((h, w, 3), 200.0, np.float32)
    back[150:172] = 40.0                                        # the band, 22 px tall
    back += rng.normal(0, 2, back.shape).astype(np.float32)
    person = np.zeros((h, w), np.uint8)
    cv2.ellipse(person, (200, 170), (80, 110), 0, 0, 360, 1, -1)
    cv2.ellipse(person, (200, 400), (170, 120), 0, 0, 360, 1, -1)
    soft = cv2.GaussianBlur(person.astype(np.float32), (0, 0), 2.0)
    photo = np.clip(soft[..., None] * np.array([210, 160, 130], np.float32)
                    + (1 - soft[..., None]) * back, 0, 255).astype(np.uint8)
    alpha = (soft * (soft > 0.02)).astype(np.float32)
    params = BackdropParams() if scale is None else replace(BackdropParams(),
                                                            edge_colour_scale=scale)
    plate = bd.fill_background(photo, alpha, params=params).astype(np.float32).mean(axis=2)
    depth = cv2.distanceTransform((alpha > 0).astype(np.uint8), cv2.DIST_L2, 5)
    rows = np.zeros((h, w), bool)
    rows[155:167] = True
    inside = rows & (depth > 4) & (depth < 14) & (np.arange(w) > 200)[None, :]
    print(f"edge_colour_scale {scale}: the band's rows just inside the old outline "
          f"{plate[inside].mean():.0f} (band 40, wall 200)")
    if scale is None:
        assert plate[inside].mean() < 100        # under 40% of the way from band to wall
    else:
        assert plate[inside].mean() > 110


def _fringe_scene(seed=0, size=400):
    """Dark hair (a disc) on a textured green background, the segmentation's alpha soft
    over 4 px at its edge, and a dark fringe of hair 2 px wide just outside that alpha
    (alpha 0) on the left half only, as MediaPipe's edge leaves one. Returns (photo (H, W,
    3) uint8, alpha (H, W) float32, radius (H, W) float32 from the centre, left (H, W)
    bool)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    radius = np.hypot(xx - size / 2, yy - size / 2)
    grain = lambda s: cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32),
                                       (0, 0), 1.0)[..., None] * s
    back = np.array([90, 150, 70], np.float32) + grain(8.0)
    hair = np.array([35, 28, 22], np.float32) + grain(6.0)
    alpha = np.clip((64.0 - radius) / 4.0, 0.0, 1.0)
    left = xx < size / 2
    fringe = ((radius >= 64.0) & (radius < 66.0) & left).astype(np.float32) * 0.8
    cover = np.maximum(alpha, fringe)[..., None]
    photo = np.clip(cover * hair + (1 - cover) * back, 0, 255).astype(np.uint8)
    return photo, alpha.astype(np.float32), radius, left


def test_no_dark_line_stays_in_the_plate_where_the_outline_was():
    """Hair just outside the segmentation's edge (alpha 0) is filled with the rest of the
    person, not left in the plate, where it would stay behind as a dark ring round the old
    outline when the head moves; the photo comes back exactly at rest all the same, and
    the margin where there is no such fringe keeps the photo's background."""
    photo, alpha, radius, left = _fringe_scene()
    plate = bd.fill_background(photo, alpha)
    grey = plate.astype(np.float32).mean(axis=2)
    background = photo.astype(np.float32).mean(axis=2)[(radius > 75) & (radius < 90)]
    line = (radius >= 64.0) & (radius < 66.0) & left
    assert grey[line].mean() > background.mean() - 12, (grey[line].mean(), background.mean())
    assert np.percentile(grey[line], 5) > np.percentile(background, 1) - 10
    clean = (radius >= 64.0) & (radius < 66.0) & ~left
    assert (plate[clean] == photo[clean]).all(axis=1).mean() > 0.9
    alpha8 = np.round(alpha * 255).astype(np.uint8)
    person, alpha8 = bd.unmix_person(photo, alpha8, plate)
    np.testing.assert_array_equal(bd.composite(person, alpha8, plate), photo)
    assert (alpha8[line] > 0).mean() > 0.9      # the fringe moves with the person


def _halo_scene(seed=0, size=400, halo=20.0, texture=2.0):
    """Dark hair (a disc, radius 64) on a grey backdrop with ``texture`` of grain (std,
    grey levels), the segmentation's alpha soft over 4 px at its edge, and a bright halo
    just outside it (alpha 0) adding ``halo`` grey levels at the edge, half of that 4 px
    further out (a photo's sharpening halo, a studio light's rim). Returns (photo (H, W, 3)
    uint8, alpha (H, W) float32, radius (H, W) float32 from the centre)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    radius = np.hypot(xx - size / 2, yy - size / 2)
    grain = cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32), (0, 0), 1.0)
    back = 150.0 + texture * grain / grain.std()
    alpha = np.clip((64.0 - radius) / 4.0, 0.0, 1.0)
    rim = halo * np.exp(-np.maximum(radius - 64.0, 0.0) / 6.0) * (radius >= 64.0)
    grey = alpha * 30.0 + (1 - alpha) * (back + rim)
    photo = np.clip(np.repeat(grey[..., None], 3, axis=2) + 0.5, 0, 255).astype(np.uint8)
    return photo, alpha.astype(np.float32), radius


def test_a_halo_round_the_person_moves_with_it_not_left_in_the_plate():
    """A bright halo along the outline, outside the segmentation's edge: left in the plate
    it stays behind as a light ring where the head was when the head moves (s2 x d12). It
    is lifted off the plate (the plate there is the backdrop's own grey) and given to the
    person's soft edge; the photo comes back exactly at rest, and the person moved shows
    its halo round it."""
    photo, alpha, radius = _halo_scene()
    alpha8 = np.round(alpha * 255).astype(np.uint8)
    halo = bd.edge_halo(photo, alpha8)
    ring = (radius >= 65.0) & (radius < 70.0)
    assert halo[ring].mean() > 6.0   # found: 7.4 (the photo there is 5-12 over the backdrop)
    assert (halo[radius < 60] == 0).all()               # none on the person ...
    assert (halo[radius > 65 + 0.02 * 400] == 0).all()  # ... nor beyond the reach (8 px)
    # The split: the plate has no ring; at rest, the photo.
    prob = np.clip((64.0 - radius) / 6.0 + 0.5, 0.0, 1.0).astype(np.float32)
    pts = fake_face(cx=200.0, cy=200.0, rx=30.0, ry=38.0)
    b = bd.make_backdrop(photo, prob, pts)
    assert b is not None
    np.testing.assert_array_equal(bd.composite(b.person, b.alpha, b.plate), photo)
    plate = b.plate.astype(np.float32).mean(axis=2)
    backdrop = plate[(radius > 90) & (radius < 120)].mean()
    # (Without the lift: 5.8 grey levels over the backdrop; with it 2.0.)
    assert abs(plate[ring].mean() - backdrop) < 3.0, (plate[ring].mean(), backdrop)
    # The person moved 30 px to the right: its halo is beside it, none where it was.
    moved = bd.composite(np.roll(b.person, 30, axis=1), np.roll(b.alpha, 30, axis=1),
                         b.plate).astype(np.float32).mean(axis=2)
    yy, xx = np.mgrid[0:400, 0:400]
    left = xx < 200 - 40
    assert abs(moved[ring & left].mean() - backdrop) < 3.0
    moved_radius = np.hypot(xx - 230, yy - 200)
    new_ring = (moved_radius >= 65.0) & (moved_radius < 70.0)
    assert moved[new_ring & (xx > 260)].mean() > backdrop + 8.0


def test_a_busy_background_beside_the_person_is_no_halo():
    """Without a halo, over a background busier than the halo test's (grain of 12 grey
    levels, as foliage or a landscape), nothing is lifted: what moved with the head there
    would swim."""
    photo, alpha, radius = _halo_scene(halo=0.0, texture=12.0)
    halo = bd.edge_halo(photo, np.round(alpha * 255).astype(np.uint8))
    assert (np.abs(halo) > 2.0).any(axis=2).mean() < 0.001
    # A plain backdrop without a halo: nothing either.
    photo, alpha, radius = _halo_scene(halo=0.0, texture=2.0)
    halo = bd.edge_halo(photo, np.round(alpha * 255).astype(np.uint8))
    assert (np.abs(halo) > 2.0).any(axis=2).mean() < 0.001


def test_stray_strands_of_hair_go_with_the_person_not_into_the_plate():
    """Thin strands of dark hair beyond the segmentation's edge on a plain wall (s2's
    curls, s1's flyaway lock): left in the plate they stay behind as a scribble where the
    head was. They are found and given to the person; the plate there is the wall; the
    photo comes back exactly at rest. Over a busy background (foliage) nothing dark near
    the person is taken for a strand."""
    photo, alpha, radius = _halo_scene(halo=0.0, texture=2.0)
    yy, xx = np.mgrid[0:400, 0:400].astype(np.float32)
    angle = np.arctan2(yy - 200, xx - 200)
    # Four short strands: arcs 1 px wide, 3 to 6 px beyond the edge, a twentieth of a turn
    # each (no band along the outline: ``edge_halo`` leaves them).
    strands = np.zeros((400, 400), bool)
    for r0, a0 in ((67.0, -2.5), (69.0, -0.6), (68.0, 1.2), (70.0, 2.4)):
        strands |= (np.abs(radius - r0) < 0.6) & (angle > a0) & (angle < a0 + 0.3)
    photo[strands] = 60
    found = bd.stray_strands(photo, np.round(alpha * 255).astype(np.uint8))
    assert found[strands].mean() > 0.8, found[strands].mean()
    assert found[~strands & (radius > 64)].sum() < 20
    prob = np.clip((64.0 - radius) / 6.0 + 0.5, 0.0, 1.0).astype(np.float32)
    b = bd.make_backdrop(photo, prob, fake_face(cx=200.0, cy=200.0, rx=30.0, ry=38.0))
    np.testing.assert_array_equal(bd.composite(b.person, b.alpha, b.plate), photo)
    plate = b.plate.astype(np.float32).mean(axis=2)
    # The wall's 150, not the strands' 60 (without finding them: 113, what edge_halo lifts).
    assert plate[strands].mean() > 140.0, plate[strands].mean()
    # Foliage: dark and light blobs of 25 grey levels; none near the person is a strand.
    rng = np.random.default_rng(1)
    leaves = cv2.GaussianBlur(rng.normal(0, 1, (400, 400)).astype(np.float32), (0, 0), 2.0)
    busy = np.clip(alpha * 30.0 + (1 - alpha) * (120.0 + 25.0 * leaves / leaves.std()),
                   0, 255)
    busy = np.repeat(busy[..., None], 3, axis=2).astype(np.uint8)
    found = bd.stray_strands(busy, np.round(alpha * 255).astype(np.uint8))
    assert found.sum() < 20, found.sum()


def test_unmix_raises_the_alpha_where_the_segmentation_underestimated():
    photo = np.full((4, 4, 3), 40, np.uint8)        # a dark strand ...
    plate = np.full((4, 4, 3), 220, np.uint8)       # ... over a light wall ...
    alpha = np.full((4, 4), 26, np.uint8)           # ... given a tenth of coverage
    person, new_alpha = bd.unmix_person(photo, alpha, plate)
    assert (new_alpha > 26).all()
    np.testing.assert_array_equal(bd.composite(person, new_alpha, plate), photo)


def test_unmixed_colours_stay_near_the_persons_own():
    """A white sleeve on a white wall, the segmentation unsure of it (a twentieth of
    coverage over a faint shadow line): the least alpha that explains the photo put the
    sleeve's colour at the edge of the colour cube, a line of saturated blue drawn across
    the sleeve as soon as it moved (s1). The alpha rises just enough for the colour to
    come within reach of the sleeve's own beside it; background far from the person
    keeps its least alpha; the photo comes back exactly at rest."""
    h, w = 40, 400                                            # sigma: 4 px
    photo = np.full((h, w, 3), (236, 238, 244), np.uint8)     # the sleeve, sure of it
    alpha = np.zeros((h, w), np.uint8)
    alpha[:, :150] = 255
    alpha[:, 150:170] = 13                                    # unsure: 1/20
    photo[:, 152:154] = (222, 226, 236)                       # a faint shadow line
    plate = np.full((h, w, 3), (237, 241, 245), np.uint8)     # the wall filled behind
    plate[:, :150] = photo[:, :150]
    # Far from the person: a wall pixel the plate did not get quite right.
    photo[:, 350] = (228, 232, 240)
    alpha[:, 350] = 13
    person, new_alpha = bd.unmix_person(photo, alpha, plate)
    np.testing.assert_array_equal(bd.composite(person, new_alpha, plate), photo)
    line = person[:, 152:154].reshape(-1, 3).astype(float)
    own = np.array([236.0, 238.0, 244.0])
    assert np.linalg.norm(line - own, axis=1).max() <= BackdropParams().unmix_colour_reach + 2
    assert np.ptp(line, axis=1).max() < 40                    # no saturated colour
    assert (new_alpha[:, 152:154] > 13).all()
    assert (new_alpha[:, 350] == alpha[:, 350]).all()         # no person near: as before


def test_no_split_without_a_person_on_the_face_or_without_background(caplog):
    photo, prob, pts = _scene()
    with caplog.at_level("INFO", logger="reactive.core.backdrop"):
        assert bd.make_backdrop(photo, np.zeros_like(prob), pts) is None
        assert bd.make_backdrop(photo, np.ones_like(prob), pts) is None
    text = " ".join(r.getMessage() for r in caplog.records)
    assert "statue" in text and "tight crop" in text


def test_only_the_animated_person_is_split_off():
    photo, prob, pts = _scene()
    prob = prob.copy()
    prob[10:40, 165:195] = 1.0                      # someone else, apart from the face
    alpha = bd.person_alpha(prob, photo, pts)
    assert alpha[15:35, 170:190].max() == 0.0
    assert alpha[80:90, 95:105].min() == 1.0


def test_backdrop_checks_its_arrays():
    a = np.zeros((4, 5), np.uint8)
    with pytest.raises(ValueError, match="`plate` must be"):
        bd.Backdrop(alpha=a, person=np.zeros((4, 5, 3), np.uint8),
                    plate=np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="`alpha` must be"):
        bd.Backdrop(alpha=a.astype(np.float32), person=np.zeros((4, 5, 3), np.uint8),
                    plate=np.zeros((4, 5, 3), np.uint8))


def test_head_ring_lies_around_the_face_down_to_the_nose():
    pts = _face()
    ring, anchors, share = bd.head_ring(pts, params=BackdropParams(ring_scales=(1.3, 1.7),
                                                                   ring_contour_follow=1.0))
    oval = lm.face_polygon(pts).reshape(-1, 1, 2)
    assert len(ring) > 5 and set(anchors) <= set(lm.FACE_OVAL)
    np.testing.assert_allclose(np.unique(share), [0.0, 0.4 / 0.7], atol=1e-6)  # outer: rigid
    assert all(cv2.pointPolygonTest(oval, (float(x), float(y)), False) < 0 for x, y in ring)
    assert ring[:, 1].max() <= pts[lm.NOSE_TIP, 1] + 1e-3


# --- the warps with a backdrop -------------------------------------------------------------

def _rig(photo, prob, pts, offsets, **kw):
    b = bd.make_backdrop(photo, prob, pts)
    pack = fake_pack(pts, np.asarray(offsets, np.float32))
    rig = build_rig(photo, pts, pack, backdrop=b, params=WarpParams(max_squeeze=0.0), **kw)
    return rig, pack


@pytest.mark.parametrize("grid", [False, True])
def test_zero_offsets_give_the_photo_back_with_a_backdrop(grid):
    photo, prob, pts = _scene()
    rig, pack = _rig(photo, prob, pts, [[0, 0]], dense=not grid, grid=grid)
    assert rig.n_ring > 0
    warper = GridWarper(rig) if grid else Warper(rig)
    out = warper(frame_offsets(rig, pack, 0))
    assert np.abs(out.astype(int) - photo).max() <= (1 if grid else 0)


@pytest.mark.parametrize("grid", [False, True])
def test_the_background_stays_still_while_the_person_moves(grid):
    photo, prob, pts = _scene()
    rig, pack = _rig(photo, prob, pts, [[0, 0], [6.0, -4.0]], dense=not grid, grid=grid)
    warper = GridWarper(rig) if grid else Warper(rig)
    out = warper(frame_offsets(rig, pack, 1)).astype(int)
    person = cv2.dilate((rig.backdrop.alpha > 0).astype(np.uint8), np.ones((31, 31))) > 0
    np.testing.assert_array_equal(out[~person], photo[~person])
    # ... and without a backdrop the same background moves.
    plain = build_rig(photo, pts, pack, dense=not grid, grid=grid,
                      params=WarpParams(max_squeeze=0.0))
    moved = (GridWarper(plain) if grid else Warper(plain))(frame_offsets(plain, pack, 1))
    assert (moved.astype(int) != photo)[~person].mean() > 0.3
    # The face itself moved with the driver: 6 px right, 4 px up.
    ys, xs = np.mgrid[75:100, 88:112]
    assert np.abs(out[ys, xs] - photo[ys + 4, xs - 6]).mean() < 3


def test_grid_warp_with_a_backdrop_agrees_with_the_exact_one():
    photo, prob, pts = _scene()
    rig, pack = _rig(photo, prob, pts, [[0, 0], [5.0, 3.0], [-4.0, -2.0]], grid=True)
    exact, fast = Warper(rig), GridWarper(rig)
    for i in range(3):
        off = frame_offsets(rig, pack, i)
        diff = np.abs(exact(off).astype(int) - fast(off).astype(int))
        assert diff.mean() < 1.5
        assert np.percentile(diff, 99) <= 20


def test_grid_warp_with_a_backdrop_allocates_nothing_per_frame():
    import tracemalloc

    photo, prob, pts = _scene()
    rig, pack = _rig(photo, prob, pts, [[0, 0], [4.0, 2.0]], dense=False, grid=True)
    warper = GridWarper(rig)
    off = frame_offsets(rig, pack, 1)
    warper(off)
    tracemalloc.start()
    for _ in range(3):
        warper(off)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < min(warper.field.nbytes, warper.frame.nbytes) // 4


def test_hair_follows_the_head_with_a_backdrop():
    """The head ring carries the head's rigid motion: a head moved 6 px moves the hair above
    it about as far (the whole photo warped: the border band still holds it less)."""
    photo, prob, pts = _scene()
    rig, pack = _rig(photo, prob, pts, [[0, 0], [6.0, 0.0]])
    from reactive.core.similarity import fit_similarity
    pack.head[1] = fit_similarity(pack.landmarks[0, lm.STABLE_POINTS],
                                  pack.landmarks[1, lm.STABLE_POINTS]).astype(np.float32)
    off = frame_offsets(rig, pack, 1)
    ring = off[rig.n_face + rig.bindings[0].peripheral.shape[0]:][:rig.n_ring]
    np.testing.assert_allclose(ring, np.tile([6.0, 0.0], (rig.n_ring, 1)), atol=1e-3)
    no_ring = build_rig(photo, pts, pack, backdrop=replace(
        rig.backdrop, params=BackdropParams(ring_scales=())), params=rig.params)
    assert no_ring.n_ring == 0


def test_grid_warp_remaps_only_where_the_person_reaches():
    """Frame after frame, moving more and less: each frame is the whole photo remapped and
    the edge composited, exactly, though only the spans of moving cells are remapped and
    the plate is kept (and put back) elsewhere."""
    photo, prob, pts = _scene()
    moves = [[0, 0], [6.0, -4.0], [1.0, 0.0], [-9.0, 5.0], [0.0, 0.0], [3.0, 2.0]]
    rig, pack = _rig(photo, prob, pts, moves, dense=False, grid=True)
    warper = GridWarper(rig)
    b = rig.backdrop
    width = []
    for i in range(len(moves)):
        off = frame_offsets(rig, pack, i)
        got = warper(off).copy()
        want = cv2.remap(b.person, warper.pixel_map, None, cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)
        composite_cells(want, warper.pixel_map, b.alpha[..., None], b.plate,
                        warper._cells, warper._n_cells, warper._row_start, warper._col_start)
        np.testing.assert_array_equal(got, want)
        width.append(int(np.diff(warper._spans, axis=1).sum()))
    # Some background is left alone, more of it when the person moves less.
    assert max(width) < len(warper._spans) * W
    assert width[2] < width[3]


def test_remap_rects_hold_every_span_and_waste_little():
    """Neighbouring bands are remapped together (OpenCV shares only a large call between
    threads) while the rectangle holding their spans is at most 30% larger; a band with
    no span ends a run, and a span far off the run's columns starts a new one."""
    photo, prob, pts = _scene()
    rig, _ = _rig(photo, prob, pts, [[0, 0]], dense=False, grid=True)
    warper = GridWarper(rig)
    n = len(warper._spans)
    assert n >= 6
    spans = np.zeros((n, 2), np.int32)
    spans[0:2] = [10, 50]            # one run: the same columns
    spans[2] = [12, 52]
    # spans[3] none: the run ends
    spans[4] = [10, 50]
    spans[5] = [200, 240]            # same width far off: holding both would waste 3x
    warper._spans[:] = spans
    rects = warper.remap_rects()
    band_y = warper._band_y
    assert rects[0] == (band_y[0][0], band_y[2][1], 10, 52)
    assert rects[1] == (*band_y[4], 10, 50)
    assert rects[2] == (*band_y[5], 200, 240)
    assert len(rects) == 3
    # Every span inside a rectangle; rectangles never overlap.
    for (y0, y1), (x0, x1) in zip(band_y, spans.tolist()):
        if x1 > x0:
            assert any(r[0] <= y0 and y1 <= r[1] and r[2] <= x0 and x1 <= r[3] for r in rects)
    for a, b in zip(rects[:-1], rects[1:]):
        assert a[1] <= b[0]
