"""Latency statistics and standard errors against numpy and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from joulebench.measure.stats import binomial_stderr, bootstrap_stderr, percentile, summarize_latency

SAMPLES = [12.0, 3.5, 7.25, 100.0, 5.0, 5.0, 41.0]


@pytest.mark.parametrize("q", [0, 10, 50, 90, 99, 100])
def test_percentile_matches_numpy_linear(q: float) -> None:
    assert percentile(SAMPLES, q) == pytest.approx(float(np.percentile(SAMPLES, q)))


def test_percentile_interpolates() -> None:
    assert percentile([0.0, 10.0], 25) == pytest.approx(2.5)


def test_percentile_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_summarize_latency_keys_and_values() -> None:
    summary = summarize_latency(SAMPLES)
    assert summary == pytest.approx(
        {
            "latency_ms_mean": float(np.mean(SAMPLES)),
            "latency_ms_p50": float(np.percentile(SAMPLES, 50)),
            "latency_ms_p90": float(np.percentile(SAMPLES, 90)),
            "latency_ms_p99": float(np.percentile(SAMPLES, 99)),
        }
    )


def test_binomial_stderr_closed_form() -> None:
    assert binomial_stderr(0.9, 100) == pytest.approx(0.03)
    assert binomial_stderr(1.0, 10) == 0.0
    with pytest.raises(ValueError):
        binomial_stderr(0.5, 0)


def test_bootstrap_stderr_of_mean_matches_theory() -> None:
    rng = np.random.default_rng(1)
    correct = (rng.random(400) < 0.8).astype(float)
    se = bootstrap_stderr(np.mean, correct, n_boot=500, seed=0)
    theory = math.sqrt(correct.mean() * (1 - correct.mean()) / len(correct))
    assert se == pytest.approx(theory, rel=0.15)
    assert bootstrap_stderr(np.mean, correct, n_boot=500, seed=0) == se  # seeded


def test_bootstrap_keeps_arrays_paired() -> None:
    pred = np.arange(50)
    gold = np.arange(50)
    # Accuracy of paired, identical arrays is 1 in every resample: zero spread.
    assert bootstrap_stderr(lambda p, g: float(np.mean(p == g)), pred, gold, n_boot=50) == 0.0
    with pytest.raises(ValueError):
        bootstrap_stderr(np.mean, pred, gold[:10])
