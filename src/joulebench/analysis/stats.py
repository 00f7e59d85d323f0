"""Small statistics helpers: Student-t quantiles without scipy, mean/std/CI of a sample."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True)
class MetricStat:
    """Summary of one metric over the records of a configuration.

    Attributes:
        mean: arithmetic mean of the non-None values.
        std: sample standard deviation (ddof=1); None with a single value.
        n: number of non-None values.
        ci95: half-width of the 95% confidence interval of the mean; None when unknown.
        ci_source: how ``ci95`` was obtained: "t" (Student-t over repeats), "stderr" (the
            record's own standard error, e.g. binomial), "propagated" (derived metrics),
            "given" (set by hand via ``Point.from_values``) or "none".
    """

    mean: float
    std: float | None
    n: int
    ci95: float | None
    ci_source: str

    @property
    def low(self) -> float | None:
        """Lower end of the 95% CI, or None when the CI is unknown."""
        return None if self.ci95 is None else self.mean - self.ci95

    @property
    def high(self) -> float | None:
        """Upper end of the 95% CI, or None when the CI is unknown."""
        return None if self.ci95 is None else self.mean + self.ci95


def summarize(values: Sequence[float], stderrs: Sequence[float] = ()) -> MetricStat | None:
    """Mean, std and 95% CI of repeated measurements of one metric.

    With n > 1 the CI is Student-t over the repeats. When per-record standard errors are given
    (quality metrics on a finite evaluation split) the CI is never narrower than the mean of
    those errors times 1.96: repeats on the same validation set cannot shrink that sampling
    error, and measurement repeats of one checkpoint would otherwise claim a zero-width CI.
    With n == 1 the record's own standard error is the only uncertainty there is.

    Args:
        values: the non-None values, one per record.
        stderrs: matching standard errors where the record has one (may be shorter or empty).

    Returns:
        The summary, or None when there are no values.
    """
    n = len(values)
    if n == 0:
        return None
    mean = math.fsum(values) / n
    floor = Z95 * math.fsum(stderrs) / len(stderrs) if stderrs else None
    if n == 1:
        source = "stderr" if floor is not None else "none"
        return MetricStat(mean=mean, std=None, n=1, ci95=floor, ci_source=source)
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = t95(n - 1) * std / math.sqrt(n)
    if floor is not None and floor > half:
        return MetricStat(mean=mean, std=std, n=n, ci95=floor, ci_source="stderr")
    return MetricStat(mean=mean, std=std, n=n, ci95=half, ci_source="t")
