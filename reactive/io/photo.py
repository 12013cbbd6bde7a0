"""Load the still portrait: any common image file -> (H, W, 3) uint8 RGB.

This is where photos enter the program, so colour order (OpenCV's BGR -> RGB), bit depth,
alpha and the EXIF orientation are all settled here, once.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from reactive.errors import InputError
from reactive.params import PhotoParams

logger = logging.getLogger(__name__)

__all__ = ["load_photo", "photo_hash"]

MIN_SIDE_PX = 32  # smaller than this, there is no face to track
MIN_MAX_SIDE_PX = 64
MAX_PIXELS = 100_000_000  # a 48 MP phone photo decodes to 144 MB; 100 MP is the ceiling
_EXIF_ORIENTATION_TAG = 0x0112


def load_photo(path: str | os.PathLike, *, max_side: int | None = PhotoParams.max_side
               ) -> np.ndarray:
    """Read a photo as 8-bit RGB, upright and at most `max_side` pixels on its longer side.

    Parameters
    ----------
    path : str or path-like
        An image file OpenCV can decode (JPEG, PNG, WebP, TIFF, BMP, ...). Non-ASCII paths work.
    max_side : int >= 64 or None, keyword-only
        If the longer side is larger, the image is shrunk (``cv2.INTER_AREA``) so that it is
        exactly `max_side`. ``None`` keeps the full resolution.

    Returns
    -------
    photo : (H, W, 3) uint8, RGB, C-contiguous
        16-bit images are scaled by 1/257 (rounded), float images are taken as [0, 1] and
        clipped; grey is repeated to 3 channels; transparency is composited over white; the
        EXIF orientation tag is applied (OpenCV ignores it when reading unchanged).

    Raises
    ------
    InputError
        The file is missing, a directory, empty, not a decodable image, or smaller than
        32 px on a side.
    ValueError
        `max_side` is not None or an int >= 64.
    """
    if max_side is not None and (
        isinstance(max_side, bool) or not isinstance(max_side, (int, np.integer)) or max_side < MIN_MAX_SIDE_PX
    ):
        raise ValueError(f"`max_side` must be an int >= {MIN_MAX_SIDE_PX} or None; got {max_side!r}")

    path = Path(path)
    data = _read_bytes(path)
    if data.size == 0:
        raise InputError(f"{path}: file is empty (expected a JPEG/PNG/WebP image)")
    _check_pixel_count(data, path)
    try:
        # imdecode on bytes instead of imread(path): imread cannot open non-ASCII paths on
        # some platforms. IMREAD_UNCHANGED keeps 16-bit depth and alpha so we convert them
        # ourselves instead of letting OpenCV truncate or drop them.
        image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error:
        image = None
    if image is None:
        raise InputError(f"{path}: cannot decode image; use a JPEG, PNG, WebP, TIFF or BMP "
                         "file (GIF and HEIC are not read: convert them first)")

    rgb = _to_rgb_uint8(image, path=path)
    rgb = _apply_exif_orientation(rgb, _exif_orientation(path))

    height, width = rgb.shape[:2]
    if min(height, width) < MIN_SIDE_PX:
        raise InputError(
            f"{path}: image is {width}x{height} px; need at least {MIN_SIDE_PX} px on each side"
        )

    if max_side is not None and max(height, width) > max_side:
        scale = max_side / max(height, width)
        new_w = max_side if width >= height else max(1, round(width * scale))
        new_h = max_side if height > width else max(1, round(height * scale))
        if min(new_w, new_h) < MIN_SIDE_PX:
            raise InputError(
                f"{path}: image is {width}x{height} px, too elongated to fit in {max_side} px "
                f"(short side would be under {MIN_SIDE_PX} px); crop it closer to the face"
            )
        logger.info("%s: resized %dx%d -> %dx%d (max_side=%d)", path, width, height, new_w, new_h, max_side)
        rgb = cv2.resize(rgb, (new_w, new_h), interpolation=cv2.INTER_AREA)

    return np.ascontiguousarray(rgb)


def _check_pixel_count(data: np.ndarray, path: Path) -> None:
    """Refuse an image whose header declares more than MAX_PIXELS before decoding it: a
    1 MB PNG can declare 30000 x 30000 pixels (3.7 GB decoded, a minute of work). Formats
    Pillow does not know are left to OpenCV (which caps at 2^30 pixels itself)."""
    import io
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data.tobytes())) as im:  # reads the header only
                width, height = im.size
    except Image.DecompressionBombError:  # beyond Pillow's own ceiling (179 MP)
        width, height = None, MAX_PIXELS + 1
    except Exception:  # noqa: BLE001 - not Pillow's to judge; OpenCV decides below
        return
    if (width or 1) * height > MAX_PIXELS:
        size = f"{width}x{height} pixels" if width else "over 179 megapixels"
        raise InputError(f"{path}: the image declares {size}; images over "
                         f"{MAX_PIXELS // 1_000_000} megapixels are not read: scale it down "
                         "first")


def photo_hash(path: str | os.PathLike) -> str:
    """SHA-256 of the file's bytes as 64 lowercase hex digits (a cache key for the photo).

    Raises
    ------
    InputError
        The file is missing or is a directory.
    """
    path = Path(path)
    _check_is_file(path)
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise InputError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    return digest.hexdigest()


def _check_is_file(path: Path) -> None:
    if path.is_dir():
        raise InputError(f"{path}: is a directory; give the path of an image file")
    if not path.exists():
        raise InputError(f"{path}: no such file (check the path)")


def _read_bytes(path: Path) -> np.ndarray:
    """(N,) uint8 contents of the file, with user-facing errors."""
    _check_is_file(path)
    try:
        return np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise InputError(f"{path}: cannot read file ({exc.strerror or exc})") from exc


def _to_rgb_uint8(image: np.ndarray, *, path: Path) -> np.ndarray:
    """Any decoded OpenCV image -> (H, W, 3) uint8 RGB.

    image : (H, W) or (H, W, C) with C in {1, 2, 3, 4}; gray, gray+alpha, BGR or BGRA;
        uint8, uint16 or float.
    """
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 2, 3, 4):
        raise InputError(f"{path}: unsupported image layout {image.shape} (expected gray, RGB or RGBA)")

    if image.dtype == np.uint8:
        max_value = 255.0
    elif image.dtype == np.uint16:
        max_value = 65535.0
    elif image.dtype.kind == "f":
        max_value = 1.0
    else:
        raise InputError(f"{path}: unsupported pixel type {image.dtype} (save it as 8- or 16-bit)")

    channels = image.shape[2]
    has_alpha = channels in (2, 4)
    color = image[:, :, : channels - 1] if has_alpha else image
    if color.shape[2] == 3:
        color = color[:, :, ::-1]  # BGR -> RGB, the one place photos change colour order
    else:
        color = np.repeat(color, 3, axis=2)

    if has_alpha:
        alpha = image[:, :, channels - 1 :]
        if np.all(alpha >= max_value):
            has_alpha = False  # fully opaque: skip the float round trip so 8-bit stays exact
        else:
            logger.warning("%s: transparency was flattened over white", path)
            a = np.clip(alpha.astype(np.float32) / max_value, 0.0, 1.0)
            c = np.clip(color.astype(np.float32) / max_value, 0.0, 1.0)
            flat = c * a + (1.0 - a)
            return np.rint(flat * 255.0).astype(np.uint8)

    if color.dtype == np.uint8:
        return np.ascontiguousarray(color)
    if color.dtype == np.uint16:
        # round(x / 257) in integers: 65535 / 257 = 255 exactly, so this maps the range onto
        # 0..255 without the bias of a plain >> 8.
        return ((color.astype(np.uint32) + 128) // 257).astype(np.uint8)
    finite = np.nan_to_num(color.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
    return np.rint(np.clip(finite, 0.0, 1.0) * 255.0).astype(np.uint8)


def _exif_orientation(path: Path) -> int:
    """EXIF orientation 1..8 of the file, or 1 when absent or unreadable."""
    try:
        with Image.open(path) as im:
            value = im.getexif().get(_EXIF_ORIENTATION_TAG)
    except Exception:  # noqa: BLE001 - Pillow may not know a format OpenCV decoded; no tag then
        return 1
    try:
        value = int(value)
    except (TypeError, ValueError):
        return 1
    return value if 1 <= value <= 8 else 1


def _apply_exif_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Turn a stored image (H, W, C) upright per EXIF `orientation` (same as PIL.ImageOps.exif_transpose)."""
    if orientation == 2:
        return image[:, ::-1]
    if orientation == 3:
        return image[::-1, ::-1]
    if orientation == 4:
        return image[::-1, :]
    if orientation == 5:
        return image.transpose(1, 0, 2)
    if orientation == 6:
        return np.rot90(image, k=-1)
    if orientation == 7:
        return image[::-1, ::-1].transpose(1, 0, 2)
    if orientation == 8:
        return np.rot90(image, k=1)
    return image
