"""Static PNG plots: accuracy-vs-cost frontiers and an optional attention-heads heatmap.

Uses matplotlib's object API with the Agg canvas (no pyplot), so nothing touches global
backend state and plotting is safe in tests and headless machines.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from joulebench.analysis.aggregate import Point
from joulebench.analysis.cross_task import DENSE, CrossTask
from joulebench.analysis.summary import Section
from joulebench.report.format import AXIS_TITLES, frontier_title, percent_scale, quality_name, wants_log_scale

_FRONTIER_COLOR = "#1f77b4"
_BASELINE_COLOR = "#d62728"
_GREY = "#9a9a9a"
_DPI = 110


def plot_filename(task: str, scenario: str, x_metric: str) -> str:
    """File name of a frontier PNG, safe on every filesystem."""
    raw = f"frontier_{task}_{scenario}_{x_metric}.png"
    return re.sub(r"[^A-Za-z0-9_.-]", "-", raw)


def _values(points: Sequence[Point], metric: str, scale: float = 1.0) -> tuple[np.ndarray, ...]:
    """Means and CI half-widths (0 where unknown) as arrays, multiplied by ``scale``."""
    means = np.array([point.mean(metric) for point in points], dtype=float) * scale
    errs = np.array([point.ci95(metric) or 0.0 for point in points], dtype=float) * scale
    return means, errs


def frontier_figure(section: Section, x_metric: str) -> Figure:
    """Quality (%: accuracy, or F1 for question answering) against ``x_metric`` for one section.

    All points are grey with 95% CI error bars; the strict frontier is highlighted, connected
    and labelled; points only on the noise-aware frontier are hollow; baselines are stars.

    Args:
        section: the task/scenario analysis.
        x_metric: a key of ``section.frontiers``.

    Returns:
        The figure (attached to an Agg canvas).
    """
    frontier = section.frontiers[x_metric]
    y_metric = frontier.y_metric
    y_scale = percent_scale(y_metric)
    fig = Figure(figsize=(8, 5.5), dpi=_DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_title(frontier_title(section, x_metric), fontsize=11)
    ax.set_xlabel(AXIS_TITLES.get(x_metric, x_metric))
    ax.set_ylabel(AXIS_TITLES.get(y_metric, y_metric) + (" (%)" if y_scale == 100 else ""))
    ax.grid(True, alpha=0.3)
    points = frontier.points
    if not points:
        ax.text(0.5, 0.5, f"no configuration has a value for {x_metric}",
                ha="center", va="center", transform=ax.transAxes)
        return fig
    x, xerr = _values(points, x_metric)
    y, yerr = _values(points, y_metric, y_scale)
    ax.errorbar(x, y, xerr=xerr, yerr=yerr, fmt="o", color=_GREY, ecolor=_GREY,
                elinewidth=0.8, capsize=2, markersize=5, label="configurations", zorder=2)
    strict = frontier.strict
    fx, _ = _values(strict, x_metric)
    fy, _ = _values(strict, y_metric, y_scale)
    ax.plot(fx, fy, "-o", color=_FRONTIER_COLOR, markersize=7, linewidth=1.5,
            label="Pareto frontier", zorder=4)
    extra = [p for p in frontier.noise_aware if not frontier.on_strict(p)]
    if extra:
        ex, _ = _values(extra, x_metric)
        ey, _ = _values(extra, y_metric, y_scale)
        ax.plot(ex, ey, "o", markerfacecolor="none", markeredgecolor=_FRONTIER_COLOR,
                markersize=9, linestyle="none", label="within noise of frontier", zorder=3)
    bases = [p for p in section.baselines if any(p is q for q in points)]
    if bases:
        bx, _ = _values(bases, x_metric)
        by, _ = _values(bases, y_metric, y_scale)
        ax.plot(bx, by, "*", color=_BASELINE_COLOR, markersize=15, linestyle="none",
                label="baseline (full, no reductions)", zorder=5)
    # Alternate label offsets so neighbouring frontier labels overlap less.
    for i, (px, py, point) in enumerate(zip(fx, fy, strict, strict=True)):
        dy = 8 if i % 2 == 0 else -12
        ax.annotate(point.label, (px, py), textcoords="offset points", xytext=(6, dy),
                    fontsize=7, color="#333333")
    if wants_log_scale(x.tolist()):
        ax.set_xscale("log")
    if frontier.excluded:
        ax.text(0.01, 0.01, f"{len(frontier.excluded)} configuration(s) without {x_metric} "
                "not shown", transform=ax.transAxes, fontsize=7, color="#666666")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def save_frontier_plots(sections: Sequence[Section], out_dir: Path) -> dict[str, Path]:
    """Write one PNG per (task, scenario, x metric).

    Args:
        sections: analysed sections.
        out_dir: existing output directory.

    Returns:
        File name -> written path.
    """
    written: dict[str, Path] = {}
    for section in sections:
        for x_metric in section.frontiers:
            name = plot_filename(section.task, section.scenario, x_metric)
            path = out_dir / name
            frontier_figure(section, x_metric).savefig(path)
            written[name] = path
    return written


def heads_mask(record: Mapping) -> np.ndarray | None:
    """Layers x heads 0/1 mask of kept attention heads from a record's reduction details.

    Accepts ``details["heads_kept_per_layer"]`` either as a list of per-layer lists of kept
    head indices, or as a layers x heads 0/1 matrix. The head count for index lists is
    ``details["num_heads"]`` when given, else the largest index + 1.

    Args:
        record: a result record.

    Returns:
        An int array of shape (layers, heads), or None when no reduction reports heads.
    """
    for reduction in record.get("reductions") or []:
        details = reduction.get("details") or {}
        kept = details.get("heads_kept_per_layer")
        if not isinstance(kept, list) or not kept:
            continue
        rows = [list(row) for row in kept]
        flat = [v for row in rows for v in row]
        is_matrix = (len({len(row) for row in rows}) == 1 and len(rows[0]) > 0
                     and all(v in (0, 1) for v in flat)
                     and "num_heads" not in details)
        if is_matrix:
            # A row of 0/1 flags could also be index lists [0, 1]; equal lengths with only
            # 0/1 and no declared head count is read as a mask.
            return np.array(rows, dtype=int)
        n_heads = int(details.get("num_heads") or (max(flat) + 1 if flat else 0))
        mask = np.zeros((len(rows), n_heads), dtype=int)
        for layer, heads in enumerate(rows):
            mask[layer, [int(h) for h in heads]] = 1
        return mask
    return None


def ffn_kept_counts(record: Mapping) -> list[int] | None:
    """FFN units kept per layer from ``details["ffn_units_kept_per_layer"]`` (index lists), or None."""
    for reduction in record.get("reductions") or []:
        kept = (reduction.get("details") or {}).get("ffn_units_kept_per_layer")
        if isinstance(kept, list) and kept and all(isinstance(row, list) for row in kept):
            return [len(row) for row in kept]
    return None


def heads_heatmap(record: Mapping, title: str | None = None) -> Figure | None:
    """Heatmap of kept (1) and pruned (0) attention heads per layer.

    Args:
        record: a result record whose reductions report ``heads_kept_per_layer``.
        title: figure title; defaults to the record's task and model.

    Returns:
        The figure, or None when the record reports no per-head structure.
    """
    mask = heads_mask(record)
    if mask is None:
        return None
    fig = Figure(figsize=(max(4.0, 0.35 * mask.shape[1] + 2), max(3.0, 0.3 * mask.shape[0] + 1.5)),
                 dpi=_DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.imshow(mask, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    ax.set_xlabel("head (dark = kept)")
    ax.set_ylabel("layer")
    ax.set_xticks(range(mask.shape[1]))
    ax.set_yticks(range(mask.shape[0]))
    ffn = ffn_kept_counts(record)
    if ffn is not None and len(ffn) == mask.shape[0]:
        ax.set_yticklabels([f"{layer} (FFN {n})" for layer, n in enumerate(ffn)])
        ax.set_ylabel("layer (FFN units kept)")
    kept = int(mask.sum())
    text = title or f"{record.get('task')} / {record.get('model')}"
    ax.set_title(textwrap.fill(f"{text} ({kept}/{mask.size} heads)", 70), fontsize=8)
    fig.tight_layout()
    return fig


def power_trace(record: Mapping) -> dict | None:
    """The record's sampled power trace (``cost.power.trace``), or None when it has none."""
    trace = ((record.get("cost") or {}).get("power") or {}).get("trace")
    if isinstance(trace, dict) and trace.get("t_s") and len(trace["t_s"]) == len(trace.get("w") or []):
        return trace
    return None


def power_figure(record: Mapping, title: str | None = None) -> Figure | None:
    """Power against time over the record's first timed window, idle power drawn; None without a trace."""
    trace = power_trace(record)
    if trace is None:
        return None
    fig = Figure(figsize=(6.0, 3.2), dpi=_DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(trace["t_s"], trace["w"], lw=1.2, label=f"sampled at {trace['rate_hz']:g} Hz")
    if trace.get("idle_w") is not None:
        ax.axhline(trace["idle_w"], color="grey", ls="--", lw=1, label=f"idle {trace['idle_w']:.1f} W")
    ax.set_xlabel("time in the window (s)")
    ax.set_ylabel("power (W)")
    net = trace.get("energy_j_net")
    totals = f"gross {trace['energy_j_gross']:.3g} J" + ("" if net is None else f", net {net:.3g} J")
    ax.set_title(textwrap.fill(f"{title or record.get('name') or record.get('task')}: {totals}", 70), fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def cross_task_figure(comparison: CrossTask) -> Figure:
    """Every task on normalised axes: quality retained (%) against the energy ratio to the task's
    own dense baseline, one colour and one frontier line per task, reductions labelled."""
    fig = Figure(figsize=(8.5, 5.8), dpi=_DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2"]
    ratios: list[float] = []
    for i, task in enumerate(comparison.tasks):
        colour = colours[i % len(colours)]
        usable = [(p, p.cost, p.retained) for p in task.points if p.retained is not None and p.cost is not None]
        if not usable:
            continue
        x = [cost.ratio for _, cost, _ in usable]
        y = [100 * retained for _, _, retained in usable]
        ratios += x
        xerr = [[max(0.0, c.ratio - (c.low if c.low is not None else c.ratio)) for _, c, _ in usable],
                [max(0.0, (c.high if c.high is not None else c.ratio) - c.ratio) for _, c, _ in usable]]
        name = quality_name(task.points[0].quality_metric)
        ax.errorbar(x, y, xerr=xerr, fmt="o", color=colour, alpha=0.55, elinewidth=0.8, capsize=2, markersize=5)
        front = task.frontier
        ax.plot([p.cost.ratio for p in front], [100 * p.retained for p in front],  # type: ignore[union-attr,operator]
                "-", color=colour, lw=1.8, label=f"{task.task} ({name}; frontier)")
        for (p, _, _), xi, yi in zip(usable, x, y, strict=True):
            if p.reductions != DENSE:
                ax.annotate(textwrap.shorten(p.reductions, 28, placeholder="…"), (xi, yi), fontsize=6.5,
                            color=colour, xytext=(3, 3), textcoords="offset points")
    ax.axhline(100, color="grey", lw=0.8, ls=":")
    ax.axvline(1, color="grey", lw=0.8, ls=":")
    if wants_log_scale(ratios) or (ratios and min(ratios) > 0 and max(ratios) / min(ratios) > 4):
        ax.set_xscale("log")
        plain = FuncFormatter(lambda value, _: f"{value:g}")  # 0.3, not 3×10⁻¹
        ax.xaxis.set_major_formatter(plain)
        ax.xaxis.set_minor_formatter(plain)
    ax.set_xlabel("energy / the task's dense baseline (paired ABBA ratio; per question for QA)")
    ax.set_ylabel("quality retained (% of the task's dense baseline)")
    ax.set_title(f"Across tasks ({comparison.scenario}): quality retained vs energy ratio", fontsize=11)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


CROSS_TASK_PLOT = "cross_task_{scenario}.png"
