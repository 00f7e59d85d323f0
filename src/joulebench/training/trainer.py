"""The fine-tuning loop: AdamW, linear warm-up and decay, length-grouped batches."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from joulebench.config.schema import TrainConfig
from joulebench.models.batching import Encoded, train_batches
from joulebench.training.regimes import head_names

StepHook = Callable[[nn.Module], None]
#: ``loss(model, batch) -> scalar tensor``; a batch holds input_ids, attention_mask, token_type_ids, labels.
LossFn = Callable[[nn.Module, dict], torch.Tensor]
Progress = Callable[[int, int, float], None]


@dataclass(frozen=True)
class TrainResult:
    """What a fine-tuning run did."""

    steps: int
    train_examples: int
    train_time_s: float
    final_loss: float | None


#: The task head's default peak learning rates: when it trains alone (frozen encoder) and beside the encoder.
#: Chosen on held-out training sentences (500, 1,000 and 4,000 SST-2 sentences, MiniLM), never on dev; the
#: dev accuracies against a linear probe are in benchmarks/results/small_budget.txt.
HEAD_ONLY_LR = 1e-2
HEAD_LR = 3e-3


def _no_decay(name: str) -> bool:
    return name.endswith(".bias") or "LayerNorm" in name or "layer_norm" in name


def fine_tune(
    model: nn.Module,
    encoded: Sequence[Encoded],
    cfg: TrainConfig,
    pad_id: int,
    trainable: Collection[str] | None = None,
    device: str = "cpu",
    after_step: StepHook | None = None,
    progress: Progress | None = None,
    epochs: float | None = None,
    loss_fn: LossFn | None = None,
) -> TrainResult:
    """Train ``model`` in place on ``encoded`` examples.

    Args:
        trainable: parameter names to update (None = all); the others get requires_grad=False.
        after_step: called after each optimizer step (e.g. to re-apply pruning masks).
        progress: called as ``progress(step, total_steps, loss)``.
        epochs: overrides ``cfg.epochs`` (used by reductions that re-train briefly); ``cfg.min_steps`` applies
            only without it (the base fine-tuning).
        loss_fn: the training loss (default: the model's own, ``model(**batch).loss``), e.g.
            distillation against a teacher, or cross-entropy of a wrapper returning logits.
    """
    min_steps = cfg.min_steps if epochs is None else 0
    epochs = cfg.epochs if epochs is None else epochs
    names = set(trainable) if trainable is not None else None
    params = []
    for name, param in model.named_parameters():
        param.requires_grad_(names is None or name in names)
        if param.requires_grad:
            params.append((name, param))
    heads = head_names(model)
    head_only = bool(params) and all(n in heads for n, _ in params)
    head_lr = cfg.head_lr if cfg.head_lr is not None else (HEAD_ONLY_LR if head_only else HEAD_LR)
    groups = [
        {"params": [p for n, p in params if not _no_decay(n) and n not in heads], "weight_decay": cfg.weight_decay,
         "lr": cfg.lr},
        {"params": [p for n, p in params if _no_decay(n) and n not in heads], "weight_decay": 0.0, "lr": cfg.lr},
        {"params": [p for n, p in params if not _no_decay(n) and n in heads], "weight_decay": cfg.weight_decay,
         "lr": head_lr},
        {"params": [p for n, p in params if _no_decay(n) and n in heads], "weight_decay": 0.0, "lr": head_lr},
    ]
    optimizer = torch.optim.AdamW([g for g in groups if g["params"]], lr=cfg.lr)
    per_epoch = math.ceil(len(encoded) / cfg.batch_size)
    total = max(1, math.ceil(per_epoch * epochs), min_steps)
    warmup = int(total * cfg.warmup_ratio)

    def lr_factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    if cfg.precision == "bf16" and not device.startswith("cuda") and not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        from joulebench.errors import UserError

        raise UserError("train.precision: bf16 needs native bf16 instructions (AVX512-BF16/AMX), which this CPU "
                        "lacks; use fp32")
    model.to(device).train()
    # bf16 autocast: matmuls in bf16 (weights, gradients and optimizer state stay fp32)
    autocast = (torch.autocast(device_type="cuda" if device.startswith("cuda") else "cpu", dtype=torch.bfloat16)
                if cfg.precision == "bf16" else contextlib.nullcontext())
    start = time.perf_counter()
    step, loss_value, epoch = 0, None, 0
    while step < total:
        for batch in train_batches(encoded, cfg.batch_size, pad_id, seed=cfg.seed + epoch):
            if step >= total:
                break
            batch = {k: v.to(device) for k, v in batch.items()}
            with autocast:
                loss = model(**batch).loss if loss_fn is None else loss_fn(model, batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for _, p in params], 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            if after_step is not None:
                after_step(model)
            step += 1
            loss_value = float(loss.detach())
            if progress is not None:
                progress(step, total, loss_value)
        epoch += 1
    model.eval()
    for param in model.parameters():
        param.requires_grad_(True)
    return TrainResult(step, len(encoded), time.perf_counter() - start, loss_value)
