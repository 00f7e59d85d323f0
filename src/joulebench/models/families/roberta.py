"""RoBERTa, XLM-RoBERTa and ELECTRA: BERT's layout with a dense head over token 0."""

from __future__ import annotations

import torch
from torch import nn

from joulebench.models.families.base import EncoderFamily
from joulebench.models.families.glue import _Chain, _FirstToken
from joulebench.models.families.parts import (
    HFModule,
)


class RobertaFamily(EncoderFamily):
    """RoBERTa: BERT's layers, a dense head over token 0 (``classifier.dense`` + tanh + ``out_proj``)."""

    model_type = "roberta"
    base_attr = "roberta"
    head_description = "dense + tanh + out_proj over token 0 (<s>)"
    builds_mlm_head = False

    def usable_positions(self, settings: dict) -> int | None:
        """Positions start after the padding index: the table covers ``max_position_embeddings - pad - 1``."""
        count = super().usable_positions(settings)
        return None if count is None else count - int(settings.get("pad_token_id", 1)) - 1

    def vector_head(self, model: HFModule) -> nn.Module:
        head = model.classifier
        if hasattr(head, "out_proj"):
            return _FirstToken(head)
        return super().vector_head(model)


    def mlm_head(self, mlm_model: HFModule) -> nn.Module:
        return mlm_model.lm_head


class XlmRobertaFamily(RobertaFamily):
    """XLM-RoBERTa: RoBERTa's layout."""

    model_type = "xlm-roberta"


class ElectraFamily(RobertaFamily):
    """ELECTRA (discriminator): BERT's layers; a dense + GELU + out_proj head over token 0."""

    model_type = "electra"
    base_attr = "electra"
    head_description = "dense + GELU + out_proj over token 0 ([CLS])"
    usable_positions = EncoderFamily.usable_positions  # BERT's absolute positions from 0

    def embed(self, model: HFModule, input_ids: torch.Tensor, mask: torch.Tensor,
              token_type_ids: torch.Tensor | None) -> torch.Tensor:
        encoder = self.encoder(model)
        hidden = encoder.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)
        project = getattr(encoder, "embeddings_project", None)
        return project(hidden) if project is not None else hidden

    def mlm_head(self, mlm_model: HFModule) -> nn.Module:
        return _Chain(mlm_model.generator_predictions, mlm_model.generator_lm_head)
