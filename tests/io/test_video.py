"""Tests for reactive.video: H.264 writing read back with PyAV/OpenCV, dumps, and bad inputs."""

from __future__ import annotations

import logging
import os
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from reactive.errors import InputError
from reactive.io import video as video_module
from reactive.io.video import VideoReader, VideoWriter


def _smooth_frames(n: int, width: int, height: int) -> list[np.ndarray]:
    """n frames (height, width, 3) uint8 RGB: gentle gradients drifting a little per frame."""
    yy, xx = np.mgrid[:height, :width].astype(np.float32)
    frames = []
    for i in range(n):
        r = 40 + 160 * xx / width + 2 * i
        g = 60 + 120 * yy / height
        b = 128 + 60 * np.sin(xx / 15.0 + yy / 23.0 + i / 5.0)
        frames.append(np.clip(np.stack([r, g, b], -1), 0, 255).round().astype(np.uint8))
    return frames


def _noise_frames(n: int, width: int, height: int) -> list[np.ndarray]:
    # Incompressible content so the bytes spread over all frames (a truncation then cuts mid-video).
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(n)]


def _write(path, frames, *, fps=25.0, **kw) -> None:
    with VideoWriter(path, fps=fps, **kw) as writer:
        for f in frames:
            writer.write(f)


def _decode_with_pyav(path):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        info = {
            "codec": stream.codec_context.name,
            "rate": stream.average_rate,
            "size": (stream.codec_context.width, stream.codec_context.height),
            "pix_fmt": stream.codec_context.pix_fmt,
        }
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    return info, frames


# --- VideoWriter: H.264 -------------------------------------------------------------------------

def test_mp4_round_trip_h264(tmp_path):
    frames = _smooth_frames(10, 64, 48)
    path = tmp_path / "out.mp4"
    _write(path, frames, fps=24)
    assert sorted(os.listdir(tmp_path)) == ["out.mp4"]  # temp file renamed away

    info, decoded = _decode_with_pyav(path)
    assert info == {"codec": "h264", "rate": Fraction(24), "size": (64, 48), "pix_fmt": "yuv420p"}
    assert len(decoded) == 10
    for got, want in zip(decoded, frames):
        assert np.abs(got.astype(np.int16) - want).mean() < 3

    with VideoReader(path) as reader:
        assert reader.fps == pytest.approx(24)
        assert reader.frame_count == 10
        assert reader.size == (64, 48)
        read = reader.read_all()
    assert len(read) == 10 and read[0].shape == (48, 64, 3) and read[0].dtype == np.uint8
    assert read[0].flags.c_contiguous
    # Same colour order in and out: the red gradient is still in channel 0.
    assert np.abs(read[3].astype(np.int16) - frames[3]).mean() < 3


def test_fractional_fps_is_kept_exact(tmp_path):
    path = tmp_path / "ntsc.mp4"
    _write(path, _smooth_frames(3, 32, 32), fps=30000 / 1001)
    info, _ = _decode_with_pyav(path)
    assert info["rate"] == Fraction(30000, 1001)
    with VideoReader(path) as reader:
        assert reader.fps == pytest.approx(29.97, abs=0.01)


@pytest.mark.parametrize("suffix", [".mov", ".mkv"])
def test_other_containers(tmp_path, suffix):
    path = tmp_path / f"out{suffix}"
    _write(path, _smooth_frames(4, 32, 32))
    info, decoded = _decode_with_pyav(path)
    assert info["codec"] == "h264" and len(decoded) == 4
    assert os.listdir(tmp_path) == [path.name]


def test_odd_size_is_padded_by_edge_replication(tmp_path):
    frames = _smooth_frames(3, 101, 75)
    path = tmp_path / "odd.mp4"
    _write(path, frames, size=(101, 75))
    info, decoded = _decode_with_pyav(path)
    assert info["size"] == (102, 76)
    got = decoded[0].astype(np.int16)
    assert np.abs(got[:75, :101] - frames[0]).mean() < 3
    # The added column/row repeat the last real ones (up to coding error).
    assert np.abs(got[:75, 101] - frames[0][:, 100]).mean() < 4
    assert np.abs(got[75, :101] - frames[0][74]).mean() < 4


def test_exception_inside_with_leaves_nothing(tmp_path):
    path = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError, match="boom"):
        with VideoWriter(path, fps=25) as writer:
            for f in _smooth_frames(3, 32, 32):
                writer.write(f)
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []


def test_abort_leaves_nothing_and_close_after_is_harmless(tmp_path):
    writer = VideoWriter(tmp_path / "out.mp4", fps=25)
    writer.write(_smooth_frames(1, 32, 32)[0])
    writer.abort()
    writer.abort()
    writer.close()
    assert os.listdir(tmp_path) == []


def test_no_frames_is_an_error_and_leaves_nothing(tmp_path):
    with pytest.raises(ValueError, match="no frames"):
        with VideoWriter(tmp_path / "out.mp4", fps=25):
            pass
    assert os.listdir(tmp_path) == []


def test_output_keeps_existing_file_until_success(tmp_path):
    path = tmp_path / "out.mp4"
    path.write_bytes(b"previous result")
    with pytest.raises(RuntimeError):
        with VideoWriter(path, fps=25) as writer:
            writer.write(_smooth_frames(1, 32, 32)[0])
            raise RuntimeError("stop")
    assert path.read_bytes() == b"previous result"
    assert os.listdir(tmp_path) == ["out.mp4"]


def test_frame_checks_name_frame(tmp_path):
    with VideoWriter(tmp_path / "out.mp4", fps=25) as writer:
        writer.write(np.zeros((32, 32, 3), np.uint8))
        with pytest.raises(ValueError, match=r"`frame` must be 32x32 like the first frame; got 40x32"):
            writer.write(np.zeros((32, 40, 3), np.uint8))
        with pytest.raises(ValueError, match="`frame` must be .* uint8"):
            writer.write(np.zeros((32, 32, 3), np.float32))
        with pytest.raises(ValueError, match="`frame`"):
            writer.write(np.zeros((32, 32), np.uint8))
    with VideoWriter(tmp_path / "sized.mp4", fps=25, size=(48, 32)) as writer:
        with pytest.raises(ValueError, match="`frame` must be 48x32"):
            writer.write(np.zeros((48, 32, 3), np.uint8))
        writer.write(np.zeros((32, 48, 3), np.uint8))


@pytest.mark.parametrize("fps", [0, -1, float("nan"), float("inf"), "25", True])
def test_bad_fps_is_a_value_error(tmp_path, fps):
    with pytest.raises(ValueError, match="`fps`"):
        VideoWriter(tmp_path / "out.mp4", fps=fps)


def test_bad_size_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="`size`"):
        VideoWriter(tmp_path / "out.mp4", fps=25, size=(0, 10))


def test_missing_output_folder_is_named(tmp_path):
    folder = tmp_path / "not-there"
    with pytest.raises(InputError, match="not-there: output folder does not exist"):
        VideoWriter(folder / "out.mp4", fps=25)


def test_unsupported_suffix_lists_supported(tmp_path):
    with pytest.raises(InputError, match=r"'\.avi'.*\.mp4, \.mov, \.mkv, \.png, \.jpg"):
        VideoWriter(tmp_path / "out.avi", fps=25)
    assert os.listdir(tmp_path) == []


# --- VideoWriter: image dumps -------------------------------------------------------------------

def test_png_dumps_use_stem_numbering_and_are_exact(tmp_path):
    frames = _smooth_frames(3, 40, 30)
    _write(tmp_path / "frame.png", frames)
    assert sorted(os.listdir(tmp_path)) == ["frame_0000.png", "frame_0001.png", "frame_0002.png"]
    back = cv2.imread(str(tmp_path / "frame_0002.png"))[:, :, ::-1]
    np.testing.assert_array_equal(back, frames[2])


def test_dumps_use_printf_pattern(tmp_path):
    _write(tmp_path / "shot-%03d.jpg", _smooth_frames(2, 40, 30))
    assert sorted(os.listdir(tmp_path)) == ["shot-000.jpg", "shot-001.jpg"]


def test_dumps_are_removed_on_exception(tmp_path):
    with pytest.raises(RuntimeError):
        with VideoWriter(tmp_path / "f.png", fps=25) as writer:
            for f in _smooth_frames(2, 40, 30):
                writer.write(f)
            raise RuntimeError("stop")
    assert os.listdir(tmp_path) == []


# --- VideoReader ---------------------------------------------------------------------------------

def test_iterating_twice_restarts(tmp_path):
    path = tmp_path / "v.mp4"
    _write(path, _smooth_frames(5, 32, 32))
    with VideoReader(path) as reader:
        assert len(list(reader)) == 5
        assert len(list(reader)) == 5
    with pytest.raises(ValueError, match="closed"):
        list(reader)


def test_reader_missing_and_directory(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        VideoReader(tmp_path / "nope.mp4")
    with pytest.raises(InputError, match="is a directory"):
        VideoReader(tmp_path)


def test_text_file_named_mp4(tmp_path):
    path = tmp_path / "fake.mp4"
    path.write_text("definitely not a video\n")
    with pytest.raises(InputError, match="cannot open as a video") as info:
        VideoReader(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_header_only_truncation_fails_at_open(tmp_path):
    full = tmp_path / "full.mp4"
    _write(full, _noise_frames(20, 80, 64))
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[:2048])
    with pytest.raises(InputError, match="cut.mp4: cannot"):
        VideoReader(cut)


def test_truncated_mid_video_stops_early_and_warns(tmp_path, caplog):
    full = tmp_path / "full.mp4"
    _write(full, _noise_frames(20, 80, 64))
    data = full.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.4)])
    with VideoReader(cut) as reader:
        assert reader.frame_count == 20  # the container still claims all of them
        with caplog.at_level(logging.WARNING, logger="reactive.io.video"):
            frames = reader.read_all()
    assert 2 <= len(frames) < 20
    assert any("truncated" in r.getMessage() for r in caplog.records)


def test_read_all_needs_two_frames(tmp_path):
    path = tmp_path / "still.mp4"
    _write(path, _smooth_frames(1, 32, 32))
    with VideoReader(path) as reader:
        with pytest.raises(InputError, match="only 1 frame"):
            reader.read_all()


def test_missing_fps_falls_back_to_25(tmp_path, monkeypatch, caplog):
    real_capture = cv2.VideoCapture

    class NoFpsCapture:
        # A wrapper, not a subclass: subclassing cv2.VideoCapture in Python crashes the
        # interpreter later, when the instance is collected.
        def __init__(self, *args):
            self._cap = real_capture(*args)

        def get(self, prop):
            return 0.0 if prop == cv2.CAP_PROP_FPS else self._cap.get(prop)

        def __getattr__(self, name):
            return getattr(self._cap, name)

    path = tmp_path / "v.mp4"
    _write(path, _smooth_frames(3, 32, 32), fps=12)
    monkeypatch.setattr(video_module.cv2, "VideoCapture", NoFpsCapture)
    with caplog.at_level(logging.WARNING, logger="reactive.io.video"):
        with VideoReader(path) as reader:
            assert reader.fps == 25.0
    assert any("assuming 25" in r.getMessage() for r in caplog.records)
