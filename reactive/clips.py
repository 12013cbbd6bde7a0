"""Where the player's states come from: a folder of clip packs and/or driving videos, or the
built-in procedural clips in ``assets/clips``.

A clip's state name is its pack's tag, or for a video its file stem (``happy.mp4`` -> happy);
names starting with ``idle`` are idle clips. Videos are precomputed on first use and cached
by content hash, so the second start does not track them again.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Callable

from .clippack import FORMAT_VERSION, load_pack, save_pack
from .errors import InputError
from .player import Clip

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v")
PACK_SUFFIX = ".npz"
BUILTIN_DIR = Path(__file__).resolve().parents[1] / "assets" / "clips"
# Bumped when tracking writes different packs in the same format (2: mouth crops at the
# driver's resolution), so that cached packs of videos are made again.
TRACKING_REVISION = 2


def cache_dir() -> Path:
    """Per-user cache: $REACTIVE_CACHE, else $XDG_CACHE_HOME/reactive-portraits, else
    ~/.cache/reactive-portraits."""
    env = os.environ.get("REACTIVE_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reactive-portraits"


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _video_pack(video: Path, cache: Path, show_progress: bool):
    """The clip pack of ``video``, from the cache or tracked now (and cached)."""
    from precompute.cli import precompute_video

    key = f"{file_digest(video)[:24]}-v{FORMAT_VERSION}r{TRACKING_REVISION}"
    cached = cache / "clips" / f"{key}.npz"
    if cached.is_file():
        try:
            return load_pack(cached)
        except InputError:
            log.warning("%s: cached clip pack unreadable, tracking the video again", cached)
    log.warning("%s: tracking the video once (cached for the next start)", video.name)
    pack = precompute_video(video, tag=video.stem, show_progress=show_progress)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        save_pack(pack, cached)
    except OSError as exc:  # a read-only home is no reason not to play
        log.warning("could not cache %s: %s", cached, exc)
    return pack


def load_clips(folder: str | os.PathLike | None = None, *, show_progress: bool = True,
               cache: Path | None = None,
               on_progress: Callable[[str], None] | None = None) -> list[Clip]:
    """The states in ``folder`` (packs and videos), or the built-in clips when None.

    Raises InputError for a missing folder, a folder without clips, a broken pack, or a
    video without a face; two clips with the same state name are an error too.
    """
    builtin = folder is None
    root = BUILTIN_DIR if builtin else Path(folder)
    if not root.is_dir():
        if builtin:
            raise InputError(f"{root}: the built-in clips are missing; regenerate them with "
                             "`python -m precompute synth`")
        raise InputError(f"{root}: clips folder not found")
    files = sorted(p for p in root.iterdir()
                   if p.is_file() and (p.suffix.lower() in VIDEO_SUFFIXES
                                       or p.suffix.lower() == PACK_SUFFIX))
    if not files:
        raise InputError(f"{root}: no clip packs (.npz) or driving videos "
                         f"({', '.join(VIDEO_SUFFIXES)}) in this folder")
    cache = cache or cache_dir()
    clips: list[Clip] = []
    seen: dict[str, Path] = {}
    for path in files:
        if on_progress is not None:
            on_progress(path.name)
        if path.suffix.lower() == PACK_SUFFIX:
            pack = load_pack(path)
            name = pack.tag or path.stem
        else:
            pack = _video_pack(path, cache, show_progress)
            name = path.stem
        if name in seen:
            raise InputError(f"{path}: state name {name!r} is also used by {seen[name].name}; "
                             "rename one (the name is the pack's tag or the video's file stem)")
        seen[name] = path
        clips.append(Clip.from_pack(pack, name))
    return clips


def load_mouth_bank(path: str | os.PathLike, *, show_progress: bool = True,
                    cache: Path | None = None):
    """A bank of real mouth interiors (``mouthbank.Interiors``) from a clip pack (.npz) or
    a driving video (tracked once, cached). InputError for a missing file, another kind of
    file, a pack without mouth crops, or a clip that never opens its mouth."""
    from .mouthbank import build_bank

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: mouths file not found (give a clip pack .npz or a "
                         "driving video)")
    suffix = path.suffix.lower()
    if suffix == PACK_SUFFIX:
        pack = load_pack(path)
    elif suffix in VIDEO_SUFFIXES:
        pack = _video_pack(path, cache or cache_dir(), show_progress)
    else:
        raise InputError(f"{path}: mouths must be a clip pack (.npz) or a driving video "
                         f"({', '.join(VIDEO_SUFFIXES)})")
    if pack.mouth is None:
        raise InputError(f"{path}: this clip pack has no mouth crops (made by an old "
                         "version); precompute the clip again")
    if pack.extra.get("synthetic"):
        raise InputError(f"{path}: a built-in (drawn) clip has no real mouths; give a "
                         "tracked clip or a video")
    bank = build_bank([pack])
    if bank is None:
        raise InputError(f"{path}: the mouth never opens in this clip; choose one with "
                         "open mouths (talking, laughing, surprise)")
    return bank
