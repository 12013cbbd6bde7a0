"""Where the help overlay (H) goes: beside the face, never over it.

Pure geometry, no window: the window measures text with its own font and hands a
``measure`` function in. Coordinates here are window pixels with the origin at the
top-left (y down); the window converts to pyglet's bottom-left origin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

# The face mesh stops at mid-forehead and at the jaw: the hair above it and a little room
# around it (the head sways and nods while the help is up) count as face too.
FACE_PAD_TOP = 0.35     # of the mesh's height
FACE_PAD_SIDE = 0.12    # of the mesh's width
FACE_PAD_BOTTOM = 0.08  # of the mesh's height
MAX_COLUMNS = 3


@dataclass(frozen=True)
class Rect:
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def overlap(self, other: "Rect") -> float:
        w = min(self.x1, other.x1) - max(self.x0, other.x0)
        h = min(self.y1, other.y1) - max(self.y0, other.y0)
        return max(w, 0.0) * max(h, 0.0)


@dataclass(frozen=True)
class HelpPlacement:
    """``columns`` of lines at ``font_size``; column ``i`` starts at ``column_x[i]``, all
    columns' tops at ``top``; ``box`` is the darkened background (top-left origin)."""

    font_size: float
    columns: tuple[tuple[str, ...], ...]
    column_x: tuple[float, ...]
    top: float
    box: Rect


def face_rect(points: np.ndarray, to_window: Callable[[float, float], tuple[float, float]]
              ) -> Rect:
    """The face's rectangle in window pixels (top-left origin), padded for hair and motion.

    ``points``: (N, 2) face landmarks in photo pixels; ``to_window``: photo pixel -> window
    pixel, top-left origin.
    """
    lo, hi = points.min(axis=0), points.max(axis=0)
    w, h = float(hi[0] - lo[0]), float(hi[1] - lo[1])
    x0, y0 = to_window(float(lo[0]) - FACE_PAD_SIDE * w, float(lo[1]) - FACE_PAD_TOP * h)
    x1, y1 = to_window(float(hi[0]) + FACE_PAD_SIDE * w, float(hi[1]) + FACE_PAD_BOTTOM * h)
    return Rect(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def split_columns(lines: Sequence[str], n: int) -> list[tuple[str, ...]]:
    per = math.ceil(len(lines) / n)
    return [tuple(lines[i:i + per]) for i in range(0, len(lines), per)]


def place_help(lines: Sequence[str], window: tuple[int, int], face: Rect,
               measure: Callable[[tuple[str, ...], float], tuple[float, float]], *,
               max_size: float, min_size: float = 8.0) -> HelpPlacement:
    """The largest font (and fewest columns) at which the help fits in the window beside,
    above or below ``face``, at the corner of that band nearest the window's top-left.

    ``measure(lines, size)`` -> (width, height) of the lines as one label. When the text
    fits nowhere beside the face (a face filling a small window), the smallest text goes
    where it covers the least of the face.
    """
    ww, wh = window
    bands = [  # beside the face first (where a portrait has room), then above and below
        ("left", Rect(0, 0, face.x0, wh)), ("right", Rect(face.x1, 0, ww, wh)),
        ("top", Rect(0, 0, ww, face.y0)), ("bottom", Rect(0, face.y1, ww, wh)),
    ]
    sizes = np.arange(max_size, min_size - 1e-9, -1.0) if max_size >= min_size else [min_size]
    for size in sizes:
        margin = round(size)
        for n in range(1, MAX_COLUMNS + 1):
            columns, dims, width, height = _block(lines, n, float(size), margin, measure)
            if len(columns) < n:
                break
            for side, band in bands:
                if width + 2 * margin <= band.width and height + 2 * margin <= band.height:
                    # The band's corner nearest the window's top-left.
                    x = band.x1 - margin - width if side == "right" else band.x0 + margin
                    y = band.y1 - margin - height if side == "bottom" else band.y0 + margin
                    return _columns_in(Rect(x, y, x + width, y + height), columns, dims,
                                       float(size), margin)
    # Nowhere free: the smallest text, at the window corner covering the least of the face.
    size = float(min_size)
    margin = round(size)
    best = None
    for n in range(1, MAX_COLUMNS + 1):
        columns, dims, width, height = _block(lines, n, size, margin, measure)
        for x in (margin, ww - width - margin):
            for y in (margin, wh - height - margin):
                box = Rect(x, y, x + width, y + height)
                cost = box.overlap(face)
                if best is None or cost < best[0]:
                    best = (cost, columns, dims, box)
    _, columns, dims, box = best
    return _columns_in(box, columns, dims, size, margin)


def _block(lines, n: int, size: float, margin: int, measure):
    """``lines`` in ``n`` columns -> (columns, their sizes, box width, box height)."""
    columns = split_columns(lines, n)
    dims = [measure(c, size) for c in columns]
    width = sum(d[0] for d in dims) + 2 * margin * len(dims)
    height = max(d[1] for d in dims) + 2 * margin
    return columns, dims, width, height


def _columns_in(box: Rect, columns, dims, size: float, margin: int) -> HelpPlacement:
    xs, x = [], box.x0 + margin
    for d in dims:
        xs.append(x)
        x += d[0] + 2 * margin
    return HelpPlacement(size, tuple(columns), tuple(xs), box.y0 + margin, box)
