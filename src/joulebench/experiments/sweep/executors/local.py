"""local: one configuration at a time in this process, in plan order."""

from __future__ import annotations

import socket
import time

from joulebench.config.schema import RunConfig, config_hash
from joulebench.experiments.sweep.executors.base import (
    ExecutorOptions,
    SweepEvents,
    SweepOutcome,
    Timing,
    describe_failure,
    register_executor,
)
from joulebench.results.store import ResultStore


@register_executor("local", help="one configuration at a time in this process (the default)")
class LocalExecutor:
    """Runs configurations sequentially, so measurements never overlap."""

    def execute(
        self, groups: list[list[RunConfig]], store: ResultStore, options: ExecutorOptions, events: SweepEvents
    ) -> SweepOutcome:
        from joulebench.runner import Runner, RunOptions, paired_baseline

        runner = Runner(RunOptions(data_dir=options.data_dir, cache=options.cache, progress=events.step))
        outcome = SweepOutcome()
        events.ready(1)
        node = socket.gethostname()
        for config in (config for group in groups for config in group):
            events.started(config)
            start, t0 = time.time(), time.monotonic()
            try:
                baseline = paired_baseline(config) if options.pair else None
                record = runner.run(config, store, baseline=baseline)  # appends atomically; None when stored
            except Exception as exc:
                if not options.keep_going:
                    raise
                message = describe_failure(exc)
                outcome.failures.append((config, message))
                events.failed(config, message)
                continue
            outcome.timings.append(Timing(config_hash(config), node, start, time.time()))
            if record is not None:
                outcome.records.append(record)
            events.finished(config, record, time.monotonic() - t0)
        return outcome
