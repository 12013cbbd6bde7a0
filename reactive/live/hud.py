"""The text over the portrait in the window: "Preparing <name>…" while the player is built,
the keys (H) beside the face, never over it (``overlay.place_help``), and the frame rate (F).

Pyglet labels in one batch; the window tells it the layout when the window or the photo
changes and what to show each frame. Only drawing: no state of the player lives here.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from reactive.live.letterbox import Letterbox, photo_to_window
from reactive.live.overlay import MAX_COLUMNS, face_rect, place_help

PREPARING = "Preparing {name}\u2026"
COMPILING = "(the first run compiles the kernels: up to a minute)"  # said only when it does
WHITE = (255, 255, 255, 255)
SHADE = (0, 0, 0, 170)  # the boxes behind the help and the frame rate


class Hud:
    """The window's overlays. ``pyglet``: the imported module (the window imports it)."""

    def __init__(self, pyglet, name: str) -> None:
        self.name = name
        self.batch = pyglet.graphics.Batch()
        self.prepare_label = pyglet.text.Label(
            "", multiline=True, width=10, align="center", anchor_x="center",
            anchor_y="center", color=WHITE, batch=self.batch)
        self.help_box = pyglet.shapes.Rectangle(0, 0, 1, 1, color=SHADE, batch=self.batch)
        # The help is laid out in up to MAX_COLUMNS columns beside the face.
        self.help_labels = [
            pyglet.text.Label("", multiline=True, width=10, anchor_x="left", anchor_y="top",
                              color=WHITE, batch=self.batch)
            for _ in range(MAX_COLUMNS)]
        self._measure_label = pyglet.text.Label("", multiline=True, width=10_000)
        self._measured: dict[tuple, tuple[float, float]] = {}
        self.help_lines: list[str] = []
        self.help_place = None  # overlay.HelpPlacement, once the player is live
        self.help_face = None   # the face's rectangle the help keeps clear of
        self._help_columns = 0
        self.fps_box = pyglet.shapes.Rectangle(0, 0, 1, 1, color=SHADE, batch=self.batch)
        self.fps_label = pyglet.text.Label("", anchor_x="right", anchor_y="bottom",
                                           color=WHITE, batch=self.batch)
        for item in (self.help_box, *self.help_labels, self.fps_box, self.fps_label):
            item.visible = False
        self._fps_text_at = -1.0

    @property
    def preparing(self) -> bool:
        return self.prepare_label.visible

    def live(self) -> None:
        """The player is on screen: no more "Preparing"."""
        self.prepare_label.visible = False

    def layout(self, size: tuple[int, int], box: Letterbox,
               face_points: np.ndarray | None) -> None:
        """Place everything for a window of ``size`` (w, h) showing the photo in ``box``;
        ``face_points`` (N, 2) photo px: the face the help keeps clear of (None: no help)."""
        w, h = size
        font = max(9.0, min(18.0, h / 40.0))
        margin = round(font)
        lbl = self.prepare_label
        lbl.font_size = font
        lbl.width = max(int(w * 0.85), 10)
        lbl.x, lbl.y = w // 2, h // 2
        if face_points is not None and self.help_lines:
            self._place_help(w, h, font, box, face_points)
        self.fps_label.font_size = font
        self.fps_label.x, self.fps_label.y = w - 2 * margin, 2 * margin
        _fit_box(self.fps_box, self.fps_label, margin)

    def _place_help(self, w: int, h: int, font: float, box: Letterbox,
                    face_points: np.ndarray) -> None:
        face = face_rect(face_points, lambda px, py: _top_down(photo_to_window(px, py, box), h))
        place = place_help(self.help_lines, (w, h), face, self._text_size, max_size=font)
        for i, label in enumerate(self.help_labels):
            column = place.columns[i] if i < len(place.columns) else ()
            label.text = "\n".join(column)
            label.font_size = place.font_size
            label.width = 10_000
            if column:
                label.x, label.y = round(place.column_x[i]), round(h - place.top)
        self._help_columns = len(place.columns)
        self.help_face = face
        b = place.box
        self.help_box.x, self.help_box.y = b.x0, h - b.y1
        self.help_box.width, self.help_box.height = b.width, b.height
        self.help_place = place

    def _text_size(self, lines: tuple[str, ...], size: float) -> tuple[float, float]:
        key = (lines, size)
        if key not in self._measured:
            label = self._measure_label
            label.font_size = size
            label.text = "\n".join(lines)
            self._measured[key] = (float(label.content_width), float(label.content_height))
        return self._measured[key]

    def refresh(self, now: float, *, status: str, elapsed_s: float, compiling: bool,
                help_visible: bool, fps_visible: bool, fps_text: Callable[[], str]) -> None:
        """Before each draw: the texts and what is visible. ``fps_text`` is asked for the
        frame-rate line at most four times a second (a new text relayouts the label)."""
        if self.prepare_label.visible:
            note = f" {COMPILING}" if compiling else ""
            self.prepare_label.text = (PREPARING.format(name=self.name) + note
                                       + f"\n\n{status} \u00b7 {int(elapsed_s)} s")
        self.help_box.visible = help_visible
        for i, label in enumerate(self.help_labels):
            label.visible = help_visible and i < self._help_columns
        for item in (self.fps_box, self.fps_label):
            item.visible = fps_visible
        if fps_visible and (now - self._fps_text_at >= 0.25 or not self.fps_label.text):
            self._fps_text_at = now
            self.fps_label.text = fps_text()
            _fit_box(self.fps_box, self.fps_label, round(self.fps_label.font_size))


def _fit_box(box, label, margin: int) -> None:
    """The semi-transparent box around a label anchored left/right, top/bottom."""
    width, height = label.content_width, label.content_height
    left = label.x - (width if label.anchor_x == "right" else 0)
    bottom = label.y - (height if label.anchor_y == "top" else 0)
    box.x, box.y = left - margin, bottom - margin
    box.width, box.height = width + 2 * margin, height + 2 * margin


def _top_down(point: tuple[float, float], window_h: int) -> tuple[float, float]:
    """A pyglet window point (bottom-left origin) -> top-left origin."""
    return point[0], window_h - point[1]


def rect_list(rect) -> list[float] | None:
    """An overlay rectangle as [x0, y0, x1, y1] (top-left origin), or None."""
    return None if not rect else [round(v, 1) for v in (rect.x0, rect.y0, rect.x1, rect.y1)]
