"""Driving clip -> clip pack: landmarks, peripheral points, head motion (paper Sec. 4).

- Face mesh (478 points, iris refined) per frame, MediaPipe in video mode.
- Lost faces: short gaps interpolated (and reported), long ones refused.
- Neutral frame: chosen automatically (``neutral.py``) or given.
- Peripheral points: good features outside the face on the neutral frame (hair, neck,
  shoulders, background), tracked forwards and backwards from it with pyramidal Lucas-Kanade
  and a forward-backward check; where a point is lost its motion is filled in from its valid
  neighbours.
- Head: per-frame similarity from the neutral frame's stable points to frame i's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Iterable

import cv2
import numpy as np

from precompute.details import ratio_images
from precompute.mouth import DRIVER_CROP_SIZE, mouth_crop
from precompute.neutral import choose_neutral
from reactive.core import landmarks as lm
from reactive.core.clip import ClipPack
from reactive.core.similarity import fit_similarity
from reactive.errors import InputError
from reactive.io.tracker import FaceMeshTracker
from reactive.params import TrackingParams

log = logging.getLogger(__name__)


@dataclass
class GapReport:
    """Where the face was lost: ``gaps`` is a list of (first_frame, length)."""

    gaps: list[tuple[int, int]]

    @property
    def frames(self) -> int:
        return sum(n for _, n in self.gaps)


def fill_gaps(points: list[np.ndarray | None], *, fps: float, params: TrackingParams,
              source: str = "clip") -> tuple[np.ndarray, np.ndarray, GapReport]:
    """Interpolate frames where no face was found.

    Parameters
    ----------
    points : per frame, (478, 2) float32 or None.

    Returns
    -------
    (F, 478, 2) float32 filled points, (F,) bool detected mask, the gap report.
    Raises InputError when no face, too many lost frames, or a gap longer than
    ``params.max_gap_s``.
    """
    f = len(points)
    detected = np.array([p is not None for p in points], dtype=bool)
    if not detected.any():
        raise InputError(f"{source}: no face found in any frame; use a clip of a face "
                         "looking at the camera")
    lost = f - int(detected.sum())
    if lost > params.max_lost_fraction * f:
        raise InputError(f"{source}: face lost in {lost} of {f} frames "
                         f"(more than {params.max_lost_fraction:.0%}); use a clip where the "
                         "face stays visible")
    gaps = []
    i = 0
    while i < f:
        if not detected[i]:
            j = i
            while j < f and not detected[j]:
                j += 1
            gaps.append((i, j - i))
            i = j
        else:
            i += 1
    max_gap = max(1, int(round(params.max_gap_s * fps)))
    for start, n in gaps:
        if n > max_gap:
            raise InputError(f"{source}: face lost for {n / fps:.1f} s from "
                             f"{start / fps:.2f} s (frames {start}-{start + n - 1}); at most "
                             f"{params.max_gap_s:g} s can be bridged: trim the clip there")
    good = np.flatnonzero(detected)
    stacked = np.stack([points[k] for k in good]).astype(np.float32)
    out = np.empty((f, lm.N_LANDMARKS, 2), np.float32)
    flat = stacked.reshape(len(good), -1)
    frames = np.arange(f)
    # np.interp holds the end values outside the detected range, which is what we want at
    # the clip's ends.
    for c in range(flat.shape[1]):
        out.reshape(f, -1)[:, c] = np.interp(frames, good, flat[:, c])
    return out, detected, GapReport(gaps)


def peripheral_candidates(gray: np.ndarray, face_points: np.ndarray,
                          params: TrackingParams) -> np.ndarray:
    """Good features to track outside the (grown) face hull. Returns (P, 2) float32."""
    h, w = gray.shape
    hull = cv2.convexHull(face_points[:lm.N_MESH].astype(np.float32))
    size = float(np.sqrt(cv2.contourArea(hull)))
    centre = face_points[:lm.N_MESH].mean(axis=0)
    grown = (hull.reshape(-1, 2) - centre) * (1 + params.peripheral_face_margin_frac) + centre
    mask = np.full((h, w), 255, np.uint8)
    cv2.fillConvexPoly(mask, np.round(grown).astype(np.int32), 0)
    # Points on the frame edge get lost as soon as anything moves; keep a small margin.
    margin = max(2, params.lk_window_px // 2)
    mask[:margin] = 0
    mask[-margin:] = 0
    mask[:, :margin] = 0
    mask[:, -margin:] = 0
    diag = float(np.hypot(w, h))
    pts = cv2.goodFeaturesToTrack(
        gray, maxCorners=params.peripheral_max_points, qualityLevel=params.peripheral_quality,
        minDistance=max(3.0, params.peripheral_min_distance_frac * diag), mask=mask)
    log.debug("face size %.0f px, %d peripheral candidates", size, 0 if pts is None else len(pts))
    return np.zeros((0, 2), np.float32) if pts is None else pts.reshape(-1, 2).astype(np.float32)


def _track_direction(grays: list[np.ndarray], order: range, start: np.ndarray,
                     params: TrackingParams, pos: np.ndarray, valid: np.ndarray) -> None:
    """LK from frame to frame along ``order``, writing ``pos``/``valid`` rows in place."""
    lk = dict(winSize=(params.lk_window_px, params.lk_window_px), maxLevel=params.lk_levels,
              criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01))
    cur = start.reshape(-1, 1, 2).astype(np.float32)
    alive = np.ones(len(start), bool)
    prev_i = order.start - order.step
    for i in order:
        if len(start) == 0:
            break
        nxt, st, _ = cv2.calcOpticalFlowPyrLK(grays[prev_i], grays[i], cur, None, **lk)
        back, st_b, _ = cv2.calcOpticalFlowPyrLK(grays[i], grays[prev_i], nxt, None, **lk)
        fb = np.linalg.norm((back - cur).reshape(-1, 2), axis=1)
        h, w = grays[i].shape
        p = nxt.reshape(-1, 2)
        inside = (p[:, 0] >= 0) & (p[:, 0] < w) & (p[:, 1] >= 0) & (p[:, 1] < h)
        ok = (st.ravel() == 1) & (st_b.ravel() == 1) & (fb < params.fb_max_error_px) & inside
        # A point once lost stays lost: re-acquiring it would need a descriptor match.
        alive &= ok
        pos[i] = p
        valid[i] = alive
        cur = np.where(alive[:, None, None], nxt, cur)
        prev_i = i


def track_peripheral(grays: list[np.ndarray], neutral: int, face_points: np.ndarray,
                     params: TrackingParams) -> tuple[np.ndarray, np.ndarray]:
    """Peripheral points through the clip.

    Returns (F, P, 2) float32 positions and (F, P) bool validity. Lost positions are filled
    with the inverse-distance-weighted motion of the points still valid in that frame.
    """
    f = len(grays)
    start = peripheral_candidates(grays[neutral], face_points[neutral], params)
    p = len(start)
    pos = np.repeat(start[None], f, axis=0)
    valid = np.zeros((f, p), bool)
    valid[neutral] = True
    _track_direction(grays, range(neutral + 1, f), start, params, pos, valid)
    _track_direction(grays, range(neutral - 1, -1, -1), start, params, pos, valid)
    # Points valid in under half the frames carry little and make the fill-in dominate.
    keep = valid.mean(axis=0) >= 0.5
    pos, valid, start = pos[:, keep], valid[:, keep], start[keep]
    if keep.size and not keep.all():
        log.info("dropped %d of %d peripheral points lost for most of the clip",
                 int((~keep).sum()), keep.size)
    d = np.linalg.norm(start[:, None] - start[None], axis=2) + 1e-3
    w_all = 1.0 / d ** 2
    for i in range(f):
        bad = ~valid[i]
        if not bad.any():
            continue
        good = valid[i]
        if good.any():
            w = w_all[np.ix_(bad, good)]
            motion = (pos[i, good] - start[good])
            pos[i, bad] = start[bad] + (w @ motion) / w.sum(axis=1, keepdims=True)
        else:
            pos[i, bad] = start[bad]
    return pos.astype(np.float32), valid


def head_motion(points: np.ndarray, neutral: int) -> np.ndarray:
    """(F, 2, 3) float32 similarity from the neutral frame's stable points to each frame's."""
    ref = points[neutral, lm.STABLE_POINTS]
    return np.stack([fit_similarity(ref, p[lm.STABLE_POINTS]) for p in points]).astype(np.float32)


def track_clip(frames: Iterable[np.ndarray], *, fps: float, neutral: int | str = "auto",
               tag: str = "", source: str = "clip", params: TrackingParams = TrackingParams(),
               progress: Callable[[int], None] | None = None, details: bool = True) -> ClipPack:
    """Track a driving clip into a ClipPack.

    Parameters
    ----------
    frames : iterable of (H, W, 3) uint8 RGB frames.
    fps : frame rate of the clip.
    neutral : "auto" or a frame index (0-based).
    details : also compute the expression ratio images (``details.py``).
    """
    rgb: list[np.ndarray] = []
    grays: list[np.ndarray] = []
    points: list[np.ndarray | None] = []
    mouths: list[tuple[np.ndarray, np.ndarray] | None] = []
    size = None
    with FaceMeshTracker(params) as tracker:
        for i, frame in enumerate(frames):
            if size is None:
                size = (frame.shape[1], frame.shape[0])
            p = tracker(frame)
            points.append(p)
            mouths.append(None if p is None else mouth_crop(frame, p, DRIVER_CROP_SIZE,
                                                                  native=True))
            grays.append(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY))
            if details:
                rgb.append(frame)
            if progress is not None:
                progress(i + 1)
    if size is None or len(points) < 2:
        raise InputError(f"{source}: a driving clip needs at least 2 frames")
    filled, detected, gaps = fill_gaps(points, fps=fps, params=params, source=source)
    if gaps.gaps:
        log.warning("%s: face lost in %d frame(s) (%s); interpolated", source, gaps.frames,
                    ", ".join(f"{s}-{s + n - 1}" for s, n in gaps.gaps))
    f = len(points)
    if neutral == "auto":
        neutral_index = choose_neutral(filled, detected)
        log.info("%s: neutral frame %d (auto)", source, neutral_index)
    else:
        neutral_index = int(neutral)
        if not 0 <= neutral_index < f:
            raise InputError(f"--neutral {neutral_index}: {source} has frames 0-{f - 1}")
    periph, periph_valid = track_peripheral(grays, neutral_index, filled, params)
    # Frames without a face borrow the nearest detected frame's mouth.
    good = np.flatnonzero(detected)
    mouth = np.empty((f, *DRIVER_CROP_SIZE, 3), np.uint8)
    mouth_affine = np.empty((f, 2, 3), np.float32)
    for i in range(f):
        j = i if detected[i] else int(good[np.argmin(np.abs(good - i))])
        mouth[i], mouth_affine[i] = mouths[j]
    pack = ClipPack(
        fps=float(fps), source_size=size, neutral_index=neutral_index, landmarks=filled,
        face_detected=detected, peripheral=periph, peripheral_valid=periph_valid,
        head=head_motion(filled, neutral_index), tag=tag, source=source, mouth=mouth,
        mouth_affine=mouth_affine)
    if details:
        ratio = ratio_images(rgb, pack)
        pack.ratio, pack.ratio_box = ratio.codes, ratio.box
    return pack
