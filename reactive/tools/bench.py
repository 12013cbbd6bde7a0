"""``reactive bench [--size N]``: the live player's per-frame synthesis, timed.

Runs the real path (``Player.render``: state machine, blended offsets, blended ratio
images, grid warp, mouth interior, eyes) on an N x N photo (the bundled sample, or
``--photo``, resized) with the built-in clips (or ``--clips``), cycling through every
emotion with a trigger every second so that transitions, open mouths and ratio images are
all in the measured frames. The baseline is one ``cv2.remap`` of the same frame with the
same per-pixel map the player computed, measured in the same run. The last line is

    synthesis_fps=<float> remap_ratio=<float>

(ratio = median synthesis time / median remap time). With ``--stages``, a table before it
says what each stage costs per frame (``StageTimer``).

``reactive bench --puppet --camera SOURCE [--size N]``: the live puppet end to end, in real
time: the camera (a file plays at its own rate on the wall clock) tracked on its background
thread as in the window, each new tracked frame synthesized at once on the main thread. The
last line is

    puppet_fps=<float> latency_frames=<float>

(camera frames shown per second, at most the camera's own rate; the mean time from a camera
frame being due to its puppet frame being ready, in frames of the player's 30 fps). A real
camera's own capture delay is not in it (it cannot be measured from here).
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
from reactive.io.camera import open_camera
from reactive.io.tracker import FaceMeshTracker
from reactive.live.puppet import puppet_for
from reactive.live.triggers import Event, EventQueue
from reactive.live.visitor import VisitorTracker
from reactive.params import CameraParams


class StageTimer:
    """Times named stages of a frame by wrapping methods of the objects that do them.

    ``wrap(obj, "method", "stage")`` replaces ``obj.method`` by a timed call (an instance
    attribute: the class is untouched). A stage's time is its own: a timed call inside
    another (the field inside the pixel map) counts for the inner stage only, so the stages
    of a frame add up to the time spent in all of them. ``frame_done()`` closes a frame.
    ``clock``: seconds, injected (tests).
    """

    def __init__(self, clock=time.perf_counter):
        self.clock = clock
        self.stages: list[str] = []
        self._now: dict[str, float] = {}
        self._frames: list[dict[str, float]] = []
        self._inner = [0.0]   # per open call: time taken by the timed calls inside it

    def wrap(self, obj, method: str, stage: str) -> None:
        inner = getattr(obj, method)
        if stage not in self.stages:
            self.stages.append(stage)

        def timed(*args, **kwargs):
            self._inner.append(0.0)
            t = self.clock()
            try:
                return inner(*args, **kwargs)
            finally:
                took = self.clock() - t
                nested = self._inner.pop()
                self._inner[-1] += took
                self._now[stage] = self._now.get(stage, 0.0) + took - nested

        setattr(obj, method, timed)

    def frame_done(self) -> None:
        self._frames.append(self._now)
        self._now = {}
        self._inner = [0.0]

    def per_frame(self) -> np.ndarray:
        """(frames, stages) seconds, in the order of ``stages``."""
        return np.array([[f.get(s, 0.0) for s in self.stages] for f in self._frames])

    def table(self, totals_s: np.ndarray) -> list[str]:
        """One line per stage: median and mean ms per frame; the rest (the frame's time in
        no stage), and the total. ``totals_s`` (N,) the frames' times."""
        per = self.per_frame() * 1e3
        rest = totals_s * 1e3 - per.sum(axis=1)
        lines = [f"  {'stage':<34} {'median':>7} {'mean':>7} ms per frame"]
        for name, col in [*zip(self.stages, per.T), ("the rest (states, pointer, ...)", rest)]:
            lines.append(f"  {name:<34} {np.median(col):7.2f} {col.mean():7.2f}")
        lines.append(f"  {'total':<34} {np.median(totals_s) * 1e3:7.2f} "
                     f"{totals_s.mean() * 1e3:7.2f}")
        return lines


def time_stages(player) -> StageTimer:
    """A ``StageTimer`` on the live player's per-frame stages (``core.synthesis``)."""
    timer = StageTimer()
    synthesis = player.synthesis
    warper = synthesis.warper
    timer.wrap(synthesis, "blend_offsets", "offsets (clips blended)")
    if synthesis.details is not None:
        timer.wrap(synthesis.details, "shade", "details (ratio images, creases)")
    timer.wrap(warper, "compute_map", "warp: field on the grid + inverse")
    timer.wrap(warper, "compute_pixel_map", "warp: map upsampled to pixels")
    timer.wrap(warper, "remap", "warp: remap")
    if player.rig.backdrop is not None:
        timer.wrap(warper, "sort_cells", "background: cell sort")
        timer.wrap(warper, "restore_plate", "background: plate kept")
        timer.wrap(warper, "composite", "background: edge composite")
    for mouth in synthesis.mouths.values():
        timer.wrap(mouth, "apply", "mouth interior")
    if synthesis.eyes is not None:
        timer.wrap(synthesis.eyes, "apply", "eyes (gaze, lids)")
    return timer


def run(args: argparse.Namespace) -> int:
    """Run ``reactive bench`` (arguments from ``tools.cli``); prints the figures."""
    if not 64 <= args.size <= 4096:
        raise InputError(f"--size {args.size}: expected 64-4096")
    if args.frames < 10:
        raise InputError(f"--frames {args.frames}: expected at least 10")
    if getattr(args, "camera", None) and not args.puppet:
        raise InputError("--camera goes with --puppet (bench --puppet --camera SOURCE)")
    source = args.photo or SAMPLE_PORTRAIT
    photo = load_photo(source, max_side=None)
    photo = cv2.resize(photo, (args.size, args.size), interpolation=cv2.INTER_AREA)
    if args.puppet:
        return run_puppet(args, source, photo)
    player = build_player(source, clips_dir=args.clips, seed=0, photo=photo,
                          still_background=not args.warp_background)
    emotions = list(player.triggers.emotions) or player.state_names
    fps = player.params.fps
    # Warm up (numba kernels load from their cache; every clip's first frame touches its
    # buffers), as the window does before showing the portrait.
    player.warm_up()
    for n in range(5):
        player.render(n / fps)
    timer = time_stages(player) if args.stages else None
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
        if timer is not None:
            timer.frame_done()
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
    if timer is not None:
        print("\n".join(timer.table(times)))
    print(f"synthesis median {synth_ms:.2f} ms, p95 {np.percentile(times, 95) * 1e3:.2f} ms, "
          f"max {times.max() * 1e3:.2f} ms; cv2.remap median {remap_ms:.2f} ms")
    print(f"synthesis_fps={1e3 / synth_ms:.1f} remap_ratio={synth_ms / remap_ms:.2f}")
    return 0


def run_puppet(args: argparse.Namespace, source, photo: np.ndarray) -> int:
    """``reactive bench --puppet``: see the module docstring."""
    camera_text = args.camera or "0"
    try:
        camera = open_camera(camera_text, max_side=CameraParams().max_side)
    except InputError as exc:
        raise InputError(f"bench --puppet needs a camera: {exc}; or give a video file, "
                         "--camera clip.mp4") from None
    player = build_player(source, clips_dir=args.clips, seed=0, photo=photo)
    player.warm_up()
    mode = puppet_for(player)
    t0 = time.monotonic()
    clock = lambda: time.monotonic() - t0  # noqa: E731 - the injected clock
    tracker = VisitorTracker(camera, FaceMeshTracker(max_faces=CameraParams().max_faces),
                             EventQueue(), clock, on_frame=mode.on_camera)
    display_fps = player.params.fps
    shown: list[tuple[float, float]] = []   # (camera frame due, puppet frame ready)
    synth: list[float] = []
    warm_until = None
    last = None
    tracker.start()
    try:
        while len(shown) < args.frames and not tracker.failed:
            latest = mode.latest
            if camera.ended and (latest is None or latest[1] == last):
                break
            if latest is None or latest[1] == last or not mode.puppet.ready:
                time.sleep(0.001)
                if clock() > 30.0 and not mode.puppet.ready:
                    raise InputError(f"{camera.name}: no calm frontal face within 30 s to "
                                     "take the neutral from; use a clip with a visible face")
                continue
            last = latest[1]
            if warm_until is None:  # the first puppet frames fade in from the player's
                warm_until = clock() + 2 * mode.params.fade_s
            t = time.perf_counter()
            mode.frame(clock())
            took = time.perf_counter() - t
            if clock() >= warm_until and latest[0] is not None:
                shown.append((latest[1], clock()))
                synth.append(took)
    finally:
        tracker.stop()
    if len(shown) < 10:
        raise InputError(f"{camera.name}: only {len(shown)} puppet frames (the face must be "
                         "seen; a longer clip, or a camera)")
    due = np.array([d for d, _ in shown])
    ready = np.array([r for _, r in shown])
    span = ready[-1] - ready[0]
    fps = (len(shown) - 1) / max(span, 1e-9)
    latency = (ready - due) * display_fps
    track_ms = 1e3 * tracker.track_s / max(tracker.frames, 1)
    print(f"photo {args.size}x{args.size}, camera {camera.name} at {camera.fps:g} fps, "
          f"{len(shown)} puppet frames in {span:.1f} s")
    puppet = mode.puppet
    crease_ms = 1e3 * puppet.ratio_s / max(puppet.ratio_frames, 1)
    print(f"creases {crease_ms:.1f} ms per camera frame (mean, on the camera's thread after "
          f"the frame is handed over; {puppet.ratio_frames} frames)")
    print(f"tracking {track_ms:.1f} ms per camera frame (mean), synthesis median "
          f"{np.median(synth) * 1e3:.2f} ms, p95 {np.percentile(synth, 95) * 1e3:.2f} ms; "
          f"latency median {np.median(latency):.2f} frames, p95 "
          f"{np.percentile(latency, 95):.2f}, max {latency.max():.2f} "
          f"(frames of {display_fps:g} fps)")
    print(f"puppet_fps={fps:.1f} latency_frames={float(np.mean(latency)):.2f}")
    return 0
