"""The early-exit model: a layerwise backbone whose examples leave at their first confident exit."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from joulebench.reductions.calibration import Routing
from joulebench.reductions.early_exit.heads import entropy, mean_weights


class EarlyExitBert(nn.Module):
    """Runs a layerwise backbone and lets each example leave at its first confident exit.

    Args:
        backbone: the model run layer by layer (plain or token-pruned).
        heads: one exit head per layer but the last.
        threshold: entropy (nats) below which an example leaves.
    """

    realised_family: ClassVar[str] = "early_exit"

    def __init__(self, backbone: Any, heads: nn.ModuleList, threshold: float, routing: Routing | None = None) -> None:
        super().__init__()
        self.backbone = backbone
        self.config = backbone.config
        self.exits = heads
        self.threshold = threshold
        self.routing = routing  # cross-fitted: each input's threshold was chosen on the other half
        self.reset_realised()

    @property
    def num_layers(self) -> int:
        return self.backbone.num_layers

    def reset_realised(self) -> None:
        """Forget the exit counts seen so far."""
        self._exit_counts = [0] * self.num_layers

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        state = self.backbone.embed(input_ids, attention_mask, token_type_ids)
        active = torch.arange(input_ids.shape[0], device=input_ids.device)
        thresholds = None if self.routing is None else self.routing.values(input_ids, attention_mask)
        never = self.threshold <= 0 if thresholds is None else bool((thresholds <= 0).all())
        out: torch.Tensor | None = None
        weights, weights_of = None, None  # mean-pooling weights, recomputed only when the mask changes
        last = self.num_layers - 1
        for index in range(self.num_layers):
            state = self.backbone.layer(index, state)
            if index == last:
                logits = self.backbone.head(state)
                self._exit_counts[index] += logits.shape[0]
                if out is None:  # nobody left early: the rows are still in input order
                    return logits
                out[active] = logits
                return out
            if never:  # entropy is never negative: nobody can leave here
                continue
            head = self.exits[index]
            if getattr(head, "pooling", "cls") == "mean" and weights_of is not state.mask:
                weights, weights_of = mean_weights(state.mask, state.hidden.dtype), state.mask
            logits = head(state, weights)
            leave = entropy(logits) < (self.threshold if thresholds is None else thresholds[active])
            if not bool(leave.any()):
                continue
            n_leave = int(leave.sum())
            if out is None:
                out = logits.new_empty((input_ids.shape[0], logits.shape[-1]))
            out[active[leave]] = logits[leave]
            self._exit_counts[index] += n_leave
            if n_leave == logits.shape[0]:
                return out
            stay = (~leave).nonzero().squeeze(1)
            active = active.index_select(0, stay)
            state = state.rows(stay)
        raise AssertionError("unreachable: the last layer classifies whoever is left")

    def realised_details(self) -> dict:
        """Exits over the examples seen since the last reset.

        ``exit_layer_histogram`` maps the 1-based exit layer to the fraction of examples that left
        there (fractions, so a FLOP-counting pass over the same batches does not skew it).
        """
        seen = sum(self._exit_counts)
        if seen == 0:
            return {"exit_layer_histogram": {}, "mean_layers_computed": None, "layers_total": self.num_layers}
        return {
            "exit_layer_histogram": {str(i + 1): round(c / seen, 4) for i, c in enumerate(self._exit_counts) if c},
            "mean_layers_computed": round(sum((i + 1) * c for i, c in enumerate(self._exit_counts)) / seen, 4),
            "layers_total": self.num_layers,
        }
