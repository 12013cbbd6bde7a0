"""Tests for reactive.io.target: the photo's face is found, however small in the photo."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from reactive.errors import InputError
from reactive.io.assets import SAMPLE_PORTRAIT
from reactive.io.photo import load_photo
from reactive.io.target import find_target_face
from reactive.io.tracker import detect_faces, detect_faces_in_tiles
from tests.helpers import shared_path


def _far(photo: np.ndarray, times: int) -> tuple[np.ndarray, float, int]:
    """``photo`` in the middle of a grey canvas ``times`` as wide, brought back to its own
    size (a full-length portrait's small face). Returns the image, its scale against the
    photo and the photo's offset in the canvas (canvas px)."""
    pad = (photo.shape[0] * (times - 1)) // 2
    canvas = cv2.copyMakeBorder(photo, pad, pad, pad, pad, cv2.BORDER_CONSTANT,
                                value=(90, 90, 90))
    scale = photo.shape[0] / canvas.shape[0]
    small = cv2.resize(canvas, (photo.shape[1], photo.shape[0]), interpolation=cv2.INTER_AREA)
    return small, scale, pad


@pytest.mark.parametrize("times", [4, 8])
def test_a_small_face_is_found_in_a_part_of_the_photo(times):
    """The bundled sample a quarter and an eighth of the photo across (its face about 32
    and 16 px wide in a 512 px photo): the detector sees no face in the whole photo, the
    tiles do, where the sample's own face is (median landmark within 1.5 px of the sample's
    own landmarks brought to that scale; measured 0.7 and 0.9)."""
    sample = load_photo(SAMPLE_PORTRAIT)
    own = find_target_face(sample)
    image, scale, pad = _far(sample, times)
    assert detect_faces(image) == []
    points = find_target_face(image)
    err = np.linalg.norm(points - (own + pad) * scale, axis=1)
    print(f"sample {times}x smaller: landmarks off by median {np.median(err):.2f} px, "
          f"90th percentile {np.percentile(err, 90):.2f} px")
    assert np.median(err) < 1.5


def test_a_face_nowhere_is_still_an_error():
    """A plain canvas: no tile finds a face, the error names the photo."""
    image = np.full((300, 500, 3), 120, np.uint8)
    assert detect_faces_in_tiles(image) == []
    with pytest.raises(InputError, match="canvas.jpg: no face found"):
        find_target_face(image, source="canvas.jpg")


def test_a_pattern_taken_for_a_large_face_in_a_tile_is_not_a_face():
    """s39, a cat: in its tiles the detector finds two faces as large as a third of the
    photo (fur around the eyes); a face that large the whole photo would have shown, so none
    counts and the photo stays 'no face found'."""
    cat = load_photo(shared_path("portraits", "s39.jpg"))
    assert detect_faces(cat) == []
    assert detect_faces_in_tiles(cat, max_face_frac=1.0) != []
    assert detect_faces_in_tiles(cat) == []
    with pytest.raises(InputError, match="no face found"):
        find_target_face(cat)
