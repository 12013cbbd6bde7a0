"""The clip pack: everything a player needs from one driving clip, in one versioned file.

A clip pack is a NumPy ``.npz`` archive (no pickle) holding a JSON header and plain arrays.
It describes the clip only, never a particular photo. Format (version 3; versions 1 and 2 are
read too: 1 lacks the mouth arrays, 1 and 2 the ratio images). The mouth crops may have any
size: tracked clips now store (F, 160, 160, 3) at the driver's own resolution (sharp teeth),
older packs and the built-in clips (F, 64, 96, 3); readers take the size from the array:

===================  =====================  ==============================================
key                  array                  meaning
===================  =====================  ==============================================
``header``           (B,) uint8             UTF-8 JSON: format, version, fps, frame_count,
                                            source_size [w, h], neutral_index, tag, source,
                                            interpolated_frames
``landmarks``        (F, 478, 2) float32    face mesh points per frame, (x, y) in source px
``face_detected``    (F,) bool              False where the face was lost and interpolated
``peripheral``       (F, P, 2) float32      LK-tracked points outside the face (P may be 0)
``peripheral_valid`` (F, P) bool            False where a point was lost and filled in
``head``             (F, 2, 3) float32      similarity: neutral-frame points -> frame i
``mouth``            (F, h, w, 3) uint8     v2: the driver's mouth, cropped per frame (RGB)
``mouth_affine``     (F, 2, 3) float32      v2: affine frame pixels -> mouth crop pixels
``ratio``            (F, h, w) uint8        v3: expression ratio images aligned to the
                                            neutral frame, 128 + 128 log2(R)
``ratio_box``        (4,) float32           v3: [x0, y0, x1, y1] of ``ratio`` in the
                                            neutral frame's pixels
===================  =====================  ==============================================
"""

from __future__ import annotations

import io
import json
import os
import struct
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic import publish
from .errors import InputError
from .landmarks import N_LANDMARKS

FORMAT_NAME = "reactive-portraits/clip-pack"
FORMAT_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)


@dataclass
class ClipPack:
    """One driving clip, tracked. Shapes as in the module docstring; F frames, P points."""

    fps: float
    source_size: tuple[int, int]  # (width, height) of the driving video
    neutral_index: int
    landmarks: np.ndarray
    face_detected: np.ndarray
    peripheral: np.ndarray
    peripheral_valid: np.ndarray
    head: np.ndarray
    tag: str = ""
    source: str = ""
    extra: dict = field(default_factory=dict)
    mouth: np.ndarray | None = None
    mouth_affine: np.ndarray | None = None
    ratio: np.ndarray | None = None
    ratio_box: np.ndarray | None = None

    @property
    def frame_count(self) -> int:
        return int(self.landmarks.shape[0])

    @property
    def interpolated_frames(self) -> int:
        return int((~self.face_detected).sum())

    def validate(self) -> None:
        """Raise ValueError naming the first inconsistent field."""
        f = self.landmarks.shape[0] if self.landmarks.ndim == 3 else -1
        checks = [
            ("landmarks", self.landmarks, (f, N_LANDMARKS, 2), np.float32),
            ("face_detected", self.face_detected, (f,), np.bool_),
            ("head", self.head, (f, 2, 3), np.float32),
        ]
        p = self.peripheral.shape[1] if self.peripheral.ndim == 3 else -1
        checks += [
            ("peripheral", self.peripheral, (f, p, 2), np.float32),
            ("peripheral_valid", self.peripheral_valid, (f, p), np.bool_),
        ]
        if (self.mouth is None) != (self.mouth_affine is None):
            raise ValueError("`mouth` and `mouth_affine` come together")
        if self.mouth is not None:
            m = self.mouth.shape
            checks += [
                ("mouth", self.mouth, (f, m[1] if len(m) == 4 else -1,
                                       m[2] if len(m) == 4 else -1, 3), np.uint8),
                ("mouth_affine", self.mouth_affine, (f, 2, 3), np.float32),
            ]
        if (self.ratio is None) != (self.ratio_box is None):
            raise ValueError("`ratio` and `ratio_box` come together")
        if self.ratio is not None:
            r = self.ratio.shape
            checks += [
                ("ratio", self.ratio, (f, r[1] if len(r) == 3 else -1,
                                       r[2] if len(r) == 3 else -1), np.uint8),
                ("ratio_box", self.ratio_box, (4,), np.float32),
            ]
        for name, arr, shape, dtype in checks:
            if arr.shape != shape or arr.dtype != dtype:
                raise ValueError(f"`{name}` must be {shape} {np.dtype(dtype).name}; "
                                 f"got {arr.shape} {arr.dtype}")
            if arr.dtype == np.float32 and not np.isfinite(arr).all():
                raise ValueError(f"`{name}` has non-finite values")
        if f < 1:
            raise ValueError("a clip pack needs at least one frame")
        if not (0 <= self.neutral_index < f):
            raise ValueError(f"`neutral_index` must be in [0, {f}); got {self.neutral_index}")
        if not (0 < self.fps <= 1000):
            raise ValueError(f"`fps` must be in (0, 1000]; got {self.fps}")
        w, h = self.source_size
        if w < 1 or h < 1:
            raise ValueError(f"`source_size` must be positive; got {self.source_size}")


def save_pack(pack: ClipPack, path: str | os.PathLike) -> Path:
    """Validate and write ``pack`` to ``path`` atomically (temp file, then rename)."""
    pack.validate()
    path = Path(path)
    if not path.parent.is_dir():
        raise InputError(f"{path}: output folder {path.parent} does not exist")
    header = {
        "format": FORMAT_NAME, "version": FORMAT_VERSION, "fps": float(pack.fps),
        "frame_count": pack.frame_count, "source_size": [int(v) for v in pack.source_size],
        "neutral_index": int(pack.neutral_index), "tag": pack.tag, "source": pack.source,
        "interpolated_frames": pack.interpolated_frames, **pack.extra,
    }
    arrays = {
        "header": np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8),
        "landmarks": pack.landmarks, "face_detected": pack.face_detected,
        "peripheral": pack.peripheral, "peripheral_valid": pack.peripheral_valid,
        "head": pack.head,
    }
    if pack.mouth is not None:
        arrays["mouth"] = pack.mouth
        arrays["mouth_affine"] = pack.mouth_affine
    if pack.ratio is not None:
        arrays["ratio"] = pack.ratio
        arrays["ratio_box"] = pack.ratio_box
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            _write_npz(fh, arrays)
            fh.flush()
            os.fsync(fh.fileno())
        publish(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    return path


# np.savez_compressed stamps the current time into every zip entry. Overwriting the stamps with
# a fixed one (the zip epoch) makes equal packs equal bytes, so generated packs can be committed
# and their regeneration checked byte for byte.
_DOS_EPOCH = struct.pack("<HH", 0, (1 << 5) | 1)  # time 00:00:00, date 1980-01-01


def _write_npz(fh, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez_compressed(fh, **arrays)`` with fixed zip timestamps: byte-identical output
    for equal input (same numpy and zlib)."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    data = bytearray(buf.getbuffer())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        infos, central = zf.infolist(), zf.start_dir
    # Local headers hold the stamp at bytes 10-13, central directory entries at 12-15.
    for info in infos:
        if data[info.header_offset:info.header_offset + 4] != b"PK\x03\x04":
            raise RuntimeError("unexpected zip layout from np.savez_compressed")
        data[info.header_offset + 10:info.header_offset + 14] = _DOS_EPOCH
    pos = central
    for _ in infos:
        if data[pos:pos + 4] != b"PK\x01\x02":
            raise RuntimeError("unexpected zip layout from np.savez_compressed")
        data[pos + 12:pos + 16] = _DOS_EPOCH
        name_len, extra_len, comment_len = struct.unpack("<HHH", data[pos + 28:pos + 34])
        pos += 46 + name_len + extra_len + comment_len
    fh.write(data)


def _unlink_quietly(path: str | os.PathLike) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def load_pack(path: str | os.PathLike) -> ClipPack:
    """Read and validate a clip pack. Any problem is an InputError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: clip pack not found")
    try:
        raw = path.read_bytes()
        with np.load(io.BytesIO(raw), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError):
        raise InputError(f"{path}: not a clip pack, or corrupt; "
                         "write it again with `reactive precompute`") from None
    if "header" not in arrays:
        raise InputError(f"{path}: not a clip pack (no header); write it with `reactive precompute`")
    try:
        header = json.loads(arrays["header"].tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputError(f"{path}: clip pack header is corrupt; write it again") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise InputError(f"{path}: not a clip pack (format is {header.get('format')!r})"
                         if isinstance(header, dict) else f"{path}: clip pack header is corrupt")
    if header.get("version") not in READABLE_VERSIONS:
        raise InputError(f"{path}: clip pack format version {header.get('version')} is not "
                         f"supported (this program reads version {FORMAT_VERSION}); "
                         "precompute the clip again")
    known = {"format", "version", "fps", "frame_count", "source_size", "neutral_index", "tag",
             "source", "interpolated_frames"}
    try:
        pack = ClipPack(
            fps=float(header["fps"]),
            source_size=(int(header["source_size"][0]), int(header["source_size"][1])),
            neutral_index=int(header["neutral_index"]),
            landmarks=arrays["landmarks"], face_detected=arrays["face_detected"],
            peripheral=arrays["peripheral"], peripheral_valid=arrays["peripheral_valid"],
            head=arrays["head"], tag=str(header.get("tag", "")),
            mouth=arrays.get("mouth"), mouth_affine=arrays.get("mouth_affine"),
            ratio=arrays.get("ratio"), ratio_box=arrays.get("ratio_box"),
            source=str(header.get("source", "")),
            extra={k: v for k, v in header.items() if k not in known})
        pack.validate()
        if pack.frame_count != int(header["frame_count"]):
            raise ValueError(f"header says {header['frame_count']} frames, arrays hold "
                             f"{pack.frame_count}")
    except (KeyError, TypeError, IndexError) as exc:
        raise InputError(f"{path}: clip pack is missing {exc}; precompute the clip again") from None
    except ValueError as exc:
        raise InputError(f"{path}: clip pack is invalid: {exc}") from None
    return pack
