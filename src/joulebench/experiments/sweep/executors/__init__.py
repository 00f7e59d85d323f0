"""Sweep executors, one module each, registered by key (``--executor local|ray``)."""

from joulebench.experiments.sweep.executors.base import (
    EXECUTORS,
    Executor,
    ExecutorOptions,
    SweepEvents,
    SweepOutcome,
    Timing,
    register_executor,
)
from joulebench.experiments.sweep.executors.local import LocalExecutor
from joulebench.experiments.sweep.executors.ray import RayExecutor  # imports Ray only when constructed

__all__ = [
    "EXECUTORS", "Executor", "ExecutorOptions", "LocalExecutor", "RayExecutor", "SweepEvents", "SweepOutcome",
    "Timing", "register_executor",
]
