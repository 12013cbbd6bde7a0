"""Shared fixtures (plain helpers are in ``helpers.py``). Test media lives beside the project
in ../shared/data and is never copied in."""

from __future__ import annotations

import os
import shutil
import subprocess

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


@pytest.fixture(scope="session")
def sample_player_cache(tmp_path_factory):
    """One cache folder for the tests that build a player on the bundled sample at 320 px
    (its tables are computed once per session, not once per test module)."""
    return tmp_path_factory.mktemp("sample-cache")


@pytest.fixture(scope="module")
def xdisplay():
    """DISPLAY of a running X server: the session's, or an Xvfb started here."""
    if os.environ.get("DISPLAY"):
        yield os.environ["DISPLAY"]
        return
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip("no DISPLAY and no Xvfb (apt-get install xvfb libgl1-mesa-dri)")
    read, write = os.pipe()
    proc = subprocess.Popen([xvfb, "-displayfd", str(write), "-screen", "0", "1280x1024x24",
                             "-nolisten", "tcp"], pass_fds=(write,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()  # Xvfb writes it once it accepts connections
    if not number:
        proc.kill()
        pytest.skip("Xvfb did not start")
    try:
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
