"""Measurements of how well a render follows its clip (used by tests and reports).

- ``expression_error``: landmarks detected on the *output* vs the displacement Eq. 1 asked
  for, over mouth, brow and eye landmarks; with head motion, or expression only (each
  frame's head similarity removed).
- ``masked_psnr``: PSNR inside a region, for self-reenactment against the real frames.
- ``background_stillness``: how much of the photo's background changes in a render.
"""

from __future__ import annotations

import cv2
import numpy as np

from reactive.core import landmarks as lm
from reactive.core.clip import ClipPack
from reactive.core.rig import Rig
from reactive.core.similarity import apply_similarity, fit_similarity
from reactive.core.synthesis import STAGES
from reactive.io.tracker import FaceMeshTracker, segment_person
from reactive.tools.render import iter_frames


def intended_points(rig: Rig, pack: ClipPack) -> np.ndarray:
    """Eq. 1 for all 478 landmarks of every frame: (F, 478, 2) float64 in the photo."""
    a = rig.phi[:, :2]
    s = pack.landmarks.astype(np.float64)
    return rig.target_points[None].astype(np.float64) + (s - s[pack.neutral_index]) @ a.T


def _remove_head(points: np.ndarray) -> np.ndarray:
    """Each frame mapped onto frame 0 by a similarity on the paper's phi points (eye regions
    and nose tip, Sec. 4). The 33 points average out detector jitter that the 11 rigid
    STABLE_POINTS do not (on s42 x d0 the jitter alone added ~0.2 to the error)."""
    ref = points[0, lm.PHI_POINTS]
    out = np.empty_like(points)
    for i, p in enumerate(points):
        out[i] = apply_similarity(fit_similarity(p[lm.PHI_POINTS], ref), p)
    return out


def expression_error(detected: np.ndarray, intended: np.ndarray, *,
                     expression_only: bool, points: np.ndarray = lm.EXPRESSION_POINTS
                     ) -> float:
    """Sum of error norms / sum of intended displacement norms, displacements from frame 0.

    Parameters
    ----------
    detected : (F, 478, 2) landmarks detected on the output frames.
    intended : (F, 478, 2) where Eq. 1 puts them.
    expression_only : remove each frame's head similarity (to frame 0) from both first.
    """
    if detected.shape != intended.shape:
        raise ValueError(f"`detected` {detected.shape} and `intended` {intended.shape} differ")
    d = detected.astype(np.float64)
    t = intended.astype(np.float64)
    if expression_only:
        d, t = _remove_head(d), _remove_head(t)
    d_disp = (d - d[:1])[:, points]
    t_disp = (t - t[:1])[:, points]
    err = np.linalg.norm(d_disp - t_disp, axis=-1).sum()
    return float(err / max(np.linalg.norm(t_disp, axis=-1).sum(), 1e-9))


def masked_psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """PSNR (dB, peak 255) between images ``a`` and ``b`` (H, W, C) over ``mask`` (H, W) bool."""
    diff = a[mask].astype(np.float64) - b[mask].astype(np.float64)
    mse = float((diff ** 2).mean()) if diff.size else 0.0
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def render_all(rig: Rig, pack: ClipPack, *, smooth: bool = True,
               stages: tuple[str, ...] | None = None) -> list[np.ndarray]:
    """Every output frame (copies), before any encoding. ``stages`` default: all."""
    return [f.copy() for f in iter_frames(rig, pack, smooth=smooth, stages=stages or STAGES)]


def track_frames(frames: list[np.ndarray]) -> np.ndarray:
    """Face mesh in video mode over ``frames``; (F, 478, 2), lost frames carried forward."""
    out = np.empty((len(frames), lm.N_LANDMARKS, 2), np.float64)
    last = None
    with FaceMeshTracker() as tracker:
        for i, frame in enumerate(frames):
            p = tracker(frame)
            if p is None:
                if last is None:
                    raise RuntimeError(f"no face found on output frame {i}")
                p = last
            out[i] = last = p
    return out


def expression_fidelity(rig: Rig, pack: ClipPack, frames: list[np.ndarray]) -> dict[str, float]:
    """Expression error of rendered ``frames`` with and without head motion."""
    detected = track_frames(frames)
    intended = intended_points(rig, pack)
    return {"with_head": expression_error(detected, intended, expression_only=False),
            "expression_only": expression_error(detected, intended, expression_only=True)}


def self_reenactment_psnr(real: list[np.ndarray], rendered: list[np.ndarray],
                          pack: ClipPack) -> dict[str, float]:
    """PSNR inside each real frame's face oval: rendered vs real, and still photo vs real.

    The still photo is the real neutral frame; the mask is the face oval of frame i.
    """
    still = real[pack.neutral_index]
    se_r = se_s = n = 0.0
    for i, (r, o) in enumerate(zip(real, rendered)):
        mask = np.zeros(r.shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round(lm.face_polygon(pack.landmarks[i])).astype(np.int32)], 1)
        m = mask.astype(bool)
        se_r += ((o[m].astype(np.float64) - r[m]) ** 2).sum()
        se_s += ((still[m].astype(np.float64) - r[m]) ** 2).sum()
        n += m.sum() * r.shape[2]

    def psnr(se):
        return float(10 * np.log10(255.0 ** 2 / max(se / max(n, 1), 1e-12)))

    return {"rendered_db": psnr(se_r), "still_db": psnr(se_s)}


def mouth_psnr(real: list[np.ndarray], rendered: list[np.ndarray], pack: ClipPack, *,
               min_open: float = 0.15) -> tuple[float, int]:
    """PSNR inside the real inner-lip polygon over frames whose real mouth is open.

    Returns (dB, number of frames used).
    """
    open_frames = np.flatnonzero(lm.mouth_open_ratio(pack.landmarks) > min_open)
    se = n = 0.0
    for i in open_frames:
        mask = np.zeros(real[i].shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round(pack.landmarks[i, lm.LIPS_INNER]).astype(np.int32)], 1)
        m = mask.astype(bool)
        se += ((rendered[i][m].astype(np.float64) - real[i][m]) ** 2).sum()
        n += m.sum() * real[i].shape[2]
    if n == 0:
        return float("nan"), 0
    return float(10 * np.log10(255.0 ** 2 / max(se / n, 1e-12))), len(open_frames)


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel SSIM of two grayscale or RGB uint8 images (Wang et al. 2004; Gaussian
    window sigma 1.5, the usual constants). Returns (H, W) float64 (mean over channels)."""
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    if a.ndim == 2:
        a, b = a[..., None], b[..., None]
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    out = np.zeros(a.shape[:2])
    for c in range(a.shape[2]):
        x, y = a[..., c], b[..., c]

        def blur(img):
            return cv2.GaussianBlur(img, (0, 0), 1.5)

        mx, my = blur(x), blur(y)
        vx, vy, cxy = blur(x * x) - mx ** 2, blur(y * y) - my ** 2, blur(x * y) - mx * my
        out += ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2))
    return out / a.shape[2]


def face_ssim(real: list[np.ndarray], rendered: list[np.ndarray], pack: ClipPack,
              frames: np.ndarray | None = None) -> float:
    """Mean SSIM inside each real frame's face oval, over ``frames`` (default all)."""
    total = n = 0.0
    for i in (range(len(rendered)) if frames is None else frames):
        mask = np.zeros(real[i].shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round(lm.face_polygon(pack.landmarks[i])).astype(np.int32)], 1)
        m = mask.astype(bool)
        total += ssim_map(real[i], rendered[i])[m].sum()
        n += m.sum()
    return float(total / max(n, 1))


def _background(image: np.ndarray, erode_px: int) -> np.ndarray:
    """(H, W) bool: where the segmentation sees no person, eroded by ``erode_px``."""
    bg = (segment_person(image) < 0.5).astype(np.uint8)
    if erode_px > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * erode_px + 1,) * 2)
        bg = cv2.erode(bg, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=1)
    return bg.astype(bool)


def background_stillness(photo: np.ndarray, frames: list[np.ndarray], *,
                         erode_frac: float = 0.02, grey_levels: int = 6) -> dict[str, float]:
    """Share of the photo's background that changes in a render (issue 11).

    The background is the segmentation's (``io.tracker.segment_person``, probability
    below one half) on ``photo``, eroded by ``erode_frac`` of the image width. A pixel
    counts when its grey level differs from the photo's by more than ``grey_levels`` in
    any of ``frames``:

    - ``changed``: over all of that background, wherever the person goes (a head that
      moves over the background covers some of it: that counts too);
    - ``changed_visible``: only where the frame still shows background (the same
      segmentation on the frame, eroded alike, calls it background): what swims.

    Both are shares of the photo's eroded background, 0..1; ``background_share`` is that
    background's share of the photo.
    """
    h, w = photo.shape[:2]
    erode = int(round(erode_frac * w))
    bg = _background(photo, erode)
    grey0 = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY).astype(np.int16)
    changed = np.zeros((h, w), bool)
    visible = np.zeros((h, w), bool)
    for frame in frames:
        moved = np.abs(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.int16) - grey0) \
            > grey_levels
        changed |= moved
        visible |= moved & _background(frame, erode)
    total = max(int(bg.sum()), 1)
    return {"changed": float((changed & bg).sum() / total),
            "changed_visible": float((visible & bg).sum() / total),
            "background_share": float(bg.mean())}
