"""distill: a shallower student trained on the fine-tuned teacher's soft targets (task distillation).

Architectural downsizing the way DistilBERT (Sanh et al. 2019) and task-specific distillation do
it, from the fine-tuned model at hand (no smaller pre-trained checkpoint is needed): the student
is the teacher with fewer encoder layers, initialised from a chosen subset of the teacher's
layers (``every_other``: layers 0, 2, 4, ... as DistilBERT took from BERT; ``spread``: evenly
spaced, bottom and top layer kept; ``bottom``: what ``layer_drop`` keeps), then trained on the
task with the loss

    alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T)) + (1 - alpha) * CE(student, label)
    + hidden_weight * mean over student layers j of MSE(student layer j, its teacher layer)

(Hinton et al. 2015's temperature-scaled soft targets; the optional hidden-state term is
TinyBERT's, here on each kept layer's output against the teacher layer it was copied from). The
training follows the run's training settings and regime, is metered (the teacher's forward passes
included) and cached like every re-training. ``layer_drop`` with ``retrain: true`` at the same
depth and ``epochs`` is the same budget (steps) without the teacher: the comparison the README draws.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from joulebench.errors import UserError
from joulebench.reductions.base import ReductionContext, must_come_before, param, register_reduction
from joulebench.reductions.encoder import find_layers
from joulebench.reductions.layer_drop import keep_layers_at

LAYER_INITS = ("every_other", "spread", "bottom")
#: What must come after distill: it re-trains the network, so nothing built on the weights or layers may precede it.
_MUST_FOLLOW = ("quantize", "early_exit", "token_prune", "exported_graph", "ticket", "structured_prune", "distill")


@dataclass(frozen=True)
class DistillConfig:
    """Parameters of ``distill``."""

    keep_layers: int = param("Encoder layers of the student.")
    layer_init: str = param("Teacher layers the student starts from: every_other (0, 2, 4, ...: DistilBERT), "
                            "spread (evenly spaced, bottom and top kept) or bottom.", "every_other")
    temperature: float = param("Softmax temperature of the soft targets (T).", 2.0)
    alpha: float = param("Weight of the soft-target loss; 1 - alpha goes to the hard labels.", 0.5)
    hidden_weight: float = param("Weight of the hidden-state MSE between each student layer and its teacher "
                                 "layer (0 = off).", 0.0)
    epochs: float = param("Epochs of the student's training over the run's training set (fractions allowed).", 1.0)

    def validate(self) -> None:
        """Raise ValueError naming the field when a value is impossible."""
        if self.keep_layers < 1:
            raise ValueError(f"keep_layers must be >= 1, got {self.keep_layers}")
        if self.layer_init not in LAYER_INITS:
            raise ValueError(f"layer_init must be one of {', '.join(LAYER_INITS)}, got {self.layer_init!r}")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if not 0 <= self.alpha <= 1:
            raise ValueError(f"alpha must be in [0, 1], got {self.alpha}")
        if self.hidden_weight < 0:
            raise ValueError(f"hidden_weight must be >= 0, got {self.hidden_weight}")
        if self.epochs <= 0:
            raise ValueError(f"epochs must be > 0, got {self.epochs}")


def student_layers(total: int, keep: int, how: str) -> list[int]:
    """Indices (0-based) of the teacher layers the student is initialised from.

    Raises:
        UserError: ``keep`` is not below ``total``, or ``every_other`` does not fit.
    """
    if keep >= total:
        raise UserError(f"distill: keep_layers={keep} but the teacher has {total} encoder layers; "
                        "a student must be shallower")
    if how == "bottom":
        return list(range(keep))
    if how == "every_other":
        if 2 * keep - 1 > total:
            raise UserError(f"distill: layer_init every_other needs 2*keep_layers-1 <= {total} layers "
                            f"(keep_layers={keep}); use spread or bottom")
        return list(range(0, 2 * keep, 2))
    if keep == 1:
        return [0]
    return sorted({round(i * (total - 1) / (keep - 1)) for i in range(keep)})


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor,
                      temperature: float, alpha: float) -> torch.Tensor:
    """``alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * CE(student, labels)``."""
    t = temperature
    soft = F.kl_div(F.log_softmax(student_logits / t, dim=-1), F.log_softmax(teacher_logits / t, dim=-1),
                    log_target=True, reduction="batchmean") * (t * t)
    hard = F.cross_entropy(student_logits, labels)
    return alpha * soft + (1 - alpha) * hard


class DistillLoss:
    """The student's training loss against a frozen teacher (``loss_fn`` for the trainer)."""

    def __init__(self, teacher: nn.Module, cfg: DistillConfig, teacher_layers: Sequence[int]) -> None:
        self.teacher = teacher
        self.cfg = cfg
        self.teacher_layers = list(teacher_layers)

    def __call__(self, student: nn.Module, batch: dict) -> torch.Tensor:
        inputs = {k: v for k, v in batch.items() if k != "labels"}
        hidden = self.cfg.hidden_weight > 0
        with torch.no_grad():
            taught = self.teacher(**inputs, output_hidden_states=hidden)
        out = student(**inputs, output_hidden_states=hidden)
        loss = distillation_loss(out.logits, taught.logits, batch["labels"], self.cfg.temperature, self.cfg.alpha)
        if hidden:
            mask = batch["attention_mask"].unsqueeze(-1).to(out.logits.dtype)
            terms = [(((out.hidden_states[j + 1] - taught.hidden_states[t + 1]) ** 2) * mask).sum()
                     / (mask.sum() * out.hidden_states[j + 1].shape[-1])
                     for j, t in enumerate(self.teacher_layers)]
            loss = loss + self.cfg.hidden_weight * torch.stack(terms).mean()
        return loss


@register_reduction("distill", help="task distillation: a shallower student trained on the teacher's soft targets")
class Distill:
    """Build a student from a subset of the teacher's layers and train it on the teacher's outputs."""

    config_cls: ClassVar[type] = DistillConfig

    @staticmethod
    def check_chain(cfg: DistillConfig, before: Sequence[str], device: str | None) -> None:
        """The student is re-trained: nothing that builds on weights or layers may come before it."""
        must_come_before("distill", before, _MUST_FOLLOW, "the student is trained from the weights")

    def apply(self, model: nn.Module, cfg: DistillConfig, ctx: ReductionContext) -> tuple[nn.Module, dict]:
        """Copy the teacher, cut the student's layers, train it on the teacher's soft targets."""
        if ctx.fine_tune is None:
            raise UserError("distill trains a student: run it through the Runner (it needs the training set)")
        total = len(find_layers(model)[2])
        chosen = student_layers(total, cfg.keep_layers, cfg.layer_init)
        teacher = copy.deepcopy(model).to(ctx.device).eval()  # once, not per training step
        for p in teacher.parameters():
            p.requires_grad_(False)
        keep_layers_at(model, chosen)
        reused = ctx.fine_tune(model, epochs=cfg.epochs, what="distill student",
                               loss_fn=DistillLoss(teacher, cfg, chosen))
        del teacher
        model.eval()
        return model, {
            "layers_kept": cfg.keep_layers, "layers_total": total, "teacher_layers": chosen,
            "layer_init": cfg.layer_init, "temperature": cfg.temperature, "alpha": cfg.alpha,
            "hidden_weight": cfg.hidden_weight, "epochs": cfg.epochs, "student_reused": bool(reused),
        }
