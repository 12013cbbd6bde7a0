"""Per-frame warping of the photo: control-point offsets -> dense field -> frame (Sec. 4).

``Warper`` is the exact, per-pixel path (offline rendering); ``GridWarper`` its real-time twin
on a coarse grid (the live player). Both take the same offsets and return a frame of the
photo's size, in a buffer they reuse. When the rig has a backdrop (``core.backdrop``), both
move the person only and composite it over the still background plate.
"""

from __future__ import annotations

import cv2
import numba
import numpy as np

from reactive.core.kernels.composite import (
    DEPTH_STEPS,
    alpha_blocks,
    classify_cells,
    composite_cells,
    composite_map,
    plate_spans,
)
from reactive.core.kernels.warp import (
    front_sheets,
    interpolate_offsets,
    inverse_map,
    sample_map,
    smooth_field,
)
from reactive.core.jaw import frame_hold
from reactive.core.rig import Rig

# Bands of about this many pixel rows are remapped over their own span of moving cells (the
# still background beside the person is left as it is): narrower bands fit the silhouette
# closer.
_BAND_PX = 16
# Neighbouring bands are remapped by one ``cv2.remap`` over the rectangle holding their spans
# while it is at most this share larger than the spans: OpenCV shares a call between
# threads only from 2**16 px of output on, so 16-row bands each ran on one core (one call
# over the bands of the sample portrait took 2.5 ms, the 64 bands 3.4 ms).
_MERGE_WASTE = 0.3


class Warper:
    """Per-frame synthesis with preallocated buffers: offsets -> field -> frame.

    ``warper(offsets)`` returns the frame buffer (overwritten by the next call).
    """

    def __init__(self, rig: Rig, *, smooth: bool = True):
        if rig.dense is None:
            raise ValueError("`rig` has no dense geometry: build it with "
                             "build_rig(..., dense=True)")
        h, w = rig.shape
        self.rig = rig
        self.smooth = smooth
        self.field = np.zeros((h, w, 2), np.float32)
        self._scratch = np.zeros((h, w, 2), np.float32)
        self._sat = np.zeros((2, h + 1, w + 1), np.float64)
        self._hold = np.zeros((h, w), np.float32)
        self.source = np.zeros((h, w, 2), np.float32)
        self._source2 = np.zeros((h, w, 2), np.float32)
        self._front_reach = int(np.ceil(rig.params.front_reach_frac * max(h, w)))
        self._near = np.zeros((h, w), np.uint8)
        self._flags = np.zeros((2, h, w), np.uint8)
        self._box = np.zeros(4, np.int64)
        self.frame = np.zeros_like(rig.photo)

    def compute_field(self, offsets: np.ndarray) -> np.ndarray:
        """Dense forward field for ``offsets`` (K, 2) float32; returns the internal buffer."""
        d = self.rig.dense
        interpolate_offsets(d.vertex_ids, d.weights, offsets, self.field)
        hold = frame_hold(d.hold, d.hold_give, self.rig.jaw, offsets, self._hold)
        if self.smooth:
            smooth_field(self.field, d.blur_level, d.blur_radii, hold,
                         passes=self.rig.params.blur_passes,
                         sat=self._sat, scratch=self._scratch)
        else:
            self.field *= hold[..., None]
        return self.field

    def __call__(self, offsets: np.ndarray, photo: np.ndarray | None = None) -> np.ndarray:
        """Warp ``photo`` (default: the rig's, or its person layer when the rig has a
        backdrop; e.g. a shaded copy of the same size), over the still plate if any."""
        self.compute_field(offsets)
        params = self.rig.params
        inverse_map(self.field, iterations=params.inverse_iterations, out=self.source)
        front_sheets(self.field, self.source, iterations=params.front_iterations,
                     passes=params.front_passes,
                     reach=self._front_reach, scratch=self._source2,
                     near=self._near, flags=self._flags, box=self._box)
        backdrop = self.rig.backdrop
        if backdrop is None:
            return sample_map(self.rig.photo if photo is None else photo, self.source,
                              out=self.frame)
        return composite_map(backdrop.person if photo is None else photo,
                             backdrop.alpha[..., None], backdrop.plate, self.source,
                             out=self.frame)


class GridWarper:
    """The real-time twin of ``Warper``: the same field (piecewise-linear, confidence-aware
    smoothing, border hold, inverse by Newton) on the rig's coarse grid; the inverse's
    source positions are then upsampled bilinearly to every pixel (``cv2.resize``, whose
    cell alignment the grid follows: the identity is linear between grid points, only the
    pixel or two beyond the edge points get its step back) and the photo sampled with
    ``cv2.remap``. Preallocated: nothing is allocated per frame.

    With a backdrop, the map itself composites (``kernels.composite``): grid points whose
    cells lie deep in the still background keep their place (the remap reads the still
    photo there), and only the cells along the person's edge are mixed per pixel. The frame
    buffer keeps the plate where nothing moves: each band of rows is remapped over the span
    of its moving cells only (``plate_spans``), so the still background costs nothing.

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
        self._hold = np.zeros((gh, gw), np.float32)
        self._offsets = np.zeros((len(rig.rest), 2), np.float32)
        self._to_grid = np.array([1.0 / g.scale[0], 1.0 / g.scale[1]], np.float32)
        # Full-size, so the multiply needs no broadcasting (numpy would buffer it).
        self._scale = np.broadcast_to(np.array(g.scale, np.float32), (gh, gw, 2)).copy()
        gy, gx = np.mgrid[0:gh, 0:gw].astype(np.float32)
        self._grid_ident = np.dstack([gx, gy])
        self._disp = np.zeros((gh, gw, 2), np.float32)
        # Each grid point's own pixel position (cv2.resize's cell alignment): the sources
        # are upsampled whole, the identity being linear between grid points.
        self._grid_px = np.dstack([(gx + 0.5) * np.float32(g.scale[0]) - 0.5,
                                   (gy + 0.5) * np.float32(g.scale[1]) - 0.5])
        self._source = np.zeros((gh, gw, 2), np.float32)
        self.pixel_map = np.zeros((h, w, 2), np.float32)
        self._edge_steps = self._edge_setup(h, w)
        self.frame = np.zeros_like(rig.photo)
        self._cells = None
        if rig.backdrop is not None:
            self._composite_setup()

    def _edge_setup(self, h: int, w: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Before the first grid point and after the last (a pixel or two at each edge),
        cv2.resize holds the edge point's value: the identity's step there, added back to
        the upsampled sources. Pairs of (view of ``pixel_map``, what to add), made once."""
        steps = []
        for axis, size in ((0, w), (1, h)):
            first = float(self._grid_px[0, 0, axis])
            last = float(self._grid_px[-1, -1, axis])
            at = np.arange(size, dtype=np.float32)
            for pixels in (np.flatnonzero(at < first), np.flatnonzero(at > last)):
                if len(pixels) == 0:
                    continue
                lo, hi = int(pixels[0]), int(pixels[-1]) + 1
                edge = first if lo == 0 else last
                if axis == 0:
                    view = self.pixel_map[:, lo:hi, 0]
                    step = np.broadcast_to(at[lo:hi] - np.float32(edge), view.shape)
                else:
                    view = self.pixel_map[lo:hi, :, 1]
                    step = np.broadcast_to((at[lo:hi] - np.float32(edge))[:, None], view.shape)
                steps.append((view, np.ascontiguousarray(step, np.float32)))
        return steps

    def _composite_setup(self) -> None:
        """The backdrop for the grid (once per photo): each pixel's distance to the person's
        soft edge from inside and outside, which cells are still (the person layer is the
        plate there), the pixels of each cell, and the per-frame scratch."""
        b, g = self.rig.backdrop, self.rig.grid
        gh, gw = g.shape
        h, w = self.rig.shape
        sx, sy = g.scale

        def distance(region):
            return cv2.distanceTransform(region.astype(np.uint8), cv2.DIST_L2,
                                         cv2.DIST_MASK_PRECISE)

        inside, outside = distance(b.alpha == 255), distance(b.alpha == 0)
        # Inside and outside side by side: one cache line serves both.
        self._depth = np.minimum(np.dstack([inside, outside]) * DEPTH_STEPS, 255
                                 ).astype(np.uint8)
        # At the grid points themselves (between pixels: the lower of the nearest four).
        gx = (np.arange(gw) + 0.5) * sx - 0.5
        gy = (np.arange(gh) + 0.5) * sy - 0.5
        x0 = np.clip(np.floor(gx), 0, w - 1).astype(np.intp)
        y0 = np.clip(np.floor(gy), 0, h - 1).astype(np.intp)
        x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
        own = [np.minimum.reduce([d[np.ix_(y0, x0)], d[np.ix_(y0, x1)], d[np.ix_(y1, x0)],
                                  d[np.ix_(y1, x1)]]) - 1.0 for d in (inside, outside)]
        self._own = np.dstack(own).astype(np.float32)
        # The pixels cv2.resize interpolates between grid rows i and i + 1 (and those before
        # the first / after the last grid point, which copy it).
        self._row_start = self._cell_starts(h, gh, sy)
        self._col_start = self._cell_starts(w, gw, sx)
        same = (b.person == b.plate).all(axis=2)
        per_row = np.logical_and.reduceat(same, self._row_start, axis=0)
        self._still = np.logical_and.reduceat(per_row, self._col_start, axis=1)
        self._alpha = b.alpha[..., None]
        self._alpha_blocks = alpha_blocks(b.alpha)
        self._deep_in = np.zeros((gh, gw), np.float32)
        self._deep_out = np.zeros((gh, gw), np.float32)
        self._moving = np.zeros((gh, gw), np.uint8)
        self._kinds = np.zeros((gh - 1, gw - 1), np.uint8)
        self._cells = np.zeros(((gh - 1) * (gw - 1), 3), np.int32)
        self._n_cells = 0
        # The frame starts as the plate, and keeps it wherever the person does not reach.
        np.copyto(self.frame, b.plate)
        self._band = max(1, int(round(_BAND_PX / sy)))
        bands = -(-(gh - 1) // self._band)
        self._spans = np.zeros((bands, 2), np.int32)
        starts = [int(self._row_start[k * self._band]) for k in range(bands)] + [h]
        self._band_y = list(zip(starts[:-1], starts[1:]))

    @staticmethod
    def _cell_starts(size: int, points: int, scale: float) -> np.ndarray:
        """First pixel of each of the ``points - 1`` cells along an axis of ``size`` px."""
        cell = np.clip(np.floor((np.arange(size) + 0.5) / scale - 0.5), 0, points - 2)
        return np.searchsorted(cell, np.arange(points - 1)).astype(np.int32)

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
            hold = frame_hold(g.hold, g.hold_give, r.jaw, offsets, self._hold)
            smooth_field(self.field, g.blur_level, g.blur_radii, hold,
                         passes=r.params.blur_passes, sat=self._sat, scratch=self._scratch)
            return inverse_map(self.field, iterations=r.params.inverse_iterations, out=self.map)
        finally:
            numba.set_num_threads(threads)

    def compute_pixel_map(self, offsets: np.ndarray) -> np.ndarray:
        """Source position of every output pixel, (H, W, 2) float32 photo px; internal.
        With a backdrop, pixels deep in the still background keep their place."""
        self.compute_map(offsets)
        if self._cells is None:
            np.subtract(self.map, self._grid_ident, out=self._disp)
            np.multiply(self._disp, self._scale, out=self._disp)
        else:
            self.sort_cells()
        h, w = self.rig.shape
        np.add(self._disp, self._grid_px, out=self._source)
        cv2.resize(self._source, (w, h), dst=self.pixel_map, interpolation=cv2.INTER_LINEAR)
        for view, step in self._edge_steps:
            np.add(view, step, out=view)
        return self.pixel_map

    def sort_cells(self) -> int:
        """With a backdrop, after ``compute_map``: the grid's cells sorted for compositing
        (``classify_cells``), the displacement to upsample written. Returns how many cells
        ``composite`` mixes or fills."""
        self._n_cells = classify_cells(self.map, self._depth, self._own, self._still,
                                       self.rig.grid.scale, disp=self._disp,
                                       deep_in=self._deep_in, deep_out=self._deep_out,
                                       moving=self._moving, kinds=self._kinds,
                                       cells=self._cells)
        return self._n_cells

    def restore_plate(self) -> np.ndarray:
        """With a backdrop, after ``sort_cells``: the plate put back where the last frame
        reached and this one does not; returns the spans ``remap`` samples
        (``plate_spans``)."""
        return plate_spans(self._moving, self._band, self._row_start, self._col_start,
                           frame=self.frame, plate=self.rig.backdrop.plate, spans=self._spans)

    def remap(self, photo: np.ndarray) -> np.ndarray:
        """``photo`` sampled at ``pixel_map`` into the frame: all of it, or with a backdrop
        the spans ``restore_plate`` chose (the plate stays elsewhere)."""
        if self.rig.backdrop is None:
            return cv2.remap(photo, self.pixel_map, None, cv2.INTER_LINEAR, dst=self.frame,
                             borderMode=cv2.BORDER_REPLICATE)
        for y0, y1, x0, x1 in self.remap_rects():
            cv2.remap(photo, self.pixel_map[y0:y1, x0:x1], None, cv2.INTER_LINEAR,
                      dst=self.frame[y0:y1, x0:x1], borderMode=cv2.BORDER_REPLICATE)
        return self.frame

    def remap_rects(self) -> list[tuple[int, int, int, int]]:
        """The rectangles (y0, y1, x0, x1) px ``remap`` samples: runs of neighbouring bands
        with a span, each run the rectangle holding its spans while that is at most
        ``_MERGE_WASTE`` larger than they are (the pixels between are remapped too: the
        map is the identity there and the person layer the plate)."""
        rects = []
        run = None   # [y0, y1, x0, x1, area of its spans]
        for (y0, y1), (x0, x1) in zip(self._band_y, self._spans.tolist()):
            if x1 <= x0:
                if run is not None:
                    rects.append(tuple(run[:4]))
                    run = None
                continue
            area = (y1 - y0) * (x1 - x0)
            if run is not None:
                lo, hi = min(run[2], x0), max(run[3], x1)
                if (y1 - run[0]) * (hi - lo) <= (1.0 + _MERGE_WASTE) * (run[4] + area):
                    run = [run[0], y1, lo, hi, run[4] + area]
                    continue
                rects.append(tuple(run[:4]))
            run = [y0, y1, x0, x1, area]
        if run is not None:
            rects.append(tuple(run[:4]))
        return rects

    def composite(self) -> np.ndarray:
        """With a backdrop, after ``remap``: the cells along the person's edge mixed over
        the plate, the still cells next to moving ones filled (``composite_cells``)."""
        return composite_cells(self.frame, self.pixel_map, self._alpha,
                               self.rig.backdrop.plate, self._cells, self._n_cells,
                               self._row_start, self._col_start, self._alpha_blocks)

    def __call__(self, offsets: np.ndarray, photo: np.ndarray | None = None) -> np.ndarray:
        """Warp ``photo`` (default: the rig's, or its person layer when the rig has a
        backdrop; e.g. a shaded copy of the same size), over the still plate if any.

        With a backdrop, ``photo`` must be the person layer wherever the person does not
        reach (a copy shaded over the face only): the frame there is the plate."""
        self.compute_pixel_map(offsets)
        backdrop = self.rig.backdrop
        if photo is None:
            photo = self.rig.photo if backdrop is None else backdrop.person
        if backdrop is None:
            return self.remap(photo)
        self.restore_plate()
        self.remap(photo)
        return self.composite()
