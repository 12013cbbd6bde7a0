"""The ``reactive`` command: precompute, render, synth, bench, play.

The parser is built from light modules only; each command's work (OpenCV, numba, MediaPipe,
the player) is imported when that command runs, so ``reactive --help`` answers at once.
"""

from __future__ import annotations

import argparse
import sys

from precompute import cli as precompute_cli
from reactive.guard import quiet_native_logs, run_guarded
from reactive.params import PhotoParams


def _render(args: argparse.Namespace) -> int:
    from reactive.tools import render_command  # noqa: PLC0415 - heavy; see the docstring

    return render_command.run(args)


def _bench(args: argparse.Namespace) -> int:
    from reactive.tools import bench  # noqa: PLC0415 - heavy; see the docstring

    return bench.run(args)


def _record(args: argparse.Namespace) -> int:
    from reactive.tools import record  # noqa: PLC0415 - heavy; see the docstring

    return record.run(args)


def build_parser() -> argparse.ArgumentParser:
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
    ren.add_argument("--warp-background", action="store_true",
                     help="warp the whole photo, background included, as the paper does "
                          "(default: the person moves over a still background)")
    ren.add_argument("--mouths", metavar="PATH",
                     help="clip pack or driving video whose real open mouths fill the mouth "
                          "of a built-in (drawn) clip; default: a mouth drawn in the photo's "
                          "colours")
    ren.add_argument("--max-side", type=int, default=PhotoParams.max_side,
                     help=f"cap the photo's longer side (pixels, default {PhotoParams.max_side})")
    ren.set_defaults(func=_render)

    syn = sub.add_parser("synth", parents=[common],
                         help="write the built-in procedural clips (as python -m precompute synth)")
    precompute_cli.add_synth_arguments(syn)
    syn.set_defaults(func=precompute_cli.run_synth)

    ben = sub.add_parser("bench", parents=[common],
                         help="time the live player's per-frame synthesis")
    ben.add_argument("--size", type=int, default=1024, help="photo side in pixels (default 1024)")
    ben.add_argument("--frames", type=int, default=300, help="frames to time (default 300)")
    ben.add_argument("--photo", help="photo (default: the bundled sample portrait)")
    ben.add_argument("--clips", metavar="DIR", help="clips folder (default: built-in clips)")
    ben.add_argument("--warp-background", action="store_true",
                     help="warp the whole photo (default: the person over a still background)")
    ben.add_argument("--stages", action="store_true",
                     help="also print what each stage costs per frame (details, warp, still "
                          "background, mouth, eyes, the rest)")
    ben.add_argument("--puppet", action="store_true",
                     help="time the live puppet end to end (camera -> tracking -> synthesis), "
                          "in real time; ends with puppet_fps=... latency_frames=...")
    ben.add_argument("--camera", metavar="SOURCE",
                     help="--puppet: camera index or a video file standing in for one "
                          "(default 0)")
    ben.set_defaults(func=_bench)

    rec = sub.add_parser("record", parents=[common],
                         help="film your own clips: a guided capture with a camera (or "
                              "takes cut from a video with --headless)")
    rec.add_argument("-o", "--output", default="my_clips", metavar="DIR",
                     help="folder for the clips, <state>.mp4 + <state>.npz (default my_clips)")
    rec.add_argument("--camera", metavar="SOURCE", default="0",
                     help="camera index or a video file standing in for one (default 0)")
    rec.add_argument("--seconds", type=float, default=None, metavar="S",
                     help="length of each expression take in the window (default 3)")
    rec.add_argument("--headless", action="store_true",
                     help="no window: cut --takes from the --camera video file")
    rec.add_argument("--takes", metavar="STATE:START-END,...",
                     help='headless: the takes in seconds, e.g. "neutral:0-2,smile:2-5"')
    rec.set_defaults(func=_record)

    play = sub.add_parser("play", add_help=False,
                          help="the live portrait (same as python demo.py; --help for more)")
    play.set_defaults(func=None)
    kiosk = sub.add_parser("kiosk", add_help=False,
                           help="the kiosk (play --kiosk), restarted whenever it dies "
                                "(--help for more)")
    kiosk.set_defaults(func=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    quiet_native_logs()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["play"]:
        from reactive.live.app import main as play_main  # noqa: PLC0415 - its own parser

        return play_main(argv[1:])
    if argv[:1] == ["kiosk"]:
        from reactive.live.kiosk import main as kiosk_main  # noqa: PLC0415 - its own parser

        return kiosk_main(argv[1:])
    args = build_parser().parse_args(argv)
    return run_guarded(args.func, args)


if __name__ == "__main__":
    sys.exit(main())
