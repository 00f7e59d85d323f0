"""`run`, `sweep`, `search` and `demo`: configurations in, records out (thin shells over the runner and
experiments/)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from joulebench.commands.options import CacheDir, DataDir, RecordsOut, make_runner, out_option
from joulebench.display import ProgressBars, console
from joulebench.errors import UserError


def _run_all(configs: list, out: Path, data_dir: Path | None, cache_dir: Path | None, force: bool,
             baseline: str | None = None) -> list[dict]:
    from joulebench.config.schema import RunConfig
    from joulebench.configuration import load_configs
    from joulebench.results.store import ResultStore
    from joulebench.runner import paired_baseline

    def baseline_for(config: RunConfig) -> RunConfig | None:
        if baseline is None:
            return None
        if baseline == "auto":
            return paired_baseline(config)
        named = [b for b in load_configs(Path(baseline)) if b.measure.scenario == config.measure.scenario]
        if not named:
            raise UserError(f"{baseline}: no baseline configuration with scenario {config.measure.scenario!r}")
        return named[0]

    store = ResultStore.in_dir(out)
    records = []
    with ProgressBars() as bars:
        runner = make_runner(data_dir, cache_dir, force, bars)
        for i, config in enumerate(configs, start=1):
            label = config.name or f"{config.task}/{config.model}/{config.regime}"
            console.print(f"[{i}/{len(configs)}] {label} ({config.measure.scenario})")
            record = runner.run(config, store, baseline=baseline_for(config))
            if record is None:
                console.print("  already in the store: skipped (use --force to re-run)")
            else:
                records.append(record)
    return records


def run(
    config: Annotated[Path, typer.Argument(help="YAML file with one configuration or a list.")],
    out: RecordsOut,
    data_dir: DataDir = None,
    cache_dir: CacheDir = None,
    force: Annotated[bool, typer.Option("--force", help="Re-run configurations already stored.")] = False,
    baseline: Annotated[str | None, typer.Option(
        "--baseline", help="Time each configuration in ABBA rounds against a baseline: 'auto' (the same "
        "configuration without reductions) or a YAML file with the baseline configuration.")] = None,
) -> None:
    """Run one configuration (or a list) and append one record per measured configuration."""
    from joulebench.configuration import load_configs
    from joulebench.display import print_records

    configs = load_configs(config)
    if baseline not in (None, "auto") and not Path(baseline).is_file():
        raise UserError(f"--baseline: expected 'auto' or a YAML config file, got {baseline!r}")
    records = _run_all(configs, out, data_dir, cache_dir, force, baseline)
    print_records(records)


def sweep(
    sweep_file: Annotated[Path, typer.Argument(help="YAML sweep: a base configuration plus grid: and/or zip:.")],
    out: RecordsOut,
    data_dir: DataDir = None,
    cache_dir: CacheDir = None,
    executor: Annotated[str, typer.Option("--executor", help="local (one at a time) or ray (a task each, "
                                          "one measuring task per machine).")] = "local",
    keep_going: Annotated[bool, typer.Option("--keep-going", help="Go on after a failing configuration.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan and configurations; run nothing.")] = False,
    pair: Annotated[bool, typer.Option("--pair/--no-pair", help="Time each reduced configuration in ABBA rounds "
                                       "with its baseline (the same configuration without reductions).")] = True,
) -> int:
    """Run every configuration of a sweep not yet in OUT; re-run the same command to resume."""
    from joulebench.display import print_records
    from joulebench.experiments.sweep import run_sweep

    outcome = run_sweep(sweep_file, out, data_dir=data_dir, cache_dir=cache_dir, executor=executor,
                        keep_going=keep_going, dry_run=dry_run, pair=pair, console=console)
    if not dry_run:
        print_records(outcome.records)
    for config, message in outcome.failures:
        console.print(f"failed: {config.name or config.task} ({config.measure.scenario}): {message}", markup=False,
                      highlight=False, soft_wrap=True)
    return 1 if outcome.failures else 0


def search(
    search_file: Annotated[Path, typer.Argument(help="YAML search: a base configuration plus a search: section.")],
    out: Annotated[Path, out_option(help="Output directory; trials go to OUT/results.jsonl.")],
    trials: Annotated[int, typer.Option("--trials", help="Distinct points of the space to measure in all, those "
                                        "already in OUT included (re-run the command to continue).")] = 12,
    goal: Annotated[str | None, typer.Option("--goal", help="One objective and constraints, e.g. 'min "
                                             "energy_j_per_example s.t. accuracy >= baseline - 0.01'; stops when "
                                             "trials stop improving the answer beyond its interval.")] = None,
    patience: Annotated[int, typer.Option("--patience", help="Goal mode: trials in a row without an "
                                          "improvement beyond noise before stopping.")] = 6,
    executor: Annotated[str, typer.Option("--executor", help="local or ray.")] = "local",
    parallel: Annotated[int, typer.Option("--parallel", help="Trials in flight at once (ray).")] = 1,
    data_dir: DataDir = None,
    cache_dir: CacheDir = None,
) -> int:
    """Search reductions and their parameters with Optuna instead of running the grid."""
    from joulebench.experiments.search import load_search, parse_goal, run_search
    from joulebench.experiments.search.summary import summary_lines

    space = load_search(search_file)
    parsed_goal = parse_goal(goal) if goal else None
    outcome = run_search(space, out, trials, goal=parsed_goal, patience=patience, executor=executor,
                         parallel=parallel, data_dir=data_dir, cache_dir=cache_dir, console=console)
    print("\n".join(summary_lines(outcome, space, parsed_goal)))
    return 1 if outcome.failures else 0


def demo(
    out: Annotated[Path, out_option(help="Output directory.")] = Path("joulebench-demo"),
    data_dir: DataDir = None,
    cache_dir: CacheDir = None,
) -> int:
    """The main job, offline: a small sweep of reductions over the packaged MiniLM on SST-2, then the report."""
    from joulebench.demo import demo_config_path, demo_configs, print_budgets
    from joulebench.display import print_records
    from joulebench.experiments.sweep import run_sweep
    from joulebench.report.build import build_report
    from joulebench.results.store import ResultStore

    configs, half_line = demo_configs()
    console.print(half_line, markup=False, highlight=False)
    outcome = run_sweep(configs, out, data_dir=data_dir, cache_dir=cache_dir, console=console,
                        where=str(demo_config_path()))
    store = ResultStore.in_dir(out)
    print_records(store.records())
    written = build_report(store.path, out / "report")
    print_budgets(store.path)
    print(f"records: {store.path}\nreport:  {written['report.md']}  {written['report.html']}")
    return 1 if outcome.failures else 0
