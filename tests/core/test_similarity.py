import numpy as np
import pytest

from reactive.core.similarity import (
    apply_similarity,
    fit_similarity,
    invert_similarity,
    similarity_scale,
)


def test_recovers_a_known_similarity():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, size=(20, 2))
    ang, s, t = 0.3, 1.7, np.array([5.0, -8.0])
    r = s * np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    dst = src @ r.T + t
    m = fit_similarity(src, dst)
    np.testing.assert_allclose(m[:, :2], r, atol=1e-9)
    np.testing.assert_allclose(m[:, 2], t, atol=1e-9)
    assert similarity_scale(m) == pytest.approx(1.7)
    np.testing.assert_allclose(apply_similarity(invert_similarity(m), dst), src, atol=1e-9)


def test_reflection_is_not_fitted():
    src = np.array([[0, 0], [1, 0], [0, 1.0]])
    m = fit_similarity(src, src * [-1, 1])
    assert np.linalg.det(m[:, :2]) > 0


def test_bad_shapes_name_the_argument():
    with pytest.raises(ValueError, match="`src` and `dst`"):
        fit_similarity(np.zeros((3, 3)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="all equal"):
        fit_similarity(np.ones((4, 2)), np.zeros((4, 2)))
