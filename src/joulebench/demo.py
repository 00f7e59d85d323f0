"""The demo: a small sweep over the packaged default model on SST-2 (packaged YAML)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from joulebench.analysis.aggregate import aggregate
from joulebench.analysis.load import load_records
from joulebench.analysis.summary import build_sections


def demo_config_path() -> Path:
    """Path of the packaged demo sweep."""
    return Path(str(resources.files("joulebench") / "configs" / "demo_sweep.yaml"))


def print_budgets(results_path: Path) -> None:
    """Name the cheapest configuration (energy per example) within 1 and 2 points of baseline."""
    for section in build_sections(aggregate(load_records(results_path))):
        for pick in section.budget_picks:
            base = pick.baseline
            if pick.pick is None:
                print(f"{section.task}/{section.scenario}: nothing within {pick.tolerance_abs:.0%} of {base.label}")
                continue
            ratio = "n/a" if pick.cost_ratio is None else f"{pick.cost_ratio:.2f}x the baseline's"
            print(f"{section.task}/{section.scenario}: cheapest within {pick.tolerance_abs * 100:.0f} point(s) of "
                  f"{base.label} ({base.mean('accuracy'):.4f}): {pick.pick.label} "
                  f"(accuracy {pick.pick.mean('accuracy'):.4f}, {pick.cost_metric} {ratio})")
