"""ModernBERT: fused Q/K/V, rotary positions and a sliding window, gated FFN, its own prediction head."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from joulebench.models.families.base import EncoderFamily, additive_mask
from joulebench.models.families.glue import _Chain
from joulebench.models.families.parts import (
    AttentionParts,
    ConstantAttention,
    FeedForwardParts,
    HFModule,
)


class ModernBertFamily(EncoderFamily):
    """ModernBERT: pre-LN layers with fused QKV, rotary positions, alternating global/sliding-window
    attention, a gated FFN, a final norm and a dense + GELU + norm prediction head."""

    model_type = "modernbert"
    builds_mlm_head = False
    engine_refusals: ClassVar[dict[str, str]] = {
        "openvino": "its converted attention gives NaN logits on padded rows (OpenVINO 2026.4, seen in "
                    "tests/unit/families/test_family_adapters.py)"}
    base_attr = "model"
    layers_path = "layers"
    takes_token_type_ids = False
    head_description = "final norm, then token 0 (or mean), dense + GELU + LayerNorm head + classifier"

    def configured_pooling(self, config: Any) -> str | None:
        """ModernBERT declares its head's pooling on its config (``classifier_pooling``: cls or mean)."""
        return "mean" if getattr(config, "classifier_pooling", "cls") == "mean" else None

    def keep_layers(self, model: HFModule, indices: list[int]) -> int:
        total = super().keep_layers(model, indices)
        types = getattr(model.config, "layer_types", None)
        if types is not None and len(types) == total:
            model.config.layer_types = [types[i] for i in indices]
        return total

    def embed(self, model: HFModule, input_ids: torch.Tensor, mask: torch.Tensor,
              token_type_ids: torch.Tensor | None) -> torch.Tensor:
        return self.encoder(model).embeddings(input_ids=input_ids)

    def attention_module(self, layer: HFModule) -> nn.Module:
        return layer.attn

    def call_layer(self, model: HFModule, index: int, hidden: torch.Tensor, mask: torch.Tensor,
                   positions: torch.Tensor) -> torch.Tensor:
        encoder = self.encoder(model)
        layer = encoder.layers[index]
        kind = getattr(layer, "attention_type", "full_attention")
        keys = mask[:, None, None, :]
        attention_mask: torch.Tensor | None
        if kind == "sliding_attention":
            window = int(model.config.sliding_window)
            near = (positions[:, :, None] - positions[:, None, :]).abs() <= window
            allowed = keys & near[:, None]
            attention_mask = torch.zeros(allowed.shape, dtype=hidden.dtype, device=hidden.device).masked_fill(
                ~allowed, torch.finfo(hidden.dtype).min)
        else:
            attention_mask = additive_mask(mask, hidden.dtype)
        rotary = encoder.rotary_emb(hidden, positions, kind)
        return layer(hidden, attention_mask=attention_mask, position_embeddings=rotary)

    def finish(self, model: HFModule, hidden: torch.Tensor) -> torch.Tensor:
        return self.encoder(model).final_norm(hidden)

    def finish_module(self, model: HFModule) -> nn.Module | None:
        return self.encoder(model).final_norm

    def vector_head(self, model: HFModule) -> nn.Module:
        return _Chain(model.head, model.drop, model.classifier)

    def classifier_names(self) -> tuple[str, ...]:
        return ("head", "classifier")

    def mlm_head(self, mlm_model: HFModule) -> nn.Module:
        return _Chain(mlm_model.head, mlm_model.decoder)

    def attention_parts(self, layer: HFModule, config: Any) -> AttentionParts | None:
        attn = layer.attn
        if getattr(attn, "is_headless", False):
            return None
        heads = attn.Wqkv.out_features // (3 * attn.head_dim)
        return AttentionParts([(attn.Wqkv, 3)], attn.Wo, attn, heads, attn.head_dim)

    def ffn_parts(self, layer: HFModule) -> FeedForwardParts:
        return FeedForwardParts(layer.mlp.Wi, 2, layer.mlp.Wo)

    def remove_all_heads(self, layer: HFModule) -> None:
        layer.attn = ConstantAttention(layer.attn.Wo.bias)

    def head_count_attributes(self) -> tuple[str, ...]:
        return ()

    def remove_all_units(self, layer: HFModule) -> bool:
        return False
