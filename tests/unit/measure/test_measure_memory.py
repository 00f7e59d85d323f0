"""PeakMemory sees a known allocation, even one freed before the block ends."""

from __future__ import annotations

import time

import pytest

from joulebench.measure.memory import PeakMemory


def test_rss_peak_sees_transient_200mb() -> None:
    with PeakMemory() as mem:
        buf = bytearray(200 * 10**6)  # zero-filled, so every page is touched
        time.sleep(0.2)  # many 5 ms sampling periods, even if the sampler is scheduled late
        del buf  # freed before exit: only the sampling thread can have seen it
    assert mem.method == "rss"
    assert mem.peak_mb - mem.start_mb >= 150.0


def test_rss_peak_is_at_least_start() -> None:
    with PeakMemory() as mem:
        pass
    assert mem.peak_mb >= mem.start_mb > 0


def test_cuda_method_name() -> None:
    assert PeakMemory("cuda:0").method == "cuda_max_allocated"


def test_cuda_peak_counts_a_tensor() -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    with PeakMemory("cuda") as mem:
        x = torch.empty(64 * 2**20, dtype=torch.uint8, device="cuda")
        del x
    assert mem.peak_mb - mem.start_mb >= 63.0
