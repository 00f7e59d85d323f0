"""aggregate: one point per configuration across seeds and repeats, with labels and CIs."""

from __future__ import annotations

import math

import pytest

from joulebench.analysis.aggregate import aggregate, identity_key
from joulebench.analysis.labels import config_label, model_short
from joulebench.analysis.stats import Z95


def test_seeds_collapse_into_one_point_with_mean_n_and_t_ci(record):
    accs = [0.90, 0.91, 0.92]
    records = [record(seed=s, accuracy=a, energy=0.05 + 0.001 * s)
               for s, a in enumerate(accs)]
    [point] = aggregate(records)
    acc = point.stat("accuracy")
    assert point.n == 3 and acc.n == 3
    assert acc.mean == pytest.approx(0.91)
    assert acc.std == pytest.approx(0.01)
    assert acc.ci95 == pytest.approx(4.303 * 0.01 / math.sqrt(3))
    assert acc.ci_source == "t"
    assert point.mean("energy_j_per_example") == pytest.approx(0.051)
    assert point.seeds == (0, 1, 2)
    assert len(point.config_hashes) == 3
    assert "seed" not in point.config["train"]


def test_configurations_differing_beyond_seed_stay_apart(record):
    records = [record(seed=0), record(seed=1), record(reductions=[("int8", {})]),
               record(extra_train={"lr": 3e-5})]
    points = aggregate(records)
    assert [p.n for p in points] == [2, 1, 1]


def test_measurement_repeats_of_one_seed_group_together(record):
    points = aggregate([record(seed=7, p50=4.0), record(seed=7, p50=4.2)])
    assert len(points) == 1
    assert points[0].n == 2 and points[0].seeds == (7,)


def test_single_record_uses_accuracy_stderr_and_no_cost_ci(record):
    [point] = aggregate([record(accuracy=0.9, n_examples=900)])
    assert point.ci95("accuracy") == pytest.approx(Z95 * math.sqrt(0.9 * 0.1 / 900))
    assert point.ci95("energy_j_per_example") is None


def test_none_metrics_are_left_out(record):
    [point] = aggregate([record(energy=None, flops=None, peak_mem=float("nan"))])
    assert point.stat("peak_mem_mb") is None
    assert point.stat("energy_j_per_example") is None
    assert point.mean("flops_per_example") is None
    assert point.energy_method is None
    assert point.mean("accuracy") == pytest.approx(0.9)


def test_label_from_model_regime_and_reductions(record):
    [point] = aggregate([record(reductions=[("int8", {}), ("layers", {"k": 3})])])
    assert point.label == "minilm-l6 full + int8 + layers(k=3)"
    assert config_label("google/bert_uncased_L-4_H-256_A-4", "frozen",
                        [{"name": "tokens", "params": {"keep": 0.5, "learned": False}}]) == (
        "bert_uncased_L-4_H-256_A-4 frozen + tokens(keep=0.5, learned=false)")
    assert model_short("/models/minilm/") == "minilm"


def test_colliding_labels_are_told_apart_by_differing_keys(record):
    points = aggregate([record(), record(extra_train={"lr": 3e-5})])
    labels = sorted(p.label for p in points)
    assert labels == ["minilm-l6 full (train.lr=3e-05)", "minilm-l6 full (train.lr=5e-05)"]


def test_identity_ignores_the_name_label(record):
    points = aggregate([record(seed=0, name="first try"), record(seed=1, name="again")])
    assert len(points) == 1 and points[0].name == "first try"


def test_identity_ignores_seed_and_reduction_details(record):
    a = record(seed=1, reductions=[("tokens", {"keep": 0.5})], details={"tokens_kept_ratio": 0.49})
    b = record(seed=2, reductions=[("tokens", {"keep": 0.5})], details={"tokens_kept_ratio": 0.51})
    assert identity_key(a) == identity_key(b)
    assert a["config_hash"] != b["config_hash"]


def test_mixed_energy_methods_are_flagged(record):
    [point] = aggregate([record(seed=0), record(seed=1, energy_method="rapl")])
    assert point.energy_method == "mixed(estimate,rapl)"
