"""One config in, one record out: train (or reuse), reduce, evaluate, measure."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from joulebench.config.schema import RunConfig, config_hash, stable_hash
from joulebench.env_info import environment
from joulebench.measure import (
    PeakMemory,
    counted_forward,
    make_energy_meter,
    measure_calls,
    pin_threads,
    summarize_latency,
)
from joulebench.models.batching import Encoded, EvalBatch, encode, eval_batches
from joulebench.models.checkpoints import CheckpointCache
from joulebench.models.loading import load_classifier
from joulebench.reductions import ReductionContext, apply_reductions, attach_realised
from joulebench.results.schema import SCHEMA_VERSION
from joulebench.results.store import ResultStore
from joulebench.tasks import get_task
from joulebench.training.regimes import trainable_names
from joulebench.training.trainer import fine_tune

log = logging.getLogger("joulebench.runner")

Progress = Callable[[str, int, int], None]


@dataclass
class RunOptions:
    """Where data and checkpoints live, and how to report progress."""

    data_dir: Path | None = None
    cache: CheckpointCache = field(default_factory=CheckpointCache)
    progress: Progress | None = None
    force: bool = False


def _resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        from joulebench.errors import UserError

        raise UserError("measure.device: 'cuda' requested but no CUDA device is available")
    return device


def _logits(output: Any) -> torch.Tensor:
    return output if isinstance(output, torch.Tensor) else output.logits


def _forward(model: nn.Module, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    return _logits(model(**inputs))


def _to(batches: list[EvalBatch], device: str) -> list[EvalBatch]:
    if device == "cpu":
        return batches
    return [EvalBatch({k: v.to(device) for k, v in b.inputs.items()}, b.indices) for b in batches]


@dataclass(frozen=True)
class MeasuredModel:
    """A model as the runner measured it: the arguments :meth:`Runner.measure_cost` takes."""

    model: nn.Module
    encoded: list[Encoded]
    config: RunConfig
    pad_id: int
    device: str
    threads: int


class Runner:
    """Runs configurations; trains each fine-tuned model once and reuses it."""

    def __init__(self, options: RunOptions | None = None) -> None:
        self.options = options or RunOptions()

    def _report(self, what: str, done: int, total: int) -> None:
        if self.options.progress is not None:
            self.options.progress(what, done, total)

    # -- training -----------------------------------------------------------------------------
    def train_key(self, config: RunConfig) -> str:
        return stable_hash(config.training_dict())

    def fine_tuned(self, config: RunConfig, device: str) -> tuple[Any, dict]:
        """The fine-tuned classifier for ``config`` (from the cache when available)."""
        task = get_task(config.task)
        loaded = load_classifier(config.model, task.num_labels, seed=config.train.seed)
        model, tokenizer = loaded.model, loaded.tokenizer
        key = self.train_key(config)
        cache = self.options.cache
        if cache.has(key):
            cache.load_into(key, model)
            info = {"checkpoint": key, "reused": True, "train_time_s": None}
        else:
            examples = task.load("train", self.options.data_dir, config.train.max_train_examples, config.train.seed)
            encoded = encode(tokenizer, examples, config.max_seq_len)
            names = trainable_names(model, config.regime, config.train.top_k_layers)
            result = fine_tune(
                model, encoded, config.train, tokenizer.pad_token_id, trainable=names, device=device,
                progress=lambda s, t, loss: self._report(f"train {config.task}/{config.regime}", s, t),
            )
            model.to("cpu")
            cache.save(key, model, {"training": config.training_dict(), "steps": result.steps})
            info = {"checkpoint": key, "reused": False, "train_time_s": round(result.train_time_s, 3),
                    "final_loss": result.final_loss}
        info.update(train_examples=config.train.max_train_examples, epochs=config.train.epochs)
        model.eval()
        return (model, tokenizer, task), info

    # -- one configuration ----------------------------------------------------------------------
    def run(self, config: RunConfig, store: ResultStore | None = None,
            on_model: Callable[[MeasuredModel], None] | None = None) -> dict | None:
        """Run ``config``; append and return its record (None when already stored).

        ``on_model``, if given, is called with the reduced model and its evaluation data after the
        record is complete (benchmarks use it to time the model again, side by side with another).
        """
        chash = config_hash(config)
        if store is not None and not self.options.force and chash in store.hashes():
            log.info("skipping %s: already in %s", chash, store.path)
            return None
        device = _resolve_device(config.measure.device)
        threads = pin_threads(config.measure.threads)
        (model, tokenizer, task), train_info = self.fine_tuned(config, device)
        data_dir = self.options.data_dir
        ctx = ReductionContext(
            task=task, tokenizer=tokenizer, max_seq_len=config.max_seq_len, device=device,
            seed=config.train.seed,
            train_examples=lambda: task.load("train", data_dir, config.train.max_train_examples, config.train.seed),
            fine_tune=self._reduction_trainer(config, tokenizer, device),
        )
        model, reductions = apply_reductions(model, config.reductions, ctx)
        model.to(device).eval()
        examples = task.load("validation", data_dir, config.measure.eval_max_examples, 0)
        encoded = encode(tokenizer, examples, ctx.max_seq_len)
        quality, flops = self._evaluate(model, task, encoded, config, tokenizer.pad_token_id, device)
        attach_realised(model, reductions)  # each dynamic reduction reports to its own entry
        cost = self.measure_cost(model, encoded, config, tokenizer.pad_token_id, device, threads)
        cost["flops_per_example"] = flops
        cost["param_count"] = sum(p.numel() for p in model.parameters())
        record = {
            "schema_version": SCHEMA_VERSION,
            "config_hash": chash,
            "name": config.name,
            "config": config.to_dict(),
            "task": config.task,
            "model": config.model,
            "regime": config.regime,
            "reductions": reductions,
            "scenario": config.measure.scenario,
            "quality": quality,
            "cost": cost,
            "train": train_info,
            "env": environment(threads, device),
        }
        if store is not None:
            store.append(record)
        if on_model is not None:
            on_model(MeasuredModel(model, encoded, config, tokenizer.pad_token_id, device, threads))
        return record

    def _reduction_trainer(self, config: RunConfig, tokenizer: Any, device: str) -> Callable[..., None]:
        def train(model: nn.Module, examples: list | None = None, trainable: Callable[[str], bool] | None = None,
                  epochs: float | None = None, after_step: Callable[[nn.Module], None] | None = None) -> None:
            task = get_task(config.task)
            if examples is None:
                examples = task.load("train", self.options.data_dir, config.train.max_train_examples, config.train.seed)
            encoded = encode(tokenizer, examples, config.max_seq_len)
            names = [n for n, _ in model.named_parameters() if trainable is None or trainable(n)]
            fine_tune(model, encoded, config.train, tokenizer.pad_token_id, trainable=names, device=device,
                      epochs=epochs, after_step=after_step,
                      progress=lambda s, t, loss: self._report("re-train", s, t))
        return train

    @torch.inference_mode()
    def _evaluate(self, model: nn.Module, task: Any, encoded: list[Encoded], config: RunConfig, pad_id: int,
                  device: str) -> tuple[dict, float | None]:
        batches = _to(eval_batches(encoded, config.measure.batch_size, pad_id), device)
        predictions = [0] * len(encoded)
        flops_total: float | None = 0.0
        for i, batch in enumerate(batches):
            if flops_total is not None:  # one forward pass gives both the predictions and the FLOPs
                output, counted = counted_forward(model, batch.inputs)
                logits = _logits(output)
                flops_total = None if counted is None else flops_total + counted
            else:
                logits = _forward(model, batch.inputs)
            for idx, pred in zip(batch.indices, logits.argmax(-1).tolist(), strict=True):
                predictions[idx] = pred
            self._report("evaluate", i + 1, len(batches))
        quality = task.score(predictions, [e.label for e in encoded])
        quality["split"] = "validation"
        flops = None if flops_total is None else flops_total / len(encoded)
        return quality, flops

    @torch.inference_mode()
    def measure_cost(self, model: nn.Module, encoded: list[Encoded], config: RunConfig, pad_id: int,
                      device: str, threads: int) -> dict:
        m = config.measure
        if m.scenario == "online":
            batches = _to(eval_batches(encoded[: m.online_examples], 1, pad_id), device)
        else:
            batches = _to(eval_batches(encoded, m.batch_size, pad_id), device)
        calls = [lambda b=b: _forward(model, b.inputs) for b in batches]
        sizes = [b.size for b in batches]
        meter = make_energy_meter(m.energy_meter, device=device, cpu_watts_per_core=m.cpu_watts_per_core)
        sync = torch.cuda.synchronize if device == "cuda" else None
        with PeakMemory(device=device) as memory:
            timing = measure_calls(
                calls, sizes, warmup_calls=m.warmup_calls,
                # offline covers the whole split at least once
                min_calls=max(m.min_calls, len(calls)) if m.scenario == "offline" else m.min_calls,
                min_duration_s=m.min_duration_s, max_duration_s=m.max_duration_s, meter=meter, sync=sync,
            )
        energy = timing.energy
        per_example = timing.per_example_ms()
        cost = {
            "energy_j_per_example": None if energy.energy_j is None else energy.energy_j / timing.n_examples,
            "energy_j_total": energy.energy_j,
            "energy_method": energy.method,
            "energy_note": energy.note,
            **summarize_latency(per_example),
            "latency_samples_ms": [round(x, 4) for x in per_example],
            "throughput_eps": timing.throughput_eps(),
            "peak_mem_mb": memory.peak_mb,
            "peak_mem_method": memory.method,
            "batch_size": 1 if m.scenario == "online" else m.batch_size,
            "n_timed_examples": timing.n_examples,
            "duration_s": timing.duration_s,
            "threads": threads,
            "device": device,
        }
        return cost
