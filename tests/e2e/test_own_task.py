"""Own tasks end to end on the packaged model: declared in YAML over CSV and JSON Lines files made from the real
SST-2 and MRPC (examples/own_task/make_data.py), through run, sweep and report (slow: CI runs it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from joulebench.tasks import resolve_data_dir

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TRAIN = "train: {epochs: 1, max_train_examples: 400, batch_size: 16, lr: 1.0e-4, seed: 0}"
MEASURE = "measure: {repeats: 2, batch_size: 32, eval_max_examples: 240}"


@pytest.fixture(scope="module")
def own_data(tmp_path_factory) -> Path:
    data_dir = resolve_data_dir(None)
    if data_dir is None or not (data_dir / "glue" / "MRPC" / "train.tsv").is_file():
        pytest.skip("real SST-2 and MRPC not found: set JOULEBENCH_DATA to the folder holding glue/")
    out = tmp_path_factory.mktemp("own") / "data"
    subprocess.run([sys.executable, str(ROOT / "examples" / "own_task" / "make_data.py"), "--data", str(data_dir),
                    "--out", str(out)], check=True, capture_output=True, timeout=300)
    tasks = out.parent / "tasks"
    tasks.mkdir()
    for name in ("source3", "overlap", "sst2_csv"):  # the shipped declarations, pointed at these files
        text = (ROOT / "configs" / "tasks" / f"{name}.yaml").read_text()
        (tasks / f"{name}.yaml").write_text(text.replace("../../data/own/", "../data/"))
    return out.parent


def cli(*args: str, cache: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "JOULEBENCH_CACHE": str(cache),
           "JOULEBENCH_DATA": str(resolve_data_dir(None))}  # the built-in tasks' data, from any folder
    result = subprocess.run([sys.executable, "-m", "joulebench", *args], capture_output=True, text=True, env=env,
                            cwd=cwd, timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.mark.parametrize("task, metric, floor", [("source3", "accuracy", 0.55), ("overlap", "pearson", 0.3)])
def test_three_class_and_regression_tasks_run_sweep_and_report(own_data, tmp_path, task, metric, floor):
    sweep = own_data / f"sweep_{task}.yaml"
    sweep.write_text(f"task: {task}\nmodel: minilm-l6\nmax_seq_len: 64\n{TRAIN}\n{MEASURE}\n"
                     "grid:\n  reductions: [[], [{name: layer_drop, keep_layers: 3}], [int8]]\n")
    out = tmp_path / "out"
    cli("validate", str(sweep), cache=tmp_path / "cache", cwd=own_data)
    cli("sweep", str(sweep), "--out", str(out), cache=tmp_path / "cache", cwd=own_data)
    cli("report", str(out), "--out", str(out / "report"), cache=tmp_path / "cache", cwd=own_data)

    from joulebench.results.store import ResultStore

    records = ResultStore.in_dir(out).records()
    assert len(records) == 3 and {r["task"] for r in records} == {task}
    baseline = next(r for r in records if not r["reductions"])
    assert baseline["quality"]["primary_metric"] == metric
    assert baseline["quality"][metric] > floor, baseline["quality"]  # it learned the task (3 classes: chance ~0.35)
    assert baseline["task_data"] and baseline["config"]["task_spec"]["name"] == task
    assert all(r["cost"].get("vs_baseline") for r in records if r["reductions"])  # paired with the baseline
    report = (out / "report" / "report.md").read_text()
    assert f"## {task} / offline" in report
    assert "### Cheapest within tolerance of baseline" in report and "| non-inferiority |" in report  # budgets
    slice_name = "origin=mrpc" if task == "source3" else "paraphrase=1"
    assert slice_name in report  # per-slice paired differences of the declared slice column
    (out / "report" / "report.md").replace(out.parent / f"report_{task}.md")  # kept for a look after the test


def test_sst2_declared_as_a_csv_gives_the_builtin_predictions(own_data, tmp_path):
    config = own_data / "pair.yaml"
    body = f"model: minilm-l6\nmax_seq_len: 64\n{TRAIN}\n{MEASURE}\n"
    config.write_text(f"- task: sst2\n  name: builtin\n{_indent(body)}- task: sst2_csv\n  name: declared\n"
                      f"{_indent(body)}")
    out = tmp_path / "out"
    cli("run", str(config), "--out", str(out), cache=tmp_path / "cache", cwd=own_data)

    from joulebench.results.store import ResultStore

    builtin, declared = ResultStore.in_dir(out).records()
    assert builtin["task"] == "sst2" and declared["task"] == "sst2_csv"
    assert builtin["train"]["checkpoint"] != declared["train"]["checkpoint"]  # trained separately ...
    assert declared["quality"]["predictions"] == builtin["quality"]["predictions"]  # ... to the same model
    assert declared["quality"]["accuracy"] == builtin["quality"]["accuracy"]
    assert declared["quality"]["labels"] == builtin["quality"]["labels"]


def _indent(text: str) -> str:
    return "".join(f"  {line}\n" for line in text.strip().splitlines())
