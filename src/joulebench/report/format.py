"""Number formatting and axis names shared by the Markdown, HTML and PNG renderers."""

from __future__ import annotations

from joulebench.analysis.aggregate import Point
from joulebench.analysis.budgets import BudgetPick
from joulebench.analysis.paired import CostRatio, PairedDiff
from joulebench.analysis.summary import Section

#: Axis titles with units.
AXIS_TITLES = {
    "accuracy": "Accuracy",
    "f1": "F1",
    "exact_match": "Exact match",
    "span_f1": "F1 (SQuAD)",
    "macro_f1": "Macro F1",
    "mcc": "Matthews correlation",
    "pearson": "Pearson r",
    "spearman": "Spearman rho",
    "energy_j_per_example": "Energy (J / example)",
    "latency_ms_p50": "Latency p50 (ms)",
    "latency_ms_p99": "Latency p99 (ms)",
    "latency_ms_mean": "Latency mean (ms)",
    "throughput_eps": "Throughput (examples / s)",
    "peak_mem_mb": "Peak memory (MB)",
    "flops_per_example": "FLOPs / example",
}

#: Short column names.
SHORT_NAMES = {
    "energy_j_per_example": "energy",
    "latency_ms_p50": "latency p50",
    "latency_ms_p99": "latency p99",
    "peak_mem_mb": "peak memory",
    "flops_per_example": "FLOPs",
}

DASH = "–"

#: Quality metrics shown in percent (the analysis holds them as fractions), with their short names.
QUALITY_NAMES = {"accuracy": "accuracy", "f1": "F1", "exact_match": "exact match", "span_f1": "F1",
                 "macro_f1": "macro F1", "mcc": "MCC", "pearson": "Pearson r", "spearman": "Spearman rho"}


def quality_name(metric: str) -> str:
    """The short name of a quality metric (``accuracy``, ``F1``, ``exact match``)."""
    return QUALITY_NAMES.get(metric, metric)


def percent_scale(metric: str) -> float:
    """100 for quality metrics (shown in percent), 1 for everything else."""
    return 100.0 if metric in QUALITY_NAMES else 1.0


def num(value: float | None, digits: int = 3) -> str:
    """A value with ``digits`` significant digits, or a dash when missing."""
    if value is None:
        return DASH
    if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}g}"


def flops(value: float | None) -> str:
    """FLOPs with an SI prefix (``1.23 GFLOP``)."""
    if value is None:
        return DASH
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}FLOP"
    return f"{value:.3g} FLOP"


def metric_text(point: Point, metric: str, with_ci: bool = False) -> str:
    """A point's mean of ``metric`` as text, optionally ``± CI``; quality metrics in percent."""
    stat = point.stat(metric)
    if stat is None:
        return DASH
    if metric in QUALITY_NAMES:
        text = f"{100 * stat.mean:.2f}%"
        if with_ci and stat.ci95 is not None:
            text = f"{100 * stat.mean:.2f} ± {100 * stat.ci95:.2f}%"
        return text
    text = flops(stat.mean) if metric == "flops_per_example" else num(stat.mean)
    if with_ci and stat.ci95 is not None:
        ci = flops(stat.ci95) if metric == "flops_per_example" else num(stat.ci95, 2)
        text = f"{text} ± {ci}"
    return text


def hash_text(point: Point) -> str:
    """The records' config hashes, comma-separated (one per seed), or the point key."""
    return ", ".join(point.config_hashes) if point.config_hashes else point.key


def energy_method_text(methods: list[str]) -> str:
    """Plain-language statement of where energy numbers come from."""
    if not methods:
        return "No energy figures: no record carries an energy method."
    parts = []
    for method in methods:
        if method == "estimate":
            parts.append("estimate (modelled, NOT measured by a power meter)")
        elif method == "nvml":
            parts.append("nvml (measured GPU board energy)")
        elif method == "rapl":
            parts.append("rapl (measured CPU package energy)")
        else:
            parts.append(method)
    text = "Energy method: " + "; ".join(parts) + "."
    if "estimate" in methods:
        text += " Estimated energy ranks configurations only as well as its model does."
    if len(methods) > 1:
        text += " Methods differ between records: energy values are not directly comparable."
    return text


def wants_log_scale(values: list[float]) -> bool:
    """True when positive values span more than 50x: a linear axis would squash the cheap end."""
    if len(values) < 2 or any(v <= 0 for v in values):
        return False
    return max(values) / min(values) > 50


def frontier_title(section: Section, x_metric: str) -> str:
    """Plot title, e.g. ``"sst2 / offline: accuracy vs energy"``."""
    y_metric = section.frontiers[x_metric].y_metric
    return f"{section.task} / {section.scenario}: {quality_name(y_metric)} vs {SHORT_NAMES.get(x_metric, x_metric)}"


def diff_text(diff: PairedDiff | None) -> str:
    """A paired quality difference in points with its interval: ``-0.23 [-0.80, +0.34] pt``."""
    if diff is None:
        return DASH
    return f"{100 * diff.delta:+.2f} [{100 * diff.low:+.2f}, {100 * diff.high:+.2f}] pt"


def ratio_text(ratio: CostRatio | None) -> str:
    """A cost ratio with its paired interval, ``0.52× [0.49, 0.55]``, or ``0.52× (unpaired)``."""
    if ratio is None:
        return DASH
    if ratio.low is None or ratio.high is None:
        return f"{ratio.ratio:.2f}× (unpaired)"
    return f"{ratio.ratio:.2f}× [{ratio.low:.2f}, {ratio.high:.2f}]"


def rule_text(rule: str, quality_metric: str = "accuracy") -> str:
    """What a budget rule means, in a few words."""
    if rule == "non-inferiority":
        return "non-inferiority (paired 95% interval of the loss above −budget)"
    return f"point estimate (mean {quality_name(quality_metric)} ≥ baseline − budget)"


def budget_text(pick: BudgetPick) -> str:
    """One line answering a budget question (used by the demo's console output and the HTML)."""
    head = f"within {100 * pick.tolerance_abs:g} pt of {pick.baseline.label}, by {pick.rule}: "
    if pick.pick is None:
        return head + "nothing qualifies"
    name = quality_name(pick.quality_diff.metric) if pick.quality_diff is not None else "quality"
    text = f"{head}{pick.pick.label} (Δ {name} {diff_text(pick.quality_diff)}, energy {ratio_text(pick.ratio)})"
    if pick.trained_longer:
        text += " [trained longer than the baseline]"
    return text


def point_engine(point: Point) -> str:
    """The engine of a point's records (from the record, or from its reductions for records made before)."""
    from joulebench.results.schema import engine_of

    engines = {r.get("engine") or engine_of(r.get("reductions") or []) for r in point.records}
    return " / ".join(sorted(engines)) or DASH
