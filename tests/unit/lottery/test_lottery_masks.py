"""Masks as artefacts: save/load round trip, metadata, compatibility errors."""

from __future__ import annotations

import json

import pytest
import torch
from lottery_helpers import tiny
from safetensors.torch import save_file

from joulebench.errors import UserError
from joulebench.reductions.lottery import (
    MaskMismatchError,
    TicketMask,
    apply_mask,
    check_compatible,
    global_magnitude_mask,
    load_mask,
    prunable_weights,
    save_mask,
)
from joulebench.reductions.lottery.masks import masks_equal


def _mask(net, sparsity=0.4, provenance=None):
    return TicketMask(global_magnitude_mask(prunable_weights(net), sparsity), dict(provenance or {}))


def test_save_load_round_trip_keeps_masks_and_metadata(model, tmp_path):
    provenance = {"task": "sst2", "model": "minilm-l6", "schedule": [0.2, 0.4], "round": 2, "seed": 7,
                  "objective": "task", "kind": "imp"}
    mask = _mask(model, 0.4, provenance)
    path = save_mask(mask, tmp_path / "m" / "ticket.safetensors")
    loaded = load_mask(path)
    assert masks_equal(loaded.masks, mask.masks)
    assert all(m.dtype == torch.bool for m in loaded.masks.values())
    assert loaded.provenance == provenance
    assert loaded.digest() == mask.digest() and loaded.source == path
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["provenance"] == provenance
    assert meta["sparsity"] == pytest.approx(mask.sparsity)
    assert meta["sparsity_per_layer"] == pytest.approx(mask.layer_sparsity())
    assert set(meta["sparsity_per_layer"]) == set(prunable_weights(model))
    assert meta["kept"] == mask.kept and meta["total"] == mask.total


def test_uint8_masks_load_as_bool(model, tmp_path):
    mask = _mask(model)
    save_file({k: v.to(torch.uint8) for k, v in mask.masks.items()}, str(tmp_path / "u8.safetensors"))
    assert masks_equal(load_mask(tmp_path / "u8.safetensors").masks, mask.masks)
    save_file({"pooler.dense.weight": torch.full((2, 2), 3, dtype=torch.uint8)}, str(tmp_path / "bad.safetensors"))
    with pytest.raises(UserError, match="other than 0/1"):
        load_mask(tmp_path / "bad.safetensors")


def test_missing_or_garbled_files_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        load_mask(tmp_path / "nope.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(UserError, match="not a readable safetensors"):
        load_mask(tmp_path / "junk.safetensors")


def test_mask_from_another_shape_names_the_first_mismatching_tensor(model):
    wide = tiny(hidden=48)
    with pytest.raises(MaskMismatchError, match=r"'encoder\.layer\.0\.attention\.self\.query\.weight' is \(48, 48\) "
                                                r"in the mask but \(32, 32\) in the model"):
        apply_mask(model, _mask(wide))


def test_mask_with_fewer_or_more_layers_is_rejected(model):
    deeper = tiny(layers=3)
    with pytest.raises(MaskMismatchError, match=r"'encoder\.layer\.2\.attention\.self\.query\.weight' in the mask is "
                                                r"not a prunable weight"):
        check_compatible(model, _mask(deeper))
    with pytest.raises(MaskMismatchError, match=r"'encoder\.layer\.2\.attention\.self\.query\.weight' .* missing"):
        check_compatible(deeper, _mask(model))


def test_a_mask_applies_to_any_compatible_model(model):
    other = tiny(seed=5)  # same architecture, other weights (e.g. another task's classifier)
    mask = _mask(model, 0.5)
    apply_mask(other, mask)
    for key, w in prunable_weights(other).items():
        assert int((w[~mask.masks[key]] != 0).sum()) == 0
