"""token_prune removes tokens: later layers see shorter sequences; [CLS] stays; padding never wins."""

from __future__ import annotations

import pytest
import torch
from reduction_helpers import LayerCalls, logits_of, make_batch, tiny_bert

from joulebench.config.schema import ReductionSpec
from joulebench.configuration import parse_config
from joulebench.errors import UserError
from joulebench.reductions import apply_reductions
from joulebench.reductions.encoder import EncoderState, LayerwiseEncoder, additive_mask
from joulebench.reductions.token_prune import attention_received, keep_counts, select_tokens


def prune(model, ctx, keep_ratio, after_layers):
    spec = ReductionSpec("token_prune", (("after_layers", after_layers), ("keep_ratio", keep_ratio)))
    return apply_reductions(model, (spec,), ctx)


def test_later_layers_compute_on_shorter_sequences(model, ctx):
    layers = list(model.bert.encoder.layer)
    pruned, _ = prune(model, ctx, 0.5, [1])
    calls = LayerCalls(layers)
    logits_of(pruned, make_batch([10, 10, 10]))
    assert [s[0][1] for s in calls.shapes] == [10, 5, 5, 5]


def test_progressive_schedule_shrinks_step_by_step(model, ctx):
    layers = list(model.bert.encoder.layer)
    pruned, described = prune(model, ctx, 0.25, [1, 2])
    calls = LayerCalls(layers)
    logits_of(pruned, make_batch([16]))
    assert [s[0][1] for s in calls.shapes] == [16, 8, 4, 4]
    assert described[0]["details"]["keep_ratio_per_step"] == 0.5
    assert pruned.realised_details()["tokens_kept_ratio"] == 0.25


def test_keep_ratio_one_is_the_full_model(model, ctx):
    batch = make_batch([9, 6, 3])
    reference = logits_of(tiny_bert(), batch)
    pruned, _ = prune(model, ctx, 1.0, [1, 2, 3])
    assert torch.allclose(logits_of(pruned, batch), reference, atol=1e-5)


def test_realised_ratio_counts_real_tokens_only(model, ctx):
    pruned, _ = prune(model, ctx, 0.5, [2])
    logits_of(pruned, make_batch([10, 4], width=12))
    details = pruned.realised_details()
    assert details["tokens_kept_ratio"] == pytest.approx((5 / 10 + 2 / 4) / 2)
    # layers 1-2 see all 14 real tokens, layers 3-4 the 7 kept: (14 + 14 + 7 + 7) / (4 * 14)
    assert details["token_layers_ratio"] == pytest.approx(42 / 56)
    pruned.reset_realised()
    assert pruned.realised_details()["tokens_kept_ratio"] is None


def test_cls_is_kept_even_when_it_gets_the_least_attention():
    hidden = torch.arange(6, dtype=torch.float32).view(1, 6, 1)
    mask = torch.ones(1, 6, dtype=torch.bool)
    scores = torch.tensor([[0.0, 5.0, 1.0, 4.0, 2.0, 3.0]])
    kept_hidden, kept_mask, positions = select_tokens(hidden, mask, scores, torch.tensor([3]))
    assert positions.tolist() == [[0, 1, 3]]  # [CLS] first, then the two best, in original order
    assert kept_hidden.flatten().tolist() == [0.0, 1.0, 3.0]
    assert kept_mask.all()


def test_padding_is_never_kept_over_real_tokens():
    hidden = torch.randn(2, 6, 4)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]], dtype=torch.bool)
    scores = torch.tensor([[1.0, 2, 3, 4, 5, 6], [1.0, 0.1, 0.2, 9, 9, 9]])  # padding scores high
    counts = keep_counts(mask, 0.5)
    assert counts.tolist() == [3, 2]
    _, kept_mask, positions = select_tokens(hidden, mask, scores, counts)
    assert positions[0].tolist() == [0, 4, 5]
    assert positions[1][kept_mask[1]].tolist() == [0, 2]  # real tokens only; the third slot is masked
    assert kept_mask.sum(dim=1).tolist() == [3, 2]


def test_attention_received_ignores_padding_queries():
    probs = torch.ones(1, 2, 3, 3) / 3  # uniform over 3 keys, 2 heads
    mask = torch.tensor([[True, True, False]])
    assert torch.allclose(attention_received(probs, mask), torch.full((1, 3), 4 / 3))  # 2 heads x 2 real queries x 1/3


def test_explicit_attention_matches_the_stock_layer(model):
    layer = model.bert.encoder.layer[0]
    batch = make_batch([7, 4])
    hidden = model.bert.embeddings(input_ids=batch["input_ids"], token_type_ids=batch["token_type_ids"])
    mask = additive_mask(batch["attention_mask"].bool(), hidden.dtype)
    real = batch["attention_mask"].bool()
    state = EncoderState(hidden, real, real.sum(1), torch.arange(7).expand(2, -1))
    with torch.inference_mode():
        ours, probs = LayerwiseEncoder(model).layer_with_attention(0, state)
        stock = layer(hidden, mask)
    assert torch.allclose(ours, stock, atol=1e-5)
    assert torch.allclose(probs.sum(-1), torch.ones(2, 4, 7))
    assert probs[1, :, :, 4:].abs().max() == 0  # no attention to padding


@pytest.mark.parametrize("bad", [0, 1.5, -0.2])
def test_keep_ratio_out_of_range_fails_at_load_time(bad):
    with pytest.raises(UserError, match=rf"token_prune.*keep_ratio must be in \(0, 1\], got {bad}"):
        parse_config({"task": "sst2", "reductions": [{"name": "token_prune", "keep_ratio": bad}]})


@pytest.mark.parametrize("bad", [[], [0, 1], [2, 1], "1"])
def test_bad_after_layers_fail_at_load_time(bad):
    with pytest.raises(UserError, match="after_layers"):
        parse_config({"task": "sst2", "reductions": [{"name": "token_prune", "keep_ratio": 0.5, "after_layers": bad}]})


def test_pruning_after_the_last_layer_is_an_error(model, ctx):
    with pytest.raises(UserError, match="after_layers has 4 but the model has 4 encoder layers"):
        prune(model, ctx, 0.5, [4])


# -- trained to its target ------------------------------------------------------------------------
def _runner_config(prune, **train):
    from joulebench.configuration import parse_config

    (config,) = parse_config({
        "task": "sst2", "model": "tiny-random-bert", "max_seq_len": 32, "train": {"batch_size": 16, **train},
        "measure": {"batch_size": 16, "repeats": 2, "warmup_calls": 1}, "reductions": [prune]})
    return config


def test_keep_ratio_or_max_drop_exactly_one():
    from joulebench.configuration import parse_config

    with pytest.raises(UserError, match="exactly one of keep_ratio"):
        parse_config({"task": "sst2", "reductions": [{"name": "token_prune", "keep_ratio": 0.5, "max_drop": 0.01}]})
    with pytest.raises(UserError, match="exactly one of keep_ratio"):
        parse_config({"task": "sst2", "reductions": [{"name": "token_prune"}]})


def test_retrain_trains_with_the_pruning_in_place_and_is_cached(fixture_data_dir, cache_dir):
    from joulebench.models.checkpoints import CheckpointCache
    from joulebench.runner import Runner, RunOptions

    runner = Runner(RunOptions(data_dir=fixture_data_dir, cache=CheckpointCache(cache_dir)))
    spec = {"name": "token_prune", "keep_ratio": 0.5, "after_layers": [1], "retrain": True}
    untrained = runner.run(_runner_config({**spec, "retrain": False}))
    first = runner.run(_runner_config(spec))
    training = first["train"]["retraining"]
    assert [t["what"] for t in training] == ["token_prune retrain"] and training[0]["steps"] > 0
    assert first["reductions"][0]["details"]["retrained"] is True
    assert untrained["train"]["retraining"] == []
    second = runner.run(_runner_config(spec))
    assert second["train"]["retraining"][0]["reused"] is True
    assert second["quality"]["predictions"] == first["quality"]["predictions"]


def test_max_drop_searches_ratios_on_held_out_training_data(fixture_data_dir, cache_dir):
    from joulebench.models.checkpoints import CheckpointCache
    from joulebench.runner import Runner, RunOptions

    runner = Runner(RunOptions(data_dir=fixture_data_dir, cache=CheckpointCache(cache_dir)))
    # a budget of 0.99 is certified for every ratio: the walk goes from the conservative 0.6 to the aggressive 0.3
    loose = runner.run(_runner_config({"name": "token_prune", "max_drop": 0.99, "after_layers": [1],
                                       "search_ratios": [0.6, 0.3], "calibration_examples": 8,
                                       "calibration": "heldout_train"}, max_train_examples=20))
    details = loose["reductions"][0]["details"]
    assert details["keep_ratio"] == 0.3 and details["keep_ratio_source"] == "searched"
    search = details["search"]
    assert [t["keep_ratio"] for t in search["tried"]] == [0.6, 0.3] and search["within_budget"] is True
    assert search["examples"] == 8 and "held-out" in search["split"] and search["delta"] == 0.1
    assert all(t["p_value"] <= 0.1 for t in search["tried"]) and 0 <= search["harm_bound"] <= 1
    assert search["calibration"] == "heldout_train" and search["exchangeability"]["rule"]
    # a zero budget can never be certified: refused in one line
    with pytest.raises(UserError, match="max_drop 0 can never be certified"):
        runner.run(_runner_config({"name": "token_prune", "max_drop": 0.0, "after_layers": [1],
                                   "search_ratios": [0.6, 0.3], "calibration_examples": 8}, max_train_examples=20))


def test_on_glue_max_drop_is_cross_fitted_on_dev_halves(fixture_data_dir, cache_dir):
    from joulebench.models.checkpoints import CheckpointCache
    from joulebench.runner import Runner, RunOptions
    from joulebench.tasks import get_task

    runner = Runner(RunOptions(data_dir=fixture_data_dir, cache=CheckpointCache(cache_dir)))
    models = []
    record = runner.run(_runner_config({"name": "token_prune", "max_drop": 0.2, "after_layers": [1],
                                        "search_ratios": [0.6, 0.3]}, max_train_examples=20),
                        on_model=lambda measured: models.append(measured.model))
    search = record["reductions"][0]["details"]["search"]
    dev = get_task("sst2").load("validation", fixture_data_dir)
    assert search["calibration"] == "crossfit" and search["reported_split"] == "validation"
    assert sum(search["crossfit"]["halves"]) == search["examples"] == len(dev)
    assert search["crossfit"]["delta_per_half"] == 0.05
    first, second = search["crossfit"]["chosen_on_first_half"], search["crossfit"]["chosen_on_second_half"]
    routing = models[0].routing
    assert sorted(set(routing.by_input.values())) == sorted({first["value"], second["value"]})
    assert 0 < len(routing.by_input) <= len(dev)  # one entry per distinct input: identical inputs share a half
