"""Loading from the Hugging Face Hub (data_dir=None), with ``datasets`` faked or offline."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from joulebench.errors import UserError
from joulebench.tasks import Example, get_task


class FakeDataset:
    """The slice of ``datasets.Dataset`` the loader uses."""

    def __init__(self, columns: dict[str, list[Any]]) -> None:
        self._columns = columns
        self.column_names = list(columns)

    def __getitem__(self, name: str) -> list[Any]:
        return self._columns[name]


def _fake_datasets(
    monkeypatch: pytest.MonkeyPatch,
    columns: dict[str, list[Any]] | None,
    error: Exception | None = None,
) -> list[tuple[tuple[str, ...], str]]:
    calls: list[tuple[tuple[str, ...], str]] = []

    def load_dataset(*args: str, split: str) -> FakeDataset:
        calls.append((args, split))
        if error is not None:
            raise error
        assert columns is not None
        return FakeDataset(columns)

    module = types.ModuleType("datasets")
    module.load_dataset = load_dataset  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "datasets", module)
    return calls


def test_sst2_from_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_datasets(
        monkeypatch, {"sentence": ["good .", "bad ."], "label": [1, 0], "idx": [0, 1]}
    )
    examples = get_task("sst2").load("validation", None)
    assert calls == [(("glue", "sst2"), "validation")]
    assert examples == [Example("good .", None, 1), Example("bad .", None, 0)]


def test_mrpc_hub_splits_match_the_local_files(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_datasets(
        monkeypatch, {"sentence1": ["a", "b"], "sentence2": ["c", "d"], "label": [0, 1]}
    )
    task = get_task("mrpc")
    train = task.load("train", None)
    task.load("validation", None)
    # Local train.tsv = GLUE train + validation; local test.tsv = GLUE test.
    assert calls == [(("glue", "mrpc"), "train+validation"), (("glue", "mrpc"), "test")]
    assert train[1] == Example("b", "d", 1)


def test_qqp_hub_with_subset(monkeypatch: pytest.MonkeyPatch) -> None:
    n = 30
    _fake_datasets(
        monkeypatch,
        {
            "question1": [f"q{i}?" for i in range(n)],
            "question2": [f"p{i}?" for i in range(n)],
            "label": [i % 2 for i in range(n)],
        },
    )
    task = get_task("qqp")
    subset = task.load("train", None, max_examples=5, seed=2)
    assert len(subset) == 5
    assert subset == task.load("train", None, max_examples=5, seed=2)


def test_unlabelled_hub_split_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_datasets(monkeypatch, {"sentence1": ["a"], "sentence2": ["b"], "label": [-1]})
    with pytest.raises(UserError, match="unlabelled split") as info:
        get_task("mrpc").load("validation", None)
    assert "glue/mrpc split 'test'" in str(info.value)


def test_missing_hub_column_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_datasets(monkeypatch, {"text": ["a"], "label": [1]})
    with pytest.raises(UserError, match="no column\\(s\\) 'sentence'") as info:
        get_task("sst2").load("train", None)
    assert "found columns: 'text', 'label'" in str(info.value)


def test_unreachable_hub_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_datasets(monkeypatch, None, ConnectionError("Couldn't reach 'glue' on the Hub"))
    with pytest.raises(UserError) as info:
        get_task("qqp").load("validation", None)
    message = str(info.value)
    assert "glue/qqp split 'validation'" in message
    assert "unreachable" in message
    assert "--data-dir" in message and "JOULEBENCH_DATA" in message
    assert "ConnectionError" in message


def test_missing_datasets_package_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` fail
    with pytest.raises(UserError, match="'datasets' package is not installed"):
        get_task("sst2").load("train", None)


@pytest.mark.skipif(importlib.util.find_spec("datasets") is None, reason="datasets not installed")
def test_real_datasets_offline_gives_user_error(tmp_path: Path) -> None:
    # The real load_dataset, forced offline with an empty cache, so it fails at once
    # instead of retrying the network for ~25 s.
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[3] / "src"),
    }
    env.pop("JOULEBENCH_DATA", None)
    code = (
        "from joulebench.errors import UserError\n"
        "from joulebench.tasks import get_task\n"
        "try:\n"
        "    get_task('sst2').load('validation', None)\n"
        "except UserError as e:\n"
        "    print(e)\n"
        "    raise SystemExit(3)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 3, done.stderr[-2000:]
    assert "cannot load glue/sst2 split 'validation' from the Hugging Face Hub" in done.stdout
    assert "JOULEBENCH_DATA" in done.stdout
