"""Tests for reactive.photo: every image flavour becomes upright (H, W, 3) uint8 RGB."""

from __future__ import annotations

import hashlib
import logging

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from reactive.errors import InputError
from reactive.io.photo import load_photo, photo_hash


def _rgb_pattern(h: int, w: int) -> np.ndarray:
    """(h, w, 3) uint8 with distinct R, G, B so a channel swap is visible."""
    yy, xx = np.mgrid[:h, :w]
    return np.stack([xx * 255 // max(w - 1, 1), yy * 255 // max(h - 1, 1), np.full_like(xx, 40)], -1).astype(np.uint8)


def _write_rgb_png(path, rgb: np.ndarray) -> None:
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def _exif_with_orientation(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def test_rgb_png_round_trips_exactly(tmp_path):
    rgb = _rgb_pattern(48, 64)
    _write_rgb_png(tmp_path / "p.png", rgb)
    out = load_photo(tmp_path / "p.png")
    assert out.dtype == np.uint8 and out.shape == (48, 64, 3)
    assert out.flags.c_contiguous
    np.testing.assert_array_equal(out, rgb)


def test_non_ascii_path(tmp_path):
    folder = tmp_path / "фото ñ 写真"
    folder.mkdir()
    rgb = _rgb_pattern(40, 40)
    (folder / "портрет.png").write_bytes(cv2.imencode(".png", rgb[:, :, ::-1])[1].tobytes())
    np.testing.assert_array_equal(load_photo(folder / "портрет.png"), rgb)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path, orientation):
    rgb = _rgb_pattern(40, 56)
    path = tmp_path / "o.png"  # lossless, so the result must equal Pillow's bit for bit
    Image.fromarray(rgb).save(path, exif=_exif_with_orientation(orientation))
    with Image.open(path) as im:
        expected = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    out = load_photo(path)
    assert out.flags.c_contiguous
    np.testing.assert_array_equal(out, expected)


def test_jpeg_exif_orientation_6_is_rotated_clockwise(tmp_path):
    # Stored 80 wide x 48 high: left half red, right half blue. Orientation 6 means "rotate
    # 90 degrees clockwise to display", so the upright photo is 48 wide x 80 high with red on top.
    stored = np.zeros((48, 80, 3), np.uint8)
    stored[:, :40] = (255, 0, 0)
    stored[:, 40:] = (0, 0, 255)
    path = tmp_path / "phone.jpg"
    Image.fromarray(stored).save(path, quality=95, exif=_exif_with_orientation(6))
    out = load_photo(path)
    assert out.shape == (80, 48, 3)
    top, bottom = out[:30].reshape(-1, 3).mean(0), out[-30:].reshape(-1, 3).mean(0)
    assert top[0] > 200 and top[2] < 50
    assert bottom[2] > 200 and bottom[0] < 50


def test_16bit_png_is_rounded_not_truncated(tmp_path):
    values = np.array([0, 128, 129, 257, 385, 386, 65278, 65535], np.uint16)
    expected = np.array([0, 0, 1, 1, 1, 2, 254, 255], np.uint8)  # round(v / 257)
    gray = np.tile(np.repeat(values, 4), (32, 1))  # (32, 32)
    bgr = np.stack([gray, gray // 2, np.zeros_like(gray)], -1).astype(np.uint16)
    assert cv2.imwrite(str(tmp_path / "deep.png"), bgr)
    out = load_photo(tmp_path / "deep.png")
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out[0, ::4, 2], expected)  # blue was channel 0 in BGR
    np.testing.assert_array_equal(out[..., 0], 0)


def test_float_tiff_is_clipped_to_0_1(tmp_path):
    image = np.tile(np.repeat(np.array([0.0, 0.5, 1.0, 1.5], np.float32), 10), (40, 1))
    assert cv2.imwrite(str(tmp_path / "f.tiff"), image)
    out = load_photo(tmp_path / "f.tiff")
    np.testing.assert_array_equal(out[0, ::10], np.repeat([[0], [128], [255], [255]], 3, axis=1))


def test_gray_becomes_three_equal_channels(tmp_path):
    gray = _rgb_pattern(40, 50)[..., 0]
    assert cv2.imwrite(str(tmp_path / "g.png"), gray)
    out = load_photo(tmp_path / "g.png")
    assert out.shape == (40, 50, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], gray)


def test_gray_alpha_is_flattened_over_white_with_one_warning(tmp_path, caplog):
    la = np.zeros((40, 40, 2), np.uint8)
    la[..., 0] = 100
    la[:, :10, 1] = 0  # transparent -> white
    la[:, 10:20, 1] = 255  # opaque -> the grey value
    la[:, 20:, 1] = 128  # half -> 100 * a + 255 * (1 - a)
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    with caplog.at_level(logging.WARNING, logger="reactive.io.photo"):
        out = load_photo(tmp_path / "la.png")
    a = 128 / 255
    np.testing.assert_array_equal(out[0, [0, 10, 20]], [[255] * 3, [100] * 3, [round(100 * a + 255 * (1 - a))] * 3])
    warnings = [r for r in caplog.records if "transparency" in r.getMessage()]
    assert len(warnings) == 1 and "white" in warnings[0].getMessage()


def test_rgba_keeps_colour_order_and_composites(tmp_path):
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[..., :3] = (200, 50, 10)
    rgba[:, :20, 3] = 255
    rgba[:, 20:, 3] = 0
    assert cv2.imwrite(str(tmp_path / "rgba.png"), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    out = load_photo(tmp_path / "rgba.png")
    np.testing.assert_array_equal(out[0, 0], (200, 50, 10))
    np.testing.assert_array_equal(out[0, 30], (255, 255, 255))


def test_opaque_alpha_is_exact_and_silent(tmp_path, caplog):
    rgb = _rgb_pattern(40, 40)
    rgba = np.dstack([rgb, np.full((40, 40), 255, np.uint8)])
    assert cv2.imwrite(str(tmp_path / "opaque.png"), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    with caplog.at_level(logging.WARNING, logger="reactive.io.photo"):
        out = load_photo(tmp_path / "opaque.png")
    np.testing.assert_array_equal(out, rgb)
    assert not caplog.records


def test_cap_shrinks_longer_side(tmp_path, caplog):
    _write_rgb_png(tmp_path / "big.png", _rgb_pattern(600, 1200))
    with caplog.at_level(logging.INFO, logger="reactive.io.photo"):
        out = load_photo(tmp_path / "big.png", max_side=256)
    assert out.shape == (128, 256, 3) and out.flags.c_contiguous
    assert any("resized" in r.getMessage() for r in caplog.records)
    assert load_photo(tmp_path / "big.png", max_side=None).shape == (600, 1200, 3)
    assert load_photo(tmp_path / "big.png", max_side=1200).shape == (600, 1200, 3)
    assert load_photo(tmp_path / "big.png").shape == (512, 1024, 3)


@pytest.mark.parametrize("bad", [0, 10, 63, -5, 1.5, True, "1024"])
def test_bad_max_side_is_a_value_error(tmp_path, bad):
    _write_rgb_png(tmp_path / "p.png", _rgb_pattern(40, 40))
    with pytest.raises(ValueError, match="`max_side`"):
        load_photo(tmp_path / "p.png", max_side=bad)


def _make_bad(tmp_path, kind):
    if kind == "missing":
        return tmp_path / "nope.jpg", "no such file"
    if kind == "directory":
        (tmp_path / "folder.jpg").mkdir()
        return tmp_path / "folder.jpg", "directory"
    if kind == "empty":
        (tmp_path / "empty.png").write_bytes(b"")
        return tmp_path / "empty.png", "empty"
    if kind == "text":
        (tmp_path / "notes.jpg").write_text("this is not an image\n")
        return tmp_path / "notes.jpg", "cannot decode"
    if kind == "truncated":
        _write_rgb_png(tmp_path / "full.png", _rgb_pattern(64, 64))
        (tmp_path / "cut.png").write_bytes((tmp_path / "full.png").read_bytes()[:40])
        return tmp_path / "cut.png", "cannot decode"
    if kind == "tiny":
        _write_rgb_png(tmp_path / "tiny.png", _rgb_pattern(20, 100))
        return tmp_path / "tiny.png", "at least 32"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["missing", "directory", "empty", "text", "truncated", "tiny"])
def test_user_mistakes_are_one_line_input_errors(tmp_path, kind):
    path, words = _make_bad(tmp_path, kind)
    with pytest.raises(InputError, match=words) as info:
        load_photo(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message


def test_too_elongated_after_cap_is_an_input_error(tmp_path):
    _write_rgb_png(tmp_path / "strip.png", _rgb_pattern(40, 400))
    with pytest.raises(InputError, match="elongated"):
        load_photo(tmp_path / "strip.png", max_side=200)


def test_photo_hash_is_sha256_of_bytes(tmp_path):
    _write_rgb_png(tmp_path / "p.png", _rgb_pattern(40, 40))
    data = (tmp_path / "p.png").read_bytes()
    assert photo_hash(tmp_path / "p.png") == hashlib.sha256(data).hexdigest()
    assert photo_hash(str(tmp_path / "p.png")) == hashlib.sha256(data).hexdigest()
    with pytest.raises(InputError, match="no such file"):
        photo_hash(tmp_path / "missing.png")
