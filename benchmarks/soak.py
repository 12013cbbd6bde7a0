"""Soak: the live player for a long while, headless, with a random trigger every second.

Runs the same loop as ``python demo.py --headless`` (simulated clock, frames rendered and
discarded, so it measures the player, not a video encoder) and prints resident memory
(start, every minute, end) and whether anything raised. Usage::

    python benchmarks/soak.py [--minutes 10] [--photo PHOTO] [--clips DIR] [--size 512]

Memory must stay flat: every per-frame buffer is allocated once.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402


def rss_mb() -> float:
    """Current resident set size (Linux /proc), MB."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    from reactive.io.assets import SAMPLE_PORTRAIT
    from reactive.live.build import build_player
    from reactive.live.triggers import KEY_NAMES, Event

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--photo", default=str(SAMPLE_PORTRAIT))
    p.add_argument("--clips")
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--fps", type=float, default=30.0)
    args = p.parse_args()

    player = build_player(args.photo, clips_dir=args.clips, max_side=args.size, seed=0)
    player.warm_up()  # every clip's first use: what is allocated once is not a leak
    rng = np.random.default_rng(0)
    kinds = ["key", "key", "click", "pointer", "loud", "key_release"]
    keys = sorted(k for k in KEY_NAMES if len(k) == 1 and k.isdigit()) + ["space"]
    n_frames = int(args.minutes * 60 * args.fps)
    t0 = time.perf_counter()
    start = rss_mb()
    print(f"start: {start:.1f} MB resident, {n_frames} frames of "
          f"{player.shape[1]}x{player.shape[0]}", flush=True)
    errors = 0
    for n in range(n_frames):
        now = n / args.fps
        if n % int(args.fps) == 0 and n:
            kind = kinds[rng.integers(len(kinds))]
            ev = Event(now, kind, key=keys[rng.integers(len(keys))] if kind.startswith("key") else "",
                       x=float(rng.uniform(0, player.shape[1])),
                       y=float(rng.uniform(0, player.shape[0])))
            try:
                player.handle(ev, now)
            except Exception as exc:  # noqa: BLE001 - a soak reports, it does not stop
                errors += 1
                print(f"error at {now:.1f} s: {exc!r}", flush=True)
        try:
            player.render(now)
        except Exception as exc:  # noqa: BLE001
            errors += 1
            print(f"error at {now:.1f} s: {exc!r}", flush=True)
        if n and n % int(60 * args.fps) == 0:
            print(f"{now / 60:.0f} min: {rss_mb():.1f} MB", flush=True)
    end = rss_mb()
    took = time.perf_counter() - t0
    print(f"end: {end:.1f} MB resident (start {start:.1f} MB, {end - start:+.1f} MB), "
          f"{n_frames} frames in {took:.0f} s ({n_frames / took:.0f} fps), {errors} errors")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
