"""Declared tasks at the command line: `validate` reads and checks the data, each problem one line and exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TASK = "name: tickets\nkind: classification\ntext: body\nlabel: category\nlabels: [neg, pos]\n" \
       "data: {train: train.csv, dev: dev.csv}\n"
GOOD_TRAIN = "body,category\ngreat fun,pos\ndull,neg\nlovely,pos\nawful,neg\n"
GOOD_DEV = "body,category\nnice one,pos\nboring,neg\n"


def validate(folder: Path, *files: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "joulebench", "validate", *files], capture_output=True, text=True,
                          cwd=folder, env=env, timeout=300)


def one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if line.startswith("joulebench: error")]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def write(folder: Path, task: str = TASK, train: str | bytes = GOOD_TRAIN, dev: str | bytes = GOOD_DEV,
          dev_name: str = "dev.csv") -> None:
    (folder / "task.yaml").write_text(task)
    for name, content in (("train.csv", train), (dev_name, dev)):
        path = folder / name
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)


@pytest.mark.parametrize("case, fragments", [
    ({"dev_name": "other.csv"}, ["data file not found:", "dev.csv"]),
    ({"task": TASK.replace("text: body", "text: message")}, ["train.csv: no column 'message' (named by text)"]),
    ({"dev": "body,category\n"}, ["dev.csv has no data rows"]),
    ({"dev": GOOD_DEV + "so so,mixed\n"}, ["dev.csv line 4, column 'category': label 'mixed' is not among"]),
    ({"dev": GOOD_DEV.encode() + b"caf\xe9,pos\n"}, ["dev.csv line 4: undecodable bytes"]),
    ({"task": TASK.replace("kind: classification", "kind: regression").replace("labels: [neg, pos]\n", "")},
     ["train.csv line 2, column 'category': target 'pos' is not a finite number"]),
    ({"task": TASK.replace("metrics", "x") + "metrics: [spearman]\n"}, ["'spearman' is not a metric of a classif"]),
])
def test_validate_refuses_bad_task_data_in_one_line(tmp_path, case, fragments):
    write(tmp_path, **case)
    one_line_error(validate(tmp_path, "task.yaml"), *fragments)


def test_validate_refuses_mixed_types_in_json_lines(tmp_path):
    rows = [{"body": "fine", "category": "pos"}, {"body": ["a", "list"], "category": "neg"}]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "task.yaml").write_text(TASK.replace("data: {train: train.csv, dev: dev.csv}", "data: train.jsonl"))
    one_line_error(validate(tmp_path, "task.yaml"), "train.jsonl line 2, column 'body': mixed types, list here")


def test_validate_checks_a_config_naming_a_task_in_the_tasks_folder_and_warns_of_leakage(tmp_path):
    (tmp_path / "tasks").mkdir()
    write(tmp_path / "tasks", dev=GOOD_DEV + "great fun,pos\n")
    (tmp_path / "tasks" / "task.yaml").rename(tmp_path / "tasks" / "tickets.yaml")
    (tmp_path / "run.yaml").write_text("task: tickets\nmodel: tiny-random-bert\n")
    result = validate(tmp_path, "run.yaml")
    assert result.returncode == 0, result.stderr
    assert "ok  task tickets (classification; train 4, validation 3, labels ['neg', 'pos']" in result.stdout
    assert "1 of 3 validation inputs also occur in train (leakage" in result.stdout + result.stderr
    assert "tickets/tiny-random-bert/full" in result.stdout
    listed = subprocess.run([sys.executable, "-m", "joulebench", "ls"], capture_output=True, text=True, cwd=tmp_path,
                            timeout=300)
    assert "declared in tasks/tickets.yaml: classification, metrics accuracy" in listed.stdout


def test_an_unknown_task_name_is_one_line(tmp_path):
    (tmp_path / "run.yaml").write_text("task: tikets\nmodel: tiny-random-bert\n")
    one_line_error(validate(tmp_path, "run.yaml"), "tikets")
