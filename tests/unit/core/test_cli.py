"""The CLI as a user runs it: exit codes, one-line errors, nothing written is lost."""

import subprocess
import sys
from pathlib import Path

import pytest

TINY = """
task: sst2
model: tiny-random-bert
max_seq_len: 32
train: {batch_size: 16}
measure: {repeats: 2, batch_size: 16, warmup_calls: 1}
"""


def cli(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "joulebench", *args], capture_output=True, text=True,
                          cwd=cwd, env=full_env, timeout=300)


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if line.startswith("joulebench: error")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_ls_lists_every_registry():
    result = cli("ls")
    assert result.returncode == 0, result.stderr
    for expected in ("tasks:", "sst2", "model aliases:", "minilm-l6", "regimes:", "top_k", "reductions:",
                     "energy meters:", "estimate"):
        assert expected in result.stdout


def test_validate_repo_configs(tmp_path):
    """Every configuration and task file in configs/ validates on a fresh clone: the own-task example's data,
    which a fresh clone does not have, is made here from the test fixtures, beside a copy of configs/."""
    import shutil

    root = Path(__file__).parents[3]
    shutil.copytree(root / "configs", tmp_path / "configs")
    made = subprocess.run([sys.executable, str(root / "examples" / "own_task" / "make_data.py"), "--data",
                           str(root / "tests" / "fixtures"), "--out", str(tmp_path / "data" / "own")],
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    configs = sorted(str(p) for p in (tmp_path / "configs").glob("*.yaml"))
    tasks = sorted(str(p) for p in (tmp_path / "configs" / "tasks").glob("*.yaml"))
    assert configs and tasks
    result = cli("validate", *configs, *tasks, cwd=root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("ok ") >= len(configs) + len(tasks)


def test_unknown_task_suggests(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("task: sst3\n")
    result = cli("run", str(path), "--out", str(tmp_path / "out"))
    assert_one_line_error(result, "unknown task 'sst3'", "did you mean 'sst2'")


def test_unknown_model_path(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("task: sst2\nmodel: ./no/such/model\n")
    result = cli("run", str(path), "--out", str(tmp_path / "out"), "--data-dir", "tests/fixtures",
                 cwd=Path(__file__).parents[3])
    assert_one_line_error(result, "./no/such/model")


def test_bad_data_file_keeps_existing_records(tmp_path, fixture_data_dir):
    out = tmp_path / "out"
    out.mkdir()
    existing = '{"config_hash": "keep-me"}\n'
    (out / "results.jsonl").write_text(existing)
    bad = tmp_path / "data" / "glue" / "SST-2"
    bad.mkdir(parents=True)
    (bad / "train.tsv").write_text("sentence\tlabel\ngood film\t1\nbad film\t7\n")
    (bad / "dev.tsv").write_text("sentence\tlabel\ngood\t1\n")
    path = tmp_path / "c.yaml"
    path.write_text(TINY)
    result = cli("run", str(path), "--out", str(out), "--data-dir", str(tmp_path / "data"),
                 "--cache-dir", str(tmp_path / "cache"))
    assert_one_line_error(result, "train.tsv", "7")
    assert (out / "results.jsonl").read_text() == existing


@pytest.mark.parametrize(
    "value, fragment", [("threads: 0", "measure.threads"), ("batch_size: 0", "measure.batch_size")]
)
def test_invalid_measure_values(tmp_path, value, fragment):
    path = tmp_path / "c.yaml"
    path.write_text(f"task: sst2\nmeasure: {{{value}}}\n")
    result = cli("validate", str(path))
    assert_one_line_error(result, fragment, "c.yaml")


@pytest.mark.parametrize("args, fragment", [
    (("run",), "Missing argument"),
    (("ticket", "table"), "Missing option '--out'"),
    (("no-such-command",), "No such command"),
])
def test_usage_errors_exit_2_without_traceback(args, fragment):
    result = cli(*args)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and fragment in result.stderr


def test_removed_measure_key_names_its_replacement(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("task: sst2\nmeasure: {min_duration_s: 5}\n")
    result = cli("validate", str(path))
    assert_one_line_error(result, "min_duration_s", "measure.passes and measure.repeats")


def test_validate_explain_documents_the_measure_fields_and_record_schema():
    result = cli("validate", "--explain")
    assert result.returncode == 0, result.stderr
    for text in ("repeats", "sample_seed", "vs_baseline", "predictions", "total_energy_j", "cpu_features"):
        assert text in result.stdout


def test_doctor_names_the_cpu_features_the_auto_choices_and_the_energy_meter():
    from joulebench.env_info import cpu_features

    result = cli("doctor")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"features: {', '.join(cpu_features()) or 'unknown'}" in out
    assert "backend probe (" in out and "torch_ao " in out and "of fp32" in out
    assert "int8 backend auto (engine torch) -> torchao" in out
    assert "engine openvino " in out and "precisions here fp32" in out  # every engine, what it runs here
    assert "dtype auto16 on cpu -> " in out
    assert "bf16 on cpu: " in out and "energy meter auto -> " in out


def test_validate_reads_a_search_file():
    search = Path(__file__).parents[3] / "configs" / "search_sst2.yaml"
    result = cli("validate", str(search))
    assert result.returncode == 0, result.stderr
    assert "search: 3 reduction slot(s)" in result.stdout and "sampler tpe" in result.stdout
