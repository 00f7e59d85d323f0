"""Engines: each runs a tiny BERT at what it is asked and says what it ran; configurations name them (old forms
mapped); refusals are one line at validate; records carry what ran and the one-off cost; exports reproduce."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from joulebench.config.schema import RunConfig, config_hash, stable_hash
from joulebench.configuration import parse_config
from joulebench.engines import ENGINES, EngineContext
from joulebench.errors import UserError
from joulebench.models.checkpoints import CheckpointCache
from joulebench.runner import Runner, RunOptions, paired_baseline

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
BASE = {"task": "sst2", "model": "tiny-random-bert", "max_seq_len": 24,
        "train": {"batch_size": 16, "max_train_examples": 32},
        "measure": {"repeats": 2, "warmup_calls": 1, "batch_size": 16, "eval_max_examples": 16}}


def tiny() -> BertForSequenceClassification:
    torch.manual_seed(0)
    config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=64, num_labels=2)
    return BertForSequenceClassification(config).eval()


def batch(rows: int = 8, width: int = 12, seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, 100, (rows, width), generator=gen)
    mask = torch.ones_like(ids)
    mask[rows // 2:, width // 2:] = 0  # padded rows: the graph must keep the mask
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}


def context() -> EngineContext:
    return EngineContext(threads=1, example=batch(), calibration=lambda: [batch(8, 12, s) for s in range(1, 5)],
                         calibration_note="test batches")


@pytest.mark.parametrize("engine, precision, tolerance", [
    ("onnxruntime", "fp32", 1e-4), ("onnxruntime", "int8", 0.1),
    ("openvino", "fp32", 1e-4), ("openvino", "int8", 0.15),
])
def test_a_graph_engine_gives_the_model_s_logits_and_says_what_it_ran(engine, precision, tolerance):
    model = tiny()
    inputs = batch(seed=9)
    with torch.inference_mode():
        reference = model(**inputs).logits
    prepared = ENGINES.get(engine).prepare(model, precision, context())
    with torch.inference_mode():
        out = prepared.model(**inputs)
    assert out.shape == reference.shape
    assert torch.allclose(out, reference, atol=tolerance), float((out - reference).abs().max())
    facts = prepared.facts
    assert (facts["name"], facts["precision_asked"], facts["precision_ran"]) == (engine, precision, precision)
    assert facts["warning"] is None and facts["threads"] == 1 and facts["version"]
    assert facts["one_off"]  # what the one-off cost was spent on
    alone = prepared.model(**{k: v[5:6, :6] for k, v in inputs.items()})  # a shorter batch: dynamic shapes
    assert alone.shape == (1, 2)


def test_openvino_bf16_runs_bf16_where_the_cpu_has_it_and_is_refused_where_not():
    from joulebench.engines.openvino_engine import capabilities

    engine = ENGINES.get("openvino")
    if "BF16" not in capabilities():
        assert "cannot execute bf16" in engine.precision_problem("bf16", "cpu")
        return
    prepared = engine.prepare(tiny(), "bf16", context())
    assert prepared.facts["precision_ran"] == "bf16"
    assert prepared.facts["precision_hint"] == "bf16"


def test_torch_engines_report_the_dtype_of_the_weights():
    from joulebench.engines.torch_eager import torch_precision

    assert torch_precision(tiny()) == "fp32"
    assert torch_precision(tiny().to(torch.bfloat16)) == "bf16"
    prepared = ENGINES.get("torch").prepare(tiny(), "bf16", context())
    assert "asked bf16" in prepared.facts["warning"]  # the model was never cast: said, not hidden


def test_the_engine_field_defaults_to_torch_and_keeps_old_hashes():
    (config,) = parse_config({"task": "sst2"})
    assert config.engine == "torch"
    data = config.to_dict()
    data.pop("engine")
    data.pop("name")
    data.pop("task_spec")
    data.pop("task_data")
    data.pop("doc_stride")
    for key in [k for k in data["measure"] if k.startswith("server") or k == "latency_bound_ms"]:
        data["measure"].pop(key)
    data["train"].pop("precision")
    data["train"].pop("skip")
    data.pop("classifier_pooling") if data["classifier_pooling"] == "cls" else None
    assert config_hash(config) == stable_hash({**data, "reductions": []})
    (other,) = parse_config({"task": "sst2", "engine": "openvino"})
    assert config_hash(other) != config_hash(config)


@pytest.mark.parametrize("old, engine, reductions", [
    ([{"name": "runtime", "engine": "onnxruntime"}], "onnxruntime", []),
    ([{"name": "int8", "backend": "onnxruntime"}], "onnxruntime", ["int8"]),
    ([{"name": "layer_drop", "keep_layers": 2}, {"name": "quantize", "dtype": "int8", "backend": "onnxruntime"}],
     "onnxruntime", ["layer_drop", "quantize"]),
])
def test_old_forms_that_named_an_engine_map_onto_the_engine_field_with_a_note(caplog, old, engine, reductions):
    (config,) = parse_config({"task": "sst2", "reductions": old})
    assert config.engine == engine
    assert [r.name for r in config.reductions] == reductions
    assert all(dict(r.params).get("backend") in (None, "auto") for r in config.reductions)


@pytest.mark.parametrize("data, message", [
    ({"engine": "openvno"}, "unknown engine 'openvno'; did you mean 'openvino'"),
    ({"engine": "openvino", "reductions": [{"name": "early_exit", "threshold": 0.1}]},
     "engine openvino runs a fixed graph, which cannot hold early_exit"),
    ({"engine": "onnxruntime", "reductions": [{"name": "token_prune", "keep_ratio": 0.5}]},
     "cannot hold token_prune"),
    ({"engine": "onnxruntime", "reductions": [{"name": "quantize", "dtype": "bf16"}]},
     "engine onnxruntime cannot run precision bf16"),
    ({"engine": "auto", "reductions": ["int8"]}, "engine auto chooses among engines for fp32 models"),
    ({"engine": "openvino", "measure": {"device": "cuda"}}, None),
    ({"engine": "onnxruntime", "reductions": [{"name": "runtime", "engine": "openvino"}]}, "disagree"),
])
def test_an_engine_that_cannot_run_a_configuration_is_one_line_at_validate(data, message):
    with pytest.raises(UserError) as caught:
        parse_config({"task": "sst2", **data})
    assert "\n" not in str(caught.value)
    if message is not None:
        assert message in str(caught.value)


def test_an_engine_that_is_not_installed_is_one_line_naming_it(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "nncf" else real(name, *a))
    with pytest.raises(UserError, match="engine openvino is not available here: nncf not installed"):
        parse_config({"task": "sst2", "engine": "openvino"})


def test_question_answering_on_a_graph_engine_is_refused():
    with pytest.raises(UserError, match="engine onnxruntime runs classifiers only here"):
        parse_config({"task": "squad", "engine": "onnxruntime", "max_seq_len": 64, "doc_stride": 16})


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    return Runner(RunOptions(data_dir=FIXTURES, cache=CheckpointCache(tmp_path_factory.mktemp("engines"))))


def test_a_record_says_what_ran_and_pays_the_one_off_cost_in_training(runner):
    (config,) = parse_config({**BASE, "engine": "openvino", "reductions": [{"name": "layer_drop", "keep_layers": 1},
                                                                           "int8"]})
    record = runner.run(config, baseline=paired_baseline(config))
    run = record["engine_run"]
    assert record["engine"] == "openvino int8"
    assert (run["precision_asked"], run["precision_ran"]) == ("int8", "int8")
    assert "NNCF int8 calibration on 320 training-split examples" in run["one_off"]["what"]
    assert run["one_off"]["time_s"] > 0 and record["train"]["one_off"] == run["one_off"]
    assert record["train"]["total_energy_j"] >= record["train"]["cost"]["energy_j"] + run["one_off"]["energy_j"]
    assert record["reductions"][1]["details"]["carried_out_by"] == "openvino"
    split = record["cost"]["vs_baseline"]["engine_split"]  # the dense model on openvino, in the same rounds
    assert split["engine"] == "openvino" and split["engine_part"]["time"]["ratio"] > 0
    baseline = paired_baseline(config)
    assert (baseline.engine, baseline.reductions) == ("torch", ())


def test_engine_auto_times_every_engine_and_records_the_pick(runner):
    (config,) = parse_config({**BASE, "engine": "auto"})
    record = runner.run(config)
    auto = record["engine_run"]["auto"]
    assert auto["picked"] == record["engine_run"]["name"]
    assert set(auto["candidates"]) == set(ENGINES.names())
    timed = {k: v for k, v in auto["candidates"].items() if "median_s" in v}
    assert auto["picked"] in timed
    assert timed[auto["picked"]]["median_s"] == min(v["median_s"] for v in timed.values() if v["agreement"] >= 0.99)


def test_openvino_export_reproduces_the_record_with_only_openvino(runner, tmp_path):
    from joulebench.export import export_record
    from joulebench.results.store import ResultStore

    store = ResultStore.in_dir(tmp_path / "runs")
    (config,) = parse_config({**BASE, "engine": "openvino", "reductions": [{"name": "quantize", "dtype": "bf16"}]})
    runner.run(config, store)
    record = store.records()[0]
    result = export_record(record, tmp_path / "ov", fmt="openvino", data_dir=FIXTURES,
                           cache_dir=runner.options.cache.root)
    folder = result.folder
    assert json.loads((folder / "openvino_config.json").read_text()) == {"INFERENCE_PRECISION_HINT": "bf16"}
    import openvino as ov
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = ov.Core().compile_model(str(folder / "openvino_model.xml"), "CPU",
                                    json.loads((folder / "openvino_config.json").read_text()))
    from joulebench.tasks import get_task

    texts = [e.text_a for e in get_task("sst2").load("validation", FIXTURES, 16, 0)]
    logits = model(dict(tokenizer(texts, padding=True, truncation=True, return_tensors="np")))["logits"]
    assert "".join(str(int(i)) for i in logits.argmax(-1)) == record["quality"]["predictions"]


def test_ls_prints_the_engine_by_reduction_matrix(capsys):
    from joulebench.commands.listing import list_plugins

    list_plugins(None)
    out = capsys.readouterr().out
    assert "engine x reduction on this machine" in out
    openvino = next(line for line in out.splitlines() if line.strip().startswith("openvino |"))
    assert "no[" in openvino and "yes" in openvino
    assert "cannot hold early_exit" in out


def test_runconfig_has_engine_help():
    from joulebench.config.schema import field_help

    assert "openvino" in field_help(RunConfig)["engine"]


def test_torchao_int8_counts_the_same_flops_as_fp32():
    """torchao's int8 kernels are invisible to torch's FLOP counter; its Linear layers are counted by hooks."""
    import copy

    from joulebench.measure.flops import counted_forward
    from joulebench.reductions.int8_backends import quantize_int8

    model = tiny()
    inputs = batch()
    quantized = quantize_int8(copy.deepcopy(model), "torchao")[0]
    assert counted_forward(quantized, inputs)[1] == counted_forward(model, inputs)[1] > 0
