"""Iterative magnitude pruning (IMP) with rewinding, as in Chen et al. (2020).

Round 0 trains the dense model. Each later round prunes the smallest-magnitude surviving weights
globally until the next sparsity level is reached, rewinds every weight of the model to the
rewind point (the pre-trained encoder and the initial head, or an early fine-tuning step), and
trains again with the mask held fixed. The training of round ``r`` is also the evaluation of the
mask of round ``r``: callers evaluate the model passed to ``on_round`` instead of training twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from joulebench.errors import UserError
from joulebench.reductions.lottery.masks import MaskEnforcer, TicketMask, apply_mask
from joulebench.reductions.lottery.pruning import check_sparsities, global_magnitude_mask
from joulebench.reductions.lottery.targets import DEFAULT_TARGETS, check_targets, prunable_weights

StepHook = Callable[[nn.Module], None]
#: ``train(model, after_step, round)`` trains ``model`` in place, calling ``after_step`` after each step.
TrainFn = Callable[[nn.Module, StepHook | None, int], None]
#: ``on_round(round, mask_or_None, trained_model)``; round 0 is the dense model.
RoundFn = Callable[[int, "TicketMask | None", nn.Module], None]
#: ``before_train(round, mask, model)`` runs before a pruning round trains (e.g. to save the mask);
#: returning True skips the training because it loaded the weights training would produce.
BeforeTrainFn = Callable[[int, TicketMask, nn.Module], bool]


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached CPU copy of ``model``'s state."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


class StepCapture:
    """``after_step`` hook keeping a copy of the weights after optimizer step ``step``."""

    def __init__(self, step: int, then: StepHook | None = None) -> None:
        self.step = step
        self.then = then
        self.done = 0
        self.state: dict[str, torch.Tensor] | None = None

    def __call__(self, model: nn.Module) -> None:
        if self.then is not None:
            self.then(model)
        self.done += 1
        if self.done == self.step:
            self.state = snapshot(model)


@dataclass(frozen=True)
class ImpSchedule:
    """What IMP does.

    Attributes:
        sparsities: sparsity after each pruning round (fractions of the original count).
        rewind_step: None rewinds to the initial weights (the pre-trained encoder); k rewinds to
            the weights after k optimizer steps of the dense round.
        targets: the weights ranked and pruned (see :mod:`.targets`).
    """

    sparsities: tuple[float, ...]
    rewind_step: int | None = None
    targets: str = DEFAULT_TARGETS

    def validate(self) -> None:
        """Raise ValueError for impossible settings."""
        check_sparsities(self.sparsities)
        check_targets(self.targets)
        if self.rewind_step is not None and self.rewind_step < 1:
            raise ValueError(f"rewind_step must be >= 1 or null, got {self.rewind_step}")


def iterative_magnitude_pruning(
    model: nn.Module,
    schedule: ImpSchedule,
    train: TrainFn,
    on_round: RoundFn,
    provenance: dict | None = None,
    before_train: BeforeTrainFn | None = None,
    on_rewind_point: Callable[[dict[str, torch.Tensor]], None] | None = None,
) -> list[TicketMask]:
    """Run IMP on ``model`` (whose current weights are the rewind target when rewind_step is None).

    Args:
        model: the untrained model: pre-trained encoder plus the initial task (or MLM) head.
        schedule: sparsity levels and rewind point.
        train: trains the model in place (see :data:`TrainFn`).
        on_round: called after each round's training with the mask (None for round 0).
        provenance: merged into every mask's provenance (task, model, objective, seed ...).
        before_train: optional (see :data:`BeforeTrainFn`); lets callers save each mask before
            its round trains and resume from checkpointed rounds.
        on_rewind_point: optional; receives the rewind state when it is an early fine-tuning step.

    Returns:
        The mask of every pruning round, in order.
    """
    schedule.validate()
    initial = snapshot(model)
    capture = StepCapture(schedule.rewind_step) if schedule.rewind_step is not None else None
    train(model, capture, 0)
    rewind_to = initial
    if capture is not None:
        if capture.state is None:
            raise UserError(
                f"rewind_step {schedule.rewind_step} is beyond the {capture.done} optimizer steps of the dense round"
            )
        rewind_to = capture.state
    if capture is not None and on_rewind_point is not None:
        on_rewind_point(rewind_to)
    on_round(0, None, model)
    masks: list[TicketMask] = []
    current: dict[str, torch.Tensor] | None = None
    for r, sparsity in enumerate(schedule.sparsities, start=1):
        current = global_magnitude_mask(prunable_weights(model, schedule.targets), sparsity, current)
        mask = TicketMask(
            current, {**(provenance or {}), "kind": "imp", "round": r, "sparsity_target": sparsity,
                      "schedule": list(schedule.sparsities),
                      "rewind": "pretrained" if schedule.rewind_step is None else f"step {schedule.rewind_step}"},
            targets=schedule.targets,
        )
        model.load_state_dict(rewind_to)
        apply_mask(model, mask)
        if before_train is None or not before_train(r, mask, model):
            train(model, MaskEnforcer(mask), r)
        on_round(r, mask, model)
        masks.append(mask)
    return masks
