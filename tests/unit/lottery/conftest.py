"""Fixtures for the lottery tests; helpers live in lottery_helpers.py.

The helpers module is loaded by file path and registered as ``lottery_helpers`` so test modules
can import it under any pytest import mode without a package.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from joulebench.config.schema import TrainConfig

if "lottery_helpers" not in sys.modules:
    _path = Path(__file__).with_name("lottery_helpers.py")
    _spec = importlib.util.spec_from_file_location("lottery_helpers", _path)
    _module = importlib.util.module_from_spec(_spec)
    sys.modules["lottery_helpers"] = _module
    _spec.loader.exec_module(_module)

from lottery_helpers import tiny  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: tiny models gain nothing from more, and a busy shared CPU punishes them."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def model() -> torch.nn.Module:
    return tiny()


@pytest.fixture
def model3() -> torch.nn.Module:
    return tiny(layers=3)


@pytest.fixture
def train_cfg() -> TrainConfig:
    # A large learning rate so a few steps move every weight visibly.
    return TrainConfig(epochs=1, lr=5e-2, batch_size=8, warmup_ratio=0.0, weight_decay=0.1, seed=0)
