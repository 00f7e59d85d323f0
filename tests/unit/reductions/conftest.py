"""Fixtures for the reduction tests; helpers live in reduction_helpers.py.

The helpers module is loaded by file path and registered as ``reduction_helpers`` so the test
modules can import it under any pytest import mode without a package.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from transformers import BertForSequenceClassification

from joulebench.reductions import ReductionContext

if "reduction_helpers" not in sys.modules:
    _path = Path(__file__).with_name("reduction_helpers.py")
    _spec = importlib.util.spec_from_file_location("reduction_helpers", _path)
    _module = importlib.util.module_from_spec(_spec)
    sys.modules["reduction_helpers"] = _module
    _spec.loader.exec_module(_module)

from reduction_helpers import FakeTokenizer, fake_examples, tiny_bert  # noqa: E402


@pytest.fixture
def model() -> BertForSequenceClassification:
    return tiny_bert()


@pytest.fixture
def ctx() -> ReductionContext:
    examples = fake_examples()
    return ReductionContext(task=None, tokenizer=FakeTokenizer(), max_seq_len=32, device="cpu", seed=0,
                            train_examples=lambda: examples)
