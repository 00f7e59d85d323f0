"""The family adapters do what they claim, on tiny random-init models of every family."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from joulebench.errors import UserError
from joulebench.models.families import FAMILIES, family_for_type
from joulebench.models.loading import TINY_CONFIGS, load_classifier
from joulebench.reductions.early_exit import EarlyExitBert, ExitHead, entropy
from joulebench.reductions.encoder import LayerwiseEncoder
from joulebench.reductions.layer_drop import keep_bottom_layers
from joulebench.reductions.structured.compact import compact, layout
from joulebench.reductions.structured.gates import masked
from joulebench.reductions.structured.layers import geometry
from joulebench.reductions.structured.mask import StructureMask
from joulebench.reductions.token_prune import TokenPrunedBert

FAMILY_NAMES = list(TINY_CONFIGS)


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, 2000, (3, 12), generator=generator)
    ids[:, 0] = 101
    mask = torch.ones_like(ids)
    mask[1, 8:] = 0
    mask[2, 5:] = 0
    return ids * mask, mask


def _model(family: str, pooling: str = "cls"):
    torch.manual_seed(0)
    return load_classifier(f"tiny-random-{family}", 3, pooling=pooling).model.eval()


def test_every_tiny_family_has_an_adapter():
    assert set(FAMILY_NAMES) <= set(FAMILIES.names())


@pytest.mark.parametrize("pooling", ["cls", "mean"])
@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_layerwise_execution_equals_the_stock_forward(family, pooling):
    model = _model(family, pooling)
    ids, mask = _batch()
    with torch.no_grad():
        stock = model(input_ids=ids, attention_mask=mask).logits
        layerwise = LayerwiseEncoder(model)(ids, mask)
    assert torch.allclose(stock, layerwise, atol=1e-5)


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_layer_drop_removes_layers_parameters_and_flops(family):
    from joulebench.measure.flops import forward_flops as count_flops

    model = _model(family)
    ids, mask = _batch()
    before_params = sum(p.numel() for p in model.parameters())
    before_flops = count_flops(model, {"input_ids": ids, "attention_mask": mask})
    total = keep_bottom_layers(model, 1)
    assert total >= 2 and len(FAMILIES.get(family).layers(model)) == 1
    assert sum(p.numel() for p in model.parameters()) < before_params
    after_flops = count_flops(model, {"input_ids": ids, "attention_mask": mask})
    assert after_flops is not None and before_flops is not None and after_flops < before_flops
    with torch.no_grad():  # and the shortened model still runs, stock and layer by layer alike
        assert torch.allclose(model(input_ids=ids, attention_mask=mask).logits, LayerwiseEncoder(model)(ids, mask),
                              atol=1e-5)


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_early_exit_at_threshold_zero_is_the_full_model_and_exits_match_brute_force(family):
    model = _model(family)
    ids, mask = _batch()
    backbone = LayerwiseEncoder(model)
    heads = torch.nn.ModuleList(ExitHead(model) for _ in range(backbone.num_layers - 1))
    for head in heads:  # give the exits different opinions than the model's own head
        torch.nn.init.normal_(head.classifier.weight, std=2.0)
    with torch.no_grad():
        full = model(input_ids=ids, attention_mask=mask).logits
        assert torch.allclose(EarlyExitBert(backbone, heads, 0.0)(ids, mask), full, atol=1e-5)
        state = backbone.embed(ids, mask, None)
        per_layer = []
        for index in range(backbone.num_layers):
            state = backbone.layer(index, state)
            per_layer.append(backbone.head(state) if index == backbone.num_layers - 1 else heads[index](state))
        threshold = float(entropy(per_layer[0]).median())
        expected = []
        for row in range(ids.shape[0]):  # brute force: each example alone, first exit below the threshold
            exits = [p[row] for p in per_layer[:-1] if entropy(p[row:row + 1])[0] < threshold]
            chosen = exits[0] if exits else per_layer[-1][row]
            expected.append(chosen)
        got = EarlyExitBert(backbone, heads, threshold)(ids, mask)
    assert torch.allclose(got, torch.stack(expected), atol=1e-5)


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_token_pruning_keeps_the_stated_share_and_one_is_identity(family):
    model = _model(family)
    ids, mask = _batch()
    backbone = LayerwiseEncoder(model)
    with torch.no_grad():
        full = backbone(ids, mask)
        assert torch.allclose(TokenPrunedBert(backbone, 1.0, (1,))(ids, mask), full, atol=1e-5)
        pruned = TokenPrunedBert(backbone, 0.5, (1,))
        pruned(ids, mask)
    real = mask.sum(1).double()
    expected = float((torch.ceil(real * 0.5) / real).mean())
    assert pruned.realised_details()["tokens_kept_ratio"] == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_pruned_examples_do_not_depend_on_their_batch(family):
    """Positions travel with the tokens: an example pruned in a padded batch equals it pruned alone
    (DeBERTa's relative and ModernBERT's rotary positions included)."""
    model = _model(family)
    ids, mask = _batch()
    pruned = TokenPrunedBert(LayerwiseEncoder(model), 0.5, (1,))
    with torch.no_grad():
        together = pruned(ids, mask)
        alone = torch.cat([pruned(ids[i:i + 1, :int(mask[i].sum())], mask[i:i + 1, :int(mask[i].sum())])
                           for i in range(3)])
    assert torch.allclose(together, alone, atol=1e-4)


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_structured_compaction_equals_masked_execution(family):
    model = _model(family)
    ids, mask = _batch()
    geo = geometry(model)
    heads = ([[0, 2], []] + [[1, 2, 3]] * geo.num_layers)[:geo.num_layers]
    units = ([[], list(range(0, geo.intermediate_size, 3))] + [list(range(10))] * geo.num_layers)[:geo.num_layers]
    structure = StructureMask.from_kept(heads, units, geo.num_heads, geo.intermediate_size)
    with torch.no_grad():
        with masked(model, structure):
            reference = model(input_ids=ids, attention_mask=mask).logits
        compacted = compact(copy.deepcopy(model), structure)
        out = compacted(input_ids=ids, attention_mask=mask).logits
    assert torch.allclose(reference, out, atol=1e-5)
    assert layout(compacted) == (heads, units)
    assert sum(p.numel() for p in compacted.parameters()) < sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_int8_and_every_engine_stay_close_to_fp32(family):
    """Every family in torchao's int8 and on each graph engine at fp32 and int8 (the engine x family matrix)."""
    from joulebench.engines import ENGINES, EngineContext
    from joulebench.reductions.int8_backends import quantize_int8

    model = _model(family)
    ids, mask = _batch()
    inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}
    with torch.no_grad():
        reference = model(**inputs).logits
    ctx = EngineContext(threads=1, example=inputs, calibration=lambda: [inputs], calibration_note="the batch")
    runs = {"torchao int8": lambda: quantize_int8(copy.deepcopy(model), "torchao")[0]}
    for engine in ("onnxruntime", "openvino"):
        if engine in FAMILIES.get(family).engine_refusals:  # refused at validate instead
            continue
        for precision in ("fp32", "int8"):
            runs[f"{engine} {precision}"] = lambda e=engine, p=precision: ENGINES.get(e).prepare(model, p, ctx).model
    for what, make in runs.items():
        with torch.no_grad():
            out = make()(**inputs)
        out = out if isinstance(out, torch.Tensor) else out.logits
        assert (out - reference).abs().max() < 0.1 * reference.abs().max() + 0.05, what


def test_unknown_and_decoder_model_types_are_one_line_errors():
    with pytest.raises(UserError, match="decoder-only"):
        family_for_type("gpt2")
    with pytest.raises(UserError, match="unsupported model_type 'funnel'; supported encoder families: bert"):
        family_for_type("funnel")


@pytest.mark.parametrize(("contents", "message"), [
    (None, "expected a directory with config.json"),
    ({"model_type": "gpt2"}, "decoder-only language model"),
    ({"model_type": "no-such-type"}, "unsupported model_type 'no-such-type'"),
])
def test_validate_refuses_a_bad_model_folder_in_one_line(tmp_path, contents, message):
    from typer.testing import CliRunner

    from joulebench.cli import app

    folder = tmp_path / "model"
    folder.mkdir()
    if contents is not None:
        (folder / "config.json").write_text(json.dumps(contents))
    config = tmp_path / "run.yaml"
    config.write_text(f"task: sst2\nmodel: {folder}\n")
    result = CliRunner().invoke(app, ["validate", str(config)], standalone_mode=True)
    assert isinstance(result.exception, UserError) and message in str(result.exception)
    assert "\n" not in str(result.exception)


def test_a_family_an_engine_cannot_run_is_refused_at_validate(tmp_path):
    from joulebench.configuration import parse_config
    from joulebench.models.families import FAMILIES

    assert "openvino" in FAMILIES.get("modernbert").engine_refusals  # found by the test above: NaN logits
    with pytest.raises(UserError, match="engine openvino cannot run modernbert here"):
        parse_config({"task": "sst2", "model": "tiny-random-modernbert", "engine": "openvino"})


PRUNE = {"name": "token_prune", "keep_ratio": 0.5}


def test_a_family_refusal_of_a_reduction_fires_at_validate(monkeypatch):
    from joulebench.configuration import parse_config

    family = FAMILIES.get("distilbert")
    monkeypatch.setattr(type(family), "refusals", {"token_prune": "its layers cannot drop tokens"})
    with pytest.raises(UserError, match=r"token_prune \(reductions\[0\]\) is not available for distilbert: its layers"):
        parse_config({"task": "sst2", "model": "tiny-random-distilbert", "reductions": [PRUNE]})
    parse_config({"task": "sst2", "model": "tiny-random-bert", "reductions": [PRUNE]})


def test_parameter_roles_come_from_the_family_layout_not_names():
    from joulebench.models.families import parameter_roles
    from joulebench.training import trainable_names

    for family in FAMILY_NAMES:
        model = _model(family)
        roles = parameter_roles(model)
        n_layers = len(FAMILIES.get(family).layers(model))
        layers = {layer for role, layer in roles.values() if role == "layer"}
        assert layers == set(range(n_layers)), family
        heads = {n for n, (role, _) in roles.items() if role == "head"}
        assert heads and all(n.split(".")[0] in FAMILIES.get(family).task_head_names() for n in heads), family
        top1 = set(trainable_names(model, "top_k", 1))
        assert heads <= top1 and set(trainable_names(model, "frozen", 1)) == heads, family
        assert {roles[n][1] for n in top1 if roles[n][0] == "layer"} == {n_layers - 1}, family
