"""The runner end to end on a tiny random BERT and the fixture data (fast, offline)."""

import json

import pytest
import torch

from joulebench.config import config_hash
from joulebench.configuration import parse_config
from joulebench.models.checkpoints import CheckpointCache
from joulebench.results.schema import TOP_LEVEL_KEYS
from joulebench.results.store import ResultStore
from joulebench.runner import Runner, RunOptions

QUICK_MEASURE = {"batch_size": 16, "repeats": 2, "warmup_calls": 1, "online_examples": 4}


def make_config(**overrides):
    data = {"task": "sst2", "model": "tiny-random-bert", "max_seq_len": 32, "train": {"batch_size": 16},
            "measure": dict(QUICK_MEASURE)}
    data.update(overrides)
    return parse_config(data)


@pytest.fixture
def runner(fixture_data_dir, cache_dir):
    return Runner(RunOptions(data_dir=fixture_data_dir, cache=CheckpointCache(cache_dir)))


def test_record_has_every_documented_section(runner, tmp_path):
    (config,) = make_config()
    store = ResultStore.in_dir(tmp_path)
    record = runner.run(config, store)
    assert set(TOP_LEVEL_KEYS) <= set(record)
    assert record["config_hash"] == config_hash(runner.bind(config)) != config_hash(config)
    assert record["task_data"] == record["config"]["task_data"] == runner.bind(config).task_data
    q, c = record["quality"], record["cost"]
    assert 0 <= q["accuracy"] <= 1 and q["n_examples"] == 40
    assert c["energy_method"] in {"rapl", "nvml", "estimate"} and c["energy_j_per_example"] is not None
    assert c["energy_j_per_example"] > 0 and c["energy_note"]
    assert c["latency_ms_p50"] <= c["latency_ms_p99"]
    assert c["n_timed_examples"] >= 40  # offline covers the whole split at least once
    assert c["flops_per_example"] > 0 and c["peak_mem_mb"] > 0
    assert record["train"]["reused"] is False
    assert json.loads(store.path.read_text().splitlines()[0])["config_hash"] == record["config_hash"]


def test_rerun_is_skipped_and_checkpoint_reused(runner, tmp_path):
    offline, online = make_config(measure={**QUICK_MEASURE, "scenario": ["offline", "online"]})
    store = ResultStore.in_dir(tmp_path)
    first = runner.run(offline, store)
    assert runner.run(offline, store) is None  # already stored
    second = runner.run(online, store)
    assert second["train"]["reused"] is True and second["train"]["checkpoint"] == first["train"]["checkpoint"]
    assert second["cost"]["batch_size"] == 1 and second["cost"]["n_timed_examples"] >= 2
    assert len(store.records()) == 2


def test_frozen_regime_leaves_encoder_untouched(runner):
    from joulebench.models.loading import load_classifier

    (config,) = make_config(regime="frozen")
    (model, _, _), _ = runner.fine_tuned(config, "cpu")
    pristine = load_classifier("tiny-random-bert", 2, seed=0).model
    enc, enc0 = model.bert.encoder.layer[0].output.dense.weight, pristine.bert.encoder.layer[0].output.dense.weight
    assert enc.equal(enc0)
    assert not model.classifier.weight.equal(pristine.classifier.weight)


def test_top_k_trains_only_top_layers(runner):
    from joulebench.models.loading import load_classifier

    (config,) = make_config(regime="top_k", train={"batch_size": 16, "top_k_layers": 1})
    (model, _, _), _ = runner.fine_tuned(config, "cpu")
    pristine = load_classifier("tiny-random-bert", 2, seed=0).model
    layers, layers0 = model.bert.encoder.layer, pristine.bert.encoder.layer
    assert layers[0].output.dense.weight.equal(layers0[0].output.dense.weight)
    assert not layers[1].output.dense.weight.equal(layers0[1].output.dense.weight)


def test_paired_record_carries_ratios_outcomes_slices_and_training_cost(runner, tmp_path):
    from joulebench.runner import paired_baseline

    (config,) = make_config(reductions=[{"name": "layer_drop", "keep_layers": 1, "retrain": True}])
    record = runner.run(config, ResultStore.in_dir(tmp_path), baseline=paired_baseline(config))
    cost, quality, train = record["cost"], record["quality"], record["train"]
    pairing = cost["vs_baseline"]
    assert pairing["baseline_config_hash"] == config_hash(runner.bind(paired_baseline(config)))
    assert sorted(pairing["order"].split()) == ["BT", "TB"] and len(pairing["energy"]["per_round"]) == 2
    low, high = pairing["time"]["ci95"]
    assert low <= pairing["time"]["ratio"] <= high
    assert cost["protocol"]["n_examples"] == 40 and cost["n_timed_examples"] == 2 * 40
    assert set(cost["ci95"]) >= {"energy_j_per_example", "latency_ms_p50", "throughput_eps"}
    assert len(quality["predictions"]) == len(quality["labels"]) == 40
    assert {"length_q1", "negation", "label_0"} <= set(quality["slices"])
    base_cost = train["cost"]
    assert base_cost["time_s"] > 0 and base_cost["energy_method"] == cost["energy_method"]
    [retrain] = train["retraining"]
    assert retrain["what"] == "layer_drop retrain" and retrain["steps"] > 0 and retrain["cost"]["time_s"] > 0
    assert train["total_steps"] == train["steps"] + retrain["steps"]
    assert train["total_energy_j"] == pytest.approx(base_cost["energy_j"] + retrain["cost"]["energy_j"])


def test_frozen_retraining_follows_the_regime(runner):
    from joulebench.models.loading import load_classifier

    (config,) = make_config(regime="frozen", reductions=[{"name": "layer_drop", "keep_layers": 1, "retrain": True}])
    seen = []
    record = runner.run(config, on_model=seen.append)
    assert record["train"]["retraining"][0]["regime"] == "frozen"
    pretrained = load_classifier("tiny-random-bert", 2).model.state_dict()
    retrained = seen[0].model.state_dict()
    layer0 = [k for k in retrained if k.startswith("bert.encoder.layer.0.")]
    assert layer0 and all(torch.equal(retrained[k], pretrained[k]) for k in layer0)  # the kept layer stayed frozen
    assert not torch.equal(retrained["classifier.weight"], pretrained["classifier.weight"])  # the head trained


def test_trainings_inside_reductions_are_cached_and_reused(runner, tmp_path):
    drop = {"name": "layer_drop", "keep_layers": 1, "retrain": True}
    exits = {"name": "early_exit", "threshold": 0.3, "exit_epochs": 0.5}
    (alone,) = make_config(reductions=[drop])
    (with_int8,) = make_config(reductions=[drop, "int8"])
    first, second = runner.run(alone), runner.run(with_int8)
    assert first["train"]["retraining"][0].get("reused") is None and first["train"]["retraining"][0]["steps"] > 0
    reused = second["train"]["retraining"][0]
    assert reused["reused"] is True and reused["checkpoint"] == first["train"]["retraining"][0]["checkpoint"]
    assert reused["cost"] == first["train"]["retraining"][0]["cost"]  # the cost of the run that made them
    assert second["train"]["total_steps"] == first["train"]["total_steps"]
    # a different recipe (another depth) trains anew
    (deeper,) = make_config(reductions=[{**drop, "keep_layers": 2}])
    assert runner.run(deeper)["train"]["retraining"][0].get("reused") is None
    # exit heads too: the same heads on the same backbone, with or without int8 after them
    (exit_alone,) = make_config(reductions=[exits])
    (exit_int8,) = make_config(reductions=[exits, "int8"])
    a, b = runner.run(exit_alone), runner.run(exit_int8)
    assert a["reductions"][0]["details"]["exit_heads_reused"] is False
    assert b["reductions"][0]["details"]["exit_heads_reused"] is True
    assert b["train"]["retraining"][0]["reused"] is True


def test_server_scenario_records_load_latency_with_queueing_and_the_max_rate(runner, tmp_path):
    server = {**QUICK_MEASURE, "scenario": "server", "server_qps": 100.0, "server_requests": 24,
              "server_max_batch": 4, "server_max_wait_ms": 2.0, "latency_bound_ms": 200.0,
              "server_find_max_rate": True}
    (config,) = make_config(measure=server, reductions=[{"name": "int8", "backend": "torch_ao"}])
    from joulebench.runner import paired_baseline

    record = runner.run(config, ResultStore.in_dir(tmp_path), baseline=paired_baseline(config))
    cost = record["cost"]
    assert record["scenario"] == "server" and cost["batch_size"] == 4
    s = cost["server"]
    assert (s["qps_offered"], s["max_batch"], s["requests"], s["latency_bound_ms"]) == (100.0, 4, 24, 200.0)
    assert len(s["windows"]) == 2 and all(1 <= w["mean_batch"] <= 4 for w in s["windows"])
    assert cost["n_timed_examples"] == 48 and len(cost["latency_samples_ms"]) == 48
    assert min(cost["latency_samples_ms"]) > 0 and cost["energy_j_per_example"] > 0
    found = s["max_rate"]
    held = [t["qps_offered"] for t in found["trials"] if t["bound_held"]]
    assert found["trials"] and found["max_qps"] == (round(max(held), 3) if held else None)
    assert cost["vs_baseline"]["baseline_max_rate"]["trials"]
    assert cost["vs_baseline"]["energy"]["ratio"] > 0  # energy per query paired at the same load
    assert "Poisson arrivals at 100 qps" in cost["protocol"]["selection"]


def test_server_keys_do_not_change_the_identity_of_other_scenarios():
    (offline,) = make_config()
    (tuned,) = make_config(measure={**QUICK_MEASURE, "server_qps": 7.0})
    assert config_hash(offline) == config_hash(tuned)
    (server_a,) = make_config(measure={**QUICK_MEASURE, "scenario": "server"})
    (server_b,) = make_config(measure={**QUICK_MEASURE, "scenario": "server", "server_qps": 7.0})
    assert config_hash(server_a) != config_hash(server_b)


def test_bf16_training_is_its_own_checkpoint_and_fp32_keeps_the_old_identity(runner, tmp_path):
    from joulebench.reductions.quantize import cpu_bf16_native

    (fp32,) = make_config()
    (explicit,) = make_config(train={"batch_size": 16, "precision": "fp32"})
    (bf16,) = make_config(train={"batch_size": 16, "precision": "bf16"})
    assert runner.train_key(fp32) == runner.train_key(explicit) and config_hash(fp32) == config_hash(explicit)
    assert runner.train_key(bf16) != runner.train_key(fp32)
    if not cpu_bf16_native():
        pytest.skip("this CPU has no native bf16")
    record = runner.run(bf16, ResultStore.in_dir(tmp_path))
    assert record["train"]["reused"] is False and record["train"]["steps"] > 0
    assert record["train"]["final_loss"] == record["train"]["final_loss"]  # trained to a number, not NaN


def test_a_reduction_on_another_engine_is_split_into_engine_and_reduction(runner, tmp_path):
    from joulebench.runner import paired_baseline

    pytest.importorskip("onnxruntime")
    (config,) = make_config(reductions=[{"name": "int8", "backend": "onnxruntime"}])
    record = runner.run(config, ResultStore.in_dir(tmp_path), baseline=paired_baseline(config))
    assert record["engine"] == "onnxruntime int8"
    split = record["cost"]["vs_baseline"]["engine_split"]
    assert split["engine"] == "onnxruntime"
    assert split["dense_on_engine_config_hash"] != record["cost"]["vs_baseline"]["baseline_config_hash"]
    for part in ("engine_part", "reduction_part"):
        ratio = split[part]["energy"]
        assert ratio["ratio"] > 0 and ratio["ci95"][0] <= ratio["ratio"] <= ratio["ci95"][1]
    (same_engine,) = make_config(reductions=[{"name": "int8", "backend": "torch_ao"}])
    plain = runner.run(same_engine, ResultStore.in_dir(tmp_path), baseline=paired_baseline(same_engine))
    assert "engine_split" not in plain["cost"]["vs_baseline"]
