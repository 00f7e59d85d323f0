"""Task kinds as plugins: a kind registered in this test alone is declared, validated, trained, measured, read by
the analysis and listed, without touching any module outside this file."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from typing import Any, ClassVar

import pytest

from joulebench.analysis.paired import example_scores
from joulebench.config.schema import SPAN_TASKS
from joulebench.configuration import parse_config
from joulebench.errors import UserError
from joulebench.models.checkpoints import CheckpointCache
from joulebench.results.schema import metric_value, primary_metric_of
from joulebench.runner import Runner, RunOptions
from joulebench.tasks import TASKS
from joulebench.tasks.base import Example
from joulebench.tasks.kinds import TASK_KINDS, ClassificationKind, kind_named, kind_of_record, register_task_kind

WORDS = ["good", "bad", "fine", "awful", "great", "plot", "film", "cast"]


class FlagKind(ClassificationKind):
    """A toy kind: one text and a flag written + or -, accuracy only; only seq_len applies."""

    name = "flag"
    declared_as: ClassVar[dict[str, tuple[int, ...]]] = {"flagged": (1,)}
    metrics: ClassVar[tuple[str, ...]] = ("accuracy",)
    default_metrics: ClassVar[tuple[str, ...]] = ("accuracy",)
    target = "flag (+ or -)"
    has_label_names = False
    reductions = ("seq_len",)
    refused_default = "a flag task takes no other reduction"
    export_formats = ("joulebench",)

    def num_labels(self, task: Any) -> int:
        return 2

    def read_examples(self, task: Any, table: Any) -> list:
        from joulebench.tasks.tables import text_values

        d = task.declaration
        flags = table.column(d.label, "label")
        bad = next((row for row, flag in enumerate(flags) if flag not in ("+", "-")), None)
        if bad is not None:
            raise UserError(f"{table.where(bad, d.label)}: expected + or -, got {flags[bad]!r}")
        return [Example(text, None, int(flag == "+")) for text, flag in zip(text_values(table, d.text[0], "text"),
                                                                             flags, strict=True)]

    def slices(self, task: Any, examples: Sequence[Any]) -> dict[str, list[bool]]:
        return {"flagged": [e.label == 1 for e in examples]}


@pytest.fixture
def flag_kind():
    register_task_kind(FlagKind)
    yield TASK_KINDS.get("flag")
    TASK_KINDS.unregister("flag")


def _task(tmp_path, rows_of=lambda i: "+-"[i % 2]):
    rows = [[" ".join(WORDS[(i + k) % 8] for k in range(2 + i % 4)), rows_of(i)] for i in range(70)]
    for name, part in (("train.csv", rows[:50]), ("dev.csv", rows[50:])):
        with (tmp_path / name).open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "flag"])
            writer.writerows(part)
    return {"name": "flags", "kind": "flagged", "text": "text", "label": "flag",
            "data": {"train": str(tmp_path / "train.csv"), "dev": str(tmp_path / "dev.csv")}}


def _config(task, **extra):
    return {"task": task, "model": "tiny-random-bert", "max_seq_len": 16, "train": {"batch_size": 16},
            "measure": {"repeats": 1, "warmup_calls": 0}, **extra}


def test_a_kind_registered_in_a_test_runs_end_to_end_and_the_analysis_reads_it(flag_kind, tmp_path):
    (config,) = parse_config(_config(_task(tmp_path)))
    record = Runner(RunOptions(cache=CheckpointCache(tmp_path / "cache"))).run(config)
    assert record["task_kind"] == "flag"
    assert kind_of_record(record) is flag_kind
    assert primary_metric_of(record) == "accuracy"
    assert metric_value(record, "accuracy") == pytest.approx(record["quality"]["accuracy"])
    assert set(record["quality"]["slices"]) >= {"flagged"}  # the kind's own slices
    scores, _ = example_scores(type("P", (), {"records": [record]})(), "accuracy")
    assert len(scores[0]) == 20 and set(scores[0]) <= {0.0, 1.0}


def test_the_kind_reads_and_checks_its_own_rows(flag_kind, tmp_path):
    (config,) = parse_config(_config(_task(tmp_path)))
    from joulebench.tasks.resolve import task_of

    task = task_of(config)
    assert [e.label for e in task.load("validation")][:2] == [1, 0]  # rows 50, 51: + then -
    (bad,) = parse_config(_config(_task(tmp_path, lambda i: "?" if i == 3 else "+-"[i % 2])))
    with pytest.raises(UserError, match=r"train.csv.*flag.*expected \+ or -, got '\?'"):
        task_of(bad).load("train")


def test_the_kind_says_which_reductions_apply_and_ls_lists_them(flag_kind, tmp_path, capsys):
    parse_config(_config(_task(tmp_path), reductions=[{"name": "seq_len", "max_seq_len": 8}]))
    with pytest.raises(UserError, match=r"reductions\[0\] \(int8\): not available for a flag task: a flag task takes"):
        parse_config(_config(_task(tmp_path), reductions=["int8"]))
    from joulebench.commands.listing import list_plugins

    list_plugins([tmp_path])
    out = capsys.readouterr().out
    assert "flag tasks refuse at validate:" in out and "qa tasks refuse at validate: distill" in out


def test_a_kind_not_registered_is_a_one_line_error_naming_the_kinds(tmp_path):
    with pytest.raises(UserError, match=r"task.kind: expected one of classification, pair_classification.*'flagged'"):
        parse_config(_config(_task(tmp_path)))


def test_the_configuration_knows_exactly_the_builtin_tasks_whose_kind_cuts_windows():
    windowed = {name for name in TASKS if kind_named(getattr(TASKS.get(name), "kind", "classification")).windows}
    assert set(SPAN_TASKS) == windowed


def test_records_made_before_task_kind_are_recognised_by_their_quality():
    assert kind_of_record({"quality": {"exact_match": 80.0, "f1": 85.0}}).name == "qa"
    assert kind_of_record({"quality": {"accuracy": 0.9}}).name == "classification"
    assert metric_value({"quality": {"exact_match": 80.0, "f1": 85.0}}, "span_f1") == pytest.approx(0.85)
    assert metric_value({"quality": {"exact_match": 80.0, "f1": 85.0}}, "f1") is None
