"""The window's test probe (not for users): with ``REACTIVE_WINDOW_TEST=DIR`` in the
environment, a test drives the real program through files in DIR (screenshots, stats,
synthetic key presses, an injected crash). Attached by ``window.run_window``; the window
itself only calls ``poll``, ``ready`` and ``after_draw``.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

TEST_HOOK_ENV = "REACTIVE_WINDOW_TEST"


class WindowProbe:
    """``REACTIVE_WINDOW_TEST=DIR``: lets a test drive the real program.

    Once the first live frames are on screen the window writes ``DIR/ready.json`` (its
    :meth:`_LiveWindow.stats`). Each tick it looks for ``DIR/command`` (write it elsewhere,
    then rename it there), runs its lines and deletes it:

    - ``screenshot NAME``: after the next draw, the back buffer as ``DIR/NAME.png`` and the
      stats as ``DIR/NAME.json`` (the PNG first; both renamed into place when complete);
    - ``stats NAME``: only ``DIR/NAME.json``, at once;
    - ``key NAME [ctrl+shift]``: a key press and release through the window's own handlers
      (``NAME``: a ``pyglet.window.key`` constant such as ``_1``, ``F``, ``ESCAPE``);
    - ``crash``: the player's next frame raises (the kiosk recovery path).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pending: list[str] = []
        self._ready = False

    def poll(self, live) -> None:
        command = self.folder / "command"
        if not command.exists():
            return
        lines = command.read_text().splitlines()
        command.unlink()
        for line in lines:
            words = line.split()
            if not words:
                continue
            if words[0] == "screenshot":
                self.pending.append(words[1])
            elif words[0] == "stats":
                self._write_json(words[1], live.stats())
            elif words[0] == "key":
                from pyglet.window import key  # noqa: PLC0415 - only under a window

                symbol = getattr(key, words[1])
                mods = 0
                if len(words) > 2 and words[2] == "ctrl+shift":
                    mods = key.MOD_CTRL | key.MOD_SHIFT
                live.window.dispatch_event("on_key_press", symbol, mods)
                live.window.dispatch_event("on_key_release", symbol, mods)
            elif words[0] == "crash":
                if live.player is not None:
                    _crash_next_frame(live.player)
            else:
                log.warning("test hook: unknown command %r", line)

    def ready(self, live) -> None:
        if not self._ready:
            self._ready = True
            self._write_json("ready", live.stats())

    def after_draw(self, live) -> None:
        if not self.pending:
            return
        import pyglet  # noqa: PLC0415 - only under a window

        image = pyglet.image.get_buffer_manager().get_color_buffer().get_image_data()
        w, h = image.width, image.height
        rgb = np.frombuffer(image.get_data("RGB", -3 * w), np.uint8).reshape(h, w, 3)
        for name in self.pending:
            tmp = self.folder / f".{name}.tmp.png"
            cv2.imwrite(str(tmp), rgb[:, :, ::-1])
            os.replace(tmp, self.folder / f"{name}.png")
            self._write_json(name, live.stats())
        self.pending = []

    def _write_json(self, name: str, data: dict) -> None:
        tmp = self.folder / f".{name}.tmp.json"
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self.folder / f"{name}.json")


def _crash_next_frame(player) -> None:
    """The player's next ``render`` raises (once): what a fault in the frame loop does."""
    def crash(now_s):
        del player.render  # back to the class's method
        raise RuntimeError("test hook: injected crash in the update step")

    player.render = crash
