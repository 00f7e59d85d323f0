"""Declared tasks on every encoder family: a 3-class CSV task and a pair regression task in JSON Lines, through the
Runner with the reductions each kind takes (tiny random-init models, a few dozen rows; each cell must produce a
record whose quality names the task's metrics)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from joulebench.configuration import parse_config
from joulebench.models.checkpoints import CheckpointCache
from joulebench.models.loading import TINY_CONFIGS
from joulebench.runner import Runner, RunOptions

WORDS = ["good", "bad", "fine", "news", "plot", "today", "market", "film", "awful", "great"]
REDUCTIONS = [[], [{"name": "layer_drop", "keep_layers": 1}], [{"name": "quantize", "dtype": "int8",
                                                                  "backend": "torch_ao"}],
              [{"name": "structured_prune", "heads_frac": 0.5, "ffn_frac": 0.5, "score_examples": 16}],
              [{"name": "seq_len", "max_seq_len": 8}], [{"name": "runtime", "engine": "onnxruntime"}]]
#: Reductions that score classes: classification only (regression refuses them at validate).
CLASS_ONLY = [[{"name": "early_exit", "threshold": 0.5, "exit_epochs": 0.5}],
              [{"name": "token_prune", "keep_ratio": 0.5, "after_layers": [1]}],
              [{"name": "distill", "keep_layers": 1, "epochs": 0.5}]]


@pytest.fixture(scope="module")
def task_files(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("own")
    with (root / "three.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["body", "kind", "channel"])
        for i in range(48):
            writer.writerow([" ".join(WORDS[(i + k) % 10] for k in range(3 + i % 5)), ["a", "b", "c"][i % 3],
                             ["web", "mail"][i % 2]])
    with (root / "pairs.jsonl").open("w") as handle:
        for i in range(48):
            handle.write(json.dumps({"x": WORDS[i % 10] + " " + WORDS[(i * 3) % 10], "y": WORDS[(i * 7) % 10],
                                     "score": (i % 6) / 5}) + "\n")
    return root


def declared(kind: str, root: Path) -> dict:
    if kind == "classification":
        return {"name": "three", "kind": "classification", "data": {"train": str(root / "three.csv")},
                "text": "body", "label": "kind", "metrics": ["accuracy", "macro_f1", "mcc"], "slices": ["channel"]}
    return {"name": "pairs", "kind": "regression", "data": {"train": str(root / "pairs.jsonl")}, "text": ["x", "y"],
            "label": "score"}


@pytest.mark.parametrize("family", list(TINY_CONFIGS))
@pytest.mark.parametrize("kind", ["classification", "regression"])
def test_declared_tasks_run_on_every_family(tmp_path, task_files, family, kind):
    runner = Runner(RunOptions(cache=CheckpointCache(tmp_path / "cache")))
    for reductions in REDUCTIONS + (CLASS_ONLY if kind == "classification" else []):
        (config,) = parse_config({"task": declared(kind, task_files), "model": f"tiny-random-{family}",
                                  "max_seq_len": 16, "reductions": reductions,
                                  "train": {"batch_size": 16, "max_train_examples": 32},
                                  "measure": {"repeats": 1, "warmup_calls": 0, "batch_size": 16}}, "c", tmp_path)
        record = runner.run(config)
        quality = record["quality"]
        names = ("accuracy", "macro_f1", "mcc") if kind == "classification" else ("pearson", "spearman")
        assert all(name in quality and f"{name}_stderr" in quality for name in names), quality
        assert quality["n_examples"] == 5  # the seeded 10% dev split of 48 rows
        assert record["task_data"] and record["config"]["task_spec"]["kind"] == kind
        if kind == "classification":
            assert set(quality["predictions"]) <= set("012") and "channel=web" in quality["slices"]
        else:
            assert isinstance(quality["predictions"], list) and isinstance(quality["predictions"][0], float)


@pytest.mark.parametrize("reductions", CLASS_ONLY)
def test_regression_refuses_class_scoring_reductions_at_validate(task_files, tmp_path, reductions):
    from joulebench.errors import UserError

    with pytest.raises(UserError, match="not available for a regression task"):
        parse_config({"task": declared("regression", task_files), "model": "tiny-random-bert",
                      "reductions": reductions}, "c", tmp_path)
