"""Small modules that turn a family's classification head into a map from the pooled vector to logits."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

#: A transformers module tree navigated by attribute.
HFModule = Any


class _Chain(nn.Module):
    """Apply the given modules in order (None skipped)."""

    def __init__(self, *steps: nn.Module | None) -> None:
        super().__init__()
        self.steps = nn.ModuleList([s for s in steps if s is not None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for step in self.steps:
            x = step(x)
        return x


class _TanhDense(nn.Module):
    """``tanh(dense(x))``: BERT's pooler on an already-pooled vector."""

    def __init__(self, dense: nn.Module) -> None:
        super().__init__()
        self.dense = dense

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.dense(x))


class _FirstToken(nn.Module):
    """Feeds a pooled vector to a head that reads token 0 of a sequence itself (RoBERTa, ELECTRA, DeBERTa)."""

    def __init__(self, head: HFModule) -> None:
        super().__init__()
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x.unsqueeze(1))


class _Relu(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)
