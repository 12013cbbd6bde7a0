"""`reactive render` outputs: side-by-side video, numbered PNG frames, the photo's size kept."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import listing, reactive, shared_path

pytestmark = pytest.mark.slow


def test_side_by_side_puts_the_driving_clip_left(tmp_path):
    av = pytest.importorskip("av")
    photo, video = shared_path("portraits", "s12.jpg"), shared_path("driving", "d0.mp4")
    proc = reactive("render", str(photo), "--driving", str(video), "-o", "sbs.mp4",
                    "--side-by-side", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    with av.open(str(tmp_path / "sbs.mp4")) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        rate = float(stream.average_rate)
    assert len(frames) == 78 and rate == pytest.approx(25.0)
    # s12 is 375x500 and the result keeps that size; the 512x512 clip, scaled to 500x500,
    # stands left of it; 875 px is padded to 876 because H.264 needs an even width.
    assert frames[0].shape == (500, 500 + 375 + 1, 3)
    left = frames[0][:, :500].reshape(-1, 3).mean(axis=0)
    assert left[1] > left[0] + 30                        # d0's green backdrop on the left


def test_png_frames_are_numbered_and_match_the_photo(tmp_path):
    import cv2

    photo = shared_path("portraits", "s42.jpg")
    proc = reactive("render", str(photo), "--driving", str(shared_path("driving", "d0.mp4")),
                    "-o", "f.png", "--stages", "coarse,hidden", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    names = sorted(listing(tmp_path))
    assert names[0] == "f_0000.png" and names[-1] == "f_0077.png" and len(names) == 78
    first = cv2.imread(str(tmp_path / "f_0000.png"))
    # Frame 0 of d0 is its neutral frame: the warp gives the photo back bit for bit (the
    # details stage would not: its 21-frame temporal filter lets the coming smile in).
    np.testing.assert_array_equal(first, cv2.imread(str(photo)))


def test_strip_shows_each_stage_for_chosen_frames(tmp_path):
    import cv2

    proc = reactive("render", str(shared_path("portraits", "s42.jpg")), "--driving",
                    str(shared_path("driving", "d0.mp4")), "--strip", "strip.png",
                    "--strip-frames", "10,40", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert listing(tmp_path) == {"strip.png"}     # -o is optional with --strip
    strip = cv2.imread(str(tmp_path / "strip.png"))
    # Two rows (frames 10 and 40) of six 256 px tiles: driving, input, coarse, +hidden,
    # +details, +eyes.
    assert strip.shape == (2 * 256, 6 * 256, 3)
    tiles = [strip[256:, k * 256:(k + 1) * 256].astype(int) for k in range(6)]
    assert np.abs(tiles[2] - tiles[1]).mean() > 1.0   # the warp moved something at frame 40
    assert np.abs(tiles[4] - tiles[3]).mean() > 0.05  # and the details shaded it
    # d0 squints and glances at frame 40: the eyes stage closes the lids a little and
    # moves the irises (1.2 grey levels on average over the tile).
    assert np.abs(tiles[5] - tiles[4]).mean() > 0.1
