"""Layer-by-layer access to an encoder classifier of any supported family, for reductions that
run layers themselves.

Early exit and token pruning need to stop between layers or shorten the sequence between
layers, which the stock ``forward`` cannot do. :class:`LayerwiseEncoder` splits the classifier
into ``embed`` -> ``layer(i)`` ... -> ``head`` over an :class:`EncoderState` (hidden states, the
mask of real tokens and each token's original position). Where each family keeps its parts and
how one of its layers is called comes from its adapter (:mod:`joulebench.models.families`).
Reductions that wrap it expose the same three steps, so they stack: early exit can run on top of
token pruning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import torch
from torch import nn

from joulebench.models.families import EncoderFamily, additive_mask, family_of
from joulebench.models.pooling import mean_of_tokens, pooling_of

__all__ = ["EncoderState", "Layerwise", "LayerwiseEncoder", "additive_mask", "as_layerwise", "classify",
           "find_layers"]


def find_layers(model: nn.Module) -> tuple[nn.Module, str, nn.ModuleList]:
    """The module owning the encoder's layer list, the list's attribute name and the list.

    Raises:
        UserError: the model's family is not supported (one line naming its ``model_type``).
    """
    return family_of(model).layer_list(model)


@dataclass
class EncoderState:
    """Hidden states between two layers.

    Attributes:
        hidden: (batch, tokens, width) hidden states; token 0 is [CLS].
        mask: (batch, tokens) bool, True for real (non-padding) tokens.
        input_tokens: (batch,) real tokens each example had at the embeddings, so reductions
            that remove tokens can report what fraction they kept.
        positions: (batch, tokens) each token's position in the input (families whose positions
            enter inside the layers need them once tokens were removed).
        keep: (batch,) each example's token-pruning keep ratio per pruning step where it differs by example
            (cross-fitted calibration), else None.
    """

    hidden: torch.Tensor
    mask: torch.Tensor
    input_tokens: torch.Tensor
    positions: torch.Tensor
    keep: torch.Tensor | None = None

    @property
    def real_tokens(self) -> torch.Tensor:
        """(batch,) number of real tokens each example still has."""
        return self.mask.sum(dim=1)

    def rows(self, index: torch.Tensor) -> EncoderState:
        """The state of the examples at ``index`` only (examples that leave are dropped)."""
        return EncoderState(self.hidden.index_select(0, index), self.mask.index_select(0, index),
                            self.input_tokens.index_select(0, index), self.positions.index_select(0, index),
                            None if self.keep is None else self.keep.index_select(0, index))


class Layerwise(Protocol):
    """A classifier run step by step: ``embed``, then ``layer(i)`` for each layer, then ``head``."""

    num_layers: int

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None,
              token_type_ids: torch.Tensor | None) -> EncoderState:
        """Embeddings of a batch."""
        ...

    def layer(self, index: int, state: EncoderState) -> EncoderState:
        """Run layer ``index`` (0-based)."""
        ...

    def head(self, state: EncoderState) -> torch.Tensor:
        """The model's own classifier on the final state: logits (batch, labels)."""
        ...


class LayerwiseEncoder(nn.Module):
    """A sequence classifier of a supported family, run one layer at a time.

    Its ``forward`` computes the same logits as the wrapped model's (tested to 1e-5 per family).
    Wrappers that run on it and offer the same steps set ``is_layerwise = True`` so the next one can
    stack.

    Args:
        model: a sequence classifier (``model_type`` in :data:`joulebench.models.families.FAMILIES`).

    Raises:
        UserError: the model's family is not supported.
    """

    is_layerwise: ClassVar[bool] = True

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.family: EncoderFamily = family_of(model)
        self.family.layer_list(model)  # fail now, in one line, when the layout is not there
        self.model = model
        self.config = model.config

    @property
    def num_layers(self) -> int:
        return len(self.family.layers(self.model))

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
              token_type_ids: torch.Tensor | None = None) -> EncoderState:
        if attention_mask is None:
            mask = torch.ones(input_ids.shape, dtype=torch.bool, device=input_ids.device)
        else:
            mask = attention_mask.bool()
        types = token_type_ids if self.family.takes_token_type_ids else None
        hidden = self.family.embed(self.model, input_ids, mask, types)
        positions = torch.arange(input_ids.shape[1], device=input_ids.device).expand(input_ids.shape[0], -1)
        return EncoderState(hidden, mask, mask.sum(dim=1), positions)

    def layer(self, index: int, state: EncoderState) -> EncoderState:
        hidden, _ = self.family.run_layer(self.model, index, state.hidden, state.mask, state.positions)
        return EncoderState(hidden, state.mask, state.input_tokens, state.positions, state.keep)

    def layer_with_attention(self, index: int, state: EncoderState) -> tuple[torch.Tensor, torch.Tensor]:
        """Layer ``index``'s output and its (batch, heads, queries, keys) attention probabilities."""
        hidden, probs = self.family.run_layer(self.model, index, state.hidden, state.mask, state.positions,
                                              with_attention=True)
        assert probs is not None
        return hidden, probs

    def head(self, state: EncoderState) -> torch.Tensor:
        return classify(self.model, state)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        state = self.embed(input_ids, attention_mask, token_type_ids)
        for index in range(self.num_layers):
            state = self.layer(index, state)
        return self.head(state)


def classify(model: nn.Module, state: EncoderState) -> torch.Tensor:
    """The model's own head on the final state: token 0 ([CLS], <s>) through the family's head, or,
    for a mean-pooled classifier, the mean of the real tokens left in ``state``."""
    family = family_of(model)
    hidden = family.finish(model, state.hidden)
    pooled = mean_of_tokens(hidden, state.mask) if pooling_of(model) == "mean" else hidden[:, 0]
    return family.vector_head(model)(pooled)


def as_layerwise(model: nn.Module) -> Any:
    """``model`` itself when it already runs layer by layer, else a :class:`LayerwiseEncoder` (both modules
    with the :class:`Layerwise` methods)."""
    if getattr(model, "is_layerwise", False):
        return model
    return LayerwiseEncoder(model)
