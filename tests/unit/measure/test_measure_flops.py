"""FLOP counting against the closed form of a linear layer."""

from __future__ import annotations

import logging

import pytest
import torch

from joulebench.measure.flops import counted_forward, flops_per_example, forward_flops


def test_linear_flops_closed_form() -> None:
    model = torch.nn.Linear(64, 32)
    batch = {"input": torch.randn(8, 64)}
    assert forward_flops(model, batch) == 2 * 8 * 64 * 32
    assert flops_per_example(model, batch) == 2 * 64 * 32


def test_failure_returns_none_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    model = torch.nn.Linear(64, 32)
    with caplog.at_level(logging.WARNING, logger="joulebench.measure"):
        assert forward_flops(model, {"input": torch.randn(8, 3)}) is None
    assert "FLOP counting failed" in caplog.text
    assert flops_per_example(model, {"input": torch.randn(8, 3)}) is None


def test_dynamic_int8_linear_counts_the_same_multiply_adds() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(64, 32)).eval()
    quantized = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    batch = {"input": torch.randn(8, 64)}
    assert forward_flops(quantized, batch) == forward_flops(model, batch) == 2 * 8 * 64 * 32


def test_attention_is_counted() -> None:
    class Attention(torch.nn.Module):
        def forward(self, q: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.scaled_dot_product_attention(q, q, q)

    q = torch.randn(2, 4, 10, 16)  # batch, heads, tokens, head dim
    assert forward_flops(Attention(), {"q": q}) == 2 * (2 * 2 * 4 * 10 * 10 * 16)  # QK^T and AV


def test_nothing_countable_is_none_not_zero(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="joulebench.measure"):
        assert forward_flops(torch.nn.ReLU(), {"input": torch.randn(8, 3)}) is None
    assert "no countable op" in caplog.text


def test_counted_forward_returns_the_real_output_with_its_flops():
    torch.manual_seed(0)
    model = torch.nn.Linear(32, 64).eval()
    x = torch.randn(8, 32)
    output, flops = counted_forward(model, {"input": x})
    assert torch.equal(output, model(x)) and flops == 2 * 8 * 64 * 32


def test_counted_forward_without_countable_ops_still_returns_the_output():
    model = torch.nn.ReLU()
    x = torch.randn(4, 3)
    output, flops = counted_forward(model, {"input": x})
    assert torch.equal(output, torch.relu(x)) and flops is None
