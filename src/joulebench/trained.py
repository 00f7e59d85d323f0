"""Where a run's weights come from: the base fine-tuning and the trainings inside reductions, each run once
and kept in the checkpoint cache under the identity of what produced it; ``train: none`` skips them."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from joulebench.config.schema import RunConfig, reductions_identity, stable_hash
from joulebench.measure.cost import values_digest
from joulebench.measure.metered import Metered
from joulebench.models.checkpoints import CorruptCheckpoint
from joulebench.reductions import ReductionContext
from joulebench.tasks.kinds import kind_of
from joulebench.tasks.resolve import bind_data, task_of
from joulebench.training.log import TrainingLog
from joulebench.training.regimes import trainable_names
from joulebench.training.trainer import fine_tune

log = logging.getLogger("joulebench.runner")

#: the record's note where ``train: none`` skipped every training.
NOT_TRAINED = ("train: none: not fine-tuned (no training at all, reductions' re-training included); "
               "measured for cost only")


class TrainedModels:
    """Fine-tunes each configuration's model once and reuses it; runs the trainings inside reductions the same
    way.

    Args:
        options: the runner's ``RunOptions`` (data folder, checkpoint cache, keep_task_data).
        report: progress callback ``(what, done, total)``.
        meter_factory: ``(config, device) -> () -> EnergyMeter`` for the training windows.
    """

    def __init__(self, options: Any, report: Callable[[str, int, int], None],
                 meter_factory: Callable[[RunConfig, str], Callable[[], Any]]) -> None:
        self.options = options
        self._report = report
        self._meter_factory = meter_factory

    def bind(self, config: RunConfig) -> RunConfig:
        """``config`` with the digest of the data these options read for it (``task_data``)."""
        if self.options.keep_task_data and config.task_data is not None:
            return config
        return bind_data(config, self.options.data_dir)

    def train_key(self, config: RunConfig) -> str:
        """The checkpoint identity of ``config``'s base fine-tuning."""
        return stable_hash(self.bind(config).training_dict())

    def fine_tuned(self, config: RunConfig, device: str) -> tuple[Any, dict]:
        """The fine-tuned classifier for ``config`` (from the cache when available).

        The record's ``train`` section says what produced the weights and what that training
        cost (time, energy, peak memory), also when the checkpoint is reused: the cost is read
        from the checkpoint's provenance. With ``train: none`` the pre-trained model (and a fresh head) is
        returned untrained and the section says so.
        """
        config = self.bind(config)
        task = task_of(config)
        kind = kind_of(task)
        loaded = kind.load_model(config, task)
        model, tokenizer = loaded.model, loaded.tokenizer
        key = self.train_key(config)
        cache = self.options.cache
        if config.train.skip:
            info: dict[str, Any] = {"checkpoint": None, "reused": False, "steps": 0, "train_time_s": None,
                                    "cost": None, "skipped": True, "cost_note": NOT_TRAINED}
        else:
            if cache.has(key) and not self.load_cached(key, model):
                # a corrupt entry was removed: start again from the pre-trained weights
                model = kind.load_model(config, task).model
            info = self._reused(config, key) if cache.has(key) else self._train(config, model, tokenizer, task, key,
                                                                                 device)
        info.update(train_examples=config.train.max_train_examples, epochs=config.train.epochs,
                    classifier_pooling=loaded.pooling, classifier_pooling_source=loaded.pooling_source)
        model.eval()
        return (model, tokenizer, task), info

    def _reused(self, config: RunConfig, key: str) -> dict[str, Any]:
        provenance = self.options.cache.provenance(key)
        info = {"checkpoint": key, "reused": True, "steps": provenance.get("steps"),
                "train_time_s": (provenance.get("cost") or {}).get("time_s"), "cost": provenance.get("cost")}
        if info["cost"] is None:
            info["cost_note"] = "checkpoint saved before training cost was recorded"
        self._report(f"train {config.task}/{config.regime}: reused from the cache", 1, 1)
        return info

    def _train(self, config: RunConfig, model: nn.Module, tokenizer: Any, task: Any, key: str,
               device: str) -> dict[str, Any]:
        kind = kind_of(task)
        examples = task.load("train", self.options.data_dir, config.train.max_train_examples, config.train.seed)
        encoded = kind.encode(tokenizer, examples, config.max_seq_len, config)
        names = trainable_names(model, config.regime, config.train.top_k_layers)
        with Metered(self._meter_factory(config, device)(), device) as metered:
            result = fine_tune(
                model, encoded, config.train, tokenizer.pad_token_id, trainable=names, device=device,
                progress=lambda s, t, loss: self._report(f"train {config.task}/{config.regime}", s, t),
            )
        model.to("cpu")
        self.options.cache.save(key, model, {"training": config.training_dict(), "steps": result.steps,
                                             "cost": metered.cost})
        return {"checkpoint": key, "reused": False, "steps": result.steps,
                "train_time_s": round(result.train_time_s, 3), "final_loss": result.final_loss,
                "cost": metered.cost}

    def load_cached(self, key: str, model: nn.Module) -> bool:
        """Load checkpoint ``key`` into ``model``; a corrupt entry is reported, removed, and False returned
        (it is then trained again, never silently used)."""
        try:
            self.options.cache.load_into(key, model)
            return True
        except CorruptCheckpoint as exc:
            log.warning("checkpoint cache entry %s is corrupt (%s): removing it and training again", key, exc)
            self.options.cache.remove(key)
            return False

    def cached_training(self, config: RunConfig, ctx: ReductionContext,
                        trainings: TrainingLog) -> Callable[..., bool]:
        """Train once, evaluate many: a training inside a reduction is keyed by what produced its
        weights (the base checkpoint, the reductions so far with their parameters and masks by
        content, what is trained, and the facts given) and cached like the base checkpoint; with
        ``train: none`` it is skipped and logged as such."""
        cache = self.options.cache

        def run(what: str, module: nn.Module, train: Callable[[], dict], **facts: Any) -> bool:
            if config.train.skip:
                trainings.skipped(what, NOT_TRAINED, **facts)
                return False
            key = stable_hash({"base": self.train_key(config), "chain": reductions_identity(ctx.chain),
                               "what": what, "facts": facts})
            if cache.has(key) and self.load_cached(key, module):
                trainings.reused(what, key, cache.provenance(key), **facts)
                log.info("%s: reused trained weights %s from the cache", what, key)
                self._report(f"{what}: reused from the cache", 1, 1)
                return True
            with trainings.window(what, **facts) as entry:
                entry.update(train())
            entry["checkpoint"] = key
            cache.save_module(key, module, {"what": what, "facts": facts, "steps": entry.get("steps"),
                                            "cost": entry["cost"], "training": config.training_dict(),
                                            "chain": reductions_identity(ctx.chain)})
            return False

        return run

    def reduction_trainer(self, config: RunConfig, tokenizer: Any, device: str,
                          ctx: ReductionContext) -> Callable[..., bool]:
        """``ctx.fine_tune`` of a reduction: trains a model in place with the run's settings and regime."""
        def train(model: nn.Module, examples: list | None = None, trainable: Callable[[str], bool] | None = None,
                  epochs: float | None = None, after_step: Callable[[nn.Module], None] | None = None,
                  what: str = "re-train", loss_fn: Callable[[nn.Module, dict], torch.Tensor] | None = None
                  ) -> bool:
            task = task_of(config)
            given = examples is not None
            if examples is None:
                examples = task.load("train", self.options.data_dir, config.train.max_train_examples, config.train.seed)
            encoded = kind_of(task).encode(tokenizer, examples, config.max_seq_len, config)
            by_regime = set(trainable_names(model, config.regime, config.train.top_k_layers))
            names = [n for n, _ in model.named_parameters() if n in by_regime and (trainable is None or trainable(n))]

            def run() -> dict:
                result = fine_tune(model, encoded, config.train, tokenizer.pad_token_id, trainable=names,
                                   device=device, epochs=epochs, after_step=after_step, loss_fn=loss_fn,
                                   progress=lambda s, t, loss: self._report(what, s, t))
                return {"steps": result.steps, "final_loss": result.final_loss}

            facts = {"examples": len(encoded), "regime": config.regime,
                     "epochs": config.train.epochs if epochs is None else epochs,
                     "trained_parameters": values_digest(names)}
            if given:  # examples other than the run's training set: their content counts
                facts["examples_sha256"] = stable_hash([(e.text_a, e.text_b, e.label) if hasattr(e, "text_a")
                                                        else dataclasses.astuple(e) for e in examples])
            assert ctx.cached_training is not None  # set by reduce() before any reduction runs
            return ctx.cached_training(what, model, run, **facts)
        return train
