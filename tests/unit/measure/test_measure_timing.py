"""time_passes against known sleep durations; whole passes, warm-up and sync order."""

from __future__ import annotations

import time

import pytest

from joulebench.measure.energy.estimate import EstimateMeter
from joulebench.measure.timing import TimingResult, time_passes, warm_up


def _sleeper(seconds: float, log: list[str] | None = None, tag: str = "call"):
    def call() -> None:
        if log is not None:
            log.append(tag)
        time.sleep(seconds)

    return call


def test_sleep_samples_match_sleep_time() -> None:
    result = time_passes([_sleeper(0.1)], [4], passes=3, meter=EstimateMeter())
    assert len(result.samples_ms) == 3
    for sample_ms in result.samples_ms:
        assert sample_ms == pytest.approx(100.0, rel=0.10)
    assert result.per_example_ms() == pytest.approx([s / 4 for s in result.samples_ms])
    assert result.n_examples == 12 and result.passes == 3
    assert result.throughput_eps() == pytest.approx(12 / result.duration_s)
    assert result.energy.method == "estimate" and result.energy.energy_j is not None
    # The energy window opens just before and closes just after the timed part.
    assert result.duration_s <= result.energy.duration_s <= result.duration_s + 0.05


def test_a_window_is_whole_passes_in_call_order(events, recording_meter) -> None:
    calls = [_sleeper(0, events, "a"), _sleeper(0, events, "b"), _sleeper(0, events, "c")]
    result = time_passes(calls, [1, 2, 3], passes=2, meter=recording_meter)
    assert events == ["begin", "a", "b", "c", "a", "b", "c", "end"]
    assert result.sizes == [1, 2, 3, 1, 2, 3] and result.n_examples == 12
    assert isinstance(result, TimingResult)


def test_warm_up_cycles_and_syncs_before_the_window(events, recording_meter) -> None:
    calls = [_sleeper(0, events, "a"), _sleeper(0, events, "b")]
    warm_up(calls, 3, sync=lambda: events.append("sync"))
    time_passes(calls, [8, 3], passes=1, meter=recording_meter)
    assert events == ["a", "b", "a", "sync", "begin", "a", "b", "end"]


def test_sync_runs_after_every_timed_call(events, recording_meter) -> None:
    time_passes([_sleeper(0, events, "call")], [1], passes=2, meter=recording_meter,
                sync=lambda: events.append("sync"))
    assert events == ["begin", "call", "sync", "call", "sync", "end"]


def test_failing_call_closes_the_window(recording_meter) -> None:
    def boom() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        time_passes([boom], [1], passes=1, meter=recording_meter)
    assert recording_meter.open == set()


@pytest.mark.parametrize(
    ("calls", "sizes", "passes"),
    [([], [], 1), ([lambda: None], [1, 2], 1), ([lambda: None], [0], 1), ([lambda: None], [1], 0)],
)
def test_bad_arguments_raise(calls, sizes, passes, recording_meter) -> None:
    with pytest.raises(ValueError):
        time_passes(calls, sizes, passes=passes, meter=recording_meter)
