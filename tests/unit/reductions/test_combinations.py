"""Reductions compose in order; impossible orders fail when the config is loaded."""

from __future__ import annotations

import pytest
import torch
from reduction_helpers import LayerCalls, logits_of, make_batch

from joulebench.config.schema import ReductionSpec
from joulebench.configuration import parse_config
from joulebench.errors import UserError
from joulebench.reductions import apply_reductions, attach_realised


def specs(*items):
    return tuple(ReductionSpec(name, tuple(sorted(params.items()))) for name, params in items)


def test_layer_drop_int8_seq_len(model, ctx):
    ctx.max_seq_len = 128
    reduced, described = apply_reductions(
        model, specs(("layer_drop", {"keep_layers": 2}), ("int8", {}), ("seq_len", {"max_seq_len": 8})), ctx
    )
    assert len(reduced.bert.encoder.layer) == 2
    assert described[1]["details"]["linear_layers_quantized"] == 2 * 6 + 2
    assert ctx.max_seq_len == 8
    assert logits_of(reduced, make_batch([8, 5])).shape == (2, 2)


def test_token_prune_then_early_exit_then_int8(model, ctx):
    layers = list(model.bert.encoder.layer)
    reduced, described = apply_reductions(
        model, specs(("token_prune", {"keep_ratio": 0.5, "after_layers": [1]}), ("early_exit", {"threshold": 0.0}),
                     ("int8", {})), ctx,
    )
    assert all(type(head.classifier.weight) not in (torch.nn.Parameter, torch.Tensor)  # exits are int8 too
               for head in reduced.exits)
    calls = LayerCalls(layers)
    logits_of(reduced, make_batch([10, 10]))
    assert [s[0][1] for s in calls.shapes] == [10, 5, 5, 5]
    attach_realised(reduced, described)
    assert described[0]["details"]["tokens_kept_ratio"] == 0.5
    assert described[1]["details"]["mean_layers_computed"] == 4.0
    assert "mean_layers_computed" not in described[2]["details"]  # not misfiled under int8


def test_early_exit_after_int8_trains_on_the_quantized_backbone(model, ctx):
    reduced, described = apply_reductions(model, specs(("int8", {}), ("early_exit", {"threshold": 1e9})), ctx)
    assert type(model.bert.encoder.layer[0].intermediate.dense.weight) not in (torch.nn.Parameter, torch.Tensor)
    assert torch.isfinite(logits_of(reduced, make_batch([6]))).all()
    attach_realised(reduced, described)
    assert described[1]["details"]["mean_layers_computed"] == 1.0


@pytest.mark.parametrize("reductions, message", [
    (["int8", {"name": "quantize", "dtype": "int8"}], "already quantized"),
    ([{"name": "early_exit", "threshold": 0.1}, {"name": "layer_drop", "keep_layers": 2}],
     "layer_drop must come before early_exit"),
    ([{"name": "token_prune", "keep_ratio": 0.5}, {"name": "layer_drop", "keep_layers": 2}],
     "layer_drop must come before token_prune"),
    ([{"name": "early_exit", "threshold": 0.1}, {"name": "token_prune", "keep_ratio": 0.5}],
     "token_prune must come before early_exit"),
    ([{"name": "early_exit", "threshold": 0.1}, {"name": "early_exit", "threshold": 0.2}], "listed twice"),
])
def test_impossible_orders_fail_at_load_time(reductions, message):
    with pytest.raises(UserError, match=message) as info:
        parse_config({"task": "sst2", "reductions": reductions})
    assert "reductions[1]" in str(info.value)  # names the offending entry


def test_a_returned_module_without_a_family_reports_to_the_last_entry(model):
    class Plain(torch.nn.Module):
        def realised_details(self) -> dict:
            return {"seen": 1}

    described = [{"name": "seq_len", "details": {}}, {"name": "int8", "details": {}}]
    attach_realised(Plain(), described)
    assert described == [{"name": "seq_len", "details": {}}, {"name": "int8", "details": {"seen": 1}}]
