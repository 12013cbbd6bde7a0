"""The player without a window: frames on a simulated clock, scripted events, every frame
handed to a writer (``python demo.py PHOTO --headless``)."""

from __future__ import annotations

import argparse
import math
import sys
import time
from typing import Callable

import numpy as np

from reactive.errors import InputError
from reactive.guard import prepare_output
from reactive.io.video import IMAGE_SUFFIXES, VIDEO_SUFFIXES, VideoWriter
from reactive.live.build import build_player
from reactive.live.player import Player
from reactive.live.puppet import puppet_for
from reactive.live.triggers import Event, EventQueue, load_script
from reactive.live.visitor import open_visitor
from reactive.params import PlayerParams
from reactive.progress import Progress

MAX_DURATION_S = 24 * 3600.0  # a headless recording of a day is a mistake, not a wish


def run_headless(player: Player, *, duration_s: float, fps: float, events: list[Event],
                 write: Callable[[np.ndarray], None],
                 on_frame: Callable[[int, float], None] | None = None,
                 live: Callable[[float], list[Event]] | None = None,
                 render: Callable[[float], np.ndarray] | None = None) -> int:
    """The player loop on a simulated clock: frame n at t = n / fps, every event due by
    then handled first (the script's, then ``live(t)``'s: the camera's, stepped to t).
    ``render(t)``: the frame at t (default ``player.render``; the puppet's).
    Returns the number of frames written."""
    if duration_s <= 0:
        raise ValueError(f"`duration_s` must be > 0; got {duration_s}")
    if fps <= 0:
        raise ValueError(f"`fps` must be > 0; got {fps}")
    pending = sorted(events, key=lambda e: e.time_s)
    render = render or player.render
    k = 0
    n_frames = int(round(duration_s * fps))
    for n in range(n_frames):
        now = n / fps
        while k < len(pending) and pending[k].time_s <= now:
            action = player.handle(pending[k], now)
            k += 1
            if action is not None and action.kind == "quit":
                return n
        for event in live(now) if live is not None else ():
            player.handle(event, now)
        write(render(now))
        if on_frame is not None:
            on_frame(n, now)
    return n_frames


def record(photo: str, args: argparse.Namespace) -> int:
    """``python demo.py PHOTO --headless ...``: build the player, run it on the simulated
    clock with ``args.events``, write every frame to ``args.record``. Returns the exit code."""
    if args.duration is None:
        raise InputError("--headless needs --duration S (seconds to record), e.g. --duration 8")
    fps = args.fps or PlayerParams().fps
    if not (math.isfinite(args.duration) and 1.0 / fps <= args.duration <= MAX_DURATION_S):
        raise InputError(f"--duration {args.duration:g}: expected seconds from one frame "
                         f"({1.0 / fps:.3g} s at {fps:g} fps) to {MAX_DURATION_S:g}")
    if not args.record:
        raise InputError("--headless needs --record OUT.mp4 (or out.png for numbered frames)")
    events = load_script(args.events) if args.events else []
    out = prepare_output(args.record, suffixes=VIDEO_SUFFIXES + IMAGE_SUFFIXES,
                         what="recording")
    t0 = time.perf_counter()
    player = build_player(photo, clips_dir=args.clips, profile_path=args.profile,
                          mouths_path=args.mouths,
                          max_side=args.max_side, seed=args.seed if args.seed is not None else 0,
                          status=lambda s: print(s, file=sys.stderr) if args.verbose else None)
    fps = args.fps or player.params.fps
    n = int(round(args.duration * fps))
    live, camera, render = None, None, None
    if getattr(args, "camera", None):
        queue = EventQueue()
        clock_now = [0.0]
        camera_params = player.profile.camera.params()
        mode = puppet_for(player, absence_s=camera_params.absence_s) if args.puppet else None
        camera = open_visitor(args.camera, queue, lambda: clock_now[0], camera_params,
                              on_frame=None if mode is None else mode.on_camera)
        if camera is not None:
            render = None if mode is None else mode.frame

            def live(now: float) -> list[Event]:
                clock_now[0] = now
                camera.step(now)  # every camera frame due by now: reproducible
                player.camera_aspect = camera.camera_aspect
                return queue.drain()
    bar = Progress(f"recording {out.name}", n, enabled=sys.stderr.isatty())
    with VideoWriter(out, fps=fps) as writer:
        try:
            frames = run_headless(player, duration_s=args.duration, fps=fps, events=events,
                                  write=writer.write, on_frame=lambda i, _t: bar.update(i + 1),
                                  live=live, render=render)
        finally:
            if camera is not None:
                camera.stop()
        if frames == 0:  # the script quit before the first frame
            quit_at = next((e.time_s for e in events if e.kind == "key"
                            and e.key in ("escape", "q", "quit_chord")), 0.0)
            raise InputError(f"{args.events}: quits at {quit_at:g} s, before the first frame; "
                             f"nothing recorded to {out} (start the script's times later)")
    bar.close()
    took = time.perf_counter() - t0
    print(f"wrote {out}: {frames} frames at {fps:g} fps ({frames / fps:.1f} s of video), "
          f"rendered in {took:.1f} s")
    return 0
