"""Training regimes: which parameters a fine-tuning run updates."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from torch import nn

from joulebench.registry import Registry

#: regime key -> predicate(parameter name, number of encoder layers, top_k) -> trainable?
REGIMES: Registry[Callable[[str, int, int], bool]] = Registry("regime")

_HEAD = ("classifier.", "pre_classifier.", "qa_outputs.")
_LAYER = re.compile(r"(?:^|\.)layers?\.(\d+)\.")


def is_head(name: str) -> bool:
    """Whether parameter ``name`` belongs to the task head (classifier, pre-classifier, QA outputs)."""
    return name.startswith(_HEAD) or any(f".{h}" in name for h in _HEAD)


@REGIMES.register("full", help="fine-tune every parameter (the primary baseline)")
def _full(name: str, n_layers: int, top_k: int) -> bool:
    return True


@REGIMES.register("frozen", help="freeze the encoder, train only the classification head")
def _frozen(name: str, n_layers: int, top_k: int) -> bool:
    return is_head(name)


@REGIMES.register("top_k", help="train the top k encoder layers, the pooler and the head (train.top_k_layers)")
def _top_k(name: str, n_layers: int, top_k: int) -> bool:
    if is_head(name) or ".pooler." in f".{name}":
        return True
    match = _LAYER.search(name)
    return match is not None and int(match.group(1)) >= n_layers - top_k


def encoder_layer_count(model: nn.Module) -> int:
    """Number of transformer layers (BERT-style ``num_hidden_layers`` or DistilBERT ``n_layers``)."""
    cfg: Any = model.config
    return int(getattr(cfg, "num_hidden_layers", None) or cfg.n_layers)


def trainable_names(model: nn.Module, regime: str, top_k: int) -> list[str]:
    """Names of the parameters ``regime`` trains (raises UserError on an unknown regime)."""
    rule = REGIMES.get(regime)
    n_layers = encoder_layer_count(model)
    return [n for n, _ in model.named_parameters() if rule(n, n_layers, top_k)]
