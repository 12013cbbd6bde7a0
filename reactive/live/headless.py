"""The player without a window: frames on a simulated clock, scripted events, every frame
handed to a writer (``python demo.py PHOTO --headless``)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

from reactive.errors import InputError
from reactive.io.video import VideoWriter
from reactive.live.build import build_player
from reactive.live.player import Player
from reactive.live.triggers import Event, load_script
from reactive.progress import Progress


def run_headless(player: Player, *, duration_s: float, fps: float, events: list[Event],
                 write: Callable[[np.ndarray], None],
                 on_frame: Callable[[int, float], None] | None = None) -> int:
    """The player loop on a simulated clock: frame n at t = n / fps, every event due by
    then handled first. Returns the number of frames written."""
    if duration_s <= 0:
        raise ValueError(f"`duration_s` must be > 0; got {duration_s}")
    if fps <= 0:
        raise ValueError(f"`fps` must be > 0; got {fps}")
    pending = sorted(events, key=lambda e: e.time_s)
    k = 0
    n_frames = int(round(duration_s * fps))
    for n in range(n_frames):
        now = n / fps
        while k < len(pending) and pending[k].time_s <= now:
            action = player.handle(pending[k], now)
            k += 1
            if action is not None and action.kind == "quit":
                return n
        write(player.render(now))
        if on_frame is not None:
            on_frame(n, now)
    return n_frames


def record(photo: str, args: argparse.Namespace) -> int:
    """``python demo.py PHOTO --headless ...``: build the player, run it on the simulated
    clock with ``args.events``, write every frame to ``args.record``. Returns the exit code."""
    if not args.duration or args.duration <= 0:
        raise InputError("--headless needs --duration S (seconds to record), e.g. --duration 8")
    if not args.record:
        raise InputError("--headless needs --record OUT.mp4 (or out.png for numbered frames)")
    out = Path(args.record)
    if not out.parent.is_dir():
        raise InputError(f"{out}: output folder {out.parent} does not exist")
    events = load_script(args.events) if args.events else []
    t0 = time.perf_counter()
    player = build_player(photo, clips_dir=args.clips, profile_path=args.profile,
                          max_side=args.max_side, seed=args.seed if args.seed is not None else 0,
                          status=lambda s: print(s, file=sys.stderr) if args.verbose else None)
    fps = args.fps or player.params.fps
    n = int(round(args.duration * fps))
    bar = Progress(f"recording {out.name}", n, enabled=sys.stderr.isatty())
    with VideoWriter(out, fps=fps) as writer:
        frames = run_headless(player, duration_s=args.duration, fps=fps, events=events,
                              write=writer.write, on_frame=lambda i, _t: bar.update(i + 1))
    bar.close()
    took = time.perf_counter() - t0
    print(f"wrote {out}: {frames} frames at {fps:g} fps ({frames / fps:.1f} s of video), "
          f"rendered in {took:.1f} s")
    return 0
