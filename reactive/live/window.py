"""The live window: the portrait idles and reacts in a pyglet window, or fullscreen as a kiosk.

``run_window(photo, args)`` is ``python demo.py PHOTO`` without ``--headless``:

1. The photo is read (a missing or broken file is a one-line error before any window opens)
   and a window sized to it (scaled down to fit the screen) opens at once, showing the photo
   dimmed under "Preparing <name>…" (plus "the first run compiles the kernels: up to a
   minute" when numba's cache says it will) and the current step.
2. The player is built on a worker thread (``build.build_player``, then one warm-up frame so
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
with a growing delay if it keeps failing (``keeper.PlayerKeeper``). Outside kiosk mode such
an exception propagates. SIGTERM quits cleanly in both modes (window closed, microphone
stopped; exit 143 as every command, ``reactive.guard``). Kiosk mode also turns off screen
blanking where X allows it (``kiosk.disable_blanking``); ``reactive kiosk`` restarts the whole
program when it dies. The help (H) is laid out beside the face, never over it (``overlay``).

Tests drive the real window through ``window_probe`` (``REACTIVE_WINDOW_TEST=DIR``).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np

from reactive.core.kernels.compiled import kernels_compiled
from reactive.core.landmarks import N_MESH
from reactive.errors import InputError
from reactive.guard import Terminated
from reactive.io.photo import load_photo
from reactive.live.build import build_player
from reactive.live.hud import Hud, rect_list
from reactive.live.keeper import PlayerKeeper
from reactive.live.kiosk import disable_blanking
from reactive.live.letterbox import fit_window, letterbox, window_to_photo
from reactive.live.triggers import KEY_NAMES, Event, EventQueue, MicrophoneSource
from reactive.live.puppet import puppet_for
from reactive.live.visitor import open_visitor
from reactive.live.window_probe import TEST_HOOK_ENV, WindowProbe
from reactive.params import PhotoParams, PlayerParams

log = logging.getLogger(__name__)



# --- geometry ----------------------------------------------------------------------------------


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

    ``args``: the namespace of ``reactive.live.app`` (clips, profile, kiosk, no_mic, max_side,
    seed, fps, verbose). ``clock``: monotonic seconds (injected for tests); the player, the
    events and the microphone all use it. Returns 0 on a clean quit (Esc / Q, Ctrl+Shift+Q,
    closing the window, SIGTERM). Raises ``InputError`` for a photo, clips or profile the
    player cannot use, after closing the window.
    """
    max_side = args.max_side or PhotoParams().max_side
    image = load_photo(photo, max_side=max_side)
    hook_dir = os.environ.get(TEST_HOOK_ENV)
    try:
        live = _LiveWindow(photo, image, args, clock=clock,
                           hook=WindowProbe(Path(hook_dir)) if hook_dir else None)
    except Exception as exc:
        # pyglet has two NoSuchDisplayException classes (window, display.xlib): by name.
        if type(exc).__name__ not in _NO_WINDOW:
            raise
        raise InputError(f"cannot open a window ({type(exc).__name__}: {exc}); without a "
                         "display, record instead: python demo.py PHOTO --headless "
                         "--duration 10 --record out.mp4") from None
    return live.run()


_NO_WINDOW = ("NoSuchDisplayException", "NoSuchConfigException", "ContextException")


class _LiveWindow:
    """The window, its texture and overlays, the build thread and the update step."""

    def __init__(self, photo_path: str, image: np.ndarray, args: argparse.Namespace, *,
                 clock: Callable[[], float], hook: WindowProbe | None) -> None:
        import pyglet  # noqa: PLC0415 - opens the display connection: only when a window is wanted

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
        self.camera = None  # visitor.VisitorTracker, with --camera
        self.puppet = None  # puppet.PuppetMode, with --puppet
        self.fps = float(args.fps or PlayerParams().fps)
        self.help_visible = False
        self.fps_visible = False
        self.frames = 0
        self.keeper = PlayerKeeper(self._build_player, self._warm_player, kiosk=self.kiosk,
                                   status=self._set_status)
        self._error: BaseException | None = None  # re-raised by run() after the cleanup
        self._quit = False
        self._status = "starting"
        self._shown_status = None
        self._last_prepare_draw = -1.0
        self._last_tick: float | None = None
        self._fps_ema: float | None = None
        self._frame_ms_ema: float | None = None
        self._close_noted = False
        self._terminated = False
        self._compiling = False  # the build thread found the kernels not yet compiled
        self._mic_tried = False

        h, w = image.shape[:2]
        screen = pyglet.display.get_display().get_default_screen()
        if self.kiosk:
            self.window = pyglet.window.Window(
                fullscreen=True, caption=f"{self.name} \u2014 reactive portrait", vsync=False)
            self.window.set_mouse_visible(False)
            disable_blanking()
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
        self._make_texture(w, h)
        self._upload(np.ascontiguousarray(image))
        self.sprite.color = (80, 80, 80)  # the still photo, dimmed under the text
        self.hud = Hud(pyglet, self.name)
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
            self.keeper.start()
            pyglet.clock.schedule_interval(self._tick, 1.0 / self.fps)
            pyglet.app.run(None)  # the tick draws; no extra redraw timer
        finally:
            pyglet.clock.unschedule(self._tick)
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
            if self.mic is not None:
                self.mic.stop()
            if self.camera is not None:
                self.camera.stop()
            self.window.close()
        if self._error is not None:
            raise self._error
        if self._terminated:
            raise Terminated(signal.SIGTERM)  # after the cleanup: one line, exit 143
        return 0

    def _on_sigterm(self, signum, frame) -> None:
        self._quit = True  # the next tick quits cleanly (a signal handler must not draw)
        self._terminated = True

    def _request_quit(self) -> None:
        self._quit = True
        self.pyglet.app.exit()

    # -- building the player --------------------------------------------------------------------

    def _set_status(self, text: str) -> None:
        self._status = text  # from the build thread: a plain assignment, drawn by the tick

    def _build_player(self):
        """On the build thread: the player, and the microphone once (a kiosk restart keeps
        the running microphone)."""
        args = self.args
        self._compiling = not kernels_compiled()
        player = build_player(
            self.photo_path, clips_dir=args.clips, profile_path=args.profile,
            mouths_path=getattr(args, "mouths", None), max_side=args.max_side,
            kiosk=self.kiosk, seed=args.seed, status=self._set_status)
        if not self._mic_tried:
            self._mic_tried = True
            self._start_microphone(player)
            self._start_camera(player)
        return player

    def _warm_player(self, player) -> None:
        # The first frame loads (or, on a first run, compiles) the numba kernels: do it here,
        # off the window's thread, while "Preparing" is on screen.
        self._set_status("compiling the kernels" if self._compiling else "loading the kernels")
        player.warm_up()
        player.render(self.now())

    def _start_microphone(self, player) -> None:
        if self.args.no_mic or not player.profile.microphone.enabled:
            return
        mic = MicrophoneSource(self.events, self.now, player.profile.microphone.params())
        if mic.start():  # False: it has said why, once; the portrait runs on without it
            self.mic = mic

    def _start_camera(self, player) -> None:
        if not getattr(self.args, "camera", None):
            return
        camera = open_visitor(self.args.camera, self.events, self.now,
                              player.profile.camera.params())
        # None: it has said why, once; the portrait runs on. Started once the portrait is
        # live (a file camera plays from then on).
        self.camera = camera

    def _collect_build(self, now: float) -> None:
        try:
            player = self.keeper.collect(now)
        except InputError as exc:
            # The user's mistake (even in kiosk mode: retrying cannot fix it): close the
            # window, the CLI prints it in one line, exit 2.
            self._error = exc
            self._request_quit()
            return
        if player is None:
            return
        self.player = player
        self.sprite.color = (255, 255, 255)
        self.hud.live()
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
        if self.camera is not None:
            if getattr(self.args, "puppet", False):
                # A kiosk rebuild: the puppet of the new player, the camera feeding it.
                self.puppet = puppet_for(player, absence_s=self.camera.detector.p.absence_s)
                self.camera.on_frame = self.puppet.on_camera
            if not self.camera.running:
                self.camera.start()
        log.info("%s: live after %.1f s", self.name, now)

    def _recover(self, exc: Exception, now: float) -> None:
        """Kiosk: an error in the update step -> drop the player, build a new one (the last
        frame stays on screen meanwhile)."""
        self.player = None
        self.keeper.recover(exc, now)

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
                if self.keeper.due(now):
                    self.keeper.start()
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
        if self.camera is not None:
            player.camera_aspect = self.camera.camera_aspect
        for event in self.events.drain():
            if self.puppet is not None and event.kind == "key" and event.key == "n":
                self.puppet.retake()  # N: take the neutral face again
                continue
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
        t = time.perf_counter()
        frame = player.render(now) if self.puppet is None else self.puppet.frame(now)
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
        face = None if self.player is None else self.player.rig.target_points[:N_MESH]
        self.hud.layout((w, h), box, face)

    def _set_help_text(self) -> None:
        lines = self.player.triggers.help_lines() if self.player is not None else []
        self.hud.help_lines = ["Keys", *lines]
        self._layout()

    def _refresh_overlays(self) -> None:
        if self.hud.preparing:
            self._shown_status = self._status

        def fps_text() -> str:
            fps, ms = self._fps_ema or 0.0, self._frame_ms_ema or 0.0
            return f"{fps:.1f} fps (target {self.fps:g})   frame {ms:.1f} ms"

        self.hud.refresh(self.now(), status=self._status, elapsed_s=self.now(),
                         compiling=self._compiling,
                         help_visible=self.help_visible and self.player is not None,
                         fps_visible=self.fps_visible, fps_text=fps_text)

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
        self.hud.batch.draw()

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

    # -- what the window is doing (the test probe reads it) ------------------------------------------------------------------------

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
            "rebuilds": self.keeper.rebuilds, "kiosk": self.kiosk, "live": player is not None,
            "fullscreen": bool(self.window.fullscreen), "mic": self.mic is not None,
            "camera_frames": None if self.camera is None else self.camera.frames,
            "puppet": None if self.puppet is None else {
                "ready": self.puppet.puppet.ready, "retakes": self.puppet.retakes,
                "camera_time": self.puppet.shown_camera_time},
            "visitor": None if player is None or player.visitor is None else
            [float(v) for v in player.visitor],
            "gaze": None if player is None else
            [float(v) for v in player.synthesis.gaze_now],
            # Top-left origin: the help's darkened box and the face it keeps clear of.
            "help_box": rect_list(self.hud.help_place.box if self.hud.help_place else None),
            "face_box": rect_list(self.hud.help_face),
        }
