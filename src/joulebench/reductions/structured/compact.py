"""Physical removal of heads and FFN units, and saving/loading compacted models.

Removing a head slices its rows out of Q, K and V and its columns out of the attention output
projection; removing an FFN unit slices its row out of the first dense and its column out of the
second. The output biases are shared and stay. The semantics match gating to 0 (see
:mod:`.gates`) exactly, including the edge cases:

* no heads left: the attention block becomes :class:`HeadlessAttention`,
  ``LayerNorm(residual + dropout(b_o))``;
* no FFN units left: the FFN becomes :class:`UnitlessOutput`,
  ``LayerNorm(residual + dropout(b_2))``, after a pass-through :class:`SkippedIntermediate`.

A compacted model keeps its class (``BertForSequenceClassification`` ...), so training and the
runner use it unchanged; its dense-model indices stay on the modules (``kept_heads``,
``kept_units``) so :func:`layout` can describe it and :func:`load_compacted` rebuild it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers.pytorch_utils import prune_linear_layer

from joulebench.errors import UserError
from joulebench.reductions.structured.layers import encoder_layers, geometry
from joulebench.reductions.structured.mask import StructureMask

LAYOUT_FORMAT = "joulebench.structured_model/1"
WEIGHTS_FILE = "model.safetensors"
LAYOUT_FILE = "structure.json"


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


def layout(model: nn.Module) -> tuple[list[list[int]], list[list[int]]]:
    """Kept head and FFN-unit indices per layer (dense numbering) of a possibly compacted model."""
    geo = geometry(model)
    heads, units = [], []
    for layer in encoder_layers(model):
        attention = layer.attention
        kept = getattr(attention, "kept_heads", None)
        if kept is None:
            kept = getattr(attention.self, "kept_heads", None)
        heads.append(list(range(geo.num_heads)) if kept is None else list(kept))
        kept_units = getattr(layer.intermediate, "kept_units", None)
        units.append(list(range(geo.intermediate_size)) if kept_units is None else list(kept_units))
    return heads, units


def current_mask(model: nn.Module) -> StructureMask:
    """The mask describing what ``model`` (compacted or not) still has."""
    geo = geometry(model)
    heads, units = layout(model)
    return StructureMask.from_kept(heads, units, geo.num_heads, geo.intermediate_size)


def _positions(current: list[int], wanted: list[int], what: str, layer: int) -> list[int]:
    where = {orig: pos for pos, orig in enumerate(current)}
    missing = [i for i in wanted if i not in where]
    if missing:
        raise ValueError(f"layer {layer}: {what} {missing} were already removed and cannot be kept")
    return [where[i] for i in wanted]


@torch.no_grad()
def compact(model: nn.Module, mask: StructureMask) -> nn.Module:
    """Remove from ``model`` (in place) every head and FFN unit ``mask`` does not keep.

    The model may already be compacted; ``mask`` must then keep a subset of what is left.

    Args:
        model: a BERT-layout encoder classifier.
        mask: in dense-model numbering.

    Returns:
        ``model`` itself, smaller.
    """
    geo = geometry(model)
    mask.check_fits(geo)
    current_heads, current_units = layout(model)
    for index, layer in enumerate(encoder_layers(model)):
        _compact_attention(layer, index, current_heads[index], mask.heads_kept()[index], geo.head_size)
        _compact_ffn(layer, index, current_units[index], mask.ffn_kept()[index])
    return model


def _compact_attention(layer: nn.Module, index: int, current: list[int], wanted: list[int], head_size: int) -> None:
    if wanted == current:
        return
    positions = _positions(current, wanted, "heads", index)
    attention = layer.attention
    if not wanted:
        out = attention.output
        layer.attention = HeadlessAttention(out.dense.bias, out.LayerNorm, out.dropout)
        return
    rows = torch.cat([torch.arange(p * head_size, (p + 1) * head_size) for p in positions])
    self_attn = attention.self
    device = self_attn.query.weight.device
    rows = rows.to(device)
    self_attn.query = prune_linear_layer(self_attn.query, rows)
    self_attn.key = prune_linear_layer(self_attn.key, rows)
    self_attn.value = prune_linear_layer(self_attn.value, rows)
    attention.output.dense = prune_linear_layer(attention.output.dense, rows, dim=1)
    self_attn.num_attention_heads = len(wanted)
    self_attn.all_head_size = len(wanted) * head_size
    self_attn.kept_heads = list(wanted)


def _compact_ffn(layer: nn.Module, index: int, current: list[int], wanted: list[int]) -> None:
    if wanted == current:
        return
    positions = _positions(current, wanted, "FFN units", index)
    if not wanted:
        out = layer.output
        layer.intermediate = SkippedIntermediate()
        layer.output = UnitlessOutput(out.dense.bias, out.LayerNorm, out.dropout)
        return
    rows = torch.tensor(positions, dtype=torch.long, device=layer.output.dense.weight.device)
    layer.intermediate.dense = prune_linear_layer(layer.intermediate.dense, rows)
    layer.output.dense = prune_linear_layer(layer.output.dense, rows, dim=1)
    layer.intermediate.kept_units = list(wanted)


# -- save / load ------------------------------------------------------------------------------
def save_compacted(model: nn.Module, directory: str | Path, meta: dict | None = None) -> Path:
    """Save weights (safetensors) and ``structure.json`` (config plus kept heads/units per layer).

    Returns:
        The directory.
    """
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    heads, units = layout(model)
    state = {name: tensor.detach().contiguous().cpu() for name, tensor in model.state_dict().items()}
    save_file(state, str(directory / WEIGHTS_FILE), metadata={"format": LAYOUT_FORMAT})
    info = {
        "format": LAYOUT_FORMAT,
        "architecture": type(model).__name__,
        "config": model.config.to_dict(),
        "heads_kept_per_layer": heads,
        "ffn_units_kept_per_layer": units,
        "meta": dict(meta or {}),
    }
    (directory / LAYOUT_FILE).write_text(json.dumps(info, indent=1, default=str) + "\n")
    return directory


def load_compacted(directory: str | Path) -> nn.Module:
    """Rebuild a model saved by :func:`save_compacted` (eval mode, on CPU).

    Raises:
        UserError: missing files, an unknown architecture, or weights that do not fit the layout.
    """
    import transformers
    from safetensors.torch import load_file

    directory = Path(directory)
    info_path, weights = directory / LAYOUT_FILE, directory / WEIGHTS_FILE
    if not info_path.is_file() or not weights.is_file():
        raise UserError(f"{directory}: expected {LAYOUT_FILE} and {WEIGHTS_FILE} (a compacted model)")
    info = json.loads(info_path.read_text())
    if info.get("format") != LAYOUT_FORMAT:
        raise UserError(f"{info_path}: not a compacted model (format {info.get('format')!r})")
    arch = str(info.get("architecture", ""))
    if not arch.endswith("ForSequenceClassification") or not hasattr(transformers, arch):
        raise UserError(f"{info_path}: unsupported architecture {arch!r}")
    config_dict = dict(info["config"])
    config = transformers.AutoConfig.for_model(config_dict.pop("model_type"), **config_dict)
    model = getattr(transformers, arch)(config)
    geo = geometry(model)
    mask = StructureMask.from_kept(info["heads_kept_per_layer"], info["ffn_units_kept_per_layer"],
                                   geo.num_heads, geo.intermediate_size)
    compact(model, mask)
    try:
        model.load_state_dict(load_file(str(weights)), strict=True)
    except RuntimeError as exc:
        raise UserError(f"{weights}: weights do not fit {LAYOUT_FILE} ({str(exc)[:300]})") from None
    return model.eval()
