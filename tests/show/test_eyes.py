"""Issue 5, "Eyes, beyond the paper": blinks that close completely and gaze that follows a
pointer, measured on real portraits driven by a real clip (d3 has closed eyes).

The player integration is reproduced here exactly as the lead wires it: Eq. 1 offsets, then
``close_lids`` before the Unfolder, the warp, then ``GazeLayer.apply`` on the warped frame.
Crops of the eyes are written as PNGs (path printed; run with ``-s``) to look at.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from reactive.core.folds import signed_areas
from reactive.core.gaze import GazeFollower, pointer_gaze
from reactive.core.landmarks import EYES
from reactive.core.lids import close_lids, eye_aspect_ratios, lid_closure
from reactive.core.motion import frame_offsets
from reactive.core.rig import build_rig
from reactive.core.synthesis import FrameSynthesis, Layer
from reactive.io.assets import BUILTIN_CLIPS_DIR, SAMPLE_PORTRAIT
from reactive.io.photo import load_photo
from reactive.io.target import find_target_face
from reactive.io.tracker import detect_faces
from reactive.live.build import build_player
from reactive.tools.quality import clip_white_check, edge_points, pointer_gaze_check
from tests.helpers import shared_path

pytestmark = pytest.mark.slow


@dataclass
class Scene:
    photo: np.ndarray
    points: np.ndarray
    rig: object
    full: FrameSynthesis    # the shipped pipeline with the eyes: lids closed, eyes repainted
    plain: FrameSynthesis   # the warp alone (Eq. 1), sharing the warper

    @property
    def closure(self) -> np.ndarray:
        """(F, 2) the clip's lid closure per frame, as the pipeline applies it."""
        return self.full.closures[0]


def make_scene(photo_name: str, pack, photo: np.ndarray | None = None, *,
               grid: bool = False) -> Scene:
    """The photo (or ``photo``, a marked copy of it, with the real photo's landmarks) and
    ``pack`` through ``FrameSynthesis``; ``grid``: the real-time player's grid warp."""
    real = load_photo(shared_path("portraits", f"{photo_name}.jpg"))
    points = find_target_face(real)
    photo = real if photo is None else photo
    rig = build_rig(photo, points, pack, dense=not grid, grid=grid)
    full = FrameSynthesis(rig, [pack], stages=("coarse", "eyes"), realtime=grid)
    plain = FrameSynthesis(rig, [pack], stages=("coarse",), realtime=grid, warper=full.warper)
    return Scene(photo, points, rig, full, plain)


def points_now(scene: Scene, offsets: np.ndarray) -> np.ndarray:
    """Target landmarks in the output: mesh points moved by their offsets, each iris by the
    mean offset of its eye's contour."""
    rig = scene.rig
    now = scene.points.copy()
    now[:rig.n_face] = rig.rest[:rig.n_face] + offsets[:rig.n_face]
    for eye in EYES:
        now[eye.iris:eye.iris + 5] = scene.points[eye.iris:eye.iris + 5] \
            + offsets[eye.contour].mean(axis=0)
    return now


def render(scene: Scene, pack, i: int, *, eyes: bool = True, gaze=(0.0, 0.0)):
    """Frame ``i`` through the shipped pipeline, ``gaze`` added to the clip's own (a
    pointer's pull). Returns (frame copy, offsets copy)."""
    synthesis = scene.full if eyes else scene.plain
    frame = synthesis.render([Layer(0, float(i), 1.0)], gaze=np.asarray(gaze, np.float32))
    return frame.copy(), synthesis.offsets.copy()


def eye_crops(img: np.ndarray, pts: np.ndarray, height: int = 160) -> np.ndarray:
    """Both eyes side by side (image-left eye first), each 1.8 x 1.1 eye widths."""
    tiles = []
    for eye in EYES[::-1]:
        c = pts[eye.contour].mean(axis=0)
        w = float(np.linalg.norm(pts[eye.corners[1]] - pts[eye.corners[0]]))
        x0, y0 = np.floor(c - (0.9 * w, 0.55 * w)).astype(int)
        x1, y1 = np.ceil(c + (0.9 * w, 0.55 * w)).astype(int)
        crop = img[max(y0, 0):y1, max(x0, 0):x1]
        tiles.append(cv2.resize(crop, (int(height * 1.8 / 1.1), height),
                                interpolation=cv2.INTER_CUBIC))
    return np.hstack(tiles)


def save(rows: list[tuple[str, np.ndarray]], path: Path) -> None:
    out = []
    for label, tile in rows:
        tile = cv2.cvtColor(tile, cv2.COLOR_RGB2BGR)
        cv2.putText(tile, label, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 255, 255), 2)
        out.append(tile)
    width = max(t.shape[1] for t in out)
    out = [cv2.copyMakeBorder(t, 0, 0, 0, width - t.shape[1], cv2.BORDER_CONSTANT) for t in out]
    cv2.imwrite(str(path), np.vstack(out))
    print(f"wrote {path}")


@pytest.fixture(scope="module")
def show_dir(tmp_path_factory) -> Path:
    folder = os.environ.get("EYES_SHOW_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        return Path(folder)
    return tmp_path_factory.mktemp("eyes")


def detected_ear(frame: np.ndarray) -> float:
    """The eye aspect ratio the face mesh reads on ``frame``: both eyes' mean lid gap across
    the eye over its width (``eye_aspect_ratios``, the measure the engine reads a driver's
    closure with; ~0.3 open). Across, because on some faces the mesh's lid pairs are not
    above one another: see ``test_the_measure_reads_a_real_closed_eye_as_closed``."""
    faces = detect_faces(frame)
    assert faces, "no face found on the output"
    return float(eye_aspect_ratios(faces[0]).mean())


def straight_ear(frame: np.ndarray) -> float:
    """The common single-pair reading, |159 - 145| / |33 - 133| (both eyes' mean), straight
    distances: printed beside ``detected_ear`` for comparison."""
    d = detect_faces(frame)[0]
    pairs = ((159, 145, 33, 133), (386, 374, 362, 263))
    return float(np.mean([np.linalg.norm(d[u] - d[v]) / np.linalg.norm(d[a] - d[b])
                          for u, v, a, b in pairs]))


def most_closed_frame(pack) -> int:
    return int(np.argmin(eye_aspect_ratios(pack.landmarks).mean(axis=1)))


@pytest.mark.parametrize("photo_name", ["s42", "s9"])
def test_eye_topology_matches_real_faces(photo_name, pack_cache):
    """The lid pairs and skin rings (reactive.core.landmarks.EYES) on a real face: each column runs from the
    brow down, and the redrawn lid patch uses exactly the warp's own triangles."""
    scene = make_scene(photo_name, pack_cache("d3"))
    p = scene.points
    for eye in EYES:
        w = np.linalg.norm(p[eye.corners[1]] - p[eye.corners[0]])
        # (Towards the corners the crease ring meets the first ring; on the Mona Lisa they
        # cross by a pixel. No triangle folds when the lids close: checked below.)
        assert np.all(p[eye.crease[2:5], 1] < p[eye.upper_skin[2:5], 1])
        assert np.all(p[eye.upper_skin, 1] < p[eye.upper, 1])
        assert np.all(p[eye.upper, 1] < p[eye.lower, 1])
        assert np.all(p[eye.lower, 1] < p[eye.lower_skin, 1])
        assert np.all(np.abs(p[eye.upper, 0] - p[eye.lower, 0]) < 0.12 * w)
        assert np.all(np.diff(p[eye.upper, 0]) > 0) and np.all(np.diff(p[eye.lower, 0]) > 0)
    rig_tris = {tuple(sorted(t)) for t in scene.rig.triangles.tolist()}
    for model in scene.full.eyes.eyes:
        for t in model.patch_ids[model.patch_tris]:
            assert tuple(sorted(int(v) for v in t)) in rig_tris
    # Closing both eyes on the photo folds no triangle of the warp: the opening's triangles
    # go flat (zero area), every other keeps its orientation.
    rig = scene.rig
    off = np.zeros((len(rig.rest), 2), np.float32)
    close_lids(off[:rig.n_face], rig.rest[:rig.n_face], np.array([1.0, 1.0]))
    before = signed_areas(rig.rest.astype(np.float64), rig.triangles)
    after = signed_areas((rig.rest + off).astype(np.float64), rig.triangles)
    in_opening = np.zeros(len(rig.triangles), bool)
    for eye in EYES:
        in_opening |= np.isin(rig.triangles, eye.contour).all(axis=1)
    assert np.all(np.abs(after[in_opening]) < 1e-2 * np.abs(before[in_opening]) + 1e-3)
    assert np.all(after[~in_opening] * before[~in_opening] > 0)


def paste_eyes(dst: np.ndarray, dst_points: np.ndarray, src: np.ndarray,
               src_points: np.ndarray) -> np.ndarray:
    """``dst`` with both eyes of ``src`` pasted over its own: each eye region (an ellipse
    1.5 x 0.7 eye widths) carried by the similarity of the eye corners, its colour matched
    to ``dst`` there (Lab mean and spread), feathered in. Returns a new (H, W, 3) uint8."""
    out = dst.astype(np.float32)
    h, w = dst.shape[:2]
    for eye in EYES:
        a, b = eye.corners
        z = complex(*(dst_points[b] - dst_points[a])) / complex(*(src_points[b] - src_points[a]))
        m = np.array([[z.real, -z.imag, 0.0], [z.imag, z.real, 0.0]])
        m[:, 2] = dst_points[a] - m[:, :2] @ src_points[a]
        moved = cv2.warpAffine(src, m, (w, h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
        width = float(np.linalg.norm(dst_points[b] - dst_points[a]))
        centre = dst_points[eye.contour].mean(axis=0)
        mask = np.zeros((h, w), np.uint8)
        angle = float(np.degrees(np.arctan2(*(dst_points[b] - dst_points[a])[::-1])))
        cv2.ellipse(mask, tuple(int(v) for v in np.round(centre)),
                    (int(0.75 * width), int(0.35 * width)), angle, 0, 360, 255, -1)
        inside = mask > 0
        lab_src = cv2.cvtColor(moved, cv2.COLOR_RGB2LAB).astype(np.float32)
        lab_dst = cv2.cvtColor(dst, cv2.COLOR_RGB2LAB).astype(np.float32)
        for c in range(3):
            s_, d_ = lab_src[inside, c], lab_dst[inside, c]
            lab_src[..., c] = (lab_src[..., c] - s_.mean()) / max(s_.std(), 1e-3) * d_.std() \
                + d_.mean()
        moved = cv2.cvtColor(np.clip(lab_src, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)
        soft = cv2.GaussianBlur(inside.astype(np.float32), (0, 0), 0.1 * width)[..., None]
        out = moved * soft + out * (1.0 - soft)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("photo_name", ["s42", "s9", "s0"])
def test_the_measure_reads_a_real_closed_eye_as_closed(photo_name, pack_cache):
    """The instrument itself, on each face: the driver's own eyes from d3 (a real person,
    closed on its most closed frame, open on its neutral one) pasted onto the photo must read
    closed (< 0.1) and open (> 0.2). The straight 159-145 distance, printed beside it, does
    not pass this on the Mona Lisa: there the middle lid pair sits 0.12-0.15 eye widths
    apart along the eye, so even a real closed eye reads above 0.1 that way."""
    from reactive.io.video import VideoReader

    pack = pack_cache("d3")
    closed = most_closed_frame(pack)
    wanted = {pack.neutral_index: "open", closed: "closed"}
    frames = {}
    with VideoReader(shared_path("driving", "d3.mp4")) as video:
        for i, frame in enumerate(video):
            if i in wanted:
                frames[wanted[i]] = (frame, pack.landmarks[i].astype(np.float64))
            if len(frames) == len(wanted):
                break
    photo = load_photo(shared_path("portraits", f"{photo_name}.jpg"))
    points = find_target_face(photo).astype(np.float64)
    read = {}
    for label, (frame, driver_points) in frames.items():
        pasted = paste_eyes(photo, points, frame, driver_points)
        read[label] = (detected_ear(pasted), straight_ear(pasted))
    print(f"{photo_name} with d3's eyes pasted on: "
          + ", ".join(f"{k} {v[0]:.3f} (straight 159-145: {v[1]:.3f})" for k, v in read.items()))
    assert read["closed"][0] < 0.1
    assert read["open"][0] > 0.2


@pytest.mark.parametrize("photo_name", ["s42", "s9"])
def test_blink_eye_aspect_ratio_on_the_output(photo_name, pack_cache, show_dir):
    pack = pack_cache("d3")
    scene = make_scene(photo_name, pack)
    closed = most_closed_frame(pack)
    neutral = pack.neutral_index
    ear = {}
    rows = []
    for label, i in (("open", neutral), ("closed", closed)):
        frame, off = render(scene, pack, i)
        plain, _ = render(scene, pack, i, eyes=False)
        ear[label] = detected_ear(frame)
        ear[label + " (Eq. 1 only)"] = detected_ear(plain)
        ear[label + " (straight 159-145)"] = straight_ear(frame)
        now = points_now(scene, off)
        rows.append((f"{photo_name} frame {i} Eq.1 only", eye_crops(plain, now)))
        rows.append((f"{photo_name} frame {i} + eyes", eye_crops(frame, now)))
    # Partial closures: the lids slide over the iris, which keeps its shape.
    c = scene.closure.min(axis=1)
    for target in (0.3, 0.6, 0.85):
        i = int(np.argmin(np.abs(c - target)))
        frame, off = render(scene, pack, i)
        rows.append((f"frame {i} closure {c[i]:.2f}", eye_crops(frame, points_now(scene, off))))
    save(rows, show_dir / f"blink_{photo_name}.png")
    print(f"{photo_name} x d3: eye aspect ratio on the output, frame {closed} (driver "
          f"{eye_aspect_ratios(pack.landmarks[closed]).mean():.3f}): "
          + ", ".join(f"{k} {v:.3f}" for k, v in ear.items()))
    # Every third frame where the driver's eyes are fully closed (both closures >= 0.98):
    # blinks and longer closures, frontal and with the head turned or bowed. One frame
    # alone says little: on these the face mesh's reading of a closed eye spreads over
    # 0.02-0.11 on the output (0.01-0.13 on the driver's own frames), and the most closed
    # frame of the Mona Lisa (230, her head bowed) reads 0.097-0.100 from one version of
    # the lid fill to the next with no visible change. The single-frame check is the
    # built-in blink's (test_synthetic_blink_closes_the_eyes_on_the_output).
    full = np.flatnonzero(scene.closure.min(axis=1) >= 0.98)[::3]
    reads = np.array([detected_ear(render(scene, pack, int(i))[0]) for i in full])
    print(f"{photo_name} x d3, {len(full)} fully closed frames: read median "
          f"{np.median(reads):.3f}, 90th percentile {np.percentile(reads, 90):.3f}, max "
          f"{reads.max():.3f} (frame {full[reads.argmax()]}), {np.mean(reads < 0.1):.0%} "
          "below 0.1")
    assert ear["open"] > 0.2
    assert np.median(reads) < 0.1


def render_like_the_player(photo_name: str, pack, frames):
    """Frames of ``pack`` on the photo through the shipped pipeline with the eyes (lids
    closed by the clip's closure, eyes repainted). Returns [(frame, points)]."""
    scene = make_scene(photo_name, pack)
    out = []
    for i in frames:
        frame, off = render(scene, pack, i)
        out.append((frame, points_now(scene, off)))
    return out


@pytest.mark.parametrize("photo_name", ["s42", "s9"])
def test_synthetic_blink_closes_the_eyes_on_the_output(photo_name, show_dir):
    """The built-in blink clip (assets/clips/blink.npz, procedural: the driver's geometry
    closes fully) through the player's path: the face mesh on the output must read the
    eyes as closed at the clip's most closed frame, open at its neutral one."""
    from reactive.io.clippack import load_pack

    pack = load_pack(BUILTIN_CLIPS_DIR / "blink.npz")
    ratios = eye_aspect_ratios(pack.landmarks).mean(axis=1)
    closed = int(np.argmin(ratios))
    # The whole blink, to see that the lid skin fades in without a pop.
    frames = [pack.neutral_index] + list(range(max(closed - 3, 0), closed + 4))
    rendered = render_like_the_player(photo_name, pack, frames)
    ear = {i: detected_ear(f) for i, (f, _) in zip(frames, rendered)}
    save([(f"{photo_name} blink frame {i} (driver {ratios[i]:.2f}) read {ear[i]:.3f}",
           eye_crops(f, now)) for i, (f, now) in zip(frames, rendered)],
         show_dir / f"synthetic_blink_{photo_name}.png")
    print(f"{photo_name} x blink.npz: eye aspect ratio on the output, open (frame "
          f"{pack.neutral_index}) {ear[pack.neutral_index]:.3f}, closed (frame {closed}) "
          f"{ear[closed]:.3f} (straight 159-145: {straight_ear(rendered[frames.index(closed)][0]):.3f})")
    assert ear[pack.neutral_index] > 0.2
    assert ear[closed] < 0.1


def mark_openings_green(photo: np.ndarray, points: np.ndarray) -> np.ndarray:
    """A copy of ``photo`` with both eye openings (contours at ``points``) painted green."""
    marked = photo.copy()
    for eye in EYES:
        mask = np.zeros(photo.shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round(points[eye.contour] * 16).astype(np.int32)], 1,
                     cv2.LINE_8, 4)
        marked[mask > 0] = (0, 255, 0)
    return marked


@pytest.mark.parametrize("warp", ["exact", "grid"])
@pytest.mark.parametrize("photo_name", ["s42", "s9"])
def test_closed_eyes_show_nothing_of_the_eye(photo_name, warp, pack_cache):
    """Every pixel of the photo's eye openings is marked green; on the most closed frame of
    the clip, not one green pixel may reach the output (the warp alone lets a band through
    where the squashed opening is sampled; the layer redraws the lids)."""
    pack = pack_cache("d3")
    real = load_photo(shared_path("portraits", f"{photo_name}.jpg"))
    points = find_target_face(real)
    marked = mark_openings_green(real, points)
    scene = make_scene(photo_name, pack, photo=marked, grid=warp == "grid")
    closed = most_closed_frame(pack)

    def green(img):
        return int(((img[..., 1] > 200) & (img[..., 0] < 80) & (img[..., 2] < 80)).sum())

    with_eyes, off = render(scene, pack, closed)
    plain, _ = render(scene, pack, closed, eyes=False)
    lids_only = scene.full.warper(off).copy()  # lids closed, no layer: the warp's own leak
    print(f"{photo_name} x d3 frame {closed}, {warp} warp: green (eye-opening) pixels: "
          f"Eq. 1 only {green(plain)}, lids closed but no layer {green(lids_only)}, "
          f"with the layer {green(with_eyes)}")
    assert green(plain) > 0  # the marking works: Eq. 1 alone leaves the eye partly open
    assert green(with_eyes) == 0


def _mesh(frame: np.ndarray) -> np.ndarray:
    faces = detect_faces(frame)
    assert faces
    return faces[0]


def _iris_and_lids(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    faces = detect_faces(frame)
    assert faces
    d = faces[0]
    iris = np.stack([d[e.iris] for e in EYES])                    # (2, 2)
    lids = d[np.concatenate([e.contour for e in EYES])]           # (32, 2)
    return iris, lids


@pytest.mark.parametrize("photo_name", ["s42", "s9"])
def test_gaze_follows_the_pointer(photo_name, pack_cache, show_dir):
    pack = pack_cache("d3")
    scene = make_scene(photo_name, pack)
    i = pack.neutral_index       # the resting face: any motion is the gaze's
    base, off = render(scene, pack, i)
    now = points_now(scene, off)
    h, w = base.shape[:2]
    mid = now[np.concatenate([e.contour for e in EYES])].mean(axis=0)
    eye_w = float(np.mean([np.linalg.norm(now[e.corners[1]] - now[e.corners[0]])
                           for e in EYES]))
    iris0, lids0 = _iris_and_lids(base)
    # The lids follow the gaze up and down (lids.lids_follow_gaze): the warp's triangles
    # around the lid patches may change, nothing beyond them.
    outside = np.ones(base.shape[:2], bool)
    rig = scene.rig
    patches = np.concatenate([e.lid_patch for e in EYES])
    around = rig.triangles[np.isin(rig.triangles, patches).any(axis=1)]
    m = np.zeros(base.shape[:2], np.uint8)
    for t in (rig.rest + off)[around]:
        cv2.fillConvexPoly(m, np.round(t * 16).astype(np.int32), 1, cv2.LINE_8, 4)
    outside &= cv2.dilate(m, np.ones((3, 3), np.uint8), iterations=2) == 0
    pointers = {"left": (0.0, mid[1]), "right": (w - 1.0, mid[1]), "up": (mid[0], 0.0)}
    rows = [("rest", eye_crops(base, now))]
    for name, ptr in pointers.items():
        follower = GazeFollower()
        target = pointer_gaze(np.array(ptr), now)
        for _ in range(30):                     # one second at 30 fps, fake clock
            gaze = follower.update(target, 1 / 30)
        frame, _ = render(scene, pack, i, gaze=gaze)
        iris, lids = _iris_and_lids(frame)
        moved = (iris - iris0).mean(axis=0) / eye_w
        lid_moves = np.linalg.norm(lids - lids0, axis=1)
        rows.append((f"pointer {name}, gaze ({gaze[0]:+.2f}, {gaze[1]:+.2f})",
                     eye_crops(frame, now)))
        print(f"{photo_name} pointer {name}: gaze {np.round(gaze, 3)} eye widths; iris centre "
              f"moved ({moved[0]:+.3f}, {moved[1]:+.3f}) eye widths "
              f"({moved[0] * eye_w:+.1f}, {moved[1] * eye_w:+.1f} px, eye width "
              f"{eye_w:.0f} px); lid landmarks moved median {np.median(lid_moves):.2f} px, "
              f"max {lid_moves.max():.2f} px")
        # The rest of the face is untouched, pixel for pixel.
        np.testing.assert_array_equal(frame[outside], base[outside])
        if name == "up":
            # The upper lid lifts a little with the eyes (the face mesh reads it).
            upper = np.concatenate([e.upper for e in EYES])
            lifted = float((_mesh(frame)[upper, 1] - _mesh(base)[upper, 1]).mean())
            print(f"{photo_name} pointer up: upper lid moved {lifted:+.2f} px")
            assert lifted < 0.0
            assert -0.2 < moved[1] < -0.02
            assert abs(moved[0]) < 0.05
        else:
            # Looking sideways the lids stay where they were. The face mesh's lid points
            # still drift with the iris it sees (its model couples them; on the unchanged
            # photo with noise of 2 grey levels they move 0.3 px): 1.3-2.0 px median at
            # the largest gaze on s42 and s9.
            assert np.median(lid_moves) < 2.1
            if name == "left":
                assert -0.3 < moved[0] < -0.05
            else:
                assert 0.05 < moved[0] < 0.3
    save(rows, show_dir / f"gaze_{photo_name}.png")


@pytest.mark.parametrize("photo_name", ["s42", "s9"])
def test_no_eye_pixel_ever_shows_outside_the_current_opening(photo_name, pack_cache):
    """The whole clip (winks, blinks, squints, surprise) with a wandering gaze: the photo's
    eye openings are marked green, and in no frame may a green pixel (white of the eye or
    iris) lie outside the current opening, i.e. over a lid."""
    pack = pack_cache("d3")
    real = load_photo(shared_path("portraits", f"{photo_name}.jpg"))
    points = find_target_face(real)
    marked = mark_openings_green(real, points)
    scene = make_scene(photo_name, pack, photo=marked)
    bad = []
    for i in range(pack.frame_count):
        gaze = (0.15 * np.sin(i / 10), 0.08 * np.cos(i / 7))
        frame, off = render(scene, pack, i, gaze=gaze)
        now = points_now(scene, off)
        inside = np.zeros(frame.shape[:2], np.uint8)
        for eye in EYES:
            cv2.fillPoly(inside, [np.round(now[eye.contour] * 16).astype(np.int32)], 1,
                         cv2.LINE_8, 4)
        inside = cv2.dilate(inside, np.ones((3, 3), np.uint8)) > 0
        green = (frame[..., 1] > 200) & (frame[..., 0] < 80) & (frame[..., 2] < 80)
        if (green & ~inside).any():
            bad.append((i, int((green & ~inside).sum())))
    print(f"{photo_name} x d3: frames with eye pixels outside the opening: {len(bad)} of "
          f"{pack.frame_count} {bad[:5]}")
    assert not bad


@pytest.mark.parametrize("photo_name", ["s10", "s8", "s42"])
def test_the_far_eye_of_a_turned_head_closes(photo_name):
    """s10 (the Girl with a Pearl Earring) and s8 look over their shoulder: in 2D the far
    side of the face folds over the far eye (its temple point 127 lies on her iris). Those
    points stay out of the triangulation (``folded_over_eyes``; none on the frontal s42), so
    no triangle from the lids to them flips as the lids close and the Unfolder does not hold
    the far eye open: at the built-in blink's most closed frame both openings are closed."""
    from reactive.core.geometry import polygon_area
    from reactive.core.lids import folded_over_eyes
    from reactive.io.clippack import load_pack
    from reactive.params import EyeParams

    pack = load_pack(BUILTIN_CLIPS_DIR / "blink.npz")
    closed = int(np.argmin(eye_aspect_ratios(pack.landmarks).mean(axis=1)))
    photo = load_photo(shared_path("portraits", f"{photo_name}.jpg"))
    points = find_target_face(photo)
    folded = np.flatnonzero(folded_over_eyes(points))
    rig = build_rig(photo, points, pack)
    closure = lid_closure(pack.landmarks, pack.neutral_index)[closed]
    now = rig.rest + frame_offsets(rig, pack, closed, closure=closure)  # Unfolder included
    left_open = [polygon_area(now[e.contour].astype(np.float64))
                 / polygon_area(rig.rest[e.contour].astype(np.float64)) for e in EYES]
    print(f"{photo_name}: points folded over an eye {folded.tolist()}; at the blink's frame "
          f"{closed} the openings keep {np.round(left_open, 3).tolist()} of their area")
    assert (len(folded) > 0) == (photo_name != "s42")
    assert max(left_open) < EyeParams().closed_area_frac


# Issue 11, "Gaze like a person's": the pointer at each corner and edge midpoint of the
# photo, through the live player (build_player; Player.handle takes the pointer, its
# pointer_pull turns the eyes and the head, FrameSynthesis draws the face at rest).
GAZE_PORTRAITS = ["s0", "s1", "s7", "s9", "s10", "s12", "s42", "sample"]


@pytest.mark.parametrize("photo_name", GAZE_PORTRAITS)
def test_pointer_at_the_edges_keeps_the_iris_in_the_opening(photo_name, show_dir, monkeypatch,
                                                            tmp_path):
    """Wherever the pointer is, the iris centre the face mesh reads on the output lies
    inside the opening it reads, at most 0.3 eye widths from the opening's centroid, and
    the white of each eye is never more than 10% brighter than the photo's own white at
    rest (``quality.sclera_brightness``: the mean over the white in view, and over the
    white the moving iris uncovered, the eye layer's own making). An eye showing fewer than
    8 pixels of white at rest (s0's, 18 px wide) is reported, not judged. On s7, a cartoon
    whose drawn eyes are larger than the face mesh's contours, the white is read over the
    drawn opening the eye layer found (``GazeLayer.openings``; the contour holds only the
    drawn eye's shaded corners). Its white is graded (luma ~165 in the corners, 208-215
    beside the iris): the iris moved over a dark corner leaves mostly the bright middle in
    view (+15.6% with the pointer top-right before the eye layer held the white in view to
    its brightness at rest, ``EyeParams.white_brighten_max``)."""
    monkeypatch.setenv("REACTIVE_CACHE", str(tmp_path / "cache"))
    path = SAMPLE_PORTRAIT if photo_name == "sample" else shared_path("portraits",
                                                                      f"{photo_name}.jpg")
    player = build_player(path, seed=0)
    rest = player.rig.target_points
    rows, worst = [], {"dist": 0.0, "outside": 0, "mean": -np.inf, "uncovered": -np.inf}
    for label, xy in edge_points(player.rig.photo.shape).items():
        r = pointer_gaze_check(player, xy)
        assert r["face_found"], f"no face on the output with the pointer {label}"
        mean = r["sclera"] / r["sclera_rest"] - 1.0
        uncovered = r["uncovered"] / r["sclera_rest"] - 1.0
        print(f"{photo_name} pointer {label:12s} gaze {np.round(r['gaze'], 3)} head "
              f"{np.round(np.degrees(r['head']), 1)} deg; iris from the opening's centre "
              f"{np.round(r['iris_dist'], 3)} eye widths, inside {r['inside'].tolist()}; "
              f"white vs the photo's {np.round(100 * mean, 1)}%, uncovered "
              f"{np.round(100 * uncovered, 1)}%")
        worst["dist"] = max(worst["dist"], float(np.max(r["iris_dist"])))
        worst["outside"] += int((~r["inside"]).sum())
        for key, v in (("mean", mean), ("uncovered", uncovered)):
            if np.isfinite(v).any():
                worst[key] = max(worst[key], float(np.nanmax(v)))
        rows.append((f"{photo_name} pointer {label}", eye_crops(r["frame"], rest)))
    save(rows, show_dir / f"pointer_{photo_name}.png")
    print(f"{photo_name}: iris at most {worst['dist']:.3f} eye widths from the centre, "
          f"{worst['outside']} outside the opening; white at most {worst['mean']:+.1%} "
          f"(uncovered {worst['uncovered']:+.1%}) against the photo's")
    assert worst["outside"] == 0
    assert worst["dist"] <= 0.3
    if photo_name == "s0":
        assert not np.isfinite(r["sclera_rest"]).any()  # too small to judge, as documented
        return
    assert worst["mean"] <= 0.10
    assert worst["uncovered"] <= 0.10


@pytest.mark.parametrize("photo_name", GAZE_PORTRAITS)
def test_wide_eyes_show_no_new_white(photo_name, show_dir, monkeypatch, tmp_path):
    """Issue 11: surprise opens the eyes wide; the white it shows is the photo's, no brighter
    than the photo's own white at rest by more than 10% (``quality.sclera_brightness``),
    and no crisp rim of white runs round the opening: the band along the opening's edge
    (``quality.rim_brightness``, 0.06 eye widths, where the lash line and the lids' shadow
    are) stays no brighter than it is on the photo by more than 10%. The built-in surprise
    clip at its peak, through the live player. s0's eyes (18 px) show too little white to
    judge: reported only."""
    monkeypatch.setenv("REACTIVE_CACHE", str(tmp_path / "cache"))
    path = SAMPLE_PORTRAIT if photo_name == "sample" else shared_path("portraits",
                                                                      f"{photo_name}.jpg")
    player = build_player(path, seed=0)
    r = clip_white_check(player, "surprise")
    white = r["sclera"] / r["sclera_rest"] - 1.0
    rim = r["rim"] / r["rim_rest"] - 1.0
    print(f"{photo_name} surprise frame {r['index']}: white vs the photo's "
          f"{np.round(100 * white, 1)}%, opening's edge vs the photo's {np.round(100 * rim, 1)}%")
    save([(f"{photo_name} surprise #{r['index']}", eye_crops(r["frame"], player.synthesis.points_now)),
          (f"{photo_name} photo", eye_crops(player.rig.photo, player.rig.target_points))],
         show_dir / f"surprise_{photo_name}.png")
    assert np.isfinite(rim).all()
    assert np.max(rim) <= 0.10
    if photo_name == "s0":
        return
    assert np.nanmax(white) <= 0.10
