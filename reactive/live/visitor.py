"""Visitor mode: the portrait notices the person in front of the camera.

Three parts, each usable alone:

- :func:`face_measures`: what a face does, from its landmarks (mouth width, lip corners,
  brows, opening, head turn), scale-free.
- :class:`VisitorDetector`: landmarks (or None) per camera frame, on the caller's clock ->
  visitor events: ``arrive`` (a face after an absence), ``leave``, ``smile`` and
  ``surprise`` (onsets, against the visitor's own rest face, with hysteresis and a
  refractory time), ``look`` (where the face is in the camera frame, smoothed). Pure: no
  camera, no thread, tests feed it arrays.
- :class:`VisitorTracker`: a camera source + the face tracker + a detector, stepped either
  from the caller's loop (``step(now)``: headless runs, every file frame due is tracked,
  reproducible) or on its own background thread (``start()``: the window; the newest frame
  only, never blocking the frame loop). Events go on the player's event queue.

Mapping the visitor's position to where the portrait looks is :func:`look_target`: the
camera sits at the top centre of the screen, so a visitor who steps to their left appears
on the camera image's right and the portrait, facing them, looks to its image left.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from reactive.core import landmarks as lm
from reactive.errors import InputError
from reactive.io.camera import CameraSource, open_camera
from reactive.io.tracker import FaceMeshTracker
from reactive.live.triggers import Event, EventQueue
from reactive.params import CameraParams, EyeParams

log = logging.getLogger(__name__)

VISITOR_EVENTS = ("arrive", "leave", "smile", "surprise", "look")


# --- measures ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class FaceMeasures:
    """One face, scale-free. ``width``: mouth corners apart, in inter-ocular distances;
    ``corners``: the lower lip corner's height above the lips' middle, over the mouth's
    width (``landmarks.smile_ratio`` per side, the smaller); ``brows``: the brows' height above the eye
    centres, in inter-ocular distances; ``opening``: ``landmarks.mouth_open_ratio``;
    ``yaw``: ``landmarks.yaw_ratio``; ``size``: the face's height over the frame's;
    ``centre``: the eyes' midpoint, (x, y) in 0..1 of the frame."""

    width: float
    corners: float
    brows: float
    opening: float
    yaw: float
    size: float
    centre: tuple[float, float]


def face_measures(points: np.ndarray, frame_shape: tuple[int, int]) -> FaceMeasures:
    """``points``: (478, 2) pixels of a frame of ``frame_shape`` (H, W)."""
    if points.shape != (lm.N_LANDMARKS, 2):
        raise ValueError(f"`points` must be ({lm.N_LANDMARKS}, 2); got {points.shape}")
    h, w = frame_shape[:2]
    p = points.astype(np.float64)
    left_eye = p[lm.LEFT_EYE].mean(axis=0)
    right_eye = p[lm.RIGHT_EYE].mean(axis=0)
    iod = max(float(np.linalg.norm(left_eye - right_eye)), 1e-6)
    x_axis = (left_eye - right_eye) / iod
    y_axis = np.array([-x_axis[1], x_axis[0]])  # down the face
    eyes_mid = 0.5 * (left_eye + right_eye)
    brows = np.concatenate([p[lm.LEFT_BROW], p[lm.RIGHT_BROW]]).mean(axis=0)
    span = p[:, 1].max() - p[:, 1].min()
    width = float(np.linalg.norm(p[lm.MOUTH_CORNERS[1]] - p[lm.MOUTH_CORNERS[0]]))
    # Each lip corner's height above the lips' middle (as landmarks.smile_ratio, per side):
    # the lower of the two, since a smile raises both and a wince or a sneer only one.
    middle = 0.5 * (p[lm.UPPER_LIP_BOTTOM] + p[lm.LOWER_LIP_TOP]) @ y_axis
    raised = min(middle - p[c] @ y_axis for c in lm.MOUTH_CORNERS) / max(width, 1e-6)
    return FaceMeasures(
        width=width / iod,
        corners=float(raised),
        brows=float((eyes_mid - brows) @ y_axis) / iod,
        opening=float(lm.mouth_open_ratio(p)),
        yaw=float(lm.yaw_ratio(p)),
        size=float(span) / max(h, 1),
        centre=(float(eyes_mid[0]) / max(w, 1), float(eyes_mid[1]) / max(h, 1)))


# --- events --------------------------------------------------------------------------------------

class _Onset:
    """One expression's onset with hysteresis: fires when ``score`` >= 1 has held for
    ``hold_s`` (and, for a sudden one, rose from below ``release`` within ``window_s``),
    re-arms when it falls below ``release``; none within ``refractory_s`` of the last."""

    def __init__(self, params: CameraParams, *, sudden: bool) -> None:
        self.p = params
        self.sudden = sudden
        self.armed = True
        self.above_since: float | None = None
        self.last_low_s: float | None = None
        self.last_fired_s = -math.inf

    def reset(self) -> None:
        self.armed, self.above_since, self.last_low_s = True, None, None

    def update(self, score: float, now_s: float) -> bool:
        p = self.p
        if score < p.release:
            self.armed = True
            self.last_low_s = now_s
            self.above_since = None
            return False
        if score < 1.0:
            self.above_since = None
            return False
        if self.above_since is None:
            self.above_since = now_s
        if not self.armed or now_s - self.above_since < p.hold_s - 1e-9:
            return False
        if self.sudden and (self.last_low_s is None
                            or self.above_since - self.last_low_s > p.onset_window_s):
            self.armed = False  # a slow drift up: not a surprise, wait for the next low
            return False
        if now_s - self.last_fired_s < p.refractory_s:
            return False
        self.armed = False
        self.last_fired_s = now_s
        return True


class VisitorDetector:
    """Landmarks per camera frame -> visitor events (see the module docstring).

    ``update(now_s, points, frame_shape)`` with ``points`` (478, 2) pixels or None (no
    face) returns the events of this frame, oldest first. Faces smaller than
    ``params.min_face_frac`` of the frame are nobody (passers-by far behind).

    ``look`` comes once per frame while a visitor is there: ``Event("visitor", key="look",
    x, y)``, x and y in 0..1 of the camera frame (the eyes' midpoint, smoothed).
    """

    def __init__(self, params: CameraParams = CameraParams()) -> None:
        self.p = params
        self.present = False
        self.first_seen_s: float | None = None   # of the current run of frames with a face
        self.last_seen_s: float | None = None
        self.rest: np.ndarray | None = None       # width, corners, brows at rest
        self.look: np.ndarray | None = None
        self._last_s: float | None = None
        self._new_visitor = False
        self._rest_since = 0.0
        self._rest_frames = 0
        self.smile = _Onset(params, sudden=False)
        self.surprise = _Onset(params, sudden=True)

    def update(self, now_s: float, points: np.ndarray | None,
               frame_shape: tuple[int, int]) -> list[Event]:
        p = self.p
        dt = 0.0 if self._last_s is None else max(0.0, now_s - self._last_s)
        self._last_s = now_s
        m = face_measures(points, frame_shape) if points is not None else None
        if m is not None and m.size < p.min_face_frac:
            m = None
        events: list[Event] = []
        if m is None:
            if self.present and self.last_seen_s is not None \
                    and now_s - self.last_seen_s >= p.leave_after_s:
                self.present = False
                events.append(Event(now_s, "visitor", key="leave"))
            if not self.present:
                self.first_seen_s = None
            return events
        gone_long = self.last_seen_s is None or now_s - self.last_seen_s >= p.absence_s
        if self.first_seen_s is None:
            self.first_seen_s = now_s
            self._new_visitor = gone_long
            if gone_long:  # a new visitor: their rest face is not known yet
                self.rest = None
                self.look = None
                self.smile.reset()
                self.surprise.reset()
        self.last_seen_s = now_s
        if not self.present and now_s - self.first_seen_s >= p.arrive_confirm_s - 1e-9:
            # Back after a short absence (it "left" but came back within absence_s): present
            # again without a second greeting.
            self.present = True
            if self._new_visitor:
                events.append(Event(now_s, "visitor", key="arrive"))
        centre = np.array(m.centre)
        if self.look is None:
            self.look = centre
        else:
            a = 1.0 - math.exp(-dt / p.look_tau_s) if p.look_tau_s > 0 else 1.0
            self.look = self.look + a * (centre - self.look)
        events.extend(self._expressions(now_s, dt, m))
        if self.present:
            events.append(Event(now_s, "visitor", key="look",
                                x=float(self.look[0]), y=float(self.look[1])))
        return events

    def scores(self, m: FaceMeasures) -> tuple[float, float]:
        """(smile, surprise) of ``m`` against the rest face, 1 = at the threshold; (0, 0)
        while the rest is unknown."""
        if self.rest is None:
            return 0.0, 0.0
        p = self.p
        width, corners, brows = self.rest
        widen = m.width / max(width, 1e-6) - 1.0
        smile = min(widen / p.smile_widen, (m.corners - corners) / p.smile_corners)
        raised = m.brows / max(brows, 1e-6) - 1.0
        surprise = min(raised / p.surprise_brows, m.opening / p.surprise_open)
        return float(smile), float(surprise)

    def _expressions(self, now_s: float, dt: float, m: FaceMeasures) -> list[Event]:
        p = self.p
        values = np.array([m.width, m.corners, m.brows])
        frontal = abs(m.yaw) <= p.max_yaw
        calm = frontal and m.opening < 0.5 * p.surprise_open
        if self.rest is None:
            if calm:
                self.rest, self._rest_since, self._rest_frames = values, now_s, 1
            return []
        settling = now_s - self._rest_since < p.rest_settle_s
        if settling:
            # The first calm frames, averaged alike: one odd first frame must not be the
            # rest every later frame is judged against.
            if calm:
                self._rest_frames += 1
                self.rest = self.rest + (values - self.rest) / self._rest_frames
            return []
        smile, surprise = self.scores(m)
        if frontal and smile < p.release and surprise < p.release:
            a = 1.0 - math.exp(-dt / p.rest_tau_s) if p.rest_tau_s > 0 else 1.0
            self.rest = self.rest + a * (values - self.rest)
        if not frontal or not self.present:  # a turned head changes every 2D measure
            return []
        events = []
        if self.smile.update(smile, now_s):
            events.append(Event(now_s, "visitor", key="smile"))
        if self.surprise.update(surprise, now_s):
            events.append(Event(now_s, "visitor", key="surprise"))
        return events


# --- eye contact ---------------------------------------------------------------------------------

def look_target(look_xy: tuple[float, float], face_points: np.ndarray, photo_shape, *,
                camera_aspect: float, params: CameraParams = CameraParams(),
                eyes: EyeParams = EyeParams(), mirrored: bool = False) -> np.ndarray:
    """Where the portrait looks for a visitor at ``look_xy`` (0..1 of the camera frame): the
    equivalent pointer in photo pixels, (2,) float64, for ``gaze.pointer_gaze`` and
    ``gaze.pointer_head_turn``.

    The camera sits at the top centre of the screen (horizontal field of view
    ``params.fov_deg``, frame width / height ``camera_aspect``); the visitor stands
    ``params.distance_screens`` screen heights in front of it; the photo fills the screen's
    height. The camera's image is not mirrored (``mirrored``: it is, as some drivers
    deliver), so the visitor's x is flipped to the screen's. The direction from the
    portrait's eyes to the visitor becomes a pointer on the plane ``eyes.pointer_depth_iod``
    in front of them, which is what the pointer's gaze model takes.
    """
    x, y = float(look_xy[0]), float(look_xy[1])
    if not mirrored:
        x = 1.0 - x
    tan_h = math.tan(math.radians(params.fov_deg) / 2.0)
    tan_v = tan_h / max(camera_aspect, 1e-6)
    d = params.distance_screens
    h_photo = float(photo_shape[0])
    pts = face_points.astype(np.float64)
    right = pts[lm.RIGHT_EYE].mean(axis=0)
    left = pts[lm.LEFT_EYE].mean(axis=0)
    eyes_mid = 0.5 * (left + right)
    iod = max(float(np.linalg.norm(left - right)), 1e-6)
    # Screen units = screen heights; origin at the camera (top centre), y down.
    visitor_x = d * (2.0 * x - 1.0) * tan_h
    visitor_y = d * (2.0 * y - 1.0) * tan_v
    eyes_x = (eyes_mid[0] - 0.5 * float(photo_shape[1])) / h_photo
    eyes_y = eyes_mid[1] / h_photo
    yaw = math.atan2(visitor_x - eyes_x, d)
    pitch = math.atan2(visitor_y - eyes_y, d)
    depth = eyes.pointer_depth_iod * iod
    return eyes_mid + depth * np.array([math.tan(yaw), math.tan(pitch)])


# --- the tracking loop ---------------------------------------------------------------------------

class VisitorTracker:
    """The camera's visitor events on ``events``, on the player's clock ``clock``.

    ``tracker``: a callable frame -> (478, 2) points or None (``io.tracker.FaceMeshTracker``
    with ``max_faces``; tests pass a fake). ``on_frame(frame, points)``: called for every
    tracked frame from the tracking thread (the puppet reads it).

    Headless: ``step(now_s)`` tracks every file frame due by ``now_s`` (reproducible).
    Live: ``start()`` runs a daemon thread that reads and tracks the newest frame as fast
    as it comes; ``stop()`` ends it. A tracker or camera that fails mid-run logs one line and
    the thread ends: the portrait runs on without the camera.
    """

    def __init__(self, camera: CameraSource, tracker: Callable, events: EventQueue,
                 clock: Callable[[], float], params: CameraParams = CameraParams(),
                 on_frame: Callable | None = None) -> None:
        self.camera = camera
        self.tracker = tracker
        self.events = events
        self.clock = clock
        self.detector = VisitorDetector(params)
        self.on_frame = on_frame
        self.frames = 0
        self.track_s = 0.0        # total tracking time (for figures)
        self.camera_aspect = 4.0 / 3.0
        self.failed = False
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        # The player's time at which a file camera started playing (its frame 0).
        self._origin_s = 0.0

    def step(self, now_s: float) -> int:
        """Track the frames due by ``now_s``; returns how many were tracked."""
        if self.failed:
            return 0
        n = 0
        try:
            due = self.camera.frames_due(now_s) if self.camera.is_file else 1
            for k in range(due):
                if self.camera.is_file:
                    # Each due frame at its own time, so events carry the file's timing.
                    frame = self.camera.read(self.camera.next_frame_s)
                else:
                    frame = self.camera.read(now_s)
                if frame is None:
                    break
                self._track(frame.image, frame.time_s if self.camera.is_file else now_s)
                n += 1
            if self.camera.ended and n == 0:
                # Nobody can be seen any more: let the detector see absence.
                self._put(self.detector.update(now_s, None, (1, 1)))
        except Exception as exc:  # a broken camera or tracker must not stop the portrait
            self._fail(exc)
        return n

    def _track(self, image: np.ndarray, time_s: float) -> None:
        t = time.perf_counter()
        points = self.tracker(image)
        self.track_s += time.perf_counter() - t
        self.frames += 1
        h, w = image.shape[:2]
        self.camera_aspect = w / max(h, 1)
        if self.on_frame is not None:
            self.on_frame(image, points, time_s)
        self._put(self.detector.update(time_s, points, (h, w)))

    def _put(self, events: list[Event]) -> None:
        for event in events:
            if event.key != "look":
                log.info("camera: visitor %s at %.2f s", event.key, event.time_s)
            self.events.put(event)

    def _fail(self, exc: Exception) -> None:
        self.failed = True
        if self.detector.present:  # nobody can be seen any more
            self.detector.present = False
            self.events.put(Event(self.clock(), "visitor", key="leave"))
        log.warning("camera: %s failed (%s: %s); running without it", self.camera.name,
                    type(exc).__name__, exc)

    # -- background thread ---------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        """Track on a background thread from now on (a file plays from its first frame
        now). The tracker runs once first: MediaPipe's first frame loads its models (about
        a second), which would otherwise skip the file's first second."""
        try:
            self.tracker(np.zeros((64, 64, 3), np.uint8))
        except Exception as exc:
            self._fail(exc)
            return
        self._origin_s = float(self.clock())
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="reactive-camera", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set() and not self.failed:
            now = self.clock()
            try:
                if self.camera.ended:  # nobody can be seen any more
                    self._put(self.detector.update(now, None, (1, 1)))
                    self._stop.wait(0.1)
                    continue
                if self.camera.is_file:
                    file_now = now - self._origin_s
                    due = self.camera.frames_due(file_now)
                    if due == 0:
                        self._stop.wait(0.5 / self.camera.fps)
                        continue
                    # The newest due frame; older ones are dropped, as a camera would.
                    frame = self.camera.read(file_now)
                    t_frame = frame.time_s + self._origin_s if frame is not None else now
                else:
                    frame = self.camera.read(now)
                    t_frame = now
                if frame is None:
                    continue
                self._track(frame.image, t_frame)
            except Exception as exc:
                self._fail(exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        self.camera.close()
        close = getattr(self.tracker, "close", None)
        if close is not None:
            close()


def open_visitor(source: str, events: EventQueue, clock: Callable[[], float],
                 params: CameraParams = CameraParams(), *,
                 on_frame: Callable | None = None) -> VisitorTracker | None:
    """The camera ``source`` (an index or a video file) with its face tracker, ready to
    step or start; None, after one warning line, when there is no usable camera (the
    portrait runs on without it, as without a microphone)."""
    try:
        camera = open_camera(source, max_side=params.max_side)
    except InputError as exc:
        log.warning("no camera: %s; running without it", exc)
        return None
    try:
        tracker = FaceMeshTracker(max_faces=params.max_faces)
    except Exception as exc:  # MediaPipe missing or broken: the portrait still plays
        camera.close()
        log.warning("no camera: the face tracker does not start (%s: %s); running without "
                    "it", type(exc).__name__, exc)
        return None
    log.info("camera: %s at %.0f fps", camera.name, camera.fps)
    return VisitorTracker(camera, tracker, events, clock, params, on_frame=on_frame)
