"""Frame synthesis: the one per-frame pipeline, from clip frames to a picture of the photo.

Every caller makes its frames here: the live player (several clips blended by the state
machine, grid warp), offline rendering and the stage strip (one clip, exact warp), and the
tests. Per frame:

1. the layers' control-point offsets, blended (``motion.frame_offsets`` rows, computed once
   per clip frame: Eq. 1, closed lids, no folds);
2. details (Sec. 6): the photo shaded by the layers' ratio images;
3. the warp (Sec. 4) of the shaded photo; with a backdrop (``rig.backdrop``, beyond the
   paper), of its person only, composited over the still background plate;
4. hidden regions (Sec. 5): the mouth interior of the dominant layer's clip;
5. eyes (beyond the paper): the eyeball and iris repainted with the gaze, lids redrawn.

A pointer's pull (the live player's, per frame) comes in as arguments: its ``gaze`` adds to
the clips' own, the lids follow it (``lids.LidFollower``), and its ``head`` turn adds a
small rigid rotation of the face to the offsets (``gaze.HeadTurn``) before the warp.

A layer is one clip at a (fractional) frame position with a weight; the weights of a frame's
layers sum to 1 (``live.states``). Offline, a frame is one layer at an integer position with
weight 1.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from reactive.core import landmarks as lm
from reactive.core.clip import ClipPack
from reactive.core.details import DetailLayer, RatioMixer
from reactive.core.drawnmouth import drawn_interiors
from reactive.core.eye_layer import GazeLayer
from reactive.core.gaze import HeadTurn, clip_gaze
from reactive.core.lids import LidFollower, lid_closure
from reactive.core.motion import frame_offsets
from reactive.core.mouth import MouthLayer, is_filmed
from reactive.core.mouthbank import Interiors, build_bank, with_drawn
from reactive.core.rig import Rig
from reactive.core.warper import GridWarper, Warper
from reactive.params import EyeParams, MouthParams

# The paper's stages (Fig. 6): coarse warp (Sec. 4), hidden regions (Sec. 5), fine details
# (Sec. 6); and beyond the paper, eyes: lids that close fully, the clip's gaze.
STAGES = ("coarse", "hidden", "details", "eyes")


def parse_stages(text: str) -> tuple[str, ...]:
    """``"coarse,hidden"`` -> ("coarse", "hidden"); ValueError naming what is unknown."""
    stages = tuple(s.strip() for s in text.split(",") if s.strip())
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise ValueError(f"unknown stage {', '.join(unknown)}; choose from {', '.join(STAGES)}")
    if "coarse" not in stages:
        raise ValueError("the coarse stage is the base of every other: include it")
    return stages


@dataclass(frozen=True)
class Layer:
    """One clip's contribution to a frame: clip index, frame position (fractional frames
    are interpolated), weight."""

    clip: int
    position: float
    weight: float


class FrameSynthesis:
    """The chosen stages for one rig and its clips; one synthesized frame at a time.

    Parameters
    ----------
    rig : built for ``packs`` (``rig.build_rig``): with ``grid=True`` when ``realtime``,
        ``dense=True`` otherwise.
    packs : the rig's clips, in the rig's order.
    stages : as in STAGES. "hidden" needs packs with mouth crops (format 2), "details" packs
        with ratio images (format 3); what a pack lacks is skipped for it.
    realtime : the live player's path: the grid warp, and the ratio images of several layers
        blended. Otherwise the exact warp of offline rendering, one layer of one clip.
    tables : the offsets of every frame of every clip (``motion.offset_tables``, e.g. from
        the cache), computed for the same stages; else each frame's row is computed the
        first time it is needed.
    warper : a warper to share (the stage strip's columns share one); else made here.
    teeth : the mouth interior with teeth (False: a drawn cavity without teeth, paintings).
    mouths : a bank of real mouths (``mouthbank.Interiors``) for the clips that have no
        filmed mouth of their own (the built-in ones); live, the filmed clips' own open
        mouths by default; without one, a mouth drawn in the photo's colours.
    live : the clips are rings of live frames (the puppet's camera): each frame's mouth
        comes per frame through ``set_mouth`` (its teeth and tongue), the drawn mouth until
        it does; and its ratio image (creases) through ``set_ratio``, none until it does.

    ``render(layers, gaze=...)`` returns the frame in a buffer overwritten by the next call.
    """

    def __init__(self, rig: Rig, packs: list[ClipPack], *, stages: tuple[str, ...] = STAGES,
                 realtime: bool = False, tables: list[np.ndarray] | None = None,
                 warper: Warper | GridWarper | None = None, teeth: bool = True,
                 mouths: Interiors | None = None, mouth_params: MouthParams = MouthParams(),
                 eye_params: EyeParams = EyeParams(), live: bool = False):
        if len(packs) != len(rig.bindings):
            raise ValueError(f"`packs` must be the rig's {len(rig.bindings)} clips; got "
                             f"{len(packs)}")
        if not realtime and len(packs) != 1:
            raise ValueError(f"offline synthesis renders one clip; got {len(packs)}")
        self.rig, self.packs, self.stages = rig, list(packs), tuple(stages)
        eyes = "eyes" in stages
        # Lids that close fully (beyond the paper): each clip's closure per frame, applied
        # inside the offsets.
        self.closures = [lid_closure(p.landmarks, p.neutral_index, params=eye_params)
                         if eyes else None for p in packs]
        if tables is not None:
            self.tables = tables
            self._done = [np.ones(len(t), bool) for t in tables]
        else:
            self.tables = [np.zeros((p.frame_count, len(rig.rest), 2), np.float32)
                           for p in packs]
            self._done = [np.zeros(p.frame_count, bool) for p in packs]
        if warper is None:
            warper = GridWarper(rig) if realtime else Warper(rig)
        self.warper = warper
        self.details: RatioMixer | DetailLayer | None = None
        if "details" in stages and any(p.ratio is not None for p in packs):
            # With a backdrop the warp moves the person layer: shade that.
            shaded_rig = rig if rig.backdrop is None else replace(rig, photo=rig.backdrop.person)
            self.details = (RatioMixer(shaded_rig, packs) if realtime
                            else DetailLayer(shaded_rig, packs[0]))
        self.mouths = {}
        if mouths is not None and mouths.drawn_from is not None:
            raise ValueError("`mouths` must be a bank of real mouths (mouthbank.build_bank)")
        if "hidden" in stages:
            drawn_needed = not teeth or not all(is_filmed(p) for p in packs)
            if mouths is None and teeth and realtime and drawn_needed:
                mouths = build_bank(packs)  # the filmed clips' open mouths serve the others
            drawn = None
            if drawn_needed:
                drawn = drawn_interiors(rig.photo, rig.target_points, teeth=teeth)
                if mouths is not None and teeth:
                    # The drawn mouth joins the bank for what no real mouth fits: one
                    # copy for this photo, its clips share.
                    mouths = with_drawn(mouths, drawn)
            self.mouths = {k: MouthLayer(rig.for_clip(k), p, mouth_params, teeth=teeth,
                                         bank=mouths, drawn=drawn, live=live)
                           for k, p in enumerate(packs)}
            # The bank's mouths are other people's: their flesh takes this photo's lips'
            # hue, once per photo for the frames the clips show.
            banked = [m for m in self.mouths.values()
                      if mouths is not None and m.source is mouths]
            if banked:
                own = banked[0].recolour_bank(np.concatenate([m.choice for m in banked]))
                for m in banked[1:]:
                    m.use_source(own)
        self.eyes = GazeLayer(rig.photo, rig.target_points, params=eye_params) if eyes else None
        self.clip_gaze = [clip_gaze(p.landmarks, p.neutral_index, params=eye_params)
                          for p in packs] if eyes else []
        self.eye_params = eye_params
        self.head_turn = HeadTurn(rig.rest, params=eye_params)
        self.lid_follower = LidFollower(rig.rest, params=eye_params)
        self.offsets = np.zeros((len(rig.rest), 2), np.float32)
        self._tmp = np.zeros_like(self.offsets)
        self._turn = np.zeros((lm.N_MESH, 2), np.float32)
        # The last frame's face-mesh points and total gaze, as the eye layer got them (for
        # measures: ``GazeLayer.irises``).
        self.points_now = np.zeros((lm.N_MESH, 2), np.float32)
        self.gaze_now = np.zeros(2)
        # The image the warp sampled for the last frame (the photo shaded by the details),
        # None when the photo itself.
        self.shaded: np.ndarray | None = None

    def set_mouth(self, clip: int, i: int, crop: np.ndarray | None,
                  affine: np.ndarray | None = None) -> None:
        """Live clips: frame ``i`` of clip ``clip`` shows the driver's mouth ``crop`` with
        its ``affine`` (``MouthLayer.set_interior``; None: the drawn mouth). Without the
        hidden stage, nothing to do."""
        mouth = self.mouths.get(clip)
        if mouth is not None:
            mouth.set_interior(i, crop, affine)

    def set_ratio(self, clip: int, i: int, codes: np.ndarray | None) -> None:
        """Live clips: frame ``i`` of clip ``clip`` is shaded by the ratio image ``codes``
        ((h, w) uint8 pack codes over the pack's ``ratio_box``, copied; e.g.
        ``ratio.LiveRatio``'s of a camera frame), or not at all (None). Without the details
        stage (or ratio images in the pack), nothing to do."""
        if isinstance(self.details, RatioMixer):
            self.details.set_frame(clip, i, codes)

    def row(self, clip: int, i: int) -> np.ndarray:
        """Clip ``clip``'s frame ``i`` offsets, (K, 2) float32 (computed on first use)."""
        if not self._done[clip][i]:
            closure = self.closures[clip]
            frame_offsets(self.rig, self.packs[clip], i, self.tables[clip][i],
                          binding=self.rig.bindings[clip],
                          closure=None if closure is None else closure[i])
            self._done[clip][i] = True
        return self.tables[clip][i]

    def blend_offsets(self, layers: list[Layer]) -> np.ndarray:
        """Sum of the layers' offsets, each interpolated between its two nearest frames.
        (K, 2) float32, a buffer overwritten by the next call."""
        out, tmp = self.offsets, self._tmp
        out.fill(0.0)
        for layer in layers:
            last = len(self.tables[layer.clip]) - 1
            i0 = min(int(layer.position), last)
            i1 = min(i0 + 1, last)
            a = layer.position - i0
            np.multiply(self.row(layer.clip, i0), layer.weight * (1.0 - a), out=tmp)
            out += tmp
            if a > 0.0:
                np.multiply(self.row(layer.clip, i1), layer.weight * a, out=tmp)
                out += tmp
        return out

    def render(self, layers: list[Layer], *, gaze=None, head=None) -> np.ndarray:
        """The frame for ``layers``: (H, W, 3) uint8 RGB, a buffer overwritten next call.

        ``gaze``: (2,) eye widths added to the clips' own gaze (a pointer's pull); the lids
        follow it. ``head``: (2,) radians (yaw + image right, pitch + down), the head's turn
        towards the pointer (``gaze.pointer_head_turn``, smoothed by the caller).
        """
        if not layers:
            raise ValueError("`layers` must hold at least one layer")
        offsets = self.blend_offsets(layers)
        face = offsets[:lm.N_MESH]
        if head is not None:
            yaw, pitch = (float(v) for v in np.asarray(head, np.float64).reshape(2))
            if yaw != 0.0 or pitch != 0.0:
                face += self.head_turn.offsets(yaw, pitch, self._turn)
        if gaze is not None and self.eyes is not None:
            self.lid_follower(face, float(np.asarray(gaze, np.float64).reshape(2)[1]))
        shaded = self.details.shade(layers) if self.details is not None else None
        frame = self.warper(offsets, shaded)
        self.shaded = shaded
        # The mouth interior is the dominant clip's (Sec. 5 takes it from one driver frame);
        # its gate follows the blended geometry, so it fades with the opening.
        top = max(layers, key=lambda l: l.weight)
        mouth = self.mouths.get(top.clip)
        if mouth is not None:
            last = self.packs[top.clip].frame_count - 1
            mouth.apply(frame, min(int(round(top.position)), last), offsets)
        if self.eyes is not None:
            total = np.zeros(2) if gaze is None else np.asarray(gaze).astype(np.float64)
            for layer in layers:
                g = self.clip_gaze[layer.clip]
                total += layer.weight * g[min(int(round(layer.position)), len(g) - 1)]
            np.add(self.rig.rest[:lm.N_MESH], offsets[:lm.N_MESH], out=self.points_now)
            self.gaze_now[:] = total
            self.eyes.apply(frame, self.points_now, total, source=shaded)
        return frame

    def frame(self, i: int) -> np.ndarray:
        """Offline: frame ``i`` of the (one) clip, at full weight."""
        return self.render([Layer(0, float(i), 1.0)])
