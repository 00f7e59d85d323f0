"""Exit heads: float copies of the family's own classification head after each layer, and their training
(the backbone frozen)."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import torch
from torch import nn

from joulebench.models.batching import Encoded, train_batches
from joulebench.models.families import family_of
from joulebench.reductions.early_exit.config import EXIT_BATCH_SIZE, HFModule
from joulebench.reductions.encoder import EncoderState, Layerwise


def float_linear(source: Any) -> nn.Linear:
    """A trainable float ``nn.Linear`` with ``source``'s weights, also when ``source`` is int8.

    Exit heads copy the model's pooler and classifier; after an earlier int8 reduction those
    hold packed int8 weights (``weight()`` is a method there), which cannot be trained.
    """
    weight = source.weight() if callable(source.weight) else source.weight
    bias = source.bias() if callable(source.bias) else source.bias
    weight = weight.dequantize().float().detach()
    linear = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    with torch.no_grad():
        linear.weight.copy_(weight)
        if bias is not None:
            linear.bias.copy_(bias.dequantize().float())
    return linear


class ExitHead(nn.Module):
    """A float copy of the model's own classification head (its family's: BERT's pooler and
    classifier, RoBERTa's dense head, DistilBERT's pre-classifier, DeBERTa's ContextPooler,
    ModernBERT's final norm and prediction head).

    It reads [CLS] (``pooling="cls"``, DeBERTa-style: token 0) or the mean of the real tokens' states
    (``pooling="mean"``).
    """

    def __init__(self, model: HFModule, pooling: str = "cls") -> None:
        super().__init__()
        family = family_of(model)
        self.pooling = pooling
        finish = family.finish_module(model)
        self.finish = float_copy(finish) if finish is not None else nn.Identity()
        self.head = float_copy(family.vector_head(model))

    @property
    def classifier(self) -> nn.Module:
        """The head's last layer with weights (its output projection to the labels)."""
        return [m for m in self.head.modules() if hasattr(m, "weight")][-1]

    def read(self, state: EncoderState, weights: torch.Tensor | None = None) -> torch.Tensor:
        """The (batch, hidden) vector this head classifies.

        ``weights`` may pass :func:`mean_weights` of ``state.mask`` when the caller already has them.
        """
        if self.pooling == "cls":
            return self.finish(state.hidden[:, 0])
        if weights is None:
            weights = mean_weights(state.mask, state.hidden.dtype)
        return torch.bmm(weights, self.finish(state.hidden)).squeeze(1)

    def classify(self, vector: torch.Tensor) -> torch.Tensor:
        return self.head(vector)

    def forward(self, state: EncoderState, weights: torch.Tensor | None = None) -> torch.Tensor:
        return self.classify(self.read(state, weights))


def float_copy(module: HFModule) -> nn.Module:
    """A trainable float deep copy of ``module``: int8 linear layers (an earlier quantize) become float ones."""
    copied = copy.deepcopy(module)
    for name, child in list(copied.named_modules()):
        if name and callable(getattr(child, "weight", None)):  # packed int8 linear: weight() is a method
            parent_name, _, attr = name.rpartition(".")
            parent = copied.get_submodule(parent_name) if parent_name else copied
            setattr(parent, attr, float_linear(child))
    if callable(getattr(copied, "weight", None)):
        return float_linear(copied)
    for p in copied.parameters():
        p.requires_grad_(True)
    return copied.float()


def mean_weights(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(batch, 1, tokens) weights averaging the real tokens: one ``bmm`` then pools a layer."""
    weights = mask.to(dtype)
    return (weights / weights.sum(dim=1, keepdim=True).clamp(min=1)).unsqueeze(1)


def entropy(logits: torch.Tensor) -> torch.Tensor:
    """Prediction entropy in nats, per row (never negative)."""
    return torch.special.entr(logits.float().softmax(dim=-1)).sum(dim=-1)


def _build_heads(model: HFModule, n_exits: int, pooling: str = "cls") -> nn.ModuleList:
    return nn.ModuleList(ExitHead(model, pooling) for _ in range(n_exits))


def train_exit_heads(
    backbone: Layerwise, heads: nn.ModuleList, batches: Iterable[dict[str, torch.Tensor]], steps: int,
    lr: float, device: str = "cpu",
) -> float | None:
    """Train all exit heads jointly (sum of their cross-entropies), the backbone frozen.

    Args:
        backbone: run under no_grad, so it cannot change.
        heads: head ``i`` reads the states after layer ``i``.
        batches: training batches with ``labels``; the first ``steps`` are used.
        steps: optimizer steps.

    Returns:
        The last step's loss, or None when no step ran.
    """
    optimizer = torch.optim.AdamW(heads.parameters(), lr=lr)
    heads.to(device).train()
    exit_heads: list[Any] = list(heads)  # ExitHead modules (read, classify)
    loss_value = None
    for batch in itertools.islice(batches, steps):
        batch = {k: v.to(device) for k, v in batch.items()}
        with torch.no_grad():
            state = backbone.embed(batch["input_ids"], batch["attention_mask"], batch.get("token_type_ids"))
            read = []
            for index, head in enumerate(exit_heads):
                state = backbone.layer(index, state)
                read.append(head.read(state).clone())
        loss = torch.stack([
            nn.functional.cross_entropy(head.classify(vector), batch["labels"])
            for head, vector in zip(exit_heads, read, strict=True)
        ]).sum()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        loss_value = float(loss.detach())
    heads.eval()
    return loss_value


def epochs_of_batches(encoded: Sequence[Encoded], pad_id: int, seed: int) -> Iterator[dict[str, torch.Tensor]]:
    """Endless training batches, reshuffled every epoch (as the fine-tuning loop does)."""
    for epoch in itertools.count():
        yield from train_batches(encoded, EXIT_BATCH_SIZE, pad_id, seed=seed + epoch)
