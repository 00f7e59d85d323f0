"""The demo: a small sweep over the packaged default model on SST-2 (packaged YAML)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from joulebench.analysis.aggregate import aggregate
from joulebench.analysis.load import load_records
from joulebench.analysis.summary import build_sections
from joulebench.report.format import budget_text


def demo_config_path() -> Path:
    """Path of the packaged demo sweep."""
    return Path(str(resources.files("joulebench") / "configs" / "demo_sweep.yaml"))


def print_budgets(results_path: Path) -> None:
    """Name the cheapest configuration (energy per example) within 1 and 2 points of the baseline, by
    the point estimate and by non-inferiority (paired interval), with the paired ratios."""
    for section in build_sections(aggregate(load_records(results_path))):
        for pick in section.budget_picks:
            print(f"{section.task}/{section.scenario}: {budget_text(pick)}")
