"""Which heads and FFN units of each layer are kept: the mask, its counts and its JSON file.

Indices are always those of the dense model (head 7 of layer 3 stays "7" after heads 0-6 are
removed), so a mask, a compacted model's layout and a record all speak the same language.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from joulebench.errors import UserError
from joulebench.reductions.structured.layers import Geometry

MASK_FORMAT = "joulebench.structured_mask/1"


@dataclass(frozen=True, eq=False)
class StructureMask:
    """Kept (True) and removed (False) heads and FFN units.

    Attributes:
        heads: (layers, heads) bool.
        ffn: (layers, intermediate_size) bool.
        meta: free-form provenance (variant, importance, seed, search trace...).
    """

    heads: torch.Tensor
    ffn: torch.Tensor
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.heads.dtype != torch.bool or self.ffn.dtype != torch.bool:
            raise ValueError("StructureMask tensors must be bool")
        if self.heads.dim() != 2 or self.ffn.dim() != 2 or self.heads.shape[0] != self.ffn.shape[0]:
            raise ValueError(f"mask shapes {tuple(self.heads.shape)} and {tuple(self.ffn.shape)} do not match")

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def full(cls, geo: Geometry) -> StructureMask:
        """Everything kept."""
        return cls(torch.ones(geo.num_layers, geo.num_heads, dtype=torch.bool),
                   torch.ones(geo.num_layers, geo.intermediate_size, dtype=torch.bool))

    @classmethod
    def from_kept(cls, heads_kept: list[list[int]], ffn_kept: list[list[int]], num_heads: int,
                  intermediate_size: int, meta: dict | None = None) -> StructureMask:
        """Build from kept indices per layer.

        Raises:
            ValueError: an index is out of range or repeated.
        """
        if len(heads_kept) != len(ffn_kept):
            raise ValueError(f"{len(heads_kept)} layers of heads but {len(ffn_kept)} layers of FFN units")
        heads = torch.zeros(len(heads_kept), num_heads, dtype=torch.bool)
        ffn = torch.zeros(len(ffn_kept), intermediate_size, dtype=torch.bool)
        for target, kept, size, what in ((heads, heads_kept, num_heads, "head"),
                                         (ffn, ffn_kept, intermediate_size, "FFN unit")):
            for layer, indices in enumerate(kept):
                if len(set(indices)) != len(indices):
                    raise ValueError(f"layer {layer}: repeated {what} index")
                for i in indices:
                    if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < size:
                        raise ValueError(f"layer {layer}: {what} index {i!r} out of range 0..{size - 1}")
                    target[layer, i] = True
        return cls(heads, ffn, dict(meta or {}))

    # -- views ------------------------------------------------------------------------------
    @property
    def num_layers(self) -> int:
        return int(self.heads.shape[0])

    def heads_kept(self) -> list[list[int]]:
        """Kept head indices per layer (dense-model numbering)."""
        return [row.nonzero().flatten().tolist() for row in self.heads]

    def ffn_kept(self) -> list[list[int]]:
        """Kept FFN unit indices per layer (dense-model numbering)."""
        return [row.nonzero().flatten().tolist() for row in self.ffn]

    @property
    def n_heads_kept(self) -> int:
        return int(self.heads.sum())

    @property
    def n_ffn_kept(self) -> int:
        return int(self.ffn.sum())

    @property
    def n_ffn_blocks_kept(self) -> int:
        """Layers whose FFN still has at least one unit."""
        return int(self.ffn.any(dim=1).sum())

    def heads_removed_frac(self) -> float:
        return 1.0 - self.n_heads_kept / self.heads.numel()

    def ffn_removed_frac(self) -> float:
        return 1.0 - self.n_ffn_kept / self.ffn.numel()

    def equals(self, other: StructureMask) -> bool:
        """Same kept heads and units (meta ignored)."""
        return torch.equal(self.heads, other.heads) and torch.equal(self.ffn, other.ffn)

    def same_size(self, other: StructureMask) -> bool:
        """Same number of heads and FFN units kept (hence the same parameter count)."""
        return self.n_heads_kept == other.n_heads_kept and self.n_ffn_kept == other.n_ffn_kept

    def check_fits(self, geo: Geometry) -> None:
        """Raise UserError unless the mask has ``geo``'s layers, heads and FFN units."""
        want = (geo.num_layers, geo.num_heads, geo.intermediate_size)
        got = (self.num_layers, int(self.heads.shape[1]), int(self.ffn.shape[1]))
        if want != got:
            raise UserError(f"structured mask is for (layers, heads, ffn units) = {got}, the model has {want}")

    def with_meta(self, **meta: Any) -> StructureMask:
        """A copy whose meta is updated with ``meta``."""
        return StructureMask(self.heads, self.ffn, {**self.meta, **meta})

    def summary(self) -> dict[str, Any]:
        """Counts and fractions, for records and printing."""
        return {
            "heads_kept": self.n_heads_kept, "heads_total": int(self.heads.numel()),
            "ffn_units_kept": self.n_ffn_kept, "ffn_units_total": int(self.ffn.numel()),
            "heads_removed_frac": round(self.heads_removed_frac(), 6),
            "ffn_removed_frac": round(self.ffn_removed_frac(), 6),
        }

    # -- files ------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The JSON form saved by :func:`save_mask`."""
        return {
            "format": MASK_FORMAT,
            "num_layers": self.num_layers,
            "num_heads": int(self.heads.shape[1]),
            "intermediate_size": int(self.ffn.shape[1]),
            "heads_kept_per_layer": self.heads_kept(),
            "ffn_units_kept_per_layer": self.ffn_kept(),
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, data: Any, where: str = "mask") -> StructureMask:
        """Parse :meth:`to_json`'s form.

        Raises:
            UserError: not a mask of this format, or inconsistent indices.
        """
        if not isinstance(data, dict) or data.get("format") != MASK_FORMAT:
            raise UserError(f"{where}: not a structured-pruning mask (expected format {MASK_FORMAT!r})")
        try:
            mask = cls.from_kept(data["heads_kept_per_layer"], data["ffn_units_kept_per_layer"],
                                 int(data["num_heads"]), int(data["intermediate_size"]), data.get("meta") or {})
        except (KeyError, TypeError, ValueError) as exc:
            raise UserError(f"{where}: malformed mask ({exc})") from None
        if mask.num_layers != int(data["num_layers"]):
            raise UserError(f"{where}: num_layers {data['num_layers']} but {mask.num_layers} layers listed")
        return mask

    def digest(self) -> str:
        """16-hex sha256 of the kept indices (not the meta): the mask's identity."""
        kept = {"heads": self.heads_kept(), "ffn": self.ffn_kept(), "shape": [self.num_layers,
                int(self.heads.shape[1]), int(self.ffn.shape[1])]}
        return hashlib.sha256(json.dumps(kept, separators=(",", ":")).encode()).hexdigest()[:16]


def save_mask(mask: StructureMask, path: str | Path) -> Path:
    """Write ``mask`` as JSON (parent folders created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(mask.to_json(), separators=(",", ":")) + "\n")
    tmp.replace(path)
    return path


def load_mask(path: str | Path) -> StructureMask:
    """Read a mask written by :func:`save_mask`.

    Raises:
        UserError: missing file, bad JSON or not a mask.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"structured mask {str(path)!r}: no such file")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise UserError(f"structured mask {path}: not JSON ({exc.msg})") from None
    return StructureMask.from_json(data, str(path))
