"""Benchmark tasks: loading GLUE-style data and scoring predictions.

Importing this package registers every task in :data:`TASKS`::

    from joulebench.tasks import get_task, resolve_data_dir
    task = get_task("sst2")
    examples = task.load("validation", resolve_data_dir(None), max_examples=500, seed=0)
"""

from __future__ import annotations

# Imported for their side effect: each module registers its task in TASKS.
from joulebench.tasks import mrpc, qqp, squad, sst2  # noqa: F401
from joulebench.tasks.base import (
    DATA_ENV,
    SPLITS,
    TASKS,
    Example,
    Task,
    get_task,
    resolve_data_dir,
)

__all__ = ["DATA_ENV", "SPLITS", "TASKS", "Example", "Task", "get_task", "resolve_data_dir"]
