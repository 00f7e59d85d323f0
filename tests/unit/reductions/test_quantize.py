"""quantize/int8: Linear layers become dynamic-quant modules holding int8 packed weights."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from reduction_helpers import LAYERS, logits_of, make_batch, tiny_bert
from torch import nn
from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

from joulebench.config.schema import ReductionSpec
from joulebench.configuration import parse_config
from joulebench.errors import UserError
from joulebench.reductions import apply_reductions
from joulebench.reductions.quantize import cpu_bf16_native

LINEARS = LAYERS * 6 + 2  # q, k, v, attention output, intermediate, output per layer; pooler; classifier


def quantize(model, ctx, name="int8", **params):
    return apply_reductions(model, (ReductionSpec(name, tuple(sorted(params.items()))),), ctx)


def test_int8_by_default_is_torchao_on_every_linear(model, ctx):
    batch = make_batch([9, 5])
    reference = logits_of(tiny_bert(), batch)
    quantized, described = quantize(model, ctx)
    linears = [m for m in quantized.modules() if isinstance(m, nn.Linear)]
    assert len(linears) == LINEARS
    assert all(type(m.weight) not in (nn.Parameter, torch.Tensor) for m in linears)  # torchao's int8 tensors
    details = described[0]["details"]
    assert {k: details[k] for k in ("dtype", "weight_bits", "backend", "linear_layers_quantized")} == {
        "dtype": "int8", "weight_bits": 8, "backend": "torchao", "linear_layers_quantized": LINEARS}
    assert details["backend_choice"]["picked"] == "torchao"
    assert "deprecated" in details["backend_choice"]["reason"]  # why not torch.ao
    assert torch.allclose(logits_of(quantized, batch), reference, atol=0.05)  # close, not equal


def test_named_torch_ao_replaces_every_linear_with_packed_int8_weights(model, ctx):
    batch = make_batch([9, 5])
    reference = logits_of(tiny_bert(), batch)
    quantized, described = quantize(model, ctx, backend="torch_ao")
    dynamic = [m for m in quantized.modules() if isinstance(m, DynamicLinear)]
    assert len(dynamic) == LINEARS
    assert not any(type(m) is nn.Linear for m in quantized.modules())
    assert all(m.weight().dtype == torch.qint8 for m in dynamic)
    details = described[0]["details"]
    assert {k: details[k] for k in ("dtype", "weight_bits", "backend", "linear_layers_quantized")} == {
        "dtype": "int8", "weight_bits": 8, "backend": "torch_ao", "linear_layers_quantized": LINEARS}
    assert details["backend_choice"]["picked"] == "torch_ao"
    assert torch.allclose(logits_of(quantized, batch), reference, atol=0.05)  # close, not equal


def test_quantize_int8_is_the_same_as_the_alias(model, ctx):
    _, described = quantize(model, ctx, "quantize", dtype="int8", backend="torch_ao")
    assert described[0]["details"]["linear_layers_quantized"] == LINEARS


def test_fp16_on_cpu_is_refused_at_load_time():
    with pytest.raises(UserError, match="dtype=fp16 on cpu"):
        parse_config({"task": "sst2", "measure": {"device": "cpu"},
                      "reductions": [{"name": "quantize", "dtype": "fp16"}]})


def test_fp16_on_cpu_is_refused_at_apply_time_too(model, ctx):
    with pytest.raises(UserError, match="fp16.*cpu"):
        quantize(model, ctx, "quantize", dtype="fp16")


@pytest.mark.skipif(cpu_bf16_native(), reason="this CPU runs bf16 natively")
def test_bf16_on_a_cpu_without_bf16_instructions_is_refused(model, ctx):
    with pytest.raises(UserError, match="bf16 needs native bf16"):
        quantize(model, ctx, "quantize", dtype="bf16")


@pytest.mark.parametrize("params, message", [
    ({"dtype": "int4"}, "dtype must be one of int8, fp16, bf16, auto16, got 'int4'"),
    ({"dtype": "int8", "backend": "tensorrt"}, "backend must be one of"),
    ({"dtype": "fp16", "backend": "torchao"}, "backend applies to int8 only"),
])
def test_bad_params_fail_at_load_time(params, message):
    with pytest.raises(UserError, match=message):
        parse_config({"task": "sst2", "reductions": [{"name": "quantize", **params}]})


@pytest.mark.skipif(importlib.util.find_spec("torchao") is not None, reason="torchao is installed")
def test_missing_optional_backend_is_a_clear_error(model, ctx):
    with pytest.raises(UserError, match="torchao.*not installed.*pip install torchao"):
        quantize(model, ctx, backend="torchao")


@pytest.mark.skipif(importlib.util.find_spec("torchao") is None, reason="torchao is not installed")
def test_torchao_backend_quantizes_every_linear(model, ctx):
    quantized, described = quantize(model, ctx, backend="torchao")
    assert described[0]["details"]["linear_layers_quantized"] == LINEARS
    assert torch.isfinite(logits_of(quantized, make_batch([5]))).all()


def _fixed_probe(monkeypatch, **median_ms):
    from joulebench.reductions import backend_probe

    probe = backend_probe.ProbeResult(fingerprint={}, key="k", measured_utc="t", median_ms={"fp32": 10.0, **median_ms},
                                      unavailable={})
    monkeypatch.setattr(backend_probe, "probe_backends", lambda *a, **k: probe)
    return probe


def test_auto16_picks_the_faster_16_bit_dtype_or_refuses_when_none_beats_fp32(monkeypatch, model, ctx):
    from joulebench.reductions.quantize import resolve_half

    _fixed_probe(monkeypatch, bf16=5.0, fp16=40.0)
    if cpu_bf16_native():
        assert resolve_half("cpu").picked == "bf16"
    _fixed_probe(monkeypatch, bf16=12.0, fp16=40.0)
    with pytest.raises(UserError, match="no 16-bit dtype was faster than fp32.*bf16 1.20x"):
        resolve_half("cpu")


@pytest.mark.skipif(not cpu_bf16_native(), reason="this CPU has no native bf16")
def test_auto16_casts_the_model_and_says_what_it_asked(monkeypatch, model, ctx):
    _fixed_probe(monkeypatch, bf16=5.0, fp16=40.0)
    quantized, described = quantize(model, ctx, "quantize", dtype="auto16")
    details = described[0]["details"]
    assert (details["dtype"], details["dtype_asked"]) == ("bf16", "auto16")
    assert next(quantized.parameters()).dtype == torch.bfloat16
