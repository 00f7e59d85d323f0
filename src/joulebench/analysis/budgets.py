"""Energy budgets: energy per correct prediction, baselines, cheapest-within-tolerance picks,
and marginal accuracy per joule along a frontier."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from joulebench.analysis.aggregate import Point
from joulebench.analysis.pareto import Frontier
from joulebench.analysis.stats import MetricStat
from joulebench.results.schema import METRICS

#: Guard against float round-off when comparing an accuracy to baseline - tolerance.
_EPS = 1e-12


def energy_per_correct(energy_j_per_example: float | None, accuracy: float | None) -> float | None:
    """Joules spent per correct prediction: energy per example divided by accuracy.

    Args:
        energy_j_per_example: joules per example.
        accuracy: fraction correct in [0, 1].

    Returns:
        J per correct prediction, or None when either input is missing or accuracy is 0
        (no correct predictions: the cost per correct one is unbounded).
    """
    if energy_j_per_example is None or accuracy is None or accuracy <= 0:
        return None
    return energy_j_per_example / accuracy


def point_energy_per_correct(point: Point) -> MetricStat | None:
    """Energy per correct prediction of an aggregated point, with a propagated 95% CI.

    The ratio of means is used (total energy over total correct predictions), and the CI
    combines the relative CIs of energy and accuracy in quadrature (first-order propagation).

    Returns:
        The summary, or None when energy or accuracy is missing.
    """
    energy, accuracy = point.stat("energy_j_per_example"), point.stat("accuracy")
    if energy is None or accuracy is None:
        return None
    value = energy_per_correct(energy.mean, accuracy.mean)
    if value is None:
        return None
    if energy.ci95 is None and accuracy.ci95 is None:
        return MetricStat(mean=value, std=None, n=min(energy.n, accuracy.n), ci95=None,
                          ci_source="none")
    rel = math.hypot((energy.ci95 or 0.0) / energy.mean if energy.mean else 0.0,
                     (accuracy.ci95 or 0.0) / accuracy.mean)
    return MetricStat(mean=value, std=None, n=min(energy.n, accuracy.n), ci95=value * rel,
                      ci_source="propagated")


def find_baseline(points: Sequence[Point], task: str, model: str, scenario: str) -> Point | None:
    """The full fine-tuned model without reductions for a task/model/scenario.

    When several configurations qualify (e.g. different epochs), the one with most records
    wins, then the first seen, so the choice is deterministic.

    Returns:
        The baseline point, or None when none was measured.
    """
    candidates = [p for p in points
                  if p.is_baseline and p.task == task and p.model == model
                  and p.scenario == scenario]
    if not candidates:
        return None
    return max(candidates, key=lambda p: (p.n, -candidates.index(p)))


def baselines(points: Sequence[Point]) -> list[Point]:
    """One baseline per (task, model, scenario) that has one, in order of first appearance."""
    seen: list[tuple[str, str, str]] = []
    for p in points:
        ident = (p.task, p.model, p.scenario)
        if ident not in seen:
            seen.append(ident)
    found = [find_baseline(points, *ident) for ident in seen]
    return [b for b in found if b is not None]


def cheapest_within(
    points: Sequence[Point],
    baseline: Point,
    tolerance_abs: float = 0.01,
    cost_metric: str = "energy_j_per_example",
    *,
    quality_metric: str = "accuracy",
    same_model: bool = True,
) -> Point | None:
    """The cheapest point whose quality is at least the baseline's minus a tolerance.

    Args:
        points: candidates; only those with the baseline's task and scenario (and model, when
            ``same_model``) are considered. The baseline itself is a candidate.
        baseline: the reference point.
        tolerance_abs: allowed absolute quality drop (0.01 = one accuracy point).
        cost_metric: METRICS key to minimise (or maximise if higher is better, e.g. throughput).
        quality_metric: METRICS key that must stay within tolerance.
        same_model: restrict to reductions of the baseline's model.

    Returns:
        The cheapest qualifying point (ties broken by higher quality), or None when the
        baseline has no quality value or no candidate has a cost value.
    """
    floor = baseline.mean(quality_metric)
    if floor is None:
        return None
    floor -= tolerance_abs
    higher_better = METRICS[cost_metric]["higher_is_better"]
    q_higher = METRICS[quality_metric]["higher_is_better"]
    qualifying = []
    for p in points:
        if p.task != baseline.task or p.scenario != baseline.scenario:
            continue
        if same_model and p.model != baseline.model:
            continue
        quality, cost = p.mean(quality_metric), p.mean(cost_metric)
        if quality is None or cost is None or quality < floor - _EPS:
            continue
        qualifying.append(p)
    if not qualifying:
        return None

    def rank(p: Point) -> tuple[float, float]:
        cost, quality = p.mean(cost_metric), p.mean(quality_metric)
        return (-cost if higher_better else cost, -quality if q_higher else quality)

    return min(qualifying, key=rank)


@dataclass(frozen=True)
class BudgetPick:
    """Answer to "what is the cheapest configuration within ``tolerance_abs`` of baseline?".

    Attributes:
        baseline: the reference point.
        tolerance_abs: allowed absolute quality drop.
        cost_metric: what "cheapest" was measured on.
        pick: the chosen point, or None when nothing qualified.
        cost_ratio: pick cost / baseline cost (None when either is missing or zero).
    """

    baseline: Point
    tolerance_abs: float
    cost_metric: str
    pick: Point | None
    cost_ratio: float | None


def budget_pick(points: Sequence[Point], baseline: Point, tolerance_abs: float,
                cost_metric: str = "energy_j_per_example",
                quality_metric: str = "accuracy") -> BudgetPick:
    """:func:`cheapest_within` plus the cost ratio against the baseline."""
    pick = cheapest_within(points, baseline, tolerance_abs, cost_metric,
                           quality_metric=quality_metric)
    ratio = None
    if pick is not None:
        base_cost, pick_cost = baseline.mean(cost_metric), pick.mean(cost_metric)
        if base_cost and pick_cost is not None:
            ratio = pick_cost / base_cost
    return BudgetPick(baseline=baseline, tolerance_abs=tolerance_abs, cost_metric=cost_metric,
                      pick=pick, cost_ratio=ratio)


@dataclass(frozen=True)
class MarginalGain:
    """Step between two neighbours on a frontier, from the cheaper to the dearer.

    Attributes:
        cheaper: the point with the better cost.
        dearer: the next point along the frontier.
        delta_cost: dearer cost - cheaper cost, in the cost metric's unit.
        delta_quality: dearer quality - cheaper quality.
        per_unit_cost: delta_quality / delta_cost (e.g. accuracy per J/example); None when
            the costs are equal.
    """

    cheaper: Point
    dearer: Point
    delta_cost: float
    delta_quality: float
    per_unit_cost: float | None


def marginal_gains(frontier: Frontier) -> list[MarginalGain]:
    """Quality gained per unit of extra cost between neighbours on the strict frontier.

    Walking from the cheapest frontier point to the most expensive, the ratio usually shrinks:
    that is the diminishing return of spending more energy (or latency, memory...).

    Args:
        frontier: a frontier whose x axis is a cost and y axis a quality metric.

    Returns:
        One step per neighbouring pair, cheapest first.
    """
    x, y = frontier.x_metric, frontier.y_metric
    # Order from best cost to worst, whatever the cost's direction.
    sign = -1.0 if METRICS[x]["higher_is_better"] else 1.0
    ordered = sorted(frontier.strict, key=lambda p: sign * p.mean(x))
    gains = []
    for cheaper, dearer in pairwise(ordered):
        d_cost = dearer.mean(x) - cheaper.mean(x)
        d_quality = dearer.mean(y) - cheaper.mean(y)
        gains.append(MarginalGain(cheaper=cheaper, dearer=dearer, delta_cost=d_cost,
                                  delta_quality=d_quality,
                                  per_unit_cost=d_quality / d_cost if d_cost else None))
    return gains
