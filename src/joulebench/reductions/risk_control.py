"""Distribution-free risk control for knobs calibrated to a quality budget: Learn-then-Test (Angelopoulos et al.
2021), as CALM (Schuster et al. 2022) uses it for early exit.

A knob (an early-exit threshold, a keep ratio) is chosen on a calibration split disjoint from training. Its loss
on an example is *harm*: the reference model (the full model) is right and the reduced one is wrong; the mean
harm bounds the accuracy drop from above. For each candidate, ordered from the most conservative to the most
aggressive, the null hypothesis "its harm rate exceeds max_drop" is tested with the exact binomial p-value; the
walk stops at the first candidate it cannot reject (fixed-sequence testing controls the family-wise error at
``delta``), and the most aggressive rejected candidate is chosen. Then, over the draw of the calibration split,
the chosen knob's accuracy drop exceeds ``max_drop`` with probability at most ``delta``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RiskControlled:
    """The chosen candidate and the evidence for it.

    Attributes:
        index: position of the chosen candidate in the conservative-to-aggressive order, or -1 when none passed.
        p_values: the p-value of each candidate tested, in order (the walk stops at the first above delta).
        harm: observed harm rate of the chosen candidate (None when none passed).
        bound: the (1 - delta) upper confidence bound on the chosen candidate's harm rate (Clopper-Pearson).
    """

    index: int
    p_values: tuple[float, ...]
    harm: float | None
    bound: float | None


def p_value(harms: int, n: int, max_drop: float) -> float:
    """The exact binomial p-value of "the harm rate exceeds max_drop" given ``harms`` of ``n`` (1 for a zero
    budget, which no finite sample certifies)."""
    from scipy.stats import binom

    return float(binom.cdf(harms, n, max_drop)) if max_drop > 0 else 1.0


def upper_bound(harms: int, n: int, delta: float) -> float:
    """Clopper-Pearson (1 - delta) upper bound on a rate from ``harms`` of ``n``."""
    from scipy.stats import beta

    return 1.0 if harms >= n else float(beta.ppf(1 - delta, harms + 1, n - harms))


def learn_then_test(harm_counts: Iterable[int] | np.ndarray, n: int, max_drop: float, delta: float) -> RiskControlled:
    """Fixed-sequence Learn-then-Test over candidates ordered from conservative to aggressive.

    Args:
        harm_counts: per candidate, how many of the ``n`` calibration examples it harms (reference right,
            candidate wrong).
        n: calibration examples.
        max_drop: the accuracy drop that must not be exceeded (0.01 = one point).
        delta: the allowed probability of exceeding it.
    """
    from scipy.stats import binom

    counts = np.asarray(list(harm_counts) if not isinstance(harm_counts, np.ndarray) else harm_counts, dtype=np.int64)
    if counts.size == 0:
        return RiskControlled(-1, (), None, None)
    # a zero budget cannot be certified from a finite sample: only the trivial candidate (no change) meets it
    p_values = binom.cdf(counts, n, max_drop) if max_drop > 0 else np.ones(counts.size)
    failed = np.flatnonzero(p_values > delta)
    stop = int(failed[0]) if failed.size else counts.size  # the walk stops at the first uncertified candidate
    tested = tuple(float(p) for p in p_values[: min(stop + 1, counts.size)])
    if stop == 0:
        return RiskControlled(-1, tested, None, None)
    chosen = stop - 1
    harms = int(counts[chosen])
    return RiskControlled(chosen, tested, harms / n, upper_bound(harms, n, delta))
