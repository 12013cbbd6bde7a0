"""``reactive record`` in a window: the guided capture of your own clips.

The window shows the camera as a mirror, a face guide and a prompt: hold a neutral face,
then each expression (smile, laugh, surprise, sad, angry, blink, a look left and right, an
idle minute of small natural movement), each after a countdown. Each take is checked and
tracked as soon as it is filmed (``record.write_take``, on a worker thread; the window stays
live): a refused take says why and waits: R films it again, Space skips it. Esc ends (the takes done so far stay written).

:class:`GuidedCapture` is the sequence itself, on an injected clock, without a window (the
tests drive it); :func:`run_record_window` is the pyglet window around it. A video file as
the camera plays at its own rate; the capture ends with it.
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from reactive.errors import InputError
from reactive.guard import prepare_output
from reactive.io.camera import CameraSource, open_camera
from reactive.params import RecordParams
from reactive.tools.record import NEUTRAL, take_neutral, write_take

log = logging.getLogger("reactive")

# (state, prompt); the idle minute is last.
PROMPTS = (
    (NEUTRAL, "Hold a neutral face, look into the camera"),
    ("smile", "Smile"),
    ("laugh", "Laugh"),
    ("surprise", "Look surprised: brows up, mouth open"),
    ("sad", "Look sad"),
    ("angry", "Look angry"),
    ("blink", "Blink once or twice"),
    ("look_left", "Look to your left, eyes only"),
    ("look_right", "Look to your right, eyes only"),
    ("idle", "Idle: small natural movements, breathe, glance around"),
)


@dataclass
class TakeResult:
    state: str
    reason: str | None  # None: written


class GuidedCapture:
    """The prompts, countdowns and takes on the caller's clock.

    ``frame(now_s, image)`` for every camera frame (RGB); ``key(name)`` for "r" (redo),
    "space" (skip a refused take) and "escape". ``lines()`` is what to show. Processing a
    take runs on a worker thread (``process`` false: the caller calls ``finish_take``).
    """

    def __init__(self, out: Path, fps: float, params: RecordParams = RecordParams(), *,
                 take_s: float | None = None, process: bool = True) -> None:
        self.out = out
        self.fps = fps
        self.params = params
        self.take_s = take_s or params.take_s
        self.process = process
        self.index = 0
        self.phase = "countdown"
        self.phase_start: float | None = None
        self.frames: list[np.ndarray] = []
        self.neutral_frame: np.ndarray | None = None
        self.results: list[TakeResult] = []
        self.message = ""
        self.done = False
        self._worker: threading.Thread | None = None
        self._pending: TakeResult | None = None

    @property
    def state(self) -> str:
        return PROMPTS[self.index][0]

    def duration(self) -> float:
        if self.state == NEUTRAL:
            return self.params.neutral_s
        return self.params.idle_take_s if self.state == "idle" else self.take_s

    def frame(self, now_s: float, image: np.ndarray | None) -> None:
        if self.done:
            return
        if self.phase_start is None:
            self.phase_start = now_s
        elapsed = now_s - self.phase_start
        if self.phase == "countdown" and elapsed >= self.params.countdown_s:
            self._enter("recording", now_s)
            self.frames = []
        elif self.phase == "recording":
            if image is not None:
                self.frames.append(image.copy())
            if elapsed >= self.duration():
                self._enter("processing", now_s)
                self._start_processing()
        elif self.phase == "processing" and self._pending is not None:
            result, self._pending = self._pending, None
            self.results.append(result)
            if result.reason is None:
                self.message = f"{result.state}: saved"
                self._next(now_s)
            else:
                self.message = f"{result.state} refused: {result.reason}"
                self._enter("refused", now_s)

    def key(self, name: str, now_s: float) -> None:
        if name == "escape":
            self.done = True
        elif self.phase == "refused" and name == "r":
            self._enter("countdown", now_s)
        elif self.phase == "refused" and name == "space":
            self._next(now_s)

    def lines(self, now_s: float) -> list[str]:
        if self.done:
            return ["Done.", *self.summary()]
        prompt = PROMPTS[self.index][1]
        elapsed = 0.0 if self.phase_start is None else now_s - self.phase_start
        head = f"Take {self.index + 1} of {len(PROMPTS)}: {prompt}"
        if self.phase == "countdown":
            return [head, f"in {max(1, int(np.ceil(self.params.countdown_s - elapsed)))}",
                    self.message]
        if self.phase == "recording":
            return [head, f"RECORDING  {max(0.0, self.duration() - elapsed):.0f} s",
                    self.message]
        if self.phase == "processing":
            return [head, "checking the take...", self.message]
        return [self.message, "R: film it again   Space: skip   Esc: end"]

    def summary(self) -> list[str]:
        saved = [r.state for r in self.results if r.reason is None and r.state != NEUTRAL]
        lines = [f"saved: {', '.join(saved) or 'no clips'} in {self.out}"]
        if self.neutral_frame is not None:
            lines.append("(the neutral take is every clip's neutral face)")
        return lines

    def finish_take(self) -> None:
        """Check and write the take just recorded (the worker thread's job)."""
        state, frames = self.state, self.frames
        if state == NEUTRAL:
            frame, reason = take_neutral(frames, self.fps, self.params)
            if reason is None:
                self.neutral_frame = frame
        else:
            reason = write_take(state, frames, self.fps, self.out,
                                neutral_frame=self.neutral_frame, params=self.params)
        self._pending = TakeResult(state, reason)

    def _start_processing(self) -> None:
        if not self.process:
            return
        self._worker = threading.Thread(target=self._work, name="reactive-record",
                                        daemon=True)
        self._worker.start()

    def _work(self) -> None:
        try:
            self.finish_take()
        except Exception as exc:  # one take failing must not end the session
            log.exception("record: the %s take failed", self.state)
            self._pending = TakeResult(self.state, f"it could not be processed ({exc})")

    def _enter(self, phase: str, now_s: float) -> None:
        self.phase, self.phase_start = phase, now_s

    def _next(self, now_s: float) -> None:
        if self.index + 1 >= len(PROMPTS):
            self.done = True
            return
        self.index += 1
        self._enter("countdown", now_s)

    def wait(self) -> None:
        """The take being processed finishes (written or refused) and is counted."""
        if self._worker is not None:
            self._worker.join()
        if self._pending is not None:
            self.results.append(self._pending)
            self._pending = None


def draw_guide(image: np.ndarray, lines: list[str], *, recording: bool) -> np.ndarray:
    """The camera frame as a mirror with the face guide (an oval the face should fill) and
    the prompt lines. (H, W, 3) uint8 RGB, a new image."""
    out = np.ascontiguousarray(image[:, ::-1])
    h, w = out.shape[:2]
    colour = (230, 40, 40) if recording else (255, 255, 255)
    cv2.ellipse(out, (w // 2, int(h * 0.45)), (int(h * 0.2), int(h * 0.28)), 0, 0, 360,
                colour, max(1, h // 240), cv2.LINE_AA)
    scale = max(0.4, h / 900)
    y = int(28 * scale / 0.6)
    for line in lines:
        if not line:
            continue
        cv2.putText(out, line, (12, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0),
                    max(2, int(4 * scale)), cv2.LINE_AA)
        cv2.putText(out, line, (12, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255),
                    max(1, int(1.5 * scale)), cv2.LINE_AA)
        y += int(36 * scale / 0.6)
    return out


def run_record_window(args: argparse.Namespace) -> int:
    """``reactive record`` without --headless: the guided capture in a window."""
    out = Path(args.output)
    if args.seconds is not None and not 0.5 <= args.seconds <= 600:
        raise InputError(f"--seconds {args.seconds:g}: expected 0.5-600")
    camera = open_camera(args.camera)
    prepare_output(out / "probe.npz", suffixes=(".npz",), what="clips folder")
    try:
        import pyglet  # noqa: PLC0415 - opens the display: only when a window is wanted
    except Exception as exc:
        camera.close()
        raise InputError(f"cannot open a window ({exc}); without a display, cut takes "
                         "from a video: reactive record --camera FILE --headless --takes "
                         "\"neutral:0-2,smile:2-5\"") from None
    try:
        return _Recorder(pyglet, camera, out, args.seconds).run()
    finally:
        camera.close()


class _Recorder:
    def __init__(self, pyglet, camera: CameraSource, out: Path, take_s: float | None):
        self.pyglet = pyglet
        self.camera = camera
        self.capture = GuidedCapture(out, camera.fps, take_s=take_s)
        try:
            self.window = pyglet.window.Window(960, 720, caption="reactive record",
                                               resizable=True, vsync=False)
        except Exception as exc:
            raise InputError(f"cannot open a window ({type(exc).__name__}: {exc}); cut takes "
                             "from a video instead: reactive record --camera FILE --headless "
                             "--takes \"neutral:0-2,smile:2-5\"") from None
        self.window.push_handlers(on_key_press=self._on_key, on_draw=self._on_draw)
        self.t0 = time.monotonic()
        self.sprite = None
        self.texture = None
        self.image: np.ndarray | None = None

    def now(self) -> float:
        return time.monotonic() - self.t0

    def run(self) -> int:
        pyglet = self.pyglet
        pyglet.clock.schedule_interval(self._tick, 1.0 / 30.0)
        try:
            pyglet.app.run(None)
        finally:
            pyglet.clock.unschedule(self._tick)
            self.window.close()
            self.capture.wait()
        for line in self.capture.summary():
            print(line)
        for r in self.capture.results:
            if r.reason is not None:
                print(f"refused {r.state}: {r.reason}")
        return 0

    def _on_key(self, symbol, modifiers):
        key = self.pyglet.window.key
        name = {key.R: "r", key.SPACE: "space", key.ESCAPE: "escape"}.get(symbol)
        if name is not None:
            self.capture.key(name, self.now())
        return True

    def _tick(self, dt: float) -> None:
        now = self.now()
        frame = self.camera.read(now)
        if self.camera.ended:
            self.capture.message = f"{self.camera.name} ended"
            self.capture.done = True
        image = None if frame is None else frame.image
        self.capture.frame(now, image)
        if image is not None:
            self.image = draw_guide(image, self.capture.lines(now),
                                    recording=self.capture.phase == "recording")
            self._upload(self.image)
        if self.capture.done:
            self.pyglet.app.exit()
            return
        self.window.switch_to()
        self._on_draw()
        self.window.flip()

    def _upload(self, image: np.ndarray) -> None:
        pyglet = self.pyglet
        h, w = image.shape[:2]
        data = pyglet.image.ImageData(w, h, "RGB", image[::-1].tobytes())
        if self.texture is None or (self.texture.width, self.texture.height) != (w, h):
            self.texture = data.get_texture()
            self.sprite = pyglet.sprite.Sprite(self.texture)
        else:
            self.texture.blit_into(data, 0, 0, 0)

    def _on_draw(self):
        self.window.clear()
        if self.sprite is not None:
            ww, wh = self.window.get_size()
            s = min(ww / self.texture.width, wh / self.texture.height)
            self.sprite.update(x=(ww - s * self.texture.width) / 2,
                               y=(wh - s * self.texture.height) / 2, scale=s)
            self.sprite.draw()
