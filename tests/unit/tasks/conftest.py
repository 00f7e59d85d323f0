"""Shared fixtures for the task tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture
def fixtures_dir() -> Path:
    """Read-only data root holding glue/SST-2, glue/MRPC and glue/QQP fixtures."""
    return FIXTURES


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A writable copy of the fixture data root, for tests that corrupt files."""
    root = tmp_path / "data"
    shutil.copytree(FIXTURES / "glue", root / "glue")
    return root


@pytest.fixture(autouse=True)
def _no_data_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep a developer's JOULEBENCH_DATA from leaking into tests."""
    monkeypatch.delenv("JOULEBENCH_DATA", raising=False)
