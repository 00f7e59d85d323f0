"""Int8 dynamic quantization of ``nn.Linear`` layers in torch, one function per backend.

Dynamic quantization stores weights as int8 and quantizes activations on the fly, per call, so
it needs no calibration data. Each backend returns how many Linear layers it converted.
"""

from __future__ import annotations

import importlib.util
import warnings

import torch
from torch import nn

from joulebench.errors import UserError

BACKENDS = ("torchao", "torch_ao")

#: What ``backend: auto`` runs: torchao, torch's maintained int8 path. torch.ao's ``quantize_dynamic`` (torch_ao)
#: is deprecated and slated for removal: it runs only where a configuration names it. int8 in other engines
#: (ONNX Runtime, OpenVINO) is ``engine:``'s business (joulebench.engines), not a backend here.
AUTO_BACKEND = "torchao"


def missing_backend(name: str) -> str | None:
    """Why backend ``name`` cannot run here, or None when it can."""
    if name == "torch_ao":
        engines = [e for e in torch.backends.quantized.supported_engines if e != "none"]
        return None if engines else "this torch build has no quantized engine"
    if name == "torchao":
        found = importlib.util.find_spec("torchao") is not None
        return None if found else "the torchao package is not installed (pip install torchao)"
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


def quantize_int8(model: nn.Module, backend: str) -> tuple[nn.Module, int]:
    """Quantize ``model``'s Linear layers with ``backend``, in place.

    Returns:
        The model and how many Linear layers were converted.

    Raises:
        UserError: the backend is not installed or cannot run this model.
    """
    reason = missing_backend(backend)
    if reason is not None:
        raise UserError(f"quantize: backend {backend!r} cannot run here: {reason}")
    if backend == "torch_ao":
        return model, quantize_torch_ao(model)
    if backend == "torchao":
        return model, quantize_torchao(model)
    raise UserError(f"quantize: unknown int8 backend {backend!r}; use torchao or torch_ao (int8 on another engine: "
                    "engine: onnxruntime or openvino)")
