"""quantize (and its alias int8): lower-precision weights that the hardware runs faster.

int8 is dynamic quantization of every ``nn.Linear`` (the bulk of an encoder's FLOPs) on CPU;
fp16/bf16 cast the whole model, only on a device with kernels for them: fp16 matmuls on this
kind of CPU have no fast path, and bf16 on a CPU without native bf16 instructions
(AVX512-BF16/AMX) is emulated: benchmarks/quant_backends.py measured a bf16 cast of minilm-l6
at 7.6x the fp32 latency on this project's AVX2 CPU, so it is refused there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from joulebench.errors import UserError
from joulebench.reductions.base import ReductionContext, param, register_reduction
from joulebench.reductions.int8_backends import AUTO_ORDER, BACKENDS, missing_backend, quantize_int8

DTYPES = {"int8": 8, "fp16": 16, "bf16": 16}
_FLOAT = {"fp16": torch.float16, "bf16": torch.bfloat16}


@dataclass(frozen=True)
class QuantizeConfig:
    """Parameters of ``quantize``."""

    dtype: str = param("int8 (dynamic, Linear layers, CPU), fp16 or bf16 (whole model, where the device runs them).")
    backend: str = param("int8 backend: auto (measured fastest: torch_ao on CPU), torch_ao, torchao, onnxruntime.",
                         "auto")

    def validate(self) -> None:
        """Raise ValueError naming the field when a value is impossible."""
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if self.backend not in ("auto", *BACKENDS):
            raise ValueError(f"backend must be one of auto, {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.dtype != "int8" and self.backend != "auto":
            raise ValueError(f"backend applies to int8 only; dtype {self.dtype!r} takes backend auto")


@dataclass(frozen=True)
class Int8Config:
    """Parameters of ``int8`` (``quantize`` with dtype int8)."""

    backend: str = param("auto (measured fastest: torch_ao on CPU), torch_ao, torchao or onnxruntime.", "auto")

    def validate(self) -> None:
        """Raise ValueError naming the field when a value is impossible."""
        QuantizeConfig("int8", self.backend).validate()


def cpu_bf16_native() -> bool:
    """Whether this CPU has native bf16 instructions (oneDNN's own check)."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def device_problem(dtype: str, device: str) -> str | None:
    """Why ``device`` cannot run ``dtype`` efficiently, or None when it can."""
    if device == "cpu" and dtype == "fp16":
        return "fp16 is a dtype this CPU cannot run efficiently (no fp16 matmul kernels); use int8 or bf16 on GPU"
    if device == "cpu" and dtype == "bf16" and not cpu_bf16_native():
        return "bf16 needs native bf16 instructions (AVX512-BF16/AMX), which this CPU lacks; use int8"
    if device == "cuda" and dtype == "int8":
        return "int8 dynamic quantization runs on CPU only; use fp16 or bf16 on GPU"
    return None


def resolve_backend(backend: str) -> str:
    """``auto`` -> the first available backend of ``AUTO_ORDER``."""
    if backend != "auto":
        return backend
    for name in AUTO_ORDER:
        if missing_backend(name) is None:
            return name
    raise UserError("quantize: no int8 backend available in this torch build")


def quantize_model(model: nn.Module, cfg: QuantizeConfig, device: str) -> tuple[nn.Module, dict]:
    """Quantize or cast ``model`` in place; return it and the details for the record."""
    problem = device_problem(cfg.dtype, device)
    if problem is not None:
        raise UserError(f"quantize: dtype={cfg.dtype} on {device}: {problem}")
    if cfg.dtype == "int8":
        backend = resolve_backend(cfg.backend)
        model, count = quantize_int8(model, backend)
    else:
        backend = "cast"
        count = sum(isinstance(m, nn.Linear) for m in model.modules())
        model.to(_FLOAT[cfg.dtype])
    return model, {"dtype": cfg.dtype, "weight_bits": DTYPES[cfg.dtype], "backend": backend,
                   "linear_layers_quantized": count}


#: Tag of a model exported to a fixed graph (onnxruntime): nothing can change its layers after.
EXPORTED = "exported_graph"


def check_quantize_chain(dtype: str, backend: str, before: Sequence[str], device: str | None) -> None:
    """Quantize once, with a dtype the configured device runs; export only a static model."""
    if "quantize" in before:
        raise ValueError("the model is already quantized by an earlier entry; list one quantize/int8")
    dynamic = [name for name in before if name in ("early_exit", "token_prune")]
    if backend == "onnxruntime" and dynamic:
        raise ValueError(f"backend onnxruntime exports a fixed graph, which cannot hold {dynamic[0]}'s "
                         "data-dependent control flow; use backend torch_ao (auto)")
    problem = device_problem(dtype, device) if device is not None else None
    if problem is not None:
        raise ValueError(f"dtype={dtype} on {device}: {problem}")


@register_reduction("quantize", help="int8 dynamic quantization of Linear layers (CPU), or fp16/bf16 casting")
class Quantize:
    """Lower the precision the model computes in."""

    config_cls: ClassVar[type] = QuantizeConfig
    family: ClassVar[str] = "quantize"

    @staticmethod
    def check_chain(cfg: QuantizeConfig, before: Sequence[str], device: str | None) -> None:
        check_quantize_chain(cfg.dtype, cfg.backend, before, device)

    @staticmethod
    def chain_tags(cfg: QuantizeConfig) -> tuple[str, ...]:
        return ("quantize", EXPORTED) if cfg.backend == "onnxruntime" else ("quantize",)

    def apply(self, model: nn.Module, cfg: QuantizeConfig, ctx: ReductionContext) -> tuple[nn.Module, dict]:
        """Quantize ``model`` in place (wrappers included: exit heads are Linear layers too)."""
        return quantize_model(model, cfg, ctx.device)


@register_reduction("int8", help="alias of quantize with dtype int8: reductions: [int8]")
class Int8:
    """``quantize`` with dtype int8."""

    config_cls: ClassVar[type] = Int8Config
    family: ClassVar[str] = "quantize"

    @staticmethod
    def check_chain(cfg: Int8Config, before: Sequence[str], device: str | None) -> None:
        check_quantize_chain("int8", cfg.backend, before, device)

    @staticmethod
    def chain_tags(cfg: Int8Config) -> tuple[str, ...]:
        return ("quantize", EXPORTED) if cfg.backend == "onnxruntime" else ("quantize",)

    def apply(self, model: nn.Module, cfg: Int8Config, ctx: ReductionContext) -> tuple[nn.Module, dict]:
        """Quantize ``model``'s Linear layers to int8 in place."""
        return quantize_model(model, QuantizeConfig("int8", cfg.backend), ctx.device)
