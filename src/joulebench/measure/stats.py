"""Summary statistics for latencies and standard errors for quality metrics."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

#: Normal 97.5% quantile, the two-sided 95% z value.
Z95 = 1.959964

# Two-sided 95% Student-t quantiles t(0.975, df). scipy is optional in this project, and seeds
# per configuration are few, so a table is exact where it matters.
_T95 = {
    1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
    9: 2.262, 10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120,
    17: 2.110, 18: 2.101, 19: 2.093, 20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064,
    25: 2.060, 26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045, 30: 2.042, 40: 2.021, 60: 2.000,
    120: 1.980,
}


def t95(df: int) -> float:
    """Two-sided 95% Student-t quantile for ``df`` degrees of freedom.

    Between tabulated values the next lower ``df`` is used, which makes the interval slightly
    wider (conservative) rather than interpolating.

    Args:
        df: degrees of freedom, at least 1.

    Returns:
        t(0.975, df); the normal quantile beyond the table.
    """
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if df > max(_T95):
        return Z95
    return _T95[max(k for k in _T95 if k <= df)]


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation between samples.

    Raises:
        ValueError: if ``values`` is empty or ``q`` is outside [0, 100].
    """
    if len(values) == 0:
        raise ValueError("percentile of an empty sequence")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be in [0, 100], got {q}")
    return float(np.percentile(np.asarray(values, dtype=float), q, method="linear"))


def summarize_latency(samples_ms: Sequence[float]) -> dict[str, float]:
    """Mean, p50, p90 and p99 of latency samples in milliseconds.

    Returns:
        Keys ``latency_ms_mean``, ``latency_ms_p50``, ``latency_ms_p90``, ``latency_ms_p99``.

    Raises:
        ValueError: if ``samples_ms`` is empty.
    """
    if len(samples_ms) == 0:
        raise ValueError("no latency samples to summarize")
    return {
        "latency_ms_mean": float(np.mean(np.asarray(samples_ms, dtype=float))),
        "latency_ms_p50": percentile(samples_ms, 50),
        "latency_ms_p90": percentile(samples_ms, 90),
        "latency_ms_p99": percentile(samples_ms, 99),
    }


def binomial_stderr(p: float, n: int) -> float:
    """Standard error ``sqrt(p (1 - p) / n)`` of a proportion (e.g. accuracy) over ``n`` trials.

    Raises:
        ValueError: if ``n < 1`` or ``p`` is outside [0, 1].
    """
    if n < 1:
        raise ValueError(f"binomial_stderr needs n >= 1, got {n}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"binomial_stderr needs 0 <= p <= 1, got {p}")
    return math.sqrt(p * (1.0 - p) / n)


def bootstrap_stderr(
    fn: Callable[..., float],
    *arrays: Sequence | np.ndarray,
    n_boot: int = 1000,
    seed: int = 0,
) -> float:
    """Bootstrap standard error of the statistic ``fn(*arrays)``.

    Rows are resampled jointly (the same indices for every array), so paired
    data such as predictions and labels stay paired.

    Args:
        fn: statistic of the arrays, e.g. ``lambda pred, gold: f1_score(gold, pred)``.
        *arrays: equally long arrays, indexed along their first axis.
        n_boot: number of bootstrap resamples.
        seed: seed of the resampling, for reproducible error bars.

    Returns:
        Sample standard deviation (ddof=1) of the statistic over the resamples.

    Raises:
        ValueError: if no array is given, lengths differ or are 0, or ``n_boot < 2``.
    """
    if not arrays:
        raise ValueError("bootstrap_stderr needs at least one array")
    as_np = [np.asarray(a) for a in arrays]
    n = len(as_np[0])
    if n == 0 or any(len(a) != n for a in as_np):
        raise ValueError(f"bootstrap_stderr needs equally long non-empty arrays, got {[len(a) for a in as_np]}")
    if n_boot < 2:
        raise ValueError(f"bootstrap_stderr needs n_boot >= 2, got {n_boot}")
    rng = np.random.default_rng(seed)
    stats = np.empty(n_boot, dtype=float)
    for b in range(n_boot):
        idx = rng.integers(0, n, size=n)
        stats[b] = fn(*(a[idx] for a in as_np))
    return float(np.std(stats, ddof=1))
