"""A driving video file -> its clip pack: tracked with a progress bar, or taken from the
cache (keyed by the file's content hash) when it was tracked before."""

from __future__ import annotations

import logging
from pathlib import Path

from precompute.track import track_clip
from reactive.core.clip import ClipPack
from reactive.errors import InputError
from reactive.io.cache import cache_dir, discard, file_digest
from reactive.io.clippack import FORMAT_VERSION, load_pack, save_pack
from reactive.io.video import VideoReader
from reactive.progress import Progress

log = logging.getLogger(__name__)

# Bumped when tracking writes different packs in the same format (2: mouth crops at the
# driver's resolution), so that cached packs of videos are made again.
TRACKING_REVISION = 2


def precompute_video(video: str | Path, *, neutral: int | str = "auto", tag: str = "",
                     show_progress: bool = True) -> ClipPack:
    """Track a driving video file into a clip pack (not written)."""
    video = Path(video)
    with VideoReader(video) as reader:
        bar = Progress(f"tracking {video.name}", reader.frame_count, enabled=show_progress)
        pack = track_clip(reader, fps=reader.fps, neutral=neutral, tag=tag or video.stem,
                          source=video.name, progress=bar.update)
        elapsed = bar.close()
    log.info("%s: %d frames tracked in %.1f s (%.0f fps)", video.name, pack.frame_count,
             elapsed, pack.frame_count / max(elapsed, 1e-9))
    return pack


def video_pack(video: Path, cache: Path | None = None, show_progress: bool = True, *,
               neutral: int | str = "auto") -> ClipPack:
    """The clip pack of ``video`` (tag = file stem), from the cache or tracked now (and
    cached). ``cache``: the cache folder (default ``cache_dir()``).

    Keyed by the video's content (and ``neutral`` when it is a frame number): renaming or
    moving the file does not track it again. A cached pack that does not load is deleted
    (one warning) and the video tracked again.
    """
    video = Path(video)
    cache = cache or cache_dir()
    key = f"{file_digest(video)[:24]}-v{FORMAT_VERSION}r{TRACKING_REVISION}"
    if neutral != "auto":
        key += f"-n{int(neutral)}"
    cached = cache / "clips" / f"{key}.npz"
    if cached.is_file():
        try:
            pack = load_pack(cached)
            # The same content under another name is the same clip, named as given now.
            pack.tag, pack.source = video.stem, video.name
            return pack
        except InputError as exc:
            reason = str(exc).split(": ", 1)[-1].split("; write it again")[0]
            discard(cached, "cached clip pack", reason, "tracking the video again")
    log.warning("%s: tracking the video once (cached for the next start)", video.name)
    pack = precompute_video(video, neutral=neutral, tag=video.stem,
                            show_progress=show_progress)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        save_pack(pack, cached)
    except (OSError, InputError) as exc:  # a read-only or full disk is no reason not to play
        log.warning("could not cache %s: %s", cached, exc)
    return pack
