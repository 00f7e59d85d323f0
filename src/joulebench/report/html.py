"""Self-contained interactive HTML report: Plotly with plotly.js embedded inline (no CDN),
so the page works offline and from an archived artifact."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from joulebench.analysis.aggregate import Point
from joulebench.analysis.budgets import point_energy_per_correct
from joulebench.analysis.cross_task import CrossTask
from joulebench.analysis.summary import Section, other_qualities
from joulebench.report.format import (
    AXIS_TITLES,
    budget_text,
    diff_text,
    energy_method_text,
    frontier_title,
    hash_text,
    metric_text,
    num,
    percent_scale,
    point_engine,
    quality_name,
    ratio_text,
    wants_log_scale,
)

_FRONTIER_COLOR = "#1f77b4"
_BASELINE_COLOR = "#d62728"
_GREY = "#9a9a9a"

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.note { background: #fff5e0; border-left: 4px solid #e0a000; padding: 0.5em 1em; }
.plot { height: 540px; margin-bottom: 2em; }
"""


def hover_text(point: Point) -> str:
    """Hover box content: label, config hash(es) and key metrics (HTML-escaped)."""
    epc = point_energy_per_correct(point)
    method = point.energy_method or "none"
    lines = [
        f"<b>{escape(point.label)}</b>",
        f"config: {escape(hash_text(point))}",
        f"n records: {point.n}",
        f"accuracy: {escape(metric_text(point, 'accuracy', with_ci=True))}",
        f"energy: {escape(metric_text(point, 'energy_j_per_example', with_ci=True))} J/ex"
        f" ({escape(method)})",
        f"energy per correct: {escape(num(epc.mean if epc else None))} J",
        f"latency p50 / p99: {escape(metric_text(point, 'latency_ms_p50'))} / "
        f"{escape(metric_text(point, 'latency_ms_p99'))} ms",
        f"throughput: {escape(metric_text(point, 'throughput_eps'))} ex/s",
        f"peak memory: {escape(metric_text(point, 'peak_mem_mb'))} MB",
        f"FLOPs/ex: {escape(metric_text(point, 'flops_per_example'))}",
    ]
    return "<br>".join(lines)


def _trace(points: Sequence[Point], x_metric: str, y_metric: str, y_scale: float,
           **style: object) -> go.Scatter:
    """A scatter trace of ``points`` with CI error bars and rich hover text."""
    return go.Scatter(
        x=[p.mean(x_metric) for p in points],
        y=[p.mean(y_metric) * y_scale for p in points],  # type: ignore[operator]
        error_x={"type": "data", "array": [p.ci95(x_metric) or 0.0 for p in points],
                 "visible": True, "thickness": 1},
        error_y={"type": "data", "array": [(p.ci95(y_metric) or 0.0) * y_scale for p in points],
                 "visible": True, "thickness": 1},
        customdata=[hover_text(p) for p in points],
        hovertemplate="%{customdata}<extra></extra>",
        **style,
    )


def frontier_plot(section: Section, x_metric: str) -> go.Figure:
    """Interactive version of the PNG frontier plot for one section and x metric."""
    frontier = section.frontiers[x_metric]
    y_metric = frontier.y_metric
    y_scale = percent_scale(y_metric)
    fig = go.Figure()
    fig.add_trace(_trace(frontier.points, x_metric, y_metric, y_scale, mode="markers",
                         name="configurations", marker={"color": _GREY, "size": 8}))
    fig.add_trace(_trace(frontier.strict, x_metric, y_metric, y_scale, mode="lines+markers+text",
                         name="Pareto frontier", text=[p.label for p in frontier.strict],
                         textposition="top right", textfont={"size": 9},
                         marker={"color": _FRONTIER_COLOR, "size": 10},
                         line={"color": _FRONTIER_COLOR}))
    extra = [p for p in frontier.noise_aware if not frontier.on_strict(p)]
    if extra:
        fig.add_trace(_trace(extra, x_metric, y_metric, y_scale, mode="markers",
                             name="within noise of frontier",
                             marker={"color": "rgba(0,0,0,0)", "size": 13,
                                     "line": {"color": _FRONTIER_COLOR, "width": 2}}))
    bases = [p for p in section.baselines if any(p is q for q in frontier.points)]
    if bases:
        fig.add_trace(_trace(bases, x_metric, y_metric, y_scale, mode="markers",
                             name="baseline (full, no reductions)",
                             marker={"color": _BASELINE_COLOR, "size": 16,
                                     "symbol": "star"}))
    y_title = AXIS_TITLES.get(y_metric, y_metric) + (" (%)" if y_scale == 100 else "")
    x_values = [p.mean(x_metric) for p in frontier.points]
    fig.update_layout(
        title=frontier_title(section, x_metric),
        xaxis_title=AXIS_TITLES.get(x_metric, x_metric), yaxis_title=y_title,
        template="plotly_white", hovermode="closest", height=520,
        xaxis_type="log" if wants_log_scale(x_values) else "linear",  # type: ignore[arg-type]
    )
    if not frontier.points:
        fig.add_annotation(text=f"no configuration has a value for {x_metric}",
                           showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    return fig


def _points_table(section: Section) -> str:
    """HTML table of the section's configurations."""
    others = other_qualities(section)
    head = (f"<tr><th>configuration</th><th>engine</th><th>n</th><th>{escape(quality_name(section.quality_metric))}"
            " ± 95% CI</th>" + "".join(f"<th>{escape(quality_name(m))} ± 95% CI</th>" for m in others) +
            "<th>energy J/ex</th><th>energy method</th><th>latency p50 ms</th>"
            "<th>latency p99 ms</th><th>peak MB</th><th>FLOPs/ex</th><th>config hash</th></tr>")
    rows = []
    for p in section.points:
        cells = [p.label, point_engine(p), str(p.n), metric_text(p, section.quality_metric, with_ci=True),
                 *(metric_text(p, m, with_ci=True) for m in others),
                 metric_text(p, "energy_j_per_example", with_ci=True), p.energy_method or "–",
                 metric_text(p, "latency_ms_p50"), metric_text(p, "latency_ms_p99"),
                 metric_text(p, "peak_mem_mb"), metric_text(p, "flops_per_example"),
                 hash_text(p)]
        rows.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _budget_list(section: Section) -> str:
    """Bullet list of the cheapest configuration within each tolerance of each baseline."""
    items = [budget_text(pick) for pick in section.budget_picks]
    items += [f"Not considered: {label}: {why}." for label, why in section.excluded.items()]
    if not items:
        return ""
    return "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in items) + "</ul>"


def _cross_task_table(comparison: CrossTask) -> str:
    """HTML table of the same reductions across tasks (paired Δ quality and energy ratio per task)."""
    head = "<tr><th>reductions</th>" + "".join(
        f"<th>{escape(t.task)} ({escape(quality_name(t.points[0].quality_metric))})</th>"
        for t in comparison.tasks) + "</tr>"
    rows = []
    for label, per_task in comparison.rows:
        cells = [label]
        for t in comparison.tasks:
            tp = per_task.get(t.task)
            cells.append("–" if tp is None else "baseline" if tp.reductions == "dense" and tp.delta is None
                         else f"{diff_text(tp.delta)}; energy {ratio_text(tp.cost)}")
        rows.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    return f"<h2>Across tasks ({escape(comparison.scenario)})</h2><table>{head}{''.join(rows)}</table>"


def render_html(sections: Sequence[Section], title: str = "joulebench report",
                across: Sequence[CrossTask] = ()) -> str:
    """The complete, self-contained HTML page.

    Args:
        sections: analysed sections.
        title: page title.
        across: cross-task comparisons to add after the sections.

    Returns:
        HTML text with plotly.js inlined once in the head and one plot per frontier.
    """
    body = [f"<h1>{escape(title)}</h1>"]
    plot_id = 0
    for section in sections:
        body.append(f"<h2>{escape(section.task)} / {escape(section.scenario)}</h2>")
        note = " ".join([energy_method_text(section.energy_methods), *section.energy_notes])
        body.append(f'<p class="note">{escape(note)}</p>')
        body.append(_points_table(section))
        body.append(_budget_list(section))
        for x_metric in section.frontiers:
            plot_id += 1
            fig = frontier_plot(section, x_metric)
            body.append(fig.to_html(full_html=False, include_plotlyjs=False,
                                    div_id=f"plot-{plot_id}", default_height="540px",
                                    config={"displaylogo": False, "responsive": True}))
    body += [_cross_task_table(c) for c in across]
    if not sections:
        body.append("<p>No records.</p>")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n"
        # Inline, not a <script src>: the report must render with no network.
        f"<script type=\"text/javascript\">{get_plotlyjs()}</script>\n"
        "</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )
