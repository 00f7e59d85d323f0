"""The model a record measured, rebuilt: its fine-tuned checkpoint and every reduction's trained weights come
from the checkpoint cache (trained again where missing, deterministically from the same seeds), and the
cache entries it read are named, so that an export can carry them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joulebench.config.schema import RunConfig
from joulebench.models.checkpoints import CheckpointCache


class RecordingCache(CheckpointCache):
    """A checkpoint cache that remembers every entry asked for (the entries a configuration needs)."""

    def __init__(self, root: str | Path | None = None) -> None:
        super().__init__(root)
        self.used: list[str] = []

    def has(self, key: str) -> bool:
        found = super().has(key)
        if key not in self.used:
            self.used.append(key)
        return found


@dataclass
class Rebuilt:
    """A record's model as it measured it, and what produced it."""

    model: Any  # a transformers model, or a joulebench wrapper around one
    tokenizer: Any
    task: Any
    config: RunConfig
    max_seq_len: int
    reductions: list[dict]
    cache: RecordingCache
    data_dir: Path | None = None


def rebuild(config: RunConfig, data_dir: Path | None, cache_root: str | Path | None = None,
            keep_task_data: bool = False) -> Rebuilt:
    """Fine-tune (or reuse) and reduce ``config`` on the CPU, as the runner did for its record.

    Args:
        keep_task_data: trust ``config.task_data`` (the record's) instead of digesting the data again: an
            exported folder is rebuilt away from the data it was trained on.
    """
    from joulebench.runner import Runner, RunOptions

    cache = RecordingCache(cache_root)
    runner = Runner(RunOptions(data_dir=data_dir, cache=cache, keep_task_data=keep_task_data))
    config = runner.bind(config)
    (model, tokenizer, task), _ = runner.fine_tuned(config, "cpu")
    model, reductions, ctx, _ = runner.reduce(config, model, tokenizer, task, "cpu")
    model.to("cpu").eval()
    if config.engine != "torch":  # the record's model as its engine ran it (an ONNX graph, an OpenVINO model)
        import torch

        model, _ = runner.on_engine(config, model, tokenizer, task, ctx.max_seq_len, "cpu", torch.get_num_threads())
    return Rebuilt(model, tokenizer, task, config, ctx.max_seq_len, reductions, cache, data_dir)


def evaluation_examples(rebuilt: Rebuilt, data_dir: Path | None) -> list:
    """The examples the record was scored on (its split, cap and order)."""
    return rebuilt.task.load("validation", data_dir, rebuilt.config.measure.eval_max_examples, 0)
