"""On-disk cache of what a start computes once per photo: the face's landmarks, the person
and background split (``core.backdrop``) and every clip frame's offsets, keyed by content
hashes and a format version (so the second start of the same photo with the same clips
skips face detection, segmentation, the background fill and Eq. 1 entirely).

Plain ``.npy``/``.npz`` arrays, read with ``allow_pickle=False`` and validated; an
unreadable or mismatched entry is recomputed, never trusted. Written atomically.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from reactive import params as params_mod
from reactive.core import (
    backdrop,
    blur,
    folds,
    geometry,
    jaw,
    lids,
    motion,
    rig,
    similarity,
    turns,
)
from reactive.core import landmarks as lm
from reactive.core.backdrop import Backdrop
from reactive.core.clip import ClipPack
from reactive.io.atomic import write_atomically
from reactive.io.safeio import BadFile, Member, read_npz

log = logging.getLogger(__name__)

CACHE_VERSION = 1


def cache_dir() -> Path:
    """Per-user cache: $REACTIVE_CACHE, else $XDG_CACHE_HOME/reactive-portraits, else
    ~/.cache/reactive-portraits."""
    env = os.environ.get("REACTIVE_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reactive-portraits"


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _atomic_save(path: Path, save) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Whole in memory first: numpy's zip writer on a file that hits a full disk is left
        # half-open and complains again when collected.
        buf = io.BytesIO()
        save(buf)
        write_atomically(path, lambda fh: fh.write(buf.getbuffer()))
    except OSError as exc:  # a full or read-only disk costs speed, not the show
        log.warning("could not write cache %s: %s", path, exc)


def array_digest(*arrays: np.ndarray, extra: str = "") -> str:
    h = hashlib.sha256(f"v{CACHE_VERSION}|{extra}".encode())
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.shape}{a.dtype}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:32]


def pack_digest(pack: ClipPack) -> str:
    arrays = [pack.landmarks, pack.peripheral, pack.head]
    return array_digest(*arrays, extra=f"{pack.neutral_index}|{pack.fps}")


def cached_face(photo: np.ndarray, folder: Path, find, *, report=None) -> np.ndarray:
    """``find(photo)`` -> (478, 2) landmarks, remembered under the photo's pixels' hash.

    ``find`` returns the points, or (points, number of faces in the photo). ``report(points,
    faces)``, if given, is called on every call, cached or not (the photo's warnings are
    said on every start, not only the first).
    """
    path = folder / "faces" / f"{array_digest(photo)}.npz"
    found = None
    if path.is_file():
        try:
            arrays = read_npz(path, _FACE_MEMBERS, bounds={}, max_bytes=1 << 16)
            points, faces = arrays["points"], int(arrays["faces"][0])
            _check_values(points, max(photo.shape[:2]), "landmarks")
            if faces < 1:
                raise BadFile(f"{faces} faces")
            found = points, faces
        except (BadFile, ValueError) as exc:
            discard(path, "cached face landmarks", exc, "detecting the face again")
    if found is None:
        result = find(photo)
        points, faces = result if isinstance(result, tuple) else (result, 1)
        found = np.asarray(points, np.float32), int(faces)
        _atomic_save(path, lambda fh: np.savez(fh, points=found[0],
                                               faces=np.array([found[1]], np.int32)))
    if report is not None:
        report(*found)
    return found[0]


_FACE_MEMBERS = {"points": Member("<f4", (lm.N_LANDMARKS, 2)), "faces": Member("<i4", (1,))}
# Offsets and landmarks further than this many photo sizes from the photo are not a face's.
_MAX_OFF_PHOTO = 1.0


def _check_values(a: np.ndarray, size: float, what: str) -> None:
    """ValueError unless ``a`` is finite and within a photo size around the photo."""
    if not np.isfinite(a).all():
        raise ValueError(f"{what} are not finite")
    lo, hi = float(a.min(initial=0.0)), float(a.max(initial=0.0))
    if lo < -_MAX_OFF_PHOTO * size or hi > (1.0 + _MAX_OFF_PHOTO) * size:
        raise ValueError(f"{what} reach {max(-lo, hi):.3g} px, the photo is {size:g} px")


def discard(path: Path, what: str, reason: object, then: str) -> None:
    """A cache entry that cannot be trusted: one warning, and the file is deleted (so a
    broken entry costs one recomputation, never every start)."""
    log.warning("%s: %s unusable (%s); deleted, %s", path, what, reason, then)
    try:
        path.unlink()
    except OSError:
        pass


def cached_backdrop(photo: np.ndarray, points: np.ndarray, folder: Path, make,
                    params) -> Backdrop | None:
    """``make(photo, points)`` -> ``Backdrop`` or None (the photo is not split), remembered
    under the photo's pixels, the face, the splitting code and ``params``."""
    extra = f"backdrop|{code_digest(_BACKDROP_CODE)}|{asdict(params)!r}"
    path = folder / "backdrops" / f"{array_digest(photo, points, extra=extra)}.npz"
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                if not bool(z["split"]):
                    return None
                h, w = photo.shape[:2]
                arrays = {name: z[name] for name in ("alpha", "person", "plate")}
            if arrays["alpha"].shape == (h, w) and all(
                    a.dtype == np.uint8 for a in arrays.values()):
                return Backdrop(**arrays, params=params)
        except (OSError, ValueError, KeyError):
            pass
        log.warning("%s: cached background plate unreadable, making it again", path)
    made = make(photo, points)
    if made is None:
        _atomic_save(path, lambda fh: np.savez(fh, split=np.array(False)))
    else:
        _atomic_save(path, lambda fh: np.savez(fh, split=np.array(True), alpha=made.alpha,
                                               person=made.person, plate=made.plate))
    return made


# The modules whose code decides the offsets: a new version of any of them makes new tables.
_OFFSET_CODE = (rig, motion, folds, jaw, geometry, lids, similarity, turns, lm, params_mod)
# ... and the person / background split.
_BACKDROP_CODE = (backdrop, blur, lm, params_mod)


def code_digest(modules=_OFFSET_CODE) -> str:
    h = hashlib.sha256()
    for module in modules:
        h.update(Path(module.__file__).read_bytes())
    return h.hexdigest()[:16]


def tables_key(points: np.ndarray, photo_shape: tuple[int, ...], packs: list[ClipPack],
               params: tuple) -> str:
    extra = "|".join([str(photo_shape), code_digest(), *(pack_digest(p) for p in packs),
                      *(repr(asdict(p)) for p in params)])
    return array_digest(points, extra=extra)


def load_tables(folder: Path, key: str, packs: list[ClipPack], k: int,
                photo_size: float | None = None) -> list[np.ndarray] | None:
    """The cached offset tables for ``key``, or None. ``k``: control points expected;
    ``photo_size``: the photo's longer side (offsets beyond a photo size are not plausible).
    A broken or mismatched entry is deleted (one warning) and None returned."""
    path = folder / "tables" / f"{key}.npz"
    if not path.is_file():
        return None
    members = {f"t{i}": Member("<f4", (p.frame_count, k, 2)) for i, p in enumerate(packs)}
    budget = sum(p.frame_count for p in packs) * k * 8 + 4096 * len(packs)
    try:
        arrays = read_npz(path, members, bounds={}, max_bytes=budget)
        tables = [arrays[f"t{i}"] for i in range(len(packs))]
        for t in tables:
            if photo_size is not None:
                _check_values(t, photo_size, "offsets")
            elif not np.isfinite(t).all():
                raise ValueError("offsets are not finite")
    except (BadFile, ValueError) as exc:
        discard(path, "cached offsets", exc, "computing them again")
        return None
    return tables


def save_tables(folder: Path, key: str, tables: list[np.ndarray]) -> None:
    path = folder / "tables" / f"{key}.npz"
    _atomic_save(path, lambda fh: np.savez(fh, **{f"t{i}": t for i, t in enumerate(tables)}))
