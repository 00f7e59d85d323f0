"""Model families: where each encoder family keeps its parts, and how a layer is called.

Every reduction that reaches inside a model (layer drop, early exit, token pruning, structured
pruning, distillation, MLM tickets) asks the family adapter of the model's ``model_type`` instead
of assuming BERT's attribute layout. An adapter says:

* where the encoder (``base``), its embeddings and its layer list are, and which config keys
  count the layers;
* how the embeddings are computed and whether the model takes ``token_type_ids``;
* how one layer is called on (hidden states, mask of real tokens, token positions), optionally
  returning its attention probabilities (token pruning ranks tokens by them);
* what the classification head does with the pooled vector (BERT's pooler + classifier,
  RoBERTa's and ELECTRA's dense head over token 0, DistilBERT's pre-classifier, DeBERTa's
  ContextPooler, ModernBERT's final norm and prediction head);
* the attention and feed-forward parts structured pruning slices (separate or fused Q/K/V, the
  output projections, gated FFNs).

Adding a family is one module here (a subclass of ``base.EncoderFamily``) and one line in
``FAMILIES``. Token positions travel with the hidden states
so that families whose positions enter inside every layer (DeBERTa's relative positions,
ModernBERT's rotary embeddings and sliding window) stay correct after tokens were removed.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from joulebench.errors import UserError
from joulebench.models.families.base import EncoderFamily, additive_mask, eager_attention
from joulebench.models.families.deberta import DebertaV2Family
from joulebench.models.families.distilbert import DistilBertFamily
from joulebench.models.families.modernbert import ModernBertFamily
from joulebench.models.families.parts import (
    AttentionParts,
    ConstantAttention,
    FeedForwardParts,
    HeadlessAttention,
    SkippedIntermediate,
    UnitlessOutput,
)
from joulebench.models.families.roberta import ElectraFamily, RobertaFamily, XlmRobertaFamily
from joulebench.registry import Registry

#: A transformers module tree navigated by attribute (torch types such attributes as ``Tensor | Module``).
HFModule = Any

__all__ = ["DECODER_TYPES", "FAMILIES", "AttentionParts", "ConstantAttention", "DebertaV2Family", "DistilBertFamily",
           "ElectraFamily", "EncoderFamily", "FeedForwardParts", "HeadlessAttention", "ModernBertFamily",
           "RobertaFamily", "SkippedIntermediate", "UnitlessOutput", "XlmRobertaFamily", "additive_mask",
           "eager_attention", "family_for_type", "family_of", "support_matrix"]

#: model_type -> its adapter. Adding a family is one subclass and one line here.
FAMILIES: Registry[EncoderFamily] = Registry("model family", plural="model families")
for _family in (EncoderFamily(), RobertaFamily(), XlmRobertaFamily(), ElectraFamily(), DistilBertFamily(),
                DebertaV2Family(), ModernBertFamily()):
    FAMILIES.register(_family.model_type, help=_family.head_description)(_family)

#: model types that are decoders (causal LMs), refused with a pointed message.
DECODER_TYPES = ("gpt2", "gpt_neo", "gpt_neox", "gptj", "llama", "mistral", "mixtral", "qwen2", "qwen3", "phi",
                 "phi3", "gemma", "gemma2", "gemma3", "opt", "bloom", "falcon", "mpt", "olmo", "smollm3")


def family_for_type(model_type: str | None, where: str = "model") -> EncoderFamily:
    """The adapter of ``model_type``.

    Raises:
        UserError: a decoder-only model or a model type no adapter covers, in one line.
    """
    if model_type in FAMILIES:
        return FAMILIES.get(str(model_type))
    supported = ", ".join(FAMILIES.names())
    if model_type in DECODER_TYPES:
        raise UserError(f"{where}: model_type {model_type!r} is a decoder-only language model; joulebench "
                        f"measures encoders ({supported})")
    raise UserError(f"{where}: unsupported model_type {model_type!r}; supported encoder families: {supported}")


def family_of(model: HFModule) -> EncoderFamily:
    """The adapter of a loaded model (read through wrappers such as early exit or token pruning)."""
    config = getattr(model, "config", None)
    return family_for_type(getattr(config, "model_type", None), f"model {type(model).__name__}")


def engine_refusals() -> list[tuple[str, str, str]]:
    """(family, engine, why) for every engine a family cannot run on here."""
    return [(name, engine, why) for name in FAMILIES.names()
            for engine, why in FAMILIES.get(name).engine_refusals.items()]


def encoder_model(model: nn.Module) -> tuple[nn.Module, EncoderFamily] | None:
    """The first task model inside ``model`` (itself, or the one a wrapper such as early exit or token pruning
    holds) whose family finds its layers, with that family; None when there is none."""
    for _, module in model.named_modules():
        model_type = getattr(getattr(module, "config", None), "model_type", None)
        if not isinstance(model_type, str) or model_type not in FAMILIES:
            continue
        family = FAMILIES.get(model_type)
        try:
            family.layers(module)
        except UserError:  # a config-holding part without the layout (an encoder's sub-module, a wrapper)
            continue
        return module, family
    return None


def parameter_roles(model: nn.Module) -> dict[str, tuple[str, int | None]]:
    """Each parameter of ``model`` by role (:meth:`EncoderFamily.parameter_roles`), also through wrappers: the
    roles of the task model inside; a parameter outside it is ``encoder``."""
    found = encoder_model(model)
    if found is None:
        return {n: ("encoder", None) for n, _ in model.named_parameters()}
    inner, family = found
    roles = family.parameter_roles(inner)
    by_id = {id(p): roles[n] for n, p in inner.named_parameters()}
    return {n: by_id.get(id(p), ("encoder", None)) for n, p in model.named_parameters()}


def layer_count(model: nn.Module) -> int:
    """Encoder layers of a task model (or of the one a wrapper holds), as its family lays them out."""
    found = encoder_model(model)
    if found is None:
        raise UserError(f"model {type(model).__name__}: no encoder of a supported family inside")
    return len(found[1].layers(found[0]))


def support_matrix(reductions: list[str]) -> list[tuple[str, dict[str, str]]]:
    """Family x reduction: ``"yes"`` or the family's reason for refusing, from the adapters themselves.

    Refusals by task kind are the kinds' own and are listed separately by ``ls``, as are the engines a family
    refuses (:func:`engine_refusals`).
    """
    rows = []
    for name in FAMILIES.names():
        family = FAMILIES.get(name)
        rows.append((name, {r: family.refusals.get(r, "yes") for r in reductions}))
    return rows
