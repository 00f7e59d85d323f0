"""Everything a report shows for one (task, scenario), computed once for all renderers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from joulebench import promises
from joulebench.analysis.aggregate import Point, aggregate
from joulebench.analysis.budgets import (
    RULES,
    BudgetPick,
    MarginalGain,
    baselines,
    budget_pick,
    budget_pick_chosen_apart,
    marginal_gains,
)
from joulebench.analysis.paired import PER_EXAMPLE, WHOLE_SET, paired_difference
from joulebench.analysis.pareto import Frontier, Noise, independent_noise, pareto_front
from joulebench.results.schema import QUALITY_METRICS, primary_metric_of

#: Cost axes a frontier is drawn against, in report order.
COST_AXES = ("energy_j_per_example", "latency_ms_p50", "latency_ms_p99", "peak_mem_mb",
             "flops_per_example")

#: Absolute accuracy drops the budget questions are asked for (1 and 2 points).
TOLERANCES = (0.01, 0.02)

#: "process CPU time 12.6 s x 15 W/core", "wall time 3.1 s x ..." -> the same words without the seconds.
_PER_RECORD_SECONDS = re.compile(r"((?:process CPU|wall) time) [0-9.eE+-]+ s\b")


@dataclass(frozen=True)
class Section:
    """Analysis of the points of one task and scenario.

    Attributes:
        task: task key.
        scenario: scenario key.
        points: the points, in order of first appearance.
        frontiers: x metric -> frontier of ``quality_metric`` against it.
        baselines: one per model that has a full, unreduced configuration.
        budget_picks: cheapest-within-tolerance answers per baseline and tolerance.
        gains: marginal gains along the energy frontier.
        quality_metric: the y metric (accuracy; F1 for question answering).
        excluded: configurations no budget may pick, with the reason (:func:`joulebench.promises.problem`).
    """

    task: str
    scenario: str
    points: list[Point]
    frontiers: dict[str, Frontier] = field(default_factory=dict)
    baselines: list[Point] = field(default_factory=list)
    budget_picks: list[BudgetPick] = field(default_factory=list)
    gains: list[MarginalGain] = field(default_factory=list)
    quality_metric: str = "accuracy"
    #: configuration label -> why no budget may pick it (a broken promise, a reduction that saved nothing).
    excluded: dict[str, str] = field(default_factory=dict)

    @property
    def energy_methods(self) -> list[str]:
        """Distinct energy methods over the section's records, in order."""
        seen: list[str] = []
        for point in self.points:
            for method in point.energy_methods:
                if method not in seen:
                    seen.append(method)
        return seen

    @property
    def energy_notes(self) -> list[str]:
        """Distinct energy notes over the section's records, in order.

        Notes that differ only in their per-record seconds (the CPU-time estimate's ``12.6 s``) are
        one note: the method is what a reader needs here; each record keeps its own figures.
        """
        seen: list[str] = []
        for point in self.points:
            for note in point.energy_notes:
                general = _PER_RECORD_SECONDS.sub(r"\1", note)
                if general not in seen:
                    seen.append(general)
        return seen


def paired_noise() -> Noise:
    """Noise for frontiers: the paired interval of a quality difference where both points have
    per-example outcomes on the same examples, else the independent intervals (costs too)."""
    cache: dict[tuple[int, int, str], float] = {}

    def noise(a: Point, b: Point, metric: str) -> float:
        if metric not in (*PER_EXAMPLE, *WHOLE_SET):
            return independent_noise(a, b, metric)
        key = (id(a), id(b), metric)
        if key not in cache:
            diff = paired_difference(a, b, metric)
            cache[key] = independent_noise(a, b, metric) if diff is None else (diff.high - diff.low) / 2
        return cache[key]

    return noise


def selection_points(group: Sequence[Point]) -> list[Point] | None:
    """The group's configurations scored on the split choices are made on (``quality.selection``: a task
    reported on ``test`` chooses on ``validation``), or None where the records report where they choose."""
    records = [r for p in group for r in p.records]
    if not records or not all(isinstance((r.get("quality") or {}).get("selection"), dict) for r in records):
        return None
    return aggregate([{**r, "quality": r["quality"]["selection"]} for r in records])


def reported_split(section: Section) -> str:
    """The split a section's quality figures are on (``validation`` for records made before they said so)."""
    splits = {str((r.get("quality") or {}).get("split") or "validation") for p in section.points for r in p.records}
    return ", ".join(sorted(splits))


def other_qualities(section: Section) -> list[str]:
    """The quality metrics recorded for a section's points beside the one it is judged by, in the order of
    ``QUALITY_METRICS`` (exact match stays beside F1 for question answering)."""
    shown = {section.quality_metric, "exact_match" if section.quality_metric == "span_f1" else ""}
    return [m for m in QUALITY_METRICS if m not in shown and any(p.stat(m) is not None for p in section.points)]


def primary_quality(points: Sequence[Point]) -> str:
    """The quality metric a group of points is judged by: the one its task names as primary (a declared
    task's first metric), else F1 for question answering (``span_f1``), else accuracy (the first of
    ``QUALITY_METRICS`` that a point has)."""
    named = {primary_metric_of(r) for p in points for r in p.records} - {None}
    if len(named) == 1:
        return named.pop()  # type: ignore[return-value]
    for metric in QUALITY_METRICS:
        if any(p.stat(metric) is not None for p in points):
            return metric
    return "accuracy"


def build_sections(
    points: Sequence[Point],
    cost_axes: Sequence[str] = COST_AXES,
    quality_metric: str | None = None,
    tolerances: Sequence[float] = TOLERANCES,
) -> list[Section]:
    """Split points by (task, scenario) and compute frontiers, budgets and marginal gains.

    Args:
        points: aggregated points.
        cost_axes: METRICS keys to draw frontiers against.
        quality_metric: METRICS key on the y axis; None, or a metric a section's records do not have: each
            task's own (:func:`primary_quality`).
        tolerances: absolute quality drops for the cheapest-within questions (fractions: 0.01 is
            one point of accuracy or of SQuAD F1).

    Returns:
        Sections sorted by task then scenario.
    """
    groups: dict[tuple[str, str], list[Point]] = {}
    for point in points:
        groups.setdefault((point.task, point.scenario), []).append(point)
    sections = []
    for (task, scenario), group in sorted(groups.items()):
        metric = quality_metric if quality_metric is not None and any(
            p.stat(quality_metric) is not None for p in group) else primary_quality(group)
        noise = paired_noise()
        frontiers = {x: pareto_front(group, x, metric, noise) for x in cost_axes}
        bases = baselines(group)
        excluded = {p.key: why for p in group if (why := promises.problem(p.records)) is not None}
        candidates = [p for p in group if p.key not in excluded]
        chooser = selection_points(candidates)
        picks = [budget_pick(candidates, base, tol, quality_metric=metric, rule=rule) if chooser is None else
                 budget_pick_chosen_apart(candidates, chooser, base, tol, quality_metric=metric, rule=rule)
                 for base in bases for tol in tolerances for rule in RULES]
        energy = frontiers.get("energy_j_per_example")
        gains = marginal_gains(energy) if energy is not None else []
        sections.append(Section(task=task, scenario=scenario, points=group,
                                frontiers=frontiers, baselines=bases, budget_picks=picks,
                                gains=gains, quality_metric=metric,
                                excluded={p.label: excluded[p.key] for p in group if p.key in excluded}))
    return sections
