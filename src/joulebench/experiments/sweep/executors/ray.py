"""ray: each configuration a Ray task; one measuring task per machine at a time.

Measurements must not overlap on a machine (they would share cores, memory bandwidth and the
energy counters), so each task asks for a whole node: one unit of the custom resource
``joulebench_device`` when the cluster advertises it (``ray start --resources
'{"joulebench_device": 1}'``, the robust choice for nodes of different sizes), else as many CPUs
as the smallest node has. The driver appends each record to the store as its task finishes, so
the store stays the single, append-only writer's file and a killed driver resumes like ``local``.

The first configuration of each checkpoint group trains and caches the checkpoint; the rest of
the group is submitted only when it has finished, so they reuse it instead of training in
parallel. On several machines the cache folder (``--cache-dir``) and the data folder must be
shared (e.g. NFS), or each machine trains its own copy.

Needs the optional extra: ``pip install 'joulebench[ray]'``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from joulebench.config.schema import RunConfig, config_hash
from joulebench.errors import UserError
from joulebench.experiments.sweep.executors.base import (
    ExecutorOptions,
    SweepEvents,
    SweepOutcome,
    Timing,
    describe_failure,
    register_executor,
)
from joulebench.results.store import ResultStore

log = logging.getLogger("joulebench.experiments.sweep")

#: Custom resource that, when the cluster declares it, marks one measuring slot per machine.
DEVICE_RESOURCE = "joulebench_device"


def import_ray() -> Any:
    """The ``ray`` module, or a UserError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise UserError("the ray executor needs Ray: pip install 'joulebench[ray]' (or use --executor local)") from None
    return ray


def task_resources(cluster: dict[str, float], node_cpus: list[float]) -> tuple[dict[str, Any], int]:
    """Resources each task asks for so that measurements never share a machine.

    Args:
        cluster: ``ray.cluster_resources()``.
        node_cpus: the CPU count of every alive node.

    Returns:
        The ``.options(...)`` of each task, and how many tasks can run at once.
    """
    if cluster.get(DEVICE_RESOURCE, 0) >= 1:
        return {"num_cpus": 1, "resources": {DEVICE_RESOURCE: 1}}, int(cluster[DEVICE_RESOURCE])
    cpus = [c for c in node_cpus if c > 0] or [max(1.0, cluster.get("CPU", 1.0))]
    per_task = min(cpus)
    if len(set(cpus)) > 1:
        log.warning("nodes have different CPU counts (%s): a task takes %g CPUs, so measurements may share the "
                    "larger nodes; declare one %r per node instead", sorted(set(cpus)), per_task, DEVICE_RESOURCE)
    return {"num_cpus": per_task}, sum(int(c // per_task) for c in cpus)


def run_config(config: RunConfig, data_dir: str | None, cache_root: str, pair: bool = True) -> dict[str, Any]:
    """The task body: run one configuration on a worker and return its record (not stored).

    With ``pair`` the configuration is timed in ABBA rounds with its baseline on the same worker.
    """
    import ray

    from joulebench.models.checkpoints import CheckpointCache
    from joulebench.runner import Runner, RunOptions, paired_baseline

    start = time.time()
    runner = Runner(RunOptions(data_dir=Path(data_dir) if data_dir else None, cache=CheckpointCache(cache_root)))
    record = runner.run(config, baseline=paired_baseline(config) if pair else None)
    return {"record": record, "node": ray.get_runtime_context().get_node_id(), "start_s": start, "end_s": time.time()}


@register_executor("ray", help="each configuration a Ray task, one measuring task per machine (joulebench[ray])")
class RayExecutor:
    """Runs configurations as Ray tasks on the cluster of ``ray.init()`` (``$RAY_ADDRESS``).

    Uses the Ray instance already initialised in this process if there is one; otherwise starts
    or joins one and shuts it down at the end.
    """

    def __init__(self) -> None:
        self.ray = import_ray()

    def execute(
        self, groups: list[list[RunConfig]], store: ResultStore, options: ExecutorOptions, events: SweepEvents
    ) -> SweepOutcome:
        ray = self.ray
        started_here = not ray.is_initialized()
        if started_here:
            ray.init(include_dashboard=False, logging_level=logging.WARNING)
        in_flight: dict[Any, tuple[RunConfig, list[RunConfig]]] = {}
        try:
            nodes = [n for n in ray.nodes() if n.get("Alive")]
            cluster = ray.cluster_resources()
            shape, slots = task_resources(cluster, [n["Resources"].get("CPU", 0.0) for n in nodes])
            has_gpu = cluster.get("GPU", 0) > 0
            events.ready(slots)
            remote = ray.remote(run_config)
            data_dir = str(Path(options.data_dir).resolve()) if options.data_dir else None
            cache_root = str(Path(options.cache.root).expanduser().resolve())

            def submit(config: RunConfig, followers: list[RunConfig]) -> None:
                # Ray hides the GPUs from a task that did not ask for one, so "auto" must ask too.
                wants_gpu = config.measure.device == "cuda" or (config.measure.device == "auto" and has_gpu)
                extra = {"num_gpus": 1} if wants_gpu else {}
                in_flight[remote.options(**shape, **extra).remote(config, data_dir, cache_root, options.pair)] = (
                    config, followers)

            for group in groups:
                submit(group[0], group[1:])
            outcome = SweepOutcome()
            while in_flight:
                (ref,), _ = ray.wait(list(in_flight), num_returns=1)
                config, followers = in_flight.pop(ref)
                try:
                    payload = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    cause = getattr(exc, "cause", None) or exc
                    if not options.keep_going:
                        if isinstance(cause, UserError):
                            raise UserError(str(cause)) from None
                        raise
                    if followers:  # the next one trains (or finds the checkpoint) and leads the rest
                        submit(followers[0], followers[1:])
                    message = describe_failure(cause)
                    outcome.failures.append((config, message))
                    events.failed(config, message)
                    continue
                for follower in followers:  # the checkpoint is cached now
                    submit(follower, [])
                record = payload["record"]
                chash = config_hash(config)
                if chash in store.hashes():  # stored meanwhile by another process
                    record = None
                else:
                    store.append(record)
                    outcome.records.append(record)
                outcome.timings.append(Timing(chash, payload["node"], payload["start_s"], payload["end_s"]))
                events.finished(config, record, payload["end_s"] - payload["start_s"])
            return outcome
        finally:
            for ref in in_flight:  # interrupted or failed: nothing of these is stored
                ray.cancel(ref, force=True)
            if started_here:
                ray.shutdown()
