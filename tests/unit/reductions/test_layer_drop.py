"""layer_drop removes layers physically: fewer modules, fewer forward calls, same bottom layers."""

from __future__ import annotations

import pytest
import torch
from reduction_helpers import LAYERS, LayerCalls, logits_of, make_batch, tiny_bert

from joulebench.config.schema import ReductionSpec
from joulebench.configuration import parse_config
from joulebench.errors import UserError
from joulebench.reductions import apply_reductions


def drop(model, ctx, **params):
    return apply_reductions(model, (ReductionSpec("layer_drop", tuple(sorted(params.items()))),), ctx)


def test_keeps_bottom_layers_and_runs_only_them(model, ctx):
    bottom = list(model.bert.encoder.layer)[:2]
    reduced, described = drop(model, ctx, keep_layers=2)
    layers = reduced.bert.encoder.layer
    assert list(layers) == bottom  # the same module objects: the bottom ones, not copies
    assert reduced.config.num_hidden_layers == 2
    calls = LayerCalls(layers)
    logits_of(reduced, make_batch([6, 4]))
    assert calls.calls() == [1, 1]
    assert described[0]["details"] == {"layers_kept": 2, "layers_total": LAYERS, "retrained": False}


def test_keeping_all_layers_changes_nothing(model, ctx):
    batch = make_batch([9, 5, 3])
    reference = logits_of(tiny_bert(), batch)
    reduced, _ = drop(model, ctx, keep_layers=LAYERS)
    assert torch.equal(logits_of(reduced, batch), reference)


def test_more_layers_than_the_model_has_is_an_error_naming_both(model, ctx):
    with pytest.raises(UserError, match=r"keep_layers=7.*only 4 encoder layers"):
        drop(model, ctx, keep_layers=7)


@pytest.mark.parametrize("bad", [0, -1])
def test_keep_below_one_fails_at_load_time(bad):
    with pytest.raises(UserError, match=rf"layer_drop.*keep_layers must be >= 1, got {bad}"):
        parse_config({"task": "sst2", "reductions": [{"name": "layer_drop", "keep_layers": bad}]})


def test_missing_keep_layers_is_a_clear_error():
    with pytest.raises(UserError, match="missing required parameter 'keep_layers'"):
        parse_config({"task": "sst2", "reductions": ["layer_drop"]})


def test_retrain_fine_tunes_the_shortened_model(model, ctx):
    seen = []
    ctx.fine_tune = lambda m, epochs=None, what="": seen.append((len(m.bert.encoder.layer), epochs))
    _, described = drop(model, ctx, keep_layers=3, retrain=True, retrain_epochs=0.5)
    assert seen == [(3, 0.5)]
    assert described[0]["details"]["retrained"] is True
