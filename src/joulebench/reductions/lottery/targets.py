"""Which weights a ticket prunes, and the names masks use for them.

Chen et al. (2020) prune the weight matrices of every Linear layer of the BERT encoder, the
attention query/key/value/output and both feed-forward matrices of each layer, plus the pooler;
embeddings, biases, LayerNorm and the task head stay dense. Here that is "the ``weight`` of every
``nn.Linear`` inside the model's base (``model.base_model``), outside its embeddings". For BERT it
gives exactly the paper's list, and the rule carries over to other encoders without a table.

``targets`` picks the set: ``encoder+pooler`` (Chen et al.'s, the default) or ``encoder``, which
keeps the pooler dense. The second exists for checkpoints whose pooler was never trained, such as
the packaged all-MiniLM-L6-v2 (sentence-transformers train with mean pooling): its pooler weights
are ~10x smaller than the encoder's (mean |w| 0.007 vs 0.03-0.07, bias 0), so a global magnitude
ranking deletes the whole pooler by 40-50% sparsity, after which the classifier sees a constant.

Mask keys are parameter names relative to the base model (``encoder.layer.0.attention.self.query.
weight``, ``pooler.dense.weight``), so one mask fits the classifier (``bert.`` prefix), the
masked-language model built for MLM tickets, and a bare ``BertModel`` alike.
"""

from __future__ import annotations

import torch
from torch import nn


def base_model(model: nn.Module) -> nn.Module:
    """The encoder inside ``model`` (``model.base_model`` for Hugging Face models, else ``model``)."""
    base = getattr(model, "base_model", None)
    return base if isinstance(base, nn.Module) else model


#: The target sets a mask may prune.
TARGETS = ("encoder+pooler", "encoder")
DEFAULT_TARGETS = "encoder+pooler"


def _is_target(name: str, module: nn.Module, targets: str) -> bool:
    if not isinstance(module, nn.Linear) or name.startswith("embeddings"):
        return False
    return targets == "encoder+pooler" or not name.startswith("pooler")


def check_targets(targets: str) -> None:
    """Raise ValueError for an unknown target set."""
    if targets not in TARGETS:
        raise ValueError(f"targets must be one of {', '.join(TARGETS)}, got {targets!r}")


def prunable_linears(model: nn.Module, targets: str = DEFAULT_TARGETS) -> dict[str, nn.Linear]:
    """Module name (relative to the base model) -> each prunable Linear, in model order."""
    check_targets(targets)
    return {name: m for name, m in base_model(model).named_modules() if _is_target(name, m, targets)}


def prunable_weights(model: nn.Module, targets: str = DEFAULT_TARGETS) -> dict[str, torch.Tensor]:
    """Mask key (``<module>.weight``) -> the weight matrix a ticket prunes, in model order."""
    return {f"{name}.weight": m.weight for name, m in prunable_linears(model, targets).items()}


def full_name_prefix(model: nn.Module) -> str:
    """The prefix turning a mask key into a parameter name of ``model`` (``"bert."`` or ``""``)."""
    base = base_model(model)
    if base is model:
        return ""
    for name, module in model.named_modules():
        if module is base:
            return f"{name}."
    return ""
