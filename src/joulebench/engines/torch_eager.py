"""torch eager: the model as the reductions left it, run by PyTorch (the default engine and the baseline's).

Precision is carried out in torch by the ``quantize``/``int8`` reduction (a bf16/fp16 cast, or torchao's int8);
this engine reports what the weights hold."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from joulebench.engines.base import EngineContext, Prepared, register_engine


def torch_precision(model: nn.Module) -> str:
    """The precision torch runs ``model``'s Linear layers in, read off its weights: int8 (torchao or torch.ao
    quantized), else the dtype most of its floating-point weights have."""
    counts: dict[str, int] = {}
    for module in model.modules():
        weight = getattr(module, "weight", None)
        kind = type(module).__module__
        if "quantized" in kind or (weight is not None and type(weight) not in (nn.Parameter, torch.Tensor)):
            counts["int8"] = counts.get("int8", 0) + 1
    for parameter in model.parameters():
        if parameter.is_floating_point():
            name = {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}.get(parameter.dtype,
                                                                                            str(parameter.dtype))
            counts[name] = counts.get(name, 0) + parameter.numel()
    if counts.get("int8"):
        return "int8"
    return max(counts, key=lambda k: counts[k]) if counts else "fp32"


def torch_facts(name: str, model: nn.Module, precision: str, ctx: EngineContext) -> dict:
    ran = torch_precision(model)
    return {"name": name, "version": torch.__version__, "device": ctx.device, "threads": ctx.threads,
            "precision_asked": precision, "precision_ran": ran, "precision_source": "dtypes of torch's weights",
            "warning": None if ran == precision else f"asked {precision}, torch's weights hold {ran}"}


@register_engine("torch", help="PyTorch eager (the default, and the paired baseline's engine)")
class TorchEager:
    """PyTorch eager."""

    name: ClassVar[str]
    precisions: ClassVar[tuple[str, ...]] = ("fp32", "bf16", "fp16", "int8")
    dynamic: ClassVar[bool] = True
    span: ClassVar[bool] = True
    devices: ClassVar[tuple[str, ...]] = ("cpu", "cuda")

    def missing(self) -> str | None:
        return None

    def precision_problem(self, precision: str, device: str) -> str | None:
        return None  # the quantize reduction says what torch cannot run (joulebench.reductions.quantize)

    def version(self) -> str:
        return torch.__version__

    def prepare(self, model: nn.Module, precision: str, ctx: EngineContext) -> Prepared:
        return Prepared(model, {**torch_facts(self.name, model, precision, ctx), "one_off": None})
