"""``python -m precompute VIDEO -o PACK`` (also ``reactive precompute``) and
``python -m precompute synth [-o DIR] [--no-teeth]`` (the built-in procedural clips)."""

from __future__ import annotations

import argparse
import logging
import sys

from precompute.synth import CLIPS, DEFAULT_SEED, write_clips
from precompute.video import precompute_video
from reactive.errors import InputError
from reactive.guard import prepare_output, quiet_native_logs, run_guarded
from reactive.io.assets import BUILTIN_CLIPS_DIR
from reactive.io.clippack import save_pack

log = logging.getLogger(__name__)


def parse_neutral(text: str) -> int | str:
    """``auto`` or a frame index, for ``--neutral``."""
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'auto' or a frame number, got {text!r}")
    if value < 0:
        raise argparse.ArgumentTypeError(f"frame number must be >= 0, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", help="driving clip (mp4, mov, ...)")
    parser.add_argument("-o", "--output", required=True, help="clip pack to write (.npz)")
    parser.add_argument("--tag", default="", help="state name, e.g. happy (default: file stem)")
    parser.add_argument("--neutral", type=parse_neutral, default="auto",
                        help="neutral frame: 'auto' (least expressive) or a frame number")


def run(args: argparse.Namespace) -> int:
    out = prepare_output(args.output, suffixes=(".npz",), what="clip pack")  # before tracking
    pack = precompute_video(args.video, neutral=args.neutral, tag=args.tag,
                            show_progress=not args.quiet)
    save_pack(pack, out)
    note = f", {pack.interpolated_frames} interpolated" if pack.interpolated_frames else ""
    print(f"wrote {out}: {pack.frame_count} frames at {pack.fps:g} fps, neutral frame "
          f"{pack.neutral_index}, {pack.peripheral.shape[1]} peripheral points{note}")
    return 0


def add_synth_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of the ``synth`` command (for ``python -m precompute synth`` and aliases)."""
    parser.add_argument("clips", nargs="*", metavar="CLIP",
                        help=f"clips to make (default: all): {', '.join(CLIPS)}")
    parser.add_argument("-o", "--output", default=str(BUILTIN_CLIPS_DIR), metavar="DIR",
                        help="folder for the packs, created if missing (default: the "
                             "project's assets/clips)")
    parser.add_argument("--no-teeth", action="store_true",
                        help="mouth interiors without the upper-teeth band (paintings, "
                             "cartoons)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help=f"random seed for blinks, glances and sway (default "
                             f"{DEFAULT_SEED}: the committed packs)")


def run_synth(args: argparse.Namespace) -> int:
    """Write the built-in procedural clip packs (``synth``) into ``args.output``."""
    unknown = [c for c in args.clips if c not in CLIPS]
    if unknown:
        raise InputError(f"unknown clip {unknown[0]!r}; choose from {', '.join(CLIPS)}")
    paths = write_clips(args.output, seed=args.seed, teeth=not args.no_teeth,
                        names=args.clips or None)
    total = sum(p.stat().st_size for p in paths)
    print(f"wrote {len(paths)} clip pack(s) to {args.output} ({total / 1024:.0f} KB): "
          f"{', '.join(p.stem for p in paths)}")
    return 0


def _is_synth(argv: list[str]) -> bool:
    """The first word that is not an option is the ``synth`` command (a video named
    ``synth`` can still be given as ``./synth``)."""
    words = [a for a in argv if not a.startswith("-")]
    return bool(words) and words[0] == "synth"


def main(argv: list[str] | None = None) -> int:
    quiet_native_logs()
    argv = list(sys.argv[1:] if argv is None else argv)
    if _is_synth(argv):
        argv.remove("synth")
        parser = argparse.ArgumentParser(
            prog="python -m precompute synth",
            description="Write the built-in procedural clip packs (idle, blink, smile, ...): "
                        "an expression model of the face, no driving video needed.")
        add_synth_arguments(parser)
        fn = run_synth
    else:
        parser = argparse.ArgumentParser(
            prog="python -m precompute",
            description="Track a driving clip into a clip pack. "
                        "`python -m precompute synth` writes the built-in clips instead.")
        add_arguments(parser)
        fn = run
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.add_argument("-v", "--verbose", action="store_true", help="more log output")
    args = parser.parse_args(argv)
    return run_guarded(fn, args)
