"""Shared fixtures. Test media lives beside the project in ../shared/data and is never copied in."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (ROOT / ".." / "shared" / "data").resolve()

os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


def shared_path(*parts: str) -> Path:
    """A file under ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"test media {path} not found (tests read ../shared/data beside the project)")
    return path


@pytest.fixture(scope="session")
def pack_cache(tmp_path_factory):
    """Clip packs made once per test session: ``pack_cache("d0")`` -> ClipPack."""
    from precompute.cli import precompute_video
    from reactive.clippack import load_pack, save_pack

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
