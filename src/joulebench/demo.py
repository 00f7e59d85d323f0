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


#: The demo's 16-bit row, added where the machine runs bf16 natively.
BF16 = {"name": "quantize", "dtype": "bf16"}


def demo_configs() -> tuple[list, str]:
    """The demo's configurations, with an offline bf16 row where this CPU runs bf16 natively, and a
    line saying whether bf16 is in and why."""
    from joulebench.experiments.sweep import expand_sweep, read_yaml
    from joulebench.reductions.quantize import device_problem

    path = demo_config_path()
    data = read_yaml(path)
    problem = device_problem("bf16", "cpu")
    if problem is None:
        data["grid"][0]["reductions"].append([BF16])
        line = "bf16: included offline (this CPU has native bf16 instructions)"
    else:
        line = f"bf16: skipped ({problem})"
    return expand_sweep(data, str(path)), line


def print_budgets(results_path: Path) -> None:
    """Name the cheapest configuration (energy per example) within 1 and 2 points of the baseline, by
    the point estimate and by non-inferiority (paired interval), with the paired ratios."""
    for section in build_sections(aggregate(load_records(results_path))):
        for pick in section.budget_picks:
            print(f"{section.task}/{section.scenario}: {budget_text(pick)}")
