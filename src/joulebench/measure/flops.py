"""Forward-pass FLOPs counted by PyTorch's dispatcher-level FLOP counter."""

from __future__ import annotations

import logging
import math
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

logger = logging.getLogger("joulebench.measure")


def _linear_dynamic_flop(x_shape, _packed_params, *args, out_shape=None, **kwargs) -> int:
    """Dynamic int8 Linear (``quantized::linear_dynamic``): the same multiply-adds as the fp32 Linear."""
    rows = math.prod(x_shape[:-1])
    return 2 * rows * x_shape[-1] * out_shape[-1]


def _sdpa_flop(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    """``aten.scaled_dot_product_attention`` as CPU inference dispatches it (QK^T and AV)."""
    return sdpa_flop_count(query_shape, key_shape, value_shape)


# Ops the stock counter does not know but our models run: without these, a quantized model would
# count 0 FLOPs and attention would be missing from every CPU inference count. The counter looks
# an op up by overload (else it decomposes it, and CPU attention decomposes into kernels it cannot
# see) and counts it by packet, so each formula is registered under both keys.
_EXTRA_FORMULAS = {
    key: formula
    for packet, formula in (
        (torch.ops.quantized.linear_dynamic, _linear_dynamic_flop),
        (torch.ops.aten.scaled_dot_product_attention, _sdpa_flop),
    )
    for key in (packet, packet.default)
}


def counted_forward(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> tuple[Any, float | None]:
    """Run ``model(**batch)`` once under the FLOP counter: (its output, FLOPs or None).

    Counts matmul/conv/attention ops as PyTorch's FlopCounterMode does (a multiply-add is 2
    FLOPs; element-wise ops such as bias, GELU and softmax are not counted), plus dynamic int8
    Linear layers (counted as the multiply-adds they perform, in int8) and CPU
    scaled-dot-product attention. Sparse kernels are counted by their dense shapes.

    Args:
        model: the module to run (its mode is left as is; call ``eval()`` first).
        batch: keyword inputs of the forward pass.

    Returns:
        The output, and FLOPs as a float or None (with a logged reason) if counting failed or saw
        no countable op (a kernel the counter cannot see is not "zero FLOPs"). When the counter
        itself fails, the forward pass is run again without it, so the output is always real.
    """
    if getattr(model, "graph_param_count", None) is not None:  # a graph engine's model: nothing torch can see
        with torch.inference_mode():
            return model(**batch), None
    counter = FlopCounterMode(display=False, custom_mapping=_EXTRA_FORMULAS)
    # torchao's int8 Linear weights are tensor subclasses whose kernels the counter does not see: their
    # multiply-adds are counted by hooks on those layers instead (2 x input elements x output features).
    subclassed: list[float] = []
    hooks = [m.register_forward_hook(lambda mod, args, out: subclassed.append(2.0 * args[0].numel() * mod.out_features))
             for m in model.modules() if isinstance(m, torch.nn.Linear)
             and type(m.weight) not in (torch.nn.Parameter, torch.Tensor)]
    # The counter's module tracker hooks the gradients of module inputs that require them; a parameter
    # fed to a module as an input (DeBERTa's relative embeddings into a LayerNorm) has none under
    # inference mode, so parameters are frozen while counting and restored after.
    frozen = [p for p in model.parameters() if p.requires_grad]
    try:
        for p in frozen:
            p.requires_grad_(False)
        with torch.inference_mode(), counter:
            output = model(**batch)
    except Exception as err:  # FLOPs are optional metadata; never fail the run for them
        logger.warning("FLOP counting failed for %s: %s: %s", type(model).__name__, type(err).__name__, err)
        with torch.inference_mode():
            return model(**batch), None
    finally:
        for p in frozen:
            p.requires_grad_(True)
        for hook in hooks:
            hook.remove()
    total = float(counter.get_total_flops()) + sum(subclassed)
    if total == 0:
        logger.warning("FLOP counting saw no countable op in %s (kernels invisible to torch's FLOP counter); "
                       "recording null", type(model).__name__)
        return output, None
    return output, total


def forward_flops(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> float | None:
    """Total FLOPs of one ``model(**batch)`` call (see :func:`counted_forward`), or None."""
    try:
        return counted_forward(model, batch)[1]
    except Exception as err:  # the model fails even without the counter: no FLOPs to give
        logger.warning("FLOP counting failed for %s: %s: %s", type(model).__name__, type(err).__name__, err)
        return None


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
