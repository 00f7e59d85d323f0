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

Adding a family is one subclass registered here. Token positions travel with the hidden states
so that families whose positions enter inside every layer (DeBERTa's relative positions,
ModernBERT's rotary embeddings and sliding window) stay correct after tokens were removed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from joulebench.errors import UserError
from joulebench.registry import Registry

#: A transformers module tree navigated by attribute (torch types such attributes as ``Tensor | Module``).
HFModule = Any


@dataclass
class AttentionParts:
    """The parts of one layer's self-attention that structured pruning slices.

    Attributes:
        projections: ``(linear, blocks)`` whose output rows are per head: Q, K, V each with one block,
            or one fused QKV with three blocks (rows ``[q heads | k heads | v heads]``).
        out: the output projection; its input columns are per head.
        holder: the module whose head-count attributes follow the number of heads kept.
        num_heads: heads the layer has now.
        head_size: width of one head.
    """

    projections: list[tuple[nn.Linear, int]]
    out: nn.Linear
    holder: nn.Module
    num_heads: int
    head_size: int


@dataclass
class FeedForwardParts:
    """The parts of one layer's FFN that structured pruning slices.

    Attributes:
        inp: the first dense; its output rows are per unit (``blocks`` = 2 for a gated FFN whose rows
            are ``[input units | gate units]``).
        blocks: 1, or 2 for a gated (GLU) FFN.
        out: the second dense; its input columns are per unit.
    """

    inp: nn.Linear
    blocks: int
    out: nn.Linear


class ConstantAttention(nn.Module):
    """An attention block with no heads left: it adds the output projection's bias (or nothing).

    Used for families whose attention module holds its own output projection (DistilBERT,
    ModernBERT); returns ``(output, None)`` like the module it replaces.
    """

    is_headless = True

    def __init__(self, bias: torch.Tensor | None) -> None:
        super().__init__()
        self.kept_heads: list[int] = []
        self.bias = None if bias is None else nn.Parameter(bias.detach().clone())

    def forward(self, hidden_states: torch.Tensor, *args: Any, **kwargs: Any) -> tuple[torch.Tensor, None]:
        if self.bias is None:
            return torch.zeros_like(hidden_states), None
        return self.bias.expand_as(hidden_states).to(hidden_states.dtype), None


class HeadlessAttention(nn.Module):
    """An attention block with every head removed: ``LayerNorm(residual + dropout(bias))``.

    Accepts and ignores the keyword arguments ``BertLayer`` passes to its attention module.
    """

    is_headless = True

    def __init__(self, bias: torch.Tensor, layer_norm: nn.LayerNorm, dropout: nn.Dropout) -> None:
        super().__init__()
        self.kept_heads: list[int] = []
        self.bias = nn.Parameter(bias.detach().clone())
        self.LayerNorm = layer_norm
        self.dropout = dropout

    def forward(self, hidden_states: torch.Tensor, *args: Any, **kwargs: Any) -> tuple[torch.Tensor, None]:
        return self.LayerNorm(self.dropout(self.bias.expand_as(hidden_states)) + hidden_states), None


class SkippedIntermediate(nn.Module):
    """The first FFN dense of a layer with no units left: passes its input through unused."""

    def __init__(self) -> None:
        super().__init__()
        self.kept_units: list[int] = []

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return hidden_states


class UnitlessOutput(nn.Module):
    """The FFN output of a layer with no units left: ``LayerNorm(residual + dropout(bias))``."""

    def __init__(self, bias: torch.Tensor, layer_norm: nn.LayerNorm, dropout: nn.Dropout) -> None:
        super().__init__()
        self.bias = nn.Parameter(bias.detach().clone())
        self.LayerNorm = layer_norm
        self.dropout = dropout

    def forward(self, hidden_states: torch.Tensor, input_tensor: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.bias.expand_as(input_tensor)) + input_tensor)


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
        takes_token_type_ids: whether the encoder reads segment ids.
        head_description: what the stock classification head reads, for the support matrix.
        token_prune_note / early_exit_note: None when supported, else why not.
    """

    model_type: ClassVar[str] = "bert"
    base_attr: ClassVar[str] = "bert"
    layers_path: ClassVar[str] = "encoder.layer"
    layer_count_keys: ClassVar[tuple[str, ...]] = ("num_hidden_layers",)
    takes_token_type_ids: ClassVar[bool] = True
    head_description: ClassVar[str] = "pooler (dense + tanh over [CLS]) + classifier"
    refusals: ClassVar[dict[str, str]] = {}

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


class _Chain(nn.Module):
    """Apply the given modules in order (None skipped)."""

    def __init__(self, *steps: nn.Module | None) -> None:
        super().__init__()
        self.steps = nn.ModuleList([s for s in steps if s is not None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for step in self.steps:
            x = step(x)
        return x


class _TanhDense(nn.Module):
    """``tanh(dense(x))``: BERT's pooler on an already-pooled vector."""

    def __init__(self, dense: nn.Module) -> None:
        super().__init__()
        self.dense = dense

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.dense(x))


class _FirstToken(nn.Module):
    """Feeds a pooled vector to a head that reads token 0 of a sequence itself (RoBERTa, ELECTRA, DeBERTa)."""

    def __init__(self, head: HFModule) -> None:
        super().__init__()
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x.unsqueeze(1))


class _Relu(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)


class RobertaFamily(EncoderFamily):
    """RoBERTa: BERT's layers, a dense head over token 0 (``classifier.dense`` + tanh + ``out_proj``)."""

    model_type = "roberta"
    base_attr = "roberta"
    head_description = "dense + tanh + out_proj over token 0 (<s>)"

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

    def embed(self, model: HFModule, input_ids: torch.Tensor, mask: torch.Tensor,
              token_type_ids: torch.Tensor | None) -> torch.Tensor:
        encoder = self.encoder(model)
        hidden = encoder.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)
        project = getattr(encoder, "embeddings_project", None)
        return project(hidden) if project is not None else hidden

    def mlm_head(self, mlm_model: HFModule) -> nn.Module:
        return _Chain(mlm_model.generator_predictions, mlm_model.generator_lm_head)


class DistilBertFamily(EncoderFamily):
    """DistilBERT: ``transformer.layer``, fused attention block (q_lin, k_lin, v_lin, out_lin), no segments."""

    model_type = "distilbert"
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


class DebertaV2Family(EncoderFamily):
    """DeBERTa-v2/v3: BERT-like layers with disentangled relative-position attention, a ContextPooler."""

    model_type = "deberta-v2"
    base_attr = "deberta"
    head_description = "ContextPooler (dense + GELU over token 0) + classifier"

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


class ModernBertFamily(EncoderFamily):
    """ModernBERT: pre-LN layers with fused QKV, rotary positions, alternating global/sliding-window
    attention, a gated FFN, a final norm and a dense + GELU + norm prediction head."""

    model_type = "modernbert"
    base_attr = "model"
    layers_path = "layers"
    takes_token_type_ids = False
    head_description = "final norm, then token 0 (or mean), dense + GELU + LayerNorm head + classifier"

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


def support_matrix(reductions: list[str]) -> list[tuple[str, dict[str, str]]]:
    """Family x reduction: ``"yes"`` or the family's reason for refusing, from the adapters themselves.

    Refusals by task kind (extractive QA) are the reductions' own and are listed separately by ``ls``.
    """
    rows = []
    for name in FAMILIES.names():
        family = FAMILIES.get(name)
        rows.append((name, {r: family.refusals.get(r, "yes") for r in reductions}))
    return rows
