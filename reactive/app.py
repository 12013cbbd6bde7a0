"""``python demo.py``: the reactive portrait, live in a window or recorded headless.

    python demo.py [PHOTO] [--clips DIR] [--profile FILE] [--kiosk]
    python demo.py PHOTO --headless --duration S [--events FILE] --record OUT.mp4 [--fps N]

Without a photo, the bundled public-domain sample portrait; without ``--clips``, the
built-in procedural clips. The headless mode runs the same player loop on a simulated
clock (no window, no microphone), scripted events one per line (``1.5 key 2``,
``3.0 loud``, ``4.0 click 200 310``, ``4.5 pointer 120 80``), every frame written to a video.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import InputError

log = logging.getLogger("reactive")

SAMPLE_PORTRAIT = Path(__file__).resolve().parents[1] / "assets" / "sample_portrait.jpg"


def build_player(photo_path: str | Path, *, clips_dir: str | Path | None = None,
                 profile_path: str | Path | None = None, max_side: int | None = None,
                 kiosk: bool = False, seed: int | None = None,
                 status: Callable[[str], None] = lambda s: None,
                 photo: np.ndarray | None = None, mouths_path: str | Path | None = None):
    """Photo + clips + profile -> a ready ``Player`` (cached per photo and clips).

    ``photo``: the image already loaded (RGB uint8), ``photo_path`` then only names it.
    ``mouths_path``: a pack or video of real mouths for the built-in clips (else the
    profile's ``mouths``).
    """
    from . import cache as cache_mod
    from .clips import cache_dir, load_clips, load_mouth_bank
    from .params import EyeParams, PlayerParams, WarpParams
    from .photo import load_photo
    from .player import Player, bind_eyes, offset_tables
    from .profile import Profile, load_profile
    from .rig import build_rig
    from .target import find_target_face

    profile = load_profile(profile_path) if profile_path else Profile()
    params = PlayerParams()
    if photo is None:
        photo = load_photo(photo_path, max_side=max_side or params.max_side)
    status("loading clips")
    clips = load_clips(clips_dir, on_progress=lambda name: status(f"loading clip {name}"))
    folder = cache_dir()
    status("finding the face")
    points = cache_mod.cached_face(photo, folder,
                                   lambda p: find_target_face(p, source=str(photo_path)))
    warp, eyes = WarpParams(), EyeParams()
    packs = [c.pack for c in clips]
    status("rigging the photo")
    rig = build_rig(photo, points, packs, params=warp, dense=False, grid=True)
    bind_eyes(rig, packs, eyes)
    key = cache_mod.tables_key(points, photo.shape, packs, (warp, eyes))
    tables = cache_mod.load_tables(folder, key, packs, len(rig.rest))
    if tables is None:
        status("computing the clips' motion for this photo (once)")
        tables = offset_tables(rig, packs)
        cache_mod.save_tables(folder, key, tables)
    mouths = None
    mouths_path = mouths_path or profile.mouths or None
    if mouths_path and profile.teeth:
        status("loading the mouths")
        mouths = load_mouth_bank(mouths_path)
    rng = np.random.default_rng(seed)
    return Player(photo, points, clips, profile=profile, params=params, warp=warp, eyes=eyes,
                  kiosk=kiosk, rng=rng, rig=rig, tables=tables, mouths=mouths)


def run_headless(player, *, duration_s: float, fps: float, events: list,
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


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python demo.py",
        description="A still portrait that idles and reacts: keys 1-9 and space play "
                    "emotions, a click smiles, a loud sound surprises, the eyes follow the "
                    "mouse. H shows the keys.")
    p.add_argument("photo", nargs="?", help="portrait photo (default: the bundled sample)")
    p.add_argument("--clips", metavar="DIR",
                   help="folder of clip packs (.npz) and/or driving videos; default: the "
                        "built-in clips")
    p.add_argument("--mouths", metavar="PATH",
                   help="clip pack or driving video whose real open mouths (teeth, tongue) "
                        "fill the built-in clips' mouths; default: the filmed --clips, else "
                        "a mouth drawn in the photo's colours")
    p.add_argument("--profile", metavar="FILE", help="TOML profile: triggers -> states, "
                   "transition time, idle, microphone, gaze (see docs/profile.example.toml)")
    p.add_argument("--kiosk", action="store_true",
                   help="fullscreen, cursor hidden, recovers from errors; quit with Ctrl+Shift+Q")
    p.add_argument("--no-mic", action="store_true", help="do not listen to the microphone")
    p.add_argument("--headless", action="store_true", help="no window: record to --record")
    p.add_argument("--duration", type=float, metavar="S", help="headless: seconds to record")
    p.add_argument("--events", metavar="FILE", help="headless: scripted events")
    p.add_argument("--record", metavar="OUT.mp4", help="headless: video (or .png frames) to write")
    p.add_argument("--fps", type=float, default=None, help="frame rate (default 30)")
    p.add_argument("--max-side", type=int, default=None, help="cap the photo's longer side "
                   "(default 1024)")
    p.add_argument("--seed", type=int, default=None, help="random seed (idle, random emotions)")
    p.add_argument("-v", "--verbose", action="store_true", help="more log output")
    return p


def main(argv: list[str] | None = None) -> int:
    from .cli import quiet_native_logs, run_guarded

    quiet_native_logs()
    args = _parser().parse_args(argv)
    return run_guarded(_run, args)


def _run(args: argparse.Namespace) -> int:
    photo = args.photo or str(SAMPLE_PORTRAIT)
    if not Path(photo).is_file():
        raise InputError(f"{photo}: photo not found" + (
            "" if args.photo else "; the bundled sample is missing from assets/"))
    if args.fps is not None and not 1 <= args.fps <= 240:
        raise InputError(f"--fps {args.fps}: expected 1-240")
    if args.max_side is not None and args.max_side < 64:
        raise InputError(f"--max-side {args.max_side}: expected at least 64")
    if args.mouths and not Path(args.mouths).is_file():
        raise InputError(f"{args.mouths}: mouths file not found (give a clip pack .npz or a "
                         "driving video)")
    if args.headless:
        return _headless(args, photo)
    if args.duration or args.events or args.record:
        raise InputError("--duration, --events and --record go with --headless")
    from .display import run_window

    return run_window(photo, args)


def _headless(args: argparse.Namespace, photo: str) -> int:
    from .progress import Progress
    from .triggers import load_script
    from .video import VideoWriter

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
                          mouths_path=args.mouths,
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
