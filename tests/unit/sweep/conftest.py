"""A small sweep on the tiny random BERT and the fixture data: 6 configurations, 2 checkpoints."""

from __future__ import annotations

from pathlib import Path

import pytest

#: One thread: a tiny model gains nothing from more, and on a busy machine several are much slower.
QUICK_MEASURE = "{batch_size: 16, repeats: 2, warmup_calls: 1, online_examples: 4, threads: 1}"

#: Reductions vary first, so the expansion interleaves the seeds and the plan must regroup them.
TINY_SWEEP = f"""
name: tiny
task: sst2
model: tiny-random-bert
max_seq_len: 32
train: {{batch_size: 16}}
measure: {QUICK_MEASURE}
grid:
  reductions: [[], [{{name: layer_drop, keep_layers: 1}}], [{{name: seq_len, max_seq_len: 16}}]]
  train.seed: [0, 1]
"""


@pytest.fixture
def tiny_sweep(tmp_path: Path) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(TINY_SWEEP)
    return path


@pytest.fixture
def base() -> dict:
    """The tiny sweep's base configuration as a mapping (no axes)."""
    return {
        "task": "sst2", "model": "tiny-random-bert", "max_seq_len": 32, "train": {"batch_size": 16},
        "measure": {"repeats": 2, "batch_size": 16, "warmup_calls": 1,
                    "online_examples": 4, "threads": 1},
    }
