"""The live window: the portrait idles and reacts in a pyglet window, or fullscreen as a kiosk.

``run_window(photo, args)`` is ``python demo.py PHOTO`` without ``--headless``:

1. The photo is read (a missing or broken file is a one-line error before any window opens)
   and a window sized to it (scaled down to fit the screen) opens at once, showing the photo
   dimmed under "Preparing <name>… (the first run compiles the kernels: up to a minute)" and
   the current step.
2. The player is built on a worker thread (``app.build_player``, then one warm-up frame so
   the numba kernels are loaded or compiled there), so the window keeps drawing and stays
   responsive meanwhile. An ``InputError`` closes the window and propagates: the CLI prints
   the one line and exits 2.
3. Every 1/fps s (``pyglet.clock.schedule_interval``) the update step drains the event
   queue into ``Player.handle``, renders ``Player.render(now)`` on the injected monotonic
   clock, uploads it into the one texture (``glTexSubImage2D`` straight from the numpy
   buffer, no copy), and the window draws it letterboxed, plus the help / fps overlays.

The window only converts: keys -> ``Event("key")`` with names normalised to
``triggers.KEY_NAMES`` (Ctrl+Shift+Q -> "quit_chord"), releases -> "key_release", mouse
press / motion -> "click" / "pointer" in photo pixels. The microphone (unless ``--no-mic``
or the profile turns it off) feeds the same queue from its audio thread on the same clock.

``--kiosk``: fullscreen, cursor hidden, black bars; only Ctrl+Shift+Q quits (the trigger
map ignores plain Esc/Q, and the window manager's close is ignored too); an exception in
the update step is logged (traceback once per distinct error) and the player is rebuilt,
with a growing delay if it keeps failing. Outside kiosk mode such an exception propagates.
SIGTERM quits cleanly in both modes.

Test hook (not for users): with ``REACTIVE_WINDOW_TEST=DIR`` in the environment the window
writes ``DIR/ready.json`` once the first live frame is on screen and executes the commands
a test writes to ``DIR/command`` (see :class:`_TestHook`): framebuffer screenshots,
synthetic key presses, an injected crash.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import InputError
from .triggers import KEY_NAMES, Event, EventQueue

log = logging.getLogger(__name__)

TEST_HOOK_ENV = "REACTIVE_WINDOW_TEST"
PREPARING = "Preparing {name}\u2026 (the first run compiles the kernels: up to a minute)"
SCREEN_FRACTION = 0.9  # the window may cover this much of the screen (title bar, panels)
# Kiosk recovery: the first restart after 0.5 s, doubling while the player keeps failing
# within STABLE_S of its start, never waiting more than MAX_RESTART_DELAY_S.
FIRST_RESTART_DELAY_S = 0.5
MAX_RESTART_DELAY_S = 60.0
STABLE_S = 30.0


# --- geometry ----------------------------------------------------------------------------------

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


# --- keys --------------------------------------------------------------------------------------

def key_name(symbol: int, modifiers: int) -> str | None:
    """A pyglet key press -> a name in ``triggers.KEY_NAMES``, or None for keys that trigger
    nothing.

    Letters -> "a".."z" (Shift and Caps Lock do not matter), digits and keypad digits ->
    "0".."9", Space, Escape, Return / keypad Enter -> "space", "escape", "enter";
    Ctrl+Shift+Q -> "quit_chord". Other chords with Ctrl, Alt or the Windows / Command key
    (Alt+Tab, Ctrl+C, ...) are not triggers.
    """
    from pyglet.window import key

    chord = key.MOD_CTRL | key.MOD_ALT | key.MOD_WINDOWS | key.MOD_COMMAND
    if (symbol == key.Q and modifiers & key.MOD_SHIFT
            and modifiers & (key.MOD_CTRL | key.MOD_COMMAND)):
        return "quit_chord"
    if modifiers & chord:
        return None
    if key.A <= symbol <= key.Z:
        name = chr(symbol)
    elif key._0 <= symbol <= key._9:
        name = chr(symbol)
    elif key.NUM_0 <= symbol <= key.NUM_9:
        name = str(symbol - key.NUM_0)
    else:
        name = {key.SPACE: "space", key.ESCAPE: "escape", key.RETURN: "enter",
                key.ENTER: "enter", key.NUM_ENTER: "enter"}.get(symbol)
    return name if name in KEY_NAMES else None


# --- the window ---------------------------------------------------------------------------------

def run_window(photo: str, args: argparse.Namespace, *,
               clock: Callable[[], float] = time.monotonic) -> int:
    """The live portrait in a window (``--kiosk``: fullscreen) until the user quits.

    ``args``: the namespace of ``reactive.app`` (clips, profile, kiosk, no_mic, max_side,
    seed, fps, verbose). ``clock``: monotonic seconds (injected for tests); the player, the
    events and the microphone all use it. Returns 0 on a clean quit (Esc / Q, Ctrl+Shift+Q,
    closing the window, SIGTERM). Raises ``InputError`` for a photo, clips or profile the
    player cannot use, after closing the window.
    """
    from .params import PlayerParams
    from .photo import load_photo

    max_side = args.max_side or PlayerParams().max_side
    image = load_photo(photo, max_side=max_side)
    hook_dir = os.environ.get(TEST_HOOK_ENV)
    try:
        live = _LiveWindow(photo, image, args, clock=clock,
                           hook=_TestHook(Path(hook_dir)) if hook_dir else None)
    except Exception as exc:
        # pyglet has two NoSuchDisplayException classes (window, display.xlib): by name.
        if type(exc).__name__ not in _NO_WINDOW:
            raise
        raise InputError(f"cannot open a window ({type(exc).__name__}: {exc}); without a "
                         "display, record instead: python demo.py PHOTO --headless "
                         "--duration 10 --record out.mp4") from None
    return live.run()


_NO_WINDOW = ("NoSuchDisplayException", "NoSuchConfigException", "ContextException")


class _Build:
    """``build_player`` + one warm-up frame on a worker thread; the result is picked up by
    the window's update step (``done``, then ``player`` or ``error``)."""

    def __init__(self, build: Callable[[], object], warm: Callable[[object], None]) -> None:
        self.player = None
        self.error: BaseException | None = None
        self.done = False
        self._thread = threading.Thread(target=self._work, args=(build, warm),
                                        name="reactive-build", daemon=True)
        self._thread.start()

    def _work(self, build, warm) -> None:
        try:
            player = build()
            warm(player)
            self.player = player
        except BaseException as exc:  # handed to the main thread, which decides
            self.error = exc
        self.done = True


class _LiveWindow:
    """The window, its texture and overlays, the build thread and the update step."""

    def __init__(self, photo_path: str, image: np.ndarray, args: argparse.Namespace, *,
                 clock: Callable[[], float], hook: "_TestHook | None") -> None:
        import pyglet

        from .params import PlayerParams

        self.pyglet = pyglet
        self.photo_path = photo_path
        self.name = Path(photo_path).name
        self.args = args
        self.kiosk = bool(args.kiosk)
        self.hook = hook
        self._t0 = clock()
        self._clock = clock
        self.events = EventQueue()
        self.player = None
        self.mic = None
        self.fps = float(args.fps or PlayerParams().fps)
        self.help_visible = False
        self.fps_visible = False
        self.frames = 0
        self.rebuilds = 0
        self._build: _Build | None = None
        self._rebuild_at: float | None = None
        self._failures = 0            # consecutive failed runs / builds (kiosk backoff)
        self._player_since = 0.0
        self._errors: dict[tuple, int] = {}
        self._error: BaseException | None = None  # re-raised by run() after the cleanup
        self._quit = False
        self._status = "starting"
        self._shown_status = None
        self._last_prepare_draw = -1.0
        self._last_tick: float | None = None
        self._fps_ema: float | None = None
        self._frame_ms_ema: float | None = None
        self._crash_next = False
        self._close_noted = False
        self._mic_tried = False
        self._fps_text_at = -1.0

        h, w = image.shape[:2]
        screen = pyglet.display.get_display().get_default_screen()
        if self.kiosk:
            self.window = pyglet.window.Window(
                fullscreen=True, caption=f"{self.name} \u2014 reactive portrait", vsync=False)
            self.window.set_mouse_visible(False)
        else:
            ww, wh = fit_window((w, h), (screen.width, screen.height))
            # vsync off: a flip must never hold the update step back (at 30 fps on a 60 Hz
            # screen a torn frame of a slowly moving face is not visible).
            self.window = pyglet.window.Window(
                ww, wh, caption=f"{self.name} \u2014 reactive portrait", resizable=True,
                vsync=False)
            self.window.set_minimum_size(64, 64)
        self.window.push_handlers(
            on_key_press=self._on_key_press, on_key_release=self._on_key_release,
            on_mouse_press=self._on_mouse_press, on_mouse_motion=self._on_mouse_motion,
            on_mouse_drag=self._on_mouse_drag, on_resize=self._on_resize,
            on_close=self._on_close, on_draw=self._on_draw)
        self.photo_batch = pyglet.graphics.Batch()
        self.overlay_batch = pyglet.graphics.Batch()
        self._make_texture(w, h)
        self._upload(np.ascontiguousarray(image))
        self.sprite.color = (80, 80, 80)  # the still photo, dimmed under the text
        self.prepare_label = pyglet.text.Label(
            "", multiline=True, width=10, align="center", anchor_x="center",
            anchor_y="center", color=(255, 255, 255, 255), batch=self.overlay_batch)
        self.help_box = pyglet.shapes.Rectangle(0, 0, 1, 1, color=(0, 0, 0, 170),
                                                batch=self.overlay_batch)
        self.help_label = pyglet.text.Label("", multiline=True, width=10, anchor_x="left",
                                            anchor_y="top", color=(255, 255, 255, 255),
                                            batch=self.overlay_batch)
        self.fps_box = pyglet.shapes.Rectangle(0, 0, 1, 1, color=(0, 0, 0, 170),
                                               batch=self.overlay_batch)
        self.fps_label = pyglet.text.Label("", anchor_x="right", anchor_y="bottom",
                                           color=(255, 255, 255, 255), batch=self.overlay_batch)
        for item in (self.help_box, self.help_label, self.fps_box, self.fps_label):
            item.visible = False
        self._layout()
        self._draw_now()

    # -- clock and lifecycle ------------------------------------------------------------------

    def now(self) -> float:
        """Seconds since the window opened, on the injected clock (thread-safe)."""
        return self._clock() - self._t0

    def run(self) -> int:
        pyglet = self.pyglet
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, self._on_sigterm)
        try:
            self._start_build()
            pyglet.clock.schedule_interval(self._tick, 1.0 / self.fps)
            pyglet.app.run(None)  # the tick draws; no extra redraw timer
        finally:
            pyglet.clock.unschedule(self._tick)
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
            if self.mic is not None:
                self.mic.stop()
            self.window.close()
        if self._error is not None:
            raise self._error
        return 0

    def _on_sigterm(self, signum, frame) -> None:
        self._quit = True  # the next tick quits cleanly (a signal handler must not draw)

    def _request_quit(self) -> None:
        self._quit = True
        self.pyglet.app.exit()

    # -- building the player --------------------------------------------------------------------

    def _set_status(self, text: str) -> None:
        self._status = text  # from the build thread: a plain assignment, drawn by the tick

    def _start_build(self) -> None:
        from .app import build_player

        args = self.args

        def build():
            player = build_player(
                self.photo_path, clips_dir=args.clips, profile_path=args.profile,
                mouths_path=getattr(args, "mouths", None),
                max_side=args.max_side, kiosk=self.kiosk, seed=args.seed,
                status=self._set_status)
            if not self._mic_tried:  # once: a kiosk restart keeps the running microphone
                self._mic_tried = True
                self._start_microphone(player)
            return player

        def warm(player) -> None:
            # The first frame loads (or, on a first run, compiles) the numba kernels: do it
            # here, off the window's thread, while "Preparing" is on screen.
            self._set_status("loading the kernels")
            player.warm_up()
            player.render(self.now())

        self._rebuild_at = None
        self._build = _Build(build, warm)

    def _start_microphone(self, player) -> None:
        if self.args.no_mic or not player.profile.microphone.enabled:
            return
        from .triggers import MicrophoneSource

        mic = MicrophoneSource(self.events, self.now, player.profile.microphone.params())
        if mic.start():  # False: it has said why, once; the portrait runs on without it
            self.mic = mic

    def _collect_build(self, now: float) -> None:
        build = self._build
        if build is None or not build.done:
            return
        self._build = None
        if build.error is not None:
            exc = build.error
            if isinstance(exc, InputError) and self.rebuilds == 0:
                # The user's mistake (even in kiosk mode: retrying cannot fix it): close
                # the window, the CLI prints it in one line, exit 2.
                self._error = exc
                self._request_quit()
                return
            if not self.kiosk or not isinstance(exc, Exception):
                raise exc
            self._log_error(exc, "building the player failed")
            self._status = f"building the player failed: {exc}; retrying"
            self._schedule_restart(now)
            return
        self.player = build.player
        self._player_since = now
        self.sprite.color = (255, 255, 255)
        self.prepare_label.visible = False
        if self.args.fps is None and self.player.params.fps != self.fps:
            self.fps = float(self.player.params.fps)
            self.pyglet.clock.unschedule(self._tick)
            self.pyglet.clock.schedule_interval(self._tick, 1.0 / self.fps)
        ph, pw = self.player.shape
        if (pw, ph) != (self.texture.width, self.texture.height):
            self._make_texture(pw, ph)
            self._layout()
        self._set_help_text()
        self.events.drain()  # what arrived while preparing is stale
        log.info("%s: live after %.1f s", self.name, now)

    def _schedule_restart(self, now: float) -> None:
        self._failures += 1
        delay = min(MAX_RESTART_DELAY_S, FIRST_RESTART_DELAY_S * 2 ** (self._failures - 1))
        self._rebuild_at = now + delay
        log.warning("kiosk: restarting the player in %.1f s", delay)

    def _log_error(self, exc: BaseException, what: str) -> None:
        """Traceback once per distinct error (type, message, where); one line after that."""
        tb = traceback.extract_tb(exc.__traceback__)
        where = (tb[-1].filename, tb[-1].lineno) if tb else None
        key = (type(exc).__name__, str(exc), where)
        count = self._errors.get(key, 0) + 1
        self._errors[key] = count
        if count == 1:
            log.error("kiosk: %s: %s: %s", what, type(exc).__name__, exc, exc_info=exc)
        else:
            log.error("kiosk: %s again (%d times): %s: %s", what, count, type(exc).__name__,
                      exc)

    def _recover(self, exc: Exception, now: float) -> None:
        """Kiosk: an error in the update step -> log it, drop the player, build a new one
        (the last frame stays on screen meanwhile)."""
        self._log_error(exc, "error in the player loop; restarting the player")
        if now - self._player_since >= STABLE_S:
            self._failures = 0  # it ran fine for a while: restart quickly again
        self.player = None
        self.rebuilds += 1
        self._schedule_restart(now)

    # -- the update step ----------------------------------------------------------------------------

    def _tick(self, dt: float) -> None:
        if self._quit:
            self._request_quit()
            return
        now = self.now()
        if self.hook is not None:
            self.hook.poll(self)
        try:
            self._collect_build(now)
            if self.player is not None:
                self._update(now)
            else:
                self._drain_waiting()
                if (self._rebuild_at is not None and now >= self._rebuild_at
                        and self._build is None):
                    self._start_build()
        except Exception as exc:
            if not self.kiosk:  # development: crash loudly, after the cleanup
                self._error = exc
                self._request_quit()
                return
            self._recover(exc, now)
        if self._quit:
            self._request_quit()
            return
        self._measure(now)
        if self.player is None:
            # Preparing, or a kiosk restart (the last frame stays): redraw only when the
            # text changes, for the seconds counter or a pending screenshot; the build
            # thread needs the CPU more than the window does.
            if (self._status == self._shown_status and now - self._last_prepare_draw < 0.5
                    and not (self.hook is not None and self.hook.pending)):
                return
            self._last_prepare_draw = now
        self._draw_now()

    def _update(self, now: float) -> None:
        player = self.player
        for event in self.events.drain():
            action = player.handle(event, now)
            if action is None:
                continue
            if action.kind == "quit":
                self._quit = True
                return
            if action.kind == "toggle_help":
                self.help_visible = not self.help_visible
            elif action.kind == "toggle_fps":
                self.fps_visible = not self.fps_visible
        if self._crash_next:
            self._crash_next = False
            raise RuntimeError("test hook: injected crash in the update step")
        t = time.perf_counter()
        frame = player.render(now)
        self._upload(frame)
        ms = 1000.0 * (time.perf_counter() - t)
        self._frame_ms_ema = ms if self._frame_ms_ema is None else \
            0.9 * self._frame_ms_ema + 0.1 * ms
        self.frames += 1
        if self.hook is not None and self.frames == 3:
            self.hook.ready(self)

    def _drain_waiting(self) -> None:
        """No player yet (preparing, or a kiosk restart): only quitting works."""
        for event in self.events.drain():
            if event.kind == "key" and (event.key == "quit_chord" or (
                    not self.kiosk and event.key in ("escape", "q"))):
                self._quit = True

    def _measure(self, now: float) -> None:
        if self._last_tick is not None and now > self._last_tick:
            fps = 1.0 / (now - self._last_tick)
            self._fps_ema = fps if self._fps_ema is None else 0.9 * self._fps_ema + 0.1 * fps
        self._last_tick = now

    # -- drawing ------------------------------------------------------------------------------------

    def _make_texture(self, w: int, h: int) -> None:
        from pyglet import gl

        pyglet = self.pyglet
        self.texture = pyglet.image.Texture.create(w, h, min_filter=gl.GL_LINEAR,
                                                   mag_filter=gl.GL_LINEAR)
        # Rows arrive top row first; GL's row 0 is the bottom. Flipping the texture
        # coordinates instead of the rows costs nothing per frame (pyglet's negative-pitch
        # ImageData would reverse the rows in Python, a full copy every frame).
        region = self.texture.get_transform(flip_y=True)
        region.anchor_x = region.anchor_y = 0
        old = getattr(self, "sprite", None)
        self.sprite = pyglet.sprite.Sprite(region, batch=self.photo_batch)
        if old is not None:
            self.sprite.color = old.color
            old.delete()

    def _upload(self, frame: np.ndarray) -> None:
        """(H, W, 3) uint8 RGB, C-contiguous -> the texture, straight from its memory."""
        from pyglet import gl

        h, w = frame.shape[:2]
        if (w, h) != (self.texture.width, self.texture.height):
            self._make_texture(w, h)
            self._layout()
        if not frame.flags.c_contiguous or frame.dtype != np.uint8 or frame.shape[2] != 3:
            raise ValueError("`frame` must be C-contiguous (H, W, 3) uint8; got "
                             f"{frame.dtype} {frame.shape}")
        self.window.switch_to()
        gl.glBindTexture(self.texture.target, self.texture.id)
        gl.glPixelStorei(gl.GL_UNPACK_ALIGNMENT, 1)  # rows of 3*W bytes, any W
        gl.glPixelStorei(gl.GL_UNPACK_ROW_LENGTH, 0)
        gl.glPixelStorei(gl.GL_UNPACK_SKIP_ROWS, 0)
        gl.glPixelStorei(gl.GL_UNPACK_SKIP_PIXELS, 0)
        gl.glTexSubImage2D(gl.GL_TEXTURE_2D, 0, 0, 0, w, h, gl.GL_RGB, gl.GL_UNSIGNED_BYTE,
                           frame.ctypes.data)

    def _layout(self) -> None:
        w, h = self.window.get_size()
        w, h = max(w, 1), max(h, 1)
        self.box = box = letterbox((self.texture.width, self.texture.height), (w, h))
        self.sprite.position = (box.x0, box.y0, 0)
        self.sprite.scale_x, self.sprite.scale_y = box.scale_x, box.scale_y
        size = max(9.0, min(18.0, h / 40.0))
        margin = round(size)
        lbl = self.prepare_label
        lbl.font_size = size
        lbl.width = max(int(w * 0.85), 10)
        lbl.x, lbl.y = w // 2, h // 2
        self.help_label.font_size = size
        self.help_label.x, self.help_label.y = 2 * margin, h - 2 * margin
        self.help_label.width = max(int(w * 0.6), 10)
        self.fps_label.font_size = size
        self.fps_label.x, self.fps_label.y = w - 2 * margin, 2 * margin
        self._fit_box(self.help_box, self.help_label, margin)
        self._fit_box(self.fps_box, self.fps_label, margin)

    @staticmethod
    def _fit_box(box, label, margin: int) -> None:
        """The semi-transparent box around a label anchored left/right, top/bottom."""
        width, height = label.content_width, label.content_height
        left = label.x - (width if label.anchor_x == "right" else 0)
        bottom = label.y - (height if label.anchor_y == "top" else 0)
        box.x, box.y = left - margin, bottom - margin
        box.width, box.height = width + 2 * margin, height + 2 * margin

    def _set_help_text(self) -> None:
        lines = self.player.triggers.help_lines() if self.player is not None else []
        self.help_label.text = "\n".join(["Keys", *lines])
        self._layout()

    def _refresh_overlays(self) -> None:
        if self.prepare_label.visible:
            elapsed = int(self.now())
            status = self._status
            self.prepare_label.text = (PREPARING.format(name=self.name)
                                       + f"\n\n{status} \u00b7 {elapsed} s")
            self._shown_status = status
        for item in (self.help_box, self.help_label):
            item.visible = self.help_visible and self.player is not None
        for item in (self.fps_box, self.fps_label):
            item.visible = self.fps_visible
        now = self.now()
        if self.fps_visible and (now - self._fps_text_at >= 0.25 or not self.fps_label.text):
            self._fps_text_at = now  # a new text relayouts the label: 4 times a second
            fps = self._fps_ema or 0.0
            ms = self._frame_ms_ema or 0.0
            self.fps_label.text = f"{fps:.1f} fps (target {self.fps:g})   frame {ms:.1f} ms"
            margin = round(self.fps_label.font_size)
            self._fit_box(self.fps_box, self.fps_label, margin)
        if self.help_visible:
            self._fit_box(self.help_box, self.help_label, round(self.help_label.font_size))

    def _draw_now(self) -> None:
        self.window.switch_to()
        self._draw()
        if self.hook is not None:
            self.hook.after_draw(self)  # screenshots read the back buffer, before the flip
        self.window.flip()

    def _draw(self) -> None:
        from pyglet import gl

        self._refresh_overlays()
        gl.glClearColor(0.0, 0.0, 0.0, 1.0)  # the bars are black
        self.window.clear()
        self.photo_batch.draw()
        self.overlay_batch.draw()

    # -- window events: convert and queue, nothing else -----------------------------------------

    def _on_key_press(self, symbol: int, modifiers: int):
        name = key_name(symbol, modifiers)
        if name is not None:
            self.events.put(Event(self.now(), "key", key=name))
        return True  # also keeps pyglet's default handler from closing on Esc

    def _on_key_release(self, symbol: int, modifiers: int):
        name = key_name(symbol, modifiers)
        if name is not None and name != "quit_chord":
            self.events.put(Event(self.now(), "key_release", key=name))
        return True

    def _on_mouse_press(self, x, y, button, modifiers):
        px, py = window_to_photo(x, y, self.box)
        self.events.put(Event(self.now(), "click", x=px, y=py))
        return True

    def _on_mouse_motion(self, x, y, dx, dy):
        px, py = window_to_photo(x, y, self.box)
        self.events.put(Event(self.now(), "pointer", x=px, y=py))
        return True

    def _on_mouse_drag(self, x, y, dx, dy, buttons, modifiers):
        return self._on_mouse_motion(x, y, dx, dy)

    def _on_resize(self, width: int, height: int):
        self._layout()  # pyglet's own resize handling (viewport, projection) runs anyway

    def _on_close(self):
        if self.kiosk:
            if not self._close_noted:
                self._close_noted = True
                log.info("kiosk: ignoring the request to close the window; quit with "
                         "Ctrl+Shift+Q")
        else:
            self._quit = True
            self.pyglet.app.exit()
        return True  # run() closes the window after the loop

    def _on_draw(self):
        # Exposure redraws between ticks (the tick draws every frame itself).
        self._draw()
        return True

    # -- for the test hook ------------------------------------------------------------------------

    def stats(self) -> dict:
        player = self.player
        layers = []
        if player is not None:
            layers = [{"clip": player.clips[l.clip].name, "weight": round(l.weight, 4),
                       "position": round(l.position, 3)} for l in player.last_layers]
        box = self.box
        return {
            "t": round(self.now(), 3), "frames": self.frames, "fps": self._fps_ema,
            "frame_ms": self._frame_ms_ema, "target_fps": self.fps,
            "window": list(self.window.get_size()),
            "box": [box.x0, box.y0, box.width, box.height],
            "photo": [box.photo_w, box.photo_h], "layers": layers,
            "pointer": None if player is None or player.pointer is None else
            [float(v) for v in player.pointer],
            "help": self.help_visible, "fps_overlay": self.fps_visible,
            "rebuilds": self.rebuilds, "kiosk": self.kiosk, "live": player is not None,
            "fullscreen": bool(self.window.fullscreen), "mic": self.mic is not None,
        }


class _TestHook:
    """``REACTIVE_WINDOW_TEST=DIR``: lets a test drive the real program.

    Once the first live frames are on screen the window writes ``DIR/ready.json`` (its
    :meth:`_LiveWindow.stats`). Each tick it looks for ``DIR/command`` (write it elsewhere,
    then rename it there), runs its lines and deletes it:

    - ``screenshot NAME``: after the next draw, the back buffer as ``DIR/NAME.png`` and the
      stats as ``DIR/NAME.json`` (the PNG first; both renamed into place when complete);
    - ``stats NAME``: only ``DIR/NAME.json``, at once;
    - ``key NAME [ctrl+shift]``: a key press and release through the window's own handlers
      (``NAME``: a ``pyglet.window.key`` constant such as ``_1``, ``F``, ``ESCAPE``);
    - ``crash``: the next update step raises (the kiosk recovery path).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pending: list[str] = []
        self._ready = False

    def poll(self, live: _LiveWindow) -> None:
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
                from pyglet.window import key

                symbol = getattr(key, words[1])
                mods = 0
                if len(words) > 2 and words[2] == "ctrl+shift":
                    mods = key.MOD_CTRL | key.MOD_SHIFT
                live.window.dispatch_event("on_key_press", symbol, mods)
                live.window.dispatch_event("on_key_release", symbol, mods)
            elif words[0] == "crash":
                live._crash_next = True
            else:
                log.warning("test hook: unknown command %r", line)

    def ready(self, live: _LiveWindow) -> None:
        if not self._ready:
            self._ready = True
            self._write_json("ready", live.stats())

    def after_draw(self, live: _LiveWindow) -> None:
        if not self.pending:
            return
        import cv2
        import pyglet

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
