"""Executors for real on the tiny random BERT: local in this process, Ray on a local instance."""

from __future__ import annotations

import io
import itertools
import json
import os

import pytest
from rich.console import Console

from joulebench.config import config_hash
from joulebench.errors import UserError
from joulebench.experiments.sweep import expand_sweep, load_sweep, run_sweep
from joulebench.experiments.sweep.executors.ray import DEVICE_RESOURCE, task_resources
from joulebench.results.store import ResultStore
from joulebench.tasks.resolve import bind_data


def quiet() -> Console:
    return Console(file=io.StringIO(), force_terminal=False, width=200)


def test_local_trains_once_per_checkpoint_and_a_rerun_does_nothing(tmp_path, tiny_sweep, fixture_data_dir):
    out, cache = tmp_path / "out", tmp_path / "cache"
    outcome = run_sweep(tiny_sweep, out, data_dir=fixture_data_dir, cache_dir=cache, console=quiet())
    records = ResultStore.in_dir(out).records()
    assert [r["config_hash"] for r in records] == [r["config_hash"] for r in outcome.records]
    bound = [bind_data(c, fixture_data_dir) for c in load_sweep(tiny_sweep)]
    assert sorted(r["config_hash"] for r in records) == sorted(config_hash(c) for c in bound)
    checkpoints = [r["train"]["checkpoint"] for r in records]
    assert [key for key, _ in itertools.groupby(checkpoints)] == sorted(set(checkpoints), key=checkpoints.index)
    assert len(set(checkpoints)) == 2  # one per seed, each run consecutively ...
    assert sum(not r["train"]["reused"] for r in records) == 2  # ... and trained once
    assert len([p for p in (cache / "checkpoints").iterdir() if not p.name.startswith(".")]) == 2

    console = quiet()
    again = run_sweep(tiny_sweep, out, data_dir=fixture_data_dir, cache_dir=cache, console=console)
    assert again.records == [] and len(ResultStore.in_dir(out).records()) == 6
    assert "already done: 6; to run: 0 measurements and 0 fine-tunings" in console.file.getvalue()


def test_a_failing_configuration_stops_the_sweep_unless_keep_going(tmp_path, base, fixture_data_dir):
    # The tiny model has 2 layers: keeping 5 is only found out when the reduction is applied.
    configs = expand_sweep({**base, "regime": "frozen", "grid": {"reductions": [
        [{"name": "layer_drop", "keep_layers": 5}], [{"name": "seq_len", "max_seq_len": 8}]]}})
    with pytest.raises(UserError, match="keep_layers=5"):
        run_sweep(configs, tmp_path / "a", data_dir=fixture_data_dir, cache_dir=tmp_path / "cache", console=quiet())
    assert ResultStore.in_dir(tmp_path / "a").records() == []

    outcome = run_sweep(configs, tmp_path / "b", data_dir=fixture_data_dir, cache_dir=tmp_path / "cache",
                        keep_going=True, console=quiet())
    assert [c.reductions[0].name for c, _ in outcome.failures] == ["layer_drop"]
    assert [r["reductions"][0]["name"] for r in ResultStore.in_dir(tmp_path / "b").records()] == ["seq_len"]


def test_dry_run_lists_the_plan_and_runs_nothing(tmp_path, tiny_sweep):
    console = quiet()
    run_sweep(tiny_sweep, tmp_path / "out", cache_dir=tmp_path / "cache", dry_run=True, console=console)
    text = console.file.getvalue()
    assert "to run: 6 measurements and 2 fine-tunings" in text
    assert text.count("(to train)") == 2 and text.count("  run   ") == 6
    assert not (tmp_path / "out" / "results.jsonl").exists()


def test_unknown_executor_suggests(tmp_path, tiny_sweep):
    with pytest.raises(UserError, match="unknown sweep executor 'rya'; did you mean 'ray'"):
        run_sweep(tiny_sweep, tmp_path / "out", executor="rya", console=quiet())


@pytest.mark.parametrize("cluster, node_cpus, shape, slots", [
    ({"CPU": 2.0}, [2.0], {"num_cpus": 2.0}, 1),  # one node: a task takes all of it
    ({"CPU": 32.0}, [16.0, 16.0], {"num_cpus": 16.0}, 2),  # one task per node
    ({"CPU": 24.0}, [8.0, 16.0], {"num_cpus": 8.0}, 3),  # uneven: smallest node (warned)
    ({"CPU": 24.0, DEVICE_RESOURCE: 2.0}, [8.0, 16.0], {"num_cpus": 1, "resources": {DEVICE_RESOURCE: 1}}, 2),
])
def test_ray_tasks_ask_for_a_whole_machine(cluster, node_cpus, shape, slots):
    assert task_resources(cluster, node_cpus) == (shape, slots)


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'joulebench[ray]'")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # inherited by the workers; no prompt, no upload
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def test_ray_executor_runs_each_configuration_as_a_task(local_ray, tmp_path, base, fixture_data_dir):
    data = {**base, "grid": [{"measure.scenario": ["offline", "online"]},
                             {"reductions": [[{"name": "seq_len", "max_seq_len": 16}]], "train.seed": [1]}]}
    configs = expand_sweep(data)
    out = tmp_path / "out"
    outcome = run_sweep(configs, out, data_dir=fixture_data_dir, cache_dir=tmp_path / "cache", executor="ray",
                        console=quiet())
    lines = (out / "results.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line whole
    bound = [bind_data(c, fixture_data_dir) for c in configs]
    assert sorted(r["config_hash"] for r in records) == sorted(config_hash(c) for c in bound)
    by_checkpoint = {}
    for r in records:
        by_checkpoint.setdefault(r["train"]["checkpoint"], []).append(r["train"]["reused"])
    assert sorted(sorted(v) for v in by_checkpoint.values()) == [[False], [False, True]]  # trained once each
    timings = sorted(outcome.timings, key=lambda t: t.start_s)
    assert len(timings) == 3 and len({t.node for t in timings}) == 1
    for earlier, later in itertools.pairwise(timings):  # one measuring task per machine at a time
        assert later.start_s >= earlier.end_s


def test_ray_failures_are_one_line_or_collected(local_ray, tmp_path, base, fixture_data_dir):
    configs = expand_sweep({**base, "regime": "frozen", "grid": {"reductions": [
        [{"name": "layer_drop", "keep_layers": 5}], [{"name": "seq_len", "max_seq_len": 8}]]}})
    kwargs = {"data_dir": fixture_data_dir, "cache_dir": tmp_path / "cache", "executor": "ray", "console": quiet()}
    with pytest.raises(UserError, match="keep_layers=5") as info:
        run_sweep(configs, tmp_path / "a", **kwargs)
    assert "Traceback" not in str(info.value)
    outcome = run_sweep(configs, tmp_path / "b", keep_going=True, **kwargs)
    assert [c.reductions[0].name for c, _ in outcome.failures] == ["layer_drop"]
    assert [r["reductions"][0]["name"] for r in ResultStore.in_dir(tmp_path / "b").records()] == ["seq_len"]
