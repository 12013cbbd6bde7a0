"""Per-frame warping of the photo: control-point offsets -> dense field -> frame (Sec. 4).

``Warper`` is the exact, per-pixel path (offline rendering); ``GridWarper`` its real-time twin
on a coarse grid (the live player). Both take the same offsets and return a frame of the
photo's size, in a buffer they reuse.
"""

from __future__ import annotations

import cv2
import numba
import numpy as np

from reactive.core.kernels.warp import (
    interpolate_offsets,
    inverse_map,
    inverse_sample,
    smooth_field,
)
from reactive.core.jaw import frame_hold
from reactive.core.rig import Rig


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
        """Warp ``photo`` (default: the rig's; e.g. a shaded copy of the same size)."""
        self.compute_field(offsets)
        return inverse_sample(self.rig.photo if photo is None else photo, self.field,
                              iterations=self.rig.params.inverse_iterations, out=self.frame)


class GridWarper:
    """The real-time twin of ``Warper``: the same field (piecewise-linear, confidence-aware
    smoothing, border hold, inverse by Newton) on the rig's coarse grid; the inverse's
    displacement is then upsampled bilinearly to every pixel (``cv2.resize``, whose cell
    alignment the grid follows) and the photo sampled with ``cv2.remap``. Preallocated:
    nothing is allocated per frame.

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
        py, px = np.mgrid[0:h, 0:w].astype(np.float32)
        self._ident = np.dstack([px, py])
        self.pixel_map = np.zeros((h, w, 2), np.float32)
        self.frame = np.zeros_like(rig.photo)

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
        """Source position of every output pixel, (H, W, 2) float32 photo px; internal."""
        self.compute_map(offsets)
        np.subtract(self.map, self._grid_ident, out=self._disp)
        np.multiply(self._disp, self._scale, out=self._disp)
        h, w = self.rig.shape
        cv2.resize(self._disp, (w, h), dst=self.pixel_map, interpolation=cv2.INTER_LINEAR)
        cv2.add(self.pixel_map, self._ident, dst=self.pixel_map)
        return self.pixel_map

    def __call__(self, offsets: np.ndarray, photo: np.ndarray | None = None) -> np.ndarray:
        """Warp ``photo`` (default: the rig's; e.g. a shaded copy of the same size)."""
        self.compute_pixel_map(offsets)
        return cv2.remap(self.rig.photo if photo is None else photo, self.pixel_map, None,
                         cv2.INTER_LINEAR, dst=self.frame, borderMode=cv2.BORDER_REPLICATE)
