"""max_examples + seed give a reproducible random subset in file order."""

from __future__ import annotations

from pathlib import Path

import pytest

from joulebench.errors import UserError
from joulebench.tasks import Example, get_task
from joulebench.tasks.subset import deterministic_subset

EXAMPLES = [Example(f"sentence {i}", None, i % 2) for i in range(200)]


def test_same_seed_same_subset() -> None:
    first = deterministic_subset(EXAMPLES, 30, seed=7)
    again = deterministic_subset(list(EXAMPLES), 30, seed=7)
    assert first == again
    assert len(first) == 30


def test_different_seed_different_subset() -> None:
    assert deterministic_subset(EXAMPLES, 30, seed=0) != deterministic_subset(EXAMPLES, 30, seed=1)


def test_subset_keeps_file_order_and_is_random() -> None:
    subset = deterministic_subset(EXAMPLES, 50, seed=3)
    positions = [EXAMPLES.index(e) for e in subset]
    assert positions == sorted(positions)
    assert positions != list(range(50))  # not simply the first rows


def test_smaller_caps_nest_inside_larger_ones() -> None:
    small = set(deterministic_subset(EXAMPLES, 20, seed=5))
    large = set(deterministic_subset(EXAMPLES, 80, seed=5))
    assert small < large


def test_no_cap_or_large_cap_keeps_everything() -> None:
    assert deterministic_subset(EXAMPLES, None, seed=0) == EXAMPLES
    assert deterministic_subset(EXAMPLES, 10_000, seed=0) == EXAMPLES
    assert deterministic_subset(EXAMPLES, None, seed=0) is not EXAMPLES


def test_subset_does_not_depend_on_row_order(data_copy: Path) -> None:
    # The same seed must pick the same examples from a copy that lists rows differently
    # (as the Hub copy of SST-2 train does relative to the local file).
    path = data_copy / "glue/SST-2/train.tsv"
    header, *rows = path.read_text(encoding="utf-8").splitlines(keepends=True)
    task = get_task("sst2")
    original = task.load("train", data_copy, max_examples=12, seed=4)
    path.write_text(header + "".join(reversed(rows)), encoding="utf-8")
    reordered = task.load("train", data_copy, max_examples=12, seed=4)
    assert len(original) == 12
    assert sorted(original, key=repr) == sorted(reordered, key=repr)


def test_load_applies_the_cap(fixtures_dir: Path) -> None:
    task = get_task("qqp")
    capped = task.load("train", fixtures_dir, max_examples=10, seed=0)
    full = task.load("train", fixtures_dir)
    assert len(capped) == 10
    assert all(e in full for e in capped)
    assert capped == task.load("train", fixtures_dir, max_examples=10, seed=0)


@pytest.mark.parametrize("bad", [0, -3, True, 2.5, "10"])
def test_bad_cap_is_a_user_error(bad: object) -> None:
    with pytest.raises(UserError, match="max_examples must be a positive integer") as info:
        deterministic_subset(EXAMPLES, bad, seed=0)  # type: ignore[arg-type]
    assert repr(bad) in str(info.value)


def test_bad_seed_is_a_user_error() -> None:
    with pytest.raises(UserError, match="seed must be an integer"):
        deterministic_subset(EXAMPLES, 5, seed="x")  # type: ignore[arg-type]
