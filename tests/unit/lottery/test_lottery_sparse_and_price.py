"""CSR execution matches dense masked execution; the price figures count what they claim."""

from __future__ import annotations

import pytest
import torch

from joulebench.reductions.lottery import (
    CsrLinear,
    TicketMask,
    apply_mask,
    global_magnitude_mask,
    linear_flops_per_token,
    prunable_linears,
    prunable_weights,
    storage_bytes,
    to_sparse_csr,
)
from joulebench.reductions.lottery.price import nonzero_flops_per_example, ticket_details
from joulebench.reductions.lottery.sparse import semi_structured_available, two_four_mask


def _batch(seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, 100, (3, 9), generator=gen)
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}


@pytest.mark.parametrize("sparsity", [0.5, 0.9])
def test_csr_execution_gives_the_dense_masked_logits(model, sparsity):
    mask = TicketMask(global_magnitude_mask(prunable_weights(model), sparsity))
    apply_mask(model, mask)
    batch = _batch()
    with torch.inference_mode():
        dense = model(**batch).logits
    info = to_sparse_csr(model, mask)
    assert info["csr_layers"] == len(mask.masks) and info["csr_nnz"] == mask.kept
    assert not prunable_linears(model)  # every pruned Linear was replaced
    assert isinstance(model.bert.encoder.layer[0].attention.self.query, CsrLinear)
    with torch.inference_mode():
        sparse = model(**batch).logits
    torch.testing.assert_close(sparse, dense, rtol=1e-4, atol=1e-5)


def test_csr_min_sparsity_leaves_denser_matrices_dense(model):
    mask = TicketMask(global_magnitude_mask(prunable_weights(model), 0.5))
    apply_mask(model, mask)
    layer = mask.layer_sparsity()
    threshold = sorted(layer.values())[len(layer) // 2]
    info = to_sparse_csr(model, mask, min_sparsity=threshold)
    assert info["dense_layers"] == sum(1 for s in layer.values() if s < threshold) > 0


def test_nonzero_flops_and_storage(model):
    mask = TicketMask(global_magnitude_mask(prunable_weights(model), 0.75))
    flops = linear_flops_per_token(mask, model)
    dense = sum(2 * lin.in_features * lin.out_features for lin in prunable_linears(model).values())
    assert flops == {"flops_per_token_pruned_linears_dense": dense,
                     "flops_per_token_pruned_linears_nonzero": 2 * mask.kept}
    sizes = storage_bytes(mask, model)
    params = sum(p.numel() for p in model.parameters())
    assert sizes["model_bytes_dense"] == params * 4
    rest = (params - mask.total) * 4
    rows = sum(m.shape[0] + 1 for m in mask.masks.values())
    assert sizes["model_bytes_csr"] == rest + mask.kept * 8 + rows * 4
    assert sizes["model_bytes_bitmask"] < sizes["model_bytes_dense"]
    assert nonzero_flops_per_example(1e6, 10, flops) == 1e6 - 10 * (dense - 2 * mask.kept)
    details = ticket_details(mask, model, "dense")
    assert details["dense_kernels"] is True and "dense model" in details["cost_note"]
    assert details["nonzero_flop_ratio_pruned_linears"] == pytest.approx(0.25, abs=1e-3)


def test_two_four_pattern_and_cuda_check():
    w = torch.randn(8, 16)
    keep = two_four_mask(w)
    assert keep.reshape(8, 4, 4).sum(-1).eq(2).all()
    ok, why = semi_structured_available()
    if not torch.cuda.is_available():
        assert not ok and "CUDA" in why
