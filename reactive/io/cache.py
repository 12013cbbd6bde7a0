"""On-disk cache of what a start computes once per photo: the face's landmarks, the person
and background split (``core.backdrop``) and every clip frame's offsets, keyed by content
hashes and a format version (so the second start of the same photo with the same clips
skips face detection, segmentation, the background fill and Eq. 1 entirely).

Plain ``.npy``/``.npz`` arrays, read with ``allow_pickle=False`` and validated; an
unreadable or mismatched entry is recomputed, never trusted. Written atomically.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from reactive import params as params_mod
from reactive.core import backdrop, folds, lids, motion, rig, similarity, turns
from reactive.core import landmarks as lm
from reactive.core.backdrop import Backdrop
from reactive.core.clip import ClipPack
from reactive.io.atomic import write_atomically

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
        write_atomically(path, save)
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


def cached_face(photo: np.ndarray, folder: Path, find) -> np.ndarray:
    """``find(photo)`` -> (478, 2) landmarks, remembered under the photo's pixels' hash."""
    path = folder / "faces" / f"{array_digest(photo)}.npy"
    if path.is_file():
        try:
            pts = np.load(path, allow_pickle=False)
            if pts.shape == (lm.N_LANDMARKS, 2) and pts.dtype == np.float32 \
                    and np.isfinite(pts).all():
                return pts
        except (OSError, ValueError):
            pass
        log.warning("%s: cached landmarks unreadable, detecting again", path)
    pts = find(photo)
    _atomic_save(path, lambda fh: np.save(fh, pts.astype(np.float32), allow_pickle=False))
    return pts


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
_OFFSET_CODE = (rig, motion, folds, lids, similarity, turns, lm, params_mod)
# ... and the person / background split.
_BACKDROP_CODE = (backdrop, lm, params_mod)


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


def load_tables(folder: Path, key: str, packs: list[ClipPack], k: int) -> list[np.ndarray] | None:
    """The cached offset tables for ``key``, or None. ``k``: control points expected."""
    path = folder / "tables" / f"{key}.npz"
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            tables = [z[f"t{i}"] for i in range(len(packs))]
    except (OSError, ValueError, KeyError):
        log.warning("%s: cached offsets unreadable, computing again", path)
        return None
    for t, p in zip(tables, packs):
        if t.shape != (p.frame_count, k, 2) or t.dtype != np.float32 or not np.isfinite(t).all():
            return None
    return tables


def save_tables(folder: Path, key: str, tables: list[np.ndarray]) -> None:
    path = folder / "tables" / f"{key}.npz"
    _atomic_save(path, lambda fh: np.savez(fh, **{f"t{i}": t for i, t in enumerate(tables)}))
