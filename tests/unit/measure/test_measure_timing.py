"""measure_calls against known sleep durations and its stopping rules."""

from __future__ import annotations

import time

import pytest

from joulebench.measure.energy.estimate import EstimateMeter
from joulebench.measure.timing import TimingResult, measure_calls


def _sleeper(seconds: float, log: list[str] | None = None, tag: str = "call"):
    def call() -> None:
        if log is not None:
            log.append(tag)
        time.sleep(seconds)

    return call


def test_sleep_samples_match_sleep_time() -> None:
    result = measure_calls(
        [_sleeper(0.1)],
        [4],
        warmup_calls=1,
        min_calls=3,
        min_duration_s=0.0,
        max_duration_s=None,
        meter=EstimateMeter(),
    )
    assert len(result.samples_ms) == 3
    for sample_ms in result.samples_ms:
        assert sample_ms == pytest.approx(100.0, rel=0.10)
    assert result.per_example_ms() == pytest.approx([s / 4 for s in result.samples_ms])
    assert result.n_examples == 12
    assert result.throughput_eps() == pytest.approx(12 / result.duration_s)
    assert result.energy.method == "estimate" and result.energy.energy_j is not None
    # The energy window opens just before and closes just after the timed part.
    assert result.duration_s <= result.energy.duration_s <= result.duration_s + 0.05


def test_min_calls_respected_when_duration_is_short(recording_meter) -> None:
    result = measure_calls(
        [_sleeper(0.001)],
        [1],
        warmup_calls=0,
        min_calls=5,
        min_duration_s=0.0,
        max_duration_s=None,
        meter=recording_meter,
    )
    assert len(result.samples_ms) == 5


def test_min_duration_respected_when_calls_are_few(recording_meter) -> None:
    result = measure_calls(
        [_sleeper(0.01)],
        [1],
        warmup_calls=0,
        min_calls=2,
        min_duration_s=0.12,
        max_duration_s=None,
        meter=recording_meter,
    )
    assert result.duration_s >= 0.12
    assert len(result.samples_ms) > 2  # 2 calls alone take about 20 ms
    # It stopped at the first call that crossed min_duration_s, not later.
    assert result.duration_s - result.samples_ms[-1] / 1e3 < 0.12 + 0.02  # 20 ms for loop overhead


def test_max_duration_stops_early_but_times_each_distinct_call(recording_meter) -> None:
    result = measure_calls(
        [_sleeper(0.03), _sleeper(0.03), _sleeper(0.03)],
        [1, 2, 3],
        warmup_calls=0,
        min_calls=1000,
        min_duration_s=10.0,
        max_duration_s=0.01,
        meter=recording_meter,
    )
    assert result.sizes == [1, 2, 3]  # stopped as soon as every call was seen once
    assert result.duration_s < 1.0


def test_warmup_is_outside_the_energy_window_and_calls_cycle(events, recording_meter) -> None:
    calls = [_sleeper(0, events, "a"), _sleeper(0, events, "b")]
    result = measure_calls(
        calls,
        [8, 3],
        warmup_calls=3,
        min_calls=3,
        min_duration_s=0.0,
        max_duration_s=None,
        meter=recording_meter,
    )
    assert events == ["a", "b", "a", "begin", "a", "b", "a", "end"]
    assert result.sizes == [8, 3, 8] and result.n_examples == 19
    assert isinstance(result, TimingResult)


def test_sync_runs_around_every_timed_call(events, recording_meter) -> None:
    measure_calls(
        [_sleeper(0, events, "call")],
        [1],
        warmup_calls=1,
        min_calls=2,
        min_duration_s=0.0,
        max_duration_s=None,
        meter=recording_meter,
        sync=lambda: events.append("sync"),
    )
    assert events == ["call", "sync", "begin", "call", "sync", "call", "sync", "end"]


def test_failing_call_closes_the_window(recording_meter) -> None:
    def boom() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        measure_calls(
            [boom], [1], warmup_calls=0, min_calls=1, min_duration_s=0.0, max_duration_s=None, meter=recording_meter
        )
    assert recording_meter.open == set()


@pytest.mark.parametrize(
    ("calls", "sizes", "kwargs"),
    [
        ([], [], {}),
        ([lambda: None], [1, 2], {}),
        ([lambda: None], [0], {}),
        ([lambda: None], [1], {"min_calls": 0}),
        ([lambda: None], [1], {"max_duration_s": 0.0}),
    ],
)
def test_bad_arguments_raise(calls, sizes, kwargs, recording_meter) -> None:
    args = {"warmup_calls": 0, "min_calls": 1, "min_duration_s": 0.0, "max_duration_s": None} | kwargs
    with pytest.raises(ValueError):
        measure_calls(calls, sizes, meter=recording_meter, **args)
