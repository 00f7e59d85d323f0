"""Int8 dynamic quantization of ``nn.Linear`` layers, one function per backend.

Dynamic quantization stores weights as int8 and quantizes activations on the fly, per call, so
it needs no calibration data. Each backend returns how many Linear layers it converted.
"""

from __future__ import annotations

import importlib.util
import warnings

import torch
from torch import nn

from joulebench.errors import UserError

#: Backends in the order "auto" prefers them on CPU. Measured by benchmarks/quant_backends.py on
#: this project's AVX2 CPU (minilm-l6, batch 64, SST-2 lengths, 2 threads): torch_ao ran at
#: about 0.6-0.75x the fp32 latency, torchao 0.18's eager int8 dynamic path about 18x slower
#: than fp32 (no fused int8 CPU kernel there). So "auto" means torch_ao on CPU.
AUTO_ORDER = ("torch_ao",)

BACKENDS = ("torch_ao", "torchao", "onnxruntime")


def missing_backend(name: str) -> str | None:
    """Why backend ``name`` cannot run here, or None when it can."""
    if name == "torch_ao":
        engines = [e for e in torch.backends.quantized.supported_engines if e != "none"]
        return None if engines else "this torch build has no quantized engine"
    if name == "torchao":
        return None if importlib.util.find_spec("torchao") else "the torchao package is not installed (pip install torchao)"
    if name == "onnxruntime":
        absent = [p for p in ("onnx", "onnxruntime") if importlib.util.find_spec(p) is None]
        return f"{' and '.join(absent)} not installed (pip install {' '.join(absent)})" if absent else None
    return f"unknown backend {name!r}"


def quantize_torch_ao(model: nn.Module) -> int:
    """``torch.ao.quantization.quantize_dynamic`` on every ``nn.Linear``, in place."""
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    with warnings.catch_warnings():
        # torch 2.10+ marks torch.ao quantization deprecated in favour of torchao, yet on this CPU
        # it is the backend with a fast int8 kernel (fbgemm/x86); the warning is noise per run.
        warnings.simplefilter("ignore", category=UserWarning)
        warnings.simplefilter("ignore", category=DeprecationWarning)
        torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8, inplace=True)
    return sum(isinstance(m, DynamicLinear) for m in model.modules())


def quantize_torchao(model: nn.Module) -> int:
    """torchao's int8 dynamic-activation, int8-weight config on every ``nn.Linear``, in place."""
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

    quantize_(model, Int8DynamicActivationInt8WeightConfig())
    return sum(
        isinstance(m, nn.Linear) and type(m.weight) is not nn.Parameter and type(m.weight) is not torch.Tensor
        for m in model.modules()
    )


def quantize_int8(model: nn.Module, backend: str) -> int:
    """Quantize ``model``'s Linear layers with ``backend``; return how many were converted.

    Raises:
        UserError: the backend is not installed or cannot run this model.
    """
    reason = missing_backend(backend)
    if reason is not None:
        raise UserError(f"quantize: backend {backend!r} cannot run here: {reason}")
    if backend == "torch_ao":
        return quantize_torch_ao(model)
    if backend == "torchao":
        return quantize_torchao(model)
    raise UserError(f"quantize: backend {backend!r} exports a static graph; it is not available as a reduction yet")
