"""Every ordered pair of reductions, and every reduction on every graph engine, either is refused at validate (one
line, before anything runs), or runs to a record, or stops in one line where the refusal depends on the model (a
layer that a layer drop removed): none may fail inside torch or the engine (tiny random-init BERT, fixture
SST-2)."""

from __future__ import annotations

import itertools

import pytest

from joulebench.configuration import parse_config
from joulebench.errors import UserError
from joulebench.models.checkpoints import CheckpointCache
from joulebench.runner import Runner, RunOptions

REDUCTIONS = {
    "layer_drop": {"name": "layer_drop", "keep_layers": 1},
    "layer_drop+retrain": {"name": "layer_drop", "keep_layers": 1, "retrain": True, "retrain_epochs": 0.25},
    "early_exit": {"name": "early_exit", "threshold": 0.5, "exit_epochs": 0.25},
    "token_prune": {"name": "token_prune", "keep_ratio": 0.5, "after_layers": [1]},
    "int8 torch_ao": {"name": "quantize", "dtype": "int8", "backend": "torch_ao"},
    "bf16": {"name": "quantize", "dtype": "bf16"},
    "seq_len": {"name": "seq_len", "max_seq_len": 16},
    "structured": {"name": "structured_prune", "heads_frac": 0.5, "ffn_frac": 0.5, "score_examples": 8},
    "distill": {"name": "distill", "keep_layers": 1, "epochs": 0.25},
}
BASE = {"task": "sst2", "model": "tiny-random-bert", "max_seq_len": 24,
        "train": {"batch_size": 16, "max_train_examples": 32},
        "measure": {"repeats": 1, "warmup_calls": 0, "batch_size": 16, "eval_max_examples": 8}}


@pytest.fixture(scope="module")
def runner(tmp_path_factory, ):
    from pathlib import Path

    data = Path(__file__).resolve().parents[2] / "fixtures"
    return Runner(RunOptions(data_dir=data, cache=CheckpointCache(tmp_path_factory.mktemp("pairs"))))


@pytest.mark.parametrize("first, second", list(itertools.product(REDUCTIONS, repeat=2)))
def test_a_pair_is_refused_at_validate_or_runs(runner, first, second):
    try:
        (config,) = parse_config({**BASE, "reductions": [REDUCTIONS[first], REDUCTIONS[second]]})
    except UserError as exc:
        assert "\n" not in str(exc) and "reductions[" in str(exc)
        return
    _runs_or_refuses_in_one_line(runner, config)


@pytest.mark.parametrize("engine", ["onnxruntime", "openvino"])
@pytest.mark.parametrize("reduction", [*REDUCTIONS, "int8"])
def test_every_reduction_on_every_graph_engine_is_refused_at_validate_or_runs(runner, engine, reduction):
    spec = REDUCTIONS.get(reduction, "int8")
    try:
        (config,) = parse_config({**BASE, "engine": engine, "reductions": [spec]})
    except UserError as exc:
        assert "\n" not in str(exc) and f"engine {engine}" in str(exc), exc
        assert reduction in ("early_exit", "token_prune", "bf16") or "precision" in str(exc)
        return
    record = _runs_or_refuses_in_one_line(runner, config)
    if record is not None:
        assert record["engine_run"]["name"] == engine
        assert record["engine_run"]["precision_ran"] == record["engine_run"]["precision_asked"]


def _runs_or_refuses_in_one_line(runner, config):
    try:
        record = runner.run(config)
    except UserError as exc:  # a model-dependent refusal, e.g. token_prune after layer 1 of a 1-layer model
        assert "\n" not in str(exc)
        return None
    assert record["quality"]["n_examples"] == 8
    return record
