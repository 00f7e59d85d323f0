"""Student-t table and per-metric summaries."""

from __future__ import annotations

import math

import pytest

from joulebench.analysis.stats import Z95, summarize, t95


def test_t_table_values_and_fallbacks():
    assert t95(1) == pytest.approx(12.706)
    assert t95(2) == pytest.approx(4.303)
    assert t95(35) == t95(30)  # between table rows: conservative lower df
    assert t95(10_000) == pytest.approx(Z95)
    with pytest.raises(ValueError):
        t95(0)


def test_single_value_uses_its_stderr():
    stat = summarize([0.9], [0.01])
    assert stat.n == 1 and stat.std is None
    assert stat.ci95 == pytest.approx(Z95 * 0.01)
    assert stat.ci_source == "stderr"


def test_single_value_without_stderr_has_unknown_ci():
    stat = summarize([4.0])
    assert stat.ci95 is None and stat.low is None


def test_repeats_use_student_t():
    stat = summarize([1.0, 2.0, 3.0])
    assert stat.mean == pytest.approx(2.0)
    assert stat.std == pytest.approx(1.0)
    assert stat.ci95 == pytest.approx(4.303 / math.sqrt(3))
    assert (stat.low, stat.high) == pytest.approx((2 - stat.ci95, 2 + stat.ci95))


def test_identical_repeats_keep_the_stderr_floor():
    # Re-measuring one checkpoint on the same split cannot beat the split's sampling error.
    stat = summarize([0.9, 0.9], [0.01, 0.01])
    assert stat.ci95 == pytest.approx(Z95 * 0.01)
    assert stat.ci_source == "stderr"


def test_no_values_gives_none():
    assert summarize([]) is None
