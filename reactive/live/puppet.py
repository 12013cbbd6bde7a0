"""Live puppet (``--puppet``): the visitor's own face drives the portrait in real time.

The paper's method with the camera as the driving clip. Its neutral face s* is taken
automatically from the first calm, frontal frames (:class:`CalmNeutral`; again on the N key,
and for every new visitor); then each tracked camera frame is one clip frame: its
control-point offsets (Eq. 1, the lids closing fully with the visitor's), its head motion,
and the visitor's gaze, synthesized by the one per-frame pipeline
(``core.synthesis.FrameSynthesis``).

The live clip is a small ring of frames (slot 0 the neutral, the others the newest camera
frames): the rig is built for it once per neutral, and each new camera frame's offsets are
written into the ring's table before it is shown, so nothing per frame goes through the
clip machinery's per-clip caches.

The mouth interior is the visitor's own (Sec. 5 with the camera as the driver): each camera
frame's mouth is cropped as it is tracked (``mouth_crop``, into a small pool of buffers, on
the camera's thread) and handed to the synthesis with its ring slot (``set_mouth``), so an
open mouth shows the visitor's real teeth and tongue; without a crop, the photo's drawn
mouth.

The creases are the visitor's own too (Sec. 6 with the camera as the driver): when the
neutral is taken, its camera frame becomes the reference of a ``core.ratio.LiveRatio``
(face region, luminance, openings); each camera frame is then aligned into it and its ratio
image computed on the camera's thread, after the frame's points and mouth are handed to the
display (so the creases never delay a frame: a frame shows the newest ratio image ready,
its own or the previous camera frame's), and passed to the synthesis with the ring slot
(``set_ratio``). No face, or no ratio image yet: no shading.
"""

from __future__ import annotations

import logging
import math
import time

import cv2
import numpy as np

from reactive.core import landmarks as lm
from reactive.core.clip import ClipPack
from reactive.core.gaze import clip_gaze
from reactive.core.lids import lid_closure
from reactive.core.motion import frame_offsets
from reactive.core.mouthcrop import DRIVER_CROP_SIZE, mouth_crop
from reactive.core.ratio import LiveRatio, live_pack
from reactive.core.rig import build_rig
from reactive.core.similarity import fit_similarity
from reactive.core.synthesis import FrameSynthesis, Layer
from reactive.params import DetailParams, EyeParams, PuppetParams, WarpParams

log = logging.getLogger(__name__)

SLOTS = 3  # the live clip: the neutral and two alternating camera frames
# Mouth crops cropped on the camera's thread, read on the display's: the display takes the
# newest, so a buffer is written again only POOL - 1 camera frames after it was handed over.
POOL = 4


def is_calm(points: np.ndarray, previous: np.ndarray | None,
            params: PuppetParams = PuppetParams()) -> bool:
    """A frame fit to be the neutral: frontal, mouth closed, eyes open, head still (against
    ``previous``, the frame before). ``points``: (478, 2)."""
    if abs(float(lm.yaw_ratio(points))) > params.max_yaw:
        return False
    if float(lm.mouth_open_ratio(points)) > params.max_open:
        return False
    if float(lm.eye_open_ratio(points)) < params.min_eye_open:
        return False
    if previous is not None:
        iod = max(float(lm.interocular(points)), 1e-6)
        motion = float(np.abs(points - previous).mean()) / iod
        if motion > params.max_motion_iod:
            return False
    return True


def calm_score(points: np.ndarray) -> float:
    """How far from a neutral face a frame is (0 = frontal, mouth closed, eyes open);
    the same terms as ``is_calm``, summed."""
    return (abs(float(lm.yaw_ratio(points))) + float(lm.mouth_open_ratio(points))
            + max(0.0, 0.25 - float(lm.eye_open_ratio(points))))


class CalmNeutral:
    """The neutral face from ``params.calm_s`` of consecutive calm frames (their mean); a
    visitor who never holds still that long (talking) gets the calmest frame seen in their
    first ``params.neutral_timeout_s``.

    ``update(points, time_s)`` returns the neutral (478, 2) float32 once it is complete,
    else None; ``reset()`` starts over (the N key, a new visitor)."""

    def __init__(self, params: PuppetParams = PuppetParams()) -> None:
        self.params = params
        self.reset()

    def reset(self) -> None:
        self._sum: np.ndarray | None = None
        self._n = 0
        self._since: float | None = None
        self._previous: np.ndarray | None = None
        self._first: float | None = None
        self._best: np.ndarray | None = None
        self._best_score = math.inf

    def update(self, points: np.ndarray | None, time_s: float) -> np.ndarray | None:
        if points is None:
            self._sum, self._n, self._since, self._previous = None, 0, None, None
            return None
        if self._first is None:
            self._first = time_s
        score = calm_score(points)
        if score < self._best_score:
            self._best_score, self._best = score, points.copy()
        calm = is_calm(points, self._previous, self.params)
        self._previous = points.copy()
        if not calm:
            self._sum, self._n, self._since = None, 0, None
            if time_s - self._first >= self.params.neutral_timeout_s:
                neutral = self._best.astype(np.float32)
                self.reset()
                return neutral
            return None
        if self._since is None:
            self._since = time_s
            self._sum = np.zeros(points.shape, np.float64)
        self._sum += points
        self._n += 1
        if time_s - self._since >= self.params.calm_s - 1e-9:
            neutral = (self._sum / self._n).astype(np.float32)
            self.reset()
            return neutral
        return None


class Puppet:
    """A photo driven by camera landmarks.

    Parameters
    ----------
    photo : (H, W, 3) uint8 RGB; ``target_points`` its (478, 2) landmarks.
    teeth : as the player's (a drawn cavity without teeth for paintings: then the visitor's
        mouth is not shown either).
    creases : the visitor's creases (ratio images) shade the photo, when ``set_neutral``
        gets the neutral's camera frame.

    ``set_neutral(points, size, image=...)`` (re)builds the rig for a neutral face (tens of
    ms to a few hundred at 1024 px; with the camera frame, the creases' reference too: a few
    hundred more); ``crop_mouth(image, points)`` crops a camera frame's mouth,
    ``ratio(image, points)`` computes its creases; ``render(points, mouth=..., creases=...)``
    synthesizes the photo for one camera frame's points, mouth crop and creases: (H, W, 3)
    uint8 RGB, a buffer overwritten next call.
    """

    def __init__(self, photo: np.ndarray, target_points: np.ndarray, *,
                 warp: WarpParams = WarpParams(), eyes: EyeParams = EyeParams(),
                 params: PuppetParams = PuppetParams(), teeth: bool = True,
                 creases: bool = True, details: DetailParams = DetailParams()) -> None:
        self.photo = photo
        self.target_points = target_points
        self.warp, self.eyes, self.params, self.teeth = warp, eyes, params, teeth
        self.creases, self.details = creases, details
        # (synthesis, pack, tables, (2, 478, 2) neutral + current, LiveRatio or None):
        # replaced as a whole by set_neutral (maybe on the camera's thread) while render
        # reads it once per frame.
        self._live: tuple | None = None
        # Time spent on creases (``ratio``), for the bench.
        self.ratio_s, self.ratio_frames = 0.0, 0
        self._slot = 1
        self._crops = np.zeros((POOL, *DRIVER_CROP_SIZE, 3), np.uint8)
        self._next_crop = 0

    @property
    def ready(self) -> bool:
        return self._live is not None

    @property
    def synthesis(self) -> FrameSynthesis | None:
        return None if self._live is None else self._live[0]

    @property
    def neutral(self) -> np.ndarray | None:
        return None if self._live is None else self._live[3][0]

    def set_neutral(self, points: np.ndarray, size: tuple[int, int], *,
                    image: np.ndarray | None = None,
                    image_points: np.ndarray | None = None) -> None:
        """Take ``points`` (478, 2) of a camera frame of ``size`` (w, h) as s*. ``image``:
        a calm camera frame (H, W, 3) uint8 RGB of the same face, with its own
        ``image_points`` (default ``points``): the creases' reference (none without it)."""
        if points.shape != (lm.N_LANDMARKS, 2):
            raise ValueError(f"`points` must be ({lm.N_LANDMARKS}, 2); got {points.shape}")
        neutral = points.astype(np.float32)
        creases = None
        if image is not None and self.creases:
            if image.shape[1::-1] != tuple(size):
                raise ValueError(f"`image` must be of `size` {tuple(size)}; got "
                                 f"{image.shape[1::-1]}")
            own = neutral if image_points is None else image_points
            creases = LiveRatio(image, live_pack(own, size), self.details)
        ratio = {} if creases is None else {
            "ratio": np.full((SLOTS, creases.size[1], creases.size[0]), 128, np.uint8),
            "ratio_box": creases.ratio_box}
        head = np.zeros((SLOTS, 2, 3), np.float32)
        head[:, 0, 0] = head[:, 1, 1] = 1.0
        pack = ClipPack(fps=30.0, source_size=(int(size[0]), int(size[1])), neutral_index=0,
                        landmarks=np.repeat(neutral[None], SLOTS, axis=0),
                        face_detected=np.ones(SLOTS, bool),
                        peripheral=np.zeros((SLOTS, 0, 2), np.float32),
                        peripheral_valid=np.zeros((SLOTS, 0), bool), head=head, tag="puppet",
                        source="camera", **ratio)
        rig = build_rig(self.photo, self.target_points, [pack], params=self.warp, dense=False,
                        grid=True)
        tables = [np.zeros((SLOTS, len(rig.rest), 2), np.float32)]
        synthesis = FrameSynthesis(rig, [pack], realtime=True, tables=tables,
                                   teeth=self.teeth, eye_params=self.eyes, live=True)
        pair = np.repeat(neutral[None], 2, axis=0)
        self._live = (synthesis, pack, tables, pair, creases)

    def ratio(self, image: np.ndarray, points: np.ndarray) -> tuple | None:
        """The creases of camera frame ``image`` (H, W, 3) uint8 RGB with ``points``
        (478, 2), for ``render``: (the LiveRatio it belongs to, its (h, w) uint8 codes in a
        pooled buffer), or None (no neutral frame to compare with, or creases off)."""
        live = self._live
        if live is None or live[4] is None:
            return None
        t = time.perf_counter()
        codes = live[4](image, points)
        self.ratio_s += time.perf_counter() - t
        self.ratio_frames += 1
        return live[4], codes

    def lost(self) -> None:
        """The face was lost: the creases' temporal filter starts over."""
        live = self._live
        if live is not None and live[4] is not None:
            live[4].reset()

    def crop_mouth(self, image: np.ndarray, points: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray] | None:
        """The mouth of camera frame ``image`` (H, W, 3) uint8 RGB with ``points`` (478, 2):
        (crop, affine) for ``render``, the crop in a pooled buffer (valid for the next
        POOL - 1 calls), or None when the photo shows no teeth (``teeth`` False)."""
        if not self.teeth:
            return None
        out = self._crops[self._next_crop]
        self._next_crop = (self._next_crop + 1) % POOL
        return mouth_crop(image, points, DRIVER_CROP_SIZE, native=True, out=out)

    def offsets(self, points: np.ndarray, mouth: tuple[np.ndarray, np.ndarray] | None = None,
                creases: tuple | None = None) -> tuple[FrameSynthesis, Layer, np.ndarray]:
        """Write one camera frame into the live clip: the synthesis to render it with, its
        Layer, and the visitor's gaze (2,) in eye widths. ``mouth``: its ``crop_mouth``
        (None: the drawn mouth); ``creases``: a ``ratio`` (None, or one of an earlier
        neutral's: no shading)."""
        live = self._live
        if live is None:
            raise RuntimeError("no neutral face yet: call set_neutral first")
        synthesis, pack, tables, pair, own = live
        slot = self._slot
        self._slot = 1 + (slot % (SLOTS - 1))
        pack.landmarks[slot] = points
        pack.head[slot] = fit_similarity(pair[0, lm.STABLE_POINTS].astype(np.float64),
                                         points[lm.STABLE_POINTS].astype(np.float64))
        pair[1] = points
        closure = lid_closure(pair, 0, params=self.eyes)[1]
        gaze = clip_gaze(pair, 0, params=self.eyes)[1]
        frame_offsets(synthesis.rig, pack, slot, tables[0][slot], closure=closure)
        synthesis.set_mouth(0, slot, *(mouth if mouth is not None else (None, None)))
        ok = creases is not None and own is not None and creases[0] is own
        synthesis.set_ratio(0, slot, creases[1] if ok else None)
        return synthesis, Layer(0, float(slot), 1.0), gaze

    def render(self, points: np.ndarray, *, mouth: tuple[np.ndarray, np.ndarray] | None = None,
               creases: tuple | None = None, head=None) -> np.ndarray:
        """The photo as the camera frame's ``points`` (478, 2) make it, its open mouth
        showing ``mouth`` (``crop_mouth`` of the same frame; None: the drawn mouth), shaded
        by ``creases`` (``ratio`` of the same or a recent frame; None: none): (H, W, 3)
        uint8 RGB, a buffer overwritten next call."""
        synthesis, layer, gaze = self.offsets(points, mouth, creases)
        return synthesis.render([layer], gaze=gaze, head=head)


class PuppetMode:
    """The puppet beside the player: camera points in, frames out.

    ``frame(now_s, points, time_s)`` with the newest tracked camera points (None: no face)
    and the camera frame's time: the puppet's frame while a face is seen and its neutral is
    known; the player's own (idle and its triggers) otherwise, with a short cross-fade each
    way. ``retake()`` (the N key): take the neutral again from the next calm frames.
    """

    def __init__(self, player, puppet: Puppet, params: PuppetParams = PuppetParams(), *,
                 absence_s: float = 3.0) -> None:
        self.player = player
        self.puppet = puppet
        self.params = params
        self.absence_s = absence_s
        self.calm = CalmNeutral(params)
        self.last_seen_s: float | None = None
        self._last_points_time: float | None = None
        self._mix = 0.0          # 0: the player's frame, 1: the puppet's
        self._last_now: float | None = None
        self._blend: np.ndarray | None = None
        self._last_puppet: np.ndarray | None = None
        self.shown_camera_time: float | None = None  # of the camera frame last shown
        self.retakes = 0
        self._take_now = False
        self._retake_asked = False
        # The newest tracked camera frame: (points or None, its time, its mouth crop or
        # None), swapped as a whole; and the newest creases (``Puppet.ratio``), computed
        # after it.
        self.latest: tuple[np.ndarray | None, float, tuple | None] | None = None
        self.latest_creases: tuple | None = None
        self._crease_count = 0

    def retake(self) -> None:
        """The N key: the neutral face again, from the next calm frames. (Only a request:
        the calm frames are the camera thread's, which starts over at its next frame.)"""
        self.retakes += 1
        self._retake_asked = True

    def on_camera(self, image: np.ndarray, points: np.ndarray | None, time_s: float) -> None:
        """``VisitorTracker``'s ``on_frame``: every tracked camera frame, in order (on the
        camera's thread when it has one)."""
        h, w = image.shape[:2]
        self.camera(points, time_s, (w, h), image)
        # Cropped here: the camera may reuse ``image`` before the display renders it.
        mouth = None if points is None else self.puppet.crop_mouth(image, points)
        self.latest = (points, time_s, mouth)
        # The creases after the frame is handed over: the display does not wait for them.
        if points is None:
            self.puppet.lost()
            self.latest_creases = None
            self._crease_count = 0
        else:
            if self._crease_count % max(1, self.params.crease_every) == 0:
                self.latest_creases = self.puppet.ratio(image, points)
            self._crease_count += 1

    def camera(self, points: np.ndarray | None, time_s: float, size: tuple[int, int],
               image: np.ndarray | None = None) -> None:
        """A tracked camera frame (call for every one, in order); ``image`` (H, W, 3) uint8
        RGB, when given, is the creases' reference if this frame completes the neutral."""
        if self._retake_asked:
            self._retake_asked = False
            self.calm.reset()
            self._take_now = True
        if points is None:
            if self.last_seen_s is not None and time_s - self.last_seen_s >= self.absence_s:
                self.calm.reset()  # the next face is a new visitor: a new neutral
                self._take_now = True
            self.calm.update(None, time_s)
            return
        new_visitor = self.last_seen_s is None or time_s - self.last_seen_s >= self.absence_s
        self.last_seen_s = time_s
        if new_visitor or self._take_now or not self.puppet.ready:
            neutral = self.calm.update(points, time_s)
            if neutral is not None:
                self.puppet.set_neutral(neutral, size, image=image, image_points=points)
                self._take_now = False
                log.info("puppet: neutral face taken at %.2f s", time_s)

    def frame(self, now_s: float) -> np.ndarray:
        """The frame to show at ``now_s``: the newest camera frame's puppet, or the player's
        (no face, or no neutral yet), cross-faded."""
        points, time_s, mouth = self.latest if self.latest is not None else (None, None, None)
        dt = 0.0 if self._last_now is None else max(0.0, now_s - self._last_now)
        self._last_now = now_s
        live = (points is not None and self.puppet.ready and self.last_seen_s is not None
                and now_s - self.last_seen_s < self.params.lost_s + 1e-9)
        step = dt / max(self.params.fade_s, 1e-6)
        self._mix = min(1.0, self._mix + step) if live else max(0.0, self._mix - step)
        if live and time_s != self._last_points_time:
            self._last_puppet = self.puppet.render(points, mouth=mouth,
                                                   creases=self.latest_creases)
            self._last_points_time = time_s
            self.shown_camera_time = time_s
        if self._mix >= 1.0 and self._last_puppet is not None:
            return self._last_puppet
        idle = self.player.render(now_s)
        if self._mix <= 0.0 or self._last_puppet is None:
            return idle
        if self._blend is None or self._blend.shape != idle.shape:
            self._blend = np.empty_like(idle)
        a = 0.5 - 0.5 * math.cos(math.pi * self._mix)  # eased
        cv2.addWeighted(self._last_puppet, a, idle, 1.0 - a, 0.0, dst=self._blend)
        return self._blend


def puppet_for(player, *, absence_s: float = 3.0, params: PuppetParams = PuppetParams(),
               creases: bool = True) -> PuppetMode:
    """The puppet mode for ``player`` (``live.player.Player``): its photo, landmarks, warp
    and eye settings and teeth, its frames when nobody is seen."""
    rig = player.rig
    puppet = Puppet(rig.photo, rig.target_points, warp=rig.params, eyes=player.eye_params,
                    params=params, teeth=player.profile.teeth, creases=creases)
    return PuppetMode(player, puppet, params, absence_s=absence_s)
