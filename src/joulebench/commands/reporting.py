"""`report`: frontiers, budgets and plots from stored records."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from joulebench.commands.options import out_option
from joulebench.errors import UserError
from joulebench.results.store import results_path


def report(
    results_dir: Annotated[Path, typer.Argument(help="Directory holding results.jsonl (or the file itself).")],
    out: Annotated[Path, out_option(help="Report directory (PNG plots, report.md, report.html).")],
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
