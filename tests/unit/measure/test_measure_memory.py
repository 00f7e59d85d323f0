"""PeakMemory sees a known allocation, even one freed before the block ends."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from joulebench.measure.memory import PeakMemory


@pytest.mark.parametrize("kernel_peak", [True, False])
def test_rss_peak_sees_transient_200mb(kernel_peak: bool) -> None:
    with PeakMemory(use_kernel_peak=kernel_peak) as mem:
        buf = bytearray(200 * 10**6)  # zero-filled, so every page is touched
        time.sleep(0.2)  # many 5 ms sampling periods, even if the sampler is scheduled late
        del buf  # freed before exit: only the kernel's peak or the sampling thread can have seen it
    assert mem.method == ("rss_hwm" if kernel_peak and Path("/proc/self/clear_refs").exists() else "rss")
    assert mem.peak_mb - mem.start_mb >= 150.0


def test_kernel_peak_is_reset_per_block() -> None:
    """A large allocation before the block must not count as the block's peak."""
    buf = bytearray(300 * 10**6)
    del buf
    with PeakMemory() as mem:
        small = bytearray(10 * 10**6)
        del small
    if mem.method != "rss_hwm":
        pytest.skip("no /proc/self/clear_refs here: sampled RSS only")
    assert mem.peak_mb - mem.start_mb < 150.0


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
