"""The real-time player: state machine + frame synthesis, on an injected clock.

Per photo, once (``Player.__init__``, or from the rig cache): one rig for all the clips
(each with its own phi), and every clip frame's control-point offsets (Eq. 1, lids closed
fully, folds relaxed) as a table. Per frame (``Player.render``): the state machine's
layers and the pointer's pull (the eyes' gaze and the head's small turn towards it, each
smoothed) -> ``core.synthesis.FrameSynthesis`` (blended offsets, blended ratio images, grid
warp, mouth interior, eyes). All buffers are preallocated.

The window (``window.py``) and the headless recorder (``app.run_headless``) drive the same
``Player``: feed it events, ask it for frames.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from reactive.core.clip import ClipPack, peak_frame
from reactive.core.gaze import GazeFollower, HeadFollower, pointer_gaze, pointer_head_turn
from reactive.core.lids import lid_closure
from reactive.core.motion import offset_tables
from reactive.core.rig import Rig, build_rig
from reactive.core.synthesis import FrameSynthesis, Layer
from reactive.live.profile import Action, Profile, TriggerMap
from reactive.live.states import EMOTION, IDLE, ClipInfo, StateMachine
from reactive.live.triggers import Event, IdleTimer
from reactive.live.visitor import look_target
from reactive.params import EyeParams, PlayerParams, StateParams, WarpParams

log = logging.getLogger(__name__)


@dataclass
class Clip:
    """A state: a clip pack with its state name and role."""

    name: str
    pack: ClipPack
    role: str = EMOTION      # IDLE or EMOTION
    loop: bool = False

    @staticmethod
    def from_pack(pack: ClipPack, name: str | None = None) -> "Clip":
        """Name: the pack's tag (or ``name``); role from the pack's header ("role"), else
        idle for names starting with "idle"."""
        name = name or pack.tag or "clip"
        role = str(pack.extra.get("role", IDLE if name.startswith("idle") else EMOTION))
        if role not in (IDLE, EMOTION):
            role = IDLE if name.startswith("idle") else EMOTION
        return Clip(name=name, pack=pack, role=role, loop=bool(pack.extra.get("loop", False)))


def clip_closures(packs: list[ClipPack], params: EyeParams = EyeParams()) -> list[np.ndarray]:
    """Lids that close fully (beyond the paper): each clip's lid closure per frame."""
    return [lid_closure(p.landmarks, p.neutral_index, params=params) for p in packs]


def player_tables(rig: Rig, packs: list[ClipPack], params: EyeParams = EyeParams()
                  ) -> list[np.ndarray]:
    """Every clip frame's offsets as the player uses them (lids closed fully)."""
    return offset_tables(rig, packs, clip_closures(packs, params))


class Player:
    """A photo brought to life by ``clips``.

    Parameters
    ----------
    photo : (H, W, 3) uint8 RGB.
    target_points : (478, 2) float32 landmarks of ``photo``.
    clips : the states; at least one. Without an idle clip, the first clip's neutral frame
        is the rest pose (still).
    rig : built for these clips with ``grid=True`` (the cached start), else built here.
    tables : precomputed ``player_tables`` (from the cache), else computed here.
    mouths : a bank of real mouth interiors (``mouthbank.Interiors``) for the clips that
        have no filmed mouth of their own (the built-in ones); default: the open mouths of
        the filmed ``clips``, if any; without one, a mouth drawn in the photo's colours.
    rng : picks idle segments and random emotions.
    """

    def __init__(self, photo: np.ndarray, target_points: np.ndarray, clips: list[Clip], *,
                 profile: Profile = Profile(), params: PlayerParams = PlayerParams(),
                 warp: WarpParams = WarpParams(), eyes: EyeParams = EyeParams(),
                 kiosk: bool = False, rng: np.random.Generator | None = None,
                 rig: Rig | None = None, tables: list[np.ndarray] | None = None,
                 mouths=None):
        if not clips:
            raise ValueError("`clips` must hold at least one clip")
        self.clips = clips
        self.profile = profile
        self.params = params
        self.rng = rng if rng is not None else np.random.default_rng()
        packs = [c.pack for c in clips]
        if rig is None:
            rig = build_rig(photo, target_points, packs, params=warp, dense=False, grid=True)
        self.rig = rig
        if tables is None:
            tables = player_tables(rig, packs, eyes)
        self.synthesis = FrameSynthesis(rig, packs, realtime=True, tables=tables,
                                        teeth=profile.teeth, mouths=mouths, eye_params=eyes)
        infos = [ClipInfo(name=c.name, role=c.role, frame_count=c.pack.frame_count,
                          fps=c.pack.fps, loop=c.loop, peak=peak_frame(c.pack),
                          rest=c.pack.neutral_index) for c in clips]
        self.machine = StateMachine(infos, StateParams(transition_s=profile.transition_s),
                                    rng=self.rng)
        self.triggers = TriggerMap(profile, [c.name for c in clips], kiosk=kiosk)
        self.idle_timer = IdleTimer(profile.idle.params(), self.rng)
        self.gaze_enabled = profile.gaze.enabled
        self.eye_params = eyes
        self.follower = GazeFollower(eyes)
        self.head_follower = HeadFollower(eyes)
        self.pointer: tuple[float, float] | None = None
        # The visitor's face in the camera frame (0..1), while one is there; width / height
        # of the camera's frames (the window sets it from the camera).
        self.visitor: tuple[float, float] | None = None
        self.camera_aspect = 4.0 / 3.0
        self._camera_params = profile.camera.params()
        self._last_s: float | None = None
        self.last_layers: list[Layer] = []

    @property
    def shape(self) -> tuple[int, int]:
        return self.rig.shape

    @property
    def state_names(self) -> list[str]:
        return [c.name for c in self.clips]

    # -- events --------------------------------------------------------------------------

    def handle(self, event: Event, now_s: float) -> Action | None:
        """React to ``event``. Returns the action for the caller when it is the window's
        business (help, fps, quit), else None."""
        if event.kind != "idle":
            self.idle_timer.activity(now_s)
        action = self.triggers.action_for(event)
        if action is None:
            return None
        if action.kind == "play":
            self.machine.trigger(action.state, now_s, hold=action.hold)
        elif action.kind == "random":
            if event.kind == "idle" and self.machine.busy(now_s):
                return None
            choices = [c for c in action.choices if c != self.machine.current] or list(action.choices)
            if choices:
                self.machine.trigger(choices[int(self.rng.integers(len(choices)))], now_s)
        elif action.kind == "release":
            self.machine.release(action.state, now_s)
        elif action.kind == "pointer":
            self.pointer = (action.x, action.y)
        elif action.kind == "look":
            self.visitor = (action.x, action.y)
        elif action.kind == "leave":
            self.visitor = None
            if action.state:
                self.machine.trigger(action.state, now_s)
        else:
            return action
        return None

    def play(self, name: str, now_s: float) -> bool:
        """Trigger state ``name`` directly (tests, the bench)."""
        return self.machine.trigger(name, now_s)

    # -- frames --------------------------------------------------------------------------

    def render(self, now_s: float) -> np.ndarray:
        """The frame at ``now_s``: (H, W, 3) uint8 RGB, a buffer overwritten next call."""
        idle = self.idle_timer.poll(now_s)
        if idle is not None:
            self.handle(idle, now_s)
        layers = self.machine.layers(now_s)
        self.last_layers = layers
        return self.synthesis.render(layers, **self.pointer_pull(now_s))

    def warm_up(self) -> None:
        """Render one frame of every clip at its peak (open mouths, ratio images, eyes), so
        that nothing loads or compiles on the first trigger; then start afresh."""
        for k in range(len(self.clips)):
            # A little gaze and head turn, so the eye layer's and the turn's paths run too.
            self.synthesis.render([Layer(k, float(self.machine.clips[k].peak), 1.0)],
                                  gaze=np.array([0.05, 0.02], np.float32),
                                  head=np.array([0.02, 0.01], np.float32))
        self.reset_look()

    def reset_look(self) -> None:
        """The eyes and the head back to straight ahead, their smoothing restarted."""
        self._last_s = None
        self.follower.reset()
        self.head_follower.reset()

    def pointer_pull(self, now_s: float) -> dict[str, np.ndarray]:
        """The pointer's pull at ``now_s``, as ``FrameSynthesis.render`` takes it: ``gaze``
        (2,) eye widths and ``head`` (2,) radians. The head turns a little towards the
        pointer, slowly; the eyes look the rest of the way, quickly, so they lead and come
        back towards the middle as the head arrives. Both smoothed (a jittery mouse must
        not make the eyes jitter; the clips' own eye movements are already smooth and are
        added unsmoothed). Advances the smoothing: call once per frame."""
        dt = 0.0 if self._last_s is None else max(0.0, now_s - self._last_s)
        self._last_s = now_s
        point = self.look_point()
        head_target = np.zeros(2)
        if point is not None:
            head_target = pointer_head_turn(point, self.rig.target_points,
                                            params=self.eye_params)
        head = self.head_follower.update(head_target, dt)
        target = np.zeros(2)
        if point is not None:
            target = pointer_gaze(point, self.rig.target_points, params=self.eye_params,
                                  head=head)
        return {"gaze": self.follower.update(target, dt), "head": head}

    def look_point(self) -> np.ndarray | None:
        """Where the eyes look, in photo pixels: the visitor (eye contact, camera at the
        top centre of the screen) while one is seen, else the pointer; None for straight
        ahead."""
        camera = self.profile.camera
        if self.visitor is not None and camera.gaze:
            return look_target(self.visitor, self.rig.target_points, self.rig.shape,
                               camera_aspect=self.camera_aspect, params=self._camera_params,
                               eyes=self.eye_params, mirrored=camera.mirrored)
        if self.gaze_enabled and self.pointer is not None:
            return np.asarray(self.pointer, np.float64)
        return None
