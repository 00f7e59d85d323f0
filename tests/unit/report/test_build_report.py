"""build_report end to end on synthetic records: files, embedded plotly.js, labels."""

from __future__ import annotations

import re

import pytest

from joulebench.errors import UserError
from joulebench.report.build import build_report
from joulebench.report.plots import plot_filename

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def built(tmp_path_factory, factory):
    """One report built for the whole module: plotting is the slow part."""
    make_record, write_jsonl = factory.make_record, factory.write_jsonl
    records = []
    for seed, acc in enumerate([0.905, 0.912, 0.909]):
        records.append(make_record(seed=seed, accuracy=acc, energy=0.100 + 0.002 * seed))
    records.append(make_record(reductions=[("int8", {})], accuracy=0.903, energy=0.055,
                               peak_mem=120.0))
    records.append(make_record(reductions=[("int8", {}), ("layers", {"k": 3})],
                               accuracy=0.893, energy=0.030, p50=2.1, p99=3.0,
                               flops=5.5e8, peak_mem=110.0))
    records.append(make_record(reductions=[("heads", {"keep": 0.5})], accuracy=0.87,
                               energy=None, details={"heads_kept_per_layer": [[0, 1], [2]],
                                                     "num_heads": 4}))
    tmp = tmp_path_factory.mktemp("report")
    results = tmp / "results.jsonl"
    write_jsonl(results, records)
    return build_report(results, tmp / "out")


def test_writes_markdown_html_and_pngs(built):
    for axis in ("energy_j_per_example", "latency_ms_p50", "latency_ms_p99", "peak_mem_mb",
                 "flops_per_example"):
        assert plot_filename("sst2", "offline", axis) in built
    assert {"report.md", "report.html"} <= set(built)
    heads = [name for name in built if name.startswith("heads_")]
    assert len(heads) == 1
    for name, path in built.items():
        assert path.is_file() and path.stat().st_size > 0, name
        if name.endswith(".png"):
            assert path.read_bytes()[:8] == PNG_MAGIC


def test_html_embeds_plotly_and_labels(built):
    html = built["report.html"].read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\bsrc=[^>]*cdn\.plot\.ly", html)
    assert not re.search(r"<script[^>]*\bsrc=", html)  # nothing fetched at all
    assert "plotly.js v" in html and len(html) > 3_000_000  # the bundle itself, inline
    assert html.count('class="plotly-graph-div"') == 5
    for label in ("minilm-l6 full + int8 + layers(k=3)", "minilm-l6 full + int8"):
        assert label in html
    assert "config: " in html  # hover text carries the config hash


def test_markdown_summary_sections(built):
    md = built["report.md"].read_text(encoding="utf-8")
    assert "## sst2 / offline" in md
    assert "estimate (modelled, NOT measured" in md
    assert "| minilm-l6 full ★ | torch eager | 3 | 90.87 ± " in md
    assert "Cheapest within tolerance of baseline" in md
    assert "| minilm-l6 full | 1 pt | point estimate | minilm-l6 full + int8 |" in md
    assert "| minilm-l6 full | 2 pt | point estimate | minilm-l6 full + int8 + layers(k=3) |" in md
    # no per-example predictions in these records: only the baseline is shown non-inferior
    assert "| minilm-l6 full | 2 pt | non-inferiority | minilm-l6 full |" in md
    assert "Paired with the baseline" in md and "Where the loss falls" in md
    assert "minilm-l6 full + heads(keep=0.5): no value for energy_j_per_example" in md
    assert "Marginal gains along the energy frontier" in md


def test_missing_results_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        build_report(tmp_path / "results.jsonl", tmp_path / "out")


def test_empty_results_file_is_a_user_error(tmp_path):
    results = tmp_path / "results.jsonl"
    results.write_text("\n")
    with pytest.raises(UserError, match="holds no records"):
        build_report(results, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_markdown_links_every_png_it_wrote(built):
    md = built["report.md"].read_text(encoding="utf-8")
    linked = set(re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md))
    assert linked == {name for name in built if name.endswith(".png")}
