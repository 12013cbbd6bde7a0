"""The ``reactive`` command: ``reactive precompute`` and ``reactive render``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from .errors import InputError

log = logging.getLogger("reactive")


def run_guarded(fn, args: argparse.Namespace) -> int:
    """Run a command; a user mistake becomes one line on stderr and exit code 2."""
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
                        format="%(levelname)s: %(message)s")
    try:
        return fn(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _render(args: argparse.Namespace) -> int:
    from precompute.cli import precompute_video
    from .clippack import load_pack
    from .photo import load_photo
    from .progress import Progress
    from .render import RenderOptions, parse_stages, render
    from .target import find_target_face
    from .video import VideoReader, VideoWriter

    out = Path(args.output)
    if not out.parent.is_dir():
        raise InputError(f"{out}: output folder {out.parent} does not exist")
    try:
        stages = parse_stages(args.stages)
    except ValueError as exc:
        raise InputError(f"--stages {args.stages}: {exc}") from None
    photo = load_photo(args.photo, max_side=args.max_side)
    points = find_target_face(photo, source=str(args.photo))
    if args.driving:
        pack = precompute_video(args.driving, neutral=args.neutral, show_progress=not args.quiet)
        driving_path = Path(args.driving)
    else:
        pack = load_pack(args.clip)
        if "hidden" in stages and pack.mouth is None:
            log.warning("%s: made by an older version, it has no mouth interiors; "
                        "precompute it again for the hidden stage", args.clip)
        if args.neutral != "auto":
            if not 0 <= args.neutral < pack.frame_count:
                raise InputError(f"--neutral {args.neutral}: {args.clip} has frames "
                                 f"0-{pack.frame_count - 1}")
            pack.neutral_index = args.neutral
        driving_path = None
        if args.side_by_side:
            raise InputError("--side-by-side needs the driving frames: use --driving VIDEO "
                             "instead of --clip")
    reader = VideoReader(driving_path) if args.side_by_side else None
    try:
        bar = Progress(f"rendering {out.name}", pack.frame_count, enabled=not args.quiet)
        with VideoWriter(out, fps=pack.fps) as writer:
            n = render(photo, points, pack, writer.write,
                       options=RenderOptions(side_by_side=args.side_by_side,
                                             stages=stages),
                       driving=reader, progress=bar.update)
        bar.close()
    finally:
        if reader is not None:
            reader.close()
    print(f"wrote {out}: {n} frames at {pack.fps:g} fps")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from precompute import cli as precompute_cli

    # -v/-q work before or after the subcommand; SUPPRESS keeps a subcommand's default from
    # overwriting what was given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="more log output")
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="no progress bars")
    parser = argparse.ArgumentParser(prog="reactive", description="Bring a portrait to life.",
                                     parents=[common])
    parser.set_defaults(verbose=False, quiet=False)
    sub = parser.add_subparsers(dest="command", required=True)

    pre = sub.add_parser("precompute", parents=[common],
                         help="track a driving clip into a clip pack")
    precompute_cli.add_arguments(pre)
    pre.set_defaults(func=precompute_cli.run)

    ren = sub.add_parser("render", parents=[common],
                         help="render a photo driven by a clip to a video or frames")
    ren.add_argument("photo", help="portrait photo (jpg, png, ...)")
    src = ren.add_mutually_exclusive_group(required=True)
    src.add_argument("--driving", help="driving video (tracked on the fly)")
    src.add_argument("--clip", help="clip pack written by `reactive precompute`")
    ren.add_argument("-o", "--output", required=True,
                     help="output .mp4 (H.264), or .png/.jpg for numbered frame dumps")
    ren.add_argument("--neutral", type=precompute_cli.parse_neutral, default="auto",
                     help="neutral frame of the clip: 'auto' or a frame number")
    ren.add_argument("--side-by-side", action="store_true",
                     help="put the driving frame beside the result")
    ren.add_argument("--stages", default="coarse,hidden",
                     help="comma list of the paper's stages: coarse (warp), hidden (mouth "
                          "interior); default both")
    ren.add_argument("--max-side", type=int, default=1024,
                     help="cap the photo's longer side (pixels, default 1024)")
    ren.set_defaults(func=_render)
    return parser


def quiet_native_logs() -> None:
    """OpenCV's FFmpeg prints warnings for every odd frame; the CLI reports problems itself."""
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


def main(argv: list[str] | None = None) -> int:
    quiet_native_logs()
    args = build_parser().parse_args(argv)
    return run_guarded(args.func, args)


if __name__ == "__main__":
    sys.exit(main())
