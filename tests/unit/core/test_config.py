from pathlib import Path

import pytest

from joulebench.config import config_hash
from joulebench.configuration import load_configs
from joulebench.errors import UserError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_issue_example_loads(tmp_path):
    (cfg,) = load_configs(write(tmp_path, """
task: sst2
model: minilm-l6
regime: full
train: {epochs: 1, max_train_examples: 2000, batch_size: 32, seed: 0}
measure: {scenario: offline, batch_size: 64}
"""))
    assert cfg.task == "sst2" and cfg.train.max_train_examples == 2000 and cfg.measure.batch_size == 64
    assert cfg.reductions == ()


def test_scenario_list_expands_into_distinct_configs(tmp_path):
    configs = load_configs(write(tmp_path, "task: sst2\nmeasure: {scenario: [offline, online]}\n"))
    assert [c.measure.scenario for c in configs] == ["offline", "online"]
    assert config_hash(configs[0]) != config_hash(configs[1])


def test_hash_ignores_name_but_not_seed(tmp_path):
    a, b, c = load_configs(write(tmp_path, """
- {task: sst2, name: one}
- {task: sst2, name: two}
- {task: sst2, train: {seed: 1}}
"""))
    assert config_hash(a) == config_hash(b)
    assert config_hash(a) != config_hash(c)


@pytest.mark.parametrize(
    "text, message",
    [
        ("task: sst2\ntrain: {epoch: 1}\n", r"train: unknown key 'epoch'; did you mean 'epochs'\?"),
        ("task: sst2\ntrain: {epochs: -1}\n", r"train.epochs must be > 0, got -1"),
        ("task: sst2\nmeasure: {scenario: batch}\n", r"measure.scenario must be one of offline, online"),
        ("task: sst2\ntrain: {batch_size: many}\n", r"train.batch_size: expected an integer, got 'many'"),
        ("model: minilm-l6\n", r"missing required key 'task'"),
        ("task: sst2\nreductions: [int9]\n", r"unknown reduction 'int9'"),
        ("task: [sst2\n", r"is not valid YAML"),
    ],
)
def test_bad_configs_give_one_clear_line(tmp_path, text, message):
    with pytest.raises(UserError, match=message) as info:
        load_configs(write(tmp_path, text))
    assert "\n" not in str(info.value)
    assert "c.yaml" in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="config file not found"):
        load_configs(tmp_path / "nope.yaml")


def test_yaml_tags_are_not_executed(tmp_path):
    path = write(tmp_path, "task: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(UserError, match="not valid YAML"):
        load_configs(path)
