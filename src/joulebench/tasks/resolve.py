"""From a configuration to its task and its data: a built-in task by name, or the task it declares."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from joulebench.tasks.base import Task, get_task
from joulebench.tasks.declared import declared_task


def task_of(config: Any) -> Task:
    """The task of a run configuration: its declaration when it has one, else the registered task."""
    if getattr(config, "task_spec", None) is not None:
        return declared_task(config.task_spec)  # type: ignore[return-value]
    return get_task(config.task)


def bind_data(config: Any, data_dir: Path | None) -> Any:
    """``config`` with ``task_data`` set to its task's data digest under ``data_dir`` (the folder the runner
    reads built-in tasks from; declared tasks name their own files): the same configuration on other data
    is another configuration, in the store and in the checkpoint cache."""
    digest = task_of(config).data_digest(data_dir)  # type: ignore[attr-defined]
    return config if config.task_data == digest else dataclasses.replace(config, task_data=digest)


def report_split(task: Any) -> str:
    """The split a task's figures are reported on: ``test`` where a declared task has one (choices are then made
    on ``validation``), else ``validation``."""
    has_split = getattr(task, "has_split", None)
    return "test" if has_split is not None and has_split("test") else "validation"
