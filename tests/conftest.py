"""Shared fixtures (plain helpers are in ``helpers.py``). Test media lives beside the project
in ../shared/data and is never copied in."""

from __future__ import annotations

import pytest

from reactive.guard import quiet_native_logs

quiet_native_logs()  # before anything imports cv2

from precompute.video import precompute_video  # noqa: E402
from reactive.io.clippack import load_pack, save_pack  # noqa: E402
from tests.helpers import shared_path  # noqa: E402


@pytest.fixture(scope="session")
def pack_cache(tmp_path_factory):
    """Clip packs made once per test session: ``pack_cache("d0")`` -> ClipPack."""
    folder = tmp_path_factory.mktemp("packs")
    cache = {}

    def get(name: str):
        if name not in cache:
            video = shared_path("driving", f"{name}.mp4")
            path = folder / f"{name}.npz"
            save_pack(precompute_video(video, show_progress=False), path)
            cache[name] = path
        return load_pack(cache[name])

    return get
