"""What the good/bad/random study measures per seed, and how its summary groups the rows."""

from __future__ import annotations

from pathlib import Path

from joulebench.configuration import parse_config
from joulebench.experiments.structured.study import StudySettings, study_configs, summarize

BASE = parse_config({"task": "sst2", "model": "minilm-l6", "train": {"seed": 1}}, "test")[0]
MASKS = {"good": Path("m/good.json"), "bad": Path("m/bad.json")}


def test_dense_then_each_variant_pruned_and_retrained_with_the_runs_budget():
    configs = study_configs(BASE, MASKS, StudySettings())
    assert [kind for kind, _ in configs] == ["dense", "good/pruned", "good/retrained", "bad/pruned", "bad/retrained"]
    params = [dict(c.reductions[0].params) for _, c in configs[1:]]
    assert params[0] == {"mask": "m/good.json", "retrain": False}
    assert params[1] == {"mask": "m/good.json", "retrain": True}
    assert configs[2][1].name == "structured good retrained seed 1"


def test_a_longer_retraining_is_a_separate_kind_and_configuration():
    default = dict(study_configs(BASE, MASKS, StudySettings()))
    longer = dict(study_configs(BASE, MASKS, StudySettings(retrain_epochs=3)))
    assert "good/retrained 3 ep" in longer and "good/retrained" not in longer
    assert dict(longer["good/retrained 3 ep"].reductions[0].params)["retrain_epochs"] == 3
    assert longer["good/pruned"] == default["good/pruned"]  # pruned rows are shared, not re-run


def test_summary_orders_kinds_and_reports_spread_over_seeds():
    rows = [{"scenario": "offline", "kind": kind, "seed": seed, "accuracy": acc, "param_count": 10,
             "flops_per_example": 1.0, "latency_ms_p50": 1.0, "heads_kept": 4, "ffn_units_kept": 8}
            for kind, seed, acc in [("good/retrained 3 ep", 0, 0.8), ("dense", 0, 0.9), ("dense", 1, 0.7),
                                    ("good/retrained", 0, 0.75), ("good/pruned", 0, 0.6)]]
    summary = summarize(rows)
    assert [s["kind"] for s in summary] == ["dense", "good/pruned", "good/retrained", "good/retrained 3 ep"]
    dense = summary[0]
    assert dense["n_seeds"] == 2 and abs(dense["accuracy_mean"] - 0.8) < 1e-12
    assert abs(dense["accuracy_std"] - 0.1414213562) < 1e-9 and dense["accuracy_per_seed"] == {"0": 0.9, "1": 0.7}
