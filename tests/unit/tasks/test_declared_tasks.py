"""Tasks declared in YAML from the user's files: loading, labels, splits, metrics, identity and bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from joulebench.config import config_hash
from joulebench.configuration import parse_config
from joulebench.errors import UserError
from joulebench.tasks.declared import declared_task, parse_declaration
from joulebench.tasks.metrics import point_metric, resampled_metric
from joulebench.tasks.resolve import bind_data, task_of

ROWS = [("great fun", "pos", "web"), ("dull and slow", "neg", "mail"), ("it is fine", "neutral", "web"),
        ("a joy to watch", "pos", "mail"), ("awful plot", "neg", "web"), ("nothing special", "neutral", "mail")]


def write_csv(path: Path, rows, header=("body", "category", "channel"), delimiter=",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def declare(tmp_path: Path, **overrides):
    data = {"name": "tickets", "kind": "classification", "text": "body", "label": "category",
            "data": {"train": "train.csv", "dev": "dev.csv"}, "labels": ["neg", "neutral", "pos"],
            "metrics": ["accuracy", "macro_f1"], "slices": ["channel"]}
    data.update(overrides)
    return parse_declaration(data, tmp_path, "task")


@pytest.fixture
def three_class(tmp_path):
    write_csv(tmp_path / "train.csv", ROWS * 4)
    write_csv(tmp_path / "dev.csv", ROWS[::-1])
    return tmp_path


def test_three_class_csv_loads_with_declared_names_and_slices(three_class):
    task = declared_task(declare(three_class))
    assert task.num_labels == 3 and task.kind == "classification" and task.primary_metric == "accuracy"
    dev = task.load("validation")
    assert [e.label for e in dev] == [1, 0, 2, 1, 0, 2]  # names in declared order: neg 0, neutral 1, pos 2
    assert dev[0].text_a == "nothing special" and dev[0].text_b is None
    slices = task.slices(dev, None)
    assert slices["channel=web"] == [False, True, False, True, False, True]
    assert slices["label_pos"] == [False, False, True, False, False, True]
    assert {"length_q1", "length_q4"} <= set(slices)


def test_integer_labels_map_through_declared_names_and_are_inferred_when_undeclared(tmp_path):
    rows = [(text, str(["neg", "neutral", "pos"].index(y)), c) for text, y, c in ROWS]
    write_csv(tmp_path / "train.csv", rows * 2)
    write_csv(tmp_path / "dev.csv", rows)
    named = declared_task(declare(tmp_path))
    assert [e.label for e in named.load("validation")] == [2, 0, 1, 2, 0, 1]
    inferred = declared_task(declare(tmp_path, labels=None))
    assert inferred.label_names == ("0", "1", "2")
    assert [e.label for e in inferred.load("validation")] == [2, 0, 1, 2, 0, 1]


def test_regression_jsonl_pair_task_scores_correlations(tmp_path):
    rows = [{"a": f"s{i}", "b": f"t{i}", "score": i / 4} for i in range(20)]
    write_jsonl(tmp_path / "train.jsonl", rows)
    write_jsonl(tmp_path / "dev.jsonl", rows[:8])
    spec = parse_declaration({"name": "sim", "kind": "regression", "text": ["a", "b"], "label": "score",
                              "data": {"train": "train.jsonl", "dev": "dev.jsonl"}}, tmp_path, "task")
    task = declared_task(spec)
    dev = task.load("validation")
    assert task.num_labels == 1 and task.kind == "regression" and task.metric_names == ("pearson", "spearman")
    assert dev[1].text_b == "t1" and dev[1].label == 0.25
    scores = task.score([e.label * 2 + 1 for e in dev], [e.label for e in dev])
    assert scores["pearson"] == pytest.approx(1.0) and scores["spearman"] == pytest.approx(1.0)
    assert scores["pearson_stderr"] >= 0 and scores["n_examples"] == 8


def test_no_dev_file_gives_a_seeded_stratified_split_of_train(tmp_path):
    write_csv(tmp_path / "train.csv", ROWS * 10)
    spec = declare(tmp_path, data={"train": "train.csv"}, dev_split={"fraction": 0.2, "seed": 3})
    task = declared_task(spec)
    train, dev = task.load("train"), task.load("validation")
    assert len(train) + len(dev) == 60 and len(dev) == 12
    assert sorted(e.label for e in dev) == [0] * 4 + [1] * 4 + [2] * 4  # stratified
    train_rows, dev_rows = task.rows("train").rows, task.rows("validation").rows
    assert not set(train_rows) & set(dev_rows)
    assert declared_task(declare(tmp_path, data={"train": "train.csv"}, dev_split={"fraction": 0.2, "seed": 4})
                         ).rows("validation").rows != dev_rows  # the seed is the split's, and recorded
    assert spec.identity()["split_seed"] == 3 and spec.identity()["dev_fraction"] == 0.2


def test_tsv_and_parquet_read_like_csv(tmp_path):
    import pandas as pd

    write_csv(tmp_path / "train.tsv", ROWS * 2, delimiter="\t")
    pd.DataFrame(ROWS, columns=["body", "category", "channel"]).to_parquet(tmp_path / "dev.parquet")
    task = declared_task(declare(tmp_path, data={"train": "train.tsv", "dev": "dev.parquet"}))
    assert [e.text_a for e in task.load("validation")] == [r[0] for r in ROWS]
    assert len(task.load("train")) == 12


def test_extractive_qa_declared_in_squad_columns(tmp_path):
    context = "The cat sat on the mat."
    rows = [{"id": f"q{i}", "question": "Where did the cat sit?", "context": context,
             "answers": {"text": ["on the mat"], "answer_start": [12]}} for i in range(3)]
    write_jsonl(tmp_path / "train.jsonl", rows)
    write_jsonl(tmp_path / "dev.jsonl", rows)
    spec = parse_declaration({"name": "qa", "kind": "extractive_qa", "data": {"train": "train.jsonl",
                                                                             "dev": "dev.jsonl"}}, tmp_path, "t")
    task = declared_task(spec)
    dev = task.load("validation")
    assert task.kind == "qa" and dev[0].answers == ("on the mat",) and task.primary_metric == "f1"
    scores = task.score({"q0": "on the mat", "q1": "the mat", "q2": "cat"}, dev)
    assert scores["exact_match"] == pytest.approx(100 / 3)


# -- identity ----------------------------------------------------------------------------------------------------


def test_an_edited_file_is_a_new_configuration_and_a_moved_one_is_not(three_class, tmp_path):
    config = {"task": {"name": "tickets", "kind": "classification", "text": "body", "label": "category",
                       "data": {"train": "train.csv", "dev": "dev.csv"}}, "model": "tiny-random-bert"}
    (first,) = parse_config(config, "c", three_class)
    before = config_hash(bind_data(first, None))
    moved = tmp_path / "moved"
    moved.mkdir()
    for name in ("train.csv", "dev.csv"):
        (moved / name).write_bytes((three_class / name).read_bytes())
    (same,) = parse_config(config, "c", moved)
    assert config_hash(bind_data(same, None)) == before  # where the files live does not count
    with (moved / "dev.csv").open("a") as handle:
        handle.write("one more,pos,web\n")
    (edited,) = parse_config(config, "c", moved)
    bound = bind_data(edited, None)
    assert config_hash(bound) != before
    from joulebench.runner import Runner, RunOptions

    assert Runner(RunOptions()).train_key(edited) != Runner(RunOptions()).train_key(first)


def test_builtin_task_identity_includes_its_data_folder_content(fixture_data_dir, tmp_path):
    import shutil

    (config,) = parse_config({"task": "sst2", "model": "tiny-random-bert"})
    other = tmp_path / "data"
    shutil.copytree(fixture_data_dir / "glue", other / "glue")
    assert config_hash(bind_data(config, fixture_data_dir)) == config_hash(bind_data(config, other))
    dev = other / "glue" / "SST-2" / "dev.tsv"
    dev.write_text(dev.read_text() + "an extra sentence\t1\n")
    assert config_hash(bind_data(config, fixture_data_dir)) != config_hash(bind_data(config, other))
    assert bind_data(config, None).task_data == "hub:glue/sst2"


def test_task_named_from_a_tasks_folder_beside_the_config(three_class):
    folder = three_class / "tasks"
    folder.mkdir()
    (folder / "tickets.yaml").write_text(
        "name: tickets\nkind: classification\ntext: body\nlabel: category\n"
        "data: {train: ../train.csv, dev: ../dev.csv}\n")
    (config,) = parse_config({"task": "tickets", "model": "tiny-random-bert"}, "c", three_class)
    assert config.task == "tickets" and task_of(config).num_labels == 3
    (by_path,) = parse_config({"task": "tasks/tickets.yaml", "model": "tiny-random-bert"}, "c", three_class)
    assert config_hash(by_path) == config_hash(config)


# -- metrics -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["accuracy", "f1", "macro_f1", "mcc"])
def test_vectorised_classification_metrics_equal_scikit_learn(name):
    rng = np.random.default_rng(0)
    classes = 2 if name == "f1" else 4
    pred, gold = rng.integers(0, classes, (5, 50)), rng.integers(0, classes, (5, 50))
    rows = resampled_metric(name, pred, gold, classes)
    for i in range(5):
        assert rows[i] == pytest.approx(point_metric(name, pred[i].tolist(), gold[i].tolist(), classes))


@pytest.mark.parametrize("name", ["pearson", "spearman"])
def test_vectorised_correlations_equal_scipy(name):
    rng = np.random.default_rng(1)
    gold = rng.normal(size=(4, 40))
    pred = gold + rng.normal(size=(4, 40))
    pred[0, :5] = pred[0, 5]  # ties
    rows = resampled_metric(name, pred, gold, 1)
    for i in range(4):
        assert rows[i] == pytest.approx(point_metric(name, pred[i].tolist(), gold[i].tolist(), 1))


# -- bad input: one line naming file, row and column ---------------------------------------------------------------


@pytest.mark.parametrize("change, fragment", [
    ({"kind": "ranking"}, "task.kind: expected one of classification"),
    ({"label": None}, "task.label: expected the column"),
    ({"metrics": ["pearson"]}, "'pearson' is not a metric of a classification task"),
    ({"metrics": ["f1"]}, "f1 is the binary F1 of label 1; with 3 labels use macro_f1"),
    ({"labels": ["a"]}, "task.labels: expected a list of at least two distinct names"),
    ({"data": {"dev": "dev.csv"}}, "task.data: expected {train: FILE"),
    ({"colour": "red"}, "task: unknown key 'colour'"),
    ({"dev_split": {"fraction": 1.5}}, "task.dev_split.fraction: expected a number in (0, 1)"),
])
def test_bad_declarations_are_one_line_errors(tmp_path, change, fragment):
    with pytest.raises(UserError, match=None) as err:
        declare(tmp_path, **change)
    assert fragment in str(err.value) and "\n" not in str(err.value)


def check_fails(task, fragment: str) -> None:
    with pytest.raises(UserError) as err:
        task.check()
    assert fragment in str(err.value), str(err.value)
    assert "\n" not in str(err.value)


def test_missing_file_and_column(three_class):
    check_fails(declared_task(declare(three_class, data={"train": "nope.csv", "dev": "dev.csv"})),
                f"data file not found: {three_class / 'nope.csv'}")
    check_fails(declared_task(declare(three_class, text="message")),
                f"{three_class / 'train.csv'}: no column 'message' (named by text); found columns: 'body'")
    check_fails(declared_task(declare(three_class, slices=["region"])), "no column 'region' (named by slices)")


def test_empty_split(three_class):
    write_csv(three_class / "dev.csv", [])
    check_fails(declared_task(declare(three_class)), f"{three_class / 'dev.csv'} has no data rows")


def test_label_not_among_declared_names_names_line_and_column(three_class):
    write_csv(three_class / "dev.csv", [*ROWS[:3], ("so so", "mixed", "web")])
    check_fails(declared_task(declare(three_class)),
                f"{three_class / 'dev.csv'} line 5, column 'category': label 'mixed' is not among the declared labels")


def test_regression_target_that_is_not_a_number(tmp_path):
    write_csv(tmp_path / "train.csv", [("a", "0.5"), ("b", "high"), ("c", "1")], header=("text", "score"))
    spec = parse_declaration({"name": "r", "kind": "regression", "text": "text", "label": "score",
                              "data": "train.csv"}, tmp_path, "task")
    check_fails(declared_task(spec), f"{tmp_path / 'train.csv'} line 3, column 'score': target 'high' is not a finite")


def test_mixed_types_in_a_text_column_of_json_lines(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", [{"body": "fine", "category": "pos"}, {"body": 42, "category": "neg"}])
    spec = declare(tmp_path, data={"train": "train.jsonl"}, labels=None, slices=[])
    check_fails(declared_task(spec), f"{tmp_path / 'train.jsonl'} line 2, column 'body': mixed types, integer here "
                                     "but text on line 1")
    write_jsonl(tmp_path / "train.jsonl", [{"body": 1, "category": "pos"}, {"body": 2, "category": "neg"}])
    check_fails(declared_task(declare(tmp_path, data={"train": "train.jsonl"}, labels=None, slices=[])),
                "line 1, column 'body': int value 1 in a text column")


def test_undecodable_bytes_name_the_line(three_class):
    path = three_class / "dev.csv"
    path.write_bytes(path.read_bytes() + b"caf\xe9 au lait,pos,web\n")
    check_fails(declared_task(declare(three_class)), f"{path} line 8: undecodable bytes")


def test_rows_shared_by_train_and_dev_are_a_warning_with_the_count(three_class):
    warnings = declared_task(declare(three_class)).check()
    assert len(warnings) == 1 and "6 of 6 validation inputs also occur in train (leakage" in warnings[0]
    write_csv(three_class / "dev.csv", [("brand new words", "pos", "web"), ("unseen too", "neg", "mail")])
    assert declared_task(declare(three_class)).check() == []


def test_duplicate_question_ids_are_refused(tmp_path):
    row = {"id": "q1", "question": "Who?", "context": "Ann did.", "answers": {"text": ["Ann"], "answer_start": [0]}}
    write_jsonl(tmp_path / "train.jsonl", [row, {**row, "question": "Who did?"}])
    spec = parse_declaration({"name": "qa", "kind": "extractive_qa", "data": "train.jsonl"}, tmp_path, "t")
    check_fails(declared_task(spec), "line 2, column 'id': question id 'q1' already used on line 1")


# -- everywhere a built-in task goes ------------------------------------------------------------------------------


def test_a_search_file_names_a_declared_task_from_its_tasks_folder(three_class):
    import yaml

    from joulebench.experiments.search import load_search

    (three_class / "tasks").mkdir()
    (three_class / "tasks" / "tickets.yaml").write_text(
        "name: tickets\nkind: classification\ntext: body\nlabel: category\n"
        "data: {train: ../train.csv, dev: ../dev.csv}\n")
    path = three_class / "search.yaml"
    path.write_text(yaml.safe_dump({"task": "tickets", "model": "tiny-random-bert",
                                    "search": {"reductions": [{"name": "layer_drop",
                                                               "params": {"keep_layers": {"int": [1, 2]}}}],
                                               "objectives": ["maximize accuracy", "minimize energy_j_per_example"]}}))
    space = load_search(str(path))
    config = space.config_for({"layer_drop.keep_layers": 1})
    assert config.task == "tickets" and config.task_spec.labels is None and config.task_data
    assert task_of(config).num_labels == 3


def test_a_hub_dataset_is_read_through_datasets(monkeypatch, tmp_path):
    import datasets

    rows = {"train": {"sentence": ["good", "bad", "fine", "awful"], "label": [1, 0, 1, 0]},
            "validation": {"sentence": ["nice", "poor"], "label": [1, 0]}}
    asked = []

    def fake_load(path, name=None, split=None, revision=None, **_):
        asked.append((path, name, split, revision))
        return datasets.Dataset.from_dict(rows[split])

    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    spec = parse_declaration({"name": "hubbed", "kind": "classification", "text": "sentence", "label": "label",
                              "hub": {"path": "someone/sentiment", "revision": "abc123",
                                      "splits": {"train": "train", "dev": "validation"}}}, tmp_path, "task")
    task = declared_task(spec)
    assert [e.label for e in task.load("validation")] == [1, 0] and task.label_names == ("0", "1")
    assert task.data_digest() == "hub:someone/sentiment@abc123"
    assert ("someone/sentiment", None, "validation", "abc123") in asked
