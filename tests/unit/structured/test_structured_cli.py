"""``joulebench prune`` on the tiny random BERT and the fixture data (offline, seconds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from joulebench.cli import app
from joulebench.reductions.structured import load_mask

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

CONFIG = """
task: sst2
model: tiny-random-bert
max_seq_len: 32
train: {batch_size: 16, max_train_examples: 30}
measure: {repeats: 2, batch_size: 16, warmup_calls: 0}
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(CONFIG)
    return path


def invoke(*args: str):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def test_search_study_writes_records_masks_and_summary(config, tmp_path):
    out, cache = tmp_path / "out", tmp_path / "cache"
    common = ["--data-dir", FIXTURES, "--cache-dir", cache]
    result = invoke("prune", "search", config, "--out", out, "--seeds", "0", "--no-retrained",
                    "--score-examples", "16", *common)
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    names = [r["name"] for r in records]
    assert names == ["dense seed 0", "structured good pruned seed 0", "structured bad pruned seed 0",
                     "structured random pruned seed 0"]
    details = [r["reductions"][0]["details"] for r in records[1:]]
    assert len({(d["heads_kept"], d["ffn_units_kept"], d["param_count_after"]) for d in details}) == 1
    assert [d["variant"] for d in details] == ["good", "bad", "random"]
    masks = sorted((out / "masks").glob("*.json"))
    assert len(masks) == 3 and load_mask(masks[0]).meta["scoring_data"] == "train_heldout"
    summary = json.loads((out / "structured_study.json").read_text())["summary"]
    assert [s["kind"] for s in summary] == ["dense", "good/pruned", "bad/pruned", "random/pruned"]
    assert "| offline | good/pruned | 1 |" in result.output

    again = invoke("prune", "search", config, "--out", out, "--seeds", "0", "--no-retrained",
                   "--score-examples", "16", *common)
    assert "good/pruned" in again.output and len((out / "results.jsonl").read_text().splitlines()) == 4

    good = next(m for m in masks if "-good-" in m.name)
    invoke("prune", "export", config, "--mask", good, "--out", tmp_path / "model", *common)
    meta = json.loads((tmp_path / "model" / "joulebench.json").read_text())
    # hf where one transformers config states the compacted sizes (uniform across layers), else onnx
    assert meta["format"] == "hf" if "hf" not in meta["formats_refused"] else meta["format"] == "onnx"
    assert meta["reductions"][0]["details"]["param_count_after"] == details[0]["param_count_after"]
    assert "Nothing was measured for this export" in (tmp_path / "model" / "MODEL_CARD.md").read_text()

    scored = invoke("prune", "score", config, "--out", tmp_path / "scores.json", "--score-examples", "8", *common)
    assert "gradient importance on 8 examples (train_heldout)" in scored.output
    assert len(json.loads((tmp_path / "scores.json").read_text())["heads"]) == 2


def test_bad_options_are_one_line_errors(config, tmp_path):
    from joulebench.errors import UserError

    result = CliRunner().invoke(app, ["prune", "search", str(config), "--out", str(tmp_path), "--variants", "best"])
    assert isinstance(result.exception, UserError) and "good,bad,random" in str(result.exception)
    result = CliRunner().invoke(app, ["prune", "search", str(config), "--out", str(tmp_path),
                                      "--stop-fraction", "1.5"])
    assert isinstance(result.exception, UserError) and "stop_fraction" in str(result.exception)
