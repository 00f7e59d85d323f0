"""The hypervolume of a search's frontier, exact in any number of objectives (no private Optuna routine)."""

from __future__ import annotations

import numpy as np
import pytest

from joulebench.experiments.search.frontier import hypervolume


def _monte_carlo(points, reference, samples=200_000, seed=0):
    rng = np.random.default_rng(seed)
    pts = np.asarray(points, dtype=float)
    low = pts.min(0)
    box = rng.uniform(low, reference, size=(samples, len(reference)))
    dominated = (pts[None, :, :] <= box[:, None, :]).all(-1).any(-1)
    return float(dominated.mean() * np.prod(np.asarray(reference) - low))


def test_two_and_three_objectives_by_hand():
    assert hypervolume([(1, 2), (2, 1)], (3, 3)) == pytest.approx(3.0)  # 2x1 + 1x2 - 1x1 overlap
    assert hypervolume([(1, 1, 1)], (2, 3, 4)) == pytest.approx(1 * 2 * 3)
    assert hypervolume([(0, 0, 1), (1, 1, 0)], (2, 2, 2)) == pytest.approx(4 + 2 - 1)  # union of two boxes
    assert hypervolume([(5, 5, 5)], (2, 2, 2)) == 0.0  # not better than the reference: nothing


@pytest.mark.parametrize("dims", [3, 4])
def test_many_objectives_agree_with_monte_carlo(dims):
    rng = np.random.default_rng(dims)
    points = rng.uniform(0, 1, size=(12, dims))
    reference = np.full(dims, 1.2)
    exact = hypervolume(points.tolist(), reference.tolist())
    assert exact == pytest.approx(_monte_carlo(points, reference), rel=0.02)
