"""The one place a record is put together (the runner and every study call it), so that every record
carries the same top-level keys (``joulebench.results.schema`` documents each one)."""

from __future__ import annotations

from typing import Any

from joulebench.results.schema import SCHEMA_VERSION, engine_label, engine_of


def build_record(config: Any, config_hash: str, reductions: list[dict], quality: dict, cost: dict, train: dict,
                 env: dict, engine: dict | None = None, task_kind: str | None = None) -> dict[str, Any]:
    """A record of ``config`` (bound to its data: ``task_data`` set) with what was measured.

    Args:
        config: the run configuration (``RunConfig``) as hashed.
        config_hash: its identity in the store.
        reductions: ``{"name", "params", "details"}`` per reduction applied, in order.
        quality: the task kind's scores on the evaluation split.
        cost: the cost section (``joulebench.measure.cost``).
        train: what produced the weights and what that cost.
        env: the machine and library versions (``joulebench.env_info.environment``).
        task_kind: the task's kind (``joulebench.tasks.kinds``), which says how the analysis reads the quality.
        engine: what the engine says it ran (``joulebench.on_engine``); None where no engine was asked (a study
            that runs torch itself): the label then comes from the reductions.
    """
    return {
        "schema_version": SCHEMA_VERSION,
        "config_hash": config_hash,
        "name": config.name,
        "config": config.to_dict(),
        "task": config.task,
        "task_data": config.task_data,
        "task_kind": task_kind,
        "model": config.model,
        "regime": config.regime,
        "reductions": reductions,
        "engine": engine_label(engine) if engine else engine_of(reductions),
        "engine_run": engine,
        "scenario": config.measure.scenario,
        "quality": quality,
        "cost": cost,
        "train": train,
        "env": env,
    }
