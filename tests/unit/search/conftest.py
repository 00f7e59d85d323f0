"""A search space over the tiny random BERT, and a synthetic runner that writes records for it.

The synthetic runner stands in for the Runner in the search-logic tests only: it writes records
shaped like the Runner's (config, config_hash, quality with predictions, cost with ABBA pairing
against the baseline) whose values follow a known function of the configuration, so the tests
can check what the search finds. The real Runner is exercised by test_search_cli.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from joulebench.config.schema import RunConfig, config_hash

QUICK_MEASURE = {"batch_size": 16, "repeats": 2, "warmup_calls": 1, "online_examples": 4, "threads": 1}

SEARCH = {
    "name": "tiny-search",
    "task": "sst2",
    "model": "tiny-random-bert",
    "max_seq_len": 32,
    "train": {"batch_size": 16},
    "measure": QUICK_MEASURE,
    "search": {
        "reductions": [
            {"name": "layer_drop", "optional": True, "params": {"keep_layers": {"int": [1, 2]}}},
            {"name": "seq_len", "optional": True, "params": {"max_seq_len": {"choices": [8, 16]}}},
        ],
        "objectives": ["maximize accuracy", "minimize energy_j_per_example"],
        "seed": 0,
    },
}


@pytest.fixture
def search_data() -> dict:
    return json.loads(json.dumps(SEARCH))


@pytest.fixture
def search_file(tmp_path: Path, search_data: dict) -> Path:
    path = tmp_path / "search.yaml"
    path.write_text(yaml.safe_dump(search_data, sort_keys=False))
    return path


def synthetic_values(config: RunConfig) -> tuple[float, float]:
    """(accuracy, energy ratio to dense): fewer layers and tokens cost less and lose accuracy."""
    layers, tokens = 2, 32
    for r in config.reductions:
        if r.name == "layer_drop":
            layers = dict(r.params)["keep_layers"]
        if r.name == "seq_len":
            tokens = dict(r.params)["max_seq_len"]
    ratio = (layers / 2) * (0.4 + 0.6 * tokens / 32)
    accuracy = 0.9 - 0.08 * (2 - layers) - 0.002 * (32 - tokens)
    return round(accuracy, 4), ratio


class SyntheticRunner:
    """Appends one synthetic record per configuration to OUT/results.jsonl; counts what it ran."""

    def __init__(self, out: Path, n: int = 200) -> None:
        self.path = out / "results.jsonl"
        self.n = n
        self.ran: list[str] = []
        self.baseline_hash: str | None = None

    def __call__(self, configs: list[RunConfig]) -> list[tuple[str, str]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            for config in configs:
                chash = config_hash(config)
                self.ran.append(chash)
                if not config.reductions:
                    self.baseline_hash = chash
                f.write(json.dumps(self.record(config, chash)) + "\n")
        return []

    def record(self, config: RunConfig, chash: str) -> dict:
        accuracy, ratio = synthetic_values(config)
        right = round(accuracy * self.n)
        cost: dict = {"energy_j_per_example": 0.05 * ratio, "energy_method": "estimate"}
        if config.reductions:
            rounds = [ratio * f for f in (0.98, 1.0, 1.02, 1.0)]
            cost["vs_baseline"] = {"baseline_config_hash": self.baseline_hash,
                                   "energy": {"per_round": rounds}, "time": {"per_round": rounds}}
        reductions = [{"name": r.name, "params": dict(r.params), "details": {}} for r in config.reductions]
        return {"schema_version": 2, "config_hash": chash, "name": config.name, "config": config.to_dict(),
                "task": config.task, "model": config.model, "regime": config.regime, "reductions": reductions,
                "scenario": config.measure.scenario,
                "quality": {"accuracy": accuracy, "accuracy_stderr": 0.01, "n_examples": self.n,
                            "predictions": [1] * right + [0] * (self.n - right), "labels": [1] * self.n},
                "cost": cost, "train": {}, "env": {}}
