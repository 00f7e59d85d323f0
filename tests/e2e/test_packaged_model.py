"""End to end on the real packaged all-MiniLM-L6-v2 and a slice of real SST-2 (slow: CI runs it)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from joulebench.tasks import resolve_data_dir

pytestmark = pytest.mark.e2e

SLICE = """
name: e2e-slice
task: sst2
model: minilm-l6
regime: full
max_seq_len: 64
train: {epochs: 1, max_train_examples: 600, batch_size: 16, lr: 1.0e-4, seed: 0}
measure: {scenario: [offline, online], batch_size: 32, min_duration_s: 1, min_calls: 5,
          online_examples: 20, eval_max_examples: 200}
"""


@pytest.fixture(scope="module")
def data_dir() -> Path:
    found = resolve_data_dir(None)
    if found is None or not (found / "glue" / "SST-2" / "dev.tsv").is_file():
        pytest.skip("real SST-2 not found: set JOULEBENCH_DATA to the folder holding glue/SST-2")
    return found


def test_run_fine_tunes_and_measures_the_packaged_model(tmp_path, data_dir):
    config = tmp_path / "slice.yaml"
    config.write_text(SLICE)
    out = tmp_path / "out"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "JOULEBENCH_CACHE": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "joulebench", "run", str(config), "--out", str(out), "--data-dir", str(data_dir)]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200)
    assert result.returncode == 0, result.stderr[-2000:]

    from joulebench.results.store import ResultStore

    offline, online = ResultStore.in_dir(out).records()
    # 600 sentences of fine-tuning already put a sentence-embedding model far above chance
    assert offline["quality"]["n_examples"] == 200
    assert offline["quality"]["accuracy"] > 0.70, offline["quality"]
    assert offline["quality"] == online["quality"]
    assert offline["train"]["reused"] is False and online["train"]["reused"] is True
    assert offline["cost"]["energy_method"] == "estimate" and "W/core" in offline["cost"]["energy_note"]
    assert online["cost"]["batch_size"] == 1 and offline["cost"]["batch_size"] == 32
    # batching amortises: offline ms/example must beat a request at a time
    assert offline["cost"]["latency_ms_mean"] < online["cost"]["latency_ms_mean"]
    assert offline["cost"]["flops_per_example"] > 1e8  # ~22M-parameter encoder, ~25 tokens

    again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert again.returncode == 0 and "skipped" in again.stderr + again.stdout
    assert len(ResultStore.in_dir(out).records()) == 2
