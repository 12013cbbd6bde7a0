"""Soak: the live player for a long while on a simulated clock, with random triggers.

Runs the same loop as ``python demo.py --headless`` (frames rendered and discarded, so it
measures the player, not a video encoder), as fast as the machine allows: an hour of
player time takes a fraction of an hour. Triggers arrive at random (Poisson) times, as a
visitor would make them: emotion keys and Space (held and released too), H and F (the
window's toggles), clicks, pointer sweeps (many events a second, like a moving mouse),
loud sounds, idle reactions. Prints resident memory and the number of live Python objects
at the start and every simulated minute, and the exceptions raised (there must be none).
Usage::

    python benchmarks/soak.py [--minutes 60] [--photo PHOTO] [--clips DIR] [--size 512]

Exit code 1 if anything raised or memory grew by more than ``--max-growth-mb`` after the
first minute (what is allocated once, on the first use of each clip, is not a leak).
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
import traceback
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


def schedule(rng: np.random.Generator, duration_s: float, keys: list[str],
             size: tuple[int, int], rate_hz: float):
    """Random events, sorted by time: (time, kind, key, x, y)."""
    from reactive.live.triggers import Event

    h, w = size
    events = []
    t = 0.0
    while True:
        t += float(rng.exponential(1.0 / rate_hz))
        if t >= duration_s:
            break
        kind = rng.choice(["key", "key", "hold", "click", "sweep", "loud", "idle", "toggle"],
                          p=[0.25, 0.05, 0.05, 0.15, 0.25, 0.1, 0.05, 0.1])
        x, y = float(rng.uniform(0, w)), float(rng.uniform(0, h))
        if kind == "key":
            events.append(Event(t, "key", key=str(rng.choice(keys))))
        elif kind == "hold":
            key = str(rng.choice(keys))
            events.append(Event(t, "key", key=key))
            events.append(Event(t + float(rng.uniform(0.1, 4.0)), "key_release", key=key))
        elif kind == "toggle":
            events.append(Event(t, "key", key=str(rng.choice(["h", "f"]))))
        elif kind == "sweep":  # the pointer crossing the window: 30 events a second
            x1, y1 = float(rng.uniform(0, w)), float(rng.uniform(0, h))
            n = int(rng.integers(5, 90))
            for i in range(n):
                a = i / max(n - 1, 1)
                events.append(Event(t + i / 30.0, "pointer", x=x + a * (x1 - x),
                                    y=y + a * (y1 - y)))
        elif kind == "click":
            events.append(Event(t, "click", x=x, y=y))
        else:
            events.append(Event(t, kind))
    return sorted(events, key=lambda e: e.time_s)


def main() -> int:
    from reactive.io.assets import SAMPLE_PORTRAIT
    from reactive.live.build import build_player

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10.0, help="simulated minutes")
    p.add_argument("--photo", default=str(SAMPLE_PORTRAIT))
    p.add_argument("--clips")
    p.add_argument("--size", type=int, default=512, help="the photo's longer side")
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--rate", type=float, default=0.5, help="triggers per simulated second")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-growth-mb", type=float, default=20.0)
    args = p.parse_args()

    t_build = time.perf_counter()
    player = build_player(args.photo, clips_dir=args.clips, max_side=args.size, seed=args.seed)
    player.warm_up()  # every clip's first use: what is allocated once is not a leak
    built = time.perf_counter() - t_build
    rng = np.random.default_rng(args.seed)
    keys = [k for k, _ in player.triggers.keys.items()] + ["1", "9", "0", "z"]
    n_frames = int(args.minutes * 60 * args.fps)
    events = schedule(rng, n_frames / args.fps, keys, player.shape, args.rate)
    gc.collect()
    start = rss_mb()
    print(f"start: {start:.1f} MB resident, {len(gc.get_objects())} objects; "
          f"{n_frames} frames of {player.shape[1]}x{player.shape[0]} "
          f"({args.minutes:g} simulated min), {len(events)} events; built in {built:.1f} s",
          flush=True)
    errors: dict[str, int] = {}
    actions: dict[str, int] = {}
    minutes: list[float] = []

    def fail(where: str, now: float, exc: Exception) -> None:
        key = f"{where}: {exc!r}"
        if key not in errors:
            print(f"error at {now:.2f} s in {where}:\n{traceback.format_exc()}", flush=True)
        errors[key] = errors.get(key, 0) + 1

    k = played = 0
    t0 = time.perf_counter()
    frame_s = []
    per_minute = int(60 * args.fps)
    for n in range(n_frames):
        now = n / args.fps
        while k < len(events) and events[k].time_s <= now:
            kind = events[k].kind
            actions[kind] = actions.get(kind, 0) + 1
            try:
                before = player.machine.current
                player.handle(events[k], now)
                if player.machine.current != before:
                    played += 1
            except Exception as exc:  # noqa: BLE001 - a soak counts, it does not stop
                fail("handle", now, exc)
            k += 1
        t = time.perf_counter()
        try:
            player.render(now)
        except Exception as exc:  # noqa: BLE001
            fail("render", now, exc)
        frame_s.append(time.perf_counter() - t)
        if (n + 1) % per_minute == 0:
            gc.collect()
            mb = rss_mb()
            minutes.append(mb)
            ms = 1000 * np.array(frame_s)
            frame_s.clear()
            print(f"{(n + 1) / per_minute:4.0f} min: {mb:7.1f} MB, "
                  f"{len(gc.get_objects())} objects, frame {np.median(ms):.1f} ms median "
                  f"{ms.max():.1f} ms max, {(n + 1) / (time.perf_counter() - t0):.0f} fps",
                  flush=True)
    took = time.perf_counter() - t0
    end = rss_mb()
    growth = (minutes[-1] - minutes[0]) if len(minutes) > 1 else 0.0
    n_errors = sum(errors.values())
    print(f"end: {end:.1f} MB resident (start {start:.1f} MB; minute 1 -> last "
          f"{growth:+.1f} MB, range {min(minutes, default=end):.1f}-"
          f"{max(minutes, default=end):.1f} MB), {n_frames} frames in {took:.0f} s "
          f"({n_frames / took:.0f} fps), {k} events handled "
          f"({', '.join(f'{v} {a}' for a, v in sorted(actions.items()))}; {played} state "
          f"changes), exceptions: {n_errors}")
    return 1 if n_errors or growth > args.max_growth_mb else 0


if __name__ == "__main__":
    sys.exit(main())
