"""What is pruned, how much, and how masks are applied, enforced and rewound."""

from __future__ import annotations

import pytest
import torch
from lottery_helpers import encoded_examples, tiny

from joulebench.reductions.lottery import (
    ImpSchedule,
    MaskEnforcer,
    TicketMask,
    apply_mask,
    global_magnitude_mask,
    iterative_magnitude_pruning,
    prunable_weights,
    random_mask_like,
    sparsity_schedule,
)
from joulebench.reductions.lottery.imp import snapshot
from joulebench.training.trainer import fine_tune

LINEAR_SUFFIXES = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
                   "intermediate.dense", "output.dense")


def test_prunable_weights_are_the_encoder_linears_and_pooler_only(model3):
    keys = list(prunable_weights(model3))
    expected = [f"encoder.layer.{i}.{s}.weight" for i in range(3) for s in LINEAR_SUFFIXES] + ["pooler.dense.weight"]
    assert keys == expected
    params = dict(model3.named_parameters())
    for key, weight in prunable_weights(model3).items():
        assert params[f"bert.{key}"] is weight
    assert not any("embeddings" in k or "LayerNorm" in k or k.endswith("bias") or "classifier" in k for k in keys)


@pytest.mark.parametrize("sparsity", [0.1, 0.37, 0.5, 0.9])
def test_global_magnitude_prunes_the_exact_count_of_smallest_weights(model, sparsity):
    weights = {k: w.detach() for k, w in prunable_weights(model).items()}
    masks = global_magnitude_mask(weights, sparsity)
    total = sum(w.numel() for w in weights.values())
    pruned = sum(int((~m).sum()) for m in masks.values())
    assert pruned == round(sparsity * total)
    kept_min = min(float(w.abs()[m].min()) for w, m in zip(weights.values(), masks.values(), strict=True) if m.any())
    pruned_max = max(float(w.abs()[~m].max()) for w, m in zip(weights.values(), masks.values(), strict=True)
                     if (~m).any())
    assert pruned_max <= kept_min
    # global, not per layer: layers end up with different sparsities
    layer = [1 - m.float().mean().item() for m in masks.values()]
    assert max(layer) - min(layer) > 0.01


def test_masks_are_nested_and_keep_pruned_weights_pruned(model):
    weights = prunable_weights(model)
    first = global_magnitude_mask(weights, 0.3)
    with torch.no_grad():  # make some pruned weights large: they must stay pruned
        for key, w in weights.items():
            w[~first[key]] = 10.0
    second = global_magnitude_mask(weights, 0.5, current=first)
    for key in first:
        assert not (second[key] & ~first[key]).any()
    with pytest.raises(ValueError, match="already prunes"):
        global_magnitude_mask(weights, 0.2, current=first)


def test_apply_mask_zeroes_only_pruned_matrix_entries(model):
    before = snapshot(model)
    mask = TicketMask(global_magnitude_mask(prunable_weights(model), 0.6))
    apply_mask(model, mask)
    after = model.state_dict()
    for name, value in after.items():
        key = name.removeprefix("bert.")
        if key in mask.masks:
            assert torch.equal(value[~mask.masks[key]], torch.zeros(int((~mask.masks[key]).sum())))
            assert torch.equal(value[mask.masks[key]], before[name][mask.masks[key]])
        else:  # embeddings, biases, LayerNorm, classifier untouched
            assert torch.equal(value, before[name]), name


def test_random_mask_has_the_same_per_layer_sparsity(model):
    mask = global_magnitude_mask(prunable_weights(model), 0.7)
    rand = random_mask_like(mask, seed=3)
    for key in mask:
        assert int(rand[key].sum()) == int(mask[key].sum())
        assert rand[key].shape == mask[key].shape
    assert any(not torch.equal(rand[k], mask[k]) for k in mask)
    assert all(torch.equal(a, b) for a, b in zip(rand.values(), random_mask_like(mask, 3).values(), strict=True))


def test_schedule_prunes_ten_percent_of_the_original_per_round():
    assert sparsity_schedule(0.1, 0.9) == (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
    assert sparsity_schedule(0.2, 0.5) == (0.2, 0.4, 0.5)


def test_masks_stay_applied_through_training(model, train_cfg):
    mask = TicketMask(global_magnitude_mask(prunable_weights(model), 0.5))
    apply_mask(model, mask)
    before = {k: w.detach().clone() for k, w in prunable_weights(model).items()}
    fine_tune(model, encoded_examples(24), train_cfg, pad_id=0, after_step=MaskEnforcer(mask))
    for key, w in prunable_weights(model).items():
        assert int((w[~mask.masks[key]] != 0).sum()) == 0, key
    moved = sum(int((w[mask.masks[k]] != before[k][mask.masks[k]]).sum()) for k, w in prunable_weights(model).items())
    assert moved > 0.9 * mask.kept  # the survivors did train


def test_without_the_enforcer_adamw_revives_pruned_weights(model, train_cfg):
    mask = TicketMask(global_magnitude_mask(prunable_weights(model), 0.5))
    apply_mask(model, mask)
    fine_tune(model, encoded_examples(24), train_cfg, pad_id=0)
    revived = sum(int((w[~mask.masks[k]] != 0).sum()) for k, w in prunable_weights(model).items())
    assert revived > 0  # which is why the hook exists


def _perturb(model: torch.nn.Module, hook, steps: int = 3) -> None:
    """Stand-in for training: every parameter moves, the hook runs after each 'step'."""
    with torch.no_grad():
        for _ in range(steps):
            for p in model.parameters():
                p.add_(torch.randn_like(p) * 0.1)
            if hook is not None:
                hook(model)


def test_imp_rewinds_survivors_to_pretrained_values_and_reaches_each_sparsity():
    model = tiny()
    pretrained = snapshot(model)
    seen = []

    def train(m, hook, r):
        _perturb(m, hook)

    def before_train(r, mask, m):
        state = m.state_dict()
        for name, value in state.items():
            key = name.removeprefix("bert.")
            if key in mask.masks:
                keep = mask.masks[key]
                assert torch.equal(value[keep], pretrained[name][keep]), name
                assert int((value[~keep] != 0).sum()) == 0
            else:
                assert torch.equal(value, pretrained[name]), name  # head, embeddings ... rewound too
        return False

    def on_round(r, mask, m):
        if mask is not None:
            seen.append((r, mask.sparsity, mask.provenance["round"]))
            for key, w in prunable_weights(m).items():
                assert int((w[~mask.masks[key]] != 0).sum()) == 0

    total = sum(w.numel() for w in prunable_weights(model).values())
    masks = iterative_magnitude_pruning(model, ImpSchedule((0.2, 0.4, 0.6)), train, on_round,
                                        provenance={"task": "t"}, before_train=before_train)
    assert [round(s * total) for _, s, _ in seen] == [round(x * total) for x in (0.2, 0.4, 0.6)]
    assert [m.provenance["round"] for m in masks] == [1, 2, 3] and masks[0].provenance["task"] == "t"
    for a, b in zip(masks, masks[1:], strict=False):
        assert all(not (b.masks[k] & ~a.masks[k]).any() for k in a.masks)


def test_imp_can_rewind_to_an_early_fine_tuning_step():
    model = tiny()
    states = []

    def train(m, hook, r):
        for _ in range(3):
            with torch.no_grad():
                for p in m.parameters():
                    p.add_(0.01)
            if hook is not None:
                hook(m)
            if r == 0:
                states.append(snapshot(m))

    def before_train(r, mask, m):
        name = "bert.encoder.layer.0.attention.self.query.weight"
        keep = mask.masks[name.removeprefix("bert.")]
        assert torch.equal(m.state_dict()[name][keep], states[1][name][keep])  # after step 2
        return False

    iterative_magnitude_pruning(model, ImpSchedule((0.5,), rewind_step=2), train, lambda *a: None,
                                before_train=before_train)


def test_encoder_targets_keep_the_pooler_dense(model, tmp_path):
    from joulebench.reductions.lottery import load_mask, save_mask

    weights = prunable_weights(model, "encoder")
    assert "pooler.dense.weight" not in weights and len(weights) == len(prunable_weights(model)) - 1
    mask = TicketMask(global_magnitude_mask(weights, 0.9), targets="encoder")
    pooler = model.bert.pooler.dense.weight.detach().clone()
    apply_mask(model, mask)
    assert torch.equal(model.bert.pooler.dense.weight, pooler)
    assert load_mask(save_mask(mask, tmp_path / "m.safetensors")).targets == "encoder"
    with pytest.raises(ValueError, match="targets must be one of"):
        prunable_weights(model, "everything")
