"""Layer-by-layer access to a BERT-style classifier, for reductions that run layers themselves.

Early exit and token pruning need to stop between layers or shorten the sequence between
layers, which the stock ``forward`` cannot do. :class:`LayerwiseBert` splits the classifier into
``embed`` -> ``layer(i)`` ... -> ``head`` over an :class:`EncoderState` (hidden states plus the
mask of real tokens). Reductions that wrap it expose the same three steps, so they stack:
early exit can run on top of token pruning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

import torch
from torch import nn

from joulebench.errors import UserError
from joulebench.models.pooling import mean_of_tokens, pooling_of

#: Attribute paths of the encoder layer list in the model families ``layer_drop`` supports.
LAYER_PATHS = (("bert", "encoder", "layer"), ("distilbert", "transformer", "layer"),
               ("roberta", "encoder", "layer"), ("electra", "encoder", "layer"))


def find_layers(model: nn.Module) -> tuple[nn.Module, str, nn.ModuleList]:
    """The module owning the encoder's layer list, the list's attribute name and the list.

    Raises:
        UserError: the model has none of the known layouts (``LAYER_PATHS``).
    """
    for path in LAYER_PATHS:
        owner: nn.Module | None = model
        for name in path[:-1]:
            owner = getattr(owner, name, None)
        layers = getattr(owner, path[-1], None) if owner is not None else None
        if isinstance(layers, nn.ModuleList):
            return owner, path[-1], layers
    known = ", ".join(".".join(p) for p in LAYER_PATHS)
    raise UserError(f"model {type(model).__name__}: no encoder layer list found (looked for {known})")


@dataclass
class EncoderState:
    """Hidden states between two layers.

    Attributes:
        hidden: (batch, tokens, width) hidden states; token 0 is [CLS].
        mask: (batch, tokens) bool, True for real (non-padding) tokens.
        input_tokens: (batch,) real tokens each example had at the embeddings, so reductions
            that remove tokens can report what fraction they kept.
    """

    hidden: torch.Tensor
    mask: torch.Tensor
    input_tokens: torch.Tensor

    @property
    def real_tokens(self) -> torch.Tensor:
        """(batch,) number of real tokens each example still has."""
        return self.mask.sum(dim=1)

    def rows(self, index: torch.Tensor) -> EncoderState:
        """The state of the examples at ``index`` only (examples that leave are dropped)."""
        return EncoderState(self.hidden.index_select(0, index), self.mask.index_select(0, index),
                            self.input_tokens.index_select(0, index))


def additive_mask(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor | None:
    """(batch, 1, 1, tokens) additive key mask, or None when there is no padding.

    None lets SDPA pick its fastest (unmasked) kernel, as the stock model does for unpadded input.
    """
    if bool(mask.all()):
        return None
    return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(
        ~mask, torch.finfo(dtype).min
    )[:, None, None, :]


def layer_with_attention(
    layer: nn.Module, hidden: torch.Tensor, mask: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run one BERT layer and also return its attention probabilities.

    Written out (eager attention) rather than switching the model's attention implementation,
    because that setting lives on the config shared by every layer: the other layers keep SDPA.

    Args:
        layer: a ``BertLayer`` (``attention.self``, ``attention.output``, ``feed_forward_chunk``).
        hidden: (batch, tokens, width).
        mask: additive key mask from :func:`additive_mask`, or None.

    Returns:
        The layer output and (batch, heads, queries, keys) attention probabilities.
    """
    attn = layer.attention.self
    batch, tokens, _ = hidden.shape

    def heads(x: torch.Tensor) -> torch.Tensor:
        return x.view(batch, tokens, -1, attn.attention_head_size).transpose(1, 2)

    query, key, value = heads(attn.query(hidden)), heads(attn.key(hidden)), heads(attn.value(hidden))
    scores = torch.matmul(query, key.transpose(-1, -2)) * attn.scaling
    if mask is not None:
        scores = scores + mask
    probs = scores.softmax(dim=-1)
    context = torch.matmul(probs, value).transpose(1, 2).reshape(batch, tokens, -1)
    attention_output = layer.attention.output(context, hidden)
    return layer.feed_forward_chunk(attention_output), probs


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


class LayerwiseBert(nn.Module):
    """A ``BertForSequenceClassification``-shaped model, run one layer at a time.

    Its ``forward`` computes the same logits as the wrapped model's (tested to 1e-5). Wrappers that
    run on it and offer the same steps set ``is_layerwise = True`` so the next one can stack.

    Args:
        model: a classifier with ``bert.embeddings``, ``bert.encoder.layer``, ``bert.pooler``
            (may be None) and ``classifier``.

    Raises:
        UserError: the model does not have that layout.
    """

    is_layerwise: ClassVar[bool] = True

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        bert = getattr(model, "bert", None)
        if bert is None or not hasattr(bert, "encoder") or not hasattr(model, "classifier"):
            raise UserError(
                f"model {type(model).__name__}: this reduction needs a BERT-style classifier "
                "(bert.embeddings, bert.encoder.layer, classifier)"
            )
        self.model = model
        self.config = model.config

    @property
    def num_layers(self) -> int:
        return len(self.model.bert.encoder.layer)

    def block(self, index: int) -> nn.Module:
        """The ``BertLayer`` at ``index`` (for reductions that run it their own way)."""
        return self.model.bert.encoder.layer[index]

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
              token_type_ids: torch.Tensor | None = None) -> EncoderState:
        hidden = self.model.bert.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)
        if attention_mask is None:
            mask = torch.ones(input_ids.shape, dtype=torch.bool, device=input_ids.device)
        else:
            mask = attention_mask.bool()
        return EncoderState(hidden, mask, mask.sum(dim=1))

    def layer(self, index: int, state: EncoderState) -> EncoderState:
        layer = self.model.bert.encoder.layer[index]
        hidden = layer(state.hidden, additive_mask(state.mask, state.hidden.dtype))
        return EncoderState(hidden, state.mask, state.input_tokens)

    def head(self, state: EncoderState) -> torch.Tensor:
        return classify(self.model, state)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        state = self.embed(input_ids, attention_mask, token_type_ids)
        for index in range(self.num_layers):
            state = self.layer(index, state)
        return self.head(state)


def classify(model: nn.Module, state: EncoderState) -> torch.Tensor:
    """The model's own head on the final state: its pooler (when it has one) over token 0 ([CLS]),
    or, for a mean-pooled classifier, the mean of the real tokens left in ``state``."""
    if pooling_of(model) == "mean":
        pooled = mean_of_tokens(state.hidden, state.mask)
    else:
        pooler = getattr(model.bert, "pooler", None)
        pooled = pooler(state.hidden) if pooler is not None else state.hidden[:, 0]
    return model.classifier(model.dropout(pooled) if hasattr(model, "dropout") else pooled)


def as_layerwise(model: nn.Module) -> Layerwise:
    """``model`` itself when it already runs layer by layer, else a :class:`LayerwiseBert`."""
    if getattr(model, "is_layerwise", False):
        return model  # type: ignore[return-value]
    return LayerwiseBert(model)
