"""token_prune: PoWER-BERT-style removal of the tokens that receive the least attention.

After each chosen layer, every token is scored by the attention it received (attention
probabilities summed over heads and over the real, non-padding queries; Goyal et al. 2020,
"PoWER-BERT"). The lowest-scoring tokens are removed from the hidden states and the mask with a
gather, so every later layer computes on a shorter sequence. [CLS] is always kept (the
classifier reads it) and padding never displaces a real token.

``keep_ratio`` is the fraction of each example's real tokens left after the last pruning layer;
with several layers it is reached geometrically (each keeps ``keep_ratio ** (1/n)`` of what
reaches it), the "progressively fewer" retention schedule of PoWER-BERT with one knob.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from joulebench.errors import UserError
from joulebench.reductions.base import ReductionContext, param, register_reduction
from joulebench.reductions.encoder import (
    EncoderState,
    LayerwiseBert,
    additive_mask,
    as_layerwise,
    layer_with_attention,
)


@dataclass(frozen=True)
class TokenPruneConfig:
    """Parameters of ``token_prune``."""

    keep_ratio: float = param("Fraction of each example's real tokens kept after the last pruning layer, in (0, 1].")
    after_layers: tuple[int, ...] = param(
        "Encoder layers (1-based) after which tokens are pruned; several layers prune progressively.", (1, 2, 3)
    )

    def validate(self) -> None:
        """Raise ValueError naming the field when a value is impossible."""
        if not 0 < self.keep_ratio <= 1:
            raise ValueError(f"keep_ratio must be in (0, 1], got {self.keep_ratio}")
        layers = self.after_layers
        if (
            not isinstance(layers, (list, tuple)) or not layers
            or any(isinstance(x, bool) or not isinstance(x, int) for x in layers)
        ):
            raise ValueError(f"after_layers must be a non-empty list of layer numbers, got {layers!r}")
        if min(layers) < 1 or list(layers) != sorted(set(layers)):
            raise ValueError(f"after_layers must be increasing layer numbers >= 1, got {list(layers)}")


def attention_received(probs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(batch, keys) attention each token receives, summed over heads and real queries.

    Args:
        probs: (batch, heads, queries, keys) attention probabilities.
        mask: (batch, tokens) True for real tokens; padding queries do not vote.
    """
    return (probs * mask[:, None, :, None].to(probs.dtype)).sum(dim=(1, 2))


def keep_counts(mask: torch.Tensor, ratio: float) -> torch.Tensor:
    """(batch,) tokens to keep per example: ``ceil(ratio * real tokens)``, at least 1 ([CLS])."""
    return torch.ceil(mask.sum(dim=1).to(torch.float64) * ratio).long().clamp(min=1)


def select_tokens(
    hidden: torch.Tensor, mask: torch.Tensor, scores: torch.Tensor, counts: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Keep the top ``counts[b]`` tokens of each example by score, in their original order.

    [CLS] (position 0) always ranks first and padding last, so padding is never kept over a real
    token. The batch is cut to the largest count; an example keeping fewer tokens fills the rest
    with masked slots.

    Returns:
        hidden (batch, kept, width), mask (batch, kept) and the kept positions (batch, kept).
    """
    scores = scores.masked_fill(~mask, float("-inf"))
    scores[:, 0] = float("inf")
    width = int(counts.max())
    top = scores.topk(width, dim=1).indices
    kept = torch.arange(width, device=mask.device)[None, :] < counts[:, None]
    positions, order = top.sort(dim=1)
    kept = kept.gather(1, order) & mask.gather(1, positions)
    hidden = hidden.gather(1, positions[:, :, None].expand(-1, -1, hidden.shape[-1]))
    return hidden, kept, positions


class TokenPrunedBert(nn.Module):
    """A BERT classifier that drops low-attention tokens after some layers.

    Runs layer by layer (``embed``/``layer``/``head``), so early exit can be stacked on top.

    Args:
        backbone: the model, run layer by layer.
        keep_ratio: fraction of real tokens left after the last pruning layer.
        after_layers: 1-based layers after which tokens are pruned.
    """

    is_layerwise: ClassVar[bool] = True
    realised_family: ClassVar[str] = "token_prune"

    def __init__(self, backbone: LayerwiseBert, keep_ratio: float, after_layers: Sequence[int]) -> None:
        super().__init__()
        self.backbone = backbone
        self.config = backbone.config
        self.keep_ratio = keep_ratio
        self.after_layers = tuple(after_layers)
        self.step_ratio = keep_ratio ** (1.0 / len(self.after_layers))
        self.reset_realised()

    @property
    def num_layers(self) -> int:
        return self.backbone.num_layers

    def reset_realised(self) -> None:
        """Forget the token counts seen so far."""
        self._kept_sum = 0.0
        self._kept_examples = 0
        self._token_layers = 0
        self._token_layers_dense = 0

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
              token_type_ids: torch.Tensor | None = None) -> EncoderState:
        return self.backbone.embed(input_ids, attention_mask, token_type_ids)

    def layer(self, index: int, state: EncoderState) -> EncoderState:
        self._token_layers += int(state.real_tokens.sum())
        self._token_layers_dense += int(state.input_tokens.sum())
        if index + 1 not in self.after_layers:
            return self.backbone.layer(index, state)
        block = self.backbone.block(index)
        hidden, probs = layer_with_attention(block, state.hidden, additive_mask(state.mask, state.hidden.dtype))
        counts = keep_counts(state.mask, self.step_ratio)
        if index + 1 == self.after_layers[-1]:
            self._kept_sum += float((counts / state.input_tokens.clamp(min=1)).sum())
            self._kept_examples += int(counts.shape[0])
        if int(counts.max()) == state.mask.shape[1]:
            return EncoderState(hidden, state.mask, state.input_tokens)  # nothing to remove
        hidden, mask, _ = select_tokens(hidden, state.mask, attention_received(probs, state.mask), counts)
        return EncoderState(hidden, mask, state.input_tokens)

    def head(self, state: EncoderState) -> torch.Tensor:
        return self.backbone.head(state)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        state = self.embed(input_ids, attention_mask, token_type_ids)
        for index in range(self.num_layers):
            state = self.layer(index, state)
        return self.head(state)

    def realised_details(self) -> dict:
        """What pruning realised over the examples seen since the last reset.

        ``tokens_kept_ratio``: real tokens left after the last pruning layer / real tokens in,
        averaged over examples. ``token_layers_ratio``: real tokens the layers processed / what
        they would have processed unpruned (the share of per-token layer compute that remains).
        """
        return {
            "tokens_kept_ratio": round(self._kept_sum / self._kept_examples, 4) if self._kept_examples else None,
            "token_layers_ratio": (
                round(self._token_layers / self._token_layers_dense, 4) if self._token_layers_dense else None
            ),
        }


@register_reduction("token_prune", help="PoWER-BERT: drop the least-attended tokens after chosen layers")
class TokenPrune:
    """Shorten the sequence between layers by attention received."""

    config_cls: ClassVar[type] = TokenPruneConfig

    @staticmethod
    def check_chain(cfg: TokenPruneConfig, before: Sequence[str], device: str | None) -> None:
        """Pruning wraps the plain model: it must come before early exit and only once."""
        if "early_exit" in before:
            raise ValueError("token_prune must come before early_exit (early exit runs on the pruned layers)")
        if "exported_graph" in before:
            raise ValueError("token_prune must come before quantize with backend onnxruntime (a fixed graph)")
        if "token_prune" in before:
            raise ValueError("token_prune is listed twice; give one after_layers list instead")

    def apply(self, model: nn.Module, cfg: TokenPruneConfig, ctx: ReductionContext) -> tuple[nn.Module, dict]:
        """Wrap ``model`` so that it prunes tokens while it runs."""
        backbone = as_layerwise(model)
        if not isinstance(backbone, LayerwiseBert):
            raise UserError("token_prune must wrap the plain model; list it before early_exit")
        last = max(cfg.after_layers)
        if last >= backbone.num_layers:
            raise UserError(
                f"token_prune: after_layers has {last} but the model has {backbone.num_layers} encoder layers; "
                f"pruning after layer {backbone.num_layers} or later saves nothing"
            )
        pruned = TokenPrunedBert(backbone, cfg.keep_ratio, cfg.after_layers)
        step = pruned.step_ratio
        return pruned.eval(), {
            "keep_ratio": cfg.keep_ratio,
            "after_layers": list(cfg.after_layers),
            "keep_ratio_per_step": round(step, 4),
            "nominal_token_layers_ratio": round(_nominal_token_layers(backbone.num_layers, cfg.after_layers, step), 4),
        }


def _nominal_token_layers(n_layers: int, after: Sequence[int], step: float) -> float:
    """Share of per-token layer compute left if every example kept exactly ``step`` per pruning."""
    fraction, total = 1.0, 0.0
    for index in range(n_layers):
        total += fraction
        if index + 1 in after:
            fraction *= step
    return total / n_layers
