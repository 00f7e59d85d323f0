"""One loader: YAML (safe_load) over defaults; unknown keys and bad values are UserErrors."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from joulebench.config.build import build_dataclass
from joulebench.config.schema import MeasureConfig, ReductionSpec, RunConfig, TrainConfig
from joulebench.errors import UserError

__all__ = ["build_dataclass", "load_configs", "parse_config", "read_yaml"]

_SECTIONS = {"train": TrainConfig, "measure": MeasureConfig}


def _reduction(item: Any, where: str) -> ReductionSpec:
    """``int8`` or ``{name: layer_drop, keep_layers: 3}`` -> ReductionSpec (validated)."""
    if isinstance(item, str):
        name, params = item, {}
    elif isinstance(item, dict) and "name" in item:
        params = {k: v for k, v in item.items() if k != "name"}
        name = item["name"]
    else:
        raise UserError(f"{where}: expected a reduction name or a mapping with 'name', got {item!r}")
    from joulebench.reductions import validate_reduction

    spec = ReductionSpec(name=str(name), params=tuple(sorted(params.items())))
    validate_reduction(spec, where)
    return spec


def parse_config(data: Any, where: str = "config") -> list[RunConfig]:
    """One config mapping -> one or more RunConfigs (a list of scenarios expands)."""
    if not isinstance(data, dict):
        raise UserError(f"{where}: expected a mapping with at least 'task', got {type(data).__name__}")
    data = dict(data)
    if "task" not in data:
        raise UserError(f"{where}: missing required key 'task'")
    sections = {}
    for key in _SECTIONS:
        sections[key] = data.pop(key, None)
    reductions = data.pop("reductions", None) or []
    if not isinstance(reductions, list):
        raise UserError(f"{where}.reductions: expected a list, got {reductions!r}")
    specs = tuple(_reduction(r, f"{where}.reductions[{i}]") for i, r in enumerate(reductions))
    if isinstance(data.get("model"), dict):
        data["model"] = _random_architecture(data["model"], f"{where}.model")
    measure = dict(sections["measure"] or {})
    scenarios = measure.pop("scenario", "offline")
    scenarios = scenarios if isinstance(scenarios, list) else [scenarios]
    train = build_dataclass(TrainConfig, sections["train"], f"{where}.train")
    configs = []
    for scenario in scenarios:
        measure_cfg = build_dataclass(MeasureConfig, {**measure, "scenario": scenario}, f"{where}.measure")
        top = build_dataclass(RunConfig, data, where) if data else None
        kwargs = {f.name: getattr(top, f.name) for f in dataclasses.fields(RunConfig)} if top else {}
        kwargs.update(train=train, measure=measure_cfg, reductions=specs)
        config = RunConfig(**kwargs)
        try:
            config.validate()
        except ValueError as exc:
            raise UserError(f"{where}: {exc}") from None
        from joulebench.reductions import validate_reduction_chain

        validate_reduction_chain(specs, f"{where}.reductions", config.measure.device,  # impossible combinations
                                 _task_kind(config.task))
        _check_model_family(config.model, f"{where}.model", specs)
        configs.append(config)
    return configs


def read_yaml(path: str | Path, what: str = "config file") -> Any:
    """``yaml.safe_load`` of ``path``; a missing file or bad YAML is a one-line UserError.

    Args:
        path: the file.
        what: how the error names it (``"sweep file"``, ``"study file"`` ...).
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: {what} not found")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        raise UserError(f"{path}:{line} is not valid YAML ({getattr(exc, 'problem', exc)})") from None


def load_configs(path: str | Path) -> list[RunConfig]:
    """Read a YAML file holding one config, a list of configs, or ``{configs: [...]}``."""
    path = Path(path)
    data = read_yaml(path)
    if isinstance(data, dict) and "configs" in data and "task" not in data:
        data = data["configs"]
    items = data if isinstance(data, list) else [data]
    if not items:
        raise UserError(f"{path}: no configuration found")
    configs: list[RunConfig] = []
    for i, item in enumerate(items):
        where = f"{path}" if len(items) == 1 else f"{path}[{i}]"
        configs.extend(parse_config(item, where))
    return configs


def _task_kind(name: str) -> str | None:
    """The kind of task ``name`` ("classification", "qa"), None when it is not a known task (its own check says so)."""
    from joulebench.errors import UserError
    from joulebench.tasks import get_task

    try:
        return getattr(get_task(name), "kind", "classification")
    except UserError:
        return None


def _random_architecture(spec: dict, where: str) -> str:
    """``{architecture: NAME, weights: random}`` -> the model reference ``random:NAME`` (cost only)."""
    from joulebench.models.loading import RANDOM_PREFIX, architectures

    unknown = sorted(set(spec) - {"architecture", "weights"})
    if unknown:
        raise UserError(f"{where}: unknown key {unknown[0]!r} (expected architecture and weights: random)")
    if spec.get("weights") != "random":
        raise UserError(f"{where}.weights: expected 'random' (a full-size architecture with random weights, for "
                        f"cost only), got {spec.get('weights')!r}; for trained weights give the model as a string")
    name = spec.get("architecture")
    if name not in architectures():
        raise UserError(f"{where}.architecture: unknown {name!r}; shipped: {', '.join(architectures())}")
    return f"{RANDOM_PREFIX}{name}"


def _check_model_family(ref: str, where: str, specs: tuple) -> None:
    """Refuse, before anything runs, a model whose family joulebench cannot reduce (read offline from its
    config.json; a Hub id is checked when it is downloaded)."""
    import json

    from joulebench.models.families import family_for_type
    from joulebench.models.loading import resolve_model

    target = resolve_model(ref)
    if isinstance(target, dict):
        model_type = target.get("model_type", "bert")
    elif Path(target).is_dir():
        path = Path(target) / "config.json"
        try:
            model_type = json.loads(path.read_text()).get("model_type")
        except (OSError, ValueError) as exc:
            raise UserError(f"{path}: not a readable JSON model config ({str(exc)[:120]})") from None
    else:
        return
    family = family_for_type(model_type, f"{where} {ref!r}")
    for i, spec in enumerate(specs):
        why = family.refusals.get(spec.name)
        if why:
            raise UserError(f"{where}: {spec.name} (reductions[{i}]) is not available for {model_type}: {why}")
