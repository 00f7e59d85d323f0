"""The training defaults that learn at small budgets: the head's own learning rate and a minimum of steps."""

from __future__ import annotations

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from joulebench.config.schema import TrainConfig
from joulebench.models.batching import Encoded
from joulebench.training import trainer
from joulebench.training.regimes import trainable_names
from joulebench.training.trainer import HEAD_LR, HEAD_ONLY_LR, fine_tune


def _model() -> BertForSequenceClassification:
    torch.manual_seed(0)
    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32)
    config.num_labels = 2
    return BertForSequenceClassification(config)


def _examples(n: int) -> list[Encoded]:
    return [Encoded([1, 5 + i % 7, 2], [0, 0, 0], i % 2) for i in range(n)]


@pytest.fixture
def captured_groups(monkeypatch: pytest.MonkeyPatch) -> list[list[dict]]:
    seen: list[list[dict]] = []
    real = torch.optim.AdamW

    def spy(groups, **kwargs):
        optimizer = real(groups, **kwargs)
        seen.append([{"lr": g["lr"], "names": len(g["params"])} for g in optimizer.param_groups])
        return optimizer

    monkeypatch.setattr(trainer.torch.optim, "AdamW", spy)
    return seen


def test_min_steps_passes_a_small_set_again_and_epochs_override_it() -> None:
    cfg = TrainConfig(batch_size=4, min_steps=10)
    assert fine_tune(_model(), _examples(8), cfg, 0).steps == 10  # 2 steps per epoch -> 5 epochs
    assert fine_tune(_model(), _examples(80), cfg, 0).steps == 20  # one epoch is already more
    assert fine_tune(_model(), _examples(8), cfg, 0, epochs=1).steps == 2  # a reduction's brief re-training


def test_the_head_trains_at_its_own_rate(captured_groups: list[list[dict]]) -> None:
    model = _model()
    fine_tune(model, _examples(8), TrainConfig(batch_size=4, min_steps=0, lr=5e-5), 0)
    rates = sorted({g["lr"] for g in captured_groups[-1]})
    assert rates == [5e-5, HEAD_LR]  # encoder at lr, head (classifier) at the default head rate
    frozen = trainable_names(model, "frozen", 2)
    fine_tune(model, _examples(8), TrainConfig(batch_size=4, min_steps=0), 0, trainable=frozen)
    assert {g["lr"] for g in captured_groups[-1]} == {HEAD_ONLY_LR}  # only the head trains: its own default
    fine_tune(model, _examples(8), TrainConfig(batch_size=4, min_steps=0, head_lr=2e-4), 0)
    assert sorted({g["lr"] for g in captured_groups[-1]}) == [5e-5, 2e-4]  # as configured


def test_bad_values_are_refused_with_the_field_named() -> None:
    with pytest.raises(ValueError, match="train.head_lr"):
        TrainConfig(head_lr=0.0).validate()
    with pytest.raises(ValueError, match="train.min_steps"):
        TrainConfig(min_steps=-1).validate()
