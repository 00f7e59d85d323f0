"""One loader: YAML (safe_load) over defaults; unknown keys and bad values are UserErrors."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from joulebench.config.build import build_dataclass
from joulebench.config.schema import MeasureConfig, ReductionSpec, RunConfig, TrainConfig
from joulebench.engines import ENGINES
from joulebench.engines.choice import AUTO, engine_problem, legacy_engine
from joulebench.errors import UserError
from joulebench.models.families import family_for_type
from joulebench.models.loading import RANDOM_PREFIX, architectures, refuse_own_code_without_builtin, resolve_model
from joulebench.notices import warn_once
from joulebench.reductions import validate_reduction, validate_reduction_chain
from joulebench.tasks import TASKS
from joulebench.tasks.declared import parse_declaration, read_declaration
from joulebench.tasks.kinds import kind_named
from joulebench.tasks.resolve import task_of
from joulebench.yaml_io import read_yaml

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

    spec = ReductionSpec(name=str(name), params=tuple(sorted(params.items())))
    validate_reduction(spec, where)
    return spec


def parse_config(data: Any, where: str = "config", base_dir: Path | None = None) -> list[RunConfig]:
    """One config mapping -> one or more RunConfigs (a list of scenarios expands).

    Args:
        base_dir: the folder of the file it came from: a task file named by ``task`` and the ``tasks/``
            folder of declared tasks are found there (default: the working directory).
    """
    if not isinstance(data, dict):
        raise UserError(f"{where}: expected a mapping with at least 'task', got {type(data).__name__}")
    data = dict(data)
    if "task" not in data:
        raise UserError(f"{where}: missing required key 'task'")
    for key in ("task_spec", "task_data"):
        if key in data:
            raise UserError(f"{where}: {key!r} is set by joulebench; declare a task under 'task:' instead")
    task_name, task_spec = resolve_task_value(data["task"], base_dir or Path.cwd(), f"{where}.task")
    data["task"] = task_name
    sections = {}
    for key in _SECTIONS:
        sections[key] = data.pop(key, None)
    reductions = data.pop("reductions", None) or []
    if not isinstance(reductions, list):
        raise UserError(f"{where}.reductions: expected a list, got {reductions!r}")
    reductions, named, note = legacy_engine(reductions)
    if named is not None:
        if data.get("engine", named) != named:
            raise UserError(f"{where}: engine {data['engine']!r} and the reductions' engine {named!r} disagree; "
                            "name the engine once, in engine:")
        data["engine"] = named
        warn_once(str(note))
    specs = tuple(_reduction(r, f"{where}.reductions[{i}]") for i, r in enumerate(reductions))
    if isinstance(data.get("model"), dict):
        data["model"] = _random_architecture(data["model"], f"{where}.model")
    measure = dict(sections["measure"] or {})
    scenarios = measure.pop("scenario", "offline")
    scenarios = scenarios if isinstance(scenarios, list) else [scenarios]
    train = build_dataclass(TrainConfig, _train_section(sections["train"]), f"{where}.train")
    configs = []
    for scenario in scenarios:
        measure_cfg = build_dataclass(MeasureConfig, {**measure, "scenario": scenario}, f"{where}.measure")
        top = build_dataclass(RunConfig, data, where) if data else None
        kwargs = {f.name: getattr(top, f.name) for f in dataclasses.fields(RunConfig)} if top else {}
        kwargs.update(train=train, measure=measure_cfg, reductions=specs, task_spec=task_spec)
        config = RunConfig(**kwargs)
        try:
            config.validate()
        except ValueError as exc:
            raise UserError(f"{where}: {exc}") from None

        validate_reduction_chain(specs, f"{where}.reductions", config.measure.device,  # impossible combinations
                                 _task_kind(config))
        _check_engine(config, where)
        _check_model_family(config.model, f"{where}.model", specs, config.max_seq_len, where, config.engine)
        configs.append(config)
    return configs


def _check_engine(config: RunConfig, where: str) -> None:
    """An engine that is unknown, not installed, or cannot run these reductions, precision or task: one line."""
    if config.engine != AUTO:
        ENGINES.get(config.engine)  # an unknown name: did-you-mean
    kind = _task_kind(config)
    problem = engine_problem(config.engine, config.reductions, config.measure.device,
                             kind is not None and not kind_named(kind).single_output)
    if problem is not None:
        raise UserError(f"{where}.engine: {problem}")


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
        configs.extend(parse_config(item, where, path.parent))
    return configs


#: The folder, beside a configuration file, whose YAML files declare tasks by their file name.
TASKS_FOLDER = "tasks"


def resolve_task_value(value: Any, base_dir: Path, where: str) -> tuple[str, Any]:
    """``task:`` -> (task name, declaration or None).

    A mapping declares a task inline; a string is a built-in task (``sst2``), a task file
    (``tasks/tickets.yaml``), or the name of a file in the ``tasks/`` folder beside the configuration
    (``tickets`` for ``tasks/tickets.yaml``). An unknown name is left to the task check, which lists
    what exists.
    """

    if isinstance(value, dict):
        spec = parse_declaration(value, base_dir, where)
        return spec.name, spec
    if not isinstance(value, str) or not value:
        raise UserError(f"{where}: expected a task name, a task file or a declaration, got {value!r}")
    if value in TASKS.names():
        return value, None
    if value.endswith((".yaml", ".yml")):
        spec = read_declaration(base_dir / value)
        return spec.name, spec
    for suffix in (".yaml", ".yml"):
        candidate = base_dir / TASKS_FOLDER / f"{value}{suffix}"
        if candidate.is_file():
            spec = read_declaration(candidate)
            if spec.name != value:
                raise UserError(f"{candidate}: declares task {spec.name!r}, but is found by the name {value!r}; "
                                "name the file after the task")
            return spec.name, spec
    return value, None


def declared_tasks(folder: Path) -> list[tuple[Path, Any]]:
    """The task files of a ``tasks/`` folder, each with its declaration or the error that refuses it."""

    out: list[tuple[Path, Any]] = []
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        try:
            out.append((path, read_declaration(path)))
        except UserError as exc:
            out.append((path, exc))
    return out


def _task_kind(config: RunConfig) -> str | None:
    """The name of the config's task kind (``joulebench.tasks.kinds``), None when it is not a known task (its own
    check says so)."""

    try:
        return getattr(task_of(config), "kind", "classification")
    except UserError:
        return None


def _random_architecture(spec: dict, where: str) -> str:
    """``{architecture: NAME, weights: random}`` -> the model reference ``random:NAME`` (cost only)."""

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


def _check_model_family(ref: str, where: str, specs: tuple, max_seq_len: int | None = None,
                        config_where: str = "config", engine: str = "torch") -> None:
    """Refuse, before anything runs, a model whose family joulebench cannot reduce (read offline from its
    config.json; a Hub id is checked when it is downloaded)."""
    import json


    target = resolve_model(ref)
    if isinstance(target, dict):
        model_type = target.get("model_type", "bert")
        settings = dict(target.get("config") or {})
    elif Path(target).is_dir():
        refuse_own_code_without_builtin(target, ref)
        path = Path(target) / "config.json"
        try:
            settings = json.loads(path.read_text())
            model_type = settings.get("model_type")
        except (OSError, ValueError) as exc:
            raise UserError(f"{path}: not a readable JSON model config ({str(exc)[:120]})") from None
    else:
        return
    family = family_for_type(model_type, f"{where} {ref!r}")
    positions = family.usable_positions(settings)
    if max_seq_len is not None and positions is not None and max_seq_len > positions:
        raise UserError(f"{config_where}.max_seq_len: {max_seq_len} is beyond the {positions} positions model {ref!r} "
                        f"has (max_position_embeddings); use at most {positions}")
    for i, spec in enumerate(specs):
        why = family.refusals.get(spec.name)
        if why:
            raise UserError(f"{where}: {spec.name} (reductions[{i}]) is not available for {model_type}: {why}")
    why = family.engine_refusals.get(engine) if engine != AUTO else None
    if why:
        raise UserError(f"{config_where}.engine: engine {engine} cannot run {model_type} here: {why}; use engine "
                        "torch or torch_compile")


def _train_section(value: Any) -> Any:
    """``train: none`` (no training, cost only) as the mapping it stands for; anything else as it is."""
    if isinstance(value, str) and value.strip().lower() == "none":
        return {"skip": True}
    return value
