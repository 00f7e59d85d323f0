"""``joulebench ls``: the registries (tasks, declared tasks, models, regimes, reductions, meters) and the
family x reduction support matrix."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from joulebench.errors import UserError


def list_plugins(
    tasks_dir: Annotated[list[Path] | None, typer.Option(
        "--tasks-dir", help="Folders of declared tasks to list (default: ./tasks and ./configs/tasks).")] = None,
) -> None:
    """List registered tasks, declared tasks, model aliases, regimes, reductions and energy meters."""
    from joulebench.configuration import declared_tasks
    from joulebench.plugins import all_registries

    for registry in all_registries():
        print(f"{registry.plural}:")
        for name in registry.names():
            print(f"  {name:<18} {registry.describe(name)}")
        if registry.plural == "tasks":
            for folder in tasks_dir or [Path("tasks"), Path("configs/tasks")]:
                for path, spec in declared_tasks(folder) if folder.is_dir() else []:
                    if isinstance(spec, UserError):
                        print(f"  {path.stem:<18} declared in {path}: refused ({spec})")
                    else:
                        print(f"  {spec.name:<18} declared in {path}: {spec.kind}, metrics {', '.join(spec.metrics)}")
    from joulebench.models.families import engine_refusals, support_matrix
    from joulebench.reductions import REDUCTIONS

    names = REDUCTIONS.names()
    print("support matrix (model family x reduction, from the family adapters; every regime and pooling):")
    print("  " + " | ".join(["family"] + names))
    for family, cells in support_matrix(names):
        print("  " + " | ".join([family] + [cells[r] for r in names]))
    for family, engine, why in engine_refusals():
        print(f"  {family} refuses engine {engine} at validate: {why}")
    from joulebench.tasks.kinds import TASK_KINDS

    for kind_name in TASK_KINDS:
        kind = TASK_KINDS.get(kind_name)
        refused = [r for r in names if kind.refusal(r) is not None]
        if refused:
            print(f"  {kind_name} tasks refuse at validate: {', '.join(refused)} (each says why)")
    from joulebench.engines.choice import engine_matrix

    print("engine x reduction on this machine (quantize as bf16, int8 as int8; `no` is what validate says):")
    print("  " + " | ".join(["engine"] + names))
    reasons: dict[str, str] = {}
    for engine, cells in engine_matrix(names):
        marks = []
        for name in names:
            if cells[name] == "yes":
                marks.append("yes")
            else:
                key = f"{len(reasons) + 1}" if cells[name] not in reasons.values() else \
                    next(k for k, v in reasons.items() if v == cells[name])
                reasons[key] = cells[name]
                marks.append(f"no[{key}]")
        print("  " + " | ".join([engine] + marks))
    for key, why in reasons.items():
        print(f"  [{key}] {why[4:]}")
