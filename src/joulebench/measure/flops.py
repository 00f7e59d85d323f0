"""Forward-pass FLOPs counted by PyTorch's dispatcher-level FLOP counter."""

from __future__ import annotations

import logging

import torch
from torch.utils.flop_counter import FlopCounterMode

logger = logging.getLogger("joulebench.measure")


def forward_flops(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> float | None:
    """Total FLOPs of one ``model(**batch)`` call.

    Counts matmul/conv/attention ops as PyTorch's FlopCounterMode does (a
    multiply-add is 2 FLOPs; element-wise ops such as bias, GELU and softmax
    are not counted). Sparse or quantized kernels may be invisible to it, so
    compare reductions on FLOPs only with that caveat.

    Args:
        model: the module to run (its mode is left as is; call ``eval()`` first).
        batch: keyword inputs of the forward pass.

    Returns:
        FLOPs as a float, or None (with a logged reason) if counting failed.
    """
    counter = FlopCounterMode(display=False)
    try:
        with torch.inference_mode(), counter:
            model(**batch)
    except Exception as err:  # FLOPs are optional metadata; never fail the run for them
        logger.warning("FLOP counting failed for %s: %s: %s", type(model).__name__, type(err).__name__, err)
        return None
    return float(counter.get_total_flops())


def batch_size_of(batch: dict[str, torch.Tensor]) -> int:
    """Number of examples in ``batch``: first dim of ``input_ids`` or else of the first tensor.

    Raises:
        ValueError: if the batch holds no tensor with a batch dimension.
    """
    tensors = [batch["input_ids"]] if "input_ids" in batch else list(batch.values())
    for tensor in tensors:
        if isinstance(tensor, torch.Tensor) and tensor.dim() > 0:
            return int(tensor.shape[0])
    raise ValueError("batch has no tensor with a batch dimension")


def flops_per_example(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> float | None:
    """``forward_flops`` divided by the batch size (None when counting failed)."""
    total = forward_flops(model, batch)
    if total is None:
        return None
    return total / batch_size_of(batch)
