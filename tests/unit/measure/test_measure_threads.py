"""pin_threads sets and reports torch's thread count."""

from __future__ import annotations

import os

import pytest
import torch

from joulebench.errors import UserError
from joulebench.measure.threads import pin_threads


@pytest.fixture(autouse=True)
def _restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_explicit_count() -> None:
    assert pin_threads(1) == 1 == torch.get_num_threads()


def test_default_is_usable_cores() -> None:
    assert pin_threads(None) == len(os.sched_getaffinity(0))


def test_zero_is_user_error() -> None:
    with pytest.raises(UserError):
        pin_threads(0)
