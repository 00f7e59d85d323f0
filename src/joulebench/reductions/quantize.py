"""quantize (and its alias int8): the precision the model should run in, carried out by its engine.

On the torch engines this module does it: int8 is dynamic quantization of every ``nn.Linear`` (the bulk of an
encoder's FLOPs) by torchao (``backend: auto``; torch.ao's deprecated ``quantize_dynamic`` only where named);
fp16/bf16 cast the whole model, only on a device with kernels for them: fp16 matmuls on this kind of CPU have no
fast path, and bf16 on a CPU without native bf16 instructions (AVX512-BF16/AMX) is emulated (a bf16 cast of
minilm-l6 measured 7.6x the fp32 latency on this project's AVX2 CPU), so it is refused there. On a graph engine
(``ctx.precision_by``: onnxruntime, openvino) the model is left as it is and that engine quantizes or compiles at
the precision (:mod:`joulebench.engines`).

``dtype: auto16`` is chosen on the measuring machine by the backend probe
(:mod:`joulebench.reductions.backend_probe`), and the record's details say what it measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from joulebench.errors import UserError
from joulebench.reductions.base import ReductionContext, param, register_reduction
from joulebench.reductions.int8_backends import AUTO_BACKEND, BACKENDS, quantize_int8

DTYPES = {"int8": 8, "fp16": 16, "bf16": 16, "auto16": 16}
_FLOAT = {"fp16": torch.float16, "bf16": torch.bfloat16}


@dataclass(frozen=True)
class QuantizeConfig:
    """Parameters of ``quantize``."""

    dtype: str = param("int8 (dynamic, Linear layers, CPU), fp16 or bf16 (whole model, where the device runs "
                       "them), or auto16 (bf16 or fp16, whichever the backend probe measured faster here).")
    backend: str = param("int8 in torch: auto (torchao), torchao, or torch_ao (torch.ao's deprecated "
                         "quantize_dynamic, named only). On another engine the engine quantizes.", "auto")

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

    backend: str = param("int8 in torch: auto (torchao), torchao, or torch_ao (torch.ao's deprecated "
                         "quantize_dynamic, named only). On another engine the engine quantizes.", "auto")

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


#: Reductions whose data-dependent control flow a fixed (exported) graph cannot hold.
DYNAMIC = ("early_exit", "token_prune")


def resolve_backend(backend: str):
    """``auto`` -> torchao, with the reason; a named backend -> itself."""
    from joulebench.reductions.backend_probe import Choice

    if backend != "auto":
        return Choice(backend, f"named in the configuration (backend: {backend})", {})
    return Choice(AUTO_BACKEND, "auto: torchao, torch's maintained int8 path (torch.ao's quantize_dynamic is "
                  "deprecated; name backend torch_ao to measure it)", {})


def resolve_half(device: str, threads: int | None = None, shape: dict | None = None):
    """``auto16`` -> the faster of bf16 and fp16 on ``device`` by the probe (only dtypes the device
    runs natively are eligible), or a UserError saying why neither is worth it."""
    from joulebench.reductions.backend_probe import choose_half, probe_backends

    eligible = tuple(d for d in ("bf16", "fp16") if device_problem(d, device) is None)
    if not eligible:
        raise UserError(f"quantize: dtype auto16 on {device}: {device_problem('bf16', device)}; and "
                        f"{device_problem('fp16', device)}")
    return choose_half(eligible, probe_backends(threads, device, shape=shape))


def quantize_model(model: nn.Module, cfg: QuantizeConfig, device: str, shape: dict | None = None,
                   engine: str | None = None) -> tuple[nn.Module, dict]:
    """Quantize or cast ``model`` in place; return it and the details for the record (``shape``: the
    backend probe's, for ``auto16``). With ``engine`` (another engine than torch runs the model) nothing changes
    here: that engine carries the precision out and its record section says what ran."""
    if engine is not None:
        return model, {"dtype": cfg.dtype, "weight_bits": DTYPES[cfg.dtype], "carried_out_by": engine}
    dtype = cfg.dtype
    choice = None
    if dtype == "auto16":
        choice = resolve_half(device, shape=shape)
        dtype = choice.picked
    problem = device_problem(dtype, device)
    if problem is not None:
        raise UserError(f"quantize: dtype={dtype} on {device}: {problem}")
    if dtype == "int8":
        choice = resolve_backend(cfg.backend)
        backend = choice.picked
        model, count = quantize_int8(model, backend)
    else:
        backend = "cast"
        count = sum(isinstance(m, nn.Linear) for m in model.modules())
        model.to(_FLOAT[dtype])
    details = {"dtype": dtype, "weight_bits": DTYPES[dtype], "backend": backend, "linear_layers_quantized": count}
    if cfg.dtype == "auto16":
        details["dtype_asked"] = "auto16"
    if choice is not None:
        details["backend_choice"] = choice.details()
    return model, details




def check_quantize_chain(dtype: str, backend: str, before: Sequence[str], device: str | None) -> None:
    """Quantize once, with a dtype the configured device runs."""
    if "quantize" in before:
        raise ValueError("the model is already quantized by an earlier entry; list one quantize/int8")
    if dtype == "auto16":
        problems = [device_problem(d, device) for d in ("bf16", "fp16")] if device is not None else [None]
        if all(problems):
            raise ValueError(f"dtype=auto16 on {device}: neither 16-bit dtype runs here ({problems[0]}; {problems[1]})")
        return
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
        sixteen = ("16bit",) if cfg.dtype in ("fp16", "bf16", "auto16") else ()
        return ("quantize", *sixteen)

    def apply(self, model: nn.Module, cfg: QuantizeConfig, ctx: ReductionContext) -> tuple[nn.Module, dict]:
        """Quantize ``model`` in place (wrappers included: exit heads are Linear layers too)."""
        return quantize_model(model, cfg, ctx.device, _probe_shape(model, ctx, cfg.dtype == "auto16"),
                              ctx.precision_by)


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
        return ("quantize",)

    def apply(self, model: nn.Module, cfg: Int8Config, ctx: ReductionContext) -> tuple[nn.Module, dict]:
        """Quantize ``model``'s Linear layers to int8 in place."""
        return quantize_model(model, QuantizeConfig("int8", cfg.backend), ctx.device, None, ctx.precision_by)


def _probe_shape(model: nn.Module, ctx: ReductionContext, needed: bool) -> dict | None:
    """The backend probe's shape for this run: the model's width and the measured calls' batch and length
    (None, the probe's default shape, when the runner gave no workload or nothing is chosen by the probe)."""
    from joulebench.reductions.backend_probe import probe_shape

    shape_of = ctx.extra.get("call_shape")
    if not needed or shape_of is None:
        return None
    batch, tokens = shape_of(ctx.max_seq_len)
    return probe_shape(batch, tokens, getattr(model, "config", None))
