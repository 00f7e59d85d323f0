"""How the accuracy–efficiency frontier changes from task to task.

Each task is put on normalised axes against its own dense baseline (full fine-tuning, no
reductions, same model and scenario): *quality retained* is the configuration's quality over the
baseline's, in the task's own metric (accuracy for classification, F1 for question answering), and
*cost* is the configuration's energy over the baseline's (the paired ABBA ratio where the record
was timed with that baseline; per question for question answering). The same reductions are then
lined up across tasks: a reduction is identified by its name and parameters (``seq_len`` with a
``fraction`` is the same reduction on a 64-token and a 256-token task).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from joulebench.analysis.aggregate import Point
from joulebench.analysis.labels import reduction_label
from joulebench.analysis.paired import CostRatio, PairedDiff, cost_ratio, paired_difference
from joulebench.analysis.summary import Section

#: What a configuration is called when it has no reductions.
DENSE = "dense"


@dataclass(frozen=True)
class TaskPoint:
    """One configuration of one task, relative to that task's baseline.

    Attributes:
        task: the task.
        reductions: label of the reductions alone (``dense`` for none), the same on every task.
        quality_metric: the task's quality metric (``accuracy``, ``span_f1``).
        retained: quality / baseline quality (1.0 = nothing lost).
        delta: the paired quality difference to the baseline (fractions), or None.
        cost: energy relative to the baseline (paired ratio where timed with it).
        point: the aggregated point.
    """

    task: str
    reductions: str
    quality_metric: str
    retained: float | None
    delta: PairedDiff | None
    cost: CostRatio | None
    point: Point


@dataclass(frozen=True)
class TaskFrontier:
    """One task on normalised axes: every configuration and its Pareto frontier (lowest cost
    ratio, highest quality retained)."""

    task: str
    model: str
    baseline: Point
    points: list[TaskPoint]
    frontier: list[TaskPoint]


@dataclass(frozen=True)
class CrossTask:
    """The cross-task comparison of one scenario.

    Attributes:
        scenario: the scenario compared.
        tasks: one normalised frontier per (task, model) with a baseline.
        rows: reductions measured on at least two tasks, each with its point per task.
    """

    scenario: str
    tasks: list[TaskFrontier]
    rows: list[tuple[str, dict[str, TaskPoint]]]


def reductions_key(point: Point) -> str:
    """A label of the point's reductions alone: the same reductions read the same on every task."""
    reductions = point.config.get("reductions") or []
    if not reductions:
        return DENSE
    return " + ".join(reduction_label(r) for r in reductions)


def _identity(point: Point) -> str:
    return json.dumps([point.regime, point.config.get("reductions") or []], sort_keys=True, default=str)


def _task_point(point: Point, base: Point, metric: str) -> TaskPoint:
    quality, base_quality = point.mean(metric), base.mean(metric)
    retained = None if quality is None or not base_quality else quality / base_quality
    delta = None if point is base else paired_difference(point, base, metric)
    return TaskPoint(point.task, reductions_key(point) if point.regime == base.regime else
                     f"{point.regime}: {reductions_key(point)}", metric, retained, delta,
                     cost_ratio(point, base, "energy_j_per_example"), point)


def _frontier(points: Sequence[TaskPoint]) -> list[TaskPoint]:
    usable = [p for p in points if p.retained is not None and p.cost is not None]
    usable.sort(key=lambda p: (p.cost.ratio, -p.retained))  # type: ignore[union-attr,operator]
    front: list[TaskPoint] = []
    best = float("-inf")
    for p in usable:  # cheapest first: on the frontier when it keeps more than everything cheaper
        if p.retained > best:  # type: ignore[operator]
            front.append(p)
            best = p.retained  # type: ignore[assignment]
    return front


def cross_task(sections: Sequence[Section], scenario: str = "offline") -> CrossTask | None:
    """The cross-task comparison of ``scenario``, or None when fewer than two tasks have a baseline.

    Args:
        sections: the report's sections (one per task and scenario).
        scenario: which scenario to compare.
    """
    tasks: list[TaskFrontier] = []
    for section in sections:
        if section.scenario != scenario:
            continue
        for base in section.baselines:
            mine = [p for p in section.points if p.model == base.model]
            points = [_task_point(p, base, section.quality_metric) for p in mine]
            tasks.append(TaskFrontier(section.task, base.model, base, points, _frontier(points)))
    if len({t.task for t in tasks}) < 2:
        return None
    by_identity: dict[str, dict[str, TaskPoint]] = {}  # in order of first appearance
    for frontier in tasks:
        for tp in frontier.points:
            by_identity.setdefault(_identity(tp.point), {}).setdefault(frontier.task, tp)
    rows = [(next(iter(per_task.values())).reductions, per_task)
            for per_task in by_identity.values() if len(per_task) >= 2]
    return CrossTask(scenario, tasks, rows)
