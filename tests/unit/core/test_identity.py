"""Identities by content: a mask counts by what it keeps, seeds of one recipe aggregate."""

from __future__ import annotations

import shutil

import torch

import joulebench.reductions.builtin  # noqa: F401  (registers the reductions and their file params)
from joulebench.analysis.aggregate import aggregate, identity_key
from joulebench.config.schema import ReductionSpec, RunConfig, config_hash
from joulebench.reductions.lottery.masks import TicketMask, save_mask


def _ticket_config(path) -> RunConfig:
    return RunConfig(task="sst2", reductions=(ReductionSpec("ticket", (("mask", str(path)),)),))


def _mask(keep_first: bool, seed: int) -> TicketMask:
    bits = torch.tensor([[keep_first, True], [False, True]])
    return TicketMask({"encoder.layer.0.attention.self.query.weight": bits}, {"task": "sst2", "seed": seed})


def test_a_changed_mask_at_the_same_path_is_a_new_configuration(tmp_path) -> None:
    path = tmp_path / "m.safetensors"
    save_mask(_mask(True, 0), path)
    before = config_hash(_ticket_config(path))
    save_mask(_mask(True, 0), path)  # rewritten, same bits (a new saved_utc in its metadata)
    assert config_hash(_ticket_config(path)) == before
    save_mask(_mask(False, 0), path)
    assert config_hash(_ticket_config(path)) != before
    copy = tmp_path / "elsewhere.safetensors"
    shutil.copy(path, copy)
    assert config_hash(_ticket_config(copy)) == config_hash(_ticket_config(path))


def test_seeds_of_one_mask_recipe_aggregate(record) -> None:
    recipe = {"task": "sst2", "model": "minilm-l6", "objective": "task", "sparsity": 0.5}
    records = []
    for seed in (0, 1):
        rec = record(reductions=[("ticket", {"mask": f"masks/sst2-imp-seed{seed}-s50.safetensors"})], seed=seed,
                     details={"mask_recipe": recipe})
        rec["config"]["reductions"][0]["params"]["mask"] = f"masks/sst2-imp-seed{seed}-s50.safetensors"
        records.append(rec)
    assert identity_key(records[0]) == identity_key(records[1])
    [point] = aggregate(records)
    assert point.n == 2 and point.seeds == (0, 1)
    other = record(reductions=[("ticket", {"mask": "masks/x.safetensors"})], details={"mask_recipe": {
        **recipe, "sparsity": 0.7}})
    assert identity_key(other) != identity_key(records[0])
