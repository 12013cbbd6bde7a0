"""The mouth's Poisson blend (Sec. 5): a gain, solved small, with a bounded colour shift."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from reactive.core.geometry import polygon_area
from reactive.core.mouth import MouthLayer
from reactive.params import MouthParams


def _scene(h=120, w=180):
    """A driver's mouth: grey-white interior (teeth) on warm skin; the photo: cool skin."""
    src = np.full((h, w, 3), (200, 150, 120), np.uint8)      # warm skin (RGB)
    cv2.ellipse(src, (w // 2, h // 2), (50, 25), 0, 0, 360, (210, 210, 210), -1)
    dst = np.full((h, w, 3), (150, 165, 200), np.uint8)      # cool skin
    region = np.zeros((h, w), np.uint8)
    cv2.ellipse(region, (w // 2, h // 2), (70, 40), 0, 0, 360, 255, -1)
    return src, dst, region


@pytest.mark.parametrize("poisson_px", [48, 1000])  # solved small and upsampled, or full size
def test_colour_gain_bounds_the_tint_of_the_interior(poisson_px):
    src, dst, region = _scene()
    centre = (slice(55, 65), slice(80, 100))
    spread = {}
    for gain in (1.0, 0.5, 0.0):
        layer = SimpleNamespace(params=replace(MouthParams(), colour_gain=gain,
                                               poisson_px=poisson_px))
        out = MouthLayer._poisson(layer, src, dst, region).astype(float)
        rgb = out[centre].reshape(-1, 3).mean(axis=0)
        spread[gain] = rgb[2] - rgb[0]  # blue minus red: the cool skin's tint
    # Full colour matching tints the white interior blue; none keeps it grey; half between.
    assert spread[1.0] > 30
    assert abs(spread[0.0]) < 5
    assert spread[0.0] < spread[0.5] < spread[1.0]


def test_polygon_area_of_a_square_and_a_triangle():
    assert polygon_area(np.array([[0, 0], [4, 0], [4, 4], [0, 4]], float)) == 16.0
    assert polygon_area(np.array([[0, 0], [6, 0], [0, 3]], float)) == 9.0
