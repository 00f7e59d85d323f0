"""What structured pruning slices in a layer (attention and feed-forward parts) and the stand-in modules
that replace a layer's attention or feed-forward block once every head or unit of it is removed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

#: A transformers module tree navigated by attribute (torch types such attributes as ``Tensor | Module``).
HFModule = Any


@dataclass
class AttentionParts:
    """The parts of one layer's self-attention that structured pruning slices.

    Attributes:
        projections: ``(linear, blocks)`` whose output rows are per head: Q, K, V each with one block,
            or one fused QKV with three blocks (rows ``[q heads | k heads | v heads]``).
        out: the output projection; its input columns are per head.
        holder: the module whose head-count attributes follow the number of heads kept.
        num_heads: heads the layer has now.
        head_size: width of one head.
    """

    projections: list[tuple[nn.Linear, int]]
    out: nn.Linear
    holder: nn.Module
    num_heads: int
    head_size: int


@dataclass
class FeedForwardParts:
    """The parts of one layer's FFN that structured pruning slices.

    Attributes:
        inp: the first dense; its output rows are per unit (``blocks`` = 2 for a gated FFN whose rows
            are ``[input units | gate units]``).
        blocks: 1, or 2 for a gated (GLU) FFN.
        out: the second dense; its input columns are per unit.
    """

    inp: nn.Linear
    blocks: int
    out: nn.Linear


class ConstantAttention(nn.Module):
    """An attention block with no heads left: it adds the output projection's bias (or nothing).

    Used for families whose attention module holds its own output projection (DistilBERT,
    ModernBERT); returns ``(output, None)`` like the module it replaces.
    """

    is_headless = True

    def __init__(self, bias: torch.Tensor | None) -> None:
        super().__init__()
        self.kept_heads: list[int] = []
        self.bias = None if bias is None else nn.Parameter(bias.detach().clone())

    def forward(self, hidden_states: torch.Tensor, *args: Any, **kwargs: Any) -> tuple[torch.Tensor, None]:
        if self.bias is None:
            return torch.zeros_like(hidden_states), None
        return self.bias.expand_as(hidden_states).to(hidden_states.dtype), None


class HeadlessAttention(nn.Module):
    """An attention block with every head removed: ``LayerNorm(residual + dropout(bias))``.

    Accepts and ignores the keyword arguments ``BertLayer`` passes to its attention module.
    """

    is_headless = True

    def __init__(self, bias: torch.Tensor, layer_norm: nn.LayerNorm, dropout: nn.Dropout) -> None:
        super().__init__()
        self.kept_heads: list[int] = []
        self.bias = nn.Parameter(bias.detach().clone())
        self.LayerNorm = layer_norm
        self.dropout = dropout

    def forward(self, hidden_states: torch.Tensor, *args: Any, **kwargs: Any) -> tuple[torch.Tensor, None]:
        return self.LayerNorm(self.dropout(self.bias.expand_as(hidden_states)) + hidden_states), None


class SkippedIntermediate(nn.Module):
    """The first FFN dense of a layer with no units left: passes its input through unused."""

    def __init__(self) -> None:
        super().__init__()
        self.kept_units: list[int] = []

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return hidden_states


class UnitlessOutput(nn.Module):
    """The FFN output of a layer with no units left: ``LayerNorm(residual + dropout(bias))``."""

    def __init__(self, bias: torch.Tensor, layer_norm: nn.LayerNorm, dropout: nn.Dropout) -> None:
        super().__init__()
        self.bias = nn.Parameter(bias.detach().clone())
        self.LayerNorm = layer_norm
        self.dropout = dropout

    def forward(self, hidden_states: torch.Tensor, input_tensor: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.bias.expand_as(input_tensor)) + input_tensor)
