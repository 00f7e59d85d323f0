"""Peak memory of a code block: sampled RSS on CPU, the allocator's peak on CUDA."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from types import TracebackType

import psutil

_MIB = 2**20
_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")


def _kernel_hwm_bytes() -> int | None:
    """The kernel's peak RSS of this process (``VmHWM``), or None where /proc does not give it."""
    try:
        match = re.search(r"^VmHWM:\s+(\d+) kB", _STATUS.read_text(), re.M)
    except OSError:
        return None
    return int(match.group(1)) * 1024 if match else None


def _reset_kernel_hwm() -> bool:
    """Reset ``VmHWM`` to the current RSS (Linux >= 4.0: ``echo 5 > /proc/self/clear_refs``)."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return _kernel_hwm_bytes() is not None


class PeakMemory:
    """Context manager measuring the peak memory used inside its block.

    On Linux CPU the kernel keeps the process's peak RSS (``VmHWM``): it is reset at enter
    (``/proc/self/clear_refs``) and read at exit, exact and free of cost inside the block
    (method "rss_hwm"). Elsewhere a background thread samples the process RSS every
    ``interval_s`` (plus once at enter and at exit), so a peak shorter than the interval can
    be missed (method "rss"); that thread competes with the measured code for the GIL. On
    CUDA the allocator's own peak counter is exact but only covers
    tensors allocated by PyTorch's caching allocator.

    Args:
        device: "cpu", "cuda" or "cuda:N".
        interval_s: RSS sampling period on CPU, in seconds.

    Attributes:
        method: "rss_hwm" (CPU, kernel peak), "rss" (CPU, sampled) or "cuda_max_allocated" (CUDA).
        start_mb: memory at enter, in MiB (2**20 bytes).
        peak_mb: highest memory seen so far, in MiB; absolute, not relative to ``start_mb``.

    Example:
        >>> with PeakMemory() as mem:
        ...     run_batch()
        >>> mem.peak_mb - mem.start_mb  # growth caused by the block
    """

    def __init__(self, device: str = "cpu", *, interval_s: float = 0.005, use_kernel_peak: bool = True) -> None:
        self.device = device
        self.interval_s = interval_s
        if device.startswith("cuda"):
            self.method = "cuda_max_allocated"
        else:
            self.method = "rss_hwm" if use_kernel_peak and _kernel_hwm_bytes() is not None else "rss"
        self.start_mb = 0.0
        self._peak_bytes = 0
        self._inside = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._process = psutil.Process()

    @property
    def peak_mb(self) -> float:
        """Highest memory seen so far, in MiB."""
        if self.method == "cuda_max_allocated" and self._inside:
            import torch

            return torch.cuda.max_memory_allocated(self.device) / _MIB  # live read inside the block
        return self._peak_bytes / _MIB

    def _sample_rss(self) -> None:
        rss = self._process.memory_info().rss
        # No lock: enter samples before the thread starts and exit samples after
        # it is joined, so two writers never overlap.
        if rss > self._peak_bytes:
            self._peak_bytes = rss

    def _run_sampler(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample_rss()

    def __enter__(self) -> PeakMemory:
        if self.method == "cuda_max_allocated":
            import torch

            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._peak_bytes = torch.cuda.memory_allocated(self.device)
        elif self.method == "rss_hwm" and _reset_kernel_hwm():
            self._peak_bytes = _kernel_hwm_bytes() or 0
        else:
            self.method = "rss"
            self._peak_bytes = 0
            self._sample_rss()
            self._stop.clear()
            self._thread = threading.Thread(target=self._run_sampler, name="joulebench-peak-rss", daemon=True)
            self._thread.start()
        self.start_mb = self._peak_bytes / _MIB
        self._inside = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._inside = False
        if self.method == "cuda_max_allocated":
            import torch

            torch.cuda.synchronize(self.device)  # queued kernels may still allocate
            self._peak_bytes = torch.cuda.max_memory_allocated(self.device)
            return
        if self.method == "rss_hwm":
            self._peak_bytes = max(self._peak_bytes, _kernel_hwm_bytes() or 0)
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._sample_rss()
