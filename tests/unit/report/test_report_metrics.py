"""Every recorded quality metric shows in the report's tables, and `--metric` moves frontiers and budgets to
another one."""

from __future__ import annotations

import pytest

from joulebench.analysis.aggregate import aggregate
from joulebench.analysis.summary import build_sections
from joulebench.errors import UserError
from joulebench.report.build import build_report


@pytest.fixture
def results(tmp_path, factory):
    """Three configurations of a declared 3-class task: the cheap one keeps accuracy but loses macro-F1."""
    rows = [((), 0.80, 0.78, 0.10), ((("int8", {}),), 0.795, 0.70, 0.05),
            ((("layer_drop", {"k": 3}),), 0.70, 0.69, 0.04)]
    records = []
    for reductions, accuracy, macro_f1, energy in rows:
        record = factory.make_record(task="source3", reductions=list(reductions), accuracy=accuracy, energy=energy)
        record["quality"].update(macro_f1=macro_f1, macro_f1_stderr=0.004, mcc=macro_f1 - 0.1, mcc_stderr=0.004,
                                 primary_metric="accuracy")
        records.append(record)
    path = tmp_path / "results.jsonl"
    factory.write_jsonl(path, records)
    return path


def test_the_tables_show_every_recorded_metric(results, tmp_path):
    written = build_report(results, tmp_path / "out")
    markdown, html = written["report.md"].read_text(), written["report.html"].read_text()
    for text in (markdown, html):
        assert "macro F1 ± 95% CI" in text and "MCC ± 95% CI" in text
        assert "70.00 ± 0.78%" in text  # int8's macro-F1 with its interval


def test_metric_moves_the_budgets(results, tmp_path, factory):
    from joulebench.analysis.load import load_records

    points = aggregate(load_records(results))
    by_accuracy, = build_sections(points)
    by_macro_f1, = build_sections(points, quality_metric="macro_f1")
    assert by_accuracy.quality_metric == "accuracy" and by_macro_f1.quality_metric == "macro_f1"
    written = build_report(results, tmp_path / "out", metric="macro_f1")
    assert "macro F1 vs energy" in written["report.md"].read_text()


def test_an_unknown_or_unrecorded_metric_is_one_line(results, tmp_path):
    with pytest.raises(UserError, match="--metric: unknown quality metric 'macro-f1'; expected one of"):
        build_report(results, tmp_path / "out", metric="macro-f1")
    with pytest.raises(UserError, match="--metric: no record in .* has 'pearson'; recorded: accuracy, macro_f1, mcc"):
        build_report(results, tmp_path / "out", metric="pearson")
