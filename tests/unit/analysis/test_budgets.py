"""Energy per correct prediction, baselines, cheapest-within-tolerance and marginal gains."""

from __future__ import annotations

import pytest

from joulebench.analysis.aggregate import Point, aggregate
from joulebench.analysis.budgets import (
    baselines,
    budget_pick,
    cheapest_within,
    energy_per_correct,
    find_baseline,
    marginal_gains,
    point_energy_per_correct,
)
from joulebench.analysis.pareto import pareto_front


def test_energy_per_correct_arithmetic():
    assert energy_per_correct(0.045, 0.9) == pytest.approx(0.05)
    assert energy_per_correct(2.0, 0.5) == pytest.approx(4.0)
    assert energy_per_correct(None, 0.9) is None
    assert energy_per_correct(0.05, None) is None
    assert energy_per_correct(0.05, 0.0) is None


def test_point_energy_per_correct_propagates_ci():
    p = Point.from_values("p", {"energy_j_per_example": 0.09, "accuracy": 0.9},
                          {"energy_j_per_example": 0.009, "accuracy": 0.0})
    stat = point_energy_per_correct(p)
    assert stat.mean == pytest.approx(0.1)
    assert stat.ci95 == pytest.approx(0.01)  # 10% relative error carries over


@pytest.fixture
def family(record):
    """Baseline at 91.0% and reductions trading accuracy for energy (J/example)."""
    specs = [
        ([], 0.910, 0.100),
        ([("int8", {})], 0.905, 0.060),                       # -0.5 pt
        ([("layers", {"k": 4})], 0.899, 0.050),               # -1.1 pt
        ([("int8", {}), ("layers", {"k": 3})], 0.892, 0.030),  # -1.8 pt
        ([("layers", {"k": 2})], 0.860, 0.020),               # -5.0 pt
    ]
    records = [record(reductions=r, accuracy=a, energy=e) for r, a, e in specs]
    # Another model, cheaper and as accurate: only eligible when same_model=False.
    records.append(record(model="tiny", accuracy=0.91, energy=0.001))
    return aggregate(records)


def test_baseline_is_full_without_reductions(family):
    base = find_baseline(family, "sst2", "minilm-l6", "offline")
    assert base.label == "minilm-l6 full"
    assert find_baseline(family, "sst2", "minilm-l6", "online") is None
    assert [b.label for b in baselines(family)] == ["minilm-l6 full", "tiny full"]


def test_cheapest_within_one_and_two_points(family):
    base = find_baseline(family, "sst2", "minilm-l6", "offline")
    assert cheapest_within(family, base, 0.01).label == "minilm-l6 full + int8"
    assert cheapest_within(family, base, 0.02).label == "minilm-l6 full + int8 + layers(k=3)"
    assert cheapest_within(family, base, 0.0).label == "minilm-l6 full"
    assert cheapest_within(family, base, 0.1).label == "minilm-l6 full + layers(k=2)"
    assert cheapest_within(family, base, 0.01, same_model=False).label == "tiny full"


def test_cheapest_within_on_a_higher_is_better_cost(family):
    base = find_baseline(family, "sst2", "minilm-l6", "offline")
    # All points share a throughput of 240 in the factory: the tie goes to accuracy.
    assert cheapest_within(family, base, 0.02, "throughput_eps").label == "minilm-l6 full"


def test_budget_pick_reports_cost_ratio(family):
    base = find_baseline(family, "sst2", "minilm-l6", "offline")
    pick = budget_pick(family, base, 0.02)
    assert pick.cost_ratio == pytest.approx(0.3)


def test_marginal_gains_between_frontier_neighbours(family):
    minilm = [p for p in family if p.model == "minilm-l6"]
    front = pareto_front(minilm, "energy_j_per_example", "accuracy")
    gains = marginal_gains(front)
    steps = [g.cheaper.mean("energy_j_per_example") for g in gains]
    assert steps + [gains[-1].dearer.mean("energy_j_per_example")] == pytest.approx(
        [0.02, 0.03, 0.05, 0.06, 0.10])
    first = gains[0]
    assert first.delta_quality == pytest.approx(0.032)
    assert first.per_unit_cost == pytest.approx(0.032 / 0.01)
    # Diminishing returns: the last step buys far less accuracy per joule than the first.
    assert gains[-1].per_unit_cost < first.per_unit_cost / 10
