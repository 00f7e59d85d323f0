"""From a fine-tuned model and scoring data to a mask: the steps the reduction and the CLI share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn

from joulebench.reductions.structured.importance import (
    Scored,
    gradient_importance,
    magnitude_importance,
    masked_accuracy,
)
from joulebench.reductions.structured.layers import Geometry
from joulebench.reductions.structured.mask import StructureMask
from joulebench.reductions.structured.search import Scorer, SearchPlan
from joulebench.tasks.kinds import batch_size_of


def make_scorer(model: nn.Module, batches: Sequence[dict], method: str, device: str = "cpu") -> Scorer:
    """``mask -> Scored`` for ``method`` ("gradient" or "magnitude").

    Magnitude scores need no data; with ``batches`` the accuracy is still measured (for a
    stopping rule), without them it is None.
    """
    if method == "gradient":
        if not batches:
            raise ValueError("gradient importance needs scoring examples")
        return lambda mask: gradient_importance(model, batches, mask, device=device)
    if method != "magnitude":
        raise ValueError(f"unknown importance method {method!r}")
    n = sum(batch_size_of(b) for b in batches)

    def score(mask: StructureMask) -> Scored:
        accuracy = masked_accuracy(model, batches, mask, device) if batches else None
        return Scored(magnitude_importance(model, mask), accuracy, n)

    return score


@dataclass(frozen=True)
class Targets:
    """What to remove, as fractions of the dense model (None = nothing / no cap).

    Attributes:
        heads_frac: fraction of all heads.
        ffn_frac: fraction of all FFN units (``neuron``) or of the layers' FFN blocks (``block``).
        granularity: "neuron" or "block".
        heads_step_frac: heads removed per step, as a fraction of all heads (at least one).
        ffn_step_frac: units per step as a fraction of all units (``neuron``; ``block``: one block).
        stop_fraction: stop when held-out accuracy < this times the dense model's.
        iterative: re-score after every step (False: one shot from the dense model's scores).
    """

    heads_frac: float | None = None
    ffn_frac: float | None = None
    granularity: str = "neuron"
    heads_step_frac: float = 0.1
    ffn_step_frac: float = 0.1
    stop_fraction: float | None = None
    iterative: bool = True

    def plan(self, geo: Geometry) -> SearchPlan:
        """The search plan in counts for ``geo``.

        Under a stopping rule a missing fraction means "no cap"; without one it means "remove none".
        """
        total_heads = geo.num_layers * geo.num_heads
        ffn_total = geo.num_layers if self.granularity == "block" else geo.num_layers * geo.intermediate_size
        default = 1.0 if self.stop_fraction is not None else 0.0
        max_heads = round((self.heads_frac if self.heads_frac is not None else default) * total_heads)
        max_ffn = round((self.ffn_frac if self.ffn_frac is not None else default) * ffn_total)
        # floor, at least one: as Michel et al.'s and Prasanna et al.'s code (int(n * 0.1))
        head_step = max(1, int(self.heads_step_frac * total_heads))
        ffn_step = 1 if self.granularity == "block" else max(1, int(self.ffn_step_frac * ffn_total))
        if not self.iterative:
            head_step, ffn_step = max_heads, max_ffn
        return SearchPlan(head_step, ffn_step, max_heads, max_ffn, self.granularity, self.stop_fraction,
                          refine=self.iterative)
