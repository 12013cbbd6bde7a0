"""``python demo.py``: the reactive portrait, live in a window or recorded headless.

    python demo.py [PHOTO] [--clips DIR] [--profile FILE] [--kiosk]
    python demo.py PHOTO --headless --duration S [--events FILE] --record OUT.mp4 [--fps N]

Without a photo, the bundled public-domain sample portrait; without ``--clips``, the
built-in procedural clips. The headless mode runs the same player loop on a simulated
clock (no window, no microphone), scripted events one per line (``1.5 key 2``,
``3.0 loud``, ``4.0 click 200 310``, ``4.5 pointer 120 80``), every frame written to a video.

This module only parses and checks the command line; what it runs (the player, OpenCV,
numba, pyglet) is imported once the arguments are known to be good, so ``--help`` and a
mistyped option answer at once.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from pathlib import Path

from reactive.errors import InputError
from reactive.guard import quiet_native_logs, run_guarded
from reactive.io.assets import SAMPLE_PORTRAIT
from reactive.params import PhotoParams

log = logging.getLogger("reactive")


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
    p.add_argument("--camera", metavar="SOURCE",
                   help="visitor mode: a camera index (0) or a video file standing in for "
                        "one; the portrait greets, smiles back and looks at the person in "
                        "front of it (profile [camera])")
    p.add_argument("--puppet", action="store_true",
                   help="with --camera: the visitor's own face drives the portrait live "
                        "(neutral face taken from the first calm frames; N takes it again)")
    p.add_argument("--headless", action="store_true", help="no window: record to --record")
    p.add_argument("--duration", type=float, metavar="S", help="headless: seconds to record")
    p.add_argument("--events", metavar="FILE", help="headless: scripted events")
    p.add_argument("--record", metavar="OUT.mp4", help="headless: video (or .png frames) to write")
    p.add_argument("--fps", type=float, default=None, help="frame rate (default 30)")
    p.add_argument("--max-side", type=int, default=None, help="cap the photo's longer side "
                   f"(default {PhotoParams.max_side})")
    p.add_argument("--seed", type=int, default=None, help="random seed (idle, random emotions)")
    p.add_argument("-v", "--verbose", action="store_true", help="more log output")
    return p


def main(argv: list[str] | None = None) -> int:
    quiet_native_logs()
    args = _parser().parse_args(argv)
    code = run_guarded(_run, args)
    _leave_the_build_behind(code)
    return code


def _leave_the_build_behind(code: int) -> None:
    """Quit while the window's build thread still runs (Esc or SIGTERM while the kernels
    compile): the interpreter's normal exit would tear LLVM down under that thread
    ("terminate called without an active exception", SIGABRT). Everything of ours is closed
    by now; leave at once with the right code."""
    if any(t.name == "reactive-build" and t.is_alive() for t in threading.enumerate()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _run(args: argparse.Namespace) -> int:
    photo = args.photo or str(SAMPLE_PORTRAIT)
    if Path(photo).is_dir():
        raise InputError(f"{photo}: is a folder; give the path of a photo (JPEG, PNG, WebP, "
                         "TIFF)")
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
    if args.puppet and not args.camera:
        raise InputError("--puppet needs --camera SOURCE (a camera index such as 0, or a "
                         "video file)")
    if args.headless:
        from reactive.live.headless import record  # noqa: PLC0415 - heavy (OpenCV, the player)

        return record(photo, args)
    if args.duration or args.events or args.record:
        raise InputError("--duration, --events and --record go with --headless")
    from reactive.live.window import run_window  # noqa: PLC0415 - heavy (pyglet, the player)

    return run_window(photo, args)
