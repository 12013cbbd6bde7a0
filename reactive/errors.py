"""User mistakes: the one exception type that means "the user gave us something we cannot
use", and how every command turns it into one line and exit code 2."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Callable


class InputError(Exception):
    """A user-facing problem with an input file or argument.

    The message is one line that names the file or argument, says what is wrong and,
    where possible, what to do. The CLI prints it as ``error: <message>`` and exits 2;
    anything else escaping is a bug in this project.
    """


def run_guarded(fn: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
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


def quiet_native_logs() -> None:
    """OpenCV's FFmpeg prints warnings for every odd frame; the CLI reports problems itself.
    Call before anything imports cv2."""
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
