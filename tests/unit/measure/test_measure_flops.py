"""FLOP counting against the closed form of a linear layer."""

from __future__ import annotations

import logging

import pytest
import torch

from joulebench.measure.flops import flops_per_example, forward_flops


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
