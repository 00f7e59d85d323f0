"""Wall-clock timing of repeated calls, with an energy window around the timed part."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from joulebench.measure.energy.base import EnergyMeter, EnergyWindow

# Distinct window keys, so measure_calls can run inside a caller's own window.
_window_ids = itertools.count()


@dataclass(frozen=True)
class TimingResult:
    """Timings of the calls made by ``measure_calls``.

    Attributes:
        samples_ms: wall time of each timed call, in milliseconds.
        sizes: examples processed by each timed call.
        duration_s: wall time of the whole timed window (calls plus loop overhead).
        energy: energy over the timed window.
        n_examples: ``sum(sizes)``.
    """

    samples_ms: list[float]
    sizes: list[int]
    duration_s: float
    energy: EnergyWindow
    n_examples: int

    def per_example_ms(self) -> list[float]:
        """Per-call latency divided by that call's number of examples."""
        return [ms / size for ms, size in zip(self.samples_ms, self.sizes, strict=True)]

    def throughput_eps(self) -> float:
        """Examples per second over the whole timed window (0.0 for an empty window)."""
        return self.n_examples / self.duration_s if self.duration_s > 0 else 0.0


def _check_args(
    calls: Sequence[Callable[[], None]],
    sizes: Sequence[int],
    warmup_calls: int,
    min_calls: int,
    min_duration_s: float,
    max_duration_s: float | None,
) -> None:
    if not calls:
        raise ValueError("measure_calls needs at least one call")
    if len(calls) != len(sizes):
        raise ValueError(f"measure_calls got {len(calls)} calls but {len(sizes)} sizes")
    if any(size <= 0 for size in sizes):
        raise ValueError("every call must process at least one example")
    if warmup_calls < 0 or min_calls < 1 or min_duration_s < 0:
        raise ValueError("need warmup_calls >= 0, min_calls >= 1 and min_duration_s >= 0")
    if max_duration_s is not None and max_duration_s <= 0:
        raise ValueError("max_duration_s must be > 0 or None")


def measure_calls(
    calls: Sequence[Callable[[], None]],
    sizes: Sequence[int],
    *,
    warmup_calls: int,
    min_calls: int,
    min_duration_s: float,
    max_duration_s: float | None,
    meter: EnergyMeter,
    sync: Callable[[], None] | None = None,
) -> TimingResult:
    """Time ``calls`` (cycled in order) until enough calls and enough time are done.

    First ``warmup_calls`` calls run untimed. Then calls are timed one by one,
    starting again from ``calls[0]``, until at least ``min_calls`` calls AND
    ``min_duration_s`` seconds are done. With ``max_duration_s`` set, timing
    stops once that much time has passed, but never before
    ``min(min_calls, len(calls))`` calls, so each distinct call is seen once.

    Args:
        calls: zero-argument callables, e.g. one forward pass per prepared batch.
        sizes: number of examples processed by ``calls[i]``.
        warmup_calls: untimed calls first (caches, autotuning, lazy init).
        min_calls: least number of timed calls.
        min_duration_s: least wall time of the timed part, in seconds.
        max_duration_s: time after which to stop early, or None for no cap.
        meter: energy meter; its window covers the timed part only.
        sync: called before each clock read when given (e.g. torch.cuda.synchronize),
            because asynchronous devices return before the work is done.

    Returns:
        The per-call samples, sizes, window duration and energy.

    Raises:
        ValueError: on inconsistent arguments, or if the meter rejects the window.
    """
    _check_args(calls, sizes, warmup_calls, min_calls, min_duration_s, max_duration_s)
    n_distinct = len(calls)
    for i in range(warmup_calls):
        calls[i % n_distinct]()
    if sync is not None:
        sync()  # warm-up work still queued on the device must not leak into the timings

    must_do = min(min_calls, n_distinct)
    samples_ms: list[float] = []
    done_sizes: list[int] = []
    key = f"measure_calls-{next(_window_ids)}"
    meter.begin_window(key)
    window_start_s = time.perf_counter()
    try:
        i = 0
        while True:
            index = i % n_distinct
            start_s = time.perf_counter()
            calls[index]()
            if sync is not None:
                sync()
            end_s = time.perf_counter()
            samples_ms.append((end_s - start_s) * 1e3)
            done_sizes.append(int(sizes[index]))
            i += 1
            elapsed_s = end_s - window_start_s
            if i >= min_calls and elapsed_s >= min_duration_s:
                break
            if max_duration_s is not None and elapsed_s >= max_duration_s and i >= must_do:
                break
    finally:
        # Close the window even when a call raises, so the key is not left open.
        duration_s = time.perf_counter() - window_start_s
        energy = meter.end_window(key)
    return TimingResult(samples_ms, done_sizes, duration_s, energy, sum(done_sizes))
