"""The gap under a photo's own upper teeth: one set of tooth tips, whatever the driver's.

A photo that shows its upper teeth keeps them, rigid with the upper lip (``mouth``), and the
interior's own upper row is hidden under them: a share of its opening
(``rigid_source_max_frac``) squeezed under the photo's row. A grin's teeth reach further
(d13's 18 px of a 26 px opening), and their tips showed again in the gap that opens under
the photo's: two sets of tooth tips. Hiding the whole row instead leaves only what lies
between the driver's rows to stretch into the gap, a sliver when its teeth nearly meet,
drawn out into streaks and fangs.

So where a driver's upper teeth reach past what is hidden, the gap between the rows is
filled with a cavity that has no tips, blended in by how far they reach: the cavity of the
source's own frame whose rows stand furthest apart (its *donor*: a real cavity, tongue and
all, in the clip's light), its rows hidden with some to spare; with none open enough, the
photo's drawn mouth's (``drawnmouth``). Tips that reach down into the lower row's rigid part
(a grin's rows overlap) are left to the gap too. Only where the driver's lower row shows
apart from its upper tips, or a cavity under them: upper teeth resting on the lower lip (a
toothy smile) or on the lower row without a seam (clenched) stay as they are, read as the
lower row under the photo's (a cavity there turned d0's toothy smile into a dark band).

Over a clip the fill follows what most frames around show (a lower row glimpsed now and
then must not make it come and go). But a photo whose lips are parted adds their opening
to the driver's, and the middle between the driver's rows is drawn out two or three times
(s42 x d13: 3 to 4): tips left hanging in it for the frames the window keeps them read as
fangs. So from a stretch of ``gap_stretch_from`` on, the fill takes the most the frames
around show, where the rows do not meet; under any photo's upper lip, its own teeth or not
(s2's lips are parted a little: tips drawn out there are fangs too).

Everything per source image is measured once (``measure``); ``fill`` runs per frame and
writes only into buffers.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.ndimage import maximum_filter1d, uniform_filter1d

from reactive.core import mouthmap as mm
from reactive.core.drawnmouth import reveal_columns
from reactive.core.geometry import smoothstep
from reactive.core.mouthbank import Interiors, lip_tissue
from reactive.params import MouthParams

_MID = mm.MIDDLE
# Upper teeth closer than this share of the opening to the lower row (or lip) rest on it;
# twice as far, they show a cavity under them.
_MEET = 0.1


def _most(share):
    """The fill's weight from the share of frames (0..1) that show a cavity under the tips:
    none up to a half, full from four fifths, smooth between (a clip's and a live source's
    alike)."""
    return smoothstep((share - 0.5) / 0.3)


class TeethGap:
    """The tipless cavity for the gap under a photo's upper teeth, per source image.

    source : the interiors the mouth layer shows (real ones up to ``source.first_drawn``).
    used : int array, the real images it shows (those measured now; a live source's are
    measured as they arrive, ``measure``). fps : the images are a clip's frames in order, at
    this rate (its weights then follow most frames around, ``gap_window_s``, so the fill
    does not flicker; a live source's, the frames before); None: they are not.
    photo_teeth : the photo shows its own upper teeth. Without them no tips show twice:
    the gap is filled only where the output draws tips out far (``stretched``).
    """

    def __init__(self, source: Interiors, used: np.ndarray, params: MouthParams = MouthParams(),
                 *, fps: float | None = None, live: bool = False, photo_teeth: bool = True):
        self.params = p = params
        self.photo_teeth = photo_teeth
        n = len(source)
        # A live source's running share of frames that show a cavity under the tips (an
        # exponential mean over about gap_window_s), or None.
        self._share = 0.0 if live and fps is not None else None
        self._rate = 2.0 / (p.gap_window_s * fps + 1.0) if self._share is not None else 0.0
        # Per image: how far each row of teeth reaches per column (px), and how much of the
        # gap the tipless cavity fills (0..1).
        self.reach = np.zeros((n, 2, mm.N_COLUMNS))
        self.weight = np.zeros(n)
        # ... and the most any frame around shows (``peak``, the image's own weight with no
        # clip or live source): where the output's opening stretches the middle far, tips
        # left in it for a frame or two are fangs.
        self.peak = np.zeros(n)
        self._peak = 0.0
        # ... and how much its rows meet, no cavity seen between them (0..1): there the
        # middle holds teeth, not tips over a cavity (d0's toothy smile), drawn out long
        # but teeth.
        self.meet = np.zeros(n)
        used = np.unique(np.asarray(used, np.int64))
        used = used[used < source.first_drawn]
        for j in used:
            self.measure(source, int(j))
        if fps is not None and not live and len(used) == n and n > 2:
            # Over a clip the fill follows what most frames around show: a driver's rows
            # are told apart or not from one frame to the next (d0's toothy smile, its
            # lower row glimpsed now and then: a fill that came and went, part-way in
            # between a grey veil over the teeth), while a grin's cavity holds for
            # seconds (d13, frames 190-230).
            window = 2 * int(round(0.5 * p.gap_window_s * fps)) + 1
            share = uniform_filter1d(self.weight, window, mode="nearest")
            self.peak = maximum_filter1d(self.weight, window, mode="nearest")
            self.weight = _most(share)
        self.donor = self._donor(source, used)
        # The donor's own columns, its rows hidden with some to spare (the same every frame).
        self._donor_cols = np.zeros((4, mm.N_COLUMNS))
        if self.donor is not None:
            lips = source.lips[self.donor]
            height = np.maximum(lips[1] - lips[0], 0.0)
            spare = p.gap_donor_margin * float(np.median(height[_MID]))
            cs = self._donor_cols
            cs[0], cs[3] = lips[0], lips[1]
            np.minimum(self.reach[self.donor, 0] + spare, height, out=cs[1])
            np.minimum(self.reach[self.donor, 1] + spare, height - cs[1], out=cs[2])
        self.drawn: Interiors | None = None
        self._cols_t = np.zeros((4, mm.N_COLUMNS))
        self._cols_s = np.zeros((4, mm.N_COLUMNS))
        self.reserve(8, 8)

    @property
    def needs_drawn(self) -> bool:
        """True when no source image has a cavity open enough: set ``drawn`` (the photo's
        drawn mouth, ``drawnmouth.drawn_interiors``) before ``fill``."""
        return self.donor is None and self.drawn is None

    def measure(self, source: Interiors, j: int) -> None:
        """Measure real image ``j`` of ``source``: its rows' reach per column and the gap's
        weight (how far its upper tips reach past the share hidden under the photo's)."""
        p = self.params
        lips = source.lips[j]
        height = np.maximum(lips[1] - lips[0], 0.0)
        self.reach[j] = _reach(mm.teeth_columns(source.images[j], source.frame(j), lips),
                               height)
        hidden, _ = mm.rigid_zones(lips[0], lips[1], source.teeth[j][0], source.teeth[j][1],
                                   min_frac=p.rigid_min_frac, max_frac=p.rigid_source_max_frac)
        opening = float(np.median(height[_MID]))
        if opening < 3.0:
            self.weight[j] = self.peak[j] = self.meet[j] = 0.0
            return
        # Upper teeth over a lower row seen apart from them (a grin) give way to the
        # cavity and that row. Upper teeth resting on the lower lip (a toothy smile: the
        # lower row behind it) or on the lower row without a seam (clenched teeth) stay,
        # read as the lower row under the photo's. (Filled with a cavity instead, d0's
        # toothy smile on s42, s1 and the sample lost its teeth to a dark band.)
        upper_seen, lower_seen = np.median(self.reach[j][:, _MID], axis=1) > 0
        below = self.reach[j, 1] if lower_seen else \
            lip_tissue(source.images[j], source.frame(j), lips, p)[0][1]
        free = float(np.median((height - self.reach[j, 0] - below)[_MID])) / opening
        apart = float(np.clip((free - _MEET) / _MEET, 0.0, 1.0))
        self.meet[j] = 1.0 - apart if upper_seen else 0.0
        if lower_seen:
            apart = 1.0
        leak = float(np.median((self.reach[j, 0] - hidden)[_MID]))
        self.weight[j] = float(np.clip(leak / (p.gap_leak_full * opening), 0.0, 1.0)) * apart
        self.peak[j] = self.weight[j]
        if self._share is not None:
            # Live, as over a clip: what most of the last frames showed, and the most they
            # showed (fading over about the window).
            self._peak = max(self.weight[j], self._peak * (1.0 - self._rate))
            self.peak[j] = self._peak
            self._share += self._rate * (self.weight[j] - self._share)
            self.weight[j] = float(_most(self._share))

    def stretched(self, j: int, stretch: float) -> float:
        """The fill's weight for image ``j`` whose middle the output stretches ``stretch``
        times (output px over the image's px times the mouths' scale): the most the frames
        around it show (``peak``) as the stretch grows past ``gap_stretch_from`` to
        ``gap_stretch_full``, where its rows do not meet (``meet``). Tips hanging into a
        gap drawn out two or three times are fangs, even for the frame or two that most
        frames around do not show them in (a smiling photo's parted lips add their opening
        to the driver's)."""
        p = self.params
        return float(self.peak[j]) * (1.0 - float(self.meet[j])) * float(smoothstep(
            (stretch - p.gap_stretch_from) / (p.gap_stretch_full - p.gap_stretch_from)))

    def may_fill(self, j: int) -> bool:
        """Whether ``fill`` can blend anything for image ``j`` at any stretch: the caller
        need not work out the stretch where it cannot."""
        return bool((self.photo_teeth and self.weight[j] > 0.0)
                    or self.peak[j] * (1.0 - self.meet[j]) > 0.0)

    def lower_row(self, j: int, lips: np.ndarray, zl: np.ndarray) -> np.ndarray:
        """The lower row's rigid reach ``zl`` (N_COLUMNS,) px of image ``j`` (lips ``lips``),
        less where its upper tips reach down into it (by the gap's weight), in place."""
        w = self.weight[j]
        if w > 0.0:
            height = np.maximum(lips[1] - lips[0], 0.0)
            free = np.maximum(height - self.reach[j, 0], 0.0)
            # A run of teeth from lip to lip is both rows meeting: no telling where the
            # upper tips end, and the lower row stays.
            cut = np.where(free > _MEET * height, np.maximum(zl - free, 0.0), 0.0)
            zl -= w * cut
        return zl

    def fill(self, interior: np.ndarray, rigid: np.ndarray, j: int, source: Interiors,
             gains: np.ndarray, lips_t: np.ndarray, t_frame: tuple, cols_t: np.ndarray,
             box: tuple[int, int], map_x: np.ndarray, map_y: np.ndarray,
             stretch: float = 1.0) -> None:
        """Blend the tipless cavity into ``interior`` (h, w, 3) uint8 (image ``j`` carried
        into the output's opening with columns ``cols_t``, ``rigid`` (h, w) float32 its rows)
        between the rows, in place. ``gains`` (F, 3): each image's colour match (the
        interior is multiplied by image ``j``'s later). ``lips_t``, ``t_frame``, ``box``:
        the output's opening (``mouthmap``); ``map_x``, ``map_y`` (h, w) float32 are
        overwritten. ``stretch``: how far the output's middle stretches the image's
        (``gap_stretch_from``)."""
        w = max(float(self.weight[j]) if self.photo_teeth else 0.0,
                self.stretched(j, stretch))
        if w <= 0.0:
            return
        h, wd = rigid.shape
        if h > self._band.shape[0] or wd > self._band.shape[1]:
            self.reserve(max(h, self._band.shape[0]), max(wd, self._band.shape[1]))
        band, keep = self._band[:h, :wd], self._keep[:h, :wd]
        # The middle between the rows, its edges softened by a pixel.
        np.subtract(1.0, rigid, out=band)
        band *= w
        cv2.GaussianBlur(band, (0, 0), 0.8, dst=band)
        np.subtract(1.0, band, out=keep)
        ct, cs = self._cols_t, self._cols_s
        if self.donor is not None:
            images, d = source, self.donor
            ct, cs = cols_t, self._donor_cols
            up = gains[d]
        else:
            images, d = self.drawn, 0
            k = t_frame[2] / float(images.width[0])
            reveal_columns(images.lips[0], images.teeth[0], lips_t, k, ct, cs, self.params,
                           up_fixed=cols_t[1], low_fixed=cols_t[2])
            up = None
        mm.interior_map(box, t_frame, ct, images.frame(d), cs, map_x, map_y,
                        self._rigid[:h, :wd])
        cavity = self._cavity[:h, :wd]
        cv2.remap(images.images[d], map_x, map_y, cv2.INTER_CUBIC, dst=cavity,
                  borderMode=cv2.BORDER_REPLICATE)
        g = gains[j]
        if up is None:
            scale = (1.0 / float(g[0]), 1.0 / float(g[1]), 1.0 / float(g[2]), 0.0)
        else:
            scale = (float(up[0]) / float(g[0]), float(up[1]) / float(g[1]),
                     float(up[2]) / float(g[2]), 0.0)
        cv2.multiply(cavity, scale, dst=cavity)
        cv2.blendLinear(cavity, interior, band, keep, dst=interior)

    def _donor(self, source: Interiors, used: np.ndarray) -> int | None:
        """The measured image whose cavity between its two rows is the most open (a share
        of its mouth's width of at least ``gap_donor_min_open``), or None."""
        best, donor = self.params.gap_donor_min_open, None
        for j in used:
            lips = source.lips[j]
            if not (np.median(self.reach[j, :, _MID], axis=1) > 0).all():
                continue
            middle = lips[1] - lips[0] - self.reach[j, 0] - self.reach[j, 1]
            score = float(np.median(middle[_MID])) / float(source.width[j])
            if score > best:
                best, donor = score, int(j)
        return donor

    def reserve(self, h: int, w: int) -> None:
        """Buffers for an opening's box up to (h, w) px (``fill`` grows them otherwise)."""
        self._band = np.zeros((h, w), np.float32)
        self._keep = np.zeros((h, w), np.float32)
        self._rigid = np.zeros((h, w), np.float32)
        self._cavity = np.zeros((h, w, 3), np.uint8)


def _reach(columns: np.ndarray, height: np.ndarray) -> np.ndarray:
    """Each row's reach per column (2, N_COLUMNS) px as measured (``teeth_columns``), made
    safe to hide behind: a tip between two columns counts for both, and a column where the
    row was not seen (glare, a warm light) but the middle of the mouth shows it takes the
    middle's reach; within the opening ``height`` (N_COLUMNS,)."""
    out = maximum_filter1d(columns, 3, axis=1)
    for row in out:
        seen = row[_MID][row[_MID] > 0]
        if len(seen) >= 3:
            np.maximum(row, float(np.median(seen)), out=row)
    return np.minimum(out, height[None, :])
