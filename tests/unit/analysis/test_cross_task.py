"""Question-answering records in the analysis, and the cross-task comparison."""

from __future__ import annotations

import pytest

from joulebench.analysis.aggregate import aggregate
from joulebench.analysis.budgets import point_energy_per_correct
from joulebench.analysis.cross_task import cross_task, reductions_key
from joulebench.analysis.paired import cost_ratio, paired_difference
from joulebench.analysis.summary import build_sections
from joulebench.report.build import build_report
from joulebench.results.schema import metric_value
from joulebench.runner import per_question_ratios

BASE_F1 = [1.0, 0.5, 0.0, 1.0, 0.8, 0.0, 1.0, 1.0]
BASE_EM = "10010011"


def _vs(ratio: float, base_hash: str) -> dict:
    return {"baseline_config_hash": base_hash,
            "energy": {"ratio": ratio, "ci95": [ratio * 0.9, ratio * 1.1], "per_round": [ratio * 0.95, ratio * 1.05]}}


def test_qa_records_are_read_as_fractions_and_per_question(factory):
    record = factory.make_qa_record(question_f1=BASE_F1, question_exact=BASE_EM, windows_per_question=1.5,
                                    energy_per_window=0.4)
    assert metric_value(record, "span_f1") == pytest.approx(sum(BASE_F1) / 8)
    assert metric_value(record, "exact_match") == pytest.approx(4 / 8)
    assert metric_value(record, "f1") is None and metric_value(record, "accuracy") is None
    assert metric_value(record, "energy_j_per_example") == pytest.approx(0.6)  # per question: 0.4 J x 1.5 windows
    classification = factory.make_record(accuracy=0.9)
    classification["quality"]["f1"] = 0.88
    assert metric_value(classification, "f1") == 0.88 and metric_value(classification, "span_f1") is None


def test_qa_points_pair_on_per_question_scores(factory):
    base = factory.make_qa_record(question_f1=BASE_F1, question_exact=BASE_EM)
    reduced_f1 = [1.0, 0.5, 0.0, 0.5, 0.8, 0.0, 1.0, 0.0]  # two questions lost: -1.5 of 8 questions of F1
    reduced = factory.make_qa_record(question_f1=reduced_f1, question_exact="10000011",
                                     reductions=[("int8", {})])
    points = aggregate([base, reduced])
    b, r = (p for p in points if not p.reductions), (p for p in points if p.reductions)
    b, r = next(b), next(r)
    diff = paired_difference(r, b, "span_f1")
    assert diff.delta == pytest.approx(-1.5 / 8) and diff.n == 8 and diff.low <= diff.delta <= diff.high
    em = paired_difference(r, b, "exact_match")
    assert em.delta == pytest.approx(-1 / 8) and em.discordant == (1, 0)
    # energy per correct answer: energy per question over exact match
    assert point_energy_per_correct(b).mean == pytest.approx(0.5 * 1.2 / 0.5)
    section = build_sections(points)[0]
    assert section.quality_metric == "span_f1"


def test_pairs_on_different_questions_are_refused(factory):
    base = factory.make_qa_record(question_f1=BASE_F1, question_exact=BASE_EM)
    other = factory.make_qa_record(question_f1=BASE_F1, question_exact=BASE_EM, reductions=[("int8", {})])
    other["quality"]["examples_sha256"] = "other-questions"
    b, o = aggregate([base, other])
    assert paired_difference(o, b, "span_f1") is None


def test_per_question_ratios_scale_energy_and_time_by_the_window_counts():
    ratios = {"energy": {"ratio": 0.5, "ci95": [0.4, 0.6], "per_round": [0.5, 0.5]},
              "time": {"ratio": 0.6, "ci95": [0.5, 0.7], "per_round": [0.6]},
              "throughput": {"ratio": 2.0, "ci95": [1.8, 2.2], "per_round": [2.0]},
              "latency_p50": {"ratio": 0.5, "ci95": [0.4, 0.6], "per_round": [0.5]}}
    out = per_question_ratios(ratios, target_windows=150, baseline_windows=100)
    assert out["energy"]["ratio"] == pytest.approx(0.75) and out["energy"]["ci95"] == pytest.approx([0.6, 0.9])
    assert out["time"]["ratio"] == pytest.approx(0.9)
    assert out["throughput"]["ratio"] == pytest.approx(2.0 / 1.5)
    assert "latency_p50" not in out  # latency stays per window
    assert out["windows"] == {"target": 150, "baseline": 100}


def _two_tasks(factory):
    sst_labels = "1100110011"
    sst_base = factory.with_outcomes(factory.make_record(energy=0.05), "1100110011", sst_labels)
    sst_int8 = factory.with_outcomes(factory.make_record(reductions=[("int8", {})], energy=0.02),
                                     "1100110010", sst_labels)
    sst_half = factory.with_outcomes(factory.make_record(reductions=[("seq_len", {"fraction": 0.5})], energy=0.04),
                                     "1100110011", sst_labels)
    qa_base = factory.make_qa_record(question_f1=BASE_F1, question_exact=BASE_EM)
    qa_int8 = factory.make_qa_record(question_f1=[1.0, 0.5, 0.0, 1.0, 0.8, 0.0, 1.0, 0.5], question_exact="10010010",
                                     reductions=[("int8", {})], vs_baseline=_vs(0.4, qa_base["config_hash"]))
    qa_half = factory.make_qa_record(question_f1=[0.0, 0.5, 0.0, 0.0, 0.8, 0.0, 1.0, 0.0], question_exact="00000010",
                                     reductions=[("seq_len", {"fraction": 0.5})],
                                     vs_baseline=_vs(1.3, qa_base["config_hash"]))
    return [sst_base, sst_int8, sst_half, qa_base, qa_int8, qa_half]


def test_cross_task_lines_up_the_same_reductions_on_each_tasks_own_axes(factory):
    sections = build_sections(aggregate(_two_tasks(factory)))
    comparison = cross_task(sections)
    assert [t.task for t in comparison.tasks] == ["squad", "sst2"]
    rows = dict(comparison.rows)
    assert set(rows) == {"dense", "int8", "seq_len(fraction=0.5)"}
    qa_int8, sst_int8 = rows["int8"]["squad"], rows["int8"]["sst2"]
    assert qa_int8.quality_metric == "span_f1" and sst_int8.quality_metric == "accuracy"
    assert qa_int8.retained == pytest.approx(4.8 / 5.3)  # quality over the task's own baseline
    assert sst_int8.retained == pytest.approx(0.9 / 1.0)
    assert qa_int8.cost.paired and qa_int8.cost.ratio == pytest.approx(0.4)  # the record's ABBA rounds
    assert not sst_int8.cost.paired and sst_int8.cost.ratio == pytest.approx(0.4)  # ratio of the medians
    assert sst_int8.delta.delta == pytest.approx(-0.1)
    # squad: seq_len costs more per question and loses F1: not on its frontier; int8 and dense are
    squad = next(t for t in comparison.tasks if t.task == "squad")
    assert [p.reductions for p in squad.frontier] == ["int8", "dense"]
    assert cost_ratio(rows["seq_len(fraction=0.5)"]["squad"].point, squad.baseline).ratio == pytest.approx(1.3)


def test_one_task_has_no_cross_task_comparison(factory):
    records = _two_tasks(factory)[:3]
    assert cross_task(build_sections(aggregate(records))) is None


def test_reductions_key_reads_the_same_on_every_task(factory):
    a, b = aggregate([factory.make_record(reductions=[("seq_len", {"fraction": 0.5}), ("int8", {})]),
                      factory.make_qa_record(question_f1=BASE_F1, question_exact=BASE_EM,
                                             reductions=[("seq_len", {"fraction": 0.5}), ("int8", {})])])
    assert reductions_key(a) == reductions_key(b) == "seq_len(fraction=0.5) + int8"


def test_the_report_has_a_cross_task_section_and_plot(factory, tmp_path):
    results = tmp_path / "results.jsonl"
    factory.write_jsonl(results, _two_tasks(factory))
    written = build_report(results, tmp_path / "out")
    assert (tmp_path / "out" / "cross_task_offline.png").read_bytes()[:4] == b"\x89PNG"
    text = written["report.md"].read_text()
    assert "## Across tasks (offline)" in text and "![quality retained vs energy ratio" in text
    row = next(line for line in text.splitlines() if line.startswith("| int8 |"))
    assert "0.40× [" in row and "(unpaired)" in row  # squad paired, sst2 from medians
    assert "## squad / offline" in text and "| F1 ± 95% CI | exact match ± 95% CI | energy J/question" in text
    assert "Across tasks (offline)" in written["report.html"].read_text()
