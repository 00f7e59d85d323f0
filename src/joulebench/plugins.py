"""Imports every plugin module so the registries are filled; lists the registries."""

from __future__ import annotations

from joulebench.registry import Registry


def all_registries() -> list[Registry]:
    """Every registry, plugins loaded."""
    from joulebench.engines import ENGINES
    from joulebench.experiments.sweep.executors import EXECUTORS
    from joulebench.measure.energy import ENERGY_METERS
    from joulebench.models.loading import MODEL_ALIASES
    from joulebench.reductions import REDUCTIONS
    from joulebench.tasks import TASKS
    from joulebench.tasks.kinds import TASK_KINDS
    from joulebench.training.regimes import REGIMES

    return [TASKS, TASK_KINDS, MODEL_ALIASES, REGIMES, REDUCTIONS, ENGINES, ENERGY_METERS, EXECUTORS]
