"""run_sweep: expand, plan, say what will run, and hand the pending work to an executor."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from joulebench.config.schema import RunConfig
from joulebench.experiments.sweep.executors import EXECUTORS, ExecutorOptions, SweepOutcome
from joulebench.experiments.sweep.expand import load_sweep
from joulebench.experiments.sweep.plan import SweepPlan, make_plan
from joulebench.experiments.sweep.progress import SweepProgress, label, print_line


def run_sweep(
    sweep: str | Path | Sequence[RunConfig],
    out: str | Path,
    *,
    data_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    executor: str = "local",
    keep_going: bool = False,
    dry_run: bool = False,
    pair: bool = True,
    console: Console | None = None,
    where: str | None = None,
) -> SweepOutcome:
    """Run every configuration of a sweep not yet in ``OUT/results.jsonl``.

    Restarting the same call after an interruption (Ctrl-C, kill -9, power loss) runs only what
    is missing: records are appended whole and skipped by config hash, checkpoints are written
    to a temporary folder and renamed.

    Args:
        sweep: a sweep file, or already expanded configurations.
        out: output directory; records go to ``OUT/results.jsonl``.
        data_dir: local data folder (default ``$JOULEBENCH_DATA``, ``./data``, else the Hub).
        cache_dir: cache folder; checkpoints go to ``CACHE/checkpoints`` (default
            ``$JOULEBENCH_CACHE`` or ``~/.cache/joulebench``).
        executor: ``local`` or ``ray`` (see ``EXECUTORS``).
        keep_going: record a failing configuration and go on (default: stop at the first).
        dry_run: print the plan and the configurations, run nothing.
        pair: time each reduced configuration in ABBA rounds with its baseline (``cost.vs_baseline``).
        console: where the plan and progress go (default: stderr).
        where: how the plan line names the sweep (default: the file, or "sweep").

    Returns:
        The records appended by this call, failures and timings.

    Raises:
        UserError: a bad sweep file (before anything runs), an unknown executor, or a
            configuration that fails when ``keep_going`` is off.
    """
    from joulebench.models.checkpoints import CheckpointCache
    from joulebench.results.store import ResultStore
    from joulebench.runner import Runner, RunOptions
    from joulebench.tasks import resolve_data_dir

    console = console or Console(stderr=True)
    configs = list(sweep) if not isinstance(sweep, (str, Path)) else load_sweep(sweep)
    runner_cls = EXECUTORS.get(executor)
    store = ResultStore.in_dir(out)
    cache = CheckpointCache(Path(cache_dir) / "checkpoints" if cache_dir else None)
    options = ExecutorOptions(data_dir=resolve_data_dir(data_dir), cache=cache, keep_going=keep_going, pair=pair)
    planner = Runner(RunOptions(data_dir=options.data_dir, cache=cache))
    configs = [planner.bind(c) for c in configs]  # the data's digest is part of each identity
    train_key = planner.train_key
    plan = make_plan(configs, store.hashes(), train_key, cache.has)

    where = where or (str(sweep) if isinstance(sweep, (str, Path)) else "sweep")
    print_line(console, f"sweep {where}: {plan.summary()}")
    if dry_run:
        print_plan(plan, console)
        return SweepOutcome()
    if not plan.pending:
        print_line(console, f"nothing to run: every configuration is in {store.path}")
        return SweepOutcome()
    chosen = runner_cls()  # the ray executor fails here, before any work, if Ray is missing
    with SweepProgress(len(plan.pending), plan.fine_tunings, console) as progress:
        return chosen.execute(plan.groups(), store, options, progress)


def print_plan(plan: SweepPlan, console: Console) -> None:
    """Every configuration in run order, by checkpoint, marked done or to run."""
    current = None
    for item in plan.items:
        if item.train_key != current:
            current = item.train_key
            state = "cached" if current in plan.cached else "to train"
            print_line(console, f"checkpoint {current} ({state})")
        mark = "done" if item.done else "run "
        print_line(console, f"  {mark}  {item.config_hash}  {label(item.config)}")
