"""``reactive render``: photo + driving video or clip pack -> video, PNG frames and/or the
stage strip (the paper's Fig. 6)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from precompute.video import video_pack
from reactive.core.clip import expressive_frames
from reactive.core.rig import build_rig
from reactive.core.synthesis import parse_stages
from reactive.errors import InputError
from reactive.guard import prepare_output
from reactive.io.cache import cache_dir, cached_face
from reactive.io.clippack import load_pack
from reactive.io.photo import MIN_MAX_SIDE_PX, load_photo
from reactive.io.target import detect_target_face, photo_backdrop, warn_about_face
from reactive.io.video import IMAGE_SUFFIXES, VIDEO_SUFFIXES, VideoReader, VideoWriter, write_image
from reactive.live.clips import load_mouth_bank
from reactive.progress import Progress
from reactive.tools.render import RenderOptions, render, stage_strip

log = logging.getLogger("reactive")


def run(args: argparse.Namespace) -> int:
    """Run ``reactive render`` with its parsed ``args``; returns the exit code."""
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
        if strip_frames and max(strip_frames) >= pack.frame_count:
            raise InputError(f"--strip-frames: frame {max(strip_frames)} is outside "
                             f"{args.clip}'s frames 0-{pack.frame_count - 1}")
    mouths = None
    if args.mouths:
        mouths = load_mouth_bank(args.mouths, show_progress=not args.quiet)
    photo = load_photo(args.photo, max_side=args.max_side)
    cache = cache_dir()
    source = str(args.photo)
    points = cached_face(photo, cache, lambda p: detect_target_face(p, source=source),
                         report=lambda pts, n: warn_about_face(pts, n, source=source))
    backdrop = None if args.warp_background else photo_backdrop(photo, points, folder=cache)
    driving_path = None
    if args.driving:
        # Tracked once, then cached by the video's content (as clip folders are).
        pack = video_pack(Path(args.driving), cache, not args.quiet, neutral=args.neutral)
        driving_path = Path(args.driving)
    if args.strip is not None:
        _write_strip(args, photo, points, pack, driving_path, strip_frames, mouths, backdrop)
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
                       driving=reader, progress=bar.update, mouths=mouths,
                       backdrop=backdrop)
        bar.close()
    finally:
        if reader is not None:
            reader.close()
    print(f"wrote {out}: {n} frames at {pack.fps:g} fps")
    return 0


def _write_strip(args, photo, points, pack, driving_path, frames, mouths=None,
                 backdrop=None) -> None:
    frames = frames or expressive_frames(pack)
    bad = [i for i in frames if not 0 <= i < pack.frame_count]
    if bad:
        raise InputError(f"--strip-frames: frame {bad[0]} is outside the clip's frames "
                         f"0-{pack.frame_count - 1}")
    driving = None
    if driving_path is not None:
        with VideoReader(driving_path) as reader:
            driving = [f for _, f in zip(range(max(frames) + 1), reader)]
    strip = stage_strip(build_rig(photo, points, pack, backdrop=backdrop), pack, frames,
                        driving=driving, mouths=mouths)
    write_image(args.strip, strip)
    print(f"wrote {args.strip}: frames {', '.join(map(str, frames))}")
