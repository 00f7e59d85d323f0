"""The search on the Ray executor: trials asked in rounds of ``parallel``, each round one Ray sweep."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest
from rich.console import Console

from joulebench.experiments.search import parse_search, run_search


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'joulebench[ray]'")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def test_ray_runs_the_trials_of_a_search(local_ray, tmp_path, search_data, fixture_data_dir):
    space = parse_search(search_data, "search.yaml")
    out = tmp_path / "out"
    outcome = run_search(space, out, trials=4, executor="ray", parallel=2, data_dir=fixture_data_dir,
                         cache_dir=tmp_path / "cache", console=Console(file=open(os.devnull, "w")))
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(records) == len({r["config_hash"] for r in records}) == 4
    space = dataclasses.replace(space, data_dir=fixture_data_dir)
    assert all(space.params_of(r) is not None for r in records)
    assert outcome.runs == 4 and not outcome.failures
