"""early_exit: examples leave at their first confident exit and the layers above skip them."""

from __future__ import annotations

import pytest
import torch
from reduction_helpers import LAYERS, LayerCalls, logits_of, make_batch, tiny_bert
from torch import nn

from joulebench.config.schema import ReductionSpec
from joulebench.configuration import parse_config
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


def test_calibrate_threshold_certifies_nothing_from_four_examples():
    from joulebench.reductions.early_exit import calibrate_threshold

    # 4 examples, 3 layers (the last is the model's own classifier, always right here): no exit can be
    # certified within a budget from so few, so the threshold stays 0 (the full model, drop 0 by construction)
    entropies = torch.tensor([[0.1, 0.1, 0.0], [0.3, 0.2, 0.0], [0.5, 0.4, 0.0], [0.9, 0.8, 0.0]])
    labels = torch.tensor([1, 1, 1, 1])
    predictions = torch.tensor([[1, 1, 1], [0, 1, 1], [0, 0, 1], [0, 0, 1]])
    for max_drop in (0.0, 0.25):
        found = calibrate_threshold(entropies, predictions, labels, max_drop=max_drop, delta=0.1)
        assert found["threshold"] == 0.0 and found["mean_layers"] == 3.0


def _population(n: int, seed: int):
    """Synthetic exits: entropy uniform in [0, 1] at two early layers; an exit is right with probability
    1 - 0.6 * entropy, the last layer with 0.9; labels are 1, a wrong prediction is 0."""
    g = torch.Generator().manual_seed(seed)
    entropies = torch.cat([torch.rand(n, 2, generator=g), torch.zeros(n, 1)], dim=1)
    right = torch.rand(n, 3, generator=g) < torch.cat([1 - 0.6 * entropies[:, :2], torch.full((n, 1), 0.9)], 1)
    return entropies, right.long(), torch.ones(n, dtype=torch.long)


def _drop(entropies, predictions, labels, t: float) -> float:
    n, layers = entropies.shape
    leaves = entropies[:, :-1] < t
    first = torch.where(leaves.any(1), leaves.float().argmax(1), torch.full((n,), layers - 1))
    exit_right = predictions[torch.arange(n), first] == labels
    return float((predictions[:, -1] == labels).float().mean() - exit_right.float().mean())


def test_learn_then_test_keeps_the_promise_over_resampled_calibration_splits():
    """Over 200 calibration draws of 500 examples from a population of 40,000, the chosen threshold's drop on the
    whole population exceeds max_drop in at most delta of them; choosing the largest threshold within the budget
    on the calibration split itself (the former rule) breaks the promise far more often."""
    from joulebench.reductions.early_exit import calibrate_threshold

    population = _population(40_000, seed=1)
    max_drop, delta, trials = 0.02, 0.1, 200
    g = torch.Generator().manual_seed(2)
    over_ltt = over_naive = 0
    layers_saved = []
    for _ in range(trials):
        rows = torch.randint(0, 40_000, (500,), generator=g)
        calibration = tuple(x[rows] for x in population)
        found = calibrate_threshold(*calibration, max_drop=max_drop, delta=delta)
        over_ltt += _drop(*population, found["threshold"]) > max_drop
        layers_saved.append(3 - found["mean_layers"])
        candidates = torch.linspace(0, 1, 101).tolist()
        naive = max(t for t in candidates if _drop(*calibration, t) <= max_drop)
        over_naive += _drop(*population, naive) > max_drop
    assert over_ltt / trials <= delta + 0.03  # Monte Carlo slack: 1.4 standard errors at delta = 0.1
    assert over_naive / trials > 2 * delta  # the test can fail: the point-estimate rule does
    assert sum(layers_saved) / trials > 0.05  # and it still exits early: not the trivial threshold


def test_max_drop_calibrates_on_held_out_training_examples(model, ctx):
    seen = []
    ctx.calibration_examples = lambda n: seen.append(n) or ctx.train_examples()[:n]
    wrapped, details = exit_model(model, ctx, None, max_drop=0.3, calibration_examples=16)
    assert seen == [16]
    assert details["threshold_source"] == "calibrated" and details["threshold"] == wrapped.threshold
    assert details["calibration"]["examples"] == 16 and details["calibration"]["accuracy_drop"] <= 0.3
    assert details["calibration"]["calibration"] == "heldout_train"  # no evaluation split given: held-out training


def test_a_calibration_set_too_small_for_delta_is_one_line(model, ctx):
    ctx.calibration_examples = lambda n: ctx.train_examples()[:n]
    with pytest.raises(UserError, match="16 examples; max_drop 0.02 with delta 0.1 needs at least 114"):
        exit_model(model, ctx, None, max_drop=0.02, calibration_examples=16)


def test_threshold_and_max_drop_are_exclusive(model, ctx):
    with pytest.raises(UserError, match="exactly one of threshold"):
        exit_model(model, ctx, 0.5, max_drop=0.01)


def test_on_glue_the_threshold_is_cross_fitted_and_its_promise_checked(fixture_data_dir, cache_dir):
    from joulebench.configuration import parse_config
    from joulebench.models.checkpoints import CheckpointCache
    from joulebench.runner import Runner, RunOptions, paired_baseline
    from joulebench.tasks import get_task

    (config,) = parse_config({"task": "sst2", "model": "tiny-random-bert", "max_seq_len": 32,
                              "train": {"batch_size": 16, "max_train_examples": 20},
                              "measure": {"batch_size": 16, "repeats": 2, "warmup_calls": 1},
                              "reductions": [{"name": "early_exit", "max_drop": 0.2, "exit_epochs": 0.5}]})
    models = []
    runner = Runner(RunOptions(data_dir=fixture_data_dir, cache=CheckpointCache(cache_dir)))
    record = runner.run(config, baseline=paired_baseline(config), on_model=lambda m: models.append(m.model))
    details = record["reductions"][0]["details"]
    calibration, promise = details["calibration"], details["promise"]
    dev = get_task("sst2").load("validation", fixture_data_dir)
    assert calibration["calibration"] == "crossfit" and sum(calibration["crossfit"]["halves"]) == len(dev)
    first = calibration["crossfit"]["chosen_on_first_half"]["value"]
    second = calibration["crossfit"]["chosen_on_second_half"]["value"]
    assert set(models[0].routing.by_input.values()) <= {first, second} and models[0].routing.default == min(first,
                                                                                                            second)
    assert promise["split"] == "validation" and promise["n"] == len(dev) and promise["broken"] in (True, False)
    dense = runner.run(paired_baseline(config))["quality"]["accuracy"]
    assert promise["realised_drop"] == pytest.approx(dense - record["quality"]["accuracy"], abs=1e-5)
    assert promise["energy_ratio"] is not None and promise["saved_nothing"] == (promise["energy_ratio"] >= 1)
