"""The environment a record was measured in: versions, git revision, hardware."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def git_revision() -> str | None:
    """The project's git revision (with ``-dirty`` if modified), or None outside a checkout."""
    root = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5
        )
        if rev.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True,
            text=True, timeout=5,
        )
        return rev.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


@lru_cache(maxsize=1)
def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo, else platform.processor()."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


#: CPU flags that decide which kernels are fast (int8 dot products, bf16 matmuls, tiles), as /proc/cpuinfo names them.
NOTABLE_CPU_FLAGS = ("avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx512_bf16",
                     "avx512_fp16", "amx_tile", "amx_int8", "amx_bf16")


@lru_cache(maxsize=1)
def cpu_features() -> tuple[str, ...]:
    """The notable CPU features this machine reports (``NOTABLE_CPU_FLAGS`` order), () when unknown."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                flags = set(line.split(":", 1)[1].split())
                return tuple(f for f in NOTABLE_CPU_FLAGS if f in flags)
    except OSError:
        pass
    return ()


def torch_backends() -> dict:
    """What this torch build offers on the CPU: its SIMD level, oneDNN, quantized engines."""
    import torch

    return {
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "mkldnn": bool(torch.backends.mkldnn.is_available()),
        "quantized_engines": [e for e in torch.backends.quantized.supported_engines if e != "none"],
    }


def _version(package: str) -> str | None:
    import importlib.metadata

    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def gpu_details(index: int = 0) -> dict | None:
    """The GPU a CUDA run used: name, driver, power limit and memory (NVML), or None without one.
    A field NVML cannot read is None with the reason in ``nvml_note``."""
    import torch

    if not torch.cuda.is_available():
        return None
    out: dict = {"name": torch.cuda.get_device_name(index), "cuda": torch.version.cuda,
                 "driver": None, "power_limit_w": None, "memory_mb": None}
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            driver = pynvml.nvmlSystemGetDriverVersion()
            out["driver"] = driver.decode() if isinstance(driver, bytes) else driver
            out["power_limit_w"] = pynvml.nvmlDeviceGetEnforcedPowerLimit(handle) / 1000.0
            out["memory_mb"] = pynvml.nvmlDeviceGetMemoryInfo(handle).total / 2**20
        finally:
            pynvml.nvmlShutdown()
    except Exception as exc:  # NVML absent or refusing: say so instead of guessing
        out["nvml_note"] = f"NVML unreadable: {type(exc).__name__}: {exc}"
    return out


def environment(threads: int, device: str) -> dict:
    """The ``env`` section of a record."""
    import torch
    import transformers

    import joulebench

    gpu = torch.cuda.get_device_name(0) if device == "cuda" and torch.cuda.is_available() else None
    return {
        "joulebench": joulebench.__version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "git_rev": git_revision(),
        "cpu": cpu_model(),
        "cpu_features": list(cpu_features()),
        "cpu_count": os.cpu_count(),
        "torch_backends": torch_backends(),
        "onnxruntime": _version("onnxruntime"),
        "openvino": _version("openvino"),
        "nncf": _version("nncf"),
        "torchao": _version("torchao"),
        "gpu": gpu,
        "gpu_details": gpu_details() if gpu else None,
        "threads": threads,
        "device": device,
        "time_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def machine_line() -> str:
    """One line naming the machine a benchmark ran on: CPU, its vector and matrix features, cores, versions."""
    import torch

    features = ", ".join(cpu_features())
    return (f"machine: {cpu_model()} ({features}); {os.cpu_count()} logical CPUs; torch {torch.__version__}, "
            f"onnxruntime {_version('onnxruntime')}, openvino {_version('openvino')}, nncf {_version('nncf')}, "
            f"torchao {_version('torchao')}; threads={torch.get_num_threads()}")
