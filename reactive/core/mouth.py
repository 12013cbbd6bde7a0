"""Hidden regions: the mouth interior (paper Sec. 5).

When the driver's mouth opens, the photo has no teeth or tongue to show: the warp only
stretches the closed lips. Per frame, an interior is put inside the output's inner lips:

- where it comes from (``interior_source``): a tracked driving clip's own mouth, frame by
  frame (the paper); for the built-in clips, which are not filmed, the real mouth of a bank
  of tracked clips whose lips are shaped most like theirs as the output shows them
  (``mouthbank``), or where none opens as far (it would be stretched into streaks) and
  without any bank, a mouth drawn in the photo's colours (``drawnmouth``); with
  ``teeth = false`` (paintings, cartoons) always the drawn mouth without teeth.
- how it is carried (``mouthmap``): piecewise, as a real mouth moves: the upper teeth hang
  under the output's upper lip, the lower teeth stand on its lower lip, the cavity between
  stretches; at the source's own resolution, sampled bicubic (sharp teeth).
- the photo's own teeth (a smiling photo): they move with their lip, rigid and sharp, and
  the interior shows in the gap that opens between the rows; the interior's own rows are
  fitted under the photo's, and where a driver's teeth reach further than that hides, the
  gap shows a cavity without their tips (``mouthgap``): one set of tooth tips.
- colour: a gain from the skin around both mouths (brightness, a bounded tint), not a
  Poisson blend, which tints white teeth with the skin-tone difference between two people.
- gate (Sec. 5): with a* the photo's own opening, none below a*, all above 2 a*, linear
  between; a photo that shows teeth keeps them, so its gap needs no gate.

Everything per photo is made in ``__init__``; ``apply`` writes only into buffers made there.
"""

from __future__ import annotations

import cv2
import numpy as np

from reactive.core import landmarks as lm
from reactive.core import mouthmap as mm
from reactive.core.blur import edge_sigma, soften_sigma
from reactive.core.clip import ClipPack
from reactive.core.drawnmouth import drawn_interiors, photo_colours, reveal_columns
from reactive.core.geometry import polygon_area
from reactive.core.kernels.mouth import closed_spline, shade_corners
from reactive.core.mouthbank import (
    Interiors,
    choose_frames,
    colour_match,
    from_packs,
    lip_body,
    lip_shape,
    live_interiors,
    recolour_lip_tissue,
    set_image,
    skin_colour,
    with_drawn,
)
from reactive.core.mouthcrop import DRIVER_CROP_SIZE
from reactive.core.mouthgap import TeethGap
from reactive.core.rig import Rig
from reactive.params import MouthParams

_SHIFT = 4  # fillPoly sub-pixel bits
_OUTLINE_STEPS = 4  # points of the interior's outline from one inner-lip point to the next


def is_filmed(pack: ClipPack) -> bool:
    """True for a pack tracked from a video (its mouth crops are a real mouth); the
    built-in clips are drawn (``synthetic`` in their header)."""
    return pack.mouth is not None and not pack.extra.get("synthetic", False)


def interior_source(rig: Rig, pack: ClipPack, *, teeth: bool = True,
                    bank: Interiors | None = None, drawn: Interiors | None = None,
                    params: MouthParams = MouthParams()) -> tuple[Interiors, np.ndarray]:
    """The interiors for ``pack``'s frames on this photo, and which one each frame shows:
    (Interiors, (F,) int). ``drawn``: the photo's drawn mouth if already made (it is
    drawn here otherwise). ``bank``: real mouths, to which the drawn mouth is added (in a
    new stack) unless it holds it already (``with_drawn``), for the frames no bank mouth
    fits."""
    f = pack.frame_count
    if teeth and is_filmed(pack):
        return from_packs([pack]), np.arange(f)
    if drawn is None or drawn.teeth.any() != teeth:
        drawn = drawn_interiors(rig.photo, rig.target_points, teeth=teeth)
    if teeth and bank is not None and bank.first_drawn > 0:
        if bank.drawn_from is None:
            bank = with_drawn(bank, drawn)
        shape = shown_lip_shape(rig, pack)
        n = bank.drawn_from
        return bank, choose_frames(bank.shape[:n], shape, params, drawn=True)
    return drawn, np.zeros(f, np.int64)


def shown_lip_shape(rig: Rig, pack: ClipPack) -> np.ndarray:
    """The lip shape (``lip_shape``) of ``pack``'s frames as the output will show them on
    ``rig``'s photo: (F, 3). The clip's moves carried onto the photo (phi), whose mouth may
    be narrower for its face than the clip's: a cartoon's opening is then the larger share
    of its width (s7: 0.32 at the laugh's widest, the clip's own 0.24)."""
    neutral = pack.landmarks[pack.neutral_index].astype(np.float64)
    t0 = rig.target_points.astype(np.float64)
    shown = t0 + (pack.landmarks - neutral) @ rig.phi[:, :2].T
    return lip_shape(shown, t0)


class MouthLayer:
    """Puts the mouth interior into warped frames of one rig + pack."""

    def __init__(self, rig: Rig, pack: ClipPack, params: MouthParams = MouthParams(), *,
                 teeth: bool = True, bank: Interiors | None = None,
                 drawn: Interiors | None = None, live: bool = False):
        self.rig, self.pack, self.params = rig, pack, params
        self.teeth = teeth
        # live: the pack is a ring of live frames (the puppet's camera) whose mouths arrive
        # one frame at a time (``set_interior``); until one does, a frame shows the drawn
        # mouth (``self.fallback``, the last source image).
        self.live = live and teeth
        if self.live:
            if drawn is None or not drawn.teeth.any():
                drawn = drawn_interiors(rig.photo, rig.target_points, teeth=True)
            self.source = live_interiors(pack.frame_count, DRIVER_CROP_SIZE, drawn)
            self.fallback = pack.frame_count
            self.choice = np.full(pack.frame_count, self.fallback, np.int64)
        else:
            self.source, self.choice = interior_source(rig, pack, teeth=teeth, bank=bank,
                                                       drawn=drawn, params=params)
        t0 = rig.target_points
        width = float(np.linalg.norm(t0[lm.MOUTH_CORNERS[0]] - t0[lm.MOUTH_CORNERS[1]]))
        # The outline as soft as the photo's own edges round the mouth.
        own = edge_sigma(rig.photo, t0[lm.LIPS_OUTER], width)
        self.soften = soften_sigma(own, params.edge_own_sigma,
                                   params.edge_soften_max_frac * width)
        # The box round the opening reaches this far beyond it: the anti-aliased edge's
        # two pixels, or the blur's three sigmas (the mouth layer runs on every frame of a
        # photo showing its teeth: no wider than needed).
        self._pad = max(2, int(np.ceil(3.0 * self.soften)))
        self.h_mouth = float(np.linalg.norm(t0[lm.UPPER_LIP_TOP] - t0[lm.LOWER_LIP_BOTTOM]))
        self.a_star = max(polygon_area(t0[lm.LIPS_INNER]), params.min_a_star_frac * width ** 2)
        # The photo's mouth at rest, and its own teeth.
        self.photo_frame = mm.mouth_frame(t0)
        self.photo_lips = mm.lip_columns(t0, *self.photo_frame)
        up, low = mm.teeth_extent(rig.photo, self.photo_frame, self.photo_lips)
        self.photo_teeth = (up, low)
        self.has_photo_teeth = up > 0 or low > 0
        # The photo's opening is split at the tips of its upper teeth: above, it moves with
        # the upper lip; below (lower teeth, shadow, the lower lip's inner edge), with the
        # lower lip. At rest the two meet and the photo is given back unchanged; as the
        # mouth opens, the interior shows in the gap between them.
        zu, _ = _row_reach(self.photo_lips, up, low)
        zl = np.maximum(self.photo_lips[1] - self.photo_lips[0], 0.0) - zu
        self.photo_cols = np.stack([self.photo_lips[0], zu, zl, self.photo_lips[1]])
        self.photo_open = np.maximum(self.photo_lips[1] - self.photo_lips[0], 0.0)
        # Colour match per source image (a driver's light changes over its clip).
        self.photo_skin = skin_colour(rig.photo, self.photo_frame, self.photo_lips)
        # Source images from this index on are the drawn mouth, in the photo's colours
        # already (its rows slide out from under the lips): all of a drawn source, the
        # fallback of a live one and of a bank, none of a filmed clip's.
        self.drawn_from = self.source.first_drawn
        self.gains = np.ones((len(self.source), 3), np.float32)
        self.saturation = np.ones(len(self.source), np.float32)
        for j in range(self.drawn_from):
            self.gains[j], self.saturation[j] = colour_match(self.photo_skin,
                                                             self.source.skin[j], params)
        # Under the photo's own upper teeth, a cavity without the driver's tips where they
        # reach further, and under any photo's where the output draws them out far
        # (``mouthgap``); measured on the driver's own colours (its lip tissue told from its
        # lips).
        self.gap = None
        if teeth and self.drawn_from > 0:
            used = np.zeros(0, np.int64) if self.live else self.choice
            self.gap = TeethGap(self.source, used, params, live=self.live,
                                fps=pack.fps if self.live or is_filmed(pack) else None,
                                photo_teeth=self.photo_teeth[0] > 0)
            if self.gap.needs_drawn:
                self.gap.drawn = drawn if drawn is not None and drawn.teeth.any() \
                    else drawn_interiors(rig.photo, t0, teeth=True)
        # A real mouth's own inner lips (a pout shows them) take the photo's lip colour:
        # in another face they are that face's lips.
        self.photo_lip_body = lip_body(rig.photo, self.photo_frame, self.photo_lips)
        self.photo_lips_rgb = photo_colours(rig.photo, t0)["lips"]
        if teeth and not self.live and is_filmed(pack):
            for j in range(len(self.source)):
                self._recolour_lips(j)
        self._crop_points = np.zeros((lm.N_LANDMARKS, 2))
        # Buffers for the opening's box: three rest mouth widths square covers any real
        # opening; a larger one (a cartoon's jaw drop) grows them once.
        self._grow(3 * int(np.ceil(width)) + 8, 3 * int(np.ceil(width)) + 8)
        self._points = np.zeros((rig.n_face, 2), np.float32)
        self._lips_t = np.zeros((2, mm.N_COLUMNS))
        self._cols_t = np.zeros((4, mm.N_COLUMNS))
        self._cols_s = np.zeros((4, mm.N_COLUMNS))

    def set_interior(self, i: int, crop: np.ndarray | None,
                     affine: np.ndarray | None = None) -> None:
        """Live frame ``i`` of the ring shows the driver's mouth ``crop`` (h, w, 3) uint8
        (``mouthcrop.mouth_crop`` of the driver's frame, with its (2, 3) frame -> crop
        ``affine``): the per-frame part of what ``__init__`` does for a filmed clip (its
        mouth frame, lips, teeth and colour match), written into buffers made there.
        ``pack.landmarks[i]`` must hold that frame's points already. ``crop`` None: the
        drawn mouth. Needs ``live=True`` (with ``teeth=False`` the crop is ignored: a
        painting's mouth has no teeth)."""
        if not self.live:
            if self.teeth:
                raise RuntimeError("set_interior needs a live mouth layer (live=True)")
            return
        if crop is None:
            self.choice[i] = self.fallback
            return
        if affine is None or affine.shape != (2, 3):
            raise ValueError("`affine` must be the crop's (2, 3) affine")
        pts = self._crop_points
        # In float64, as a filmed clip's are (``mouthbank``): the points the crop is measured
        # by must be the same to the bit.
        np.matmul(self.pack.landmarks[i], affine[:, :2].T, out=pts, dtype=np.float64)
        pts += affine[:, 2]
        set_image(self.source, i, crop, pts)
        if self.gap is not None:
            self.gap.measure(self.source, i)
        self.gains[i], self.saturation[i] = colour_match(self.photo_skin, self.source.skin[i],
                                                         self.params)
        self._recolour_lips(i)
        self.choice[i] = i

    def recolour_bank(self, used: np.ndarray) -> Interiors:
        """The bank this layer shows (real mouths of other clips, their lip tissue trimmed,
        and the drawn mouth: ``with_drawn``, this photo's own copy) as this photo's own:
        its frames ``used`` (int array) get their flesh turned to the photo's lips
        (``_recolour_lips``), in place. Layers of the same photo may share it
        (``use_source``)."""
        if self.live or self.source.drawn_from in (None, 0):
            raise RuntimeError("recolour_bank needs a layer showing a bank of real mouths")
        for j in np.unique(np.asarray(used, np.int64)):
            if j < self.drawn_from:
                self._recolour_lips(int(j))
        return self.source

    def use_source(self, source: Interiors) -> None:
        """Show ``source`` (``recolour_bank`` of another layer of this photo with the same
        bank) instead of the bank."""
        if len(source) != len(self.source) or source.drawn_from != self.drawn_from:
            raise ValueError("`source` must be the same bank, recoloured")
        self.source = source

    def _recolour_lips(self, j: int) -> None:
        """Source image ``j``'s own lip tissue in the opening to the photo's lip colour,
        as it will be after the compose (its gain and saturation undone), in place."""
        rgb = self.photo_lips_rgb
        luma = float(rgb @ np.array([0.299, 0.587, 0.114], np.float32))
        rgb = luma + (rgb - luma) / max(float(self.saturation[j]), 0.5)
        rgb = np.clip(rgb / self.gains[j], 0.0, 255.0).astype(np.float32)
        lab = cv2.cvtColor(rgb.reshape(1, 1, 3) / 255.0, cv2.COLOR_RGB2LAB)[0, 0]
        s = self.source
        recolour_lip_tissue(s.images[j], s.frame(j), s.lips[j], lab, self.photo_lip_body,
                            self.params)

    def _grow(self, h: int, w: int) -> None:
        h, w = max(h, 8), max(w, 8)
        self._mask = np.zeros((h, w), np.uint8)
        self._map_x = np.zeros((h, w), np.float32)
        self._map_y = np.zeros((h, w), np.float32)
        self._rigid = np.zeros((h, w), np.float32)
        self._patch_alpha = np.zeros((h, w), np.float32)
        self._interior = np.zeros((h, w, 3), np.uint8)
        self._patch = np.zeros((h, w, 3), np.uint8)
        self._outline = np.zeros((len(lm.LIPS_INNER) * _OUTLINE_STEPS, 2), np.float64)
        if self.gap is not None:
            self.gap.reserve(h, w)

    def alpha(self, target_lips_inner: np.ndarray) -> float:
        """Sec. 5 gate from the target's current interior area."""
        if self.has_photo_teeth:
            return 1.0
        a = polygon_area(target_lips_inner)
        return float(np.clip((a - self.a_star) / ((self.params.full_at - 1) * self.a_star),
                             0.0, 1.0))

    def apply(self, frame: np.ndarray, i: int, offsets: np.ndarray) -> float:
        """Put clip frame ``i``'s mouth into ``frame`` (H, W, 3) uint8, in place.

        ``offsets`` are the control-point offsets the frame was warped with. Returns the
        gate's alpha (0: nothing was drawn).
        """
        rig = self.rig
        target = self._points
        np.add(rig.rest[:rig.n_face], offsets[:rig.n_face], out=target)
        inner = target[lm.LIPS_INNER]
        alpha = self.alpha(inner)
        if alpha <= 0.0 and not self.has_photo_teeth:
            return 0.0
        h, w = frame.shape[:2]
        x0, y0 = np.floor(inner.min(axis=0)).astype(int) - self._pad
        x1, y1 = np.ceil(inner.max(axis=0)).astype(int) + self._pad + 1
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 - x0 < 3 or y1 - y0 < 2:
            return 0.0
        bh, bw = y1 - y0, x1 - x0
        if bh > self._mask.shape[0] or bw > self._mask.shape[1]:
            self._grow(max(bh, self._mask.shape[0]), max(bw, self._mask.shape[1]))
        mask = self._mask[:bh, :bw]
        mask.fill(0)
        # The inner lips are curves; the mesh's chords between their points cut corners
        # into the interior's outline.
        closed_spline(_inset(inner, self.params.inset_px), _OUTLINE_STEPS, self._outline)
        poly = self._outline - (x0, y0)
        cv2.fillPoly(mask, [np.round(poly * (1 << _SHIFT)).astype(np.int32)], 255,
                     lineType=cv2.LINE_AA, shift=_SHIFT)
        if self.soften > 0.0:
            cv2.GaussianBlur(mask, (0, 0), self.soften, dst=mask)
        t_frame = mm.mouth_frame(target)
        lips_t = mm.lip_columns(target, *t_frame, out=self._lips_t)
        map_x, map_y = self._map_x[:bh, :bw], self._map_y[:bh, :bw]
        rigid = self._rigid[:bh, :bw]
        # The photo's own teeth, rigid with their lips.
        patch = patch_alpha = None
        k_photo = t_frame[2] / self.photo_frame[2]
        if self.has_photo_teeth:
            cols = self._cols_t
            cols[0], cols[3] = lips_t[0], lips_t[1]
            height = np.maximum(lips_t[1] - lips_t[0], 0.0)
            np.minimum(self.photo_cols[1] * k_photo, height, out=cols[1])
            src = self._cols_s
            src[0], src[3] = self.photo_lips[0], self.photo_lips[1]
            np.divide(cols[1], k_photo, out=src[1])
            if self.photo_teeth[1] > 0:
                np.minimum(self.photo_cols[2] * k_photo, height - cols[1], out=cols[2])
                np.divide(cols[2], k_photo, out=src[2])
            else:
                # Below the photo's upper teeth lie only shadow and the lower lip's wet
                # inner side: as the jaw drops they roll under the lower lip (squeezed
                # towards it, gone once the mouth has opened twice their height more)
                # instead of riding on it as a pale rim.
                band = self.photo_cols[2] * k_photo
                opened = np.maximum(height - self.photo_open * k_photo, 0.0)
                np.minimum(band * np.clip(1.0 - opened / (2.0 * band + 1e-6), 0.0, 1.0),
                           height - cols[1], out=cols[2])
                np.minimum(self.photo_cols[2], (height - cols[1]) / k_photo, out=src[2])
            mm.interior_map((x0, y0), t_frame, cols, self.photo_frame, src, map_x, map_y,
                            rigid)
            patch = self._patch[:bh, :bw]
            cv2.remap(rig.photo, map_x, map_y, cv2.INTER_CUBIC, dst=patch,
                      borderMode=cv2.BORDER_REPLICATE)
            patch_alpha = self._patch_alpha[:bh, :bw]
            np.copyto(patch_alpha, rigid)
        # The interior: its rows of teeth under the photo's where the photo shows teeth,
        # else rigid with the lips up to rigid_max_frac of the opening each.
        j = int(self.choice[min(i, len(self.choice) - 1)])
        s_frame = self.source.frame(j)
        self._interior_columns(j, lips_t, t_frame[2] / s_frame[2],
                               patch_cols=self._cols_t if self.has_photo_teeth else None)
        mm.interior_map((x0, y0), t_frame, self._cols_t, s_frame, self._cols_s, map_x, map_y,
                        rigid)
        interior = self._interior[:bh, :bw]
        cv2.remap(self.source.images[j], map_x, map_y, cv2.INTER_CUBIC, dst=interior,
                  borderMode=cv2.BORDER_REPLICATE)
        if self.gap is not None and j < self.drawn_from and self.gap.may_fill(j):
            self.gap.fill(interior, rigid, j, self.source, self.gains, lips_t, t_frame,
                          self._cols_t, (x0, y0), map_x, map_y,
                          stretch=_middle_stretch(self._cols_t, self._cols_s, t_frame[2]
                                                  / s_frame[2]))
        if self.params.corner_shade > 0.0:
            shade_corners(interior, x0, y0, t_frame[0], t_frame[1], float(t_frame[2]),
                          self.params.corner_shade_reach, self.params.corner_shade)
        mm.compose(frame[y0:y1, x0:x1], mask, interior, self.gains[j],
                   float(self.saturation[j]), alpha, patch, patch_alpha)
        return alpha

    def _interior_columns(self, j: int, lips_t: np.ndarray, k: float,
                          patch_cols: np.ndarray | None) -> None:
        """Columns of the interior map for source image ``j`` into self._cols_t/_cols_s.
        ``patch_cols``: the photo's teeth in the output (rows zu, zl), which the interior's
        own rows must end under; it is overwritten."""
        p = self.params
        s_lips = self.source.lips[j]
        teeth = self.source.teeth[j]
        if j >= self.drawn_from:
            fixed = patch_cols is not None
            reveal_columns(s_lips, teeth, lips_t, k, self._cols_t, self._cols_s, p,
                           up_fixed=patch_cols[1] if fixed and self.photo_teeth[0] > 0
                           else None,
                           low_fixed=patch_cols[2] if fixed and self.photo_teeth[1] > 0
                           else None)
            return
        zu_s, zl_s = mm.rigid_zones(s_lips[0], s_lips[1], teeth[0], teeth[1],
                                    min_frac=p.rigid_min_frac,
                                    max_frac=p.rigid_source_max_frac)
        if patch_cols is not None and self.gap is not None:
            self.gap.lower_row(j, s_lips, zl_s)
        height_t = np.maximum(lips_t[1] - lips_t[0], 0.0)
        cols_t, cols_s = self._cols_t, self._cols_s
        if patch_cols is not None:
            photo_up, photo_low = patch_cols[1].copy(), patch_cols[2].copy()
        cols_t[0], cols_t[3] = lips_t[0], lips_t[1]
        cols_s[0], cols_s[3] = s_lips[0], s_lips[1]
        # Rigid rows: as in the source, scaled, within rigid_max_frac of the opening.
        up_t = np.minimum(zu_s * k, p.rigid_max_frac * height_t)
        low_t = np.minimum(zl_s * k, p.rigid_max_frac * height_t)
        up_s, low_s = up_t / k, low_t / k
        if patch_cols is not None and self.photo_teeth[0] > 0:
            # The interior's upper row squeezed or stretched to end where the photo's does.
            up_t, up_s = photo_up, zu_s
        if patch_cols is not None and self.photo_teeth[1] > 0:
            low_t, low_s = np.minimum(photo_low, height_t - up_t), zl_s
        low_t = np.minimum(low_t, height_t - up_t)
        cols_t[1], cols_t[2] = up_t, low_t
        cols_s[1], cols_s[2] = up_s, np.minimum(low_s, s_lips[1] - s_lips[0] - up_s)


def _middle_stretch(cols_t: np.ndarray, cols_s: np.ndarray, k: float) -> float:
    """How far a map (``mouthmap.interior_map`` columns, target and source) stretches the
    middle between the rows, mid-mouth: output px over source px times ``k`` (the mouths'
    scale; 1: drawn as large as everything else)."""
    mid_t = (cols_t[3] - cols_t[0] - cols_t[1] - cols_t[2])[mm.MIDDLE]
    mid_s = (cols_s[3] - cols_s[0] - cols_s[1] - cols_s[2])[mm.MIDDLE]
    return float(np.median(mid_t / (k * np.maximum(mid_s, 0.5))))


def _row_reach(lips: np.ndarray, up: float, low: float) -> tuple[np.ndarray, np.ndarray]:
    """Per column, how far the photo's upper and lower teeth reach (px), within its
    opening."""
    height = np.maximum(lips[1] - lips[0], 0.0)
    zu = np.minimum(up, height)
    zl = np.minimum(low, height - zu)
    return zu, zl


def _inset(polygon: np.ndarray, px: float) -> np.ndarray:
    """``polygon`` (N, 2) moved ``px`` towards its centroid (a cheap inset for a convex-ish
    opening)."""
    if px <= 0:
        return polygon.astype(np.float64)
    c = polygon.mean(axis=0)
    d = polygon - c
    r = np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-6)
    return c + d * np.maximum(r - px, 0.0) / r
