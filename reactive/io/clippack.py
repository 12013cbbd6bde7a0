"""The clip pack: everything a player needs from one driving clip, in one versioned file.

A clip pack is a NumPy ``.npz`` archive (no pickle) holding a JSON header and plain arrays.
It describes the clip only, never a particular photo. Format (version 4; versions 1-3 are
read too: 1 lacks the mouth arrays, 1 and 2 the ratio images; 3 has the same arrays as 4, but
its ratio images were made before they rejected misalignment, occluders such as hair, and
noise, so they are used with a warning):

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
                                            neutral frame, 128 + 128 log2(R); v4: of
                                            expression creases only
``ratio_box``        (4,) float32           v3: [x0, y0, x1, y1] of ``ratio`` in the
                                            neutral frame's pixels
===================  =====================  ==============================================
"""

from __future__ import annotations

import io
import json
import logging
import os
import struct
import zipfile
from pathlib import Path

import numpy as np

from reactive.core.clip import MAX_SOURCE_SIDE, ClipPack
from reactive.core.landmarks import N_LANDMARKS
from reactive.errors import InputError
from reactive.io.atomic import write_atomically
from reactive.io.safeio import BadFile, Member, read_npz

log = logging.getLogger(__name__)

FORMAT_NAME = "reactive-portraits/clip-pack"
FORMAT_VERSION = 4
READABLE_VERSIONS = (1, 2, 3, 4)
# The first version whose ratio images hold creases only (precompute/details.py, issue 11).
CLEAN_RATIO_VERSION = 4

# What load_pack reads (nothing else in the archive is even inflated) and its limits, checked
# on the arrays' headers before anything is allocated: a clip of up to 20 minutes at 30 fps,
# 1 GB in all (a 10 s tracked clip takes a few MB).
PACK_MEMBERS = {
    "header": Member("|u1", ("B",)),
    "landmarks": Member("<f4", ("F", N_LANDMARKS, 2)),
    "face_detected": Member("|b1", ("F",)),
    "peripheral": Member("<f4", ("F", "P", 2)),
    "peripheral_valid": Member("|b1", ("F", "P")),
    "head": Member("<f4", ("F", 2, 3)),
    "mouth": Member("|u1", ("F", "mouth_h", "mouth_w", 3), required=False),
    "mouth_affine": Member("<f4", ("F", 2, 3), required=False),
    "ratio": Member("|u1", ("F", "ratio_h", "ratio_w"), required=False),
    "ratio_box": Member("<f4", (4,), required=False),
}
MAX_FRAMES = 36_000
MAX_PACK_BYTES = 1 << 30
PACK_BOUNDS = {"B": (2, 1 << 16), "F": (1, MAX_FRAMES), "P": (0, 4096),
               "mouth_h": (1, 1024), "mouth_w": (1, 1024),
               "ratio_h": (1, MAX_SOURCE_SIDE), "ratio_w": (1, MAX_SOURCE_SIDE)}


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
    write_atomically(path, lambda fh: _write_npz(fh, arrays), fsync=True)
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


def load_pack(path: str | os.PathLike) -> ClipPack:
    """Read and validate a clip pack. Any problem is an InputError naming the file."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a clip pack file (.npz), or use --clips "
                         "for a folder of clips")
    if not path.is_file():
        raise InputError(f"{path}: clip pack not found")
    try:
        arrays = read_npz(path, PACK_MEMBERS, bounds=PACK_BOUNDS, max_bytes=MAX_PACK_BYTES)
    except BadFile as exc:
        raise InputError(f"{path}: not a clip pack, or corrupt ({exc}); "
                         "write it again with `reactive precompute`") from None
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
    if pack.ratio is not None and header["version"] < CLEAN_RATIO_VERSION:
        log.warning("%s: made by an older version, its ratio images may paint the driver's "
                    "hair or misaligned features on the face; precompute it again", path)
    return pack
