"""The price of a ticket: what its zeros save on paper, in storage, and (not) on dense kernels.

Three views, kept apart on purpose:

* FLOPs that skip zeros: a pruned Linear applied to one token costs ``2 * nnz`` FLOPs instead of
  ``2 * in * out``; :func:`linear_flops_per_token` gives both for the pruned layers.
* Storage: the pruned matrices as CSR (fp32 values, int32 column indices, int32 row pointers) or
  as a bitmask plus fp32 values, everything else dense fp32; :func:`storage_bytes`.
* Wall-clock and energy: measured, never derived from the above. With ``execution: dense`` the
  zeros are multiplied like any weight, so latency and energy are those of the dense model.
"""

from __future__ import annotations

import math

from torch import nn

from joulebench.reductions.lottery.masks import TicketMask
from joulebench.reductions.lottery.targets import prunable_linears

_FP32 = 4
_INDEX = 4

DENSE_KERNELS_NOTE = (
    "unstructured zeros are multiplied like any weight by dense kernels: latency and energy are those of the "
    "dense model; see flops_per_token_nonzero and storage bytes for what the zeros save on paper"
)


def linear_flops_per_token(mask: TicketMask, model: nn.Module) -> dict[str, int]:
    """FLOPs per token of the pruned Linear layers, dense and counting only surviving weights."""
    dense = nonzero = 0
    for name, linear in prunable_linears(model, mask.targets).items():
        dense += 2 * linear.in_features * linear.out_features
        nonzero += 2 * int(mask.masks[f"{name}.weight"].sum())
    return {"flops_per_token_pruned_linears_dense": dense, "flops_per_token_pruned_linears_nonzero": nonzero}


def storage_bytes(mask: TicketMask, model: nn.Module) -> dict[str, int]:
    """Model size in bytes: dense fp32, and with the pruned matrices stored as CSR or bitmask+values.

    Tied parameters count once; every parameter outside the pruned matrices stays dense fp32.
    """
    params = {id(p): p for p in model.parameters()}
    dense_total = sum(p.numel() for p in params.values()) * _FP32
    pruned = {id(m.weight) for m in prunable_linears(model, mask.targets).values()}
    rest = sum(p.numel() for i, p in params.items() if i not in pruned) * _FP32
    csr = bitmask = 0
    for keep in mask.masks.values():
        nnz = int(keep.sum())
        rows = keep.shape[0]
        csr += nnz * (_FP32 + _INDEX) + (rows + 1) * _INDEX
        bitmask += math.ceil(keep.numel() / 8) + nnz * _FP32
    return {"model_bytes_dense": dense_total, "model_bytes_csr": rest + csr, "model_bytes_bitmask": rest + bitmask}


def ticket_details(mask: TicketMask, model: nn.Module, execution: str) -> dict:
    """What a ticket changed and what it costs on paper, for the record's reduction details."""
    flops = linear_flops_per_token(mask, model)
    sizes = storage_bytes(mask, model)
    layer = mask.layer_sparsity()
    details = {
        "sparsity": round(mask.sparsity, 6),
        "pruned_weights": mask.total - mask.kept,
        "prunable_weights": mask.total,
        "nonzero_prunable_weights": mask.kept,
        "pruned_matrices": len(mask.masks),
        "targets": mask.targets,
        "layer_sparsity_min": round(min(layer.values()), 6) if layer else None,
        "layer_sparsity_max": round(max(layer.values()), 6) if layer else None,
        "execution": execution,
        **flops,
        "nonzero_flop_ratio_pruned_linears": (
            flops["flops_per_token_pruned_linears_nonzero"] / flops["flops_per_token_pruned_linears_dense"]
            if flops["flops_per_token_pruned_linears_dense"] else None
        ),
        **sizes,
        "dense_kernels": execution == "dense",
    }
    if execution == "dense":
        details["cost_note"] = DENSE_KERNELS_NOTE
    return details


def nonzero_flops_per_example(dense_flops_per_example: float | None, tokens_per_example: float,
                              flops: dict[str, int]) -> float | None:
    """Dense forward FLOPs per example minus what the pruned Linears' zeros would skip."""
    if dense_flops_per_example is None:
        return None
    saved = flops["flops_per_token_pruned_linears_dense"] - flops["flops_per_token_pruned_linears_nonzero"]
    return dense_flops_per_example - saved * tokens_per_example
