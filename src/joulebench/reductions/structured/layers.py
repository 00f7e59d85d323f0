"""The dense sizes of an encoder's prunable structures (heads, FFN units).

Where those structures live in each family (separate or fused Q/K/V, the output projections,
gated FFNs) is the family adapter's knowledge (:mod:`joulebench.models.families`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from joulebench.models.families import family_of

#: A transformers module tree navigated by attribute (torch types such attributes as ``Tensor | Module``).
HFModule = Any


@dataclass(frozen=True)
class Geometry:
    """Sizes of the dense (unpruned) encoder.

    Attributes:
        num_layers: encoder layers.
        num_heads: attention heads per layer.
        head_size: width of one head (``hidden_size / num_heads``).
        hidden_size: model width.
        intermediate_size: FFN units per layer.
    """

    num_layers: int
    num_heads: int
    head_size: int
    hidden_size: int
    intermediate_size: int

    @property
    def params_per_head(self) -> int:
        """Parameters one head owns: its rows of Q, K, V (weights and biases) and its columns of
        the attention output projection (whose bias is shared, so it stays)."""
        return 4 * self.head_size * self.hidden_size + 3 * self.head_size

    @property
    def params_per_ffn_unit(self) -> int:
        """Parameters one FFN unit owns: its row and bias of the first dense, its column of the
        second (whose bias is shared, so it stays)."""
        return 2 * self.hidden_size + 1


def encoder_layers(model: HFModule) -> nn.ModuleList:
    """The encoder's list of layers (any supported family).

    Raises:
        UserError: the model's family is not supported.
    """
    return family_of(model).layers(model)


def geometry(model: HFModule) -> Geometry:
    """Dense sizes of ``model``'s encoder, read from its config (valid after compaction too)."""
    layers = encoder_layers(model)
    cfg = model.config
    heads = int(cfg.num_attention_heads)
    hidden = int(cfg.hidden_size)
    units = getattr(cfg, "intermediate_size", None) or cfg.hidden_dim  # DistilBERT: hidden_dim
    return Geometry(len(layers), heads, hidden // heads, hidden, int(units))


def param_count(model: HFModule) -> int:
    """Number of parameters of ``model``."""
    return sum(p.numel() for p in model.parameters())
