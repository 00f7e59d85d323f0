"""A declared task with a test split: figures are reported on test, choices (budgets' picks) are made on dev,
and the report says which split every figure is on."""

from __future__ import annotations

import csv

import pytest

from joulebench.analysis.aggregate import aggregate
from joulebench.analysis.summary import build_sections
from joulebench.configuration import parse_config
from joulebench.models.checkpoints import CheckpointCache
from joulebench.report.build import build_report
from joulebench.runner import Runner, RunOptions

WORDS = ["good", "bad", "fine", "awful", "great", "plot", "film", "cast"]


def _csv(path, rows):
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(rows)


@pytest.fixture
def task(tmp_path):
    rows = [[" ".join(WORDS[(i + k) % 8] for k in range(2 + i % 4)), ["neg", "pos"][i % 2]] for i in range(90)]
    _csv(tmp_path / "train.csv", rows[:50])
    _csv(tmp_path / "dev.csv", rows[50:70])
    _csv(tmp_path / "test.csv", rows[70:])
    return {"name": "tested", "kind": "classification", "text": "text", "label": "label",
            "data": {"train": str(tmp_path / "train.csv"), "dev": str(tmp_path / "dev.csv"),
                     "test": str(tmp_path / "test.csv")}}


def test_the_record_reports_test_and_carries_dev_for_choices(task, tmp_path):
    (config,) = parse_config({"task": task, "model": "tiny-random-bert", "max_seq_len": 16,
                              "train": {"batch_size": 16}, "measure": {"repeats": 1, "warmup_calls": 0}})
    record = Runner(RunOptions(cache=CheckpointCache(tmp_path / "cache"))).run(config)
    quality = record["quality"]
    assert quality["split"] == "test" and quality["n_examples"] == 20
    assert quality["selection"]["split"] == "validation" and quality["selection"]["n_examples"] == 20
    assert len(quality["predictions"]) == len(quality["selection"]["predictions"]) == 20


def _record(factory, reductions, test_correct, dev_correct, energy):
    labels = "01" * 50
    flip = {"1": "0", "0": "1"}
    record = factory.make_record(task="tested", reductions=reductions, energy=energy, n_examples=100)
    test = "".join(g if i < test_correct else flip[g] for i, g in enumerate(labels))
    dev = "".join(g if i < dev_correct else flip[g] for i, g in enumerate(labels))
    record["quality"].update(split="test", predictions=test, labels=labels, examples_sha256="t",
                             accuracy=test_correct / 100, primary_metric="accuracy")
    record["quality"]["selection"] = {"split": "validation", "predictions": dev, "labels": labels,
                                      "examples_sha256": "d", "accuracy": dev_correct / 100,
                                      "accuracy_stderr": 0.04, "n_examples": 100, "primary_metric": "accuracy"}
    return record


def test_budget_picks_are_chosen_on_dev_and_reported_on_test(factory, tmp_path):
    # int8 looks free on test (the split reported) but loses 6 points on dev: it must not be picked within 1 pt.
    records = [_record(factory, [], 90, 90, 0.10), _record(factory, [("int8", {})], 90, 84, 0.05),
               _record(factory, [("layer_drop", {"k": 3})], 89, 90, 0.08)]
    (section,) = build_sections(aggregate(records))
    picks = [p for p in section.budget_picks if p.tolerance_abs == 0.01 and p.rule == "point estimate"]
    assert picks and all(p.chosen_on == "validation" for p in picks)
    assert picks[0].pick is not None and "layer_drop" in picks[0].pick.label
    assert picks[0].quality_diff is not None and picks[0].quality_diff.delta == pytest.approx(-0.01)  # test's figure
    path = tmp_path / "results.jsonl"
    factory.write_jsonl(path, records)
    markdown = build_report(path, tmp_path / "report")["report.md"].read_text()
    assert "Quality figures are on the `test` split; budget picks were chosen on `validation`" in markdown
    assert "Δ accuracy on test (paired 95% CI)" in markdown


def test_a_calibration_file_is_used_and_checked_against_the_reported_split(task, tmp_path):
    from joulebench.errors import UserError
    from joulebench.tasks.declared import declared_task, parse_declaration

    rows = [[" ".join(WORDS[(i * 3 + k) % 8] for k in range(3 + i % 3)), ["neg", "pos"][i % 2]] for i in range(300)]
    _csv(tmp_path / "calibration.csv", rows)
    declared = {**task, "data": {**task["data"], "calibration": str(tmp_path / "calibration.csv")}}
    (config,) = parse_config({"task": declared, "model": "tiny-random-bert", "max_seq_len": 16,
                              "train": {"batch_size": 16}, "measure": {"repeats": 1, "warmup_calls": 0},
                              "reductions": [{"name": "early_exit", "max_drop": 0.2, "exit_epochs": 0.5}]})
    record = Runner(RunOptions(cache=CheckpointCache(tmp_path / "cache"))).run(config)
    calibration = record["reductions"][0]["details"]["calibration"]
    assert calibration["calibration"] == "file" and "calibration.csv" in calibration["split"]
    assert calibration["reported_split"] == "test" and calibration["exchangeability"]["rule"]
    assert record["reductions"][0]["details"]["promise"]["split"] == "test"
    # a calibration file sharing inputs with the reported split is refused at validate, in one line
    test_rows = (tmp_path / "test.csv").read_text().splitlines()[1:3]
    (tmp_path / "calibration.csv").write_text("text,label\n" + "\n".join(test_rows) + "\n")
    spec = parse_declaration(declared, tmp_path, "task")
    with pytest.raises(UserError, match=r"calibration.csv: 2 of 2 calibration inputs also occur in the test split"):
        declared_task(spec).check()
