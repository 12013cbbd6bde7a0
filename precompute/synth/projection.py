"""The virtual driver's camera: the face model's 3D shape projected into a 512 x 512 frame
(orthographic, face ~213 px wide), as if a driving video had been tracked; peripheral points
(hair, ears, neck, shoulders) riding with the head."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from precompute.synth.exact import cos, sin
from precompute.synth.face_model import ModelParams


@dataclass(frozen=True)
class SynthParams:
    """How the synthetic driver is filmed, and its frame rate."""

    fps: float = 30.0
    frame_size: tuple[int, int] = (512, 512)      # (width, height), like the test drivers
    px_per_unit: float = 100.0                     # face ~213 px from cheek to cheek
    eye_centre_px: tuple[float, float] = (256.0, 192.0)  # face centred a bit above the middle
    # Stored coordinates are rounded to this (exact in float32; compresses well).
    quantum_px: float = 1.0 / 32.0
    model: ModelParams = field(default_factory=ModelParams)


def peripheral_points() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points outside the face a tracker would find: hair around the head, the ears, the
    neck and the shoulders. Returns (P, 3) template-unit positions, (P,) how much of the
    head's rotation each follows, (P,) how much of the breathing lift."""
    pts, follow, breath = [], [], []

    def add(x, y, z, f, b):
        pts.append((x, y, z))
        follow.append(f)
        breath.append(b)

    # Hair: an outer arc over the head and an inner one just outside the forehead. Depths
    # are those of the hair's surface near the face contour, so a turning head carries them
    # along with the cheeks instead of shearing the band in between.
    for k in range(11):
        a = (-12.0 + 204.0 * k / 10) * math.pi / 180.0
        add(1.40 * cos(a), 0.20 - 1.52 * sin(a), 0.45, 1.0, 1.0)
    for k in range(7):
        a = (20.0 + 140.0 * k / 6) * math.pi / 180.0
        add(1.22 * cos(a), 0.12 - 1.22 * sin(a), 0.3, 1.0, 1.0)
    for s in (-1.0, 1.0):
        add(s * 1.22, 0.40, 0.6, 1.0, 1.0)            # ears
        add(s * 1.12, 0.85, 0.6, 1.0, 1.0)            # behind the jaw angle
        add(s * 0.95, 1.70, 0.8, 0.6, 1.5)            # upper neck, sides
        add(s * 0.62, 2.15, 0.6, 0.4, 2.0)            # neck
        add(s * 0.75, 2.60, 0.6, 0.2, 3.0)            # neck base
        add(s * 1.25, 2.70, 0.7, 0.08, 3.5)           # shoulders
        add(s * 1.75, 2.78, 0.7, 0.05, 3.5)
        add(s * 2.15, 2.62, 0.8, 0.05, 3.5)
    add(0.0, 2.20, 0.2, 0.4, 2.0)                     # front of the neck, under the chin
    add(0.0, 2.72, 0.3, 0.15, 3.0)                    # collar
    return np.array(pts), np.array(follow), np.array(breath)


def project(points: np.ndarray, params: SynthParams) -> np.ndarray:
    """(N, 3) template units -> (N, 2) float64 driver-frame pixels (orthographic)."""
    cx, cy = params.eye_centre_px
    return np.stack([cx + params.px_per_unit * points[:, 0],
                     cy + params.px_per_unit * points[:, 1]], axis=1)


def quantize(px: np.ndarray, params: SynthParams) -> np.ndarray:
    q = params.quantum_px
    return (np.round(px / q) * q).astype(np.float32)
