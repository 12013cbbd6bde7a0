"""The once-per-photo blurs: a wide one at reduced resolution stays a Gaussian blur, and
the weighted mean reads only the weighted pixels; and how soft a photo's own edges are."""

import cv2
import numpy as np
import pytest

from reactive.core.blur import edge_sigma, gaussian_blur, normalized_blur


def test_a_wide_blur_at_reduced_resolution_is_within_a_grey_level_of_the_full_one():
    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(rng.uniform(0, 255, (200, 240, 3)).astype(np.float32), (0, 0), 3)
    for sigma in (2.0, 12.0, 30.0):
        got = gaussian_blur(image, sigma)
        want = cv2.GaussianBlur(image, (0, 0), sigma)
        inner = (slice(int(2 * sigma), -int(2 * sigma)),) * 2
        assert np.abs(got - want)[inner].max() < 1.0, sigma
    tiny = image[:10, :10]
    np.testing.assert_array_equal(gaussian_blur(tiny, 20.0), cv2.GaussianBlur(tiny, (0, 0), 20.0))


def test_the_weighted_mean_reads_the_weighted_pixels_only_and_gives_way_where_none_are():
    image = np.zeros((60, 80, 3), np.float32)
    image[:, :40] = 200.0                    # the weighted side
    image[:, 40:] = 10.0                     # never read
    weight = np.zeros((60, 80), np.float32)
    weight[:, :40] = 1.0
    mean = normalized_blur(image, weight, 5.0)
    np.testing.assert_allclose(mean[:, :44], 200.0, atol=1e-3)
    assert (mean[:, 70:] == 0).all()         # no weight reaches: 0
    fallback = np.full_like(image, 77.0)
    mixed = normalized_blur(image, weight, 5.0, fallback=fallback)
    np.testing.assert_allclose(mixed[:, :38], 200.0, atol=1e-3)
    np.testing.assert_allclose(mixed[:, 70:], 77.0, atol=1e-3)


@pytest.mark.parametrize("sigma", [0.0, 1.5, 3.0])
def test_edge_sigma_reads_how_soft_the_photos_edges_are(sigma):
    """A disc (an iris) on a flat ground, blurred by ``sigma``: the estimate is within a
    fifth of it (a sharp one reads under 1 px)."""
    img = np.full((80, 120, 3), 200, np.uint8)
    cv2.circle(img, (60, 40), 12, (40, 30, 30), -1, cv2.LINE_AA)
    if sigma:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    contour = np.array([[35.0, 40.0], [60.0, 28.0], [85.0, 40.0], [60.0, 52.0]])
    got = edge_sigma(img, contour, 50.0)
    if sigma:
        assert got == pytest.approx(sigma, rel=0.2)
    else:
        assert got < 1.0
    assert edge_sigma(np.full((80, 120, 3), 90, np.uint8), contour, 50.0) == 0.0


def test_soften_sigma_adds_up_to_the_photos_softness():
    """What a drawn edge of its own softness needs to match the photo's: the sigmas add in
    quadrature; nothing for a photo as sharp or sharper, or below a visible third of a
    pixel; never more than the limit."""
    from reactive.core.blur import soften_sigma

    assert soften_sigma(2.0, 0.8, 10.0) == pytest.approx(np.sqrt(4.0 - 0.64))
    assert soften_sigma(0.7, 0.8, 10.0) == 0.0
    assert soften_sigma(0.85, 0.8, 10.0) == 0.0          # 0.29 px: not worth a blur
    assert soften_sigma(5.0, 0.8, 1.5) == 1.5
