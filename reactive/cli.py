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
    """Run a command; a user mistake becomes one line on stderr and exit code 2, SIGTERM
    cleans up like Ctrl+C (``guard.run_guarded``)."""
    from . import guard

    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
                        format="%(levelname)s: %(message)s")
    return guard.run_guarded(fn, args)


def _render(args: argparse.Namespace) -> int:
    from .cache import cached_face
    from .clippack import load_pack
    from .clips import cache_dir, video_pack
    from .guard import prepare_output
    from .photo import MIN_MAX_SIDE_PX, load_photo
    from .progress import Progress
    from .render import RenderOptions, parse_stages, render
    from .target import detect_target_face, warn_about_face
    from .video import IMAGE_SUFFIXES, VIDEO_SUFFIXES, VideoReader, VideoWriter

    # Everything the arguments alone can tell is checked before the photo, the face or the
    # clip: a typo costs a second, not a tracking run.
    if args.output is None and args.strip is None:
        raise InputError("render needs -o OUT.mp4 (or .png frames), --strip OUT.png, or both")
    if args.output is not None and args.strip is not None \
            and Path(args.output).resolve() == Path(args.strip).resolve():
        raise InputError(f"{args.strip}: --strip and -o name the same file")
    if args.max_side < MIN_MAX_SIDE_PX:
        raise InputError(f"--max-side {args.max_side}: expected at least {MIN_MAX_SIDE_PX}")
    strip_frames = None
    if args.strip_frames:
        try:
            strip_frames = [int(v) for v in args.strip_frames.split(",") if v.strip()]
        except ValueError:
            strip_frames = None
        if not strip_frames or min(strip_frames) < 0:
            raise InputError(f"--strip-frames {args.strip_frames}: expected frame numbers "
                             "like 10,40,70") from None
    try:
        stages = parse_stages(args.stages)
    except ValueError as exc:
        raise InputError(f"--stages {args.stages}: {exc}") from None
    if args.clip is not None and args.side_by_side:
        raise InputError("--side-by-side needs the driving frames: use --driving VIDEO "
                         "instead of --clip")
    if args.output is not None:
        prepare_output(args.output, suffixes=VIDEO_SUFFIXES + IMAGE_SUFFIXES)
    if args.strip is not None:
        prepare_output(args.strip, suffixes=IMAGE_SUFFIXES, what="strip")
    if args.driving:
        with VideoReader(args.driving) as reader:  # opens, one frame decodes
            reported = reader.frame_count
        if strip_frames and reported and max(strip_frames) >= reported:
            raise InputError(f"--strip-frames: frame {max(strip_frames)} is outside "
                             f"{args.driving}'s frames 0-{reported - 1}")
        if args.neutral != "auto" and reported and args.neutral >= reported:
            raise InputError(f"--neutral {args.neutral}: {args.driving} has frames "
                             f"0-{reported - 1}")
        pack = None
    else:
        pack = load_pack(args.clip)
        missing = [name for name, have in (("hidden", pack.mouth is not None),
                                           ("details", pack.ratio is not None))
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
        if strip_frames and max(strip_frames) >= pack.frame_count:
            raise InputError(f"--strip-frames: frame {max(strip_frames)} is outside "
                             f"{args.clip}'s frames 0-{pack.frame_count - 1}")
    photo = load_photo(args.photo, max_side=args.max_side)
    cache = cache_dir()
    source = str(args.photo)
    points = cached_face(photo, cache, lambda p: detect_target_face(p, source=source),
                         report=lambda pts, n: warn_about_face(pts, n, source=source))
    driving_path = None
    if args.driving:
        # Tracked once, then cached by the video's content (as clip folders are).
        pack = video_pack(Path(args.driving), cache, not args.quiet, neutral=args.neutral)
        driving_path = Path(args.driving)
    if args.strip is not None:
        _write_strip(args, photo, points, pack, driving_path, strip_frames)
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
                       driving=reader, progress=bar.update)
        bar.close()
    finally:
        if reader is not None:
            reader.close()
    print(f"wrote {out}: {n} frames at {pack.fps:g} fps")
    return 0


def _write_strip(args, photo, points, pack, driving_path, frames) -> None:
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
    strip = stage_strip(build_rig(photo, points, pack), pack, frames, driving=driving)
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
    kiosk = sub.add_parser("kiosk", add_help=False,
                           help="the kiosk (play --kiosk), restarted whenever it dies "
                                "(--help for more)")
    kiosk.set_defaults(func=None)
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
    if argv[:1] == ["kiosk"]:
        from .kiosk import main as kiosk_main

        return kiosk_main(argv[1:])
    args = build_parser().parse_args(argv)
    return run_guarded(args.func, args)


if __name__ == "__main__":
    sys.exit(main())
