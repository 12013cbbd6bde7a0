"""Measurements of how well a render follows its clip (used by tests and reports).

- ``expression_error``: landmarks detected on the *output* vs the displacement Eq. 1 asked
  for, over mouth, brow and eye landmarks; with head motion, or expression only (each
  frame's head similarity removed).
- ``masked_psnr``: PSNR inside a region, for self-reenactment against the real frames.
- ``background_stillness``: how much of the photo's background changes in a render.
- ``mouth_opening``: how far the output's lips and chin move (re-detected, head removed)
  compared with Eq. 1, on the frames where the driver's mouth is widest open
  (``widest_open_frames``); ``placed_points``: where the warp itself puts the landmarks.
- ``pointer_gaze_check``: the live player's eyes with the pointer at a point of the photo:
  the iris centre the face mesh reads on the output (inside the opening? how far from its
  centre?) and the brightness of the white of the eye against the photo's own.
- ``crease_fidelity``: whether the details stage darkens the photo only where, and only as
  much as, the driver's own expression darkened its skin.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.ndimage import maximum_filter1d

from reactive.core import landmarks as lm
from reactive.core.clip import ClipPack, expressiveness, peak_frame
from reactive.core.details import DetailLayer
from reactive.core.eyeball import lid_coordinates
from reactive.core.jaw import frame_hold
from reactive.core.motion import frame_offsets
from reactive.core.ratio import aligned_frames, luminance
from reactive.core.rig import Rig
from reactive.core.similarity import apply_similarity, fit_similarity
from reactive.core.synthesis import STAGES, Layer
from reactive.io.tracker import FaceMeshTracker, detect_faces, segment_person
from reactive.live.player import Player
from reactive.live.states import IDLE
from reactive.live.triggers import Event
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


# Landmarks whose mean position stands for a part of the mouth: the upper lip's outer and
# inner edge at the middle, the lower lip's, the chin.
MOUTH_PARTS = {"upper_lip": (lm.UPPER_LIP_TOP, lm.UPPER_LIP_BOTTOM),
               "lower_lip": (lm.LOWER_LIP_BOTTOM, lm.LOWER_LIP_TOP), "chin": (lm.CHIN,)}
# Vertical spans whose length should follow Eq. 1: each lip's thickness (outer to inner
# edge) and the opening between the inner edges.
MOUTH_SPANS = {"upper_lip_thickness": (lm.UPPER_LIP_TOP, lm.UPPER_LIP_BOTTOM),
               "lower_lip_thickness": (lm.LOWER_LIP_TOP, lm.LOWER_LIP_BOTTOM),
               "opening": (lm.UPPER_LIP_BOTTOM, lm.LOWER_LIP_TOP)}


def widest_open_frames(pack: ClipPack, fraction: float = 0.1) -> np.ndarray:
    """The ``fraction`` of clip frames (at least one) where the driver's inner-lip gap over
    mouth width is largest, in clip order. (N,) int."""
    if not 0 < fraction <= 1:
        raise ValueError(f"`fraction` must be in (0, 1]; got {fraction}")
    opening = lm.mouth_open_ratio(pack.landmarks.astype(np.float64))
    n = max(1, int(round(fraction * pack.frame_count)))
    return np.sort(np.argsort(-opening, kind="stable")[:n])


def _onto(points: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Each frame of ``points`` (F, 478, 2) mapped onto ``ref`` (478, 2) by a similarity on
    the stable points (eye corners, nose ridge): the head's move removed. Not the phi points
    (Sec. 4): their eye contours follow the lids, and eyes opened wide in surprise (d10)
    rescale the whole face by a tenth or more, moving the chin by a third of its travel."""
    out = np.empty_like(points, dtype=np.float64)
    for i, p in enumerate(points):
        out[i] = apply_similarity(fit_similarity(p[lm.STABLE_POINTS], ref[lm.STABLE_POINTS]), p)
    return out


def mouth_opening(detected: np.ndarray, intended: np.ndarray, frames: np.ndarray,
                  reference: int) -> dict[str, float]:
    """Achieved / intended vertical motion of the mouth's parts, head motion removed.

    Every frame is mapped onto the ``reference`` (neutral) frame by a similarity on the
    stable points, separately for the detected and the intended points; "vertical" is the
    face's own axis, perpendicular to the line between the intended reference's eye centres.
    For each part of ``MOUTH_PARTS``: the sum over ``frames`` of the detected part's
    vertical move from the reference over the sum of the intended one (1 = as far as the
    driver, scaled by phi). Also ``<part>_px``: the mean intended move, and
    ``<part>_err_px``: the mean of |detected - intended| vertical move, photo px (a part the
    driver hardly moves, as the upper lip in a jaw drop, has a ratio of noise: read this).
    And for each span of ``MOUTH_SPANS`` (lip thickness, opening): detected / intended
    vertical length summed over ``frames`` (1 = the lips keep the thickness Eq. 1 gives).

    Parameters
    ----------
    detected : (F, 478, 2) landmarks detected on the output frames.
    intended : (F, 478, 2) where Eq. 1 puts them (``intended_points``).
    frames : (N,) int, the frames measured (``widest_open_frames``).
    reference : the frame of no expression (the clip's neutral frame).
    """
    if detected.shape != intended.shape or detected.ndim != 3:
        raise ValueError(f"`detected` {detected.shape} and `intended` {intended.shape} must "
                         "both be (F, 478, 2)")
    frames = np.asarray(frames, dtype=np.int64)
    if frames.size == 0:
        raise ValueError("`frames` is empty")
    t_ref = intended[reference].astype(np.float64)
    eye_line = t_ref[lm.LEFT_EYE].mean(axis=0) - t_ref[lm.RIGHT_EYE].mean(axis=0)
    eye_line /= max(float(np.linalg.norm(eye_line)), 1e-9)
    down = np.array([-eye_line[1], eye_line[0]])  # image y grows downwards
    d = _onto(detected[frames], detected[reference])
    t = _onto(intended[frames], t_ref)
    out = {}
    for name, ids in MOUTH_PARTS.items():
        ids = list(ids)
        got = (d[:, ids].mean(axis=1) - detected[reference, ids].mean(axis=0)) @ down
        want = (t[:, ids].mean(axis=1) - t_ref[ids].mean(axis=0)) @ down
        out[name] = float(got.sum() / want.sum()) if abs(want.sum()) > 1e-9 else float("nan")
        out[f"{name}_px"] = float(want.mean())
        out[f"{name}_err_px"] = float(np.abs(got - want).mean())
    for name, (a, b) in MOUTH_SPANS.items():
        got = ((d[:, b] - d[:, a]) @ down).sum()
        want = ((t[:, b] - t[:, a]) @ down).sum()
        out[name] = float(got / want) if abs(want) > 1e-9 else float("nan")
    return out


def placed_points(rig: Rig, pack: ClipPack, frames: np.ndarray) -> np.ndarray:
    """Where the warp itself puts the photo's landmarks in ``frames``: each face point's
    offset (``frame_offsets``: Eq. 1 after the caps, the lids and the unfolding) times the
    frame's border hold at its rest position (inside the face the field is not smoothed, so
    that is the field there). The face mesh read on rendered frames has its own bias: it
    reads a chin moved down by a plain stretch of the lower face at half to two thirds of
    the move, so this is the geometry's own account. (F, 478, 2) float64: the photo's
    landmarks in every other frame, the irises as Eq. 1 puts them. Needs ``rig.dense``."""
    if rig.dense is None:
        raise ValueError("`rig` has no dense geometry: build it with build_rig(..., dense=True)")
    out = intended_points(rig, pack)
    out[:, :lm.N_MESH] = rig.target_points[:lm.N_MESH]
    h, w = rig.shape
    rest = rig.rest[:lm.N_MESH]
    xi = np.clip(np.round(rest[:, 0]).astype(int), 0, w - 1)
    yi = np.clip(np.round(rest[:, 1]).astype(int), 0, h - 1)
    offsets = np.zeros((len(rig.rest), 2), np.float32)
    scratch = np.zeros(rig.shape, np.float32)
    for i in np.asarray(frames, dtype=np.int64):
        frame_offsets(rig, pack, int(i), offsets)
        hold = frame_hold(rig.dense.hold, rig.dense.hold_give, rig.jaw, offsets, scratch)
        out[i, :lm.N_MESH] = rest + offsets[:lm.N_MESH] * hold[yi, xi, None]
    return out


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


def expression_fidelity_of(frames: list[np.ndarray], intended: np.ndarray
                           ) -> dict[str, float]:
    """Expression error of ``frames`` against ``intended`` (F, 478, 2) points (the live
    puppet's own Eq. 1), with and without head motion."""
    detected = track_frames(frames)
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


# --- the eyes ------------------------------------------------------------------------------

_LUMA = np.array([0.299, 0.587, 0.114])


def polygon_centroid(polygon: np.ndarray) -> np.ndarray:
    """Area centroid of a simple polygon (N, 2). (2,) float64."""
    p = np.asarray(polygon, np.float64)
    x, y = p[:, 0], p[:, 1]
    xn, yn = np.roll(x, -1), np.roll(y, -1)
    c = x * yn - xn * y
    a = 0.5 * c.sum()
    if abs(a) < 1e-9:
        return p.mean(axis=0)
    return np.array([((x + xn) * c).sum(), ((y + yn) * c).sum()]) / (6.0 * a)


def iris_in_opening(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per eye (``landmarks.EYES``), from landmarks (478, 2) read on an image: is the iris
    centre inside the opening (its contour), and how far is it from the opening's centroid,
    in eye widths (corner to corner)? Returns (2,) bool, (2,) float64."""
    pts = np.asarray(points, np.float64)
    inside, dist = [], []
    for eye in lm.EYES:
        contour = pts[eye.contour]
        width = max(float(np.linalg.norm(pts[eye.corners[1]] - pts[eye.corners[0]])), 1e-9)
        iris = pts[eye.iris]
        inside.append(cv2.pointPolygonTest(contour.astype(np.float32),
                                           (float(iris[0]), float(iris[1])), False) >= 0)
        dist.append(float(np.linalg.norm(iris - polygon_centroid(contour))) / width)
    return np.array(inside), np.array(dist)


def _opening_loop(opening) -> np.ndarray:
    """The closed outline (n, 2) of an opening given as corners (2, 2), upper and lower
    lid margins from the image-left corner."""
    corners, upper, lower = opening
    return np.vstack([corners[:1], upper, corners[1:], lower[::-1]]).astype(np.float64)


def _contour_opening(points: np.ndarray, eye: lm.EyeTopology):
    pts = np.asarray(points, np.float64)
    return pts[list(eye.corners)], pts[eye.upper], pts[eye.lower]


def _white_mask(shape: tuple[int, int], opening, iris) -> np.ndarray:
    """The white of one eye: its ``opening`` (corners, upper, lower lid margins) less 0.05
    eye widths along its edge (the lash line and the lid's shadow are not the white) and
    less the iris (x, y, radius) with its limbus. (h, w) bool."""
    corners = opening[0]
    width = float(np.linalg.norm(corners[1] - corners[0]))
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(_opening_loop(opening) * 16).astype(np.int32)], 1,
                 cv2.LINE_8, 4)
    mask = cv2.erode(mask, np.ones((3, 3), np.uint8), iterations=max(1, int(round(0.05 * width))))
    x, y, r = iris
    cv2.circle(mask, (int(round(x * 16)), int(round(y * 16))),
               int(round((r + max(1.5, 0.12 * r)) * 16)), 0, -1, cv2.LINE_8, 4)
    return mask > 0


def sclera_brightness(image: np.ndarray, points: np.ndarray, irises: np.ndarray, *,
                      rest_points: np.ndarray | None = None,
                      rest_irises: np.ndarray | None = None,
                      openings=None, rest_openings=None) -> tuple[np.ndarray, np.ndarray]:
    """How bright the white of each eye (``landmarks.EYES``) is: the mean luma (0-255) over
    its opening less 0.05 eye widths along the edge (the lash line and the lid's shadow are
    not the white) and less the iris (``irises`` (2, 3): centre x, y and radius, as
    ``GazeLayer.irises``) with its limbus.

    The opening is the eye's contour in ``points`` (>= 468, 2), or per eye the one given in
    ``openings`` (corners (2, 2), upper and lower lid margins, as ``GazeLayer.openings``:
    a drawn eye's opening is larger than the face mesh's contour, and what the contour holds
    of it is its shaded corners, not its white).

    With the photo's rest (``rest_points``, ``rest_irises`` and ``rest_openings`` as
    above), also the mean over the white that the moving iris uncovered: the pixels whose
    place between the lids (``eyeball.lid_coordinates``) was iris in the photo. That is the
    white the eye layer made up; the plain mean also moves with where the iris is (an iris
    over the darker corner leaves the brighter middle in view, as on a real eye, whose
    shading stays with the lids and the light). Returns two (2,) float64 (the second NaN
    without the rest), NaN for an eye showing fewer than 8 such pixels."""
    h, w = image.shape[:2]
    luma = image.astype(np.float64) @ _LUMA
    mean = np.full(len(lm.EYES), np.nan)
    uncovered = np.full(len(lm.EYES), np.nan)
    for k, eye in enumerate(lm.EYES):
        opening = (_contour_opening(points, eye) if openings is None
                   else openings[k])
        white = _white_mask((h, w), opening, irises[k])
        if white.sum() >= 8:
            mean[k] = float(luma[white].mean())
        if rest_points is None or rest_irises is None or white.sum() == 0:
            continue
        ys, xs = np.nonzero(white)
        xy = np.stack([xs, ys], axis=1).astype(np.float64)
        u, v = lid_coordinates(xy, *opening)
        # The same place between the photo's lids, and whether the photo's iris was there.
        r_corners, r_upper, r_lower = (_contour_opening(rest_points, eye)
                                       if rest_openings is None else rest_openings[k])
        a, b = r_corners[0], r_corners[1]
        x_axis = (b - a) / max(float(np.hypot(*(b - a))), 1e-9)
        y_axis = np.array([-x_axis[1], x_axis[0]])
        s_up = np.maximum.accumulate(np.r_[0.0, (r_upper - a) @ x_axis, 1e9])
        s_low = np.maximum.accumulate(np.r_[0.0, (r_lower - a) @ x_axis, 1e9])
        s = u * float(np.hypot(*(b - a)))
        t_up = np.interp(s, s_up, np.r_[0.0, (r_upper - a) @ y_axis, 0.0])
        t_low = np.interp(s, s_low, np.r_[0.0, (r_lower - a) @ y_axis, 0.0])
        photo_xy = a + s[:, None] * x_axis + (t_up + v * (t_low - t_up))[:, None] * y_axis
        x, y, r = rest_irises[k]
        was_iris = np.hypot(photo_xy[:, 0] - x, photo_xy[:, 1] - y) <= r
        if was_iris.sum() >= 8:
            uncovered[k] = float(luma[ys[was_iris], xs[was_iris]].mean())
    return mean, uncovered


def rim_brightness(image: np.ndarray, points: np.ndarray, irises: np.ndarray,
                   *, band_w: float = 0.06, openings=None) -> np.ndarray:
    """How bright each eye's opening is along its edge: the mean luma (0-255) over the band
    ``band_w`` eye widths wide just inside the opening (contours of ``points``, or
    ``openings`` as in ``sclera_brightness``), less the iris (``irises`` (2, 3), as
    ``GazeLayer.irises``). On a photo that band holds the lash line and the lids' shadow;
    white there is the crisp rim that makes eyes look pasted in. Returns (2,) float64, NaN
    for an eye with fewer than 8 such pixels."""
    h, w = image.shape[:2]
    luma = image.astype(np.float64) @ _LUMA
    out = np.full(len(lm.EYES), np.nan)
    for k, eye in enumerate(lm.EYES):
        opening = _contour_opening(points, eye) if openings is None else openings[k]
        corners = opening[0]
        width = float(np.linalg.norm(corners[1] - corners[0]))
        mask = np.zeros((h, w), np.uint8)
        cv2.fillPoly(mask, [np.round(_opening_loop(opening) * 16).astype(np.int32)], 1,
                     cv2.LINE_8, 4)
        inner = cv2.erode(mask, np.ones((3, 3), np.uint8),
                          iterations=max(1, int(round(band_w * width))))
        band = (mask > 0) & (inner == 0)
        x, y, r = irises[k]
        disc = np.zeros((h, w), np.uint8)
        cv2.circle(disc, (int(round(x * 16)), int(round(y * 16))), int(round(r * 16)), 1, -1,
                   cv2.LINE_8, 4)
        band &= disc == 0
        if band.sum() >= 8:
            out[k] = float(luma[band].mean())
    return out


def clip_white_check(player: Player, clip: str, frame: int | None = None) -> dict:
    """The live player's eyes on clip ``clip`` (a state name) at ``frame`` (default its
    peak), held still, no pointer: the white of each eye (``sclera_brightness``) and the
    opening's edge (``rim_brightness``) on the output, and the same on the photo at rest.
    Returns a dict of (2,) arrays ``sclera``, ``sclera_rest``, ``rim``, ``rim_rest``, and
    ``frame`` (H, W, 3) uint8."""
    syn = player.synthesis
    if syn.eyes is None:
        raise ValueError("`player` renders no eyes stage")
    k = player.state_names.index(clip)
    i = peak_frame(player.clips[k].pack) if frame is None else int(frame)
    out = syn.render([Layer(k, float(i), 1.0)]).copy()
    irises = syn.eyes.irises(syn.points_now, syn.gaze_now)
    rest_points = player.rig.target_points
    rest_irises = syn.eyes.irises(rest_points[:lm.N_MESH], np.zeros(2))
    openings = syn.eyes.openings(syn.points_now)
    rest_openings = syn.eyes.openings(rest_points)
    sclera, _ = sclera_brightness(out, syn.points_now, irises, openings=openings)
    sclera_rest, _ = sclera_brightness(player.rig.photo, rest_points, rest_irises,
                                       openings=rest_openings)
    return {"frame": out, "index": i, "sclera": sclera, "sclera_rest": sclera_rest,
            "rim": rim_brightness(out, syn.points_now, irises, openings=openings),
            "rim_rest": rim_brightness(player.rig.photo, rest_points, rest_irises,
                                       openings=rest_openings)}


def rest_layer(player: Player) -> Layer:
    """The player's face at rest: its (first) idle clip at its neutral frame, else the first
    clip's neutral frame."""
    k = next((i for i, c in enumerate(player.clips) if c.role == IDLE), 0)
    return Layer(k, float(player.clips[k].pack.neutral_index), 1.0)


def pointer_gaze_check(player: Player, pointer_xy, *, settle_s: float = 1.0,
                       fps: float = 30.0) -> dict:
    """The live player's eyes with the pointer held at ``pointer_xy`` (photo pixels) for
    ``settle_s`` seconds, on the face at rest (``rest_layer``; no idle blink in the way):
    ``Player.handle`` takes the pointer event, ``Player.pointer_pull`` smooths the eyes' and
    the head's turn towards it frame by frame, ``FrameSynthesis.render`` draws the frame.

    Returns a dict: ``frame`` (H, W, 3) uint8; per eye (``landmarks.EYES``) ``inside``
    (bool: the iris centre the face mesh reads on the frame lies inside the opening it
    reads), ``iris_dist`` (its distance from the opening's centroid, eye widths),
    ``sclera`` and ``sclera_rest`` (``sclera_brightness`` of the frame and of the photo,
    with the irises where the eye layer painted them), ``uncovered`` (the mean over the
    white the iris uncovered); ``gaze`` and ``head``, the pointer's pull. Changes the player's pointer and smoothing state (``warm_up`` resets them).
    """
    syn = player.synthesis
    if syn.eyes is None:
        raise ValueError("`player` renders no eyes stage")
    player.reset_look()
    t0 = 0.0
    player.handle(Event(t0, "pointer", x=float(pointer_xy[0]), y=float(pointer_xy[1])), t0)
    pull = None
    for n in range(int(round(settle_s * fps)) + 1):
        pull = player.pointer_pull(t0 + n / fps)
    frame = syn.render([rest_layer(player)], **pull).copy()
    irises = syn.eyes.irises(syn.points_now, syn.gaze_now)
    rest_points = player.rig.target_points
    rest_irises = syn.eyes.irises(rest_points[:lm.N_MESH], np.zeros(2))
    openings = syn.eyes.openings(syn.points_now)
    rest_openings = syn.eyes.openings(rest_points)
    sclera, uncovered = sclera_brightness(frame, syn.points_now, irises,
                                          rest_points=rest_points, rest_irises=rest_irises,
                                          openings=openings, rest_openings=rest_openings)
    sclera_rest, _ = sclera_brightness(player.rig.photo, rest_points, rest_irises,
                                       openings=rest_openings)
    faces = detect_faces(frame)
    if faces:
        inside, dist = iris_in_opening(faces[0])
    else:
        inside, dist = np.zeros(len(lm.EYES), bool), np.full(len(lm.EYES), np.nan)
    return {"frame": frame, "inside": inside, "iris_dist": dist, "sclera": sclera,
            "sclera_rest": sclera_rest, "uncovered": uncovered,
            "gaze": np.asarray(pull["gaze"]),
            "head": np.asarray(pull["head"]), "face_found": bool(faces)}


def edge_points(shape: tuple[int, int]) -> dict[str, tuple[float, float]]:
    """The four corners and four edge midpoints of an image of ``shape`` (h, w): name ->
    (x, y) pixel."""
    h, w = shape[:2]
    return {"top-left": (0.0, 0.0), "top": ((w - 1) / 2, 0.0), "top-right": (w - 1.0, 0.0),
            "right": (w - 1.0, (h - 1) / 2), "bottom-right": (w - 1.0, h - 1.0),
            "bottom": ((w - 1) / 2, h - 1.0), "bottom-left": (0.0, h - 1.0),
            "left": (0.0, (h - 1) / 2)}
def driver_darkening(frames: list[np.ndarray], pack: ClipPack, *, tolerance_iod: float = 0.03,
                     window: int = 21) -> np.ndarray:
    """How much the driver's own face darkened, per frame, at each pixel of its neutral
    frame's geometry (landmark-aligned, as the ratio images are), over the pack's
    ``ratio_box`` at the pack's ratio resolution: (F, h, w) float32, 0 = not darker.

    A pixel counts as darkened only below the darkest neutral pixel within
    ``tolerance_iod`` inter-ocular distances (a feature the 2D alignment merely shifted
    by a few pixels did not darken anything), and its darkening is the largest within
    ``window`` frames (the ratio images' temporal filter spreads a fold over that window).
    """
    if pack.ratio is None:
        raise ValueError("`pack` has no ratio images")
    n0 = pack.neutral_index
    x0, y0, x1, y1 = (int(round(float(v))) for v in pack.ratio_box)
    out_h, out_w = pack.ratio.shape[1:]
    iod = float(lm.interocular(pack.landmarks[n0]))
    r = max(1, int(round(tolerance_iod * iod)))
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    base = cv2.erode(luminance(frames[n0], 1.0)[y0:y1, x0:x1], disk)
    out = np.empty((pack.frame_count, out_h, out_w), np.float32)
    for i, aligned in enumerate(aligned_frames(frames[:pack.frame_count], pack)):
        dark = np.clip(1.0 - luminance(aligned[y0:y1, x0:x1], 1.0) / base, 0.0, 1.0)
        out[i] = cv2.resize(dark, (out_w, out_h), interpolation=cv2.INTER_AREA)
    if window > 1:
        out = maximum_filter1d(out, window, axis=0, mode="nearest")
    return out


def crease_fidelity(rig: Rig, pack: ClipPack, darkening: np.ndarray, *,
                    layer: DetailLayer | None = None, tolerance: float = 0.02,
                    rest_quantile: float = 0.15) -> dict[str, float]:
    """The details stage judged against the driver (issue 11's rule).

    ``darkening``: ``driver_darkening(frames, pack)``; ``layer``: the details stage to
    judge (default ``DetailLayer(rig, pack)``). For every frame, the photo's darkening by
    the details stage, 1 - f(shaded) / f(photo) (f: grey level), is compared with the
    driver's at the landmark-aligned pixel (mapped as the ratio images are,
    ``details.ratio_map``, and blurred to the least fold width the layer gives this
    photo). Over the photo's face
    (its landmark oval grown by a quarter of the inter-ocular distance, as the ratio
    images reach the forehead):

    - ``excess_share``: % of the face's pixel-frames darkened by the details stage more
      than the driver's own expression darkened the same pixel, by more than
      ``tolerance`` (0.02 = 2 grey points in a hundred);
    - ``excess_p999``: the worst frame's 99.9th percentile of that excess over the face, %;
    - ``rest_dark_p99``: over the frames where the driver's face is nearest its neutral
      (expressiveness below its ``rest_quantile``), the largest 99th percentile of the
      photo's darkening over the face, % (a fold comes and goes with the expression; hair
      or shading that stay do not);
    - ``peak_dark_p99``: the same over all frames (how much the stage shows at all), and
      ``peak_dark_p999`` with the 99.9th percentile (how deep its deepest folds are).
    """
    layer = DetailLayer(rig, pack) if layer is None else layer
    h, w = rig.shape
    iod = float(lm.interocular(rig.target_points))
    grow = int(round(0.25 * iod))
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    face = cv2.dilate(rig.face_mask.astype(np.uint8), disk).astype(bool)
    style = getattr(layer, "style", None)
    sigma = float(style.sigma_px) if style is not None else 0.0
    grey = cv2.cvtColor(rig.photo, cv2.COLOR_RGB2GRAY).astype(np.float32) + 1.0
    expr = expressiveness(pack.landmarks, pack.neutral_index)
    others = np.delete(np.arange(pack.frame_count), pack.neutral_index)
    rest = set(others[expr[others] <= np.quantile(expr[others], rest_quantile)].tolist())
    excess_count = 0
    excess_values, rest_values, peak_values = [], [], []
    driver = np.zeros((h, w), np.float32)
    patch = np.empty_like(driver[layer.roi])
    for i in range(pack.frame_count):
        shaded = layer.shade([Layer(0, float(i), 1.0)])
        target = np.clip(1.0 - (cv2.cvtColor(shaded, cv2.COLOR_RGB2GRAY).astype(np.float32)
                                + 1.0) / grey, 0.0, 1.0)[face]
        driver[layer.roi] = layer.to_photo(darkening[i], patch, 0.0)
        ref = cv2.GaussianBlur(driver, (0, 0), sigma) if sigma > 0.3 else driver
        excess = target - ref[face]
        excess_count += int((excess > tolerance).sum())
        excess_values.append(np.percentile(excess, 99.9))
        dark, deep = (float(v) for v in np.percentile(target, [99, 99.9]))
        peak_values.append((dark, deep))
        if i in rest:
            rest_values.append(dark)
    n = int(face.sum()) * pack.frame_count
    return {"excess_share": 100.0 * excess_count / max(n, 1),
            "excess_p999": 100.0 * float(np.max(excess_values)),
            "rest_dark_p99": 100.0 * float(np.max(rest_values)) if rest_values else 0.0,
            "peak_dark_p99": 100.0 * max(v[0] for v in peak_values),
            "peak_dark_p999": 100.0 * max(v[1] for v in peak_values)}
