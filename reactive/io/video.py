"""Read driving videos and write results: RGB uint8 frames in and out.

Reading goes through OpenCV (FFmpeg backend); writing video goes through PyAV's libx264 so the
output is H.264 in yuv420p that every player accepts. Colour order is converted once, here:
OpenCV's BGR becomes RGB as frames are read, and RGB becomes BGR only when dumping images with
OpenCV.
"""

from __future__ import annotations

import logging
import math
import os
import re
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import av
import cv2
import numpy as np

from reactive.errors import InputError
from reactive.io.atomic import publish, temp_path, write_atomically

logger = logging.getLogger(__name__)

__all__ = ["VideoReader", "VideoWriter", "VIDEO_SUFFIXES", "INPUT_VIDEO_SUFFIXES",
           "IMAGE_SUFFIXES"]

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv")  # what we write (H.264)
# What we read as driving videos (anything OpenCV's FFmpeg decodes; these by name).
INPUT_VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
FALLBACK_FPS = 25.0
MAX_PLAUSIBLE_FPS = 1000.0  # containers sometimes report a time base (e.g. 90000) as the rate
MIN_FRAMES = 2
SHORT_READ_WARN_FRAC = 0.9  # warn when fewer than this fraction of the reported frames decode
X264_CRF = 18  # visually lossless for our content
X264_PRESET = "fast"
JPEG_QUALITY = 95

_PRINTF_INT = re.compile(r"%0?\d*d")


class VideoReader:
    """Frames of a video file as (H, W, 3) uint8 RGB.

    Use as a context manager and iterate::

        with VideoReader("drive.mp4") as video:
            for frame in video:  # (H, W, 3) uint8 RGB
                ...

    Attributes
    ----------
    path : Path
    fps : float
        Frame rate reported by the container; 25.0 (with a warning) if it is missing or absurd.
    frame_count : int
        Frame count reported by the container, 0 if unknown. It may be approximate, and a
        truncated file yields fewer frames; trust the iteration, not this number.
    size : (width, height)
        Of the decoded frames.

    Raises
    ------
    InputError
        At construction: the file is missing, a directory, not a video OpenCV can open, or its
        first frame cannot be decoded (not a video, truncated before the first frame).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if self.path.is_dir():
            raise InputError(f"{self.path}: is a directory; give the path of a video file")
        if not self.path.exists():
            raise InputError(f"{self.path}: no such file (check the path)")

        self._cap = self._open()
        ok, first = self._cap.read()
        if not ok or first is None:
            self.close()
            raise InputError(
                f"{self.path}: cannot decode the first video frame (file truncated or not a video?)"
            )
        self._first: np.ndarray | None = first
        self.size: tuple[int, int] = (int(first.shape[1]), int(first.shape[0]))

        fps = float(self._cap.get(cv2.CAP_PROP_FPS))
        if not (math.isfinite(fps) and 0.0 < fps <= MAX_PLAUSIBLE_FPS):
            logger.warning("%s: frame rate missing or invalid (%r); assuming %g fps", self.path, fps, FALLBACK_FPS)
            fps = FALLBACK_FPS
        self.fps: float = fps

        count = self._cap.get(cv2.CAP_PROP_FRAME_COUNT)
        self.frame_count: int = int(count) if math.isfinite(count) and count > 0 else 0

    def _open(self) -> cv2.VideoCapture:
        # FFmpeg explicitly: with CAP_ANY, OpenCV may hand an odd name to its image-sequence
        # backend instead of failing plainly.
        cap = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG)
        if not cap.isOpened():
            cap.release()
            raise InputError(f"{self.path}: cannot open as a video: not a video file, or cut "
                             "short or corrupt (use a complete MP4/MOV/MKV/AVI)")
        return cap

    def __iter__(self) -> Iterator[np.ndarray]:
        """Yield (H, W, 3) uint8 RGB frames; stops early (silently) where a file is truncated.

        Iterating again re-opens the file and starts from the first frame.
        """
        if self._cap is None:
            raise ValueError(f"{self.path}: VideoReader is closed")
        if self._first is None:
            # Seeking back with CAP_PROP_POS_FRAMES is unreliable across codecs; reopen instead.
            self._cap.release()
            self._cap = self._open()
            ok, first = self._cap.read()
            if not ok:
                return
        else:
            first, self._first = self._first, None
        yield _bgr_to_rgb(first)
        while self._cap is not None:
            ok, frame = self._cap.read()
            if not ok or frame is None:
                return
            yield _bgr_to_rgb(frame)

    def read_all(self) -> list[np.ndarray]:
        """All frames, each (H, W, 3) uint8 RGB.

        Raises
        ------
        InputError
            Fewer than 2 frames decode (truncated file or a single still).
        """
        frames = list(self)
        if len(frames) < MIN_FRAMES:
            raise InputError(
                f"{self.path}: only {len(frames)} frame(s) could be decoded; need at least "
                f"{MIN_FRAMES} (file truncated?)"
            )
        if self.frame_count and len(frames) < SHORT_READ_WARN_FRAC * self.frame_count:
            logger.warning(
                "%s: decoded %d of %d frames the container reports; the file may be truncated",
                self.path, len(frames), self.frame_count,
            )
        return frames

    def close(self) -> None:
        """Release the file; safe to call twice."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None
        self._first = None

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    def __repr__(self) -> str:
        w, h = self.size
        return f"VideoReader({str(self.path)!r}, fps={self.fps:g}, frame_count={self.frame_count}, size={w}x{h})"


class VideoWriter:
    """Write (H, W, 3) uint8 RGB frames to an H.264 video or to numbered images, atomically.

    Parameters
    ----------
    path : str or path-like
        ``.mp4``, ``.mov`` or ``.mkv``: H.264 (libx264, yuv420p, CRF 18). H.264 in yuv420p needs
        even width and height, so an odd size is padded by repeating the last column and/or row
        (101x75 is stored as 102x76).
        ``.png``, ``.jpg``, ``.jpeg``: one image per frame. A printf pattern in the file name
        (``out_%04d.png``) names them; otherwise they are ``<stem>_0000.png``, ``<stem>_0001.png``,
        ... next to `path`.
    fps : float > 0, keyword-only
        May be fractional; the rate is ``Fraction(fps).limit_denominator(1001)``, so
        30000/1001 (NTSC, 29.97003) stays exact.
    size : (width, height) or None, keyword-only
        Expected frame size; ``None`` takes it from the first frame.

    Writing is atomic: the video goes to a hidden temporary file in the same folder and is
    renamed to `path` on a successful `close`; an exception inside the ``with`` block, or
    `abort`, deletes it, and for image dumps deletes the images written so far, so nothing is
    left behind. Each image is also written under a temporary name and renamed.

    Raises
    ------
    InputError
        The output folder does not exist, or the suffix is not supported.
    ValueError
        `fps` or `size` is invalid.
    """

    def __init__(self, path: str | os.PathLike, *, fps: float, size: tuple[int, int] | None = None):
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in VIDEO_SUFFIXES + IMAGE_SUFFIXES:
            raise InputError(
                f"{self.path}: unsupported output type {suffix or '(no suffix)'!r}; "
                f"use one of {', '.join(VIDEO_SUFFIXES + IMAGE_SUFFIXES)}"
            )
        folder = self.path.parent
        if not folder.is_dir():
            raise InputError(f"{folder}: output folder does not exist (create it first)")
        if isinstance(fps, bool) or not isinstance(fps, (int, float, Fraction, np.number)) or not (
            math.isfinite(float(fps)) and float(fps) > 0
        ):
            raise ValueError(f"`fps` must be a positive finite number; got {fps!r}")
        if size is not None and not (
            len(size) == 2 and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0 for v in size)
        ):
            raise ValueError(f"`size` must be (width, height) positive ints or None; got {size!r}")

        self.fps = float(fps)
        self.size: tuple[int, int] | None = (int(size[0]), int(size[1])) if size is not None else None
        self.frames_written = 0
        self._is_video = suffix in VIDEO_SUFFIXES
        self._closed = False
        self._encoder: _H264Encoder | None = None
        self._tmp: Path | None = None
        self._dumped: list[Path] = []
        if self._is_video:
            self._tmp = _create_temp(folder, self.path.name, suffix)

    def write(self, frame: np.ndarray) -> None:
        """Append one frame: (H, W, 3) uint8 RGB, the same size as the first frame (or `size`)."""
        if self._closed:
            raise ValueError(f"{self.path}: VideoWriter is closed")
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            got = f"{frame.dtype} {frame.shape}" if isinstance(frame, np.ndarray) else type(frame).__name__
            raise ValueError(f"`frame` must be (H, W, 3) uint8 RGB; got {got}")
        frame_size = (frame.shape[1], frame.shape[0])
        if self.size is None:
            self.size = frame_size
        elif frame_size != self.size:
            raise ValueError(
                f"`frame` must be {self.size[0]}x{self.size[1]} like the first frame; "
                f"got {frame_size[0]}x{frame_size[1]}"
            )

        if self._is_video:
            if self._encoder is None:
                self._encoder = _H264Encoder(self._tmp, fps=self.fps, size=self.size)
            self._encoder.encode(frame)
        else:
            self._dump(frame)
        self.frames_written += 1

    def _dump(self, frame: np.ndarray) -> None:
        target = _frame_path(self.path, self.frames_written)
        write_image(target, frame)
        self._dumped.append(target)

    def close(self) -> None:
        """Finish the file and move it to `path`; safe to call twice.

        Raises
        ------
        ValueError
            No frame was written (nothing is saved).
        """
        if self._closed:
            return
        if self.frames_written == 0:
            self.abort()
            raise ValueError(f"{self.path}: no frames were written; nothing saved")
        self._closed = True
        if not self._is_video:
            self._dumped = []  # they are the result now; a later abort() must not delete them
            logger.info("%s: wrote %d images", self.path, self.frames_written)
            return
        tmp, self._tmp = self._tmp, None
        encoder, self._encoder = self._encoder, None
        try:
            encoder.close()
            publish(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        logger.info("%s: wrote %d frames at %g fps", self.path, self.frames_written, self.fps)

    def abort(self) -> None:
        """Stop and delete everything this writer wrote; safe to call twice or after `close`."""
        if self._closed and self._tmp is None and not self._dumped:
            return
        self._closed = True
        if self._encoder is not None:
            self._encoder.abort()
            self._encoder = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None
        for p in self._dumped:
            p.unlink(missing_ok=True)
        self._dumped = []

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()


class _H264Encoder:
    """The one H.264 path: RGB frames -> libx264 yuv420p in an mp4/mov/mkv at `path`.

    size : (width, height) of the incoming frames; odd sides are padded to even by edge
        replication, since yuv420p halves the chroma in both directions.
    """

    def __init__(self, path: Path, *, fps: float, size: tuple[int, int]):
        width, height = size
        self._pad = (height % 2, width % 2)  # rows, columns to add
        rate = Fraction(fps).limit_denominator(1001)
        options = {"movflags": "+faststart"} if path.suffix.lower() in (".mp4", ".mov") else {}
        self._container = av.open(str(path), mode="w", options=options)
        try:
            stream = self._container.add_stream("libx264", rate=rate)
            stream.width = width + self._pad[1]
            stream.height = height + self._pad[0]
            stream.pix_fmt = "yuv420p"
            stream.codec_context.time_base = 1 / rate
            stream.options = {"crf": str(X264_CRF), "preset": X264_PRESET}
        except BaseException:
            self._container.close()
            raise
        self._stream = stream
        self._pts = 0

    def encode(self, frame_rgb: np.ndarray) -> None:
        if any(self._pad):
            frame_rgb = np.pad(frame_rgb, ((0, self._pad[0]), (0, self._pad[1]), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame_rgb), format="rgb24")
        frame.pts = self._pts
        self._pts += 1
        # PyAV converts rgb24 to the stream's yuv420p inside encode().
        self._container.mux(self._stream.encode(frame))

    def close(self) -> None:
        try:
            self._container.mux(self._stream.encode(None))  # flush delayed frames
        finally:
            self._container.close()

    def abort(self) -> None:
        try:
            self._container.close()
        except Exception as exc:  # noqa: BLE001 - the file is being deleted anyway
            logger.debug("ignoring error while aborting video: %s", exc)


def _bgr_to_rgb(frame: np.ndarray) -> np.ndarray:
    """OpenCV frame (H, W, 3) BGR or (H, W) grey uint8 -> (H, W, 3) RGB, C-contiguous."""
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def write_image(path: str | os.PathLike, frame: np.ndarray) -> Path:
    """Write one RGB uint8 image (PNG/JPEG by suffix) atomically: temp file, then rename."""
    target = Path(path)
    if target.suffix.lower() not in IMAGE_SUFFIXES:
        raise InputError(f"{target}: unsupported image type; use one of "
                         f"{', '.join(IMAGE_SUFFIXES)}")
    ok, encoded = cv2.imencode(
        target.suffix.lower(),
        cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),  # RGB leaves the program here, as BGR for OpenCV
        [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY],
    )
    if not ok:
        raise RuntimeError(f"{target}: OpenCV could not encode the frame")
    # A full disk propagates as OSError with its errno (``guard`` says it in one line).
    write_atomically(target, lambda fh: fh.write(encoded.tobytes()))
    return target


def _frame_path(path: Path, index: int) -> Path:
    """Where image dump number `index` goes: the name's printf pattern, else ``<stem>_%04d``."""
    name = path.name
    if _PRINTF_INT.search(name):
        return path.with_name(_PRINTF_INT.sub(lambda m: m.group(0) % index, name, count=1))
    return path.with_name(f"{path.stem}_{index:04d}{path.suffix}")


def _create_temp(folder: Path, name: str, suffix: str) -> Path:
    """A hidden temporary file beside the output (``atomic.temp_path``); a folder that
    cannot be written is the user's problem to fix (InputError)."""
    try:
        return temp_path(folder, name, suffix)
    except OSError as exc:
        raise InputError(f"{folder}: cannot write in output folder ({exc.strerror or exc})") from exc
