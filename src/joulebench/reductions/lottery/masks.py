"""Ticket masks as artefacts: bool tensors in safetensors plus JSON metadata, applied and enforced.

A mask file ``NAME.safetensors`` holds one bool tensor per pruned weight matrix (True = weight
kept), keyed as in :mod:`.targets`. Its metadata (sparsity overall and per layer, counts, and the
provenance: task, model, objective, schedule, round, seed) is JSON stored in the safetensors
header under ``joulebench_ticket``, which is what :func:`load_mask` reads; ``NAME.json`` beside it
is a copy written for people and tools that do not read safetensors headers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from joulebench.errors import UserError
from joulebench.reductions.lottery.targets import DEFAULT_TARGETS, base_model, check_targets, prunable_weights

#: Version of the mask file layout; bumped on incompatible changes.
MASK_FORMAT = 1
_META_KEY = "joulebench_ticket"


class MaskMismatchError(UserError):
    """A mask does not fit a model (missing, extra or differently shaped tensor)."""


@dataclass
class TicketMask:
    """Which weights of each prunable matrix survive (True) and where the mask came from.

    Attributes:
        masks: mask key -> bool tensor shaped like the weight.
        provenance: task, model, objective, kind, schedule, round, seed, ... (free-form JSON).
        targets: which weights the mask covers (see :mod:`.targets`); the rest stay dense.
        source: the file it was loaded from, if any.
    """

    masks: dict[str, torch.Tensor]
    provenance: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None
    targets: str = DEFAULT_TARGETS

    def digest(self) -> str:
        """sha256 (16 hex) of the mask's keys, shapes and bits: its identity, whatever the file."""
        h = hashlib.sha256()
        for key in sorted(self.masks):
            m = self.masks[key].detach().to("cpu", torch.bool).contiguous()
            h.update(f"{key}:{tuple(m.shape)};".encode())  # the key set encodes the targets
            h.update(np.packbits(m.numpy().ravel()).tobytes())
        return h.hexdigest()[:16]

    @property
    def total(self) -> int:
        """Prunable weights in all masked matrices."""
        return sum(m.numel() for m in self.masks.values())

    @property
    def kept(self) -> int:
        """Weights that survive."""
        return sum(int(m.sum()) for m in self.masks.values())

    @property
    def sparsity(self) -> float:
        """Fraction of the prunable weights that are pruned."""
        total = self.total
        return 0.0 if total == 0 else 1.0 - self.kept / total

    def layer_sparsity(self) -> dict[str, float]:
        """Mask key -> fraction pruned in that matrix."""
        return {k: 1.0 - int(m.sum()) / m.numel() for k, m in self.masks.items()}

    def metadata(self) -> dict[str, Any]:
        """The JSON metadata written with the mask: counts, sparsities and provenance."""
        return {
            "format": MASK_FORMAT,
            "targets": self.targets,
            "sparsity": self.sparsity,
            "kept": self.kept,
            "total": self.total,
            "sparsity_per_layer": self.layer_sparsity(),
            "shapes": {k: list(m.shape) for k, m in self.masks.items()},
            "digest": self.digest(),
            "provenance": self.provenance,
        }


def dense_mask(model: nn.Module, targets: str = DEFAULT_TARGETS) -> TicketMask:
    """An all-True mask over ``model``'s prunable weights (sparsity 0)."""
    weights = prunable_weights(model, targets)
    return TicketMask({k: torch.ones_like(w, dtype=torch.bool) for k, w in weights.items()}, targets=targets)


# -- files -----------------------------------------------------------------------------------------
def save_mask(mask: TicketMask, path: str | Path) -> Path:
    """Write ``mask`` to ``path`` (``.safetensors``) and its metadata to ``path`` with ``.json``.

    The file is written to a temporary name and renamed, so a reader never sees half a mask.
    """
    from safetensors.torch import save_file

    path = Path(path)
    if path.suffix != ".safetensors":
        raise UserError(f"mask path {path}: expected a .safetensors file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = mask.metadata()
    meta["saved_utc"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    tensors = {k: m.detach().to("cpu", torch.bool).contiguous() for k, m in mask.masks.items()}
    tmp = path.with_name(f".{path.name}.tmp")
    save_file(tensors, str(tmp), metadata={"format": "pt", _META_KEY: json.dumps(meta)})
    os.replace(tmp, path)
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    return path


def load_mask(path: str | Path) -> TicketMask:
    """Read a mask written by :func:`save_mask` (bool or 0/1 uint8 tensors).

    Raises:
        UserError: the file is missing, unreadable, or holds values other than 0/1.
    """
    from safetensors import safe_open

    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"mask {path}: no such file (masks are written by `joulebench ticket search|mlm`)")
    masks: dict[str, torch.Tensor] = {}
    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
            for key in f.keys():
                masks[key] = f.get_tensor(key)
    except Exception as exc:  # noqa: BLE001 - safetensors raises several types for a bad file
        raise UserError(f"mask {path}: not a readable safetensors file ({type(exc).__name__}: {exc})") from None
    for key, m in masks.items():
        if m.dtype != torch.bool:
            if m.is_floating_point() or m.is_complex() or bool(((m != 0) & (m != 1)).any()):
                raise UserError(f"mask {path}: tensor {key!r} holds values other than 0/1 ({m.dtype})")
            masks[key] = m.to(torch.bool)
    meta = json.loads(header.get(_META_KEY, "{}"))
    targets = meta.get("targets", DEFAULT_TARGETS)
    try:
        check_targets(targets)
    except ValueError as exc:
        raise UserError(f"mask {path}: {exc}") from None
    return TicketMask(masks, meta.get("provenance", {}), source=path, targets=targets)


# -- applying --------------------------------------------------------------------------------------
def check_compatible(model: nn.Module, mask: TicketMask) -> None:
    """Raise :class:`MaskMismatchError` naming the first tensor that does not fit ``model``."""
    weights = prunable_weights(model, mask.targets)
    for key, weight in weights.items():
        if key not in mask.masks:
            raise MaskMismatchError(
                f"mask does not fit the model: the model's prunable tensor {key!r} "
                f"{tuple(weight.shape)} is missing from the mask ({len(mask.masks)} tensors, targets {mask.targets})"
            )
        if tuple(mask.masks[key].shape) != tuple(weight.shape):
            raise MaskMismatchError(
                f"mask does not fit the model: tensor {key!r} is {tuple(mask.masks[key].shape)} in the mask "
                f"but {tuple(weight.shape)} in the model"
            )
    # A mean-pooled classifier has no pooler: a mask's pooler tensors have nothing to prune there.
    unpooled = getattr(base_model(model), "pooler", None) is None
    extra = [k for k in mask.masks if k not in weights and not (unpooled and k.startswith("pooler."))]
    if extra:
        raise MaskMismatchError(
            f"mask does not fit the model: tensor {extra[0]!r} in the mask is not a prunable weight of the model"
        )


@torch.no_grad()
def apply_mask(model: nn.Module, mask: TicketMask) -> nn.Module:
    """Zero the pruned weights of ``model`` in place (after checking the mask fits)."""
    check_compatible(model, mask)
    for key, weight in prunable_weights(model, mask.targets).items():
        weight.mul_(mask.masks[key].to(weight.device, weight.dtype))
    return model


class MaskEnforcer:
    """``after_step`` hook that re-zeroes pruned weights after every optimizer step.

    AdamW's momentum and weight decay would otherwise move pruned weights off zero; multiplying
    by the mask after each step keeps the subnetwork exactly the ticket's.
    """

    def __init__(self, mask: TicketMask) -> None:
        self.mask = mask
        self._bound: list[tuple[torch.Tensor, torch.Tensor]] | None = None
        self._model_id: int | None = None

    @torch.no_grad()
    def __call__(self, model: nn.Module) -> None:
        if self._bound is None or self._model_id != id(model) or any(
            w.device != m.device for w, m in self._bound[:1]
        ):
            check_compatible(model, self.mask)
            weights = prunable_weights(model, self.mask.targets)
            self._bound = [(w, self.mask.masks[k].to(w.device, w.dtype)) for k, w in weights.items()]
            self._model_id = id(model)
        for weight, keep in self._bound:
            weight.mul_(keep)


def masks_equal(a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor]) -> bool:
    """Same keys and identical tensors."""
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
