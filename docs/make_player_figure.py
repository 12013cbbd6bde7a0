"""Make ``docs/player_figure.png``: the bundled sample portrait reacting with each built-in
emotion, recorded by the project's own headless player.

Run from the repository root::

    .venv/bin/python docs/make_player_figure.py

It runs exactly what a user runs::

    python demo.py --headless --duration D --events EVENTS --record frames/f.png --seed 0

with one key press per emotion (keys 1-9 play the emotions in name order), 3.5 s apart, then
the pointer at the picture's left edge, and takes from the recording the frame where each
emotion's clip is at its most expressive frame (``reactive.core.clip.peak_frame``), plus an idle
frame first and the eyes following the pointer last. Only the bundled public-domain
portrait and the built-in procedural clips are used; nothing from ``../shared``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reactive.core.clip import peak_frame  # noqa: E402
from reactive.live.clips import load_clips  # noqa: E402
from reactive.live.profile import Profile, TriggerMap  # noqa: E402

OUT = ROOT / "docs" / "player_figure.png"
FPS = 30.0
GAP_S = 3.5
TILE = 200


def main() -> int:
    clips = {c.name: c for c in load_clips()}
    emotions = TriggerMap(Profile(), list(clips)).emotions
    events, wanted = [], [("idle", 0.5)]
    for k, name in enumerate(emotions[:9]):
        t = 1.0 + GAP_S * k
        events.append(f"{t:.2f} key {k + 1}")
        pack = clips[name].pack
        wanted.append((name, t + peak_frame(pack) / pack.fps))
    # Last, the eyes follow the pointer to the picture's left edge.
    t = 1.0 + GAP_S * len(events)
    events.append(f"{t:.2f} pointer 0 200")
    wanted.append(("eyes follow the pointer", t + 1.0))
    duration = t + 1.5
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "events.txt"
        script.write_text("\n".join(events) + "\n")
        frames = Path(tmp) / "f.png"
        env = dict(os.environ, REACTIVE_CACHE=str(Path(tmp) / "cache"))
        subprocess.run([sys.executable, str(ROOT / "demo.py"), "--headless", "--duration",
                        f"{duration:.2f}", "--events", str(script), "--record", str(frames),
                        "--seed", "0", "--fps", str(FPS)], check=True, env=env, cwd=ROOT)
        dumped = sorted(Path(tmp).glob("f*.png"))
        tiles = []
        for name, t in wanted:
            n = min(int(round(t * FPS)), len(dumped) - 1)
            img = cv2.imread(str(dumped[n]))
            h, w = img.shape[:2]
            # The sample's face: the upper middle of the picture.
            crop = img[int(0.04 * h):int(0.66 * h), int(0.2 * w):int(0.8 * w)]
            tile = cv2.resize(crop, (TILE, int(TILE * crop.shape[0] / crop.shape[1])),
                              interpolation=cv2.INTER_AREA)
            cv2.rectangle(tile, (0, 0), (8 + 9 * len(name), 20), (0, 0, 0), -1)
            cv2.putText(tile, name, (4, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1,
                        cv2.LINE_AA)
            tiles.append(tile)
    per_row = 4
    rows = []
    for i in range(0, len(tiles), per_row):
        row = tiles[i:i + per_row]
        row += [np.zeros_like(tiles[0])] * (per_row - len(row))
        rows.append(np.hstack(row))
    sheet = cv2.cvtColor(np.vstack(rows), cv2.COLOR_BGR2RGB)
    Image.fromarray(sheet).quantize(256).save(OUT, optimize=True)
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
