"""Gradient and magnitude importance: definition, normalisation, determinism."""

from __future__ import annotations

import torch

from joulebench.reductions.structured import StructureMask, gradient_importance, magnitude_importance
from joulebench.reductions.structured.gates import GateSet, gated
from joulebench.reductions.structured.layers import geometry


def test_gradient_importance_is_deterministic_for_a_fixed_seed(make_tiny, scoring_batches):
    first = gradient_importance(make_tiny(0), scoring_batches)
    second = gradient_importance(make_tiny(0), scoring_batches)
    other = gradient_importance(make_tiny(1), scoring_batches)
    for a, b in ((first.importance.heads, second.importance.heads), (first.importance.ffn, second.importance.ffn),
                 (first.importance.ffn_blocks, second.importance.ffn_blocks)):
        assert torch.equal(a, b)
    assert first.accuracy == second.accuracy and first.n_examples == 24
    assert not torch.equal(first.importance.heads, other.importance.heads)


def test_scores_are_mean_absolute_per_example_gate_gradients(tiny, scoring_batches):
    """Reference: one example at a time, scalar gates, raw (unnormalised) scores."""
    scored = gradient_importance(tiny, scoring_batches, normalize=False).importance
    geo = geometry(tiny)
    heads = torch.zeros(geo.num_layers, geo.num_heads)
    units = torch.zeros(geo.num_layers, geo.intermediate_size)
    blocks = torch.zeros(geo.num_layers)
    n = 0
    for batch in scoring_batches:
        for row in range(batch["labels"].shape[0]):
            one = {k: v[row:row + 1] for k, v in batch.items()}
            gates = GateSet(geo.num_layers)
            hg = torch.ones(geo.num_layers, geo.num_heads, requires_grad=True)
            ug = torch.ones(geo.num_layers, geo.intermediate_size, requires_grad=True)
            bg = torch.ones(geo.num_layers, requires_grad=True)
            for layer in range(geo.num_layers):
                gates.heads[layer] = hg[layer]
                gates.ffn[layer] = ug[layer] * bg[layer]
            with gated(tiny, gates):
                tiny(**one).loss.backward()
            heads += hg.grad.abs()
            units += ug.grad.abs()
            blocks += bg.grad.abs()
            n += 1
    torch.testing.assert_close(scored.heads, heads / n, atol=1e-6, rtol=1e-4)
    torch.testing.assert_close(scored.ffn, units / n, atol=1e-6, rtol=1e-4)
    torch.testing.assert_close(scored.ffn_blocks, blocks / n, atol=1e-6, rtol=1e-4)


def test_head_and_unit_scores_are_l2_normalised_per_layer(tiny, scoring_batches):
    imp = gradient_importance(tiny, scoring_batches).importance
    torch.testing.assert_close(imp.heads.norm(dim=1), torch.ones(3))
    torch.testing.assert_close(imp.ffn.norm(dim=1), torch.ones(3))


def test_removed_structures_score_zero_and_weights_are_untouched(tiny, scoring_batches):
    before = {k: v.clone() for k, v in tiny.state_dict().items()}
    mask = StructureMask.from_kept([[0, 1], [2], [0, 1, 2, 3]], [list(range(32)), [], list(range(64))], 4, 64)
    imp = gradient_importance(tiny, scoring_batches, mask).importance
    assert (imp.heads[~mask.heads] == 0).all() and (imp.heads[mask.heads] > 0).all()
    assert (imp.ffn[~mask.ffn] == 0).all() and imp.ffn_blocks[1] == 0
    assert all(torch.equal(before[k], v) for k, v in tiny.state_dict().items())
    assert all(p.requires_grad for p in tiny.parameters()) and all(p.grad is None for p in tiny.parameters())


def test_magnitude_importance_is_the_norm_of_owned_weights(tiny):
    imp = magnitude_importance(tiny, normalize=False)
    layer = tiny.bert.encoder.layer[1]
    attn, d = layer.attention.self, 8
    rows = slice(2 * d, 3 * d)  # head 2
    expected = torch.sqrt(sum(m.weight[rows].pow(2).sum() for m in (attn.query, attn.key, attn.value))
                          + layer.attention.output.dense.weight[:, rows].pow(2).sum())
    torch.testing.assert_close(imp.heads[1, 2], expected)
    unit = torch.sqrt(layer.intermediate.dense.weight[5].pow(2).sum() + layer.output.dense.weight[:, 5].pow(2).sum())
    torch.testing.assert_close(imp.ffn[1, 5], unit)
    assert torch.equal(magnitude_importance(tiny).heads, magnitude_importance(tiny).heads)
