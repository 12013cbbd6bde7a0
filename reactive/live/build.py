"""A portrait ready to play: photo + clips + profile -> ``Player``, with the per-photo work
cached (the face's landmarks, the person and background split, every clip frame's
offsets), so the second start is instant."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from reactive.core.rig import build_rig
from reactive.io import cache as cache_mod
from reactive.io.photo import load_photo
from reactive.io.target import detect_target_face, photo_backdrop, warn_about_face
from reactive.live.clips import load_clips, load_mouth_bank
from reactive.live.player import Player, player_tables
from reactive.live.profile import Profile, load_profile
from reactive.params import EyeParams, PhotoParams, PlayerParams, WarpParams


def build_player(photo_path: str | Path, *, clips_dir: str | Path | None = None,
                 profile_path: str | Path | None = None, max_side: int | None = None,
                 kiosk: bool = False, seed: int | None = None,
                 status: Callable[[str], None] = lambda s: None,
                 photo: np.ndarray | None = None,
                 mouths_path: str | Path | None = None,
                 still_background: bool | None = None) -> Player:
    """Photo + clips + profile -> a ready ``Player`` (cached per photo and clips).

    ``photo``: the image already loaded (RGB uint8), ``photo_path`` then only names it.
    ``mouths_path``: a pack or video of real mouths for the built-in clips (else the
    profile's ``mouths``).
    ``status``: told each step as it starts (the window shows it).
    ``still_background``: the person over a still background; None: as the profile says.
    """
    profile = load_profile(profile_path) if profile_path else Profile()
    params = PlayerParams()
    if photo is None:
        photo = load_photo(photo_path, max_side=max_side or PhotoParams().max_side)
    status("loading clips")
    clips = load_clips(clips_dir, on_progress=lambda name: status(f"loading clip {name}"))
    folder = cache_mod.cache_dir()
    status("finding the face")
    points = cache_mod.cached_face(
        photo, folder, lambda p: detect_target_face(p, source=str(photo_path)),
        report=lambda pts, n: warn_about_face(pts, n, source=str(photo_path)))
    backdrop = None
    if profile.still_background if still_background is None else still_background:
        status("finding the person")
        backdrop = photo_backdrop(photo, points, folder=folder)
    warp, eyes = WarpParams(), EyeParams()
    packs = [c.pack for c in clips]
    status("rigging the photo")
    rig = build_rig(photo, points, packs, params=warp, dense=False, grid=True,
                    backdrop=backdrop)
    # The control points at rest: the face, the clips' and the head ring's points (and
    # how the ring follows the head: the backdrop's parameters).
    key = cache_mod.tables_key(rig.rest, photo.shape, packs,
                               (warp, eyes) + ((backdrop.params,) if backdrop else ()))
    tables = cache_mod.load_tables(folder, key, packs, len(rig.rest), max(photo.shape[:2]))
    if tables is None:
        status("computing the clips' motion for this photo (once)")
        tables = player_tables(rig, packs, eyes)
        cache_mod.save_tables(folder, key, tables)
    mouths = None
    mouths_path = mouths_path or profile.mouths or None
    if mouths_path and profile.teeth:
        status("loading the mouths")
        mouths = load_mouth_bank(mouths_path)
    rng = np.random.default_rng(seed)
    return Player(photo, points, clips, profile=profile, params=params, warp=warp, eyes=eyes,
                  kiosk=kiosk, rng=rng, rig=rig, tables=tables, mouths=mouths)
