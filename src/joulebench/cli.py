"""Thin typer app: parse, call, print. Errors from bad input become one line and exit 2."""

from __future__ import annotations

import logging
import sys
import types
from pathlib import Path
from typing import Annotated

import click
import typer

from joulebench.commands import listing, prune, ticket, validation
from joulebench.commands.options import CacheDir, DataDir, ExportFormat, Force
from joulebench.display import ProgressBars, console
from joulebench.errors import UserError
from joulebench.results.store import results_path

_typer_click_exceptions: types.ModuleType
try:  # typer >= 0.26 vendors its own click; its exceptions are not click's
    from typer._click import exceptions as _typer_click_exceptions
except ImportError:  # pragma: no cover - older typer uses click itself
    _typer_click_exceptions = click.exceptions


app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Accuracy per joule for reduced pre-trained encoders."
)


def _runner(data_dir: Path | None, cache_dir: Path | None, force: bool, bars: ProgressBars):
    from joulebench.commands.options import make_runner

    return make_runner(data_dir, cache_dir, force, bars)


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
        runner = _runner(data_dir, cache_dir, force, bars)
        for i, config in enumerate(configs, start=1):
            label = config.name or f"{config.task}/{config.model}/{config.regime}"
            console.print(f"[{i}/{len(configs)}] {label} ({config.measure.scenario})")
            record = runner.run(config, store, baseline=baseline_for(config))
            if record is None:
                console.print("  already in the store: skipped (use --force to re-run)")
            else:
                records.append(record)
    return records


@app.command()
def run(
    config: Annotated[Path, typer.Argument(help="YAML file with one configuration or a list.")],
    out: Annotated[Path, typer.Option("--out", help="Output directory; records go to OUT/results.jsonl.")],
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


@app.command()
def sweep(
    sweep_file: Annotated[Path, typer.Argument(help="YAML sweep: a base configuration plus grid: and/or zip:.")],
    out: Annotated[Path, typer.Option("--out", help="Output directory; records go to OUT/results.jsonl.")],
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


@app.command()
def search(
    search_file: Annotated[Path, typer.Argument(help="YAML search: a base configuration plus a search: section.")],
    out: Annotated[Path, typer.Option("--out", help="Output directory; trials go to OUT/results.jsonl.")],
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


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Output directory.")] = Path("joulebench-demo"),
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


@app.command()
def report(
    results_dir: Annotated[Path, typer.Argument(help="Directory holding results.jsonl (or the file itself).")],
    out: Annotated[Path, typer.Option("--out", help="Report directory (PNG plots, report.md, report.html).")],
    grid_intensity: Annotated[str | None, typer.Option(
        "--grid-intensity", help="Add an estimated gCO2e column: grams CO2e per kWh, or an ISO 3166 alpha-3 country "
                                 "code looked up in codecarbon's energy-mix table (e.g. FRA).")] = None,
    metric: Annotated[str | None, typer.Option(
        "--metric", help="Quality metric of the frontiers and budgets (accuracy, f1, macro_f1, mcc, pearson, "
                         "spearman, span_f1, exact_match); default: each task's main metric. Every recorded "
                         "metric is shown in the tables either way.")] = None,
) -> None:
    """Frontiers, budgets and plots from stored records (never re-runs a model)."""
    from joulebench.measure.energy.power_model import grid_intensity as parse_intensity
    from joulebench.report.build import build_report

    carbon = None
    if grid_intensity is not None:
        try:
            carbon = parse_intensity(grid_intensity)
        except ValueError as exc:
            raise UserError(f"--grid-intensity: {exc}") from None
    results = results_path(results_dir)
    written = build_report(results, out, carbon, metric)
    for name, path in written.items():
        print(f"{name}: {path}")


@app.command()
def export(
    results: Annotated[Path, typer.Argument(help="results.jsonl of a run, sweep or search (or its folder).")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write (refused if it exists and is not empty).")],
    pick: Annotated[str | None, typer.Option("--pick", help="'within 1 pt': the cheapest configuration (energy per "
                                             "example) non-inferior within 1 point of its baseline; add "
                                             "'(point estimate)' for that rule.")] = None,
    config_hash: Annotated[str | None, typer.Option("--config-hash", help="Export this record instead.")] = None,
    fmt: ExportFormat = "auto",
    force: Force = False,
    data_dir: DataDir = None,
    cache_dir: CacheDir = None,
) -> None:
    """Write the chosen configuration as a deployable folder with MODEL_CARD.md and joulebench.json."""
    from joulebench.analysis.load import load_records
    from joulebench.commands.options import checkpoints_dir
    from joulebench.export import export_record, select_record
    from joulebench.tasks import resolve_data_dir

    record = select_record(results, pick, config_hash)
    path = results_path(results)
    wanted = ((record.get("cost") or {}).get("vs_baseline") or {}).get("baseline_config_hash")
    baseline = next((r for r in load_records(path) if wanted and r.get("config_hash") == wanted), None)
    done = export_record(record, out, fmt, resolve_data_dir(data_dir), checkpoints_dir(cache_dir), force, baseline)
    print(f"exported {record.get('config_hash')} ({record.get('name') or record.get('task')}) as {done.format} "
          f"to {done.folder}")
    for name, why in done.refused.items():
        print(f"  not as {name}: {why}")


@app.command()
def predict(
    folder: Annotated[Path, typer.Argument(help="A folder written by joulebench export.")],
    input_file: Annotated[Path, typer.Option("--input", help="JSON Lines or CSV with the task's text columns.")],
    out: Annotated[Path | None, typer.Option("--out", help="Predictions, one JSON object per line "
                                             "(default: printed).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Run an exported folder on new inputs (batched, with a progress bar on long files)."""
    import json

    from joulebench.export.predict import predict_file

    with ProgressBars() as bars:
        rows = predict_file(folder, input_file, out, progress=lambda done, total: bars("predict", done, total),
                            data_dir=data_dir)
    if out is None:
        for row in rows:
            print(json.dumps(row))
    else:
        print(f"{len(rows)} predictions: {out}")


@app.command()
def doctor(reprobe: bool = typer.Option(False, help="Measure the backend probe again instead of reading its cache."),
           engines: bool = typer.Option(False, "--engines", help="Also time every engine x precision on the packaged "
                                                                 "MiniLM here (about a minute) and name the fastest."),
           ) -> None:
    """What this machine supports, what auto picks on it (measured by the backend probe), which engines run
    here (timed with --engines), and which energy meter a run would use."""
    from joulebench.doctor import doctor_lines, engine_lines
    from joulebench.measure import pin_threads

    pin_threads(None)
    print("\n".join(doctor_lines(reprobe)))
    if engines:
        print("\n".join(engine_lines()))


# -- sub-command groups: one module each under joulebench/commands, mounted here ------------------
# (import the module at the top, then one add_typer line here)
app.command("validate")(validation.validate)
app.command("ls")(listing.list_plugins)
app.add_typer(prune.app, name="prune")
app.add_typer(ticket.app, name="ticket")


_EXIT = (click.exceptions.Exit, typer.Exit)
_USAGE_ERRORS = (click.ClickException, _typer_click_exceptions.ClickException)
_ABORT = (click.exceptions.Abort, typer.Abort)


def main() -> None:
    """Console entry point."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = app(standalone_mode=False)
    except UserError as exc:
        print(f"joulebench: error: {exc}", file=sys.stderr)
        sys.exit(UserError.exit_code)
    except _EXIT as exc:
        sys.exit(exc.exit_code)
    except _USAGE_ERRORS as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (*_ABORT, KeyboardInterrupt):
        print("joulebench: interrupted; every record already written is kept", file=sys.stderr)
        sys.exit(130)
    sys.exit(result if isinstance(result, int) else 0)
