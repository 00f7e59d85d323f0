"""BERT's layout, the base adapter every family refines, and the helpers layers are called with."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, ClassVar

import torch
from torch import nn

from joulebench.errors import UserError
from joulebench.models.families.glue import _Chain, _TanhDense
from joulebench.models.families.parts import (
    AttentionParts,
    FeedForwardParts,
    HeadlessAttention,
    HFModule,
    SkippedIntermediate,
    UnitlessOutput,
)


def additive_mask(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor | None:
    """(batch, 1, 1, tokens) additive key mask, or None when there is no padding.

    None lets SDPA pick its fastest (unmasked) kernel, as the stock model does for unpadded input.
    """
    if bool(mask.all()):
        return None
    return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(
        ~mask, torch.finfo(dtype).min
    )[:, None, None, :]


@contextlib.contextmanager
def eager_attention(config: Any) -> Iterator[None]:
    """Run with eager attention (which returns its probabilities) for the duration of the block.

    The setting lives on the config that every layer shares, so it is restored right after.
    """
    before = config._attn_implementation
    config._attn_implementation = "eager"
    try:
        yield
    finally:
        config._attn_implementation = before


def _path(root: nn.Module, path: str) -> Any:
    node: Any = root
    for name in path.split("."):
        node = getattr(node, name, None)
        if node is None:
            return None
    return node


class EncoderFamily:
    """BERT's layout (also MiniLM, RoBERTa, XLM-RoBERTa, ELECTRA): the base of the adapters.

    Attributes:
        model_type: the ``model_type`` of the family's transformers config.
        base_attr: attribute of a task model holding the encoder.
        layers_path: path from the encoder to its layer list.
        layer_count_keys: config keys holding the number of layers.
        width_keys: config keys holding the width (``hidden``), attention heads (``heads``) and FFN units (``ffn``).
        takes_token_type_ids: whether the encoder reads segment ids.
        head_description: what the stock classification head reads, for the support matrix.
        refusals: reduction name -> why this family cannot take it (refused at validate, shown by ``ls``).
        engine_refusals: engine name -> why that engine cannot run this family here (refused at validate, shown by
            ``ls``).
        builds_mlm_head: whether joulebench builds the masked-LM head itself (BERT's transform + decoder, the
            checkpoint's weights loaded where it has them); False where the family's ``...ForMaskedLM`` supplies
            it (:meth:`mlm_head`).
    """

    model_type: ClassVar[str] = "bert"
    base_attr: ClassVar[str] = "bert"
    layers_path: ClassVar[str] = "encoder.layer"
    layer_count_keys: ClassVar[tuple[str, ...]] = ("num_hidden_layers",)
    width_keys: ClassVar[dict[str, str]] = {"hidden": "hidden_size", "heads": "num_attention_heads",
                                            "ffn": "intermediate_size"}
    takes_token_type_ids: ClassVar[bool] = True
    head_description: ClassVar[str] = "pooler (dense + tanh over [CLS]) + classifier"
    refusals: ClassVar[dict[str, str]] = {}
    engine_refusals: ClassVar[dict[str, str]] = {}
    builds_mlm_head: ClassVar[bool] = True

    # -- facts read from a config.json before anything loads ----------------------------------------------
    def usable_positions(self, settings: dict) -> int | None:
        """How many tokens the position table of a model with this ``config.json`` covers (None: no absolute
        table, or not stated)."""
        count = settings.get("max_position_embeddings")
        return count if isinstance(count, int) else None

    def widths(self, config: Any) -> dict[str, int]:
        """``hidden``, ``heads`` and ``ffn`` of a transformers config of this family (those it states)."""
        found = {key: getattr(config, name, None) for key, name in self.width_keys.items()}
        return {key: value for key, value in found.items() if isinstance(value, int) and value > 0}

    def configured_pooling(self, config: Any) -> str | None:
        """The pooling a loaded classifier's config declares for its head, None where the family's config says
        nothing (joulebench's own mean-pooled heads say it on the model)."""
        return None

    # -- where things are ------------------------------------------------------------------
    def encoder(self, model: HFModule) -> HFModule:
        """The encoder (embeddings + layers) of a task model, or ``model`` when it is the encoder."""
        base = getattr(model, self.base_attr, None)
        if isinstance(base, nn.Module) and base is not model:
            return base
        if _path(model, self.layers_path) is not None:
            return model
        raise UserError(f"model {type(model).__name__}: no {self.model_type} encoder found at "
                        f".{self.base_attr}.{self.layers_path}")

    def layer_list(self, model: HFModule) -> tuple[nn.Module, str, nn.ModuleList]:
        """The module owning the layer list, the list's attribute name and the list."""
        encoder = self.encoder(model)
        owner_path, _, attr = self.layers_path.rpartition(".")
        owner = _path(encoder, owner_path) if owner_path else encoder
        layers = getattr(owner, attr, None)
        if not isinstance(layers, nn.ModuleList):
            raise UserError(f"model {type(model).__name__}: no layer list at {self.layers_path}")
        return owner, attr, layers

    def layers(self, model: HFModule) -> nn.ModuleList:
        """The encoder's list of layers."""
        return self.layer_list(model)[2]

    def keep_layers(self, model: HFModule, indices: list[int]) -> int:
        """Keep only the layers at ``indices`` (0-based, in that order), in place; return the old count.

        The config's layer count follows, so ``save_pretrained`` and reloading see the same model.
        """
        owner, attr, layers = self.layer_list(model)
        setattr(owner, attr, nn.ModuleList([layers[i] for i in indices]))
        for name in self.layer_count_keys:
            if hasattr(model.config, name):
                setattr(model.config, name, len(indices))
        return len(layers)

    # -- running layer by layer ----------------------------------------------------------
    def embed(self, model: HFModule, input_ids: torch.Tensor, mask: torch.Tensor,
              token_type_ids: torch.Tensor | None) -> torch.Tensor:
        """Embeddings of a batch (``mask``: bool, True for real tokens)."""
        return self.encoder(model).embeddings(input_ids=input_ids, token_type_ids=token_type_ids)

    def attention_module(self, layer: HFModule) -> nn.Module:
        """The module returning ``(context or output, attention probabilities)`` under eager attention."""
        return layer.attention.self

    def call_layer(self, model: HFModule, index: int, hidden: torch.Tensor, mask: torch.Tensor,
                   positions: torch.Tensor) -> torch.Tensor:
        """One layer on ``hidden`` (``mask`` bool real tokens, ``positions`` the tokens' original places)."""
        layer = self.layers(model)[index]
        return layer(hidden, additive_mask(mask, hidden.dtype))

    def run_layer(self, model: HFModule, index: int, hidden: torch.Tensor, mask: torch.Tensor,
                  positions: torch.Tensor, with_attention: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Layer ``index`` and, with ``with_attention``, its (batch, heads, queries, keys) probabilities."""
        if not with_attention:
            return self.call_layer(model, index, hidden, mask, positions), None
        captured: dict[str, torch.Tensor] = {}
        module = self.attention_module(self.layers(model)[index])

        def grab(_: nn.Module, __: tuple, output: Any) -> None:
            if isinstance(output, tuple) and len(output) > 1 and output[1] is not None:
                captured["probs"] = output[1]

        handle = module.register_forward_hook(grab)
        try:
            with eager_attention(model.config):
                out = self.call_layer(model, index, hidden, mask, positions)
        finally:
            handle.remove()
        if "probs" not in captured:
            raise UserError(f"{self.model_type}: layer {index} returned no attention probabilities")
        return out, captured["probs"]

    def finish(self, model: HFModule, hidden: torch.Tensor) -> torch.Tensor:
        """What the encoder does after its last layer (a final norm for pre-LN families)."""
        return hidden

    def finish_module(self, model: HFModule) -> nn.Module | None:
        """The module :meth:`finish` applies, if any (exit heads take a copy)."""
        return None

    # -- the head ----------------------------------------------------------------------
    def vector_head(self, model: HFModule) -> nn.Module:
        """The model's classification head as a module from the pooled (batch, width) vector to logits."""
        base = self.encoder(model)
        pooler = getattr(base, "pooler", None)
        return _Chain(_TanhDense(pooler.dense) if pooler is not None else None, getattr(model, "dropout", None),
                      model.classifier)

    def classifier_names(self) -> tuple[str, ...]:
        """Attribute names of the task head's own modules (outside the encoder)."""
        return ("classifier",)

    def task_head_names(self) -> tuple[str, ...]:
        """Attribute names of every task head's own modules: the classification head's and the span head's."""
        return (*self.classifier_names(), "qa_outputs")

    def pooler(self, model: HFModule) -> nn.Module | None:
        """The encoder's pretrained pooler (BERT's dense + tanh over [CLS]), None where the family has none inside
        its encoder (a pooler outside it is part of the task head)."""
        pooler = getattr(self.encoder(model), "pooler", None)
        return pooler if isinstance(pooler, nn.Module) else None

    def parameter_roles(self, model: HFModule) -> dict[str, tuple[str, int | None]]:
        """Each parameter of a task model by role: ``("head", None)``, ``("pooler", None)``, ``("layer", i)`` (the
        i-th encoder layer) or ``("encoder", None)`` (embeddings and the rest), found by module, not by name."""
        roles: dict[int, tuple[str, int | None]] = {}
        for i, layer in enumerate(self.layers(model)):
            roles.update({id(p): ("layer", i) for p in layer.parameters()})
        pooler = self.pooler(model)
        if pooler is not None:
            roles.update({id(p): ("pooler", None) for p in pooler.parameters()})
        for attr in self.task_head_names():
            module = getattr(model, attr, None)
            if isinstance(module, nn.Module):
                roles.update({id(p): ("head", None) for p in module.parameters()})
        return {n: roles.get(id(p), ("encoder", None)) for n, p in model.named_parameters()}

    def mlm_head(self, mlm_model: HFModule) -> nn.Module:
        """The masked-LM head of the family's ``...ForMaskedLM`` model: (tokens, width) -> vocabulary logits."""
        return mlm_model.cls

    # -- structured pruning -------------------------------------------------------------
    def attention_parts(self, layer: HFModule, config: Any) -> AttentionParts | None:
        """Q/K/V and output projections of ``layer`` (None when it has no heads left)."""
        attention = layer.attention
        if getattr(attention, "is_headless", False):
            return None
        attn = attention.self
        return AttentionParts([(attn.query, 1), (attn.key, 1), (attn.value, 1)], attention.output.dense, attn,
                              attn.num_attention_heads, attn.attention_head_size)

    def ffn_parts(self, layer: HFModule) -> FeedForwardParts:
        """First and second dense of ``layer``'s FFN."""
        return FeedForwardParts(layer.intermediate.dense, 1, layer.output.dense)

    def remove_all_heads(self, layer: HFModule) -> None:
        """Replace ``layer``'s attention by what it computes with no heads: ``LayerNorm(residual + bias)``."""
        out = layer.attention.output
        layer.attention = HeadlessAttention(out.dense.bias, out.LayerNorm, out.dropout)

    def head_count_attributes(self) -> tuple[str, ...]:
        """Attributes of :attr:`AttentionParts.holder` that count heads (``all_head_size``: width)."""
        return ("num_attention_heads",)

    def remove_all_units(self, layer: HFModule) -> bool:
        """Replace an FFN with no units left by ``LayerNorm(residual + bias)``; False when the family's
        FFN computes that by itself with zero-width linears (pre-LN families)."""
        out = layer.output
        layer.intermediate = SkippedIntermediate()
        layer.output = UnitlessOutput(out.dense.bias, out.LayerNorm, out.dropout)
        return True
