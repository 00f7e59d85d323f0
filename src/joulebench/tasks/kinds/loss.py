"""The supervised loss of a batch, for whichever head made the output (what training and importance scores use)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from joulebench.tasks.kinds.base import output_logits


def supervised_loss(output: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
    """The loss *summed* over a batch's examples and how many it got right, for either kind of head.

    A classification batch has ``labels`` (cross-entropy of the logits; right = argmax is the
    label); a regression batch has float ``labels`` (squared error); a QA batch has ``start_positions`` and
    ``end_positions`` (the mean of the start and end cross-entropies, as the span head's own loss; right = both
    argmaxes hit the gold tokens, the window-level exact match). Summed, not averaged, so per-example gate
    gradients add up.
    """
    if "labels" in batch and batch["labels"].is_floating_point():  # a regression target: squared error
        values = output_logits(output).float().view(-1)
        targets = batch["labels"].to(values.device).float().view(-1)
        return nn.functional.mse_loss(values, targets, reduction="sum"), 0
    if "labels" in batch:
        logits = output_logits(output).float()
        labels = batch["labels"].to(logits.device)
        loss = nn.functional.cross_entropy(logits, labels, reduction="sum")
        return loss, int((logits.argmax(-1) == labels).sum())
    start, end = output.start_logits.float(), output.end_logits.float()
    gold_start = batch["start_positions"].to(start.device)
    gold_end = batch["end_positions"].to(end.device)
    loss = (nn.functional.cross_entropy(start, gold_start, reduction="sum")
            + nn.functional.cross_entropy(end, gold_end, reduction="sum")) / 2
    right = (start.argmax(-1) == gold_start) & (end.argmax(-1) == gold_end)
    return loss, int(right.sum())
