"""One config in, one record out: train (or reuse), reduce, evaluate, measure."""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from joulebench import on_engine as engines
from joulebench import promises
from joulebench.config.schema import RunConfig, config_hash
from joulebench.engines import DEFAULT_ENGINE
from joulebench.engines.choice import TORCH_ENGINES
from joulebench.env_info import environment
from joulebench.measure import make_energy_meter, pin_threads
from joulebench.measure.cost import (  # noqa: F401  (re-exported: benchmarks and tests import them from here)
    CostMeasurer,
    MeasuredModel,
    call_shape,
    count_parameters,
    online_indices,
    per_question,
    per_question_ratios,
    server_settings,
    server_workload,
    values_digest,
    workload,
)
from joulebench.models.batching import Encoded, EvalBatch, eval_batches
from joulebench.models.checkpoints import CheckpointCache
from joulebench.models.loading import is_random_weights
from joulebench.reductions import ReductionContext, apply_reductions, attach_realised
from joulebench.reductions.calibration import CALIBRATION_FILE, REPORTED, VALIDATION
from joulebench.references import References
from joulebench.results.record import build_record
from joulebench.results.store import ResultStore
from joulebench.tasks.kinds import encoder_for, kind_of
from joulebench.tasks.resolve import report_split, task_of
from joulebench.tasks.slices import pack
from joulebench.tasks.subset import held_out
from joulebench.trained import NOT_TRAINED, TrainedModels
from joulebench.training.log import TrainingLog

log = logging.getLogger("joulebench.runner")

Progress = Callable[[str, int, int], None]


@dataclass
class RunOptions:
    """Where data and checkpoints live, and how to report progress."""

    data_dir: Path | None = None
    cache: CheckpointCache = field(default_factory=CheckpointCache)
    progress: Progress | None = None
    force: bool = False
    #: trust a configuration's own ``task_data`` (rebuilding a record's model from an export, away from its data)
    keep_task_data: bool = False


def resolve_device(device: str) -> str:
    """``measure.device`` -> the torch device to run on: ``auto`` is cuda when available, else cpu.

    Raises:
        UserError: cuda asked for where there is none.
    """
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        from joulebench.errors import UserError

        raise UserError("measure.device: 'cuda' requested but no CUDA device is available")
    return device


def paired_baseline(config: RunConfig) -> RunConfig:
    """The configuration ``config`` is timed against: the same one without reductions (same checkpoint,
    same measurement settings). A configuration without reductions is its own: it is then timed against
    itself (an A/A pair), whose spread is the noise floor of every paired ratio of the sweep. The baseline runs on
    torch eager at fp32 whatever engine the configuration names, so an engine's ratio reads against it too."""
    return dataclasses.replace(config, reductions=(), engine=DEFAULT_ENGINE, name=None)


def calibration_sources(task: Any, data_dir: Path | None, eval_max: int | None) -> dict[str, Any]:
    """What a calibrated reduction may choose on (:mod:`joulebench.reductions.calibration`): the reported split's
    examples (exactly those evaluated), dev, and a declared task's calibration file."""
    split = report_split(task)
    has_split = getattr(task, "has_split", None)
    declared = has_split is not None and has_split("calibration")
    return {REPORTED: lambda: (split, task.load(split, data_dir, eval_max, 0)),
            VALIDATION: lambda: task.load("validation", data_dir, eval_max, 0),
            CALIBRATION_FILE: lambda: (task.declaration.file_of("calibration"), task.load("calibration"))
            if declared else None}


def _write_answers(store: ResultStore, chash: str, answers: dict[str, str]) -> str:
    """Write ``{question id: answer}`` beside the store (atomically); return its path relative to it."""
    import json
    import os

    folder = store.path.parent / "predictions"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{chash}.json"
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(answers, ensure_ascii=False, indent=0))
    os.replace(tmp, path)
    return str(path.relative_to(store.path.parent))


class Runner:
    """Runs configurations; trains each fine-tuned model once and reuses it."""

    def __init__(self, options: RunOptions | None = None) -> None:
        self.options = options or RunOptions()
        self.trained = TrainedModels(self.options, self._report, self._meter_factory)
        # the last paired baseline ("baseline") and dense-on-another-engine model ("engine"), kept loaded
        self.references = References(self)

    def _report(self, what: str, done: int, total: int) -> None:
        if self.options.progress is not None:
            self.options.progress(what, done, total)

    @staticmethod
    def _meter_factory(config: RunConfig, device: str) -> Callable[[], Any]:
        m = config.measure
        return lambda: make_energy_meter(m.energy_meter, device=device, cpu_watts_per_core=m.cpu_watts_per_core,
                                         threads=m.threads)

    # -- training (joulebench.trained: fine-tuned once, cached) ------------------------------------
    def bind(self, config: RunConfig) -> RunConfig:
        """``config`` with the digest of the data this runner reads for it (``task_data``)."""
        return self.trained.bind(config)

    def train_key(self, config: RunConfig) -> str:
        return self.trained.train_key(config)

    def fine_tuned(self, config: RunConfig, device: str) -> tuple[Any, dict]:
        """The fine-tuned model of ``config`` and its record's ``train`` section (:class:`TrainedModels`)."""
        return self.trained.fine_tuned(config, device)

    # -- one configuration ----------------------------------------------------------------------
    def run(self, config: RunConfig, store: ResultStore | None = None,
            on_model: Callable[[MeasuredModel], None] | None = None,
            baseline: RunConfig | None = None) -> dict | None:
        """Run ``config``; append and return its record (None when already stored).

        Args:
            config: the configuration.
            store: where the record is appended (and whose hashes are skipped).
            on_model: called with the reduced model and its evaluation data after the record is
                complete (benchmarks use it to time the model again).
            baseline: a configuration to time ``config`` against in ABBA rounds (usually
                :func:`paired_baseline`); the record then carries ``cost.vs_baseline``.
        """
        config = self.bind(config)
        baseline = None if baseline is None else self.bind(baseline)
        chash = config_hash(config)
        if store is not None and not self.options.force and chash in store.hashes():
            log.info("skipping %s: already in %s", chash, store.path)
            return None
        device = resolve_device(config.measure.device)
        threads = pin_threads(config.measure.threads)
        engines.check(config, not kind_of(task_of(config)).single_output)  # before any training
        (model, tokenizer, task), train_info = self.fine_tuned(config, device)
        model, reductions, ctx, trainings = self.reduce(config, model, tokenizer, task, device)
        data_dir = self.options.data_dir
        torch_model = model.to(device).eval()
        model, engine_facts = self.on_engine(config, torch_model, tokenizer, task, ctx.max_seq_len, device, threads)
        examples, encoded, quality, flops, answers = self.score(model, task, tokenizer, ctx.max_seq_len, config,
                                                                device)
        flops_note = None
        if flops is None and model is not torch_model:  # a graph engine's kernels are invisible to torch's counter
            flops = torch_flops(torch_model, encoded, config.measure.batch_size, tokenizer.pad_token_id)
            flops_note = (f"counted on the torch model handed to {engine_facts['name']} (the same architecture; "
                          "its kernels are invisible to torch's FLOP counter)")
        slicer = getattr(task, "slices", None)
        if slicer is not None:
            quality["slices"] = {name: pack(mask) for name, mask in slicer(examples, data_dir).items()}
        if is_random_weights(config.model):  # a full-size architecture with random weights: cost only
            quality = null_quality(quality, f"model {config.model}: random weights, measured for cost only")
        elif config.train.skip:
            quality = null_quality(quality, NOT_TRAINED)
        attach_realised(model, reductions)  # each dynamic reduction reports to its own entry
        for i, calibration in promises.calibrated(reductions):  # each calibrated promise, checked where reported
            reference = dataclasses.replace(config, reductions=config.reductions[:i], name=None)
            label = "the same configuration without " + reductions[i]["name"] + \
                (" (the reductions before it kept)" if i else " (the dense model)")
            reductions[i]["details"]["promise"] = promises.check(quality, self.references.quality(reference, device),
                                                                  calibration, label)
        measured = MeasuredModel(model, encoded, config, tokenizer.pad_token_id, device, threads)
        if baseline is not None and config_hash(baseline) != chash:
            engine = engine_facts["name"]
            engine_dense = (self.references.measured(engines.dense_on_engine(baseline, engine), device, threads,
                                                     "engine")
                            if engine != baseline.engine and config.reductions else None)
            cost = self.measure_cost_paired(measured, self.references.baseline(baseline, device, threads), engine_dense,
                                            engine)
        elif baseline is not None:  # its own baseline: an A/A pair, the sweep's noise floor
            cost = self.measure_cost_paired(measured, measured)
            cost["vs_baseline"]["aa"] = True
            cost["vs_baseline_note"] = ("this configuration is its own baseline: timed against itself in the same "
                                        "rounds (A/A), so its ratios show the noise floor of paired ratios")
        else:
            cost = self.measure_cost(model, encoded, config, tokenizer.pad_token_id, device, threads)
        cost["flops_per_example"] = flops
        if flops_note is not None:
            cost["flops_note"] = flops_note
        cost["param_count"] = count_parameters(model)
        for i, _ in promises.calibrated(reductions):
            reductions[i]["details"]["promise"].update(promises.savings(cost))
        if answers is not None:  # several windows per question: the cost of answering one
            cost["per_question"] = per_question(cost, len(encoded), len(examples))
        base_energy = (train_info.get("cost") or {}).get("energy_j")
        one_off = engine_facts.get("one_off") or {}
        train_info.update(
            retraining=trainings.entries,
            one_off=engine_facts.get("one_off"),
            total_steps=None if train_info.get("steps") is None else int(train_info["steps"]) + trainings.steps,
            total_energy_j=None if base_energy is None or trainings.energy_j is None
            else base_energy + trainings.energy_j + (one_off.get("energy_j") or 0.0),
        )
        record = build_record(config, chash, reductions, quality, cost, train_info, environment(threads, device),
                              engine_facts, task_kind=kind_of(task).name)
        if answers is not None:
            quality["predictions_file"] = None if store is None else _write_answers(store, chash, answers)
        if store is not None:
            store.append(record)
        if on_model is not None:
            on_model(measured)
        return record

    def reduce(self, config: RunConfig, model: nn.Module, tokenizer: Any, task: Any,
               device: str) -> tuple[nn.Module, list[dict], ReductionContext, TrainingLog]:
        """Apply ``config``'s reductions to its fine-tuned ``model`` (trainings inside reductions come from the
        cache when they ran before): the model a record measured, and what each reduction realised."""
        data_dir = self.options.data_dir
        trainings = TrainingLog(self._meter_factory(config, device), device)
        ctx = ReductionContext(
            task=task, tokenizer=tokenizer, max_seq_len=config.max_seq_len, device=device,
            seed=config.train.seed,
            train_examples=lambda: task.load("train", data_dir, config.train.max_train_examples, config.train.seed),
            calibration_examples=lambda n: held_out(task.load("train", data_dir), config.train.max_train_examples,
                                                    config.train.seed, n),
            regime=config.regime, trainings=trainings,
            extra={**calibration_sources(task, data_dir, config.measure.eval_max_examples),
                   "data_dir": data_dir,  # the pre-trained model this run started from, a fresh head from its seed
                   "load_pretrained": lambda: kind_of(task).load_pretrained(
                       config.model, task, config.train.seed, config.classifier_pooling).model,
                   # the measured calls' (batch, tokens), for the backend probe (at the length the chain has reached)
                   "call_shape": functools.cache(lambda max_seq_len: call_shape(kind_of(task).encode(
                       tokenizer, task.load(report_split(task), data_dir, config.measure.eval_max_examples, 0),
                       max_seq_len, config), config.measure))},
        )
        ctx.precision_by = None if config.engine in TORCH_ENGINES else config.engine
        ctx.cached_training = self.trained.cached_training(config, ctx, trainings)
        ctx.encode = encoder_for(task, tokenizer, config)
        ctx.fine_tune = self.trained.reduction_trainer(config, tokenizer, device, ctx)
        model, reductions = apply_reductions(model, config.reductions, ctx)
        return model, reductions, ctx, trainings

    def on_engine(self, config: RunConfig, model: nn.Module, tokenizer: Any, task: Any, max_seq_len: int,
                  device: str, threads: int) -> tuple[nn.Module, dict]:
        """``model`` (reductions applied) on the configuration's engine, the one-off cost metered
        (:mod:`joulebench.on_engine`): the model to evaluate and time, and the record's ``engine_run`` facts."""
        examples = task.load(report_split(task), self.options.data_dir, config.measure.eval_max_examples, 0)
        ctx = engines.engine_context(config, task, tokenizer, max_seq_len,
                                     kind_of(task).encode(tokenizer, examples, max_seq_len, config), device, threads,
                                     self.options.data_dir)
        meter = self._meter_factory(config, device)
        prepared = (engines.choose_auto(config, model, ctx, meter) if config.engine == engines.AUTO
                    else engines.on_engine(config, model, ctx, meter))
        return prepared.model, prepared.facts

    def built(self, config: RunConfig, device: str) -> tuple[nn.Module, Any, Any, int]:
        """``config``'s fine-tuned model with its reductions applied, ready to run: (model, tokenizer, task, the
        length its inputs are cut to)."""
        (model, tokenizer, task), _ = self.fine_tuned(config, device)
        max_seq_len = config.max_seq_len
        if config.reductions:
            model, _, ctx, _ = self.reduce(config, model, tokenizer, task, device)
            max_seq_len = ctx.max_seq_len
        model = model.to(device).eval()
        if not engines.is_default(config):
            model, _ = self.on_engine(config, model, tokenizer, task, max_seq_len, device, torch.get_num_threads())
        return model, tokenizer, task, max_seq_len

    def score(self, model: nn.Module, task: Any, tokenizer: Any, max_seq_len: int, config: RunConfig,
              device: str) -> tuple[list, list, dict, float | None, dict | None]:
        """The examples of the reported split (:func:`report_split`), encoded, and the model's quality on them
        (with ``split``), FLOPs per example and answers (question answering). Where the reported split is a
        declared ``test``, the same scores on ``validation`` travel in ``quality.selection``: choices (budgets'
        picks) are made there, never on the split that is reported."""
        split = report_split(task)
        examples = task.load(split, self.options.data_dir, config.measure.eval_max_examples, 0)
        encoded = kind_of(task).encode(tokenizer, examples, max_seq_len, config)
        quality, flops, answers = self.evaluate(model, task, examples, encoded, config, tokenizer.pad_token_id, device)
        quality.update(split=split, primary_metric=task.primary_metric)
        if split != "validation":
            chosen_on = task.load("validation", self.options.data_dir, config.measure.eval_max_examples, 0)
            selection, _, _ = self.evaluate(model, task, chosen_on, kind_of(task).encode(
                tokenizer, chosen_on, max_seq_len, config), config, tokenizer.pad_token_id, device)
            quality["selection"] = {**selection, "split": "validation", "primary_metric": task.primary_metric}
        return examples, encoded, quality, flops, answers

    def evaluate(self, model: nn.Module, task: Any, examples: list, encoded: list, config: RunConfig, pad_id: int,
                 device: str) -> tuple[dict, float | None, dict | None]:
        """Quality over the evaluation split (the task kind predicts and scores), FLOPs per encoded
        example, and the answers to write beside the record (question answering) or None."""
        batches = [EvalBatch({k: v.to(device) for k, v in b.inputs.items()}, b.indices) if device != "cpu" else b
                   for b in eval_batches(encoded, config.measure.batch_size, pad_id)]
        return kind_of(task).evaluate(model, task, examples, encoded, batches,
                                      lambda done, total: self._report("evaluate", done, total))

    def measure_cost(self, model: nn.Module, encoded: list[Encoded], config: RunConfig, pad_id: int,
                     device: str, threads: int) -> dict:
        """Cost of ``model`` alone (:meth:`joulebench.measure.cost.CostMeasurer.alone`)."""
        return CostMeasurer(self._meter_factory).alone(model, encoded, config, pad_id, device, threads)

    def measure_cost_paired(self, target: MeasuredModel, baseline: MeasuredModel,
                            engine_dense: MeasuredModel | None = None, engine: str | None = None) -> dict:
        """Cost of ``target`` in balanced rounds with ``baseline`` (and the dense model on the target's engine,
        where it runs on another one: :meth:`joulebench.measure.cost.CostMeasurer.paired`)."""
        return CostMeasurer(self._meter_factory).paired(target, baseline, engine_dense, engine)


def torch_flops(model: nn.Module, encoded: list, batch_size: int, pad_id: int) -> float | None:
    """FLOPs per example of ``model`` over ``encoded`` as torch counts them (None where it counts nothing)."""
    from joulebench.measure import counted_forward

    total, count = 0.0, 0
    with torch.inference_mode():
        for batch in eval_batches(encoded, batch_size, pad_id):
            _, flops = counted_forward(model, batch.inputs)
            if flops is None:
                return None
            total, count = total + flops, count + len(batch.indices)
    return total / count if count else None


def null_quality(quality: dict, reason: str) -> dict:
    """``quality`` with every figure ``None`` and the reason: what the analysis must not rank by."""
    kept = {k: quality[k] for k in ("split", "examples_sha256", "n_windows") if k in quality}
    nulled = {k: None for k, v in quality.items() if k not in kept and not isinstance(v, (dict, list, str))}
    return {**kept, **nulled, "null_reason": reason}
