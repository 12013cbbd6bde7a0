"""The real-time player: state machine + per-frame synthesis, on an injected clock.

Per photo, once (``Player.__init__``, or from the rig cache): one rig for all the clips
(each with its own phi), and every clip frame's control-point offsets (Eq. 1, lids closed
fully, folds relaxed) as a table. Per frame (``Player.render``): the state machine's
layers -> blended offsets (a few thousand multiply-adds) -> blended ratio image shading the
photo (Sec. 6) -> grid warp (Sec. 4) -> mouth interior of the dominant clip (Sec. 5) ->
eyes repainted with the gaze. All buffers are preallocated.

The window (``display.py``) and the headless recorder (``headless.py``) drive the same
``Player``: feed it events, ask it for frames.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np

from . import landmarks as lm
from .clippack import ClipPack
from .details import RatioMixer
from .eyes import GazeFollower, GazeLayer, clip_gaze, lid_closure, pointer_gaze
from .params import EyeParams, PlayerParams, StateParams, WarpParams
from .profile import Action, Profile, TriggerMap
from .rig import GridWarper, Rig, build_rig, frame_offsets
from .states import EMOTION, IDLE, ClipInfo, Layer, StateMachine
from .triggers import Event, IdleTimer

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


def peak_frame(pack: ClipPack) -> int:
    """The most expressive frame: largest mean landmark distance from the neutral frame
    after a best similarity (the paper's reference frame, Sec. 6)."""
    from .similarity import apply_similarity, fit_similarity

    s0 = pack.landmarks[pack.neutral_index].astype(np.float64)
    best, best_d = pack.neutral_index, -1.0
    for i, p in enumerate(pack.landmarks.astype(np.float64)):
        m = fit_similarity(p[lm.PHI_POINTS], s0[lm.PHI_POINTS])
        d = float(np.linalg.norm(apply_similarity(m, p[:lm.N_MESH]) - s0[:lm.N_MESH], axis=1).mean())
        if d > best_d:
            best, best_d = i, d
    return best


def offset_tables(rig: Rig, packs: list[ClipPack]) -> list[np.ndarray]:
    """Every frame's control-point offsets, per clip: (F_k, K, 2) float32 each."""
    tables = []
    for k, pack in enumerate(packs):
        table = np.zeros((pack.frame_count, len(rig.rest), 2), np.float32)
        for i in range(pack.frame_count):
            frame_offsets(rig, pack, i, table[i], binding=rig.bindings[k])
        tables.append(table)
    return tables


def bind_eyes(rig: Rig, packs: list[ClipPack], params: EyeParams = EyeParams()) -> None:
    """Lids that close fully (beyond the paper): each clip's closure per frame."""
    for b, pack in zip(rig.bindings, packs):
        b.closure = lid_closure(pack.landmarks, pack.neutral_index, params=params)


class Player:
    """A photo brought to life by ``clips``.

    Parameters
    ----------
    photo : (H, W, 3) uint8 RGB.
    target_points : (478, 2) float32 landmarks of ``photo``.
    clips : the states; at least one. Without an idle clip, the first clip's neutral frame
        is the rest pose (still).
    tables : precomputed ``offset_tables`` (from the cache), else computed here.
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
            bind_eyes(rig, packs, eyes)
        self.rig = rig
        self.tables = tables if tables is not None else offset_tables(rig, packs)
        infos = [ClipInfo(name=c.name, role=c.role, frame_count=c.pack.frame_count,
                          fps=c.pack.fps, loop=c.loop, peak=peak_frame(c.pack),
                          rest=c.pack.neutral_index) for c in clips]
        self.machine = StateMachine(infos, StateParams(transition_s=profile.transition_s),
                                    rng=self.rng)
        self.triggers = TriggerMap(profile, [c.name for c in clips], kiosk=kiosk)
        self.idle_timer = IdleTimer(profile.idle.params(), self.rng)
        self.warper = GridWarper(rig)
        self.ratios = RatioMixer(rig, packs)
        from .drawnmouth import drawn_interiors
        from .mouth import MouthLayer, is_filmed
        from .mouthbank import build_bank

        if mouths is None and profile.teeth and not all(is_filmed(p) for p in packs):
            mouths = build_bank(packs)
        drawn = None
        if mouths is None or not profile.teeth:
            drawn = drawn_interiors(rig.photo, rig.target_points, teeth=profile.teeth)
        self.mouths = {k: MouthLayer(rig.for_clip(k), p, teeth=profile.teeth, bank=mouths,
                                     drawn=drawn)
                       for k, p in enumerate(packs)}
        self.gaze_enabled = profile.gaze.enabled
        self.eye_params = eyes
        self.gaze_layer = GazeLayer(rig.photo, rig.target_points, params=eyes)
        self.clip_gaze = [clip_gaze(p.landmarks, p.neutral_index, params=eyes) for p in packs]
        self.follower = GazeFollower(eyes)
        self.pointer: tuple[float, float] | None = None
        self.offsets = np.zeros((len(rig.rest), 2), np.float32)
        self._tmp = np.zeros_like(self.offsets)
        self._points = np.zeros((lm.N_MESH, 2), np.float32)
        self._last_s: float | None = None
        self._shaded: np.ndarray | None = None
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
        else:
            return action
        return None

    def play(self, name: str, now_s: float) -> bool:
        """Trigger state ``name`` directly (tests, the bench)."""
        return self.machine.trigger(name, now_s)

    # -- frames --------------------------------------------------------------------------

    def blend_offsets(self, layers: list[Layer]) -> np.ndarray:
        """Sum of the layers' offsets, each interpolated between its two nearest frames."""
        out, tmp = self.offsets, self._tmp
        out.fill(0.0)
        for layer in layers:
            table = self.tables[layer.clip]
            i0 = min(int(layer.position), len(table) - 1)
            i1 = min(i0 + 1, len(table) - 1)
            a = layer.position - i0
            np.multiply(table[i0], layer.weight * (1.0 - a), out=tmp)
            out += tmp
            if a > 0.0:
                np.multiply(table[i1], layer.weight * a, out=tmp)
                out += tmp
        return out

    def render(self, now_s: float) -> np.ndarray:
        """The frame at ``now_s``: (H, W, 3) uint8 RGB, a buffer overwritten next call."""
        idle = self.idle_timer.poll(now_s)
        if idle is not None:
            self.handle(idle, now_s)
        layers = self.machine.layers(now_s)
        self.last_layers = layers
        offsets = self.blend_offsets(layers)
        shaded = self.ratios.shade(layers)
        frame = self.warper(offsets, shaded)
        self._shaded = shaded
        # The mouth interior is the dominant clip's (Sec. 5 takes it from one driver frame);
        # its gate follows the blended geometry, so it fades with the opening.
        top = max(layers, key=lambda l: l.weight)
        mouth = self.mouths.get(top.clip)
        if mouth is not None:
            last = self.clips[top.clip].pack.frame_count - 1
            mouth.apply(frame, min(int(round(top.position)), last), offsets)
        self._paint_eyes(frame, layers, offsets, now_s)
        return frame

    def warm_up(self) -> None:
        """Render one frame of every clip at its peak (open mouths, ratio images, eyes), so
        that nothing loads or compiles on the first trigger; then start afresh."""
        for k, clip in enumerate(self.clips):
            layers = [Layer(k, float(self.machine.clips[k].peak), 1.0)]
            offsets = self.blend_offsets(layers)
            self._shaded = self.ratios.shade(layers)
            frame = self.warper(offsets, self._shaded)
            if k in self.mouths:
                self.mouths[k].apply(frame, self.machine.clips[k].peak, offsets)
            self._paint_eyes(frame, layers, offsets, 0.0)
        self._last_s = None
        self.follower.reset()

    def _paint_eyes(self, frame: np.ndarray, layers: list[Layer], offsets: np.ndarray,
                    now_s: float) -> None:
        dt = 0.0 if self._last_s is None else max(0.0, now_s - self._last_s)
        self._last_s = now_s
        # The pointer's pull is smoothed (a jittery mouse must not make the eyes jitter);
        # the clips' own eye movements are already smooth and pass straight through.
        target = np.zeros(2)
        if self.gaze_enabled and self.pointer is not None:
            target = pointer_gaze(self.pointer, self.rig.target_points, params=self.eye_params)
        gaze = self.follower.update(target, dt).astype(np.float64)
        for layer in layers:
            g = self.clip_gaze[layer.clip]
            gaze += layer.weight * g[min(int(round(layer.position)), len(g) - 1)]
        np.add(self.rig.rest[:lm.N_MESH], offsets[:lm.N_MESH], out=self._points)
        self.gaze_layer.apply(frame, self._points, gaze, source=self._shaded)
