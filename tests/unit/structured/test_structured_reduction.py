"""The registered ``structured_prune`` reduction: config validation, records, retraining."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from joulebench.config.schema import ReductionSpec
from joulebench.errors import UserError
from joulebench.reductions import REDUCTIONS, ReductionContext, apply_reductions, build_reduction_config
from joulebench.reductions.structured import StructureMask, masked, save_mask
from joulebench.reductions.structured.data import scoring_examples
from joulebench.reductions.structured.layers import param_count
from joulebench.tasks import get_task

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def spec(**params) -> ReductionSpec:
    return ReductionSpec("structured_prune", tuple(sorted(params.items())))


def make_ctx(tokenizer, **extra) -> ReductionContext:
    task = get_task("sst2")
    return ReductionContext(task=task, tokenizer=tokenizer, max_seq_len=32, seed=0,
                            train_examples=lambda: task.load("train", FIXTURES, 30, 0),
                            extra={"data_dir": FIXTURES, **extra})


@pytest.mark.parametrize("params, message", [
    ({}, "give heads_frac"),
    ({"heads_frac": 0.5, "mask": "m.json"}, "not both"),
    ({"heads_frac": 1.5}, "heads_frac must be in"),
    ({"stop_fraction": 0.0}, "stop_fraction"),
    ({"heads_frac": 0.5, "importance": "taylor"}, "importance must be one of"),
    ({"heads_frac": 0.5, "variant": "worst"}, "variant must be one of"),
    ({"heads_frac": 0.5, "ffn_unit": "row"}, "ffn_unit must be one of"),
    ({"heads_frac": 0.5, "score_split": "test"}, "score_split must be one of"),
])
def test_invalid_params_are_user_errors(params, message):
    with pytest.raises(UserError, match=message):
        build_reduction_config(spec(**params))


def test_registered_with_help():
    assert "structured_prune" in REDUCTIONS.names()
    cfg = build_reduction_config(spec(heads_frac=0.3, ffn_frac=0.3))
    assert cfg.importance == "gradient" and cfg.variant == "good" and cfg.score_split == "train"


def test_scoring_slice_is_held_out_from_fine_tuning():
    task = get_task("sst2")
    fine_tune = task.load("train", FIXTURES, 30, 0)
    examples, source = scoring_examples(task, FIXTURES, "train", 10, 0, fine_tune)
    assert source == "train_heldout" and len(examples) == 10 and not set(examples) & set(fine_tune)
    everything = task.load("train", FIXTURES, None, 0)
    examples, source = scoring_examples(task, FIXTURES, "train", 10, 0, everything)
    assert source == "train_overlap" and set(examples) <= set(everything)
    dev, source = scoring_examples(task, FIXTURES, "validation", 10, 0, fine_tune)
    assert source == "validation" and set(dev) == set(task.load("validation", FIXTURES, 10, 0))


def test_apply_prunes_compacts_and_describes(tiny, tokenizer, inputs):
    before = param_count(tiny)
    model, (described,) = apply_reductions(tiny, (spec(heads_frac=0.5, ffn_frac=0.25),), make_ctx(tokenizer))
    d = described["details"]
    assert d["param_count_before"] == before and d["param_count_after"] == param_count(model) < before
    assert d["heads_removed_frac"] == 0.5 and d["ffn_removed_frac"] == 0.25
    assert [len(h) for h in d["heads_kept_per_layer"]] and sum(map(len, d["heads_kept_per_layer"])) == 6
    assert sum(map(len, d["ffn_units_kept_per_layer"])) == 144
    assert d["scoring_data"] == "train_heldout" and d["n_score_examples"] == 20
    assert d["variant"] == "good" and d["importance"] == "gradient" and d["retrained"] is False
    assert d["search"][0]["phase"] == "start" and d["mask_digest"]
    assert not model.training and model(**inputs).logits.shape == (6, 2)


def test_apply_is_deterministic(make_tiny, tokenizer):
    runs = [apply_reductions(make_tiny(0), (spec(heads_frac=0.5, ffn_frac=0.5, variant=v),), make_ctx(tokenizer))
            for v in ("good", "good", "bad")]
    details = [r[1][0]["details"] for r in runs]
    assert details[0]["heads_kept_per_layer"] == details[1]["heads_kept_per_layer"]
    assert details[0]["ffn_units_kept_per_layer"] == details[1]["ffn_units_kept_per_layer"]
    assert details[2]["heads_kept_per_layer"] != details[0]["heads_kept_per_layer"]
    assert details[2]["param_count_after"] == details[0]["param_count_after"]


def test_magnitude_needs_no_data(tiny, tokenizer):
    ctx = ReductionContext(task=None, tokenizer=tokenizer, max_seq_len=32)
    _, (described,) = apply_reductions(tiny, (spec(heads_frac=0.25, importance="magnitude"),), ctx)
    assert described["details"]["heads_kept"] == 9 and described["details"]["scoring_data"] is None


def test_saved_mask_applies_as_is(tiny, tokenizer, inputs, tmp_path):
    mask = StructureMask.from_kept([[0, 1], [3], []], [list(range(10)), [], list(range(64))], 4, 64)
    path = save_mask(mask.with_meta(variant="bad"), tmp_path / "m.json")
    with torch.no_grad(), masked(tiny, mask):
        expected = tiny(**inputs).logits
    model, (described,) = apply_reductions(tiny, (spec(mask=str(path)),), make_ctx(tokenizer))
    details = described["details"]
    assert details["variant"] == "bad" and details["heads_kept_per_layer"] == [[0, 1], [3], []]
    with torch.no_grad():
        torch.testing.assert_close(model(**inputs).logits, expected, atol=1e-5, rtol=1e-5)


def test_retrain_starts_from_pretrained_weights(make_tiny, tokenizer, tmp_path):
    fine_tuned, pretrained = make_tiny(0), make_tiny(7)
    mask = StructureMask.from_kept([[0, 1], [2, 3], [0]], [list(range(32))] * 3, 4, 64)
    path = save_mask(mask, tmp_path / "m.json")
    trained = []

    def fine_tune(model, examples=None, trainable=None, epochs=None, after_step=None, what="re-train"):
        trained.append((model, epochs))

    ctx = make_ctx(tokenizer, load_pretrained=lambda: pretrained)
    ctx.fine_tune = fine_tune
    model, (described,) = apply_reductions(fine_tuned, (spec(mask=str(path), retrain=True, retrain_epochs=0.5),), ctx)
    assert trained == [(model, 0.5)] and model is pretrained and described["details"]["retrained"] is True
    assert described["details"]["retrain_time_s"] >= 0
    kept = torch.cat([torch.arange(0, 8), torch.arange(8, 16)])
    assert torch.equal(model.bert.encoder.layer[0].attention.self.query.weight,
                       make_tiny(7).bert.encoder.layer[0].attention.self.query.weight[kept])


def test_retrain_without_known_pretrained_weights_is_a_user_error(tiny, tokenizer, tmp_path):
    path = save_mask(StructureMask.from_kept([[0]] * 3, [[0]] * 3, 4, 64), tmp_path / "m.json")
    ctx = make_ctx(tokenizer)
    ctx.fine_tune = lambda *a, **k: None
    with pytest.raises(UserError, match="pre-trained"):
        apply_reductions(tiny, (spec(mask=str(path), retrain=True),), ctx)
