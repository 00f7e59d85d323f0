"""The Reduction protocol, its registry and the context reductions may use.

A reduction is ``apply(model, cfg, ctx) -> (model, details)``: it receives the fine-tuned
classifier, returns the model to run (the same object changed, or a wrapper) and a dict saying
what it nominally changed (``layers_kept``, ``weight_bits``, ...). A returned module may also
define ``realised_details() -> dict``; the runner calls it after evaluation so dynamic reductions
(early exit, token pruning) report what they realised (``mean_layers_computed`` ...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from torch import nn

from joulebench.config.schema import ReductionSpec
from joulebench.errors import UserError
from joulebench.registry import Registry


@dataclass
class ReductionContext:
    """What a reduction may need beyond the model.

    Attributes:
        task: the Task being run (``joulebench.tasks.base.Task``).
        tokenizer: the model's tokenizer.
        max_seq_len: tokens kept at evaluation; a reduction may lower it.
        device: "cpu" or "cuda".
        seed: the run's seed.
        train_examples: callable returning the (capped) training examples.
        fine_tune: callable ``fine_tune(model, examples=None, trainable=None, epochs=None)`` that
            trains ``model`` in place with the run's training settings; ``trainable`` is an
            optional predicate on parameter names limiting what is trained.
    """

    task: Any
    tokenizer: Any
    max_seq_len: int
    device: str = "cpu"
    seed: int = 0
    train_examples: Callable[[], list] | None = None
    fine_tune: Callable[..., None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Reduction(Protocol):
    """A registered reduction: a config class and an ``apply``."""

    config_cls: ClassVar[type]

    def apply(self, model: nn.Module, cfg: Any, ctx: ReductionContext) -> tuple[nn.Module, dict]:
        """Return the model to run and what was changed."""
        ...


REDUCTIONS: Registry[type] = Registry("reduction")


def register_reduction(name: str, help: str = "") -> Callable[[type], type]:
    """Class decorator: ``@register_reduction("int8")``."""
    return REDUCTIONS.register(name, help)


def build_reduction_config(spec: ReductionSpec, where: str = "reduction") -> Any:
    """Validate a spec's params into the reduction's frozen config (UserError on bad values)."""
    from joulebench.config.loader import build_dataclass

    try:
        plugin = REDUCTIONS.get(spec.name)
    except UserError as exc:
        raise UserError(f"{where}: {exc}") from None
    cfg = build_dataclass(plugin.config_cls, spec.params_dict(), f"{where} ({spec.name})")
    validate = getattr(cfg, "validate", None)
    if validate is not None:
        try:
            validate()
        except ValueError as exc:
            raise UserError(f"{where} ({spec.name}): {exc}") from None
    return cfg


def validate_reduction(spec: ReductionSpec, where: str = "reduction") -> None:
    """Raise UserError if the reduction is unknown or its parameters are invalid."""
    build_reduction_config(spec, where)


def apply_reductions(
    model: nn.Module, specs: tuple[ReductionSpec, ...], ctx: ReductionContext
) -> tuple[nn.Module, list[dict]]:
    """Apply reductions in order; return the model and one description per reduction."""
    described = []
    for spec in specs:
        cfg = build_reduction_config(spec)
        plugin = REDUCTIONS.get(spec.name)()
        model, details = plugin.apply(model, cfg, ctx)
        described.append({"name": spec.name, "params": spec.params_dict(), "details": details})
    return model, described
