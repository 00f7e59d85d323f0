"""Every reduction on every encoder family, run as a user runs it: a tiny random-init model of each
family saved with ``save_pretrained`` (and the packaged tokenizer), SST-2 fixture, 64 training
sentences, one reduction per run through the Runner. Each cell must produce a record."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoConfig, AutoModel, AutoTokenizer

from joulebench.configuration import parse_config
from joulebench.models.checkpoints import CheckpointCache
from joulebench.models.loading import TINY_CONFIGS, _packaged_minilm
from joulebench.runner import Runner, RunOptions

FAMILIES = list(TINY_CONFIGS)

#: (label, extra top-level keys, reductions): the columns of the issue's matrix, and a few more.
CELLS = [
    ("baseline", {}, []),
    ("layer_drop", {}, [{"name": "layer_drop", "keep_layers": 1}]),
    ("layer_drop+retrain", {}, [{"name": "layer_drop", "keep_layers": 1, "retrain": True, "retrain_epochs": 0.5}]),
    ("early_exit", {}, [{"name": "early_exit", "threshold": 0.5, "exit_epochs": 0.5}]),
    ("early_exit mean", {}, [{"name": "early_exit", "threshold": 0.5, "exit_epochs": 0.5, "exit_pooling": "mean"}]),
    ("token_prune", {}, [{"name": "token_prune", "keep_ratio": 0.5, "after_layers": [1]}]),
    ("int8 torch_ao", {}, [{"name": "quantize", "dtype": "int8", "backend": "torch_ao"}]),
    ("int8 onnxruntime", {}, [{"name": "quantize", "dtype": "int8", "backend": "onnxruntime"}]),
    ("bf16", {}, [{"name": "quantize", "dtype": "bf16"}]),
    ("runtime ort", {}, [{"name": "runtime", "engine": "onnxruntime"}]),
    ("structured", {}, [{"name": "structured_prune", "heads_frac": 0.5, "ffn_frac": 0.5, "score_examples": 32}]),
    ("distill", {}, [{"name": "distill", "keep_layers": 1, "layer_init": "bottom", "epochs": 0.5}]),
    ("pooling mean", {"classifier_pooling": "mean"}, []),
    ("seq_len", {}, [{"name": "seq_len", "max_seq_len": 16}]),
    ("prune then exit", {}, [{"name": "token_prune", "keep_ratio": 0.5, "after_layers": [1]},
                             {"name": "early_exit", "threshold": 0.5, "exit_epochs": 0.5}]),
]


@pytest.fixture(scope="module")
def family_dirs(tmp_path_factory) -> dict[str, Path]:
    """A saved tiny model folder per family, as a user's checkpoint would be."""
    root = tmp_path_factory.mktemp("families")
    tokenizer = AutoTokenizer.from_pretrained(_packaged_minilm())
    folders = {}
    for model_type, sizes in TINY_CONFIGS.items():
        config = AutoConfig.for_model(model_type, **{"vocab_size": 30522, "max_position_embeddings": 512, **sizes})
        folder = root / model_type
        AutoModel.from_config(config).save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        folders[model_type] = folder
    return folders


def _half_mask(folder: Path, path: Path) -> Path:
    """A 50%-sparse ticket mask (random) over the model's prunable weights."""
    import torch

    from joulebench.models.loading import load_classifier
    from joulebench.reductions.lottery.masks import TicketMask, dense_mask, save_mask

    dense = dense_mask(load_classifier(str(folder), 2).model)
    generator = torch.Generator().manual_seed(0)
    masks = {k: torch.rand(m.shape, generator=generator) < 0.5 for k, m in dense.masks.items()}
    return save_mask(TicketMask(masks, {"model": str(folder)}, targets=dense.targets), path)


@pytest.mark.parametrize("family", FAMILIES)
def test_every_reduction_runs_on_every_family(family, family_dirs, fixture_data_dir, tmp_path):
    runner = Runner(RunOptions(data_dir=fixture_data_dir, cache=CheckpointCache(tmp_path / "cache")))
    failures = []
    mask_path = _half_mask(family_dirs[family], tmp_path / "ticket.safetensors")
    ticket = {"name": "ticket", "mask": str(mask_path), "init": "pretrained", "pretrained": str(family_dirs[family])}
    cells = CELLS + [("ticket", {}, [ticket]), ("ticket csr", {}, [{**ticket, "execution": "sparse_csr"}])]
    for label, extra, reductions in cells:
        (config,) = parse_config({
            "task": "sst2", "model": str(family_dirs[family]), "max_seq_len": 32, **extra,
            "reductions": reductions,
            "train": {"batch_size": 16, "max_train_examples": 64, "epochs": 1},
            "measure": {"batch_size": 16, "repeats": 1, "warmup_calls": 0, "eval_max_examples": 32},
        })
        try:
            record = runner.run(config)
        except Exception as exc:  # collect every failing cell, then report them together
            failures.append(f"{label}: {type(exc).__name__}: {str(exc)[:200]}")
            continue
        assert record["quality"]["accuracy"] is not None, label
        assert record["cost"]["param_count"] > 0, label
        if label.startswith("layer_drop"):
            assert record["reductions"][0]["details"]["layers_kept"] == 1
    assert not failures, f"{family}: " + " | ".join(failures)
