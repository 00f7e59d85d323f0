"""The checkpoint cache: atomic saves, no temporary dirs left behind."""

from __future__ import annotations

import os
import time

import pytest
from transformers import BertConfig, BertForSequenceClassification

from joulebench.models.checkpoints import STALE_TEMP_S, CheckpointCache


def _tiny():
    return BertForSequenceClassification(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1,
                                                    num_attention_heads=2, intermediate_size=32))


def test_save_then_load_round_trips_and_leaves_no_temp_dir(tmp_path):
    cache, model = CheckpointCache(tmp_path), _tiny()
    cache.save("abc", model, {"why": "test"})
    assert cache.has("abc") and [p.name for p in tmp_path.iterdir()] == ["abc"]
    other = _tiny()
    cache.load_into("abc", other)
    for (name, a), b in zip(model.state_dict().items(), other.state_dict().values(), strict=True):
        assert a.equal(b), name


def test_a_failed_save_removes_its_temp_dir(tmp_path):
    class Broken:
        def save_pretrained(self, path, safe_serialization):
            (path / "half.bin").write_bytes(b"x")
            raise OSError("disk full")

    with pytest.raises(OSError):
        CheckpointCache(tmp_path).save("abc", Broken(), {})
    assert list(tmp_path.iterdir()) == []


def test_stale_temp_dirs_from_killed_runs_are_removed_fresh_ones_kept(tmp_path):
    old, fresh = tmp_path / ".abc-x1", tmp_path / ".def-x2"
    for path in (old, fresh):
        path.mkdir()
        (path / "model.safetensors").write_bytes(b"partial")
    long_ago = time.time() - STALE_TEMP_S - 60
    os.utime(old, (long_ago, long_ago))
    assert CheckpointCache(tmp_path).remove_stale_temps() == [old]
    assert not old.exists() and fresh.exists()


def _truncate(path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_a_truncated_cache_entry_is_a_one_line_error_naming_the_file(tmp_path):
    from joulebench.errors import UserError
    from joulebench.models.checkpoints import CorruptCheckpoint

    cache = CheckpointCache(tmp_path)
    model = _tiny()
    cache.save("k", model, {})
    _truncate(tmp_path / "k" / "model.safetensors")
    with pytest.raises(CorruptCheckpoint, match=r"k/model\.safetensors") as err:
        cache.load_into("k", _tiny())
    assert isinstance(err.value, UserError) and "\n" not in str(err.value)


def test_the_runner_reports_and_retrains_a_corrupt_cache_entry(tmp_path, fixture_data_dir, caplog):
    from joulebench.configuration import parse_config
    from joulebench.runner import Runner, RunOptions

    (config,) = parse_config({"task": "sst2", "model": "tiny-random-bert", "max_seq_len": 16,
                              "train": {"batch_size": 16, "max_train_examples": 16}})
    runner = Runner(RunOptions(data_dir=fixture_data_dir, cache=CheckpointCache(tmp_path)))
    _, first = runner.fine_tuned(config, "cpu")
    assert first["reused"] is False
    _truncate(tmp_path / first["checkpoint"] / "model.safetensors")
    with caplog.at_level("WARNING", logger="joulebench.runner"):
        _, again = runner.fine_tuned(config, "cpu")
    assert again["reused"] is False  # trained again, not silently used
    assert "is corrupt" in caplog.text and "model.safetensors" in caplog.text
    _, third = runner.fine_tuned(config, "cpu")
    assert third["reused"] is True


def test_a_corrupt_model_folder_is_a_user_error_naming_the_weights_file(tmp_path):
    import shutil

    from joulebench.errors import UserError
    from joulebench.models.loading import load_classifier, resolve_model

    folder = tmp_path / "model"
    shutil.copytree(resolve_model("minilm-l6"), folder)
    _truncate(folder / "model.safetensors")
    with pytest.raises(UserError, match=r"model\.safetensors is not a readable safetensors file"):
        load_classifier(str(folder), 2)
