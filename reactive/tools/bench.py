"""``reactive bench [--size N]``: the live player's per-frame synthesis, timed.

Runs the real path (``Player.render``: state machine, blended offsets, blended ratio
images, grid warp, mouth interior, eyes) on an N x N photo (the bundled sample, or
``--photo``, resized) with the built-in clips (or ``--clips``), cycling through every
emotion with a trigger every second so that transitions, open mouths and ratio images are
all in the measured frames. The baseline is one ``cv2.remap`` of the same frame with the
same per-pixel map the player computed, measured in the same run. The last line is

    synthesis_fps=<float> remap_ratio=<float>

(ratio = median synthesis time / median remap time).
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from reactive.errors import InputError
from reactive.io.assets import SAMPLE_PORTRAIT
from reactive.io.photo import load_photo
from reactive.live.build import build_player
from reactive.live.triggers import Event


def run(args: argparse.Namespace) -> int:
    """Run ``reactive bench`` (arguments from ``tools.cli``); prints the figures."""
    if not 64 <= args.size <= 4096:
        raise InputError(f"--size {args.size}: expected 64-4096")
    if args.frames < 10:
        raise InputError(f"--frames {args.frames}: expected at least 10")
    source = args.photo or SAMPLE_PORTRAIT
    photo = load_photo(source, max_side=None)
    photo = cv2.resize(photo, (args.size, args.size), interpolation=cv2.INTER_AREA)
    player = build_player(source, clips_dir=args.clips, seed=0, photo=photo,
                          still_background=not args.warp_background)
    emotions = list(player.triggers.emotions) or player.state_names
    fps = player.params.fps
    # Warm up (numba kernels load from their cache; every clip's first frame touches its
    # buffers), as the window does before showing the portrait.
    player.warm_up()
    for n in range(5):
        player.render(n / fps)
    times = np.empty(args.frames)
    for n in range(args.frames):
        now = (n + 5) / fps
        if n % int(fps) == 0:
            name = emotions[(n // int(fps)) % len(emotions)]
            player.handle(Event(now, "pointer", x=(n * 7) % args.size, y=args.size / 3), now)
            player.play(name, now)
        t = time.perf_counter()
        player.render(now)
        times[n] = time.perf_counter() - t
    pixel_map = player.synthesis.warper.pixel_map.copy()
    out = np.empty_like(photo)
    remap = np.empty(args.frames)
    for n in range(args.frames):
        t = time.perf_counter()
        cv2.remap(photo, pixel_map, None, cv2.INTER_LINEAR, dst=out,
                  borderMode=cv2.BORDER_REPLICATE)
        remap[n] = time.perf_counter() - t
    synth_ms = float(np.median(times)) * 1e3
    remap_ms = float(np.median(remap)) * 1e3
    background = ("still background" if player.rig.backdrop is not None
                  else "whole photo warped")
    print(f"photo {args.size}x{args.size}, {background}, {len(player.clips)} clips "
          f"({', '.join(player.state_names)}), {args.frames} frames")
    print(f"synthesis median {synth_ms:.2f} ms, p95 {np.percentile(times, 95) * 1e3:.2f} ms, "
          f"max {times.max() * 1e3:.2f} ms; cv2.remap median {remap_ms:.2f} ms")
    print(f"synthesis_fps={1e3 / synth_ms:.1f} remap_ratio={synth_ms / remap_ms:.2f}")
    return 0
