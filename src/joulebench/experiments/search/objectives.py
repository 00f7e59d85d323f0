"""What a search optimises and what it must respect, read from the records of its trials.

Objectives are ``maximize METRIC`` / ``minimize METRIC`` over the record metrics
(``joulebench.results.schema.METRICS``). A quality metric (accuracy, f1) is its mean on the
evaluation split, with the paired-bootstrap interval of its difference to the baseline. A cost
metric is told to the sampler as its ratio to the baseline, the median of the per-round ratios of
the ABBA rounds timed against the baseline, with that median's 95% interval. Pairing removes
most of the drift between configurations measured minutes apart, so the sampler compares trials
on the same footing (the noise handling is described in ``joulebench.experiments.search``).

Constraints are parsed, never evaluated as code::

    accuracy >= baseline - 0.01     # at most one point below the baseline
    energy_j_per_example <= baseline * 0.5
    peak_mem_mb <= 2000             # an absolute bound, in the metric's unit
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from joulebench.analysis.aggregate import Point
from joulebench.analysis.paired import cost_ratio, paired_difference
from joulebench.errors import UserError
from joulebench.results.schema import METRICS

#: Metrics compared by their mean (and a paired difference); every other metric by a paired ratio.
QUALITY = ("accuracy", "f1")


@dataclass(frozen=True)
class Objective:
    """``maximize accuracy``: a direction and a record metric."""

    direction: str  # "maximize" | "minimize"
    metric: str

    @property
    def text(self) -> str:
        return f"{self.direction} {self.metric}"


@dataclass(frozen=True)
class Estimate:
    """A trial's value of one metric with its 95% interval, as the search sees it.

    ``value`` is the quality itself, or the cost as a ratio to the baseline (``ratio``).
    """

    metric: str
    value: float
    low: float | None
    high: float | None
    ratio: bool

    def text(self) -> str:
        interval = f" [{self.low:.3g}, {self.high:.3g}]" if self.low is not None and self.high is not None else ""
        return f"{self.metric} {'x' if self.ratio else ''}{self.value:.4g}{interval}"


@dataclass(frozen=True)
class Constraint:
    """``metric op bound``, the bound absolute or relative to the baseline."""

    metric: str
    op: str  # ">=" | "<="
    relative: str | None  # None (absolute), "-" / "+" (baseline +- amount), "*" (baseline x amount)
    amount: float
    text: str

    def bound(self, baseline_value: float) -> float:
        """The bound in the metric's unit, given the baseline's value of the metric."""
        if self.relative is None:
            return self.amount
        if self.relative == "*":
            return baseline_value * self.amount
        return baseline_value + (self.amount if self.relative == "+" else -self.amount)

    def violation(self, point: Point, baseline: Point) -> float | None:
        """How far ``point`` is from satisfying this (<= 0: satisfied), in the metric's unit.

        Quality is compared by means (the point estimate, as the report's budgets do); a cost by
        its paired ratio times the baseline's value, so it shares the objectives' pairing.
        """
        value, base = metric_value(point, baseline, self.metric), baseline.mean(self.metric)
        if value is None or base is None:
            return None
        bound = self.bound(base)
        return bound - value if self.op == ">=" else value - bound


def metric_value(point: Point, baseline: Point, metric: str) -> float | None:
    """The point's value of ``metric`` in its own unit (a cost via its paired ratio to the baseline)."""
    if metric in QUALITY:
        return point.mean(metric)
    base, ratio = baseline.mean(metric), cost_ratio(point, baseline, metric)
    if base is None or ratio is None:
        return point.mean(metric)
    return base * ratio.ratio


def estimate(point: Point, baseline: Point, metric: str) -> Estimate | None:
    """The value the search tells its sampler for ``metric``, with its interval (None: not measured)."""
    if metric in QUALITY:
        mean = point.mean(metric)
        if mean is None:
            return None
        diff = paired_difference(point, baseline, metric) if point is not baseline else None
        base = baseline.mean(metric)
        if diff is not None and base is not None:
            return Estimate(metric, mean, base + diff.low, base + diff.high, ratio=False)
        return Estimate(metric, mean, None, None, ratio=False)
    ratio = cost_ratio(point, baseline, metric)
    if ratio is None:
        return None
    return Estimate(metric, ratio.ratio, ratio.low, ratio.high, ratio=True)


_OBJECTIVE = re.compile(r"^\s*(maximize|minimize|max|min)\s+([a-z0-9_]+)\s*$")
_CONSTRAINT = re.compile(
    r"^\s*([a-z0-9_]+)\s*(>=|<=)\s*(?:(baseline)\s*(?:([-+*])\s*([0-9.]+(?:e-?[0-9]+)?))?|([0-9.]+(?:e-?[0-9]+)?))\s*$")


def _known(metric: str, where: str) -> None:
    if metric not in METRICS:
        raise UserError(f"{where}: unknown metric {metric!r}; known: {', '.join(METRICS)}")


def parse_objective(text: object, where: str) -> Objective:
    """``"maximize accuracy"`` -> Objective; anything else is a one-line UserError."""
    match = _OBJECTIVE.match(str(text)) if isinstance(text, str) else None
    if not match:
        raise UserError(f"{where}: expected 'maximize METRIC' or 'minimize METRIC', got {text!r}")
    direction = {"max": "maximize", "min": "minimize"}.get(match[1], match[1])
    _known(match[2], where)
    return Objective(direction, match[2])


def parse_constraint(text: object, where: str) -> Constraint:
    """``"accuracy >= baseline - 0.01"`` -> Constraint (parsed by a regular expression, never evaluated)."""
    match = _CONSTRAINT.match(text) if isinstance(text, str) else None
    if not match:
        raise UserError(f"{where}: expected 'METRIC >= baseline - X', 'METRIC <= baseline * X' or "
                        f"'METRIC <= NUMBER', got {text!r}")
    metric, op, baseline, relative, amount, absolute = match.groups()
    _known(metric, where)
    written = match.string.strip()
    if baseline:
        return Constraint(metric, op, relative or "+", float(amount or 0.0), written)
    return Constraint(metric, op, None, float(absolute), written)


@dataclass(frozen=True)
class Goal:
    """``--goal "min energy_j_per_example s.t. accuracy >= baseline - 0.01"``."""

    objective: Objective
    constraints: tuple[Constraint, ...]


def parse_goal(text: str) -> Goal:
    """Parse a goal: one objective, then ``s.t.`` and constraints joined by ``and`` or commas."""
    head, sep, tail = text.partition(" s.t. ")
    objective = parse_objective(head, "--goal")
    parts = [p for p in re.split(r"\s+and\s+|,", tail) if p.strip()] if sep else []
    if sep and not parts:
        raise UserError(f"--goal: nothing after 's.t.' in {text!r}")
    return Goal(objective, tuple(parse_constraint(p, "--goal") for p in parts))
