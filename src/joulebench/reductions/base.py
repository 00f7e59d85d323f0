"""The Reduction protocol, its registry and the context reductions may use.

A reduction is ``apply(model, cfg, ctx) -> (model, details)``: it receives the fine-tuned
classifier, returns the model to run (the same object changed, or a wrapper) and a dict saying
what it nominally changed (``layers_kept``, ``weight_bits``, ...). A returned module may also
define ``realised_details() -> dict``; the runner calls it after evaluation so dynamic reductions
(early exit, token pruning) report what they realised (``mean_layers_computed`` ...).

Reductions compose in the order listed. A plugin may define ``check_chain(cfg, before, device)``
raising ValueError when it cannot follow the reductions before it (their ``family`` names, or
the tags a plugin's ``chain_tags(cfg)`` gives), so an impossible combination fails when the
config is loaded, not after fine-tuning.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from torch import nn

from joulebench.config.schema import FILE_PARAMS, ReductionSpec, bytes_digest
from joulebench.errors import UserError
from joulebench.registry import Registry
from joulebench.tasks.kinds import kind_named


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
        fine_tune: callable ``fine_tune(model, examples=None, trainable=None, epochs=None,
            what="re-train", loss_fn=None) -> bool`` that trains ``model`` in place with the run's
            training settings and regime (``trainable`` is an optional predicate on parameter names
            limiting it further; ``loss_fn(model, batch)`` replaces the model's own loss), metered,
            logged in ``trainings`` under ``what`` and cached; True when the weights came from the cache.
        calibration_examples: callable ``(n) -> list`` of up to ``n`` training-split examples
            that the training subset does not contain (for knobs chosen from data, e.g. an
            early-exit threshold calibrated to an accuracy target).
        regime: the configuration's training regime ("full", "frozen", "top_k").
        trainings: where trainings a reduction runs itself (not through ``fine_tune``) are metered
            and logged (``joulebench.training.log.TrainingLog``); None outside the Runner.
        cached_training: callable ``(what, module, train) -> bool``: runs ``train()`` (which trains
            ``module`` in place and returns facts such as ``{"steps": n}``) metered and logged, and
            caches the trained weights keyed by what produced them (base checkpoint, the reductions
            so far, ``what``); when the cache has them it loads them into ``module`` instead and
            returns True. None outside the Runner (then train directly).
        chain: the reductions applied so far, the current one last (set by :func:`apply_reductions`):
            what a training inside a reduction depends on.
        following: the reductions still to come after the current one (set by :func:`apply_reductions`):
            a choice that would fix the graph (an onnxruntime backend) is only eligible when nothing follows.
        encode: callable ``(examples, max_seq_len) -> encoded`` as the task's kind encodes them (a QA
            question becomes windows with answer positions); None: classification encoding.
        precision_by: the engine that carries out a precision reduction itself (a graph engine such as
            openvino); None: torch runs the model and the reduction changes it in place.
    """

    task: Any
    tokenizer: Any
    max_seq_len: int
    device: str = "cpu"
    seed: int = 0
    train_examples: Callable[[], list] | None = None
    fine_tune: Callable[..., bool] | None = None
    calibration_examples: Callable[[int], list] | None = None
    regime: str = "full"
    trainings: Any = None
    cached_training: Callable[..., bool] | None = None
    chain: tuple[ReductionSpec, ...] = ()
    following: tuple[ReductionSpec, ...] = ()
    encode: Callable[[list, int], list] | None = None
    precision_by: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Reduction(Protocol):
    """A registered reduction: a config class and an ``apply``.

    Optional class attributes: ``family`` (default: the registry key; aliases such as ``int8``
    share their family with ``quantize``) and ``check_chain(cfg, before, device)``.
    """

    config_cls: ClassVar[type]

    def apply(self, model: nn.Module, cfg: Any, ctx: ReductionContext) -> tuple[nn.Module, dict]:
        """Return the model to run and what was changed."""
        ...


REDUCTIONS: Registry[Any] = Registry("reduction")  # reduction classes (config_cls, apply, ...)


def param(text: str, default: Any = dataclasses.MISSING, *, file: bool = False) -> Any:
    """A field of a reduction's config with help text (shown by ``joulebench ls``).

    ``file=True`` marks a parameter naming a file (a mask): configurations are then identified by
    the file's content (``joulebench.config.schema.config_hash``), as the plugin's static
    ``file_digest(path) -> str`` computes it (default: the file's bytes).
    """
    if isinstance(default, (list, dict)):
        raise TypeError("use a tuple for sequence defaults: configs are frozen")
    return field(default=default, metadata={"help": text, "file": file})


def register_reduction(name: str, help: str = "") -> Callable[[Any], Any]:
    """Class decorator: ``@register_reduction("int8")``."""
    register = REDUCTIONS.register(name, help)

    def decorate(cls: Any) -> Any:
        digest = getattr(cls, "file_digest", None) or bytes_digest
        files = {f.name: digest for f in dataclasses.fields(cls.config_cls) if f.metadata.get("file")}
        if files:
            FILE_PARAMS[name] = files
        return register(cls)

    return decorate


def build_reduction_config(spec: ReductionSpec, where: str = "reduction") -> Any:
    """Validate a spec's params into the reduction's frozen config (UserError on bad values)."""
    from joulebench.config.build import build_dataclass

    try:
        plugin = REDUCTIONS.get(spec.name)
    except UserError as exc:
        raise UserError(f"{where}: {exc}") from None
    params = spec.params_dict()
    required = [
        f.name for f in dataclasses.fields(plugin.config_cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    missing = [name for name in required if name not in params]
    if missing:
        example = f"{{name: {spec.name}, {missing[0]}: ...}}"
        raise UserError(f"{where} ({spec.name}): missing required parameter {missing[0]!r}, e.g. {example}")
    cfg = build_dataclass(plugin.config_cls, params, f"{where} ({spec.name})")
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


def family_of(name: str) -> str:
    """The family of reduction ``name``: what order rules and duplicate checks compare."""
    return getattr(REDUCTIONS.get(name), "family", name)


def must_come_before(name: str, before: Sequence[str], blocking: Sequence[str], why: str) -> None:
    """For ``check_chain``: ValueError when one of the ``blocking`` families/tags is already ``before``
    reduction ``name`` (``why`` ends the message)."""
    bound = [b for b in before if b in blocking]
    if bound:
        what = "an exported graph (onnxruntime)" if bound[0] == "exported_graph" else bound[0]
        raise ValueError(f"{name} must come before {what} ({why})")


def validate_reduction_chain(
    specs: Sequence[ReductionSpec], where: str = "reductions", device: str | None = None,
    task_kind: str | None = None,
) -> None:
    """Raise UserError when a reduction cannot follow the ones listed before it, or cannot change
    a model of the task's kind.

    Args:
        specs: the reductions in the order they are applied.
        where: prefix for error messages (``config.yaml.reductions``).
        device: "cpu", "cuda", or None/"auto" when not yet known (device checks then wait
            for ``apply``).
        task_kind: the task's kind (``joulebench.tasks.kinds``: it says which reductions apply), None when not
            known.
    """
    before: list[str] = []
    for i, spec in enumerate(specs):
        plugin = REDUCTIONS.get(spec.name)
        kind = None if task_kind is None else kind_named(task_kind)
        why = None if kind is None else kind.refusal(spec.name)
        if kind is not None and why is not None:
            raise UserError(f"{where}[{i}] ({spec.name}): not available for {kind.described}: {why}")
        cfg = build_reduction_config(spec, f"{where}[{i}]")
        check = getattr(plugin, "check_chain", None)
        if check is not None:
            try:
                check(cfg, tuple(before), device if device in ("cpu", "cuda") else None)
            except ValueError as exc:
                raise UserError(f"{where}[{i}] ({spec.name}): {exc}") from None
        tags = getattr(plugin, "chain_tags", None)  # e.g. quantize via onnxruntime adds "exported_graph"
        before.extend(tags(cfg) if tags is not None else (family_of(spec.name),))


def attach_realised(model: nn.Module, described: list[dict]) -> None:
    """Add what dynamic reductions realised to their own entries of ``described``.

    Every submodule with ``realised_details()`` and a ``realised_family`` reports to the last
    entry of that family (early exit wrapped by int8 still reports under early_exit); the
    returned model itself, without ``realised_family``, reports to the last entry, as before.
    """
    if not described:
        return
    for module in model.modules():
        realised = getattr(module, "realised_details", None)
        family = getattr(module, "realised_family", None)
        if realised is None or (family is None and module is not model):
            continue
        owners = [d for d in described if family is not None and family_of(d["name"]) == family]
        (owners[-1] if owners else described[-1])["details"].update(realised())


def apply_reductions(
    model: nn.Module, specs: tuple[ReductionSpec, ...], ctx: ReductionContext
) -> tuple[nn.Module, list[dict]]:
    """Apply reductions in order; return the model and one description per reduction.

    Raises:
        UserError: bad parameters, an impossible order, or a model the reduction cannot change.
    """
    validate_reduction_chain(specs, device=ctx.device, task_kind=getattr(ctx.task, "kind", None))
    described = []
    for i, spec in enumerate(specs):
        ctx.chain, ctx.following = tuple(specs[: i + 1]), tuple(specs[i + 1:])
        cfg = build_reduction_config(spec)
        plugin = REDUCTIONS.get(spec.name)()
        model, details = plugin.apply(model, cfg, ctx)
        described.append({"name": spec.name, "params": spec.params_dict(), "details": details})
    return model, described
