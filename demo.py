"""python demo.py PHOTO [DRIVING_VIDEO] [-o OUT.mp4]

Until the built-in clips and the live player exist, the demo renders the photo driven by a
clip, with the clip beside it, to a video. A thin wrapper around ``reactive render``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SAMPLE_CLIP = HERE.parent / "shared" / "data" / "driving" / "d0.mp4"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python demo.py", description=__doc__.split("\n\n")[1])
    parser.add_argument("photo", help="portrait photo")
    parser.add_argument("driving", nargs="?", help=f"driving video (default: {SAMPLE_CLIP} "
                                                   "when the test media is beside the project)")
    parser.add_argument("-o", "--output", default="out/demo.mp4", help="video to write")
    args = parser.parse_args(argv)
    driving = args.driving or (str(SAMPLE_CLIP) if SAMPLE_CLIP.is_file() else None)
    if driving is None:
        print("error: no driving video given and no sample clip found; run "
              "`python demo.py PHOTO VIDEO.mp4` (built-in clips are not shipped yet)",
              file=sys.stderr)
        return 2
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    from reactive.cli import main as reactive_main

    return reactive_main(["render", args.photo, "--driving", driving, "-o", args.output,
                          "--side-by-side"])


if __name__ == "__main__":
    sys.exit(main())
