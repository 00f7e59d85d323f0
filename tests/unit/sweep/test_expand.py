"""Sweep files: grid and zip expansion, names, de-duplication, and errors naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from joulebench.config import config_hash
from joulebench.errors import UserError
from joulebench.experiments.sweep import expand_sweep, is_sweep, load_any, load_sweep, sweep_keys

REPO = Path(__file__).parents[3]


def test_grid_is_a_cartesian_product_last_key_fastest(base):
    configs = expand_sweep({**base, "grid": {"regime": ["full", "frozen"], "train.seed": [0, 1, 2]}})
    assert [(c.regime, c.train.seed) for c in configs] == [
        ("full", 0), ("full", 1), ("full", 2), ("frozen", 0), ("frozen", 1), ("frozen", 2)]
    assert all(c.train.batch_size == 16 for c in configs)  # a dotted key keeps the rest of its section


def test_zip_advances_together_and_crosses_the_grid(base):
    data = {**base, "zip": {"train.seed": [0, 1], "train.lr": [1e-4, 2e-4]}, "grid": {"max_seq_len": [16, 32]}}
    configs = expand_sweep(data)
    assert [(c.train.seed, c.train.lr, c.max_seq_len) for c in configs] == [
        (0, 1e-4, 16), (0, 1e-4, 32), (1, 2e-4, 16), (1, 2e-4, 32)]


def test_list_of_grids_is_their_union_and_duplicates_are_dropped(base):
    data = {**base, "grid": [
        {"reductions": [[], ["int8"], {"name": "layer_drop", "keep_layers": 1}]},
        {"measure.scenario": ["offline", "online"]},  # its offline one is the first grid's dense one
    ]}
    configs = expand_sweep(data)
    described = [([r.name for r in c.reductions], c.measure.scenario) for c in configs]
    assert described == [([], "offline"), (["int8"], "offline"), (["layer_drop"], "offline"), ([], "online")]
    assert len({config_hash(c) for c in configs}) == 4


def test_reductions_values_are_alternative_lists(base):
    configs = expand_sweep({**base, "grid": {"reductions": [
        [], [{"name": "layer_drop", "keep_layers": 1}, "int8"], [{"name": "seq_len", "max_seq_len": 16}]]}})
    assert [[(r.name, r.params_dict()) for r in c.reductions] for c in configs] == [
        [], [("layer_drop", {"keep_layers": 1}), ("int8", {})], [("seq_len", {"max_seq_len": 16})]]


def test_names_say_what_varies_and_do_not_change_the_hash(base):
    seq_len = {"name": "seq_len", "max_seq_len": 16}
    (config,) = expand_sweep({**base, "name": "demo", "grid": {"reductions": [[seq_len]]}})
    assert config.name == "demo [reductions=seq_len(max_seq_len=16)]"
    (plain,) = expand_sweep({**base, "reductions": [seq_len]})
    assert plain.name is None and config_hash(plain) == config_hash(config)


def test_a_scenario_list_in_the_base_multiplies(base):
    data = {**base, "measure": {**base["measure"], "scenario": ["offline", "online"]}, "grid": {"train.seed": [0, 1]}}
    assert len(expand_sweep(data)) == 4


def test_is_sweep_and_load_any(tmp_path, tiny_sweep):
    assert is_sweep({"task": "sst2", "grid": {}}) and not is_sweep({"task": "sst2"}) and not is_sweep([1])
    plain = tmp_path / "plain.yaml"
    plain.write_text("task: sst2\nmodel: tiny-random-bert\n")
    assert len(load_any(plain)) == 1
    assert len(load_any(tiny_sweep)) == len(load_sweep(tiny_sweep)) == 6


@pytest.mark.parametrize("change, fragments", [
    (lambda d: d.update(gird={"regime": ["full"]}), ["unknown top-level key 'gird'", "did you mean 'grid'"]),
    (lambda d: d.update(grid={"train.sed": [1]}), ["grid: unknown key 'train.sed'", "did you mean 'train.seed'"]),
    (lambda d: d.update(grid={"train": [{"seed": 1}]}), ["unknown key 'train'", "dotted key"]),
    (lambda d: d.update(grid={"regime": []}), ["grid.regime", "non-empty list"]),
    (lambda d: d.update(grid={"train.lr": [1e-4, -1]}), ["grid 'train.lr' value 2 (-1)", "train.lr must be > 0"]),
    (lambda d: d.update(grid={"train.lr": ["fast"]}), ["grid 'train.lr' value 1 (fast)", "expected a number"]),
    (lambda d: d.update(grid={"measure.scenario": ["offline", "onlin"]}), ["value 2 (onlin)", "measure.scenario"]),
    (lambda d: d.update(grid={"regime": ["full", "froze"]}), ["'regime' value 2", "did you mean 'frozen'"]),
    (lambda d: d.update(grid={"model": ["minilm-l5"]}), ["'model' value 1", "did you mean 'minilm-l6'"]),
    (lambda d: d.update(grid={"reductions": [[], ["int9"]]}), ["'reductions' value 2 (int9)", "did you mean 'int8'"]),
    (lambda d: d.update(grid={"reductions": [[{"name": "layer_drop", "keep_layers": 0}]]}),
     ["'reductions' value 1", "keep_layers must be >= 1"]),
    (lambda d: d.update(zip={"train.seed": [0, 1], "train.lr": [1e-4]}), ["zip", "equal lengths"]),
    (lambda d: d.update(zip={"train.seed": [0, 1], "train.lr": [1e-4, 0]}), ["zip row 2 (train.seed=1, train.lr=0)"]),
    (lambda d: d.update(zip={"train.seed": [0]}, grid={"train.seed": [1]}), ["'train.seed' is in both grid and zip"]),
    (lambda d: d["train"].update(batch_size=0), ["sweep.yaml: train.batch_size must be >= 1"]),
])
def test_errors_name_the_file_and_key(base, change, fragments):
    data = {**base, "train": dict(base["train"])}
    change(data)
    with pytest.raises(UserError) as info:
        expand_sweep(data, "sweep.yaml")
    message = str(info.value)
    assert message.startswith("sweep.yaml") and "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


def test_a_missing_or_broken_file_is_one_line(tmp_path):
    with pytest.raises(UserError, match="sweep file not found"):
        load_sweep(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("grid: [\n")
    with pytest.raises(UserError, match="bad.yaml.*not valid YAML"):
        load_sweep(bad)


def test_every_sweep_key_is_accepted(base):
    assert {"model", "regime", "max_seq_len", "reductions", "train.seed", "measure.scenario"} <= set(sweep_keys())
    assert "train" not in sweep_keys() and "name" not in sweep_keys()


@pytest.mark.parametrize("path", [*sorted((REPO / "configs").glob("sweep*.yaml")),
                                  REPO / "src" / "joulebench" / "configs" / "demo_sweep.yaml"],
                         ids=lambda p: p.name)
def test_shipped_sweeps_are_valid(path):
    configs = load_sweep(path)
    assert configs and len({config_hash(c) for c in configs}) == len(configs)


def test_demo_sweep_fits_the_brief():
    configs = load_sweep(REPO / "src" / "joulebench" / "configs" / "demo_sweep.yaml")
    from joulebench.runner import Runner

    assert len({Runner().train_key(c) for c in configs}) == 1  # one fine-tuning
    offline = [c for c in configs if c.measure.scenario == "offline"]
    assert len(offline) >= 8  # one frontier with at least 8 configurations
    kinds = {r.name for c in offline for r in c.reductions}
    assert len(kinds) >= 4  # from at least 4 kinds of reduction
    dense = [c.measure.scenario for c in configs if not c.reductions and c.engine == "torch"]
    assert sorted(dense) == ["offline", "online"]  # each scenario has its baseline
    assert {c.engine for c in configs} == {"torch", "openvino"}  # the engine axis
