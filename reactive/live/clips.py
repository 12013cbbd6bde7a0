"""Where the player's states come from: a folder of clip packs and/or driving videos, or the
built-in procedural clips in ``assets/clips``.

A clip's state name is its pack's tag, or for a video its file stem (``happy.mp4`` -> happy;
a video beside a pack of the same stem is that pack's source and not loaded again);
names starting with ``idle`` are idle clips. Videos are precomputed on first use and cached
by content hash, so the second start does not track them again.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Callable

from precompute.video import video_pack
from reactive.core.mouthbank import build_bank
from reactive.errors import InputError
from reactive.io.assets import BUILTIN_CLIPS_DIR
from reactive.io.cache import cache_dir
from reactive.io.clippack import load_pack
from reactive.io.video import INPUT_VIDEO_SUFFIXES
from reactive.live.player import Clip

log = logging.getLogger(__name__)

PACK_SUFFIX = ".npz"


def load_clips(folder: str | os.PathLike | None = None, *, show_progress: bool = True,
               cache: Path | None = None,
               on_progress: Callable[[str], None] | None = None) -> list[Clip]:
    """The states in ``folder`` (packs and videos), or the built-in clips when None.

    Raises InputError for a missing folder, a folder without clips, a broken pack, or a
    video without a face; two clips with the same state name are an error too.
    """
    builtin = folder is None
    root = BUILTIN_CLIPS_DIR if builtin else Path(folder)
    if not root.is_dir():
        if builtin:
            raise InputError(f"{root}: the built-in clips are missing; regenerate them with "
                             "`python -m precompute synth`")
        raise InputError(f"{root}: clips folder not found")
    files = sorted(p for p in root.iterdir()
                   if p.is_file() and (p.suffix.lower() in INPUT_VIDEO_SUFFIXES
                                       or p.suffix.lower() == PACK_SUFFIX))
    if not files:
        raise InputError(f"{root}: no clip packs (.npz) or driving videos "
                         f"({', '.join(INPUT_VIDEO_SUFFIXES)}) in this folder")
    # A video beside its own pack (``reactive record`` writes both): the pack is that
    # video tracked already; the video is only for watching.
    packed = {p.stem for p in files if p.suffix.lower() == PACK_SUFFIX}
    files = [p for p in files if p.suffix.lower() == PACK_SUFFIX or p.stem not in packed]
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
            pack = video_pack(path, cache, show_progress)
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
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: mouths file not found (give a clip pack .npz or a "
                         "driving video)")
    suffix = path.suffix.lower()
    if suffix == PACK_SUFFIX:
        pack = load_pack(path)
    elif suffix in INPUT_VIDEO_SUFFIXES:
        pack = video_pack(path, cache or cache_dir(), show_progress)
    else:
        raise InputError(f"{path}: mouths must be a clip pack (.npz) or a driving video "
                         f"({', '.join(INPUT_VIDEO_SUFFIXES)})")
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
