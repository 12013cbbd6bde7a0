"""The camera source: a file plays at its own rate against the caller's clock."""

from __future__ import annotations

import numpy as np
import pytest

from reactive.errors import InputError
from reactive.io.camera import CameraSource, open_camera, parse_source
from tests.helpers import write_clip


def _grey(frame) -> int:
    return int(round(float(frame.image.mean()) / 20))


def test_a_file_plays_at_its_own_rate_against_the_clock(tmp_path):
    clip = write_clip(tmp_path / "c.mp4", frames=10, fps=10.0)
    with CameraSource(clip) as cam:
        assert cam.fps == pytest.approx(10.0) and cam.is_file
        assert cam.read(-0.05) is None                      # not started yet
        assert _grey(cam.read(0.0)) == 0
        assert cam.read(0.05).index == 0                     # the same frame still showing
        f = cam.read(0.34)                                   # frames 1, 2 dropped
        assert f.index == 3 and _grey(f) == 3 and f.time_s == pytest.approx(0.3)
        assert cam.frames_due(0.55) == 2 and cam.next_frame_s == pytest.approx(0.4)
        assert cam.read(0.95).index == 9
        assert cam.read(1.2) is None and cam.ended           # the file ended


def test_frames_are_rgb_and_scaled_down(tmp_path):
    clip = write_clip(tmp_path / "c.mp4", frames=3, size=(320, 160))
    with CameraSource(clip, max_side=64) as cam:
        frame = cam.read(0.0).image
    assert frame.shape == (32, 64, 3) and frame.dtype == np.uint8


def test_the_same_clock_gives_the_same_frames(tmp_path):
    clip = write_clip(tmp_path / "c.mp4", frames=10)
    times = [0.0, 0.13, 0.21, 0.5, 0.51, 0.77]
    runs = []
    for _ in range(2):
        with CameraSource(clip) as cam:
            runs.append([cam.read(t).index for t in times])
    assert runs[0] == runs[1] == [0, 1, 2, 5, 5, 7]


def test_sources(tmp_path):
    assert parse_source("0") == 0 and parse_source(" 2 ") == 2
    clip = write_clip(tmp_path / "c.mp4", frames=2)
    assert parse_source(str(clip)) == clip
    with pytest.raises(InputError, match="no such video file"):
        parse_source(str(tmp_path / "missing.mp4"))
    with pytest.raises(InputError, match="is a folder"):
        parse_source(str(tmp_path))
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="not a video file"):
        parse_source(str(tmp_path / "notes.txt"))
    with pytest.raises(InputError, match="index is 0 or more"):
        parse_source("-1")
    (tmp_path / "broken.mp4").write_bytes(b"not a video")
    with pytest.raises(InputError, match="cannot open"):
        open_camera(str(tmp_path / "broken.mp4"))
