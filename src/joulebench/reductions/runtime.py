"""runtime: run the model, as reduced so far, with another execution engine.

``engine: onnxruntime`` exports the fp32 model to ONNX and runs it in an onnxruntime CPU session
(the int8 counterpart is ``quantize`` with ``backend: onnxruntime``). The exported graph is fixed:
nothing that changes layers or takes data-dependent branches can come after it, and early exit and
token pruning cannot come before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from torch import nn

from joulebench.errors import UserError
from joulebench.reductions.base import ReductionContext, param, register_reduction
from joulebench.reductions.int8_backends import missing_backend, onnxruntime_model
from joulebench.reductions.quantize import EXPORTED

ENGINES = ("onnxruntime",)


@dataclass(frozen=True)
class RuntimeConfig:
    """Parameters of ``runtime``."""

    engine: str = param("Execution engine: onnxruntime (fp32 ONNX graph on CPU).", "onnxruntime")

    def validate(self) -> None:
        """Raise ValueError naming the field when a value is impossible."""
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {self.engine!r}")


@register_reduction("runtime", help="run the fp32 model with another engine: onnxruntime")
class Runtime:
    """Hand the model to another execution engine."""

    task_kinds: ClassVar[tuple[str, ...]] = ("classification", "regression")
    span_refusal: ClassVar[str] = "its exported graph returns one logits tensor, not start and end logits"

    config_cls: ClassVar[type] = RuntimeConfig
    family: ClassVar[str] = "runtime"

    @staticmethod
    def check_chain(cfg: RuntimeConfig, before: Sequence[str], device: str | None) -> None:
        bound = [b for b in before if b in ("quantize", "early_exit", "token_prune", EXPORTED, "runtime")]
        if bound:
            raise ValueError(f"engine {cfg.engine} exports a fixed fp32 graph, which cannot follow {bound[0]}; "
                             "for int8 with onnxruntime use quantize with backend onnxruntime")
        if device == "cuda":
            raise ValueError(f"engine {cfg.engine} runs on CPU here (CPUExecutionProvider); use device cpu")

    @staticmethod
    def chain_tags(cfg: RuntimeConfig) -> tuple[str, ...]:
        return ("runtime", EXPORTED)

    def apply(self, model: nn.Module, cfg: RuntimeConfig, ctx: ReductionContext) -> tuple[nn.Module, dict]:
        """Export ``model`` and return the onnxruntime wrapper."""
        reason = missing_backend("onnxruntime")
        if reason is not None:
            raise UserError(f"runtime: engine onnxruntime cannot run here: {reason}")
        wrapped, _ = onnxruntime_model(model, int8=False)
        return wrapped, {"engine": cfg.engine, "precision": "fp32"}
