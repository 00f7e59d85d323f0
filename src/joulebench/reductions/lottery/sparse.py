"""Real sparse execution of a ticket: CSR matmul on CPU, 2:4 semi-structured on CUDA.

Unstructured zeros do not make dense kernels faster: a masked ``nn.Linear`` still multiplies
every zero. :func:`to_sparse_csr` replaces each pruned Linear with :class:`CsrLinear`, which
stores only the surviving weights (CSR) and multiplies with ``torch.sparse`` kernels; whether
that is faster depends on sparsity, shapes and the CPU (``benchmarks/sparse.py`` measures it).

2:4 semi-structured sparsity (two of every four consecutive weights zero, run by NVIDIA sparse
tensor cores) needs CUDA and fp16/bf16, and a ticket's mask is not 2:4: :func:`to_semi_structured_24`
re-prunes each matrix to the 2:4 pattern (keeping the larger two of every four ticket weights),
which changes the subnetwork; it is offered for timing, and says so.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn

from joulebench.reductions.lottery.masks import TicketMask, check_compatible
from joulebench.reductions.lottery.targets import base_model, prunable_linears


class CsrLinear(nn.Module):
    """``y = x W^T + b`` with ``W`` stored as a sparse CSR tensor (only its nonzeros).

    ``weight`` is a frozen CSR parameter, so ``parameters()`` still counts the dense shape; the
    number actually stored is ``nnz``.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None) -> None:
        super().__init__()
        self.in_features = int(weight.shape[1])
        self.out_features = int(weight.shape[0])
        with warnings.catch_warnings():  # "sparse CSR support is in beta": known, and said in the docs
            warnings.simplefilter("ignore", UserWarning)
            csr = weight.detach().to_sparse_csr()
        self.weight = nn.Parameter(csr, requires_grad=False)
        self.bias = None if bias is None else nn.Parameter(bias.detach().clone(), requires_grad=False)

    @property
    def nnz(self) -> int:
        """Stored (surviving) weights."""
        return int(self.weight._nnz())

    @classmethod
    def from_linear(cls, linear: nn.Linear) -> CsrLinear:
        """The CSR twin of a (masked) dense Linear."""
        return cls(linear.weight, linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, self.in_features)
        # (out, in) CSR @ (in, N) dense is the kernel torch implements well on CPU (MKL when
        # available); F.linear with a CSR weight is slower.
        out = torch.mm(self.weight, flat.t()).t()
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*x.shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, nnz={self.nnz}, layout=csr"


def _replace(root: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, new)


@torch.no_grad()
def to_sparse_csr(model: nn.Module, mask: TicketMask | None = None, min_sparsity: float = 0.0) -> dict:
    """Swap the pruned Linears of ``model`` for :class:`CsrLinear`, in place.

    Args:
        model: a model whose prunable weights are already masked (zeros where pruned).
        mask: when given, checked against the model and applied again before conversion.
        min_sparsity: convert only matrices at least this sparse (CSR loses at low sparsity).

    Returns:
        ``{"csr_layers": n converted, "dense_layers": n left dense, "csr_nnz": stored weights}``.
    """
    if mask is not None:
        check_compatible(model, mask)
    root = base_model(model)
    converted = kept_dense = nnz = 0
    for name, linear in prunable_linears(model, mask.targets if mask is not None else "encoder+pooler").items():
        if mask is not None:
            linear.weight.mul_(mask.masks[f"{name}.weight"].to(linear.weight.device, linear.weight.dtype))
        zeros = 1.0 - float((linear.weight != 0).sum()) / linear.weight.numel()
        if zeros < min_sparsity:
            kept_dense += 1
            continue
        module = CsrLinear.from_linear(linear)
        nnz += module.nnz
        _replace(root, name, module)
        converted += 1
    return {"csr_layers": converted, "dense_layers": kept_dense, "csr_nnz": nnz}


def semi_structured_available() -> tuple[bool, str]:
    """Whether 2:4 semi-structured kernels can run here, and why not."""
    if not torch.cuda.is_available():
        return False, "2:4 semi-structured sparsity needs a CUDA GPU (sparse tensor cores); none is available"
    major, _ = torch.cuda.get_device_capability()
    if major < 8:
        return False, f"2:4 semi-structured sparsity needs compute capability >= 8.0, this GPU has {major}.x"
    if not hasattr(torch.sparse, "to_sparse_semi_structured"):
        return False, "this torch build has no torch.sparse.to_sparse_semi_structured"
    return True, ""


@torch.no_grad()
def two_four_mask(weight: torch.Tensor) -> torch.Tensor:
    """Keep the two largest-|w| of every four consecutive weights along each row (True = kept)."""
    rows, cols = weight.shape
    if cols % 4:
        raise ValueError(f"2:4 needs a multiple of 4 input features, got {cols}")
    groups = weight.abs().reshape(rows, cols // 4, 4)
    top = groups.topk(2, dim=-1).indices
    keep = torch.zeros_like(groups, dtype=torch.bool).scatter_(-1, top, True)
    return keep.reshape(rows, cols)


class SemiStructuredLinear(nn.Module):
    """A Linear whose fp16/bf16 CUDA weight is a 2:4 semi-structured sparse tensor."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        from torch.sparse import to_sparse_semi_structured

        w = linear.weight.detach()
        w = w * two_four_mask(w).to(w.dtype)
        self.weight = nn.Parameter(to_sparse_semi_structured(w), requires_grad=False)
        self.bias = None if linear.bias is None else nn.Parameter(linear.bias.detach().clone(), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias)


@torch.no_grad()
def to_semi_structured_24(model: nn.Module) -> dict:
    """Re-prune every prunable Linear of a CUDA fp16/bf16 model to 2:4 and swap in sparse kernels.

    This is a different subnetwork from the ticket (2:4 is forced on top of its mask), offered to
    price what hardware-supported sparsity would buy; evaluate its quality before using it.

    Raises:
        RuntimeError: no suitable CUDA device (see :func:`semi_structured_available`).
    """
    ok, why = semi_structured_available()
    if not ok:
        raise RuntimeError(why)
    root = base_model(model)
    n = 0
    for name, linear in prunable_linears(model).items():
        if linear.weight.device.type != "cuda" or linear.weight.dtype not in (torch.float16, torch.bfloat16):
            raise RuntimeError("2:4 semi-structured needs the model on CUDA in float16 or bfloat16")
        _replace(root, name, SemiStructuredLinear(linear))
        n += 1
    return {"semi_structured_layers": n, "note": "re-pruned to 2:4 on top of the ticket mask (a different subnetwork)"}
