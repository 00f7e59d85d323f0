"""Fixtures exposing the synthetic record factory (tests/unit/analysis/record_factory.py).

The factory is loaded by file path so it works under any pytest import mode and is shared by
the analysis and report tests without a package.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

_NAME = "joulebench_test_record_factory"


def _factory() -> ModuleType:
    """Import record_factory.py once per session."""
    if _NAME not in sys.modules:
        path = Path(__file__).resolve().parent / "analysis" / "record_factory.py"
        spec = importlib.util.spec_from_file_location(_NAME, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[_NAME] = module
    return sys.modules[_NAME]


@pytest.fixture(scope="session")
def factory() -> ModuleType:
    """The record_factory module, for fixtures of any scope."""
    return _factory()


@pytest.fixture
def record(factory):
    """``make_record(**overrides) -> dict``: one realistic synthetic record."""
    return factory.make_record


@pytest.fixture
def write_jsonl(factory):
    """``write_jsonl(path, records)``: write records one per line."""
    return factory.write_jsonl
