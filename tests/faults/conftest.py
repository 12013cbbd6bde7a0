"""Fixtures of the fault-injection suite: one warm cache and one small clips folder for the
whole session."""

from __future__ import annotations

import shutil

import pytest

from tests.faults.faultkit import BLINK, PHOTO, SIDE, demo_cmd, run


@pytest.fixture(scope="session")
def small_clips(tmp_path_factory):
    """A clips folder with the built-in blink only: a demo run rigs one 31-frame clip."""
    folder = tmp_path_factory.mktemp("clips")
    shutil.copy(BLINK, folder / BLINK.name)
    return folder


@pytest.fixture(scope="session")
def warm_cache(tmp_path_factory, small_clips):
    """A cache folder holding the sample portrait's face (at --max-side 256) and the blink
    clip's offsets for it: runs of the real commands that share it start in about 2 s."""
    cache = tmp_path_factory.mktemp("cache")
    work = tmp_path_factory.mktemp("warm")
    done = run(demo_cmd(str(PHOTO), "--clips", str(small_clips), "--headless", "--duration",
                        "0.1", "--max-side", SIDE, "--record", str(work / "warm.mp4")),
               cache=cache, cwd=work)
    assert done.returncode == 0, done.stderr
    return cache
