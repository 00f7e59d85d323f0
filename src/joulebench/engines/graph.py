"""What the graph engines (ONNX Runtime, OpenVINO) share: the model as one logits function of its inputs, and the
torch module that calls a compiled graph like a classifier."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")


class LogitsOnly(nn.Module):
    """``model`` as a function of (ids, mask, token types) returning its logits tensor: what a graph holds."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor) -> torch.Tensor:
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        return out if isinstance(out, torch.Tensor) else out.logits


def example_inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A padded example batch: an all-ones mask would be optimised away at trace time and padding would then leak
    into attention. Small ids, valid in any vocabulary."""
    ids = torch.tensor([[2, 5, 6, 7, 3], [2, 8, 3, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    return ids, mask, torch.zeros_like(ids)


def export_onnx(model: nn.Module, path: Path) -> None:
    """Export ``model`` (logits from ids, mask, token types) to ONNX with dynamic batch and length."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about Python control flow on shapes
        torch.onnx.export(
            LogitsOnly(model).eval(), example_inputs(), str(path), input_names=list(INPUT_NAMES),
            output_names=["logits"], dynamic_axes={n: {0: "batch", 1: "tokens"} for n in INPUT_NAMES},
            opset_version=17, dynamo=False,
        )


def feed_of(inputs: set[str], input_ids: torch.Tensor, attention_mask: torch.Tensor | None,
            token_type_ids: torch.Tensor | None) -> dict[str, np.ndarray]:
    """The arrays a graph with ``inputs`` takes (a missing mask is all ones, missing token types zeros)."""
    given = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
    return {name: (value if value is not None else torch.zeros_like(input_ids) if name == "token_type_ids"
                   else torch.ones_like(input_ids)).cpu().numpy()
            for name, value in given.items() if name in inputs}


class GraphClassifier(nn.Module):
    """A compiled graph called like a classifier: ``run(feed) -> logits array``. It has no torch parameters or
    layers: every reduction that changes layers has been applied before the graph was made.

    Attributes:
        graph_param_count: the graph's weights (initializers, int8 ones included), for the record.
        exported: ``{file name: bytes}`` of what the engine runs, for ``export`` (the ONNX graph, the IR).
    """

    def __init__(self, run: Callable[[dict[str, np.ndarray]], np.ndarray], inputs: set[str], config: Any,
                 graph_param_count: int | None = None, exported: dict[str, bytes] | None = None) -> None:
        super().__init__()
        self._run = run
        self._inputs = inputs
        self.config = config
        self.graph_param_count = graph_param_count
        self.exported = exported or {}

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        return torch.from_numpy(np.asarray(self._run(feed_of(self._inputs, input_ids, attention_mask,
                                                             token_type_ids))))


def onnx_weight_count(path: Path) -> int:
    """Weights held by an ONNX graph's initializers (scalars left out)."""
    import onnx

    graph = onnx.load(str(path)).graph
    return sum(math.prod(t.dims) for t in graph.initializer if len(t.dims) > 0 and math.prod(t.dims) > 1)
