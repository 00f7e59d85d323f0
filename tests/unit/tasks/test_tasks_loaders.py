"""Each task loads its fixture files (and the real shared data when present) correctly."""

from __future__ import annotations

from pathlib import Path

import pytest

from joulebench.tasks import TASKS, Example, Task, get_task
from joulebench.tasks.mrpc import Mrpc
from joulebench.tasks.qqp import Qqp
from joulebench.tasks.sst2 import Sst2


def test_registry_holds_the_four_tasks() -> None:
    assert TASKS.names() == ["mrpc", "qqp", "squad", "sst2"]
    assert isinstance(get_task("sst2"), Sst2)
    assert isinstance(get_task("mrpc"), Mrpc)
    assert isinstance(get_task("qqp"), Qqp)
    assert "sentiment" in TASKS.describe("sst2")


@pytest.mark.parametrize("name", ["sst2", "mrpc", "qqp"])
def test_tasks_satisfy_the_protocol(name: str) -> None:
    task = get_task(name)
    assert isinstance(task, Task)
    assert task.name == name
    assert task.num_labels == 2
    assert task.primary_metric == "accuracy"
    assert task.primary_metric in task.metric_names
    assert task.hub_id == ("glue", name)


def test_pair_tasks_report_f1_and_sst2_does_not() -> None:
    assert get_task("sst2").metric_names == ("accuracy",)
    assert get_task("mrpc").metric_names == ("accuracy", "f1")
    assert get_task("qqp").metric_names == ("accuracy", "f1")


def test_unknown_task_suggests_a_close_name() -> None:
    from joulebench.errors import UserError

    with pytest.raises(UserError, match="did you mean 'sst2'"):
        get_task("sst-2")


def test_sst2_fixture(fixtures_dir: Path) -> None:
    task = get_task("sst2")
    train = task.load("train", fixtures_dir)
    dev = task.load("validation", fixtures_dir)
    assert len(train) == 50
    assert len(dev) == 40
    # Text is kept exactly as in the file (GLUE's trailing space included), like the Hub copy.
    assert dev[0] == Example("it 's a charming and often affecting journey . ", None, 1)
    assert train[0] == Example("when are bears bears and ", None, 1)
    assert sum(e.label for e in dev) == 18


def test_mrpc_fixture_uses_test_file_for_validation(fixtures_dir: Path) -> None:
    task = get_task("mrpc")
    validation = task.load("validation", fixtures_dir)
    assert len(validation) == 40
    first = validation[0]
    assert first.text_a.startswith("PCCW's chief operating officer, Mike Butcher")
    assert first.text_b == (
        "Current Chief Operating Officer Mike Butcher and Group Chief Financial Officer "
        "Alex Arena will report to So."
    )
    assert first.label == 1
    # CRLF line ends must not leak into the last column.
    assert not any(e.text_b.endswith("\r") for e in validation if e.text_b)


def test_mrpc_bom_is_stripped_and_label_column_found(fixtures_dir: Path) -> None:
    raw = (fixtures_dir / "glue/MRPC/train.tsv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the fixture really has the BOM
    examples = get_task("mrpc").load("train", fixtures_dir)
    assert examples[0].label == 1
    assert examples[0].text_a.startswith("Amrozi accused his brother")
    assert not examples[0].text_a.startswith("\ufeff")


def test_mrpc_bare_quotes_are_kept_literally(fixtures_dir: Path) -> None:
    # Line 11 opens a quote it never closes; a quoting csv reader would swallow later rows.
    examples = get_task("mrpc").load("train", fixtures_dir)
    tenth = examples[9]
    assert tenth.text_b == (
        '"The foodservice pie business does not fit our long-term growth strategy.'
    )
    assert tenth.text_a.startswith("He said the foodservice pie business")


def test_mrpc_drops_the_toy_rows_with_id_minus_one(fixtures_dir: Path) -> None:
    examples = get_task("mrpc").load("train", fixtures_dir)
    assert len(examples) == 46  # 50 rows in the file, 4 of them toy pairs
    assert all("green apples" not in e.text_a for e in examples)
    assert examples[-1].text_a.startswith("The group will be headed by State Department")


def test_qqp_fixture(fixtures_dir: Path) -> None:
    task = get_task("qqp")
    train = task.load("train", fixtures_dir)
    dev = task.load("validation", fixtures_dir)
    assert len(train) == 40
    assert len(dev) == 40
    assert train[0] == Example(
        "How do I learn Python quickly?", "What is the fastest way to learn Python?", 1
    )
    assert dev[1].label == 0
    assert sum(e.label for e in train) == 21


def test_load_accepts_a_string_data_dir(fixtures_dir: Path) -> None:
    examples = get_task("sst2").load("validation", str(fixtures_dir))  # type: ignore[arg-type]
    assert len(examples) == 40


# --- the real shared data, when this machine has it -------------------------------------

_REPO = Path(__file__).resolve().parents[3]
_SHARED = next(
    (p for p in (_REPO / "shared/data", _REPO.parent / "shared/data") if (p / "glue").is_dir()),
    None,
)
needs_shared = pytest.mark.skipif(_SHARED is None, reason="shared data folder not present")


@needs_shared
@pytest.mark.parametrize(
    ("name", "split", "count"),
    [
        ("sst2", "validation", 872),
        ("sst2", "train", 67_349),
        ("mrpc", "train", 4_076),
        ("mrpc", "validation", 1_725),
    ],
)
def test_shared_data_counts(name: str, split: str, count: int) -> None:
    examples = get_task(name).load(split, _SHARED)
    assert len(examples) == count
    assert {e.label for e in examples} == {0, 1}
    if name == "mrpc":
        assert all(e.text_b for e in examples)


@needs_shared
def test_shared_mrpc_first_rows() -> None:
    train = get_task("mrpc").load("train", _SHARED)
    assert train[0].text_a.startswith("Amrozi accused his brother")
    assert train[0].label == 1
    assert all("green apples" not in e.text_a for e in train)
