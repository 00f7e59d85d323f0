"""early_exit: examples leave at their first confident exit and the layers above skip them."""

from __future__ import annotations

import pytest
import torch
from reduction_helpers import LAYERS, LayerCalls, logits_of, make_batch, tiny_bert
from torch import nn

from joulebench.config.loader import parse_config
from joulebench.config.schema import ReductionSpec
from joulebench.errors import UserError
from joulebench.reductions import apply_reductions
from joulebench.reductions.early_exit import entropy


def exit_model(model, ctx, threshold, **params):
    given = {} if threshold is None else {"threshold": threshold}
    spec = ReductionSpec("early_exit", tuple(sorted({**given, **params}.items())))
    wrapped, described = apply_reductions(model, (spec,), ctx)
    return wrapped, described[0]["details"]


class FixedLogits(nn.Module):
    """An exit head returning preset logits, row by row, whatever the batch it sees."""

    def __init__(self, rows: list[list[float]]) -> None:
        super().__init__()
        self.rows = torch.tensor(rows)
        self.seen: list[int] = []

    def forward(self, state, weights=None) -> torch.Tensor:
        self.seen.append(state.hidden.shape[0])
        return self.rows[: state.hidden.shape[0]]


def test_threshold_zero_is_the_full_model(model, ctx):
    batch = make_batch([9, 6, 3, 7])
    reference = logits_of(tiny_bert(), batch)
    wrapped, _ = exit_model(model, ctx, 0.0)
    calls = LayerCalls(list(model.bert.encoder.layer))
    assert torch.allclose(logits_of(wrapped, batch), reference, atol=1e-5)
    assert calls.calls() == [1] * LAYERS
    assert wrapped.realised_details() == {"exit_layer_histogram": {"4": 1.0}, "mean_layers_computed": 4.0,
                                          "layers_total": LAYERS}


def test_huge_threshold_exits_everything_after_layer_one(model, ctx):
    wrapped, _ = exit_model(model, ctx, 1e9)
    calls = LayerCalls(list(model.bert.encoder.layer))
    batch = make_batch([9, 6, 3])
    logits = logits_of(wrapped, batch)
    assert calls.calls() == [1, 0, 0, 0]
    assert torch.allclose(logits, first_exit_logits(wrapped, batch))
    assert wrapped.realised_details()["mean_layers_computed"] == 1.0
    assert wrapped.realised_details()["exit_layer_histogram"] == {"1": 1.0}


def first_exit_logits(wrapped, batch):
    with torch.inference_mode():
        state = wrapped.backbone.layer(0, wrapped.backbone.embed(**batch))
        return wrapped.exits[0](state)


def test_exited_examples_leave_the_batch(model, ctx):
    batch = make_batch([8, 8, 8, 8])
    reference = logits_of(tiny_bert(), batch)
    wrapped, _ = exit_model(model, ctx, 0.1)
    confident, unsure = [9.0, -9.0], [0.0, 0.0]
    wrapped.exits[0] = FixedLogits([confident, unsure, confident, unsure])  # rows 0 and 2 leave at layer 1
    wrapped.exits[1] = FixedLogits([unsure, unsure])
    wrapped.exits[2] = FixedLogits([unsure, unsure])
    calls = LayerCalls(list(model.bert.encoder.layer))
    logits = logits_of(wrapped, batch)
    assert [s[0][0] for s in calls.shapes] == [4, 2, 2, 2]  # layers 2-4 compute two examples only
    assert wrapped.exits[1].seen == [2]
    assert torch.equal(logits[[0, 2]], torch.tensor([confident, confident]))
    assert torch.allclose(logits[[1, 3]], reference[[1, 3]], atol=1e-5)  # the rest: the model's own head
    details = wrapped.realised_details()
    assert details["exit_layer_histogram"] == {"1": 0.5, "4": 0.5}
    assert details["mean_layers_computed"] == 2.5
    wrapped.reset_realised()
    assert wrapped.realised_details()["mean_layers_computed"] is None


def test_batched_equals_one_at_a_time(model, ctx):
    batch = make_batch([9, 6, 3, 7, 5, 8], seed=3)
    wrapped, _ = exit_model(model, ctx, 0.0)
    with torch.inference_mode():
        first = entropy(first_exit_logits(wrapped, batch))
    wrapped.threshold = float(first.median())  # about half the examples leave at layer 1
    batched = logits_of(wrapped, batch)
    counts_batched = wrapped.realised_details()
    assert len(counts_batched["exit_layer_histogram"]) > 1, "the test needs exits at more than one layer"
    wrapped.reset_realised()
    for row, n in enumerate(batch["attention_mask"].sum(1).tolist()):
        single = {k: v[row : row + 1, :n] for k, v in batch.items()}
        assert torch.allclose(logits_of(wrapped, single), batched[row : row + 1], atol=1e-5)
    assert wrapped.realised_details() == counts_batched


def test_heads_train_with_the_backbone_frozen(model, ctx):
    before = {k: v.clone() for k, v in model.state_dict().items()}
    wrapped, details = exit_model(model, ctx, 0.5, exit_epochs=3.0)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key
    untrained = wrapped.exits[0].classifier.weight
    assert not torch.equal(untrained, model.classifier.weight)  # started as a copy, then trained
    assert details["exit_heads"] == LAYERS - 1
    assert details["exit_train_steps"] == 6  # 64 examples / 32 per step x 3 epochs
    assert details["exit_train_examples"] == 64


def test_entropy_is_in_nats_and_never_negative():
    logits = torch.tensor([[0.0, 0.0], [100.0, -100.0]])
    assert torch.allclose(entropy(logits), torch.tensor([0.6931472, 0.0]), atol=1e-6)
    assert (entropy(logits) >= 0).all()


@pytest.mark.parametrize("params, message", [
    ({"threshold": -0.1}, "threshold must be >= 0"),
    ({"threshold": 0.2, "exit_epochs": 0}, "exit_epochs must be > 0"),
    ({"threshold": 0.2, "exit_pooling": "max"}, "exit_pooling must be one of cls, mean"),
])
def test_bad_params_fail_at_load_time(params, message):
    with pytest.raises(UserError, match=message):
        parse_config({"task": "sst2", "reductions": [{"name": "early_exit", **params}]})


def test_needs_training_examples(model, ctx):
    ctx.train_examples = None
    with pytest.raises(UserError, match="needs training examples"):
        exit_model(model, ctx, 0.1)


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_exit_heads_read_cls_or_the_mean_of_real_tokens(model, ctx, pooling):
    wrapped, details = exit_model(model, ctx, 0.0, exit_pooling=pooling)
    assert details["exit_pooling"] == pooling
    batch = make_batch([9, 4])
    with torch.inference_mode():
        state = wrapped.backbone.layer(0, wrapped.backbone.embed(**batch))
        read = wrapped.exits[0].read(state)
    if pooling == "cls":
        expected = state.hidden[:, 0]
    else:  # padding positions must not count: row 1 has 4 real tokens of 9
        expected = torch.stack([state.hidden[0, :9].mean(0), state.hidden[1, :4].mean(0)])
    assert torch.allclose(read, expected, atol=1e-6)


def test_calibrate_threshold_takes_the_largest_within_the_drop():
    from joulebench.reductions.early_exit import calibrate_threshold

    # 4 examples, 3 layers (the last is the model's own classifier, always right here)
    entropies = torch.tensor([[0.1, 0.1, 0.0], [0.3, 0.2, 0.0], [0.5, 0.4, 0.0], [0.9, 0.8, 0.0]])
    labels = torch.tensor([1, 1, 1, 1])
    # exit predictions: example 0 right everywhere; example 1 wrong at layer 1, right at layer 2;
    # examples 2 and 3 wrong at both early exits
    predictions = torch.tensor([[1, 1, 1], [0, 1, 1], [0, 0, 1], [0, 0, 1]])
    none = calibrate_threshold(entropies, predictions, labels, max_drop=0.0)
    # t in (0.2, 0.3]: example 0 leaves at layer 1 (right), example 1 at layer 2 (right); beyond
    # 0.3 example 1 would leave at layer 1, wrong
    assert 0.2 < none["threshold"] <= 0.3 and none["accuracy_drop"] == 0.0
    assert none["mean_layers"] == pytest.approx((1 + 2 + 3 + 3) / 4)
    quarter = calibrate_threshold(entropies, predictions, labels, max_drop=0.25)
    # one wrong example allowed: t in (0.3, 0.4]: example 1 leaves at layer 1 (wrong), 2 stays
    assert 0.3 < quarter["threshold"] <= 0.4 and quarter["accuracy_drop"] == pytest.approx(0.25)


def test_max_drop_calibrates_on_held_out_training_examples(model, ctx):
    seen = []
    ctx.calibration_examples = lambda n: seen.append(n) or ctx.train_examples()[:n]
    wrapped, details = exit_model(model, ctx, None, max_drop=0.02, calibration_examples=16)
    assert seen == [16]
    assert details["threshold_source"] == "calibrated" and details["threshold"] == wrapped.threshold
    assert details["calibration"]["examples"] == 16 and details["calibration"]["accuracy_drop"] <= 0.02


def test_threshold_and_max_drop_are_exclusive(model, ctx):
    with pytest.raises(UserError, match="exactly one of threshold"):
        exit_model(model, ctx, 0.5, max_drop=0.01)
