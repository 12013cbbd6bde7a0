"""Fine-scale details: expression ratio images applied to the target (paper Sec. 6).

The pack's ratio images are aligned to the driver's neutral frame s*; phi maps s* onto the
photo's rest geometry. So shading the *rest* photo with R_i o phi^-1 and then warping it
gives the same picture as warping first and shading in the frame's geometry, at the cost of
one small affine resample per frame: t_i = W_i(t* x R_i(phi^-1)).
"""

from __future__ import annotations

import cv2
import numpy as np

from .clippack import ClipPack
from .rig import Rig


def _decode_table() -> np.ndarray:
    from precompute.details import decode_table

    return decode_table()


class DetailLayer:
    """Per frame: the photo shaded by the clip's ratio image, in a reused buffer."""

    def __init__(self, rig: Rig, pack: ClipPack):
        if pack.ratio is None:
            raise ValueError("`pack` has no ratio images (format before 3); precompute the "
                             "clip again")
        self.rig, self.pack = rig, pack
        self.lut = _decode_table()
        h, w = rig.shape
        x0, y0, x1, y1 = (float(v) for v in pack.ratio_box)
        rh, rw = pack.ratio.shape[1:]
        sx, sy = rw / (x1 - x0), rh / (y1 - y0)
        # photo px -> s* px (phi^-1) -> ratio px.
        phi_inv = np.linalg.inv(np.vstack([rig.phi, [0, 0, 1]]))
        to_ratio = np.array([[sx, 0, -sx * x0], [0, sy, -sy * y0], [0, 0, 1]]) @ phi_inv
        # The photo region the ratio box lands on (plus a pixel), clipped to the photo.
        corners = np.array([[0, 0], [rw, 0], [0, rh], [rw, rh]], np.float64)
        back = np.linalg.inv(to_ratio)
        photo_pts = corners @ back[:2, :2].T + back[:2, 2]
        px0, py0 = np.maximum(np.floor(photo_pts.min(axis=0)) - 1, 0).astype(int)
        px1, py1 = np.minimum(np.ceil(photo_pts.max(axis=0)) + 2, (w, h)).astype(int)
        self.roi = (slice(py0, py1), slice(px0, px1))
        shift = np.array([[1, 0, px0], [0, 1, py0], [0, 0, 1]], np.float64)
        self.affine = (to_ratio @ shift)[:2].astype(np.float64)
        self.roi_size = (px1 - px0, py1 - py0)
        self.photo = rig.photo.copy()
        self._ratio = np.empty((py1 - py0, px1 - px0), np.float32)
        self._decoded = np.empty((rh, rw), np.float32)

    def shade(self, i: int) -> np.ndarray:
        """The photo shaded for clip frame ``i``: (H, W, 3) uint8, overwritten next call."""
        roi = self.roi
        np.take(self.lut, self.pack.ratio[i], out=self._decoded)
        cv2.warpAffine(self._decoded, self.affine, self.roi_size, dst=self._ratio,
                       flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                       borderMode=cv2.BORDER_CONSTANT, borderValue=1.0)
        src = self.rig.photo[roi]
        cv2.multiply(src, cv2.merge([self._ratio] * 3), dst=self.photo[roi],
                     dtype=cv2.CV_8U)
        return self.photo
