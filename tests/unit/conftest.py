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


@pytest.fixture(autouse=True)
def fixed_backend_probe(request, monkeypatch):
    """Unit tests choose ``auto`` backends from a fixed probe (torch_ao fastest, bf16 0.5x), so that
    what they assert does not depend on which backend this machine happens to run fastest.
    Tests marked ``real_probe`` measure the real one (the probe's own tests)."""
    if request.node.get_closest_marker("real_probe") is not None:
        return
    from joulebench.reductions import backend_probe

    fixed = backend_probe.ProbeResult(
        fingerprint={"fixed": "unit tests"}, key="unit-test-probe", measured_utc="fixed",
        median_ms={"fp32": 10.0, "torch_ao": 4.0, "onnxruntime": 5.0, "bf16": 5.0, "fp16": 40.0},
        unavailable={"torchao": "fixed probe of the unit tests"})
    monkeypatch.setattr(backend_probe, "probe_backends", lambda *a, **k: fixed)


@pytest.fixture(autouse=True)
def few_training_steps(request, monkeypatch):
    """Unit tests train tiny random models, which learn nothing more in the product's 100 minimum steps than in
    the few their data gives: they train with ``min_steps: 0`` unless a configuration sets it (which halves the
    suite's time). Tests of the default itself are marked ``product_min_steps``; CLI tests in a subprocess and
    the end-to-end tests keep the product default."""
    if request.node.get_closest_marker("product_min_steps") is not None:
        return
    import dataclasses

    from joulebench.config.schema import TrainConfig

    names = [f.name for f in dataclasses.fields(TrainConfig)]
    defaults = list(TrainConfig.__init__.__defaults__)
    defaults[len(defaults) - len(names) + names.index("min_steps")] = 0
    monkeypatch.setattr(TrainConfig.__init__, "__defaults__", tuple(defaults))
