"""Make ``docs/readme_figure.png``: an input photo and frames the project renders from it.

Run from the repository root::

    .venv/bin/python docs/make_readme_figure.py

The only image used is public domain; no project test media (``../shared/data``) is used.

How the figure is made
----------------------
1. The photo is scikit-image's ``astronaut`` (Eileen Collins, NASA, public domain), loaded with
   ``skimage.data.astronaut()``. scikit-image is *not* a project dependency; install it into the
   venv first (``.venv/bin/pip install scikit-image``). Without it the script exits with code 2.
2. A driving video is synthesized from the astronaut photo itself (there is no real driving
   clip): MediaPipe landmarks (``reactive.io.tracker.detect_faces``) locate the mouth corners,
   lips and brows; each frame warps the photo with a smooth displacement field (Gaussian bumps:
   mouth corners pulled out and up, cheeks raised, lower lip lowered, brows raised) and a small
   head tilt about the face centre that fades out away from the head. An ease-in/ease-out
   envelope makes frame 0 and the last frame neutral. Frames are rendered with ``cv2.remap``
   and written as H.264 with ``reactive.video.VideoWriter``.
3. The target photo is a *different* image from the one the video was made from: the astronaut
   mirrored left-right and cropped closer around the face (so the face is larger and on the
   other side). The project's real command line animates it::

       python -m reactive.cli render target.png --driving driving.mp4 -o out/f.png -q

   which tracks the video, builds the clip pack and writes numbered PNG frames.
4. The figure: top row, face crops of 4 driving frames (#0 neutral, #11 rising, #26 peak,
   #40 easing back); bottom row, the target photo and the output frames #11, #26, #40, each
   row at one fixed crop. Saved as a 256-colour palette PNG to stay small.

The result is deterministic (fixed parameters, no randomness).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

try:
    import skimage.data
except ImportError:
    print("error: scikit-image is needed for the public-domain astronaut photo (it is not a "
          "project dependency); install it with: .venv/bin/pip install scikit-image",
          file=sys.stderr)
    sys.exit(2)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reactive.core.landmarks import LEFT_BROW, RIGHT_BROW, detect_faces  # noqa: E402
from reactive.io.video import VideoWriter  # noqa: E402

OUT = ROOT / "docs" / "readme_figure.png"

# --- synthetic driving clip -------------------------------------------------------------------
FPS = 25
N_FRAMES = 50
RISE = (3, 20)       # smile ramps up over these frames (ease-in/out) ...
FALL = (33, 47)      # ... holds, then ramps back down; neutral again from frame 47
TILT_DEG = 4.0       # head tilt at the peak (positive: counter-clockwise on screen)
CORNER_OUT = 0.10    # mouth-corner pull outward, fraction of mouth width
CORNER_UP = 0.14     # mouth-corner pull upward, fraction of mouth width
CHEEK_UP = 0.06      # cheeks raised, fraction of mouth width
LIP_DOWN = 0.08      # lower lip lowered, fraction of mouth width
BROW_UP = 3.0        # brows raised, pixels
FIGURE_FRAMES = (0, 11, 26, 40)  # driving frames shown: neutral, rising, peak, easing back

# --- target photo: mirrored, tighter crop ------------------------------------------------------
TARGET_CROP = 384    # side of the square crop around the face, resized to TARGET_SIZE
TARGET_SIZE = 512

# --- figure ------------------------------------------------------------------------------------
TILE = 256           # pixels per tile
FACE_CROP = 1.8      # tile side in face heights (landmark 10 forehead to 152 chin)
PALETTE = 256        # the figure is saved as a palette PNG to keep it small (< 400 KB)


def ease(frame: float) -> float:
    """0 at rest, 1 at the peak: smoothstep up over RISE, hold, smoothstep down over FALL."""
    def smooth(x):
        x = min(max(x, 0.0), 1.0)
        return x * x * (3 - 2 * x)
    up = smooth((frame - RISE[0]) / (RISE[1] - RISE[0]))
    down = smooth((frame - FALL[0]) / (FALL[1] - FALL[0]))
    return up * (1.0 - down)


def bump(xx, yy, centre, sigma):
    return np.exp(-((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2) / (2.0 * sigma ** 2))


def expression_field(pts: np.ndarray, shape) -> tuple[np.ndarray, np.ndarray]:
    """Forward displacement (dx, dy) of the full-strength smile, (H, W) float32 each."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    left, right = pts[61], pts[291]           # mouth corners (image left, image right)
    upper, lower = pts[13], pts[14]           # inner lip midpoints
    width = float(np.linalg.norm(right - left))
    dx = np.zeros((h, w), np.float32)
    dy = np.zeros((h, w), np.float32)
    sig_corner = 0.30 * width
    for corner, side in ((left, -1.0), (right, 1.0)):
        g = bump(xx, yy, corner, sig_corner)
        dx += side * CORNER_OUT * width * g
        dy -= CORNER_UP * width * g
        # cheek above-outside the corner rises with the smile
        cheek = corner + np.array([side * 0.25 * width, -0.45 * width])
        dy -= CHEEK_UP * width * bump(xx, yy, cheek, 0.35 * width)
    # lower lip down, gated by a soft step below the lip seam so the upper lip stays put
    seam_y = 0.5 * (upper[1] + lower[1])
    gate = 0.5 * (1.0 + np.tanh((yy - seam_y) / (0.06 * width)))
    dy += LIP_DOWN * width * bump(xx, yy, lower + np.array([0.0, 0.1 * width]), 0.35 * width) * gate
    for brow in (LEFT_BROW, RIGHT_BROW):
        dy -= BROW_UP * bump(xx, yy, pts[brow].mean(axis=0), 0.35 * width)
    return dx, dy


def synthesize_driving(photo: np.ndarray, pts: np.ndarray, path: Path) -> list[np.ndarray]:
    """Write the synthetic driving clip to `path`; returns its frames (RGB uint8)."""
    h, w = photo.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dx, dy = expression_field(pts, (h, w))
    centre = pts.mean(axis=0)
    face_h = float(np.linalg.norm(pts[152] - pts[10]))
    # the tilt fades out away from the head so the far background stays still
    tilt_weight = bump(xx, yy, centre + np.array([0.0, 0.3 * face_h]), 1.6 * face_h)
    frames = []
    with VideoWriter(path, fps=FPS) as writer:
        for i in range(N_FRAMES):
            s = ease(i)
            # inverse of the tilt: rotate each output pixel back about the face centre
            a = -np.deg2rad(TILT_DEG * s) * tilt_weight
            ox, oy = xx - centre[0], yy - centre[1]
            # image y points down, so a screen-counter-clockwise tilt is a negative angle here
            mx = centre[0] + np.cos(a) * ox + np.sin(a) * oy
            my = centre[1] - np.sin(a) * ox + np.cos(a) * oy
            # inverse of the expression field at the un-tilted position (small, smooth field)
            mx_e = cv2.remap(dx, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            my_e = cv2.remap(dy, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            map_x = (mx - s * mx_e).astype(np.float32)
            map_y = (my - s * my_e).astype(np.float32)
            frame = cv2.remap(photo, map_x, map_y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
            writer.write(frame)
            frames.append(frame)
    return frames


def make_target(photo: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """The astronaut mirrored and cropped closer around the face: a different photo to drive."""
    h, w = photo.shape[:2]
    flipped = photo[:, ::-1]
    cx = w - 1 - float(pts[:, 0].mean())
    cy = float(pts[:, 1].mean())
    x0 = int(round(min(max(cx - TARGET_CROP / 2, 0), w - TARGET_CROP)))
    y0 = int(round(min(max(cy - TARGET_CROP / 2, 0), h - TARGET_CROP)))
    crop = flipped[y0:y0 + TARGET_CROP, x0:x0 + TARGET_CROP]
    return cv2.resize(np.ascontiguousarray(crop), (TARGET_SIZE, TARGET_SIZE),
                      interpolation=cv2.INTER_AREA)


def face_tile(image: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """A TILE x TILE crop centred on the face (fixed per image sequence)."""
    face_h = float(np.linalg.norm(pts[152] - pts[10]))
    side = FACE_CROP * face_h
    cx, cy = pts[:, 0].mean(), pts[:, 1].mean()
    s = TILE / side
    m = np.array([[s, 0, TILE / 2 - s * cx], [0, s, TILE / 2 - s * cy]], np.float32)
    return cv2.warpAffine(image, m, (TILE, TILE), flags=cv2.INTER_AREA,
                          borderMode=cv2.BORDER_REPLICATE)


def label(tile: np.ndarray, text: str) -> np.ndarray:
    tile = tile.copy()
    font, scale, thick = cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1
    (tw, th), base = cv2.getTextSize(text, font, scale, thick)
    cv2.rectangle(tile, (0, 0), (tw + 10, th + base + 8), (0, 0, 0), -1)
    cv2.putText(tile, text, (5, th + 5), font, scale, (255, 255, 255), thick, cv2.LINE_AA)
    return tile


def main() -> int:
    astronaut = skimage.data.astronaut()  # (512, 512, 3) uint8 RGB, public domain (NASA)
    faces = detect_faces(astronaut)
    if not faces:
        print("error: no face found in the astronaut photo", file=sys.stderr)
        return 1
    pts = faces[0]
    with tempfile.TemporaryDirectory(prefix="readme_figure_") as tmp:
        tmp = Path(tmp)
        driving_path = tmp / "driving.mp4"
        driving = synthesize_driving(astronaut, pts, driving_path)
        target = make_target(astronaut, pts)
        target_path = tmp / "target.png"
        cv2.imwrite(str(target_path), cv2.cvtColor(target, cv2.COLOR_RGB2BGR))
        out_dir = tmp / "out"
        out_dir.mkdir()
        cmd = [sys.executable, "-m", "reactive.cli", "render", str(target_path),
               "--driving", str(driving_path), "-o", str(out_dir / "f.png"), "-q"]
        subprocess.run(cmd, check=True, cwd=ROOT)
        outputs = sorted(out_dir.glob("f_*.png"))
        if len(outputs) != N_FRAMES:
            print(f"error: expected {N_FRAMES} output frames, got {len(outputs)}", file=sys.stderr)
            return 1
        shown = [cv2.cvtColor(cv2.imread(str(outputs[i])), cv2.COLOR_BGR2RGB)
                 for i in FIGURE_FRAMES[1:]]

    target_pts = detect_faces(target)[0]
    top = [label(face_tile(driving[i], pts), f"driving (synthetic) #{i}") for i in FIGURE_FRAMES]
    bottom = [label(face_tile(target, target_pts), "input photo")]
    bottom += [label(face_tile(f, target_pts), f"output #{i}")
               for f, i in zip(shown, FIGURE_FRAMES[1:])]
    gap = 4
    white = np.full((TILE, gap, 3), 255, np.uint8)

    def row(tiles):
        parts = []
        for t in tiles:
            parts += [t, white]
        return np.hstack(parts[:-1])

    top_row, bottom_row = row(top), row(bottom)
    figure = np.vstack([top_row, np.full((gap, top_row.shape[1], 3), 255, np.uint8), bottom_row])
    Image.fromarray(figure).quantize(PALETTE, method=Image.Quantize.MEDIANCUT,
                                     dither=Image.Dither.FLOYDSTEINBERG).save(OUT, optimize=True)
    print(f"wrote {OUT.relative_to(ROOT)}: {figure.shape[1]}x{figure.shape[0]}, "
          f"{OUT.stat().st_size / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
