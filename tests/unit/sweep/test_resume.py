"""A sweep killed (SIGKILL) twice at random points, then resumed, ends with exactly the records of
an uninterrupted run: the same config hashes, each once, every line a whole JSON record."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from joulebench.config import config_hash
from joulebench.experiments.sweep import load_sweep
from joulebench.tasks.resolve import bind_data


def complete_records(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def start(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, "-m", "joulebench", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill_after(proc: subprocess.Popen, results: Path, records: int, delay_s: float, timeout_s: float = 120) -> None:
    """SIGKILL ``proc`` ``delay_s`` after ``results`` holds ``records`` complete lines."""
    deadline = time.monotonic() + timeout_s
    while complete_records(results) < records:
        assert proc.poll() is None, f"the sweep ended early:\n{proc.communicate()[1]}"
        assert time.monotonic() < deadline, "no progress"
        time.sleep(0.02)
    time.sleep(delay_s)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()


@pytest.mark.product_min_steps  # compared with records written by a subprocess (the product default)
def test_killed_sweep_resumes_to_exactly_the_uninterrupted_records(tmp_path, tiny_sweep, fixture_data_dir):
    seed = int(os.environ.get("JOULEBENCH_TEST_SEED", time.time_ns() % 100_000))
    rng = random.Random(seed)
    out = tmp_path / "out"
    results = out / "results.jsonl"
    args = ["sweep", str(tiny_sweep), "--out", str(out), "--data-dir", str(fixture_data_dir),
            "--cache-dir", str(tmp_path / "cache")]
    expected = sorted(config_hash(bind_data(c, fixture_data_dir)) for c in load_sweep(tiny_sweep))
    assert len(expected) == 6

    # The first kill may land in the middle of a fine-tuning, the second while measuring or appending.
    for records in (1, 3):
        kill_after(start(args), results, records, delay_s=rng.uniform(0.0, 0.5))
    done_before = complete_records(results)

    final = start(args)
    _, stderr = final.communicate(timeout=300)
    context = f"seed {seed} (rerun with JOULEBENCH_TEST_SEED={seed}); stderr:\n{stderr}"
    assert final.returncode == 0, context
    assert f"already done: {done_before}" in stderr, context

    data = results.read_bytes()
    assert data.endswith(b"\n"), context
    hashes = [json.loads(line)["config_hash"] for line in data.decode().splitlines()]  # every line whole
    assert sorted(hashes) == expected, context  # each configuration once, none lost
    checkpoints = [p for p in (tmp_path / "cache" / "checkpoints").iterdir() if not p.name.startswith(".")]
    assert len(checkpoints) == 2, context  # one per seed; a killed save leaves only a hidden temp dir
