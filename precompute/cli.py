"""``python -m precompute VIDEO -o PACK`` (also ``reactive precompute``)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from reactive.clippack import ClipPack, save_pack
from reactive.errors import InputError
from reactive.progress import Progress
from reactive.video import VideoReader

from .track import track_clip

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


def precompute_video(video: str | Path, *, neutral: int | str = "auto", tag: str = "",
                     show_progress: bool = True) -> ClipPack:
    """Track a driving video file into a clip pack (not written)."""
    video = Path(video)
    with VideoReader(video) as reader:
        bar = Progress(f"tracking {video.name}", reader.frame_count, enabled=show_progress)
        pack = track_clip(reader, fps=reader.fps, neutral=neutral, tag=tag or video.stem,
                          source=video.name, progress=bar.update)
        elapsed = bar.close()
    log.info("%s: %d frames tracked in %.1f s (%.0f fps)", video.name, pack.frame_count,
             elapsed, pack.frame_count / max(elapsed, 1e-9))
    return pack


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", help="driving clip (mp4, mov, ...)")
    parser.add_argument("-o", "--output", required=True, help="clip pack to write (.npz)")
    parser.add_argument("--tag", default="", help="state name, e.g. happy (default: file stem)")
    parser.add_argument("--neutral", type=parse_neutral, default="auto",
                        help="neutral frame: 'auto' (least expressive) or a frame number")


def run(args: argparse.Namespace) -> int:
    out = Path(args.output)
    if not out.parent.is_dir():
        raise InputError(f"{out}: output folder {out.parent} does not exist")
    pack = precompute_video(args.video, neutral=args.neutral, tag=args.tag,
                            show_progress=not args.quiet)
    save_pack(pack, out)
    note = f", {pack.interpolated_frames} interpolated" if pack.interpolated_frames else ""
    print(f"wrote {out}: {pack.frame_count} frames at {pack.fps:g} fps, neutral frame "
          f"{pack.neutral_index}, {pack.peripheral.shape[1]} peripheral points{note}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from reactive.cli import quiet_native_logs, run_guarded

    quiet_native_logs()
    parser = argparse.ArgumentParser(prog="python -m precompute",
                                     description="Track a driving clip into a clip pack.")
    add_arguments(parser)
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.add_argument("-v", "--verbose", action="store_true", help="more log output")
    args = parser.parse_args(argv)
    return run_guarded(run, args)
