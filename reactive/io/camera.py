"""The camera: frames from a webcam (an index, ``0``) or a video file standing in for one.

A file is played at its own frame rate against the caller's clock: ``read(now_s)`` returns
the file's frame at ``now_s`` (frames in between are decoded and dropped, as a camera that
delivers faster than the reader takes them), so a headless run on a simulated clock sees
exactly the same frames every time. A real camera returns its newest frame, whatever
``now_s`` says.

Frames come out as (H, W, 3) uint8 RGB, scaled down to ``max_side`` (the face mesh works
on a 192 px crop; full HD frames only cost decoding and copying). Colour order is
converted here, once.

Failure is not an error here: a camera that cannot be opened is an ``InputError`` from
:func:`open_camera` (the caller says it in one line and runs on without it); a camera that
stops delivering mid-run (unplugged, end of the file) makes ``read`` return None and
``ended`` true.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from reactive.errors import InputError
from reactive.io.video import FALLBACK_FPS, INPUT_VIDEO_SUFFIXES, MAX_PLAUSIBLE_FPS

log = logging.getLogger(__name__)

# A real camera that returns no frame this many times in a row has gone (unplugged).
MAX_FAILED_READS = 30


@dataclass(frozen=True)
class CameraFrame:
    """One camera frame: ``image`` (H, W, 3) uint8 RGB (a buffer the source may reuse),
    ``index`` its frame number in the source, ``time_s`` when it was taken on the
    caller's clock (a file: its timestamp in the file)."""

    image: np.ndarray
    index: int
    time_s: float


def parse_source(text: str) -> int | Path:
    """``"0"`` -> camera index 0; anything else -> a video file path. InputError for a
    negative index or a file that is missing or not a video."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        index = int(text)
        if index < 0:
            raise InputError(f"--camera {text}: a camera index is 0 or more")
        return index
    path = Path(text)
    if path.is_dir():
        raise InputError(f"--camera {text}: is a folder; give a camera index (0) or a video "
                         "file")
    if not path.is_file():
        raise InputError(f"--camera {text}: no such video file (give a camera index such "
                         "as 0, or a video file standing in for the camera)")
    if path.suffix.lower() not in INPUT_VIDEO_SUFFIXES:
        raise InputError(f"--camera {text}: not a video file ({', '.join(INPUT_VIDEO_SUFFIXES)})")
    return path


class CameraSource:
    """A camera index or a video file as a source of frames (see the module docstring).

    Not thread-safe: one reader (the visitor thread, or the headless loop).
    """

    def __init__(self, source: int | str | os.PathLike, *, max_side: int = 640) -> None:
        if max_side < 64:
            raise ValueError(f"`max_side` must be >= 64; got {max_side}")
        self.source = source
        self.is_file = not isinstance(source, int)
        self.max_side = max_side
        self.name = Path(source).name if self.is_file else f"camera {source}"
        if self.is_file:
            cap = cv2.VideoCapture(str(source), cv2.CAP_FFMPEG)
        else:
            cap = cv2.VideoCapture(int(source))
        if not cap.isOpened():
            cap.release()
            raise InputError(f"{self.name}: cannot open the camera"
                             + (" file (not a video?)" if self.is_file else
                                " (none connected, or in use by another program)"))
        self._cap = cap
        fps = float(cap.get(cv2.CAP_PROP_FPS))
        if not (math.isfinite(fps) and 0.0 < fps <= MAX_PLAUSIBLE_FPS):
            fps = FALLBACK_FPS
        self.fps = fps
        self._next_index = 0          # the file's next frame to decode
        self._last: CameraFrame | None = None
        self._failed_reads = 0
        self.ended = False

    def read(self, now_s: float) -> CameraFrame | None:
        """The frame at ``now_s`` (file) or the newest frame (camera); None once the source
        has ended, and for a file before its first frame is due (``now_s`` < 0)."""
        if self.ended or self._cap is None:
            return None
        if not self.is_file:
            return self._read_camera(now_s)
        due = int(math.floor(now_s * self.fps + 1e-6))
        if due < 0:
            return None
        if self._last is not None and due < self._next_index:
            return self._last  # the same frame is still showing
        while self._next_index <= due:
            ok = self._cap.grab()
            if not ok:
                self._end("the file ended")
                return None
            index = self._next_index
            self._next_index += 1
            if index == due:
                ok, bgr = self._cap.retrieve()
                if not ok or bgr is None:
                    self._end("a frame could not be decoded")
                    return None
                self._last = CameraFrame(self._to_rgb(bgr), index, index / self.fps)
        return self._last

    @property
    def next_frame_s(self) -> float:
        """A file: the time of its next frame not read yet."""
        return self._next_index / self.fps

    def frames_due(self, now_s: float) -> int:
        """A file: how many frames are due by ``now_s`` that were not read yet (0 for a
        camera)."""
        if not self.is_file or self.ended:
            return 0
        return max(0, int(math.floor(now_s * self.fps + 1e-6)) + 1 - self._next_index)

    def _read_camera(self, now_s: float) -> CameraFrame | None:
        ok, bgr = self._cap.read()
        if not ok or bgr is None:
            self._failed_reads += 1
            if self._failed_reads >= MAX_FAILED_READS:
                self._end("it stopped delivering frames")
            return None
        self._failed_reads = 0
        index = self._next_index
        self._next_index += 1
        self._last = CameraFrame(self._to_rgb(bgr), index, now_s)
        return self._last

    def _to_rgb(self, bgr: np.ndarray) -> np.ndarray:
        h, w = bgr.shape[:2]
        scale = self.max_side / max(h, w)
        if scale < 1.0:
            bgr = cv2.resize(bgr, (max(1, round(w * scale)), max(1, round(h * scale))),
                             interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def _end(self, why: str) -> None:
        if not self.ended:
            log.info("%s: %s", self.name, why)
        self.ended = True

    def close(self) -> None:
        """Release the device or file; safe to call twice."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def __enter__(self) -> "CameraSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_camera(text: str, *, max_side: int = 640) -> CameraSource:
    """:func:`parse_source` then :class:`CameraSource`; InputError when it cannot be used."""
    return CameraSource(parse_source(text), max_side=max_side)
