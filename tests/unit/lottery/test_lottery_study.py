"""The ticket reduction through the runner, and a whole (tiny) study writing records."""

from __future__ import annotations

import pytest
import torch
import yaml

from joulebench.config import config_hash
from joulebench.configuration import load_configs, parse_config
from joulebench.errors import UserError
from joulebench.experiments.lottery.settings import load_study, parse_study
from joulebench.experiments.lottery.study import TicketStudy
from joulebench.experiments.lottery.tables import accuracy_table, arm, price_table, transfer_matrix
from joulebench.models.checkpoints import CheckpointCache
from joulebench.models.loading import load_classifier
from joulebench.reductions.lottery import TicketMask, global_magnitude_mask, load_mask, prunable_weights, save_mask
from joulebench.results.schema import TOP_LEVEL_KEYS
from joulebench.runner import Runner, RunOptions
from joulebench.tasks.resolve import bind_data

QUICK = {"batch_size": 16, "repeats": 2, "warmup_calls": 0,
         "energy_meter": "estimate", "eval_max_examples": 16, "threads": 1}
BASE = {"task": "sst2", "model": "tiny-random-bert", "max_seq_len": 16,
        "train": {"batch_size": 8, "max_train_examples": 16, "lr": 1e-3}, "measure": QUICK}


def _tiny_mask(tmp_path, sparsity=0.5):
    model = load_classifier("tiny-random-bert", 2, seed=0).model
    mask = TicketMask(global_magnitude_mask(prunable_weights(model), sparsity),
                      {"task": "sst2", "model": "tiny-random-bert", "kind": "imp", "objective": "task"})
    return save_mask(mask, tmp_path / "mask.safetensors"), mask


@pytest.mark.parametrize("execution", ["dense", "sparse_csr"])
def test_ticket_reduction_through_the_runner(tmp_path, fixture_data_dir, cache_dir, execution):
    path, mask = _tiny_mask(tmp_path)
    (config,) = parse_config({**BASE, "reductions": [{"name": "ticket", "mask": str(path), "execution": execution}]})
    record = Runner(RunOptions(data_dir=fixture_data_dir, cache=CheckpointCache(cache_dir))).run(config)
    (reduction,) = record["reductions"]
    d = reduction["details"]
    assert d["sparsity"] == pytest.approx(0.5, abs=1e-4) and d["execution"] == execution
    assert d["init"] == "pretrained" and d["rewound_to"] == "tiny-random-bert" and d["matching"] is None
    assert d["flops_per_token_pruned_linears_nonzero"] == 2 * mask.kept
    assert (d.get("csr_layers") == len(mask.masks)) == (execution == "sparse_csr")
    assert 0 <= record["quality"]["accuracy"] <= 1


@pytest.mark.parametrize("params, message", [
    ({"mask": "m.safetensors", "execution": "csr"}, "execution must be one of"),
    ({"mask": "m.pt"}, "safetensors"),
    ({"mask": "m.safetensors", "init": "scratch"}, "init must be one of"),
    ({"mask": "m.safetensors", "retrain_epochs": 1.0}, "init finetuned only"),
    ({"mask": "m.safetensors", "rewind": True}, "unknown key 'rewind'"),
])
def test_bad_ticket_parameters_are_one_line_errors(params, message):
    with pytest.raises(UserError, match=message):
        parse_config({**BASE, "reductions": [{"name": "ticket", **params}]})


def _study_file(tmp_path, **sections):
    data = {"configs": [BASE], "search": {"sparsities": [0.3, 0.6]},
            "baselines": {"dense_seeds": [0, 1], "sparse_execution": [0.3, 0.6]}, **sections}
    path = tmp_path / "ticket_tiny.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_study_search_writes_one_record_per_arm_and_resumes(tmp_path, fixture_data_dir, cache_dir):
    settings = load_study(_study_file(tmp_path))
    out = tmp_path / "out"
    lines: list[str] = []
    study = TicketStudy(settings, out, fixture_data_dir, CheckpointCache(cache_dir), say=lines.append)
    masks = study.search()
    records = study.store.records()
    arms = sorted(arm(r) + ("/csr" if "sparse_csr" in str(r["reductions"]) else "") for r in records)
    assert arms == sorted(["dense"] * 2 + ["imp"] * 2 + ["imp/csr"] * 2 + ["random_pruning"] * 2
                          + ["random_reinit"] * 2)
    assert len({r["config_hash"] for r in records}) == len(records)
    for r in records:
        assert set(TOP_LEVEL_KEYS) <= set(r)
        if arm(r) != "dense":
            d = r["reductions"][0]["details"]
            assert isinstance(d["matching"], bool) and d["dense_seeds"] == [0, 1]
            assert r["config_hash"] == config_hash(bind_data(parse_config({**BASE, "reductions": [
                {"name": "ticket", **r["reductions"][0]["params"]}]})[0], fixture_data_dir))  # what `run` would hash
    first, second = (load_mask(masks[s]) for s in (0.3, 0.6))
    assert first.provenance["round"] == 1 and second.provenance["kind"] == "imp"
    assert all(not (second.masks[k] & ~first.masks[k]).any() for k in first.masks)
    # random pruning has the ticket's per-layer sparsity
    rand = load_mask(study.mask_path("sst2", "random", 0, 0.6))
    assert {k: int(v.sum()) for k, v in rand.masks.items()} == {k: int(v.sum()) for k, v in second.masks.items()}
    table = accuracy_table(records, "sst2")
    assert "| 30% |" in table and "random_reinit" in table and "Highest matching sparsity (imp)" in table
    assert "p50 ms CSR" in price_table(records, "sst2")
    # a second run trains nothing and writes nothing
    again = TicketStudy(settings, out, fixture_data_dir, CheckpointCache(cache_dir), say=lines.append)
    again.search()
    assert len(again.store.records()) == len(records)


def test_transfer_and_mlm_on_a_tiny_model(tmp_path, fixture_data_dir, cache_dir):
    path = _study_file(tmp_path, baselines={"dense_seeds": [0]},
                       transfer={"tasks": ["sst2", "mrpc"], "sparsity": 0.6, "include_mlm": True},
                       mlm={"max_texts": 16, "downstream": ["mrpc"], "downstream_sparsities": [0.6]})
    study = TicketStudy(load_study(path), tmp_path / "out", fixture_data_dir, CheckpointCache(cache_dir),
                        say=lambda _: None)
    mlm_masks = study.mlm()
    mlm_mask = load_mask(mlm_masks[0.6])
    assert mlm_mask.provenance["objective"] == "mlm" and mlm_mask.provenance["mlm_head"]["source"] == "new"
    matrix = study.transfer()
    assert "| sst2 |" in matrix and "| mrpc |" in matrix and "| MLM |" in matrix
    records = study.store.records()
    cross = [r for r in records if r["reductions"] and r["reductions"][0]["details"].get("transfer")]
    assert {(d["transfer"]["source"], d["transfer"]["target"]) for d in
            (r["reductions"][0]["details"] for r in cross)} >= {("sst2", "mrpc"), ("mrpc", "sst2"), ("mlm", "mrpc")}
    assert transfer_matrix(records, ["sst2", "mrpc"], 0.6).count("\n") >= 5


def test_repo_study_files_validate_both_ways():
    from pathlib import Path

    root = Path(__file__).resolve().parents[3] / "configs"
    files = sorted(root.glob("ticket_*.yaml"))
    assert files
    for f in files:
        study = load_study(f)
        (base,) = load_configs(f)  # what `joulebench validate/run` read: the dense baseline
        assert config_hash(base) == config_hash(study.base)
    load_configs(root / "ticket.yaml")


@pytest.mark.parametrize("data, message", [
    ({"configs": [BASE], "serach": {}}, "did you mean 'search'"),
    ({"configs": [BASE, BASE]}, "exactly one run config"),
    ({"configs": [{**BASE, "regime": "frozen"}]}, "regime must be 'full'"),
    ({"configs": [BASE], "search": {"sparsities": [0.5, 0.3]}}, "strictly increase"),
    ({"configs": [BASE], "search": {"seeds": [0.5]}}, "list of integers"),
    ({"configs": [BASE], "transfer": {"sparsity": 0.5, "search_sparsities": [0.2, 0.4]}}, "must end at"),
])
def test_bad_study_files_name_the_problem(data, message):
    with pytest.raises(UserError, match=message):
        parse_study(data, "study.yaml")


def test_rewinding_requires_same_architecture(tmp_path, fixture_data_dir, cache_dir):
    path, _ = _tiny_mask(tmp_path)
    mask = load_mask(path)
    mask.provenance["model"] = "minilm-l6"  # rewind target of another shape
    bad = save_mask(mask, tmp_path / "bad.safetensors")
    (config,) = parse_config({**BASE, "reductions": [{"name": "ticket", "mask": str(bad)}]})
    with pytest.raises(UserError, match="does not match the run's model"):
        Runner(RunOptions(data_dir=fixture_data_dir, cache=CheckpointCache(cache_dir))).run(config)


class _Task:
    num_labels = 2


def _ctx(calls):
    from joulebench.reductions import ReductionContext

    def fine_tune(model, examples=None, trainable=None, epochs=None, after_step=None, what="re-train"):
        calls.append({"epochs": epochs, "state": {k: v.clone() for k, v in model.state_dict().items()}})
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.01)  # what an optimizer step does to pruned weights too
        after_step(model)

    return ReductionContext(task=_Task(), tokenizer=None, max_seq_len=16, seed=0, fine_tune=fine_tune)


@pytest.mark.parametrize("init", ["pretrained", "random", "finetuned"])
def test_ticket_reduction_inits(tmp_path, init):
    from joulebench.config.schema import ReductionSpec
    from joulebench.reductions import apply_reductions

    path, mask = _tiny_mask(tmp_path)
    pretrained = load_classifier("tiny-random-bert", 2, seed=0).model.state_dict()
    finetuned = load_classifier("tiny-random-bert", 2, seed=0).model
    with torch.no_grad():
        for p in finetuned.parameters():
            p.add_(1.0)  # stands for the runner's fine-tuned dense weights
    params = {"mask": str(path), "init": init, **({"retrain_epochs": 0.5} if init == "finetuned" else {})}
    calls: list = []
    model, (entry,) = apply_reductions(finetuned, (ReductionSpec("ticket", tuple(sorted(params.items()))),),
                                       _ctx(calls))
    (call,) = calls
    key = "bert.encoder.layer.0.attention.self.query.weight"
    keep = mask.masks[key.removeprefix("bert.")]
    start = call["state"][key]
    assert int((start[~keep] != 0).sum()) == 0  # masked before training
    if init == "pretrained":
        assert torch.equal(start[keep], pretrained[key][keep]) and call["epochs"] is None
    elif init == "random":
        assert not torch.equal(start[keep], pretrained[key][keep])
        assert not torch.equal(start[keep], pretrained[key][keep] + 1.0)
    else:
        assert torch.equal(start[keep], pretrained[key][keep] + 1.0) and call["epochs"] == 0.5
    w = model.state_dict()[key]
    assert int((w[~keep] != 0).sum()) == 0  # and after
    assert entry["details"]["init"] == init


def test_a_study_file_with_broken_yaml_names_file_and_line(tmp_path):
    bad = tmp_path / "study.yaml"
    bad.write_text("configs:\n  - task: [sst2\n")
    with pytest.raises(UserError, match=r"study.yaml: line \d+ is not valid YAML"):
        load_study(bad)
    with pytest.raises(UserError, match="missing.yaml: study file not found"):
        load_study(tmp_path / "missing.yaml")


def test_a_ticket_study_on_question_answering_trains_span_tickets(tmp_path, fixture_data_dir, cache_dir):
    qa = {"task": "squad", "model": "tiny-random-bert", "max_seq_len": 48, "doc_stride": 16,
          "train": {"batch_size": 8, "lr": 1e-3}, "measure": {**QUICK, "eval_max_examples": 6}}
    data = {"configs": [qa], "search": {"sparsities": [0.5], "targets": "encoder"},
            "baselines": {"dense_seeds": [0], "random_reinit": False, "sparsities": [0.5]}}
    path = tmp_path / "ticket_squad.yaml"
    path.write_text(yaml.safe_dump(data))
    study = TicketStudy(load_study(path), tmp_path / "out", fixture_data_dir, CheckpointCache(cache_dir),
                        say=lambda _: None)
    masks = study.search()
    records = study.store.records()
    assert sorted(arm(r) for r in records) == ["dense", "imp", "random_pruning"]
    for r in records:
        assert "exact_match" in r["quality"] and 0 <= r["quality"]["f1"] <= 100
    ticket = next(r for r in records if arm(r) == "imp")["reductions"][0]["details"]
    assert ticket["sparsity"] == pytest.approx(0.5, abs=0.01) and ticket["dense_metric"] == "f1"
    assert load_mask(masks[0.5]).provenance["task"] == "squad"


def test_matching_is_paired_non_inferiority_against_the_dense_seeds():
    from joulebench.experiments.lottery.study import DenseBaseline

    labels = "0101010101" * 20
    dense = [{"quality": {"accuracy": 0.9, "predictions": labels[:180] + "1" * 20, "labels": labels,
                          "examples_sha256": "x", "primary_metric": "accuracy"}} for _ in range(2)]
    base = DenseBaseline("sst2", "accuracy", (0, 1), (0.9, 0.9), tuple(dense), tolerance=0.01)
    same = base.judge(0.9, dict(dense[0]["quality"]))
    assert same["matching"] is True and same["matching_paired_delta"] == 0.0 and "paired" in same["matching_rule"]
    worse = dict(dense[0]["quality"], predictions=labels[:150] + "1" * 50, accuracy=0.775)
    judged = base.judge(0.775, worse)
    assert judged["matching"] is False and judged["matching_paired_ci95"][1] < 0
    assert judged["matching_chen"] is False  # std 0 over identical seeds: the old rule agrees here
    # a loss within noise of one point is not "matching" unless its interval excludes the one-point loss
    slight = dict(dense[0]["quality"], predictions=labels[:178] + "1" * 22, accuracy=0.895)
    assert base.judge(0.895, slight)["matching"] is False and base.judge(0.895, slight)["matching_chen"] is False


def test_a_study_takes_a_declared_task_as_run_does(tmp_path, fixture_data_dir, cache_dir):
    import csv

    rows = {}
    for split, name in (("train", "train"), ("dev", "dev")):
        with (fixture_data_dir / "glue" / "SST-2" / f"{name}.tsv").open(encoding="utf-8") as handle:
            rows[split] = [r for r in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)]
        with (tmp_path / f"mini_{split}.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["review", "sentiment"])
            writer.writerows([r["sentence"], ["neg", "pos"][int(r["label"])]] for r in rows[split])
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "mini.yaml").write_text(
        "name: mini\nkind: classification\ndata: {train: ../mini_train.csv, dev: ../mini_dev.csv}\n"
        "text: review\nlabel: sentiment\nmetrics: [accuracy, macro_f1]\n")
    path = tmp_path / "ticket_mini.yaml"
    path.write_text(yaml.safe_dump({"configs": [{**BASE, "task": "mini"}], "search": {"sparsities": [0.5]},
                                    "baselines": {"dense_seeds": [0], "sparse_execution": [],
                                                  "random_pruning": False, "random_reinit": False}}))
    settings = load_study(path)
    assert settings.base.task == "mini" and settings.base.task_spec is not None
    study = TicketStudy(settings, tmp_path / "out", fixture_data_dir, CheckpointCache(cache_dir), say=lambda _: None)
    study.search()
    records = study.store.records()
    assert {r["task"] for r in records} == {"mini"} and {arm(r) for r in records} == {"dense", "imp"}
    assert all(r["config"]["task_spec"]["name"] == "mini" and r["task_data"] for r in records)
    assert all("macro_f1" in r["quality"] for r in records)  # the declared task's metrics, not SST-2's
    # --task takes a declared task too, found beside the study file
    moved = load_study(_study_file(tmp_path)).with_task("mini", tmp_path)
    assert moved.base.task == "mini" and moved.base.task_spec == settings.base.task_spec
