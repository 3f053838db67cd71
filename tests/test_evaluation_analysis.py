"""Alignment, uniformity and the singular spectrum against direct formulas."""
from __future__ import annotations

import numpy as np
import pytest

from mocose.evaluation.analysis import alignment, uniformity


@pytest.mark.parametrize("chunk", [7, 49, 50, 2048])  # blocks of the upper triangle, ragged or whole
def test_alignment_and_uniformity_match_the_definitions(chunk):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 6))
    y = x + 0.1 * rng.normal(size=(50, 6))
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    v = y / np.linalg.norm(y, axis=1, keepdims=True)
    assert alignment(x, y) == pytest.approx(np.mean(np.sum((u - v) ** 2, axis=1)))
    d2 = [np.sum((u[i] - u[j]) ** 2) for i in range(50) for j in range(i + 1, 50)]
    assert uniformity(x, chunk=chunk) == pytest.approx(np.log(np.mean(np.exp(-2 * np.array(d2)))))


def test_uniformity_extremes():
    # all identical: every distance 0 -> log 1 = 0; two antipodal points: exp(-2 * 4) -> -8
    assert uniformity(np.ones((5, 3))) == pytest.approx(0.0, abs=1e-6)  # float32 distances
    assert uniformity(np.array([[1.0, 0.0], [-1.0, 0.0]])) == pytest.approx(-8.0)
