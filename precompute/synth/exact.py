"""Exact, portable arithmetic for the built-in clips: the same bytes on every CPU.

libm and numpy's SIMD kernels may differ in the last bit between CPUs; the clips are made
with these instead: trigonometry by its Taylor series, lengths and rotations by plain IEEE
arithmetic (+ - * / sqrt are exactly rounded everywhere) summed in a fixed order (no BLAS).
"""

from __future__ import annotations

import math

import numpy as np

TRIG_MAX = 3.5  # rad; the series below is exact to double precision up to here


def sin(x: float) -> float:
    """sin for |x| <= 3.5 rad by its Taylor series in plain float arithmetic (libm and numpy's
    SIMD kernels may differ in the last bit between CPUs; this does not)."""
    if abs(x) > TRIG_MAX:
        raise ValueError(f"angle {x} rad out of the supported range (|x| <= {TRIG_MAX})")
    x2, term, total = x * x, x, x
    for n in range(1, 24):
        term *= -x2 / ((2 * n) * (2 * n + 1))
        total += term
    return total


def cos(x: float) -> float:
    """cos for |x| <= 3.5 rad, as ``sin``."""
    if abs(x) > TRIG_MAX:
        raise ValueError(f"angle {x} rad out of the supported range (|x| <= {TRIG_MAX})")
    x2, term, total = x * x, 1.0, 1.0
    for n in range(1, 24):
        term *= -x2 / ((2 * n - 1) * (2 * n))
        total += term
    return total


def length(dx, dy):
    """sqrt(dx^2 + dy^2), elementwise, exactly rounded (libm's hypot may differ by CPU)."""
    return np.sqrt(dx * dx + dy * dy)


def falloff(dist, radius: float):
    """Compact smooth falloff (1 - (d/r)^2)^3, 1 at d = 0, 0 (with zero slope) from d = r."""
    q = np.clip(1.0 - (np.asarray(dist, np.float64) / radius) ** 2, 0.0, 1.0)
    return q * q * q


def rotation(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """3x3 rotation R = R_roll R_yaw R_pitch in template axes (x right, y down, z away)."""
    d = math.pi / 180.0
    cy, sy = cos(yaw_deg * d), sin(yaw_deg * d)
    cp, sp = cos(pitch_deg * d), sin(pitch_deg * d)
    cr, sr = cos(roll_deg * d), sin(roll_deg * d)
    yaw = np.array([[cy, 0.0, -sy], [0.0, 1.0, 0.0], [sy, 0.0, cy]])
    pitch = np.array([[1.0, 0.0, 0.0], [0.0, cp, -sp], [0.0, sp, cp]])
    roll = np.array([[cr, -sr, 0.0], [sr, cr, 0.0], [0.0, 0.0, 1.0]])
    return matmul3(roll, matmul3(yaw, pitch))


def matmul3(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b for 3x3, summed in a fixed order (no BLAS)."""
    return (a[:, :, None] * b[None, :, :]).sum(axis=1)


def apply3(m: np.ndarray, p: np.ndarray) -> np.ndarray:
    """(N, 3) points times m^T, summed in a fixed order (no BLAS)."""
    return p[:, 0:1] * m[:, 0] + p[:, 1:2] * m[:, 1] + p[:, 2:3] * m[:, 2]
