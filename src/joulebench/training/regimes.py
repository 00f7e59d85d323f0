"""Training regimes: which parameters a fine-tuning run updates (each parameter's role comes from its family)."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from joulebench.models.families import layer_count, parameter_roles
from joulebench.registry import Registry

#: regime key -> predicate(role, layer index or None, number of encoder layers, top_k) -> trainable?
#: Roles (``joulebench.models.families.EncoderFamily.parameter_roles``): head, pooler, layer, encoder.
REGIMES: Registry[Callable[[str, int | None, int, int], bool]] = Registry("regime")


@REGIMES.register("full", help="fine-tune every parameter (the primary baseline)")
def _full(role: str, layer: int | None, n_layers: int, top_k: int) -> bool:
    return True


@REGIMES.register("frozen", help="freeze the encoder, train only the classification head")
def _frozen(role: str, layer: int | None, n_layers: int, top_k: int) -> bool:
    return role == "head"


@REGIMES.register("top_k", help="train the top k encoder layers, the pooler and the head (train.top_k_layers)")
def _top_k(role: str, layer: int | None, n_layers: int, top_k: int) -> bool:
    return role in ("head", "pooler") or (role == "layer" and layer is not None and layer >= n_layers - top_k)


def head_names(model: nn.Module) -> set[str]:
    """Names of the parameters of the task head (the family's classifier or span head, through wrappers)."""
    return {n for n, (role, _) in parameter_roles(model).items() if role == "head"}


def trainable_names(model: nn.Module, regime: str, top_k: int) -> list[str]:
    """Names of the parameters ``regime`` trains (raises UserError on an unknown regime)."""
    rule = REGIMES.get(regime)
    n_layers = layer_count(model)
    return [n for n, (role, layer) in parameter_roles(model).items() if rule(role, layer, n_layers, top_k)]
