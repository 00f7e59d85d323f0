"""classifier_pooling: what the head reads, resolved from the model, kept through checkpoints."""

import json

import pytest
import torch

from joulebench.config import config_hash
from joulebench.configuration import parse_config
from joulebench.errors import UserError
from joulebench.models.checkpoints import CheckpointCache
from joulebench.models.loading import load_classifier
from joulebench.models.pooling import declared_pooling, mean_of_tokens
from joulebench.reductions.encoder import LayerwiseEncoder
from joulebench.runner import Runner, RunOptions


def test_mean_of_tokens_ignores_padding():
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    assert torch.equal(mean_of_tokens(hidden, torch.tensor([[1, 1, 0]])), torch.tensor([[2.0, 3.0]]))


def test_declared_pooling_reads_the_sentence_transformers_config(tmp_path):
    assert declared_pooling(str(tmp_path)) == ("cls", "default (no pooling config)")
    (tmp_path / "pool").mkdir()
    modules = [{"path": "pool", "type": "sentence_transformers.models.Pooling"}]
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    (tmp_path / "pool" / "config.json").write_text(json.dumps({"pooling_mode_mean_tokens": True}))
    assert declared_pooling(str(tmp_path)) == ("mean", "pool/config.json")
    (tmp_path / "pool" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
    assert declared_pooling(str(tmp_path))[0] == "cls"
    assert declared_pooling("bert-base-uncased")[0] == "cls"  # a Hub id declares nothing here


def test_auto_picks_mean_for_the_packaged_minilm_and_cls_for_a_plain_bert():
    minilm = load_classifier("minilm-l6", 2, pooling="auto")
    assert minilm.pooling == "mean" and "1_Pooling" in minilm.pooling_source and minilm.model.bert.pooler is None
    tiny = load_classifier("tiny-random-bert", 2, pooling="auto")
    assert tiny.pooling == "cls" and tiny.model.bert.pooler is not None


def test_mean_head_reads_the_mean_and_layerwise_runs_agree():
    model = load_classifier("tiny-random-bert", 2, pooling="mean").model.eval()
    ids = torch.randint(1000, 2000, (2, 7))
    mask = torch.ones(2, 7, dtype=torch.long)
    mask[1, 4:] = 0
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask).logits
        hidden = model.bert(ids, attention_mask=mask).last_hidden_state
        by_hand = model.classifier(mean_of_tokens(hidden, mask))
        layerwise = LayerwiseEncoder(model)(ids, mask)
    assert torch.allclose(logits, by_hand, atol=1e-6) and torch.allclose(logits, layerwise, atol=1e-5)


def test_unknown_pooling_is_a_named_error():
    with pytest.raises(UserError, match="classifier_pooling must be one of cls, mean, auto, got 'max'"):
        parse_config({"task": "sst2", "classifier_pooling": "max"})


def test_cls_keeps_the_identity_of_configs_written_before_the_key():
    (cls,) = parse_config({"task": "sst2", "classifier_pooling": "cls"})
    (mean,) = parse_config({"task": "sst2", "classifier_pooling": "mean"})
    assert "classifier_pooling" not in cls.training_dict() and mean.training_dict()["classifier_pooling"] == "mean"
    assert config_hash(cls) != config_hash(mean)


def test_runner_records_the_pooling_and_reuses_a_mean_checkpoint(fixture_data_dir, cache_dir):
    runner = Runner(RunOptions(data_dir=fixture_data_dir, cache=CheckpointCache(cache_dir)))

    def config(pooling):
        (c,) = parse_config({"task": "sst2", "model": "tiny-random-bert", "max_seq_len": 32,
                             "classifier_pooling": pooling, "train": {"batch_size": 16},
                             "measure": {"batch_size": 16, "repeats": 2, "warmup_calls": 1}})
        return c

    first = runner.run(config("mean"))
    assert first["train"]["classifier_pooling"] == "mean" and first["train"]["reused"] is False
    again = runner.run(config("mean"))
    assert again["train"]["reused"] is True and again["quality"]["predictions"] == first["quality"]["predictions"]
    cls = runner.run(config("cls"))
    assert cls["train"]["reused"] is False and cls["train"]["classifier_pooling"] == "cls"
