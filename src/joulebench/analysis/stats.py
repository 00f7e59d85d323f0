"""Small statistics helpers: mean/std/CI of a sample (Student-t quantiles live in measure.stats)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from joulebench.measure.stats import Z95, t95

__all__ = ["Z95", "MetricStat", "summarize", "t95"]

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
