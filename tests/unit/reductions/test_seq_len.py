"""seq_len lowers the evaluation context and never raises it."""

from __future__ import annotations

import pytest

from joulebench.config.schema import ReductionSpec
from joulebench.configuration import parse_config
from joulebench.errors import UserError
from joulebench.reductions import apply_reductions


def test_lowers_the_context(model, ctx):
    ctx.max_seq_len = 128
    same, described = apply_reductions(model, (ReductionSpec("seq_len", (("max_seq_len", 32),)),), ctx)
    assert same is model
    assert ctx.max_seq_len == 32
    assert described[0]["details"] == {"max_seq_len": 32}


def test_is_a_minimum_so_a_sweep_is_one_list(model, ctx):
    ctx.max_seq_len = 64
    specs = tuple(ReductionSpec("seq_len", (("max_seq_len", n),)) for n in (128, 16, 32))
    _, described = apply_reductions(model, specs, ctx)
    assert [d["details"]["max_seq_len"] for d in described] == [64, 16, 16]
    assert ctx.max_seq_len == 16


def test_too_short_is_rejected_at_load_time():
    with pytest.raises(UserError, match="max_seq_len must be >= 2.*got 1"):
        parse_config({"task": "sst2", "reductions": [{"name": "seq_len", "max_seq_len": 1}]})


def test_a_fraction_keeps_that_share_of_the_runs_context(model, ctx):
    ctx.max_seq_len = 256
    _, described = apply_reductions(model, (ReductionSpec("seq_len", (("fraction", 0.5),)),), ctx)
    assert ctx.max_seq_len == 128 and described[0]["details"] == {"max_seq_len": 128}
    ctx.max_seq_len = 63
    apply_reductions(model, (ReductionSpec("seq_len", (("fraction", 0.5),)),), ctx)
    assert ctx.max_seq_len == 31  # rounded down


@pytest.mark.parametrize("params, message", [
    ({"fraction": 0.5, "max_seq_len": 32}, "either max_seq_len or fraction"),
    ({}, "either max_seq_len or fraction"),
    ({"fraction": 1.5}, r"fraction must be in \(0, 1\], got 1.5"),
])
def test_length_or_fraction_exactly_one(params, message):
    with pytest.raises(UserError, match=message):
        parse_config({"task": "sst2", "reductions": [{"name": "seq_len", **params}]})
