"""`train: none`: a cost-only configuration is measured without any training and says so."""

from __future__ import annotations

import pytest
import torch

from joulebench.config import config_hash
from joulebench.configuration import parse_config
from joulebench.models.checkpoints import CheckpointCache
from joulebench.models.loading import load_classifier
from joulebench.results.store import ResultStore
from joulebench.runner import Runner, RunOptions

MEASURE = {"batch_size": 16, "repeats": 1, "warmup_calls": 1, "online_examples": 4}


def _config(train, reductions=()):
    (config,) = parse_config({"task": "sst2", "model": "tiny-random-bert", "max_seq_len": 32, "train": train,
                              "measure": MEASURE, "reductions": list(reductions)})
    return config


@pytest.fixture
def runner(fixture_data_dir, cache_dir):
    return Runner(RunOptions(data_dir=fixture_data_dir, cache=CheckpointCache(cache_dir)))


def test_train_none_parses_and_has_its_own_identity():
    skipped, trained = _config("none"), _config({"batch_size": 16})
    assert skipped.train.skip is True and trained.train.skip is False
    assert config_hash(skipped) != config_hash(trained)
    assert "skip" not in trained.training_dict()["train"]  # hashes of trained configurations are unchanged


def test_train_none_measures_the_untrained_model_and_says_so(runner, tmp_path, cache_dir):
    store = ResultStore.in_dir(tmp_path)
    record = runner.run(_config("none", [{"name": "layer_drop", "keep_layers": 2, "retrain": True}]), store)
    train = record["train"]
    assert train["skipped"] is True and train["steps"] == 0 and train["checkpoint"] is None
    assert "train: none" in train["cost_note"]
    assert [e["skipped"] for e in train["retraining"]] == [train["cost_note"]]  # layer_drop's re-training too
    assert train["total_steps"] == 0
    assert record["quality"]["accuracy"] is None and "train: none" in record["quality"]["null_reason"]
    assert record["cost"]["energy_j_per_example"] > 0 and record["cost"]["latency_ms_p50"] > 0
    assert not any(cache_dir.rglob("*.safetensors")), "nothing was trained, so nothing was cached"


def test_the_untrained_weights_are_the_pretrained_ones(runner):
    (model, _, _), _ = runner.fine_tuned(_config("none"), "cpu")
    pristine = load_classifier("tiny-random-bert", 2, seed=0).model
    for (name, weight), (_, weight0) in zip(model.state_dict().items(), pristine.state_dict().items(), strict=True):
        assert torch.equal(weight, weight0), name
