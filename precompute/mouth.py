"""Driving mouth interiors for the hidden-region stage (paper Sec. 5), cropped per frame.

The cropping itself is ``reactive.core.mouthcrop`` (the live puppet crops camera frames with
it too); this module keeps the names precompute and its tests use.
"""

from __future__ import annotations

from reactive.core.mouthcrop import CROP_SIZE, CROP_SPAN, DRIVER_CROP_SIZE, mouth_crop

__all__ = ["CROP_SIZE", "CROP_SPAN", "DRIVER_CROP_SIZE", "mouth_crop"]
