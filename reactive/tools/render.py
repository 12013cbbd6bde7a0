"""Offline rendering: photo + clip pack -> one output frame per clip frame."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import cv2
import numpy as np

from reactive.core.backdrop import Backdrop
from reactive.core.clip import ClipPack
from reactive.core.mouthbank import Interiors
from reactive.core.rig import Rig, build_rig
from reactive.core.synthesis import STAGES, FrameSynthesis
from reactive.core.warper import Warper
from reactive.params import WarpParams


@dataclass(frozen=True)
class RenderOptions:
    side_by_side: bool = False
    warp: WarpParams = WarpParams()
    stages: tuple[str, ...] = STAGES


def iter_frames(rig: Rig, pack: ClipPack, *, smooth: bool = True,
                stages: tuple[str, ...] = STAGES,
                mouths: Interiors | None = None) -> Iterator[np.ndarray]:
    """Yield the synthesized photo for each clip frame (``FrameSynthesis``; ``mouths`` a
    bank of real mouths for a drawn clip). The yielded array is reused: copy to keep."""
    synthesis = FrameSynthesis(rig, [pack], stages=stages, warper=Warper(rig, smooth=smooth),
                               mouths=mouths)
    for i in range(pack.frame_count):
        yield synthesis.frame(i)


def side_by_side(driving: np.ndarray, result: np.ndarray, out: np.ndarray | None = None
                 ) -> np.ndarray:
    """The driving frame scaled to the result's height, left of it. (H, W_d + W, 3) uint8."""
    h = result.shape[0]
    w_d = max(1, int(round(driving.shape[1] * h / driving.shape[0])))
    if out is None:
        out = np.empty((h, w_d + result.shape[1], 3), np.uint8)
    out[:, :w_d] = cv2.resize(driving, (w_d, h), interpolation=cv2.INTER_AREA)
    out[:, w_d:] = result
    return out


def render(photo: np.ndarray, target_points: np.ndarray, pack: ClipPack,
           write: Callable[[np.ndarray], None], *, options: RenderOptions = RenderOptions(),
           driving: Iterable[np.ndarray] | None = None,
           progress: Callable[[int], None] | None = None,
           mouths: Interiors | None = None,
           backdrop: Backdrop | None = None) -> int:
    """Render every clip frame and hand it to ``write``. Returns the number of frames.

    ``driving`` (the clip's own frames) is needed for ``options.side_by_side``; ``mouths``
    (``mouthbank.Interiors``): real mouths for a clip that has none of its own.
    ``backdrop``: the photo's person and still background (``io.target.photo_backdrop``);
    None warps the whole photo.
    """
    rig = build_rig(photo, target_points, pack, params=options.warp, backdrop=backdrop)
    drive_iter = iter(driving) if driving is not None else None
    if options.side_by_side and drive_iter is None:
        raise ValueError("`driving` frames are needed for a side-by-side render")
    n = 0
    canvas = None
    for frame in iter_frames(rig, pack, stages=options.stages, mouths=mouths):
        if options.side_by_side:
            drv = next(drive_iter, None)
            if drv is None:  # the video decoded fewer frames than the pack holds
                break
            canvas = side_by_side(drv, frame, canvas)
            write(canvas)
        else:
            write(frame)
        n += 1
        if progress is not None:
            progress(n)
    return n


def _label(tile: np.ndarray, text: str) -> np.ndarray:
    cv2.rectangle(tile, (0, 0), (8 + 9 * len(text), 22), (0, 0, 0), -1)
    cv2.putText(tile, text, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1,
                cv2.LINE_AA)
    return tile


def stage_strip(rig: Rig, pack: ClipPack, frames: list[int], *,
                driving: list[np.ndarray] | None = None, tile_px: int = 256,
                mouths: Interiors | None = None) -> np.ndarray:
    """The paper's Fig. 6 as an image: per chosen frame a row of [driving], input, coarse,
    + hidden, + details, + eyes (ours: lids closed to the driver's closure, the eyes
    repainted with its gaze), each cropped to the face. (H, W, 3) uint8 RGB."""
    for i in frames:
        if not 0 <= i < pack.frame_count:
            raise ValueError(f"strip frame {i} is outside the clip's frames "
                             f"0-{pack.frame_count - 1}")
    warper = Warper(rig)
    # Each column one more stage; a stage the pack has no data for gets no column.
    columns = [("coarse", ("coarse",))]
    columns.append(("+hidden", ("coarse", "hidden")))
    if pack.ratio is not None:
        columns.append(("+details", ("coarse", "hidden", "details")))
    columns.append(("+eyes", STAGES))
    columns = [(label, FrameSynthesis(rig, [pack], stages=stages, warper=warper,
                                      mouths=mouths))
               for label, stages in columns]

    def face_box(points, shape):
        lo, hi = points.min(axis=0), points.max(axis=0)
        c, half = (lo + hi) / 2, 0.8 * float(max(hi - lo))
        x0, y0 = np.maximum(np.floor(c - half), 0).astype(int)
        x1, y1 = np.minimum(np.ceil(c + half), (shape[1], shape[0])).astype(int)
        return slice(y0, y1), slice(x0, x1)

    box = face_box(rig.target_points, rig.photo.shape)

    def tile(img, text, crop=None):
        img = img[crop or box]
        h, w = img.shape[:2]
        s = tile_px / max(h, w)
        t = cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))),
                       interpolation=cv2.INTER_AREA)
        canvas = np.zeros((tile_px, tile_px, 3), np.uint8)
        y, x = (tile_px - t.shape[0]) // 2, (tile_px - t.shape[1]) // 2
        canvas[y:y + t.shape[0], x:x + t.shape[1]] = t
        return _label(canvas, text)

    rows = []
    for i in frames:
        row = []
        if driving is not None and i < len(driving):
            row.append(tile(driving[i], f"driving #{i}",
                            face_box(pack.landmarks[i], driving[i].shape)))
        row.append(tile(rig.photo, "input"))
        row.extend(tile(synthesis.frame(i), label) for label, synthesis in columns)
        rows.append(np.hstack(row))
    return np.vstack(rows)
