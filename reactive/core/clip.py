"""A driving clip, tracked: the ``ClipPack`` (what every stage reads from a clip) and which
of its frames are the most expressive.

The pack describes the clip only, never a particular photo. Its file format (a versioned
``.npz`` without pickle) is ``reactive.io.clippack``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from reactive.core import landmarks as lm
from reactive.core.similarity import apply_similarity, fit_similarity

# Plausible values (``ClipPack.validate``): points may lie off the frame (a head partly out of
# the picture), but not by more than this many frame sizes; a head or mouth transform scales
# by at most this much; a tracked face spans at least this many pixels in every frame.
MAX_SOURCE_SIDE = 16_384
MAX_OFF_FRAME = 1.0
MAX_SCALE = 20.0
MIN_FACE_PX = 4.0


@dataclass
class ClipPack:
    """One driving clip, tracked. Arrays as in the table of ``reactive.io.clippack``; F frames,
    P points."""

    fps: float
    source_size: tuple[int, int]  # (width, height) of the driving video
    neutral_index: int
    landmarks: np.ndarray
    face_detected: np.ndarray
    peripheral: np.ndarray
    peripheral_valid: np.ndarray
    head: np.ndarray
    tag: str = ""
    source: str = ""
    extra: dict = field(default_factory=dict)
    mouth: np.ndarray | None = None
    mouth_affine: np.ndarray | None = None
    ratio: np.ndarray | None = None
    ratio_box: np.ndarray | None = None

    @property
    def frame_count(self) -> int:
        return int(self.landmarks.shape[0])

    @property
    def interpolated_frames(self) -> int:
        return int((~self.face_detected).sum())

    def validate(self) -> None:
        """Raise ValueError naming the first inconsistent field."""
        f = self.landmarks.shape[0] if self.landmarks.ndim == 3 else -1
        checks = [
            ("landmarks", self.landmarks, (f, lm.N_LANDMARKS, 2), np.float32),
            ("face_detected", self.face_detected, (f,), np.bool_),
            ("head", self.head, (f, 2, 3), np.float32),
        ]
        p = self.peripheral.shape[1] if self.peripheral.ndim == 3 else -1
        checks += [
            ("peripheral", self.peripheral, (f, p, 2), np.float32),
            ("peripheral_valid", self.peripheral_valid, (f, p), np.bool_),
        ]
        if (self.mouth is None) != (self.mouth_affine is None):
            raise ValueError("`mouth` and `mouth_affine` come together")
        if self.mouth is not None:
            m = self.mouth.shape
            checks += [
                ("mouth", self.mouth, (f, m[1] if len(m) == 4 else -1,
                                       m[2] if len(m) == 4 else -1, 3), np.uint8),
                ("mouth_affine", self.mouth_affine, (f, 2, 3), np.float32),
            ]
        if (self.ratio is None) != (self.ratio_box is None):
            raise ValueError("`ratio` and `ratio_box` come together")
        if self.ratio is not None:
            r = self.ratio.shape
            checks += [
                ("ratio", self.ratio, (f, r[1] if len(r) == 3 else -1,
                                       r[2] if len(r) == 3 else -1), np.uint8),
                ("ratio_box", self.ratio_box, (4,), np.float32),
            ]
        for name, arr, shape, dtype in checks:
            if arr.shape != shape or arr.dtype != dtype:
                raise ValueError(f"`{name}` must be {shape} {np.dtype(dtype).name}; "
                                 f"got {arr.shape} {arr.dtype}")
            if arr.dtype == np.float32 and not np.isfinite(arr).all():
                raise ValueError(f"`{name}` has non-finite values")
        if f < 1:
            raise ValueError("a clip pack needs at least one frame")
        if not (0 <= self.neutral_index < f):
            raise ValueError(f"`neutral_index` must be in [0, {f}); got {self.neutral_index}")
        if not (0 < self.fps <= 1000):
            raise ValueError(f"`fps` must be in (0, 1000]; got {self.fps}")
        w, h = self.source_size
        if w < 1 or h < 1:
            raise ValueError(f"`source_size` must be positive; got {self.source_size}")
        self._check_plausible()

    def _check_plausible(self) -> None:
        """Finite is not enough: a landmark at 1e30 px, or a frame whose face collapsed to a
        point, breaks the warp far from here. ValueError naming the field and frame."""
        w, h = self.source_size
        if max(w, h) > MAX_SOURCE_SIDE:
            raise ValueError(f"`source_size` {self.source_size} is larger than "
                             f"{MAX_SOURCE_SIDE} px")
        size = float(max(w, h))
        lo, hi = -MAX_OFF_FRAME * size, (1.0 + MAX_OFF_FRAME) * size

        def off_frame(name: str, points: np.ndarray) -> None:
            if points.size == 0:
                return
            bad = ((points < lo) | (points > hi)).reshape(len(points), -1).any(axis=1)
            if bad.any():
                i = int(np.argmax(bad))
                raise ValueError(f"`{name}` frame {i} has points far outside the "
                                 f"{w}x{h} frame (up to {np.abs(points[i]).max():.3g} px)")

        off_frame("landmarks", self.landmarks)
        off_frame("peripheral", self.peripheral)
        extent = (self.landmarks.max(axis=1) - self.landmarks.min(axis=1)).max(axis=1)
        if (extent < MIN_FACE_PX).any():
            i = int(np.argmax(extent < MIN_FACE_PX))
            raise ValueError(f"`landmarks` frame {i}: the face spans {extent[i]:.3g} px "
                             f"(less than {MIN_FACE_PX})")
        for name, m in (("head", self.head), ("mouth_affine", self.mouth_affine)):
            if m is None:
                continue
            # A similarity's scale from its first column (as the rig reads it); an affine's
            # from its determinant.
            scale = (np.hypot(m[:, 0, 0], m[:, 1, 0]) if name == "head"
                     else np.sqrt(np.abs(np.linalg.det(m[:, :, :2].astype(np.float64)))))
            move = np.abs(m[:, :, 2]).max(axis=1)
            bad = ((scale < 1.0 / MAX_SCALE) | (scale > MAX_SCALE)
                   | (np.abs(m[:, :, :2]).reshape(len(m), -1).max(axis=1) > MAX_SCALE)
                   | (move > 3 * MAX_SCALE * size))
            if bad.any():
                i = int(np.argmax(bad))
                raise ValueError(f"`{name}` frame {i} is implausible (scale {scale[i]:.3g}, "
                                 f"shift {move[i]:.3g} px)")
        if self.ratio_box is not None:
            x0, y0, x1, y1 = (float(v) for v in self.ratio_box)
            if not (lo <= x0 < x1 <= hi and lo <= y0 < y1 <= hi):
                raise ValueError(f"`ratio_box` {[x0, y0, x1, y1]} is not a box within the "
                                 f"{w}x{h} frame")


def expressiveness(points: np.ndarray, neutral_index: int) -> np.ndarray:
    """How far each frame's face is from the neutral frame's: the mean landmark distance
    after a best similarity on the paper's phi points (eye regions and nose tip, Sec. 4),
    so head motion does not count. ``points`` (F, 478, 2). Returns (F,) float64, px."""
    s0 = points[neutral_index].astype(np.float64)
    dist = np.empty(len(points))
    for i, p in enumerate(points.astype(np.float64)):
        m = fit_similarity(p[lm.PHI_POINTS], s0[lm.PHI_POINTS])
        dist[i] = np.linalg.norm(apply_similarity(m, p) - s0, axis=1).mean()
    return dist


def peak_frame(pack: ClipPack) -> int:
    """The most expressive frame (the paper's reference frame for outliers, Sec. 6; where a
    held trigger pauses; what a still of the clip shows)."""
    return int(np.argmax(expressiveness(pack.landmarks, pack.neutral_index)))


def expressive_frames(pack: ClipPack, count: int = 3) -> list[int]:
    """``count`` frames far from neutral and apart in time, in clip order (for strips)."""
    dist = expressiveness(pack.landmarks, pack.neutral_index)
    chosen: list[int] = []
    gap = max(1, pack.frame_count // (2 * count))
    for i in np.argsort(-dist):
        if all(abs(int(i) - c) >= gap for c in chosen):
            chosen.append(int(i))
        if len(chosen) == count:
            break
    return sorted(chosen)
