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
runner use it unchanged; its dense-model indices stay on each layer (``kept_heads``,
``kept_units``) so :func:`layout` can describe it and :func:`load_compacted` rebuild it. Which
linears hold the heads and units in each family comes from its adapter
(:mod:`joulebench.models.families`); pre-LN families (DistilBERT's fused block, ModernBERT) with no
units left keep zero-width linears, which compute the same bias-only output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers.pytorch_utils import prune_linear_layer

from joulebench.errors import UserError
from joulebench.models.families import HeadlessAttention, SkippedIntermediate, UnitlessOutput, family_of
from joulebench.reductions.structured.layers import encoder_layers, geometry
from joulebench.reductions.structured.mask import StructureMask

#: A transformers module tree navigated by attribute (torch types such attributes as ``Tensor | Module``).
HFModule = Any

__all__ = ["HeadlessAttention", "SkippedIntermediate", "UnitlessOutput", "compact", "current_mask", "layout",
           "load_compacted", "save_compacted"]

LAYOUT_FORMAT = "joulebench.structured_model/1"
WEIGHTS_FILE = "model.safetensors"
LAYOUT_FILE = "structure.json"


def _prune_linear(linear: nn.Linear, rows: torch.Tensor, dim: int = 0) -> nn.Linear:
    """transformers' ``prune_linear_layer`` (it is typed for a LongTensor; the indices are int64 here)."""
    return prune_linear_layer(linear, rows.long(), dim=dim)  # type: ignore[arg-type]



def layout(model: HFModule) -> tuple[list[list[int]], list[list[int]]]:
    """Kept head and FFN-unit indices per layer (dense numbering) of a possibly compacted model."""
    geo = geometry(model)
    heads, units = [], []
    for layer in encoder_layers(model):
        kept = getattr(layer, "kept_heads", None)
        heads.append(list(range(geo.num_heads)) if kept is None else list(kept))
        kept_units = getattr(layer, "kept_units", None)
        units.append(list(range(geo.intermediate_size)) if kept_units is None else list(kept_units))
    return heads, units


def current_mask(model: HFModule) -> StructureMask:
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
def compact(model: HFModule, mask: StructureMask) -> nn.Module:
    """Remove from ``model`` (in place) every head and FFN unit ``mask`` does not keep.

    The model may already be compacted; ``mask`` must then keep a subset of what is left.

    Args:
        model: an encoder classifier of a supported family.
        mask: in dense-model numbering.

    Returns:
        ``model`` itself, smaller.
    """
    geo = geometry(model)
    mask.check_fits(geo)
    family = family_of(model)
    current_heads, current_units = layout(model)
    for index, layer in enumerate(encoder_layers(model)):
        _compact_attention(family, model.config, layer, index, current_heads[index], mask.heads_kept()[index],
                           geo.head_size)
        _compact_ffn(family, layer, index, current_units[index], mask.ffn_kept()[index])
    return model


def _replace_linear(layer: HFModule, old: nn.Linear, new: nn.Linear) -> None:
    """Put ``new`` where ``old`` sits inside ``layer``."""
    for name, module in layer.named_modules():
        if module is old:
            parent_name, _, attr = name.rpartition(".")
            setattr(layer.get_submodule(parent_name) if parent_name else layer, attr, new)
            return
    raise AssertionError("linear layer not found in its layer")


def _blocked_rows(rows: torch.Tensor, linear: nn.Linear, blocks: int) -> torch.Tensor:
    """``rows`` repeated in each of a fused linear's ``blocks`` equal row blocks (QKV, gate|input)."""
    width = linear.out_features // blocks
    return torch.cat([rows + b * width for b in range(blocks)])


def _compact_attention(family: Any, config: Any, layer: HFModule, index: int, current: list[int],
                       wanted: list[int], head_size: int) -> None:
    if wanted == current:
        return
    positions = _positions(current, wanted, "heads", index)
    if not wanted:
        family.remove_all_heads(layer)
        layer.kept_heads = []
        return
    parts = family.attention_parts(layer, config)
    device = parts.out.weight.device
    rows = torch.cat([torch.arange(p * head_size, (p + 1) * head_size) for p in positions]).to(device)
    for linear, blocks in parts.projections:
        _replace_linear(layer, linear, _prune_linear(linear, _blocked_rows(rows, linear, blocks)))
    _replace_linear(layer, parts.out, _prune_linear(parts.out, rows, dim=1))
    for name in family.head_count_attributes():
        setattr(parts.holder, name, len(wanted))
    if hasattr(parts.holder, "all_head_size"):
        parts.holder.all_head_size = len(wanted) * head_size
    layer.kept_heads = list(wanted)


def _compact_ffn(family: Any, layer: HFModule, index: int, current: list[int], wanted: list[int]) -> None:
    if wanted == current:
        return
    positions = _positions(current, wanted, "FFN units", index)
    layer.kept_units = list(wanted)
    if not wanted and family.remove_all_units(layer):
        return
    parts = family.ffn_parts(layer)
    rows = torch.tensor(positions, dtype=torch.long, device=parts.out.weight.device)
    _replace_linear(layer, parts.inp, _prune_linear(parts.inp, _blocked_rows(rows, parts.inp, parts.blocks)))
    _replace_linear(layer, parts.out, _prune_linear(parts.out, rows, dim=1))


# -- save / load ------------------------------------------------------------------------------
def save_compacted(model: HFModule, directory: str | Path, meta: dict | None = None) -> Path:
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
