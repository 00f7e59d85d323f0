"""DeBERTa-v2/v3: relative positions inside every layer, the ContextPooler head."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from joulebench.errors import UserError
from joulebench.models.families.base import EncoderFamily
from joulebench.models.families.glue import _Chain, _FirstToken
from joulebench.models.families.parts import (
    AttentionParts,
    HFModule,
)


class DebertaV2Family(EncoderFamily):
    """DeBERTa-v2/v3: BERT-like layers with disentangled relative-position attention, a ContextPooler."""

    model_type = "deberta-v2"
    builds_mlm_head = False
    base_attr = "deberta"
    head_description = "ContextPooler (dense + GELU over token 0) + classifier"

    def usable_positions(self, settings: dict) -> int | None:
        if not settings.get("position_biased_input", True):
            return None  # relative positions only: no table to index past
        return super().usable_positions(settings)

    def embed(self, model: HFModule, input_ids: torch.Tensor, mask: torch.Tensor,
              token_type_ids: torch.Tensor | None) -> torch.Tensor:
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        return self.encoder(model).embeddings(input_ids=input_ids, token_type_ids=token_type_ids,
                                              mask=mask.to(torch.long))

    def _relative_positions(self, encoder: HFModule, hidden: torch.Tensor,
                            positions: torch.Tensor) -> torch.Tensor | None:
        """(1, queries, keys) bucketed relative positions of one example's (1, tokens) ``positions``."""
        body = encoder.encoder
        if not body.relative_attention:
            return None
        if bool((positions == torch.arange(hidden.shape[1], device=hidden.device)).all()):
            return body.get_rel_pos(hidden)
        from transformers.models.deberta_v2.modeling_deberta_v2 import make_log_bucket_position

        relative = positions[:, :, None] - positions[:, None, :]  # original places, not the shortened ones
        if body.position_buckets > 0 and body.max_relative_positions > 0:
            relative = make_log_bucket_position(relative, body.position_buckets, body.max_relative_positions)
        return relative.to(torch.long)

    def _layer(self, model: HFModule, index: int, hidden: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor,
               with_attention: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        encoder = self.encoder(model)
        body = encoder.encoder
        layer = body.layer[index]
        same = bool((positions == positions[:1]).all())
        # transformers' disentangled attention takes one relative-position table per batch: after token
        # pruning gave examples different positions, each example runs with its own (slower, but right).
        groups = [slice(None)] if same else [slice(i, i + 1) for i in range(hidden.shape[0])]
        outs, probs = [], []
        for rows in groups:
            out, att = layer(hidden[rows], body.get_attention_mask(mask[rows].to(torch.long)),
                             output_attentions=with_attention,
                             relative_pos=self._relative_positions(encoder, hidden[rows], positions[rows][:1]),
                             rel_embeddings=body.get_rel_embedding())
            if index == 0 and body.conv is not None:
                out = body.conv(hidden[rows], out, mask[rows].to(torch.long))
            outs.append(out)
            probs.append(att)
        return torch.cat(outs), (torch.cat(probs) if with_attention else None)

    def call_layer(self, model: HFModule, index: int, hidden: torch.Tensor, mask: torch.Tensor,
                   positions: torch.Tensor) -> torch.Tensor:
        return self._layer(model, index, hidden, mask, positions, False)[0]

    def run_layer(self, model: HFModule, index: int, hidden: torch.Tensor, mask: torch.Tensor,
                  positions: torch.Tensor, with_attention: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self._layer(model, index, hidden, mask, positions, with_attention)

    def vector_head(self, model: HFModule) -> nn.Module:
        pooler = getattr(model, "pooler", None)
        return _Chain(_FirstToken(pooler) if pooler is not None else None, getattr(model, "dropout", None),
                      model.classifier)

    def classifier_names(self) -> tuple[str, ...]:
        return ("pooler", "classifier")

    def attention_parts(self, layer: HFModule, config: Any) -> AttentionParts | None:
        attention = layer.attention
        if getattr(attention, "is_headless", False):
            return None
        attn = attention.self
        if getattr(attn, "pos_key_proj", None) is not None or getattr(attn, "pos_query_proj", None) is not None:
            raise UserError("structured pruning on DeBERTa needs share_att_key: true (DeBERTa-v3's setting)")
        return AttentionParts([(attn.query_proj, 1), (attn.key_proj, 1), (attn.value_proj, 1)],
                              attention.output.dense, attn, attn.num_attention_heads, attn.attention_head_size)
