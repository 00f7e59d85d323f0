"""Multiplicative gates on every head's context and every FFN unit's activation.

``transformers`` 5 dropped ``head_mask``, so gates are forward pre-hooks:

* head gate ``g[h]`` scales head ``h``'s slice of the context vector before the attention output
  projection: ``LayerNorm(residual + W_o (g * context) + b_o)``;
* FFN unit gate ``u[i]`` scales unit ``i``'s activation before the second dense:
  ``LayerNorm(residual + W_2 (u * act(W_1 x + b_1)) + b_2)``.

A gate of 0 is exactly what physical removal computes (:mod:`.compact`): the output biases
``b_o`` and ``b_2`` are shared by all heads / units, so they stay, and a layer with no heads left
computes ``LayerNorm(residual + b_o)``. Gates are either per unit (``(H,)``, ``(I,)``) or per
example (``(B, H)``, ``(B, I)``); per-example gates give per-example gradients in one backward
pass, which is what importance scoring needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from joulebench.errors import UserError
from joulebench.models.families import family_of
from joulebench.reductions.structured.layers import encoder_layers
from joulebench.reductions.structured.mask import StructureMask


class GateSet:
    """Current gate values per layer; ``None`` means "no gate" (all ones)."""

    def __init__(self, num_layers: int) -> None:
        self.heads: list[torch.Tensor | None] = [None] * num_layers
        self.ffn: list[torch.Tensor | None] = [None] * num_layers

    def set_mask(self, mask: StructureMask, dtype: torch.dtype = torch.float32) -> None:
        """Constant 0/1 gates from ``mask``."""
        for layer in range(mask.num_layers):
            self.heads[layer] = mask.heads[layer].to(dtype)
            self.ffn[layer] = mask.ffn[layer].to(dtype)


def _scale(x: torch.Tensor, gate: torch.Tensor, groups: int) -> torch.Tensor:
    """Multiply the last dim of ``x`` (split into ``groups`` equal parts) by ``gate``."""
    *lead, width = x.shape
    gate = gate.to(dtype=x.dtype, device=x.device)
    if gate.dim() == 1:
        shape = [1] * len(lead) + [groups, 1]
    else:  # per example: (B, groups)
        shape = [gate.shape[0]] + [1] * (len(lead) - 1) + [groups, 1]
    return (x.view(*lead, groups, width // groups) * gate.view(shape)).view(*lead, width)


@contextmanager
def gated(model: nn.Module, gates: GateSet) -> Iterator[GateSet]:
    """Install the gate hooks for the duration of the block; ``gates`` may change inside it.

    Raises:
        UserError: an unsupported family, or already compacted (gates act on the dense model).
    """
    handles = []
    family = family_of(model)
    try:
        for index, layer in enumerate(encoder_layers(model)):
            if hasattr(layer, "kept_heads") or hasattr(layer, "kept_units"):
                raise UserError("structured pruning scores and masks a dense model; this one is already compacted")
            parts = family.attention_parts(layer, model.config)
            assert parts is not None  # a dense layer has its heads
            num_heads = parts.num_heads

            def head_hook(module: nn.Module, args: tuple, index: int = index, groups: int = num_heads) -> tuple | None:
                gate = gates.heads[index]
                if gate is None:
                    return None
                return (_scale(args[0], gate, groups), *args[1:])

            def ffn_hook(module: nn.Module, args: tuple, index: int = index) -> tuple | None:
                gate = gates.ffn[index]
                if gate is None:
                    return None
                return (_scale(args[0], gate, args[0].shape[-1]), *args[1:])

            # the input of the attention output projection is the per-head context; that of the FFN's
            # second dense is the per-unit activation: the same two places in every family
            handles.append(parts.out.register_forward_pre_hook(head_hook))
            handles.append(family.ffn_parts(layer).out.register_forward_pre_hook(ffn_hook))
        yield gates
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def masked(model: nn.Module, mask: StructureMask) -> Iterator[nn.Module]:
    """Run ``model`` with ``mask``'s heads and units zeroed (no weights change)."""
    gates = GateSet(mask.num_layers)
    gates.set_mask(mask)
    with gated(model, gates):
        yield model
