"""Build the full report (Markdown, HTML, PNGs) from a results file."""

from __future__ import annotations

from pathlib import Path

from joulebench.analysis.aggregate import aggregate
from joulebench.analysis.cross_task import cross_task
from joulebench.analysis.load import load_records
from joulebench.analysis.summary import build_sections, other_qualities
from joulebench.errors import UserError
from joulebench.measure.energy.power_model import GridIntensity
from joulebench.report.format import frontier_title
from joulebench.report.html import render_html
from joulebench.report.markdown import render_markdown
from joulebench.report.plots import (
    CROSS_TASK_PLOT,
    cross_task_figure,
    heads_heatmap,
    plot_filename,
    power_figure,
    save_frontier_plots,
)
from joulebench.results.schema import QUALITY_METRICS


def build_report(results_path: Path, out_dir: Path, carbon: GridIntensity | None = None,
                 metric: str | None = None) -> dict[str, Path]:
    """Read records and write ``report.md``, ``report.html`` and the PNG plots.

    Args:
        results_path: the append-only ``results.jsonl``.
        out_dir: output directory, created if missing; existing files of the same names are
            overwritten.
        carbon: a grid intensity (:func:`joulebench.measure.energy.power_model.grid_intensity`) for a labelled
            gCO2e column, or None.
        metric: the quality metric frontiers and budgets judge by (``accuracy``, ``macro_f1``, ``pearson``...);
            None, or a section whose records lack it: each task's main metric.

    Returns:
        File name -> written path, for every file written.

    Raises:
        UserError: the results file is missing, malformed, or holds no records.
    """
    from joulebench.paths import no_file_in_the_way, writable_folder

    results_path, out_dir = Path(results_path), no_file_in_the_way(out_dir, "--out")
    records = load_records(results_path)
    if not records:
        raise UserError(f"results file {results_path} holds no records; run a benchmark first")
    writable_folder(out_dir, "--out")
    if metric is not None and metric not in QUALITY_METRICS:
        raise UserError(f"--metric: unknown quality metric {metric!r}; expected one of {', '.join(QUALITY_METRICS)}")
    sections = build_sections(aggregate(records), quality_metric=metric)
    if metric is not None and not any(s.quality_metric == metric for s in sections):
        raise UserError(f"--metric: no record in {results_path} has {metric!r}; recorded: "
                        f"{', '.join(sorted({m for s in sections for m in [s.quality_metric, *other_qualities(s)]}))}")
    written: dict[str, Path] = {}
    images: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for name, path in save_frontier_plots(sections, out_dir).items():
        written[name] = path
    for section in sections:
        shown = images.setdefault((section.task, section.scenario), [])
        shown += [(frontier_title(section, x_metric), plot_filename(section.task, section.scenario, x_metric))
                  for x_metric in section.frontiers]
        for point in section.points:
            figures = [("heads", heads_heatmap(point.records[0], title=f"{point.label}: attention heads kept"),
                        "heads kept"),
                       ("power", power_figure(point.records[0], title=point.label), "sampled power")]
            for kind, fig, what in figures:
                if fig is None:
                    continue
                name = f"{kind}_{section.task}_{section.scenario}_{point.key}.png"
                fig.savefig(out_dir / name)
                written[name] = out_dir / name
                shown.append((f"{point.label}: {what}", name))
    across = []
    for scenario in dict.fromkeys(s.scenario for s in sections):
        comparison = cross_task(sections, scenario)
        if comparison is None:
            continue
        name = CROSS_TASK_PLOT.format(scenario=scenario)
        cross_task_figure(comparison).savefig(out_dir / name)
        written[name] = out_dir / name
        across.append((comparison, name))
    md_path = out_dir / "report.md"
    md_path.write_text(render_markdown(sections, str(results_path), len(records), images, across, carbon),
                       encoding="utf-8")
    written[md_path.name] = md_path
    html_path = out_dir / "report.html"
    html_path.write_text(render_html(sections, across=[c for c, _ in across]), encoding="utf-8")
    written[html_path.name] = html_path
    return written
