"""layer_drop: keep the bottom k encoder layers, physically removing the others.

Removing the top layers (rather than skipping them at run time) is what makes the model
cheaper: the dropped layers' weights are gone, and nothing loops over them. Sajjad et al.
(2023, "On the effect of dropping layers of pre-trained transformer models") found top-layer
dropping the best of the simple strategies; an optional short re-fine-tuning recovers accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from torch import nn

from joulebench.errors import UserError
from joulebench.models.families import family_of
from joulebench.reductions.base import ReductionContext, must_come_before, param, register_reduction
from joulebench.reductions.encoder import find_layers

#: Reductions that attach to the layers themselves; dropping layers after them would orphan that.
_LAYER_BOUND = ("early_exit", "token_prune", "exported_graph")


@dataclass(frozen=True)
class LayerDropConfig:
    """Parameters of ``layer_drop``."""

    keep_layers: int = param("Encoder layers kept, counted from the bottom (the embeddings' side).")
    retrain: bool = param("Re-fine-tune the shortened model with the run's training settings.", False)
    retrain_epochs: float = param("Epochs of that re-fine-tuning (fractions allowed).", 1.0)

    def validate(self) -> None:
        """Raise ValueError naming the field when a value is impossible."""
        if self.keep_layers < 1:
            raise ValueError(f"keep_layers must be >= 1, got {self.keep_layers}")
        if self.retrain_epochs <= 0:
            raise ValueError(f"retrain_epochs must be > 0, got {self.retrain_epochs}")


def keep_bottom_layers(model: nn.Module, keep: int) -> int:
    """Remove all but the bottom ``keep`` encoder layers in place; return the original count.

    Raises:
        UserError: ``keep`` exceeds the model's layer count.
    """
    total = len(find_layers(model)[2])
    if keep > total:
        raise UserError(f"layer_drop: keep_layers={keep} but the model has only {total} encoder layers")
    return keep_layers_at(model, list(range(keep)))


def keep_layers_at(model: nn.Module, indices: Sequence[int]) -> int:
    """Keep only the encoder layers at ``indices`` (0-based, increasing), in place; return the
    original count. The kept layers are renumbered 0.. in the order given; the config's layer count
    (and ModernBERT's per-layer attention types) follow, as ``save_pretrained`` and the regimes read them."""
    return family_of(model).keep_layers(model, list(indices))


@register_reduction("layer_drop", help="keep the bottom keep_layers encoder layers (optionally re-fine-tune)")
class LayerDrop:
    """Physically drop the top encoder layers."""


    config_cls: ClassVar[type] = LayerDropConfig

    @staticmethod
    def check_chain(cfg: LayerDropConfig, before: Sequence[str], device: str | None) -> None:
        """Layers must be dropped before anything attaches to them."""
        must_come_before("layer_drop", before, _LAYER_BOUND, "which is built on the model's layers")
        if cfg.retrain:
            must_come_before("layer_drop with retrain", before, ("quantize", "runtime"),
                             "re-training needs the float weights")

    def apply(self, model: nn.Module, cfg: LayerDropConfig, ctx: ReductionContext) -> tuple[nn.Module, dict]:
        """Drop the layers in place and re-fine-tune when asked."""
        total = keep_bottom_layers(model, cfg.keep_layers)
        if cfg.retrain:
            if ctx.fine_tune is None:
                raise UserError("layer_drop: retrain=true needs a fine-tuning context (run it through the Runner)")
            ctx.fine_tune(model, epochs=cfg.retrain_epochs, what="layer_drop retrain")
            model.eval()
        return model, {"layers_kept": cfg.keep_layers, "layers_total": total, "retrained": cfg.retrain}
