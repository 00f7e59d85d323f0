"""Paired statistics: McNemar by hand, paired bootstrap vs independent intervals, non-inferiority,
paired cost ratios, slices and break-even queries."""

from __future__ import annotations

import numpy as np
import pytest

from joulebench.analysis.aggregate import aggregate
from joulebench.analysis.budgets import budget_pick
from joulebench.analysis.paired import (
    break_even_queries,
    cost_ratio,
    mcnemar_exact,
    paired_difference,
    slice_differences,
    trained_longer,
)
from joulebench.analysis.pareto import pareto_front
from joulebench.analysis.summary import paired_noise
from joulebench.tasks.slices import pack

N = 800


def _with_outcomes(rec: dict, wrong: set[int], labels: np.ndarray) -> dict:
    preds = labels.copy()
    for i in wrong:
        preds[i] = 1 - preds[i]
    rec["quality"]["predictions"] = "".join(map(str, preds))
    rec["quality"]["labels"] = "".join(map(str, labels))
    rec["quality"]["examples_sha256"] = "same"
    rec["quality"]["accuracy"] = 1 - len(wrong) / len(labels)
    return rec


@pytest.fixture
def labels() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 2, N)


def test_mcnemar_exact_values_worked_by_hand() -> None:
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(0, 5) == pytest.approx(2 / 32)           # 2 * P(X <= 0), X ~ Bin(5, 1/2)
    assert mcnemar_exact(1, 9) == pytest.approx(2 * 11 / 1024)   # 2 * (C(10,0) + C(10,1)) / 2^10
    assert mcnemar_exact(5, 5) == 1.0


def test_paired_interval_is_much_tighter_than_independent(record, labels) -> None:
    # baseline wrong on 0..159 (80%); the reduction wrong on the same ones plus 8 more (-1 point)
    base = _with_outcomes(record(), set(range(160)), labels)
    reduced = _with_outcomes(record(reductions=[("int8", {})]), set(range(168)), labels)
    b_point, r_point = aggregate([base, reduced])
    diff = paired_difference(r_point, b_point)
    assert diff.delta == pytest.approx(-8 / N)
    assert diff.low <= diff.delta <= diff.high < 0  # a one-sided loss: the interval excludes 0
    assert diff.discordant == (8, 0) and diff.mcnemar_p == pytest.approx(2 / 256)
    independent = np.hypot(b_point.ci95("accuracy"), r_point.ci95("accuracy"))
    assert (diff.high - diff.low) / 2 < independent / 3
    assert diff.non_inferior(0.02) and not diff.non_inferior(0.005)


def test_non_inferiority_rule_needs_the_interval_above_the_budget(record, labels) -> None:
    base = _with_outcomes(record(energy=0.05), set(range(160)), labels)
    # a cheap reduction that is 0.6 points worse in mean, but with many discordant pairs
    noisy_wrong = set(range(80)) | set(range(200, 285))  # 85 new errors, 80 fixed
    noisy = _with_outcomes(record(reductions=[("int8", {})], energy=0.02), noisy_wrong, labels)
    points = aggregate([base, noisy])
    by_mean = budget_pick(points, points[0], 0.01, rule="point estimate")
    shown = budget_pick(points, points[0], 0.01, rule="non-inferiority")
    assert by_mean.pick is points[1]
    assert shown.pick is points[0]  # the loss is not shown to be below 1 point
    assert by_mean.quality_diff.delta == pytest.approx(-5 / N)


def test_cost_ratio_comes_from_the_pairs_with_this_baseline(record) -> None:
    base, reduced = record(energy=0.05), record(reductions=[("int8", {})], energy=0.03)
    reduced["cost"]["vs_baseline"] = {"baseline_config_hash": base["config_hash"], "rounds": 4,
                                      "energy": {"ratio": 0.5, "ci95": [0.45, 0.55],
                                                 "per_round": [0.48, 0.5, 0.52, 0.5]}}
    b_point, r_point = aggregate([base, reduced])
    ratio = cost_ratio(r_point, b_point)
    assert ratio.paired and ratio.ratio == pytest.approx(0.5) and ratio.low < 0.5 < ratio.high
    reduced["cost"]["vs_baseline"]["baseline_config_hash"] = "someone-else"
    b_point, r_point = aggregate([base, reduced])
    unpaired = cost_ratio(r_point, b_point)
    assert not unpaired.paired and unpaired.ratio == pytest.approx(0.6) and unpaired.low is None


def test_slices_locate_the_loss(record, labels) -> None:
    base = _with_outcomes(record(), set(), labels)
    long_ones = np.zeros(N, dtype=bool)
    long_ones[600:] = True
    reduced = _with_outcomes(record(reductions=[("seq_len", {"max_seq_len": 16})]), set(range(600, 700)), labels)
    for rec in (base, reduced):
        rec["quality"]["slices"] = {"short": pack(~long_ones), "long": pack(long_ones)}
    b_point, r_point = aggregate([base, reduced])
    slices = slice_differences(r_point, b_point)
    assert slices["short"].delta == 0.0 and slices["short"].n == 600
    assert slices["long"].delta == pytest.approx(-0.5) and slices["long"].high < 0


def test_paired_noise_keeps_a_real_accuracy_loss_off_the_frontier(record, labels) -> None:
    # same energy, 1.5 points worse: independent intervals call it noise, paired ones do not
    base = _with_outcomes(record(energy=0.05), set(range(160)), labels)
    worse = _with_outcomes(record(reductions=[("seq_len", {"max_seq_len": 64})], energy=0.05),
                           set(range(172)), labels)
    for rec in (base, worse):
        rec["cost"]["ci95"] = {"energy_j_per_example": [0.049, 0.051]}
    points = aggregate([base, worse])
    assert len(pareto_front(points, "energy_j_per_example", "accuracy").noise_aware) == 2
    paired = pareto_front(points, "energy_j_per_example", "accuracy", paired_noise())
    assert [p.label for p in paired.noise_aware] == [points[0].label]


def test_break_even_and_training_flags(record) -> None:
    base = record(energy=0.05)
    base["train"].update(total_energy_j=1000.0, total_steps=125)
    retrained = record(reductions=[("layer_drop", {"keep_layers": 4, "retrain": True})], energy=0.03)
    retrained["train"].update(total_energy_j=1400.0, total_steps=250)
    b_point, r_point = aggregate([base, retrained])
    assert break_even_queries(r_point, b_point) == pytest.approx(400 / 0.02)
    assert trained_longer(r_point, b_point) and not trained_longer(b_point, r_point)
    assert budget_pick([b_point, r_point], b_point, 0.02).trained_longer
    pricier = record(reductions=[("int8", {})], energy=0.06)
    pricier["train"].update(total_energy_j=1000.0, total_steps=125)
    assert break_even_queries(aggregate([pricier])[0], b_point) == 0.0  # no extra training
