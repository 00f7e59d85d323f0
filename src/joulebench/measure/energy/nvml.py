"""GPU energy from the NVIDIA driver's total-energy counter (nvidia-ml-py)."""

from __future__ import annotations

import os
from typing import Any

from joulebench.measure.energy.base import EnergyWindow, OpenWindows


def _import_nvml() -> Any:
    """Import ``pynvml`` (shipped by nvidia-ml-py); ImportError if missing."""
    import pynvml

    return pynvml


def cuda_index(device: str) -> int:
    """CUDA ordinal of a torch device string: "cuda" -> 0, "cuda:1" -> 1."""
    _, _, index = device.partition(":")
    return int(index) if index else 0


def _torch_uuid(index: int) -> str | None:
    """NVML-style UUID of CUDA device ``index`` as torch sees it, or None.

    CUDA may order devices differently from NVML (CUDA_DEVICE_ORDER, and
    CUDA_VISIBLE_DEVICES renumbers them), so matching by UUID is the only
    mapping that is always right.
    """
    try:
        import torch

        if not torch.cuda.is_available():
            return None
        return f"GPU-{torch.cuda.get_device_properties(index).uuid}"
    except Exception:  # any failure just means "fall back to env mapping"
        return None


def _device_handle(nvml: Any, device: str) -> Any:
    """NVML handle of the GPU behind the torch device string ``device``."""
    index = cuda_index(device)
    uuid = _torch_uuid(index)
    if uuid is not None:
        try:
            return nvml.nvmlDeviceGetHandleByUUID(uuid)
        except nvml.NVMLError:
            pass  # e.g. MIG slices: fall through to the visible-devices mapping
    visible = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    if index < len(visible):
        entry = visible[index]
        if entry.isdigit():
            return nvml.nvmlDeviceGetHandleByIndex(int(entry))
        return nvml.nvmlDeviceGetHandleByUUID(entry)
    return nvml.nvmlDeviceGetHandleByIndex(index)


def probe(device: str = "cuda") -> tuple[bool, str]:
    """Return ``(usable, reason)`` for the energy counter of ``device``'s GPU.

    Never raises: no nvidia-ml-py, no driver, no GPU or a GPU without the
    counter (pre-Volta) all come back as ``False`` with the reason.
    """
    try:
        nvml = _import_nvml()
    except ImportError:
        return False, "NVML unavailable (nvidia-ml-py not installed)"
    try:
        nvml.nvmlInit()
    except Exception as err:  # NVMLError or missing libnvidia-ml.so
        return False, f"NVML unavailable ({err or type(err).__name__}; no NVIDIA driver?)"
    try:
        handle = _device_handle(nvml, device)
        nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
    except Exception as err:
        return False, f"NVML energy counter unavailable for {device} ({err or type(err).__name__})"
    finally:
        nvml.nvmlShutdown()  # nvmlInit is reference counted; keep it balanced
    return True, f"NVML energy counter of {device}"


class NvmlMeter:
    """Energy meter reading the GPU's cumulative energy counter (millijoules).

    Measures the whole board of one GPU (every process on it); CPU and DRAM
    energy are not counted.

    Args:
        device: torch device string of the GPU, "cuda" or "cuda:N".

    Raises:
        ImportError: if nvidia-ml-py is missing.
        pynvml.NVMLError: if the driver, the GPU or its energy counter is unavailable.
    """

    method = "nvml"

    def __init__(self, device: str = "cuda") -> None:
        self._nvml = _import_nvml()
        self._nvml.nvmlInit()
        self._device = device
        self._handle = _device_handle(self._nvml, device)
        self._read_mj()  # fail at construction, not at the end of a window
        self._windows: OpenWindows[int] = OpenWindows("nvml")

    @classmethod
    def available(cls, device: str = "cuda") -> bool:
        """True when the energy counter of ``device``'s GPU can be read."""
        return probe(device)[0]

    def _read_mj(self) -> int:
        return int(self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle))

    def begin_window(self, key: str) -> None:
        """Start window ``key`` by reading the counter."""
        self._windows.open(key, self._read_mj())

    def end_window(self, key: str) -> EnergyWindow:
        """Close window ``key``; energy is the counter delta."""
        duration_s, start_mj = self._windows.close(key)
        try:
            end_mj = self._read_mj()
        except Exception as err:  # report, do not lose the whole run
            return EnergyWindow(None, duration_s, None, f"nvml: counter read failed at window end ({err})")
        # The driver refreshes the counter every few tens of ms, so very short
        # windows are coarse; callers time many calls inside one window.
        note = f"nvml: total energy counter of {self._device} (whole GPU board; CPU not counted)"
        return EnergyWindow((end_mj - start_mj) / 1e3, duration_s, self.method, note)
