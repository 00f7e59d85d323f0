"""Renderer details: heads mask parsing, hover text, empty frontiers, Markdown escaping."""

from __future__ import annotations

import numpy as np

from joulebench.analysis.aggregate import aggregate
from joulebench.analysis.summary import build_sections
from joulebench.report.html import hover_text
from joulebench.report.markdown import render_markdown
from joulebench.report.plots import frontier_figure, heads_heatmap, heads_mask


def test_heads_mask_from_index_lists(record):
    rec = record(reductions=[("heads", {"keep": 0.5})],
                 details={"heads_kept_per_layer": [[0, 3], [], [1]], "num_heads": 4})
    assert heads_mask(rec).tolist() == [[1, 0, 0, 1], [0, 0, 0, 0], [0, 1, 0, 0]]


def test_heads_mask_from_matrix(record):
    matrix = [[1, 0, 1, 1], [0, 0, 1, 1]]
    rec = record(reductions=[("heads", {})], details={"heads_kept_per_layer": matrix})
    assert np.array_equal(heads_mask(rec), np.array(matrix))
    assert heads_heatmap(rec) is not None


def test_no_heads_details_means_no_heatmap(record):
    rec = record(reductions=[("int8", {})])
    assert heads_mask(rec) is None and heads_heatmap(rec) is None


def test_hover_text_has_label_hash_and_metrics(record):
    rec = record(reductions=[("int8", {})], accuracy=0.9, energy=0.05)
    [point] = aggregate([rec])
    text = hover_text(point)
    assert "minilm-l6 full + int8" in text
    assert rec["config_hash"] in text
    assert "90.00 ±" in text and "0.05" in text and "estimate" in text


def test_frontier_figure_without_values_says_so(record):
    [section] = build_sections(aggregate([record(energy=None)]))
    fig = frontier_figure(section, "energy_j_per_example")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any("no configuration has a value" in t for t in texts)


def test_markdown_escapes_pipes_and_flags_missing_baseline(record):
    rec = record(regime="top_k", reductions=[("odd", {"a": "x|y"})])
    md = render_markdown(build_sections(aggregate([rec])))
    assert "odd(a=x\\|y)" in md
    assert "No baseline" in md


def test_heatmap_labels_layers_with_ffn_units_kept(record):
    rec = record(reductions=[("structured_prune", {})],
                 details={"heads_kept_per_layer": [[0, 1], [2]], "num_heads": 4,
                          "ffn_units_kept_per_layer": [[0, 1, 2], []]})
    fig = heads_heatmap(rec)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["0 (FFN 3)", "1 (FFN 0)"]
    assert "3/8 heads" in fig.axes[0].get_title()


def test_path_parameters_are_labelled_by_file_name(record):
    rec = record(reductions=[("structured_prune", {"mask": "/runs/x/masks/sst2-seed0-good-ab12.json"})])
    md = render_markdown(build_sections(aggregate([rec])))
    assert "structured_prune(mask=sst2-seed0-good-ab12.json)" in md and "/runs/x" not in md


def test_carbon_column_is_energy_times_grid_intensity_and_labelled(record):
    from joulebench.measure.energy.power_model import GridIntensity

    rec = record(energy=0.036)  # J per example -> 36 J per 1,000 = 1e-5 kWh
    md = render_markdown(build_sections(aggregate([rec])), carbon=GridIntensity(500.0, "given by the user"))
    assert "gCO2e per 1,000 examples (estimate)" in md
    assert "| 0.005 |" in md  # 1e-5 kWh x 500 g/kWh
    assert "500 gCO2e/kWh (given by the user)" in md
    assert "gCO2e" not in render_markdown(build_sections(aggregate([rec])))
