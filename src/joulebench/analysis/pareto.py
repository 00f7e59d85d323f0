"""Pareto frontiers over two metrics, strict and noise-aware.

Directions come from ``METRICS[m]["higher_is_better"]``, so the same code serves
accuracy-vs-energy (minimise x) and accuracy-vs-throughput (maximise x).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from joulebench.analysis.aggregate import Point
from joulebench.results.schema import METRICS


@dataclass(frozen=True)
class Excluded:
    """A point left out of a frontier, and why."""

    point: Point
    reason: str


@dataclass(frozen=True)
class Frontier:
    """Frontier membership of a set of points on (x_metric, y_metric).

    Attributes:
        x_metric: metric on the x axis.
        y_metric: metric on the y axis.
        points: the points with both values, sorted by x value ascending.
        strict: points no other point strictly dominates, sorted by x ascending.
        noise_aware: points not dominated beyond noise (a superset of ``strict``), sorted
            by x ascending.
        excluded: points missing a value on an axis, with the reason.
    """

    x_metric: str
    y_metric: str
    points: list[Point] = field(default_factory=list)
    strict: list[Point] = field(default_factory=list)
    noise_aware: list[Point] = field(default_factory=list)
    excluded: list[Excluded] = field(default_factory=list)

    def on_strict(self, point: Point) -> bool:
        """True when ``point`` is on the strict frontier."""
        return any(p is point for p in self.strict)

    def on_noise_aware(self, point: Point) -> bool:
        """True when ``point`` is on the noise-aware frontier."""
        return any(p is point for p in self.noise_aware)


def _gain(a: Point, b: Point, metric: str) -> float:
    """How much better ``a`` is than ``b`` on ``metric`` (positive = better), by means."""
    diff = a.mean(metric) - b.mean(metric)  # type: ignore[operator]
    return diff if METRICS[metric]["higher_is_better"] else -diff


#: ``noise(a, b, metric)``: half-width of the 95% interval of the difference a - b on ``metric``.
Noise = Callable[[Point, Point, str], float]


def independent_noise(a: Point, b: Point, metric: str) -> float:
    """Half-width of the 95% CI of the difference a - b, assuming independent estimates.

    Cost metrics carry the interval over their measurement windows; an unknown CI counts as
    zero (a record without any error model cannot be called noisy).
    """
    return math.hypot(a.ci95(metric) or 0.0, b.ci95(metric) or 0.0)


def dominates(a: Point, b: Point, x_metric: str, y_metric: str) -> bool:
    """Strict Pareto dominance: ``a`` at least as good on both axes and better on one."""
    gx, gy = _gain(a, b, x_metric), _gain(a, b, y_metric)
    return gx >= 0 and gy >= 0 and (gx > 0 or gy > 0)


def dominates_beyond_noise(a: Point, b: Point, x_metric: str, y_metric: str,
                           noise: Noise = independent_noise) -> bool:
    """Dominance that survives noise.

    ``a`` must be at least as good as ``b`` on both axes (by means) and better on at least one
    axis by more than the 95% CI of the difference (``noise``: by default ``hypot`` of the two
    half-widths; the report passes paired intervals for quality measured on the same examples).
    """
    gx, gy = _gain(a, b, x_metric), _gain(a, b, y_metric)
    if gx < 0 or gy < 0:
        return False
    return gx > noise(a, b, x_metric) or gy > noise(a, b, y_metric)


def pareto_front(points: Sequence[Point], x_metric: str, y_metric: str,
                 noise: Noise = independent_noise) -> Frontier:
    """Strict and noise-aware Pareto frontiers of ``points`` on two metrics.

    Args:
        points: aggregated points (typically one task and scenario).
        x_metric: key of METRICS for the x axis (e.g. "energy_j_per_example").
        y_metric: key of METRICS for the y axis (e.g. "accuracy").
        noise: half-width of the interval of a difference (see :func:`dominates_beyond_noise`).

    Returns:
        The frontier; points lacking a value on either axis are listed in ``excluded``.

    Raises:
        KeyError: a metric is not in METRICS.
    """
    for metric in (x_metric, y_metric):
        if metric not in METRICS:
            raise KeyError(f"unknown metric {metric!r}; known: {', '.join(METRICS)}")
    usable: list[Point] = []
    excluded: list[Excluded] = []
    for point in points:
        missing = [m for m in (x_metric, y_metric) if point.mean(m) is None]
        if missing:
            excluded.append(Excluded(point, f"no value for {' and '.join(missing)}"))
        else:
            usable.append(point)
    # Sort by x then by y-goodness so the frontier reads left to right.
    y_sign = -1.0 if METRICS[y_metric]["higher_is_better"] else 1.0
    usable.sort(key=lambda p: (p.value(x_metric), y_sign * p.value(y_metric), p.label))
    strict = [p for p in usable
              if not any(dominates(q, p, x_metric, y_metric) for q in usable if q is not p)]
    noise_aware = [p for p in usable
                   if not any(dominates_beyond_noise(q, p, x_metric, y_metric, noise)
                              for q in usable if q is not p)]
    return Frontier(x_metric=x_metric, y_metric=y_metric, points=usable, strict=strict,
                    noise_aware=noise_aware, excluded=excluded)
