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


#: The demo's 16-bit row, added where the backend probe measured a 16-bit dtype faster than fp32.
HALF = {"name": "quantize", "dtype": "auto16"}


def demo_configs() -> tuple[list, str]:
    """The demo's configurations, with an offline 16-bit row (``dtype: auto16``) where the backend
    probe measured bf16 or fp16 faster than fp32 on this machine, and a line saying whether it is in
    and why."""
    from joulebench.errors import UserError
    from joulebench.experiments.sweep import expand_sweep, read_yaml
    from joulebench.reductions.backend_probe import HALF_CANDIDATES, probe_backends
    from joulebench.reductions.quantize import resolve_half

    path = demo_config_path()
    data = read_yaml(path)
    try:
        picked = resolve_half("cpu").picked
        data["grid"][0]["reductions"].append([HALF])
        line = (f"16-bit: included offline as dtype auto16 -> {picked} (backend probe: "
                f"{probe_backends(None, 'cpu').summary(HALF_CANDIDATES)} of fp32)")
    except UserError as exc:
        line = f"16-bit: skipped ({exc})"
    return expand_sweep(data, str(path)), line


def print_budgets(results_path: Path) -> None:
    """Name the cheapest configuration (energy per example) within 1 and 2 points of the baseline, by
    the point estimate and by non-inferiority (paired interval), with the paired ratios."""
    for section in build_sections(aggregate(load_records(results_path))):
        for pick in section.budget_picks:
            print(f"{section.task}/{section.scenario}: {budget_text(pick)}")
