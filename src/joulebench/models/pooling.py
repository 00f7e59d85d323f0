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
from joulebench.errors import UserError

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

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.bert.pooler = None

    def forward(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                **kwargs: Any) -> SequenceClassifierOutput:
        kwargs.pop("return_dict", None)
        outputs = self.bert(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, **kwargs)
        pooled = mean_of_tokens(outputs.last_hidden_state, attention_mask)
        logits = self.classifier(self.dropout(pooled))
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1))
        return SequenceClassifierOutput(loss=loss, logits=logits, hidden_states=outputs.hidden_states,
                                        attentions=outputs.attentions)


def pooling_of(model: nn.Module) -> str:
    """The pooling a loaded classifier's head uses ("mean" or "cls")."""
    return getattr(model, "classifier_pooling", "cls")


def check_mean_supported(model_type: str | None, ref: str) -> None:
    """Mean pooling is built on BERT's layout; other families get a one-line error."""
    if model_type != "bert":
        raise UserError(
            f"classifier_pooling: mean needs a BERT-layout model (model_type 'bert'); {ref!r} is "
            f"{model_type!r}: use classifier_pooling: cls"
        )
