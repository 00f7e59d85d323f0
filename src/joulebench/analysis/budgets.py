"""Energy budgets: energy per correct prediction, baselines, cheapest-within-tolerance picks,
and marginal accuracy per joule along a frontier."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from joulebench.analysis.aggregate import Point
from joulebench.analysis.paired import (
    CostRatio,
    PairedDiff,
    cost_ratio,
    noise_floor,
    paired_difference,
    trained_longer,
    within_floor,
)
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

    A correct prediction is a right label (accuracy) or, for question answering, an exactly
    matched answer (exact match; energy is then per question).

    Returns:
        The summary, or None when energy or accuracy is missing.
    """
    energy = point.stat("energy_j_per_example")
    accuracy = point.stat("accuracy") or point.stat("exact_match")
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


#: The two rules a budget question is answered by.
RULES = ("point estimate", "non-inferiority")


def _candidates(points: Sequence[Point], baseline: Point, same_model: bool) -> list[Point]:
    return [p for p in points if p.task == baseline.task and p.scenario == baseline.scenario
            and (not same_model or p.model == baseline.model)]


def cheapest_within(
    points: Sequence[Point],
    baseline: Point,
    tolerance_abs: float = 0.01,
    cost_metric: str = "energy_j_per_example",
    *,
    quality_metric: str = "accuracy",
    same_model: bool = True,
    rule: str = "point estimate",
    tie_floor: float | None = None,
) -> Point | None:
    """The cheapest point whose quality is within a tolerance of the baseline's.

    Args:
        points: candidates; only those with the baseline's task and scenario (and model, when
            ``same_model``) are considered. The baseline itself is a candidate.
        baseline: the reference point.
        tolerance_abs: allowed absolute quality drop (0.01 = one accuracy point).
        cost_metric: METRICS key to minimise (or maximise if higher is better, e.g. throughput).
        quality_metric: METRICS key that must stay within tolerance.
        same_model: restrict to reductions of the baseline's model.
        rule: ``"point estimate"``: quality >= baseline - tolerance by means;
            ``"non-inferiority"``: the paired 95% interval of the quality difference lies above
            -tolerance (the loss is shown to be smaller than the budget).

        tie_floor: the noise floor (relative, from the baseline's A/A pair): qualifying points whose cost ratios
            are within it of the cheapest are tied with it, and the tie goes to the higher quality.

    Returns:
        The cheapest qualifying point, by its cost ratio to the baseline (paired ABBA rounds
        where the records have them), ties broken by higher quality; None when nothing qualifies.
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    floor = baseline.mean(quality_metric)
    if floor is None:
        return None
    floor -= tolerance_abs
    higher_better = METRICS[cost_metric]["higher_is_better"]
    q_higher = METRICS[quality_metric]["higher_is_better"]
    qualifying: list[tuple[Point, float]] = []
    for p in _candidates(points, baseline, same_model):
        quality, ratio = p.mean(quality_metric), cost_ratio(p, baseline, cost_metric)
        if quality is None or ratio is None:
            continue
        if rule == "point estimate" and quality < floor - _EPS:
            continue
        if rule == "non-inferiority" and p is not baseline:
            diff = paired_difference(p, baseline, quality_metric)
            if diff is None or not diff.non_inferior(tolerance_abs):
                continue
        qualifying.append((p, ratio.ratio))
    if not qualifying:
        return None

    def rank(item: tuple[Point, float]) -> tuple[float, float]:
        p, ratio = item
        quality = p.value(quality_metric)
        return (-ratio if higher_better else ratio, -quality if q_higher else quality)

    cheapest = min(qualifying, key=rank)
    tied = [item for item in qualifying if within_floor(item[1], cheapest[1], tie_floor)]
    if len(tied) > 1:  # within the noise floor of the cheapest: the better quality, then the cheaper
        return min(tied, key=lambda item: (rank(item)[1], rank(item)[0]))[0]
    return cheapest[0]


def tied_with(points: Sequence[Point], pick: Point, baseline: Point, floor: float | None,
              cost_metric: str = "energy_j_per_example") -> list[Point]:
    """Other points whose cost ratio is within the noise floor of the pick's (tied on cost)."""
    mine = cost_ratio(pick, baseline, cost_metric)
    if mine is None or floor is None:
        return []
    out = []
    for p in _candidates(points, baseline, True):
        theirs = cost_ratio(p, baseline, cost_metric)
        if p is not pick and theirs is not None and within_floor(theirs.ratio, mine.ratio, floor):
            out.append(p)
    return out


@dataclass(frozen=True)
class BudgetPick:
    """Answer to "what is the cheapest configuration within ``tolerance_abs`` of baseline?".

    Attributes:
        baseline: the reference point.
        tolerance_abs: allowed absolute quality drop.
        cost_metric: what "cheapest" was measured on.
        pick: the chosen point, or None when nothing qualified.
        cost_ratio: pick cost / baseline cost (None when either is missing or zero).
        rule: "point estimate" or "non-inferiority" (see :func:`cheapest_within`).
        ratio: the ratio with its interval and whether it is paired.
        quality_diff: the pick's paired quality difference to the baseline.
        trained_longer: the pick's model had more training steps than the baseline's.
        chosen_on: the split the pick was made on where it is not the one reported (``validation``, for a
            task reported on ``test``); None when both are the same.
    """

    baseline: Point
    tolerance_abs: float
    cost_metric: str
    pick: Point | None
    cost_ratio: float | None
    rule: str = "point estimate"
    ratio: CostRatio | None = None
    quality_diff: PairedDiff | None = None
    trained_longer: bool = False
    floor: float | None = None
    tied: tuple[Point, ...] = ()
    chosen_on: str | None = None


def budget_pick(points: Sequence[Point], baseline: Point, tolerance_abs: float,
                cost_metric: str = "energy_j_per_example",
                quality_metric: str = "accuracy", rule: str = "point estimate") -> BudgetPick:
    """:func:`cheapest_within` (with the baseline's A/A noise floor as the tie rule) plus the cost ratio,
    quality difference, training flag and the points tied with the pick on cost."""
    floor = noise_floor(baseline, cost_metric)
    pick = cheapest_within(points, baseline, tolerance_abs, cost_metric,
                           quality_metric=quality_metric, rule=rule, tie_floor=floor)
    if pick is None:
        return BudgetPick(baseline, tolerance_abs, cost_metric, None, None, rule, floor=floor)
    ratio = cost_ratio(pick, baseline, cost_metric)
    return BudgetPick(baseline=baseline, tolerance_abs=tolerance_abs, cost_metric=cost_metric, pick=pick,
                      cost_ratio=None if ratio is None else ratio.ratio, rule=rule, ratio=ratio,
                      quality_diff=paired_difference(pick, baseline, quality_metric),
                      trained_longer=trained_longer(pick, baseline), floor=floor,
                      tied=tuple(tied_with(points, pick, baseline, floor, cost_metric)))


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
    ordered = sorted(frontier.strict, key=lambda p: sign * p.value(x))
    gains = []
    for cheaper, dearer in pairwise(ordered):
        d_cost = dearer.value(x) - cheaper.value(x)
        d_quality = dearer.value(y) - cheaper.value(y)
        gains.append(MarginalGain(cheaper=cheaper, dearer=dearer, delta_cost=d_cost,
                                  delta_quality=d_quality,
                                  per_unit_cost=d_quality / d_cost if d_cost else None))
    return gains


def budget_pick_chosen_apart(points: Sequence[Point], chooser: Sequence[Point], baseline: Point,
                             tolerance_abs: float, cost_metric: str = "energy_j_per_example",
                             quality_metric: str = "accuracy", rule: str = "point estimate",
                             chosen_on: str = "validation") -> BudgetPick:
    """:func:`budget_pick` decided on ``chooser`` (the same configurations scored on the split choices are made
    on) and reported with ``points``' figures (the reported split): the pick is never tuned on what it reports."""
    by_key = {p.key: p for p in points}
    chosen_base = next((p for p in chooser if p.key == baseline.key), None)
    if chosen_base is None:
        return budget_pick(points, baseline, tolerance_abs, cost_metric, quality_metric, rule)
    chosen = budget_pick(chooser, chosen_base, tolerance_abs, cost_metric, quality_metric, rule)
    pick = None if chosen.pick is None else by_key.get(chosen.pick.key)
    return dataclasses.replace(
        chosen, baseline=baseline, pick=pick, chosen_on=chosen_on,
        quality_diff=None if pick is None else paired_difference(pick, baseline, quality_metric),
        trained_longer=False if pick is None else trained_longer(pick, baseline),
        tied=tuple(by_key[t.key] for t in chosen.tied if t.key in by_key))
