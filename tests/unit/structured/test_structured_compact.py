"""Compaction removes weights and computes exactly what masking computes."""

from __future__ import annotations

import json

import pytest
import torch

from joulebench.errors import UserError
from joulebench.reductions.structured import (
    StructureMask,
    compact,
    current_mask,
    load_compacted,
    load_mask,
    masked,
    save_compacted,
    save_mask,
)
from joulebench.reductions.structured.compact import HeadlessAttention, UnitlessOutput
from joulebench.reductions.structured.layers import geometry, param_count

# layer 1 loses every head, layer 2 every FFN unit; layer 0 keeps a scattered subset of both
EDGE = ([[0, 2], [], [1, 2, 3]], [list(range(0, 64, 3)), [5, 9, 63], []])


def edge_mask() -> StructureMask:
    return StructureMask.from_kept(*EDGE, num_heads=4, intermediate_size=64)


def random_mask(seed: int) -> StructureMask:
    gen = torch.Generator().manual_seed(seed)
    return StructureMask(torch.rand(3, 4, generator=gen) > 0.5, torch.rand(3, 64, generator=gen) > 0.5)


def logits(model, inputs):
    with torch.no_grad():
        return model(**inputs).logits


@pytest.mark.parametrize("mask_factory", [edge_mask, lambda: random_mask(1), lambda: random_mask(2)],
                         ids=["edge-cases", "random-1", "random-2"])
def test_compacted_logits_equal_masked_logits(tiny, inputs, mask_factory):
    mask = mask_factory()
    dense = logits(tiny, inputs)
    with masked(tiny, mask):
        expected = logits(tiny, inputs)
    assert not torch.allclose(expected, dense, atol=1e-3)  # the mask really changes the output
    compact(tiny, mask)
    torch.testing.assert_close(logits(tiny, inputs), expected, atol=1e-5, rtol=1e-5)


def test_empty_blocks_are_replaced_and_keep_their_bias(tiny):
    bias_o = tiny.bert.encoder.layer[1].attention.output.dense.bias.detach().clone()
    bias_2 = tiny.bert.encoder.layer[2].output.dense.bias.detach().clone()
    compact(tiny, edge_mask())
    layers = tiny.bert.encoder.layer
    assert isinstance(layers[1].attention, HeadlessAttention) and isinstance(layers[2].output, UnitlessOutput)
    assert torch.equal(layers[1].attention.bias, bias_o) and torch.equal(layers[2].output.bias, bias_2)
    hidden = torch.randn(2, 5, 32)  # no heads: LayerNorm(residual + bias), exactly
    expected = layers[1].attention.LayerNorm(hidden + bias_o)
    assert torch.equal(layers[1].attention(hidden, None)[0], expected)


def test_parameter_count_drops_by_exactly_the_removed_structures(tiny):
    geo = geometry(tiny)
    before = param_count(tiny)
    mask = edge_mask()
    compact(tiny, mask)
    heads_removed = 12 - mask.n_heads_kept
    units_removed = 3 * 64 - mask.n_ffn_kept
    assert (heads_removed, units_removed) == (7, 192 - 22 - 3)
    expected = heads_removed * (4 * 8 * 32 + 3 * 8) + units_removed * (2 * 32 + 1)
    assert geo.params_per_head == 4 * 8 * 32 + 3 * 8 and geo.params_per_ffn_unit == 65
    assert before - param_count(tiny) == expected


def test_layout_of_compacted_model_is_the_mask(tiny):
    mask = edge_mask()
    compact(tiny, mask)
    assert current_mask(tiny).equals(mask)
    assert current_mask(tiny).heads_kept() == EDGE[0] and current_mask(tiny).ffn_kept() == EDGE[1]


def test_compacting_in_two_steps_equals_one_step(make_tiny, inputs):
    once, twice = make_tiny(), make_tiny()
    first = StructureMask.from_kept([[0, 1, 2], [0, 1], [1, 2, 3]], [list(range(40)), list(range(10, 64)), [1, 2, 3]],
                                    4, 64)
    compact(once, edge_mask())
    compact(twice, first)
    second = StructureMask.from_kept([[0, 2], [], [1, 2, 3]], [list(range(0, 40, 3)), [], [1, 2]], 4, 64)
    compact(twice, second)
    reference = make_tiny()
    compact(reference, second)
    torch.testing.assert_close(logits(twice, inputs), logits(reference, inputs), atol=1e-6, rtol=1e-6)
    with pytest.raises(ValueError, match="already removed"):
        compact(twice, StructureMask.full(geometry(twice)))


def test_keeping_everything_changes_nothing(tiny, inputs):
    before_logits, before_params = logits(tiny, inputs), param_count(tiny)
    compact(tiny, StructureMask.full(geometry(tiny)))
    assert torch.equal(logits(tiny, inputs), before_logits) and param_count(tiny) == before_params


def test_compacted_model_trains(tiny, inputs):
    compact(tiny, edge_mask())
    tiny.train()
    out = tiny(**inputs, labels=torch.tensor([0, 1, 0, 1, 0, 1]))
    out.loss.backward()
    assert tiny.bert.encoder.layer[1].attention.bias.grad is not None
    assert tiny.bert.encoder.layer[2].output.bias.grad is not None


def test_save_load_round_trip_gives_identical_logits(tiny, inputs, tmp_path):
    compact(tiny, edge_mask())
    expected = logits(tiny, inputs)
    save_compacted(tiny, tmp_path / "m", meta={"note": "test"})
    info = json.loads((tmp_path / "m" / "structure.json").read_text())
    assert info["heads_kept_per_layer"] == EDGE[0] and info["ffn_units_kept_per_layer"] == EDGE[1]
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["model.safetensors", "structure.json"]
    loaded = load_compacted(tmp_path / "m")
    assert type(loaded) is type(tiny) and param_count(loaded) == param_count(tiny)
    assert torch.equal(logits(loaded, inputs), expected)


def test_load_rejects_foreign_directories(tmp_path):
    with pytest.raises(UserError, match="compacted model"):
        load_compacted(tmp_path)


def test_mask_file_round_trip_and_digest(tmp_path):
    mask = edge_mask().with_meta(variant="good", seed=3)
    path = save_mask(mask, tmp_path / "masks" / "m.json")
    back = load_mask(path)
    assert back.equals(mask) and back.meta == {"variant": "good", "seed": 3}
    assert back.digest() == mask.digest() != random_mask(1).digest()


def test_bad_mask_files_are_user_errors(tmp_path):
    (tmp_path / "a.json").write_text("{}")
    with pytest.raises(UserError, match="not a structured-pruning mask"):
        load_mask(tmp_path / "a.json")
    data = edge_mask().to_json()
    data["heads_kept_per_layer"][0] = [0, 9]
    (tmp_path / "b.json").write_text(json.dumps(data))
    with pytest.raises(UserError, match="out of range"):
        load_mask(tmp_path / "b.json")
    with pytest.raises(UserError, match="no such file"):
        load_mask(tmp_path / "missing.json")


def test_mask_must_fit_the_model(tiny):
    with pytest.raises(UserError, match="model has"):
        compact(tiny, StructureMask.from_kept([[0]] * 2, [[0]] * 2, 4, 64))


def test_masking_a_compacted_model_is_refused(tiny):
    compact(tiny, StructureMask.from_kept([[0, 1, 2, 3], [0, 1], [0, 1, 2, 3]], [list(range(64))] * 3, 4, 64))
    with pytest.raises(UserError, match="already compacted"), masked(tiny, StructureMask.full(geometry(tiny))):
        pass
