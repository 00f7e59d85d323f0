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
