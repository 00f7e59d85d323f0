"""The Executor protocol, its registry, and what executors report back.

An executor runs the pending configurations of a plan, given as groups sharing a fine-tuned
checkpoint (the first of a group trains it, the others reuse it), and appends one record per
configuration to the store as each finishes. It never decides what to run: the plan did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from joulebench.config.schema import RunConfig
from joulebench.errors import UserError
from joulebench.models.checkpoints import CheckpointCache
from joulebench.registry import Registry
from joulebench.results.store import ResultStore


class SweepEvents(Protocol):
    """What an executor tells the progress display (``joulebench.experiments.sweep.progress.SweepProgress``)."""

    def ready(self, slots: int) -> None:
        """Up to ``slots`` configurations will run at the same time."""

    def started(self, config: RunConfig) -> None:
        """``config`` began running."""

    def step(self, what: str, done: int, total: int) -> None:
        """Progress inside a configuration (training steps, evaluation batches)."""

    def finished(self, config: RunConfig, record: dict | None, seconds: float | None = None) -> None:
        """``config`` ended; its record is stored (None: it was already stored)."""

    def failed(self, config: RunConfig, message: str) -> None:
        """``config`` failed (only reported with ``keep_going``)."""


@dataclass
class ExecutorOptions:
    """Where data and checkpoints live, and what to do when a configuration fails.

    Attributes:
        data_dir: resolved data folder (None: the Hugging Face Hub).
        cache: the checkpoint cache (for Ray, a folder every node can read and write).
        keep_going: record a failure and go on; default: stop at the first failure.
        pair: time every reduced configuration in ABBA rounds with its baseline (the same
            configuration without reductions), so its record carries ``cost.vs_baseline``.
    """

    data_dir: Path | None = None
    cache: CheckpointCache = field(default_factory=CheckpointCache)
    keep_going: bool = False
    pair: bool = True


@dataclass(frozen=True)
class Timing:
    """When a configuration ran, and where (wall-clock seconds since the epoch)."""

    config_hash: str
    node: str
    start_s: float
    end_s: float


@dataclass
class SweepOutcome:
    """Records appended by this invocation, failures (with ``keep_going``), and timings."""

    records: list[dict] = field(default_factory=list)
    failures: list[tuple[RunConfig, str]] = field(default_factory=list)
    timings: list[Timing] = field(default_factory=list)


class Executor(Protocol):
    """Runs groups of configurations and appends their records to the store."""

    def execute(
        self, groups: list[list[RunConfig]], store: ResultStore, options: ExecutorOptions, events: SweepEvents
    ) -> SweepOutcome:
        """Run every configuration of ``groups`` (the first of each group fine-tunes)."""
        ...


EXECUTORS: Registry[Callable[[], Executor]] = Registry("sweep executor")


def register_executor(name: str, help: str = "") -> Callable[[Any], Any]:
    """Class decorator: ``@register_executor("local")``."""
    return EXECUTORS.register(name, help)


def describe_failure(exc: BaseException) -> str:
    """One line for a failed configuration: a UserError as written, anything else with its type."""
    if isinstance(exc, UserError):
        return str(exc)
    return " ".join(f"{type(exc).__name__}: {exc}".split())
