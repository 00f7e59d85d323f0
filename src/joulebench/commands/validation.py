"""``joulebench validate``: read configuration, sweep, search and task files and check them (data included)
without running anything."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from joulebench.commands.options import DataDir
from joulebench.display import console
from joulebench.errors import UserError


def validate(
    config: Annotated[list[Path] | None, typer.Argument(help="YAML config, sweep, search or task files.")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="Also print every train/measure field (default and "
                                          "meaning) and the record schema.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Check configuration (and sweep, search, task) files without running them: every declared task's data is
    read and checked too. The hash printed is the one the store will hold (the data's digest included)."""
    import dataclasses

    from joulebench.config import config_hash
    from joulebench.config.schema import MeasureConfig, TrainConfig, field_help
    from joulebench.experiments.search import load_search
    from joulebench.experiments.sweep import load_any
    from joulebench.results import schema

    if explain:
        for section, cls in (("train", TrainConfig), ("measure", MeasureConfig)):
            print(f"{section}:")
            defaults = {f.name: f.default for f in dataclasses.fields(cls)}
            for name, text in field_help(cls).items():
                print(f"  {name:<20} default {defaults[name]!r:<10} {text}")
        print(f"\nrecord schema (joulebench.results.schema, version {schema.SCHEMA_VERSION}):")
        print(schema.__doc__)
    if not config and not explain:
        raise UserError("validate: name at least one config file (or --explain)")
    from joulebench.tasks import resolve_data_dir
    from joulebench.tasks.resolve import bind_data

    root = resolve_data_dir(data_dir)
    checked: set = set()
    for path in config or []:
        if _is_task_file(path):
            _check_task(_read_task(path), checked)
            continue
        if _is_search_file(path):
            space = load_search(path)
            print(f"ok  {path}  search: {len(space.slots)} reduction slot(s), {len(space.keys)} key(s), "
                  f"objectives {[o.text for o in space.objectives]}, sampler {space.sampler}")
            continue
        for cfg in load_any(path):
            if cfg.task_spec is not None:
                _check_task(cfg.task_spec, checked)
            print(f"ok  {path}  {config_hash(bind_data(cfg, root))}  {cfg.task}/{cfg.model}/{cfg.regime} "
                  f"{[r.name for r in cfg.reductions]} {cfg.measure.scenario}"
                  + ("" if cfg.engine == "torch" else f" on {cfg.engine}"))


def _is_task_file(path: Path) -> bool:
    """A task declaration file: a mapping with kind/data/hub and no task key."""
    from joulebench.yaml_io import read_yaml

    if not path.is_file():
        return False
    data = read_yaml(path)
    return isinstance(data, dict) and "task" not in data and ("data" in data or "hub" in data)


def _read_task(path: Path):
    from joulebench.tasks.declared import read_declaration

    return read_declaration(path)


def _check_task(spec, checked: set) -> None:
    """Read and check a declared task's files once; print what was found and any warning."""
    from joulebench.tasks.declared import declared_task

    if spec in checked:
        return
    checked.add(spec)
    task = declared_task(spec)
    warnings = task.check()
    sizes = ", ".join(f"{split} {len(task.load(split))}" for split in ("train", "validation", "test", "calibration")
                      if task.has_split(split) or split in ("train", "validation"))
    labels = f", labels {list(task.label_names)}" if task.task_kind.has_label_names else ""
    print(f"ok  task {spec.name} ({spec.kind}; {sizes}{labels}; metrics {list(task.metric_names)}; "
          f"data {task.data_digest()})")
    for warning in warnings:
        console.print(f"warning: {warning}", markup=False, highlight=False, soft_wrap=True)


def _is_search_file(path: Path) -> bool:
    from joulebench.experiments.search.parsing import is_search
    from joulebench.experiments.sweep import read_yaml

    return path.is_file() and is_search(read_yaml(path))
