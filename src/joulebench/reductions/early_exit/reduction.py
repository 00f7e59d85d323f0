"""The ``early_exit`` reduction: attach, train and calibrate exits, wrap the model."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from joulebench.errors import UserError
from joulebench.models.batching import collate, encode
from joulebench.reductions.base import ReductionContext, register_reduction
from joulebench.reductions.calibration import Routing, check_size, crossfit, fingerprint, resolve
from joulebench.reductions.early_exit.calibrate import calibrate_threshold, layer_entropies_and_predictions
from joulebench.reductions.early_exit.config import EXIT_BATCH_SIZE, EarlyExitConfig, HFModule
from joulebench.reductions.early_exit.heads import _build_heads, epochs_of_batches, train_exit_heads
from joulebench.reductions.early_exit.model import EarlyExitBert
from joulebench.reductions.encoder import Layerwise, as_layerwise


def _plain_model(backbone: Any) -> nn.Module:
    while not hasattr(backbone, "model"):
        backbone = backbone.backbone
    return backbone.model


@register_reduction("early_exit", help="DeeBERT: an exit after every layer; leave when entropy < threshold")
class EarlyExit:
    """Let confident examples leave before the last layer."""

    config_cls: ClassVar[type] = EarlyExitConfig

    @staticmethod
    def check_chain(cfg: EarlyExitConfig, before: Sequence[str], device: str | None) -> None:
        """One set of exits per model."""
        if "early_exit" in before:
            raise ValueError("early_exit is listed twice")
        if "exported_graph" in before:
            raise ValueError("early_exit must come before an exported onnxruntime graph "
                             "(quantize with backend onnxruntime, runtime)")
        if "16bit" in before:
            raise ValueError("early_exit must come before a 16-bit quantize (its exit heads train in fp32 on the "
                             "backbone; quantize after them and they are cast too)")

    def apply(self, model: HFModule, cfg: EarlyExitConfig, ctx: ReductionContext) -> tuple[nn.Module, dict]:
        """Attach exit heads, train them on the task's training examples, wrap the model."""
        if ctx.train_examples is None:
            raise UserError("early_exit needs training examples for its exit heads (run it through the Runner)")
        backbone = as_layerwise(model)
        if backbone.num_layers < 2:
            raise UserError(f"early_exit needs at least 2 encoder layers to exit before the last; this model has "
                            f"{backbone.num_layers} (after the reductions before it)")
        backbone.eval()
        plain = _plain_model(backbone)
        heads = _build_heads(plain, backbone.num_layers - 1, cfg.exit_pooling)
        encoded = encode(ctx.tokenizer, ctx.train_examples(), ctx.max_seq_len)
        if not encoded:
            raise UserError("early_exit: no training examples to train the exit heads on")
        steps = max(1, math.ceil(math.ceil(len(encoded) / EXIT_BATCH_SIZE) * cfg.exit_epochs))
        backbone.to(ctx.device)
        torch.manual_seed(ctx.seed)  # head dropout
        batches = epochs_of_batches(encoded, ctx.tokenizer.pad_token_id, ctx.seed)
        trained: dict = {}

        def train() -> dict:
            trained["loss"] = train_exit_heads(backbone, heads, batches, steps, cfg.exit_lr, ctx.device)
            return {"steps": steps, "final_loss": trained["loss"]}

        if ctx.cached_training is not None:  # train once: the same heads on the same backbone come from the cache
            reused = ctx.cached_training("early_exit heads", heads, train, examples=len(encoded),
                                         epochs=cfg.exit_epochs, lr=cfg.exit_lr, pooling=cfg.exit_pooling,
                                         head_layout="family-head/1")
        else:
            train()
            reused = False
        loss = trained.get("loss")
        heads.to(ctx.device).eval()
        threshold, routing, calibration = cfg.threshold, None, None
        if cfg.max_drop is not None:
            threshold, routing, calibration = self._calibrate(backbone, heads, cfg, ctx)
        if threshold is None:
            raise ValueError("give threshold or max_drop")  # validate() guarantees one of them
        for module in backbone.modules():  # training passes are not inference: forget their counts
            if hasattr(module, "reset_realised"):
                module.reset_realised()
        wrapped = EarlyExitBert(backbone, heads, threshold, routing).eval()
        return wrapped, {
            "threshold": threshold,
            "threshold_source": "given" if calibration is None else "calibrated",
            "calibration": calibration,
            "exit_heads": len(heads),
            "exit_pooling": cfg.exit_pooling,
            "exit_train_steps": steps,
            "exit_train_examples": len(encoded),
            "exit_final_loss": None if loss is None else round(loss, 4),
            "exit_heads_reused": reused,
        }

    @staticmethod
    def _calibrate(backbone: Layerwise, heads: nn.ModuleList, cfg: EarlyExitConfig,
                   ctx: ReductionContext) -> tuple[float, Routing | None, dict]:
        """Choose the threshold where ``cfg.calibration`` says (:mod:`joulebench.reductions.calibration`), never on
        the examples it is reported on: one threshold, or one per half of dev (cross-fitted)."""
        if cfg.max_drop is None:
            raise ValueError("calibration runs only with max_drop")
        max_drop = cfg.max_drop
        found = resolve(cfg.calibration, ctx, cfg.calibration_examples)
        check_size(found, max_drop, cfg.delta)
        encoded = encode(ctx.tokenizer, found.examples, ctx.max_seq_len)
        pad = ctx.tokenizer.pad_token_id
        batches = [collate(encoded[i:i + 64], pad, with_labels=True) for i in range(0, len(encoded), 64)]
        heads.eval()
        entropies, predictions, labels = layer_entropies_and_predictions(backbone, heads, batches, ctx.device)

        def choose(positions: np.ndarray, delta: float) -> dict:
            index = torch.as_tensor(positions, dtype=torch.long)
            chosen = calibrate_threshold(entropies[index], predictions[index], labels[index], max_drop, delta)
            return {"value": chosen["threshold"], "examples": int(len(positions)),
                    "accuracy_drop": round(chosen["accuracy_drop"], 5), "mean_layers": round(chosen["mean_layers"], 4),
                    "harm_bound": round(chosen["harm_bound"], 5), "candidates_tested": chosen["tested"]}

        routing, halves = None, None
        if found.how == "crossfit":
            routing, halves = crossfit(choose, [fingerprint(e.input_ids) for e in encoded], ctx.seed, cfg.delta,
                                       conservative=min)  # a smaller threshold lets fewer examples leave
            threshold = routing.default
            chosen = {}
        else:
            chosen = choose(np.arange(len(encoded)), cfg.delta)
            threshold = chosen["value"]
        return threshold, routing, {
            "max_drop": max_drop, "calibration": found.how, "split": found.where, "examples": len(encoded),
            "reported_split": found.reported_split, "carries_over": found.carries_over, "exchangeability": found.check,
            **{k: v for k, v in chosen.items() if k != "value"}, "crossfit": halves,
            "method": "learn-then-test (fixed sequence, binomial)", "delta": cfg.delta,
            "guarantee": f"P(accuracy drop > {max_drop}) <= {cfg.delta} over the calibration draw"
            + ("" if found.carries_over else "; it does not carry over to the reported split (see exchangeability)"),
        }
