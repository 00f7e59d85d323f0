"""Wall-clock timing of whole passes over a fixed list of calls, inside one energy window."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from joulebench.measure.energy.base import EnergyMeter, EnergyWindow

# Distinct window keys, so time_passes can run inside a caller's own window.
_window_ids = itertools.count()


@dataclass(frozen=True)
class TimingResult:
    """Timings of one window of ``time_passes``.

    Attributes:
        samples_ms: wall time of each timed call, in milliseconds, in call order.
        sizes: examples processed by each timed call.
        duration_s: wall time of the whole timed window (calls plus loop overhead).
        energy: energy over the timed window.
        n_examples: ``sum(sizes)``.
        passes: whole passes over the calls that the window holds.
        batch_sizes: requests per batch the server scenario formed (None for fixed batches).
    """

    samples_ms: list[float]
    sizes: list[int]
    duration_s: float
    energy: EnergyWindow
    n_examples: int
    passes: int = 1
    batch_sizes: list[int] | None = None

    def per_example_ms(self) -> list[float]:
        """Per-call latency divided by that call's number of examples."""
        return [ms / size for ms, size in zip(self.samples_ms, self.sizes, strict=True)]

    def throughput_eps(self) -> float:
        """Examples per second over the whole timed window (0.0 for an empty window)."""
        return self.n_examples / self.duration_s if self.duration_s > 0 else 0.0


def _check_args(calls: Sequence[Callable[[], object]], sizes: Sequence[int], passes: int) -> None:
    if not calls:
        raise ValueError("time_passes needs at least one call")
    if len(calls) != len(sizes):
        raise ValueError(f"time_passes got {len(calls)} calls but {len(sizes)} sizes")
    if any(size <= 0 for size in sizes):
        raise ValueError("every call must process at least one example")
    if passes < 1:
        raise ValueError(f"passes must be >= 1, got {passes}")


def warm_up(calls: Sequence[Callable[[], object]], n_calls: int, sync: Callable[[], None] | None = None) -> None:
    """Run ``n_calls`` calls (cycling through ``calls``) untimed: caches, lazy init, autotuning."""
    for i in range(n_calls):
        calls[i % len(calls)]()
    if sync is not None:
        sync()  # warm-up work still queued on the device must not leak into the timings


def time_passes(
    calls: Sequence[Callable[[], object]],
    sizes: Sequence[int],
    *,
    passes: int,
    meter: EnergyMeter,
    sync: Callable[[], None] | None = None,
) -> TimingResult:
    """Time ``passes`` whole passes over ``calls``, in order, inside one energy window.

    The window holds exactly ``passes * len(calls)`` calls, so two models timed on the same
    calls do the same work: there is no stopping rule that a faster model could reach with a
    different share of cheap calls.

    Args:
        calls: zero-argument callables, e.g. one forward pass per prepared batch.
        sizes: number of examples processed by ``calls[i]``.
        passes: whole passes over ``calls``.
        meter: energy meter; its window covers the timed calls only.
        sync: called before each clock read when given (e.g. torch.cuda.synchronize),
            because asynchronous devices return before the work is done.

    Returns:
        The per-call samples, sizes, window duration and energy.

    Raises:
        ValueError: on inconsistent arguments, or if the meter rejects the window.
    """
    _check_args(calls, sizes, passes)
    samples_ms: list[float] = []
    done_sizes: list[int] = []
    key = f"time_passes-{next(_window_ids)}"
    meter.begin_window(key)
    window_start_s = time.perf_counter()
    try:
        for _ in range(passes):
            for call, size in zip(calls, sizes, strict=True):
                start_s = time.perf_counter()
                call()
                if sync is not None:
                    sync()
                samples_ms.append((time.perf_counter() - start_s) * 1e3)
                done_sizes.append(int(size))
    finally:
        # Close the window even when a call raises, so the key is not left open.
        duration_s = time.perf_counter() - window_start_s
        energy = meter.end_window(key)
    return TimingResult(samples_ms, done_sizes, duration_s, energy, sum(done_sizes), passes)
