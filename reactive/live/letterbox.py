"""Where the photo sits in a window: letterboxed, scaled to fit, and the mapping between
window and photo pixels (pure geometry, no window needed)."""

from __future__ import annotations

from dataclasses import dataclass

SCREEN_FRACTION = 0.9  # the window may cover this much of the screen (title bar, panels)


@dataclass(frozen=True)
class Letterbox:
    """Where the photo is drawn in the window.

    ``x0, y0, width, height``: the drawn rectangle in window pixels, origin bottom-left (as
    pyglet's), integers so the photo's edges fall on pixel boundaries; black bars around.
    """

    photo_w: int
    photo_h: int
    window_w: int
    window_h: int
    x0: int
    y0: int
    width: int
    height: int

    @property
    def scale_x(self) -> float:
        return self.width / self.photo_w

    @property
    def scale_y(self) -> float:
        return self.height / self.photo_h


def letterbox(photo_size: tuple[int, int], window_size: tuple[int, int]) -> Letterbox:
    """The largest centred rectangle of the photo's aspect inside the window.

    ``photo_size``, ``window_size``: (width, height) in pixels, each > 0.
    """
    pw, ph = (int(v) for v in photo_size)
    ww, wh = (int(v) for v in window_size)
    if pw <= 0 or ph <= 0:
        raise ValueError(f"`photo_size` must be positive (width, height); got {photo_size}")
    if ww <= 0 or wh <= 0:
        raise ValueError(f"`window_size` must be positive (width, height); got {window_size}")
    scale = min(ww / pw, wh / ph)
    w = min(ww, max(1, round(pw * scale)))
    h = min(wh, max(1, round(ph * scale)))
    return Letterbox(pw, ph, ww, wh, (ww - w) // 2, (wh - h) // 2, w, h)


def window_to_photo(x: float, y: float, box: Letterbox) -> tuple[float, float]:
    """A window pixel -> photo pixel coordinates.

    ``x, y``: pyglet's mouse coordinates (the pixel whose lower-left corner is (x, y),
    origin at the window's bottom-left). Returns (x, y) in photo pixels (x right, y down,
    pixel centres at integers), undoing the letterbox offset, its scale and the y flip.
    Points on the black bars are clamped to the nearest photo edge: a click there still
    counts, and the eyes look towards the edge.
    """
    px = (x + 0.5 - box.x0) / box.scale_x - 0.5
    py = (box.y0 + box.height - (y + 0.5)) / box.scale_y - 0.5
    return (min(max(px, 0.0), box.photo_w - 1.0), min(max(py, 0.0), box.photo_h - 1.0))


def photo_to_window(px: float, py: float, box: Letterbox) -> tuple[float, float]:
    """The inverse of :func:`window_to_photo` (without the clamp): photo pixel -> window
    coordinates (bottom-left origin), e.g. where a test should click."""
    return (box.x0 + (px + 0.5) * box.scale_x - 0.5,
            box.y0 + box.height - (py + 0.5) * box.scale_y - 0.5)


def fit_window(photo_size: tuple[int, int], screen_size: tuple[int, int], *,
               fraction: float = SCREEN_FRACTION) -> tuple[int, int]:
    """The window size for a photo: its own size, scaled down (aspect kept, never up) so
    that it covers at most ``fraction`` of the screen in each direction."""
    pw, ph = photo_size
    sw, sh = screen_size
    if pw <= 0 or ph <= 0:
        raise ValueError(f"`photo_size` must be positive (width, height); got {photo_size}")
    if not 0 < fraction <= 1:
        raise ValueError(f"`fraction` must be in (0, 1]; got {fraction}")
    scale = min(1.0, fraction * sw / pw, fraction * sh / ph) if sw > 0 and sh > 0 else 1.0
    return max(1, round(pw * scale)), max(1, round(ph * scale))
