"""pareto_front: strict and noise-aware dominance in both metric directions."""

from __future__ import annotations

import pytest

from joulebench.analysis.aggregate import Point
from joulebench.analysis.pareto import dominates, dominates_beyond_noise, pareto_front


def pt(label, ci=None, **means):
    """Hand-made point with the given metric means (and optional CI half-widths)."""
    return Point.from_values(label, means, ci)


def labels(points):
    return [p.label for p in points]


def test_lower_is_better_x_known_front():
    a = pt("a", energy_j_per_example=0.02, accuracy=0.85)
    b = pt("b", energy_j_per_example=0.05, accuracy=0.90)
    c = pt("c", energy_j_per_example=0.06, accuracy=0.88)  # dominated by b
    d = pt("d", energy_j_per_example=0.10, accuracy=0.92)
    e = pt("e", energy_j_per_example=0.03, accuracy=0.80)  # dominated by a
    front = pareto_front([d, c, b, a, e], "energy_j_per_example", "accuracy")
    assert labels(front.strict) == ["a", "b", "d"]  # sorted by x
    assert labels(front.points) == ["a", "e", "b", "c", "d"]
    assert front.on_strict(b) and not front.on_strict(c)
    assert dominates(b, c, "energy_j_per_example", "accuracy")
    assert not dominates(c, b, "energy_j_per_example", "accuracy")


def test_higher_is_better_x_flips_direction():
    # Throughput: more is better, so the fast-and-accurate point dominates.
    fast = pt("fast", throughput_eps=500.0, accuracy=0.90)
    slow = pt("slow", throughput_eps=200.0, accuracy=0.89)
    slow_good = pt("slow_good", throughput_eps=100.0, accuracy=0.93)
    front = pareto_front([fast, slow, slow_good], "throughput_eps", "accuracy")
    assert labels(front.strict) == ["slow_good", "fast"]
    # With energy (lower is better) the same numbers give the opposite verdict.
    inverted = [pt(p.label, energy_j_per_example=p.mean("throughput_eps"),
                   accuracy=p.mean("accuracy")) for p in (fast, slow, slow_good)]
    front = pareto_front(inverted, "energy_j_per_example", "accuracy")
    assert labels(front.strict) == ["slow_good"]


def test_equal_points_do_not_dominate_each_other():
    a = pt("a", energy_j_per_example=0.05, accuracy=0.9)
    b = pt("b", energy_j_per_example=0.05, accuracy=0.9)
    assert labels(pareto_front([a, b], "energy_j_per_example", "accuracy").strict) == ["a", "b"]


def test_noise_aware_keeps_point_dominated_within_noise():
    ci = {"energy_j_per_example": 0.005, "accuracy": 0.02}
    a = pt("a", ci, energy_j_per_example=0.050, accuracy=0.900)
    b = pt("b", ci, energy_j_per_example=0.052, accuracy=0.895)  # worse, but within noise
    c = pt("c", ci, energy_j_per_example=0.090, accuracy=0.850)  # worse beyond noise
    front = pareto_front([a, b, c], "energy_j_per_example", "accuracy")
    assert labels(front.strict) == ["a"]
    assert labels(front.noise_aware) == ["a", "b"]
    assert not dominates_beyond_noise(a, b, "energy_j_per_example", "accuracy")
    assert dominates_beyond_noise(a, c, "energy_j_per_example", "accuracy")


def test_noise_aware_without_cis_equals_strict():
    pts = [pt("a", energy_j_per_example=0.05, accuracy=0.9),
           pt("b", energy_j_per_example=0.06, accuracy=0.899)]
    front = pareto_front(pts, "energy_j_per_example", "accuracy")
    assert labels(front.noise_aware) == labels(front.strict) == ["a"]


def test_points_missing_an_axis_are_excluded_with_reason():
    a = pt("a", energy_j_per_example=0.05, accuracy=0.9)
    no_energy = pt("no_energy", accuracy=0.95)
    nothing = pt("nothing")
    front = pareto_front([a, no_energy, nothing], "energy_j_per_example", "accuracy")
    assert labels(front.strict) == ["a"]
    reasons = {e.point.label: e.reason for e in front.excluded}
    assert reasons == {"no_energy": "no value for energy_j_per_example",
                       "nothing": "no value for energy_j_per_example and accuracy"}


def test_unknown_metric_is_rejected():
    with pytest.raises(KeyError, match="unknown metric"):
        pareto_front([], "joules", "accuracy")
