"""torch.compile (Inductor): the model as the reductions left it (torch's precision included), compiled once.

Compilation happens at the first calls; they run here, on the example batch at two lengths (so that the graph
is compiled for dynamic shapes once), timed as the one-off cost and excluded from the measured windows."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from joulebench.engines.base import EngineContext, Prepared, register_engine
from joulebench.engines.torch_eager import torch_facts


@register_engine("torch_compile", help="torch.compile with Inductor (compiled once, warm-up excluded)")
class TorchCompile:
    """torch.compile (Inductor)."""

    name: ClassVar[str]
    precisions: ClassVar[tuple[str, ...]] = ("fp32", "bf16", "fp16", "int8")
    dynamic: ClassVar[bool] = True  # graph breaks at data-dependent branches, compiled pieces in between
    span: ClassVar[bool] = True
    devices: ClassVar[tuple[str, ...]] = ("cpu", "cuda")

    def missing(self) -> str | None:
        import shutil

        if shutil.which("gcc") is None and shutil.which("cc") is None:
            return "Inductor needs a C compiler on CPU (apt-get install gcc)"
        return None

    def precision_problem(self, precision: str, device: str) -> str | None:
        return None

    def version(self) -> str:
        return torch.__version__

    def prepare(self, model: nn.Module, precision: str, ctx: EngineContext) -> Prepared:
        compiled = torch.compile(model, dynamic=True)
        with torch.inference_mode():
            for length in sorted({ctx.example["input_ids"].shape[1], max(2, ctx.example["input_ids"].shape[1] // 2)}):
                compiled(**{k: v[:, :length].to(ctx.device) for k, v in ctx.example.items()})
        facts = {**torch_facts(self.name, model, precision, ctx),
                 "one_off": "compilation (Inductor, dynamic shapes) at the first calls"}
        return Prepared(compiled, facts)  # type: ignore[arg-type]
