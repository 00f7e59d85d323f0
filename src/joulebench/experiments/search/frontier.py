"""The frontier a set of trials found, and its hypervolume (how much of objective space it covers).

Objectives are first turned into "lower is better" (a maximised one is negated), then normalised
with a reference point and scale the caller fixes, so that two frontiers (a grid's and a
search's) are compared on the same footing.
"""

from __future__ import annotations

from collections.abc import Sequence

from joulebench.experiments.search.driver import Trial
from joulebench.experiments.search.objectives import Objective


def minimised(trial: Trial, objectives: Sequence[Objective]) -> tuple[float, ...]:
    """The trial's objective values, each signed so that lower is better."""
    return tuple((1 if o.direction == "minimize" else -1) * trial.estimates[o.metric].value for o in objectives)


def pareto_trials(trials: Sequence[Trial], objectives: Sequence[Objective]) -> list[Trial]:
    """Feasible trials no other feasible trial dominates (better or equal everywhere, better once)."""
    feasible = [t for t in trials if t.feasible and all(o.metric in t.estimates for o in objectives)]
    values = {id(t): minimised(t, objectives) for t in feasible}

    def dominated(t: Trial) -> bool:
        a = values[id(t)]
        return any(all(x <= y for x, y in zip(values[id(o)], a, strict=True)) and values[id(o)] != a
                   for o in feasible if o is not t)

    return [t for t in feasible if not dominated(t)]


def hypervolume(points: Sequence[Sequence[float]], reference: Sequence[float],
                scale: Sequence[float] | None = None) -> float:
    """Volume dominated by ``points`` (lower is better) and bounded by ``reference``.

    Args:
        points: objective vectors, lower is better.
        reference: a point worse than every point of interest in every objective.
        scale: divide each objective's extent by this (normalisation); default 1.

    Points not better than the reference in every objective add nothing. The volume is exact: two
    objectives by a sweep, more by slicing along the last objective (Zitzler's HSO: the union of the
    boxes is summed slab by slab), which is quick for the tens of trials a search holds.
    """
    scale = scale or [1.0] * len(reference)
    inside = [tuple((r - p) / s for p, r, s in zip(pt, reference, scale, strict=True)) for pt in points]
    inside = [g for g in inside if all(v > 0 for v in g)]  # gains over the reference, higher is better
    return _union_volume(inside)


def _union_volume(gains: list[tuple[float, ...]]) -> float:
    """Volume of the union of the boxes [0, g] (every coordinate of every g positive)."""
    if not gains:
        return 0.0
    if len(gains[0]) == 1:
        return max(g[0] for g in gains)
    if len(gains[0]) == 2:
        area, best_y = 0.0, 0.0
        for x, y in sorted(gains, key=lambda g: -g[0]):  # widest first
            if y > best_y:
                area += x * (y - best_y)
                best_y = y
        return area
    ordered = sorted(gains, key=lambda g: -g[-1])  # tallest first along the last objective
    volume = 0.0
    for i, point in enumerate(ordered):
        below = ordered[i + 1][-1] if i + 1 < len(ordered) else 0.0
        if point[-1] > below:  # the slab (below, point] holds the first i + 1 boxes
            volume += (point[-1] - below) * _union_volume([g[:-1] for g in ordered[: i + 1]])
    return volume
