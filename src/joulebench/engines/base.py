"""The engine interface: what runs a (reduced) model, at which precision, and what it says it ran.

An engine takes the model the reductions left (a torch module) and returns a module called like a classifier
(``input_ids``, ``attention_mask``, ``token_type_ids`` -> logits), with the facts a record keeps: the engine's
name and version, the precision asked and the precision the engine reports having executed, threads, and the
one-off cost of getting there (conversion, compilation, calibration). One module per engine registers itself in
:data:`ENGINES` (``engines/__init__.py`` imports them); adding one (ONNX Runtime's CUDA provider, TensorRT,
OpenVINO's GPU device) is one module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import torch
from torch import nn

from joulebench.registry import Registry

#: Precisions a configuration can ask for (a ``quantize``/``int8`` reduction, else fp32).
PRECISIONS = ("fp32", "bf16", "fp16", "int8")

#: The engine of a configuration that names none: torch eager.
DEFAULT_ENGINE = "torch"


@dataclass
class EngineContext:
    """What an engine may need beyond the model.

    Attributes:
        device: "cpu" or "cuda".
        threads: the run's pinned thread count, set through the engine's own knob.
        example: one padded batch of the measured inputs (names -> tensors), to trace or convert the model.
        calibration: callable returning padded batches of TRAINING inputs (never the reported split), for a
            precision that is calibrated (static int8).
        calibration_note: what those batches are, for the record.
        span: the model answers questions (start and end logits), not classes.
    """

    device: str = "cpu"
    threads: int = 1
    example: dict[str, torch.Tensor] = field(default_factory=dict)
    calibration: Callable[[], list[dict[str, torch.Tensor]]] | None = None
    calibration_note: str = ""
    span: bool = False


@dataclass
class Prepared:
    """A model ready to run on an engine, and what the engine says about it (the record's ``engine`` section)."""

    model: nn.Module
    facts: dict[str, Any]


class Engine(Protocol):
    """One execution engine.

    Attributes:
        name: the key written in configurations (``engine: openvino``).
        precisions: what it can be asked to run.
        dynamic: whether it runs data-dependent control flow (early exit, token pruning).
        devices: the devices it runs on here.
        span: whether it runs question-answering heads (start and end logits).
    """

    name: ClassVar[str]
    precisions: ClassVar[tuple[str, ...]]
    dynamic: ClassVar[bool]
    devices: ClassVar[tuple[str, ...]]
    span: ClassVar[bool]

    def missing(self) -> str | None:
        """Why this engine cannot run here (not installed), or None."""

    def precision_problem(self, precision: str, device: str) -> str | None:
        """Why ``precision`` cannot execute on ``device`` with this engine here, or None."""

    def version(self) -> str:
        """The installed version."""

    def prepare(self, model: nn.Module, precision: str, ctx: EngineContext) -> Prepared:
        """``model`` made ready to run at ``precision``."""


ENGINES: Registry[Any] = Registry("engine")


def register_engine(name: str, help: str = "") -> Callable[[type], type]:
    """Class decorator: register an engine class under ``name`` (an instance is what is looked up)."""

    def decorator(cls: type) -> type:
        cls.name = name  # type: ignore[attr-defined]
        ENGINES.register(name, help=help or (cls.__doc__ or "").strip().split("\n")[0])(cls())
        return cls

    return decorator


def refusal(engine: Any, precision: str, device: str, dynamic: list[str], span: bool) -> str | None:
    """Why ``engine`` cannot run this configuration (a precision, data-dependent reductions, a span head, a
    device), or None. The same sentence is said at validate and at run."""
    missing = engine.missing()
    if missing is not None:
        return f"engine {engine.name} is not available here: {missing}"
    if device not in engine.devices:
        return (f"engine {engine.name} runs on {', '.join(engine.devices)} here, not {device}; use "
                f"measure.device {engine.devices[0]} or engine torch")
    if precision not in engine.precisions:
        return (f"engine {engine.name} cannot run precision {precision} (it runs {', '.join(engine.precisions)}); "
                "use engine torch or another precision")
    if dynamic and not engine.dynamic:
        return (f"engine {engine.name} runs a fixed graph, which cannot hold {dynamic[0]}'s data-dependent control "
                "flow; use engine torch or torch_compile for it")
    if span and not engine.span:
        return f"engine {engine.name} runs classifiers only here (one logits output); use engine torch for QA"
    return engine.precision_problem(precision, device)
