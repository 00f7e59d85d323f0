"""DistilBERT: its own attribute names, no token types, a pre-classifier head."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from joulebench.models.families.base import EncoderFamily, additive_mask
from joulebench.models.families.glue import _Chain, _Relu
from joulebench.models.families.parts import (
    AttentionParts,
    ConstantAttention,
    FeedForwardParts,
    HFModule,
)


class DistilBertFamily(EncoderFamily):
    """DistilBERT: ``transformer.layer``, fused attention block (q_lin, k_lin, v_lin, out_lin), no segments."""

    model_type = "distilbert"
    builds_mlm_head = False
    width_keys: ClassVar[dict[str, str]] = {"hidden": "dim", "heads": "n_heads", "ffn": "hidden_dim"}
    base_attr = "distilbert"
    layers_path = "transformer.layer"
    layer_count_keys = ("n_layers", "num_hidden_layers")
    takes_token_type_ids = False
    head_description = "pre_classifier + ReLU + classifier over token 0 ([CLS])"

    def embed(self, model: HFModule, input_ids: torch.Tensor, mask: torch.Tensor,
              token_type_ids: torch.Tensor | None) -> torch.Tensor:
        return self.encoder(model).embeddings(input_ids)

    def attention_module(self, layer: HFModule) -> nn.Module:
        return layer.attention

    def call_layer(self, model: HFModule, index: int, hidden: torch.Tensor, mask: torch.Tensor,
                   positions: torch.Tensor) -> torch.Tensor:
        return self.layers(model)[index](hidden, attention_mask=additive_mask(mask, hidden.dtype))

    def vector_head(self, model: HFModule) -> nn.Module:
        if getattr(model, "pre_classifier", None) is None:
            return _Chain(getattr(model, "dropout", None), model.classifier)
        return _Chain(model.pre_classifier, _Relu(), model.dropout, model.classifier)

    def classifier_names(self) -> tuple[str, ...]:
        return ("pre_classifier", "classifier")

    def mlm_head(self, mlm_model: HFModule) -> nn.Module:
        return _Chain(mlm_model.vocab_transform, mlm_model.activation, mlm_model.vocab_layer_norm,
                      mlm_model.vocab_projector)

    def attention_parts(self, layer: HFModule, config: Any) -> AttentionParts | None:
        attn = layer.attention
        if getattr(attn, "is_headless", False):
            return None
        return AttentionParts([(attn.q_lin, 1), (attn.k_lin, 1), (attn.v_lin, 1)], attn.out_lin, attn,
                              attn.n_heads, attn.attention_head_size)

    def ffn_parts(self, layer: HFModule) -> FeedForwardParts:
        return FeedForwardParts(layer.ffn.lin1, 1, layer.ffn.lin2)

    def remove_all_heads(self, layer: HFModule) -> None:
        layer.attention = ConstantAttention(layer.attention.out_lin.bias)

    def head_count_attributes(self) -> tuple[str, ...]:
        return ("n_heads",)

    def remove_all_units(self, layer: HFModule) -> bool:
        return False
