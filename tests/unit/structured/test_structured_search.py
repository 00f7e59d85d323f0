"""Iterative pruning, the stopping rule and the good/bad/random variants."""

from __future__ import annotations

import pytest
import torch

from joulebench.reductions.structured import StructureMask, compact, gradient_importance, iterative_prune
from joulebench.reductions.structured.importance import Importance, Scored
from joulebench.reductions.structured.layers import geometry, param_count
from joulebench.reductions.structured.pipeline import Targets, make_scorer
from joulebench.reductions.structured.search import SearchPlan, is_block_mask, prune_step, variant_mask

# fixed scores: head (l, h) scores 10*l + h, so removal order is layer 0 first, low index first;
# FFN block l scores 3 - l, so the last layer's block goes first
HEADS = torch.arange(12, dtype=torch.float32).view(3, 4) + torch.tensor([[0.0], [6.0], [12.0]])
BLOCKS = torch.tensor([3.0, 2.0, 1.0])


def fake_scorer(accuracy_of):
    """Constant importance; accuracy from (heads removed, FFN blocks removed)."""
    calls = []

    def score(mask: StructureMask) -> Scored:
        removed = (12 - mask.n_heads_kept, 3 - mask.n_ffn_blocks_kept)
        calls.append(removed)
        imp = Importance(HEADS.masked_fill(~mask.heads, 0), mask.ffn.float(), BLOCKS * mask.ffn.any(1), "fake")
        return Scored(imp, accuracy_of(*removed), 100)

    score.calls = calls
    return score


FULL = StructureMask.full(type("G", (), {"num_layers": 3, "num_heads": 4, "intermediate_size": 64})())


def plan(heads_per_step=1, stop=0.9, refine=True):
    return SearchPlan(heads_per_step, 1, 12, 3, "block", stop, refine)


def test_stops_before_the_step_that_falls_below_090_of_full():
    scorer = fake_scorer(lambda h, b: 1.0 - 0.03 * h - 0.015 * b)
    result = iterative_prune(scorer, FULL, plan())
    # joint steps: (1,1) .955 ok, (2,2) .91 ok, (3,3) .865 < .9 stop; heads-only (3,2) .88 stop;
    # FFN-only (2,3) .895 stop
    assert scorer.calls == [(0, 0), (1, 1), (2, 2), (3, 3), (3, 2), (2, 3)]
    assert (12 - result.mask.n_heads_kept, 3 - result.mask.n_ffn_blocks_kept) == (2, 2)
    assert result.accuracy == pytest.approx(0.91) and result.threshold == pytest.approx(0.9)
    assert result.mask.heads_kept() == [[2, 3], [0, 1, 2, 3], [0, 1, 2, 3]]  # the two lowest scores went
    assert result.mask.ffn_kept()[0] == list(range(64)) and result.mask.ffn_kept()[1:] == [[], []]
    assert [e["accepted"] for e in result.trace] == [True, True, True, False, False, False]


def test_refinement_phases_continue_with_half_steps():
    scorer = fake_scorer(lambda h, b: 1.0 - 0.02 * h - 0.03 * b)
    result = iterative_prune(scorer, FULL, plan(heads_per_step=2))
    # joint (2,1) .93 ok, (4,2) .86 stop; heads-only 1 per step: (3,1) .91 ok, (4,1) .89 stop;
    # FFN-only (3,2) .88 stop
    assert scorer.calls == [(0, 0), (2, 1), (4, 2), (3, 1), (4, 1), (3, 2)]
    assert (12 - result.mask.n_heads_kept, 3 - result.mask.n_ffn_blocks_kept) == (3, 1)


def test_without_refinement_only_the_joint_phase_runs():
    scorer = fake_scorer(lambda h, b: 1.0 - 0.02 * h - 0.03 * b)
    result = iterative_prune(scorer, FULL, plan(heads_per_step=2, refine=False))
    assert scorer.calls == [(0, 0), (2, 1), (4, 2)]
    assert (12 - result.mask.n_heads_kept, 3 - result.mask.n_ffn_blocks_kept) == (2, 1)


def test_a_model_that_never_degrades_is_pruned_to_the_caps():
    scorer = fake_scorer(lambda h, b: 1.0)
    result = iterative_prune(scorer, FULL, SearchPlan(1, 1, 5, 2, "block", 0.9))
    assert (result.mask.n_heads_kept, result.mask.n_ffn_blocks_kept) == (7, 1)


def test_size_targets_without_stopping_rule(tiny, scoring_batches):
    geo = geometry(tiny)
    targets = Targets(heads_frac=0.5, ffn_frac=0.5, granularity="neuron", heads_step_frac=0.25, ffn_step_frac=0.1)
    scorer = make_scorer(tiny, scoring_batches, "gradient")
    result = iterative_prune(scorer, StructureMask.full(geo), targets.plan(geo))
    assert (result.mask.n_heads_kept, result.mask.n_ffn_kept) == (6, 96)
    assert len(result.trace) == 1 + 6  # 19 units per step: 96 removed after 6 steps (heads: 3 per step, 2 steps)
    one_shot = iterative_prune(scorer, StructureMask.full(geo),
                               Targets(0.5, 0.5, "neuron", iterative=False).plan(geo))
    assert (one_shot.mask.n_heads_kept, one_shot.mask.n_ffn_kept) == (6, 96) and len(one_shot.trace) == 2


def test_prune_step_removes_the_lowest_kept_scores():
    imp = Importance(HEADS, torch.arange(192, dtype=torch.float32).view(3, 64), BLOCKS, "fake")
    step = prune_step(FULL, imp, 3, 5, "neuron")
    assert step.heads_kept()[0] == [3] and step.n_heads_kept == 9
    assert step.ffn_kept()[0] == list(range(5, 64))
    again = prune_step(step, imp, 1, 1, "block")
    assert again.heads_kept()[0] == [] and again.ffn_kept()[2] == []


@pytest.mark.parametrize("granularity", ["neuron", "block"])
def test_variants_have_equal_size_and_differ_as_defined(make_tiny, scoring_batches, granularity):
    model = make_tiny(0)
    geo = geometry(model)
    initial = gradient_importance(model, scoring_batches).importance
    good = prune_step(StructureMask.full(geo), initial, 5, 1 if granularity == "block" else 80, granularity)
    masks = {v: variant_mask(v, good, initial, granularity, seed=0) for v in ("good", "bad", "random")}
    params = set()
    for variant, mask in masks.items():
        assert mask.same_size(good) and mask.meta["variant"] == variant
        params.add(param_count(compact(make_tiny(0), mask)))
    assert len(params) == 1  # physically the same size
    bad = masks["bad"]
    assert initial.heads[bad.heads].max() <= initial.heads[~bad.heads].min()
    if granularity == "block":
        assert all(is_block_mask(m) for m in masks.values())
        assert initial.ffn_blocks[bad.ffn.any(1)].max() <= initial.ffn_blocks[~bad.ffn.any(1)].min()
    else:
        assert initial.ffn[bad.ffn].max() <= initial.ffn[~bad.ffn].min()
    assert not masks["bad"].equals(good) and not masks["random"].equals(good)
    again = variant_mask("random", good, initial, granularity, seed=0)
    other = variant_mask("random", good, initial, granularity, seed=1)
    assert again.equals(masks["random"]) and not other.equals(masks["random"])


def test_block_variants_need_a_block_mask(tiny):
    geo = geometry(tiny)
    partial = StructureMask.from_kept([[0]] * 3, [[1, 2]] * 3, 4, 64)
    imp = Importance(HEADS, torch.ones(3, 64), BLOCKS, "fake")
    with pytest.raises(ValueError, match="block"):
        variant_mask("bad", partial, imp, "block", 0)
    assert variant_mask("good", partial, imp, "block", 0).equals(partial)
    assert StructureMask.full(geo).n_ffn_blocks_kept == 3
