"""The built-in clips as clip packs: each clip's action-unit curves through the face model,
projected, drawn and encoded exactly as a tracked 512 x 512 driving video would be."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import numpy as np

from precompute.mouth import CROP_SIZE
from precompute.synth.choreography import CLIPS
from precompute.synth.creases import crease_maps, encode_log_ratio, ratio_layout
from precompute.synth.face_model import CHANNELS, face_model
from precompute.synth.mouth_drawing import draw_mouth
from precompute.synth.projection import SynthParams, peripheral_points, project, quantize
from precompute.track import head_motion
from reactive.core import landmarks as lm
from reactive.core.clip import ClipPack
from reactive.errors import InputError
from reactive.io.assets import BUILTIN_CLIPS_DIR
from reactive.io.clippack import save_pack

log = logging.getLogger(__name__)

GENERATOR = "precompute.synth 1"
DEFAULT_SEED = 2017


def clip_seed(name: str, seed: int) -> int:
    """Each clip draws from its own stream: ``seed`` + the clip's place in ``CLIPS``."""
    return int(seed) + list(CLIPS).index(name)


def synth_clip(name: str, *, seed: int = DEFAULT_SEED, teeth: bool = True,
               params: SynthParams = SynthParams()) -> ClipPack:
    """One built-in clip as a ClipPack (not written). ``name``: one of ``CLIPS``."""
    if name not in CLIPS:
        raise ValueError(f"`name` must be one of {list(CLIPS)}; got {name!r}")
    s = clip_seed(name, seed)
    clip = CLIPS[name](np.random.default_rng(s))
    model = face_model(params.model)
    periph3, follow, breath_gain = peripheral_points()
    n = int(round(clip.duration_s * params.fps)) + 1
    landmarks = np.empty((n, lm.N_LANDMARKS, 2), np.float32)
    peripheral = np.empty((n, len(periph3), 2), np.float32)
    mouth = np.empty((n, *CROP_SIZE, 3), np.uint8)
    mouth_affine = np.empty((n, 2, 3), np.float32)
    ratio_box, tx, ty = ratio_layout(model, params)
    creases = crease_maps(tx, ty)
    ratio = np.empty((n, *tx.shape), np.uint8)
    for i in range(n):
        v = clip.values(i / params.fps)
        log2_r = np.zeros_like(tx)
        for au, layer in creases.items():
            if v.get(au, 0.0) > 0.0:
                log2_r += v[au] * layer
        ratio[i] = encode_log_ratio(log2_r)
        pose = {k: v.get(k, 0.0) for k in ("yaw", "pitch", "roll")}
        breath = v.get("breath", 0.0)
        face = model.pose_face(model.shape({k: x for k, x in v.items()
                                            if k in CHANNELS[:-4]}), **pose, breath=breath)
        landmarks[i] = quantize(project(face, params), params)
        per = np.empty_like(periph3)
        for f in np.unique(follow):
            sel = follow == f
            per[sel] = model.pose(periph3[sel], **pose, breath=0.0, follow=float(f))
        per[:, 1] -= params.model.breath_lift * breath * breath_gain
        peripheral[i] = quantize(project(per, params), params)
        mouth[i], mouth_affine[i] = draw_mouth(landmarks[i], teeth=teeth)
    pack = ClipPack(
        fps=float(params.fps), source_size=tuple(params.frame_size), neutral_index=0,
        landmarks=landmarks, face_detected=np.ones(n, bool), peripheral=peripheral,
        peripheral_valid=np.ones(peripheral.shape[:2], bool),
        head=head_motion(landmarks, 0), tag=name, source=f"synthetic:{name}",
        extra={"role": clip.role, "loop": clip.loop, "synthetic": True,
               "generator": GENERATOR, "seed": s},
        mouth=mouth, mouth_affine=mouth_affine, ratio=ratio, ratio_box=ratio_box)
    pack.validate()
    return pack


def write_clips(out_dir: str | Path = BUILTIN_CLIPS_DIR, *, seed: int = DEFAULT_SEED,
                teeth: bool = True, names: Sequence[str] | None = None,
                params: SynthParams = SynthParams()) -> list[Path]:
    """Generate the built-in clips into ``out_dir`` (``NAME.npz`` each); returns the paths.

    The folder is created if missing; an unusable folder is an InputError.
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{out}: cannot create the output folder ({exc.strerror or exc})"
                         ) from None
    if not out.is_dir():
        raise InputError(f"{out}: not a folder")
    paths = []
    for name in names or list(CLIPS):
        pack = synth_clip(name, seed=seed, teeth=teeth, params=params)
        path = out / f"{name}.npz"
        try:
            save_pack(pack, path)
        except OSError as exc:
            raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
        log.info("%s: %d frames", path, pack.frame_count)
        paths.append(path)
    return paths
