"""Calibrated promises checked after the fact on the split they are reported on, and reductions that saved
nothing, in records, budgets, search and the report."""

from __future__ import annotations

import pytest

from joulebench import promises
from joulebench.analysis.aggregate import aggregate
from joulebench.analysis.summary import build_sections
from joulebench.report.build import build_report

LABELS = "01" * 200  # 400 examples


def _quality(correct: int) -> dict:
    flip = {"0": "1", "1": "0"}
    return {"split": "validation", "labels": LABELS, "examples_sha256": "same",
            "predictions": "".join(g if i < correct else flip[g] for i, g in enumerate(LABELS)),
            "accuracy": correct / len(LABELS)}


def test_a_drop_wholly_above_the_budget_breaks_the_promise():
    calibration = {"max_drop": 0.01, "delta": 0.1}
    broken = promises.check(_quality(360), _quality(400), calibration, "dense")  # a 10-point drop
    assert broken["broken"] is True and broken["realised_drop"] == pytest.approx(0.10)
    assert broken["ci95"][0] > 0.01 and broken["split"] == "validation" and broken["n"] == 400
    kept = promises.check(_quality(398), _quality(400), calibration, "dense")  # 0.5 point: within
    assert kept["broken"] is False and kept["ci95"][0] <= 0.01
    noisy = promises.check(_quality(394), _quality(400), calibration, "dense")  # 1.5 points, but within noise
    assert noisy["realised_drop"] > 0.01 and noisy["ci95"][0] <= 0.01 and noisy["broken"] is False


def test_savings_say_when_nothing_was_saved():
    dearer = promises.savings({"vs_baseline": {"energy": {"ratio": 1.39, "ci95": [1.2, 1.5]},
                                               "time": {"ratio": 1.4, "ci95": [1.2, 1.6]}}})
    assert dearer["saved_nothing"] is True and "1.390x" in dearer["note"]
    cheaper = promises.savings({"vs_baseline": {"energy": {"ratio": 0.6, "ci95": [0.5, 0.7]}}})
    assert cheaper["saved_nothing"] is False
    alone = promises.savings({})
    assert alone["saved_nothing"] is None and "not paired" in alone["note"]


def _record(factory, reductions, correct, energy, promise=None):
    record = factory.make_record(reductions=reductions, energy=energy, n_examples=len(LABELS))
    record["quality"].update(_quality(correct))
    if promise is not None:
        record["reductions"][-1]["details"]["promise"] = promise
    return record


def test_budgets_never_pick_a_broken_promise_or_a_reduction_that_saved_nothing(factory, tmp_path):
    broken = {"max_drop": 0.01, "realised_drop": 0.034, "ci95": [0.02, 0.05], "broken": True,
              "split": "validation", "saved_nothing": False}
    dearer = {"max_drop": 0.01, "realised_drop": 0.0, "ci95": [-0.005, 0.005], "broken": False,
              "saved_nothing": True, "note": "saved nothing here: 1.390x the dense baseline's energy [1.2, 1.5]"}
    records = [_record(factory, [], 400, 0.10),
               _record(factory, [("early_exit", {"max_drop": 0.01})], 400, 0.04, broken),
               _record(factory, [("token_prune", {"max_drop": 0.01})], 400, 0.099, dearer),
               _record(factory, [("int8", {})], 399, 0.07)]
    (section,) = build_sections(aggregate(records))
    picks = [p.pick.label for p in section.budget_picks if p.pick is not None]
    assert picks and all("early_exit" not in label and "token_prune" not in label for label in picks)
    assert any("int8" in label for label in picks)
    assert len(section.excluded) == 2
    path = tmp_path / "results.jsonl"
    factory.write_jsonl(path, records)
    markdown = build_report(path, tmp_path / "report")["report.md"].read_text()
    assert "⚠ promise broken" in markdown and "⚠ saved nothing" in markdown
    assert "Not considered: minilm-l6 full + early_exit" in markdown
    assert "its promise broke on 1 of 1 record(s): drop 3.40 pt" in markdown
