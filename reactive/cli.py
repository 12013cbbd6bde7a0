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

    if args.output is None and args.strip is None:
        raise InputError("render needs -o OUT.mp4 (or .png frames), --strip OUT.png, or both")
    for target in (args.output, args.strip):
        if target is not None and not Path(target).parent.is_dir():
            raise InputError(f"{target}: output folder {Path(target).parent} does not exist")
    strip_frames = None
    if args.strip_frames:
        try:
            strip_frames = [int(v) for v in args.strip_frames.split(",") if v.strip()]
        except ValueError:
            raise InputError(f"--strip-frames {args.strip_frames}: expected frame numbers "
                             "like 10,40,70") from None
    try:
        stages = parse_stages(args.stages)
    except ValueError as exc:
        raise InputError(f"--stages {args.stages}: {exc}") from None
    mouths = None
    if args.mouths:
        from .clips import load_mouth_bank

        mouths = load_mouth_bank(args.mouths, show_progress=not args.quiet)
    photo = load_photo(args.photo, max_side=args.max_side)
    points = find_target_face(photo, source=str(args.photo))
    if args.driving:
        pack = precompute_video(args.driving, neutral=args.neutral, show_progress=not args.quiet)
        driving_path = Path(args.driving)
    else:
        pack = load_pack(args.clip)
        # (A pack without mouth crops still gets a mouth: the bank's or a drawn one.)
        missing = [name for name, have in (("details", pack.ratio is not None),)
                   if name in stages and not have]
        if missing:
            log.warning("%s: made by an older version, it has nothing for the %s stage; "
                        "precompute it again", args.clip, " and ".join(missing))
        if args.neutral != "auto":
            if not 0 <= args.neutral < pack.frame_count:
                raise InputError(f"--neutral {args.neutral}: {args.clip} has frames "
                                 f"0-{pack.frame_count - 1}")
            if args.neutral != pack.neutral_index and pack.ratio is not None \
                    and "details" in stages:
                # The ratio images are aligned to the neutral frame they were made with.
                log.warning("--neutral %d: %s's ratio images belong to its neutral frame %d; "
                            "the details stage is skipped (precompute with --neutral %d "
                            "to have them)", args.neutral, args.clip, pack.neutral_index,
                            args.neutral)
                stages = tuple(s for s in stages if s != "details")
            pack.neutral_index = args.neutral
        driving_path = None
        if args.side_by_side:
            raise InputError("--side-by-side needs the driving frames: use --driving VIDEO "
                             "instead of --clip")
    if args.strip is not None:
        _write_strip(args, photo, points, pack, driving_path, strip_frames, mouths)
    if args.output is None:
        return 0
    out = Path(args.output)
    reader = VideoReader(driving_path) if args.side_by_side else None
    try:
        bar = Progress(f"rendering {out.name}", pack.frame_count, enabled=not args.quiet)
        with VideoWriter(out, fps=pack.fps) as writer:
            n = render(photo, points, pack, writer.write,
                       options=RenderOptions(side_by_side=args.side_by_side,
                                             stages=stages),
                       driving=reader, progress=bar.update, mouths=mouths)
        bar.close()
    finally:
        if reader is not None:
            reader.close()
    print(f"wrote {out}: {n} frames at {pack.fps:g} fps")
    return 0


def _write_strip(args, photo, points, pack, driving_path, frames, mouths=None) -> None:
    from .render import expressive_frames, stage_strip
    from .rig import build_rig
    from .video import VideoReader, write_image

    frames = frames or expressive_frames(pack)
    bad = [i for i in frames if not 0 <= i < pack.frame_count]
    if bad:
        raise InputError(f"--strip-frames: frame {bad[0]} is outside the clip's frames "
                         f"0-{pack.frame_count - 1}")
    driving = None
    if driving_path is not None:
        with VideoReader(driving_path) as reader:
            driving = [f for _, f in zip(range(max(frames) + 1), reader)]
    strip = stage_strip(build_rig(photo, points, pack), pack, frames, driving=driving,
                        mouths=mouths)
    write_image(args.strip, strip)
    print(f"wrote {args.strip}: frames {', '.join(map(str, frames))}")


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
    ren.add_argument("-o", "--output",
                     help="output .mp4 (H.264), or .png/.jpg for numbered frame dumps")
    ren.add_argument("--strip", metavar="OUT.png",
                     help="also write the paper's Fig. 6 strip: input, coarse, +hidden, "
                          "+details for chosen frames")
    ren.add_argument("--strip-frames", metavar="N,N,...",
                     help="frames for --strip (default: three expressive ones)")
    ren.add_argument("--neutral", type=precompute_cli.parse_neutral, default="auto",
                     help="neutral frame of the clip: 'auto' or a frame number")
    ren.add_argument("--side-by-side", action="store_true",
                     help="put the driving frame beside the result")
    ren.add_argument("--stages", default="coarse,hidden,details,eyes",
                     help="comma list of stages: the paper's coarse (warp), hidden (mouth "
                          "interior), details (creases), and eyes (lids close fully, the "
                          "clip's gaze); default all four")
    ren.add_argument("--mouths", metavar="PATH",
                     help="clip pack or driving video whose real open mouths fill the mouth "
                          "of a built-in (drawn) clip; default: a mouth drawn in the photo's "
                          "colours")
    ren.add_argument("--max-side", type=int, default=1024,
                     help="cap the photo's longer side (pixels, default 1024)")
    ren.set_defaults(func=_render)

    syn = sub.add_parser("synth", parents=[common],
                         help="write the built-in procedural clips (as python -m precompute synth)")
    precompute_cli.add_synth_arguments(syn)
    syn.set_defaults(func=precompute_cli.run_synth)

    from . import bench

    ben = sub.add_parser("bench", parents=[common],
                         help="time the live player's per-frame synthesis")
    bench.add_arguments(ben)
    ben.set_defaults(func=bench.run)

    play = sub.add_parser("play", add_help=False,
                          help="the live portrait (same as python demo.py; --help for more)")
    play.set_defaults(func=None)
    return parser


def quiet_native_logs() -> None:
    """OpenCV's FFmpeg prints warnings for every odd frame; the CLI reports problems itself."""
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


def main(argv: list[str] | None = None) -> int:
    quiet_native_logs()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["play"]:
        from .app import main as play_main

        return play_main(argv[1:])
    args = build_parser().parse_args(argv)
    return run_guarded(args.func, args)


if __name__ == "__main__":
    sys.exit(main())
