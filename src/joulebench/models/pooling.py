"""What the classification head reads: the [CLS] token through the pooler, or the mean of the tokens.

BERT's standard head reads the pooler's transform of [CLS]. Sentence encoders such as
all-MiniLM-L6-v2 were trained with mean pooling and their pooler never was: on them a head over
the mean of the real tokens fits the model. ``classifier_pooling: auto`` takes the model's own
pooling where it declares one (a sentence-transformers ``1_Pooling/config.json``), else ``cls``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import BertForSequenceClassification
from transformers.modeling_outputs import SequenceClassifierOutput

from joulebench.config.schema import CLASSIFIER_POOLINGS
from joulebench.models.families import FAMILIES

POOLINGS = CLASSIFIER_POOLINGS


def declared_pooling(target: Any) -> tuple[str, str]:
    """The pooling a model folder declares and where that came from: ``("mean", "1_Pooling/config.json")``.

    Reads a sentence-transformers pooling config (found through ``modules.json`` or at
    ``1_Pooling/``); a model declaring nothing (a Hub id, a plain classifier) is ``cls``, BERT's own.
    """
    if not isinstance(target, str) or not Path(target).is_dir():
        return "cls", "default (no pooling config)"
    folder = Path(target)
    candidates = [folder / "1_Pooling" / "config.json"]
    try:
        modules = json.loads((folder / "modules.json").read_text())
        candidates = [folder / m["path"] / "config.json" for m in modules
                      if str(m.get("type", "")).endswith("Pooling")] + candidates
    except (OSError, ValueError, TypeError, KeyError):
        pass
    for path in candidates:
        try:
            config = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        where = str(path.relative_to(folder))
        if config.get("pooling_mode_mean_tokens"):
            return "mean", where
        if config.get("pooling_mode_cls_token"):
            return "cls", where
    return "cls", "default (no pooling config)"


def mean_of_tokens(hidden: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """(batch, width) mean of the hidden states over the real tokens (``mask`` True/1)."""
    if mask is None:
        return hidden.mean(dim=1)
    weights = mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


class MeanPooledBertForSequenceClassification(BertForSequenceClassification):
    """BERT's classifier reading the mean of the real tokens instead of the pooler's [CLS].

    The pooler is removed (its weights would never be used and would count as parameters);
    everything else, the parameter names included, is BERT's own, so masks, quantization and
    layer-wise reductions apply unchanged.
    """

    classifier_pooling = "mean"
    num_labels: int

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.bert.pooler = None

    def forward(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                **kwargs: Any) -> SequenceClassifierOutput:
        kwargs.pop("return_dict", None)
        outputs = self.bert(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, **kwargs)
        pooled = mean_of_tokens(outputs.last_hidden_state, attention_mask)
        return _output(self.classifier(self.dropout(pooled)), labels, self.num_labels, outputs)


def _output(logits: torch.Tensor, labels: torch.Tensor | None, num_labels: int,
            outputs: Any) -> SequenceClassifierOutput:
    loss = None
    if labels is not None:
        loss = nn.functional.mse_loss(logits.view(-1), labels.float().view(-1)) if num_labels == 1 else \
            nn.functional.cross_entropy(logits.view(-1, num_labels), labels.view(-1))
    return SequenceClassifierOutput(loss=loss, logits=logits, hidden_states=getattr(outputs, "hidden_states", None),
                                    attentions=getattr(outputs, "attentions", None))


class _MeanPooledMixin:
    """Any family's classifier reading the mean of the real tokens, through the family's own head."""

    classifier_pooling = "mean"

    def forward(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                **kwargs: Any) -> SequenceClassifierOutput:
        from joulebench.models.families import family_of

        family = family_of(self)  # type: ignore[arg-type]
        given = {"token_type_ids": token_type_ids} if family.takes_token_type_ids and token_type_ids is not None else {}
        outputs = family.encoder(self)(input_ids=input_ids, attention_mask=attention_mask, **given)  # type: ignore[arg-type]
        pooled = mean_of_tokens(outputs.last_hidden_state, attention_mask)
        logits = family.vector_head(self)(pooled)  # type: ignore[arg-type]
        return _output(logits, labels, self.num_labels, outputs)  # type: ignore[attr-defined]


_MEAN_CLASSES: dict[type, type] = {}


def mean_pooled_class(model_cls: type) -> type:
    """The mean-pooled variant of a family's sequence classifier class (BERT: the pooler-free class above)."""
    if model_cls is BertForSequenceClassification:
        return MeanPooledBertForSequenceClassification
    if model_cls not in _MEAN_CLASSES:
        _MEAN_CLASSES[model_cls] = type(f"MeanPooled{model_cls.__name__}", (_MeanPooledMixin, model_cls), {})
    return _MEAN_CLASSES[model_cls]


def pooling_of(model: nn.Module) -> str:
    """The pooling a loaded classifier's head uses ("mean" or "cls")."""
    declared = getattr(model, "classifier_pooling", None)
    if declared is not None:
        return declared
    config = getattr(model, "config", None)  # a family may declare it on its config (ModernBERT)
    model_type = getattr(config, "model_type", None)
    if not isinstance(model_type, str) or model_type not in FAMILIES:
        return "cls"
    return FAMILIES.get(model_type).configured_pooling(config) or "cls"
