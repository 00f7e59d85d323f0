"""Export and predict: every reduction kind in each format that can hold it reproduces the record's own
per-example predictions on its dev examples; hf and onnx folders also load without joulebench; bad input
is one line (tiny random-init models, fixture SST-2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from joulebench.configuration import parse_config
from joulebench.errors import UserError
from joulebench.export import export_record, select_record
from joulebench.export.predict import Exported, predict_file
from joulebench.models.checkpoints import CheckpointCache
from joulebench.results.store import ResultStore
from joulebench.runner import Runner, RunOptions
from joulebench.tasks import get_task

BASE = {"task": "sst2", "model": "tiny-random-bert", "max_seq_len": 32, "train": {"batch_size": 16, "min_steps": 0},
        "measure": {"repeats": 1, "warmup_calls": 0, "batch_size": 16}}

#: reduction kind -> (reductions, extra keys, formats that must hold it, formats that must refuse it)
KINDS = {
    "dense": ([], {}, ["hf", "onnx", "openvino", "joulebench"], []),
    "dense mean": ([], {"classifier_pooling": "mean"}, ["hf", "onnx", "openvino", "joulebench"], []),
    "layer_drop": ([{"name": "layer_drop", "keep_layers": 1}], {}, ["hf", "onnx", "openvino", "joulebench"], []),
    "seq_len": ([{"name": "seq_len", "max_seq_len": 12}], {}, ["hf", "onnx", "openvino", "joulebench"], []),
    "int8 torch_ao": ([{"name": "quantize", "dtype": "int8", "backend": "torch_ao"}], {}, ["joulebench"],
                      ["hf", "onnx", "openvino"]),
    # the old form (backend: onnxruntime) of engine: onnxruntime with int8
    "int8 onnxruntime": ([{"name": "quantize", "dtype": "int8", "backend": "onnxruntime"}], {}, ["onnx", "joulebench"],
                         ["hf", "openvino"]),
    "int8 openvino": (["int8"], {"engine": "openvino"}, ["openvino", "joulebench"], ["hf", "onnx"]),
    "early_exit": ([{"name": "early_exit", "threshold": 0.5, "exit_epochs": 0.5}], {}, ["joulebench"],
                   ["hf", "onnx", "openvino"]),
    "token_prune": ([{"name": "token_prune", "keep_ratio": 0.5, "after_layers": [1]}], {}, ["joulebench"],
                    ["hf", "onnx", "openvino"]),
    "structured": ([{"name": "structured_prune", "heads_frac": 0.5, "ffn_frac": 0.5, "score_examples": 16}], {},
                   ["onnx", "openvino", "joulebench"], []),
    "distill": ([{"name": "distill", "keep_layers": 1, "epochs": 0.5}], {}, ["hf", "onnx", "openvino", "joulebench"],
                []),
    "bf16": ([{"name": "quantize", "dtype": "bf16"}], {}, ["hf", "joulebench"], ["onnx", "openvino"]),
}


@pytest.fixture(scope="module")
def store(tmp_path_factory, ):
    root = tmp_path_factory.mktemp("export")
    data = Path(__file__).resolve().parents[2] / "fixtures"
    runner = Runner(RunOptions(data_dir=data, cache=CheckpointCache(root / "cache")))
    results = ResultStore.in_dir(root / "out")
    hashes = {}
    for kind, (reductions, extra, _, _) in KINDS.items():
        (config,) = parse_config({**BASE, **extra, "reductions": reductions, "name": kind})
        hashes[kind] = runner.run(config, results)["config_hash"]
    dev = [e.text_a for e in get_task("sst2").load("validation", data)]
    (root / "dev.jsonl").write_text("".join(json.dumps({"sentence": t}) + "\n" for t in dev))
    return {"root": root, "data": data, "hashes": hashes, "path": results.path, "cache": root / "cache"}


def export(store, kind: str, fmt: str, out: Path):
    record = select_record(store["path"], config_hash=store["hashes"][kind])
    return export_record(record, out, fmt, store["data"], store["cache"]), record


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_reproduces_its_predictions_in_each_format_that_holds_it(store, tmp_path, kind):
    _, _, holds, refuses = KINDS[kind]
    for fmt in holds:
        done, record = export(store, kind, fmt, tmp_path / fmt)
        assert done.format == fmt
        rows = predict_file(tmp_path / fmt, store["root"] / "dev.jsonl", tmp_path / f"{fmt}.jsonl",
                            data_dir=store["data"])
        predicted = "".join(str(r["label_index"]) for r in rows)
        assert predicted == record["quality"]["predictions"], (kind, fmt)
        meta = json.loads((tmp_path / fmt / "joulebench.json").read_text())
        assert meta["record"] == record and meta["format"] == fmt
        card = (tmp_path / fmt / "MODEL_CARD.md").read_text()
        assert card.startswith("---\nbase_model: ") and record["config_hash"] in card
        assert f"{record['cost']['energy_j_per_example']:.4g} J" in card  # the record's own figure
        assert f"accuracy: {record['quality']['accuracy']:.4g}" in card
    for fmt in refuses:
        with pytest.raises(UserError, match=f"--format {fmt}: cannot express"):
            export(store, kind, fmt, tmp_path / f"refused-{fmt}")
        assert not (tmp_path / f"refused-{fmt}").exists()  # nothing half-written


def test_auto_picks_hf_then_onnx_then_joulebench(store, tmp_path):
    assert export(store, "dense", "auto", tmp_path / "a")[0].format == "hf"
    assert export(store, "int8 onnxruntime", "auto", tmp_path / "b")[0].format == "onnx"
    assert export(store, "int8 openvino", "auto", tmp_path / "d")[0].format == "openvino"
    assert export(store, "early_exit", "auto", tmp_path / "c")[0].format == "joulebench"


PLAIN_HF = """
import json, sys, torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer
folder, inputs = sys.argv[1], sys.argv[2]
tok = AutoTokenizer.from_pretrained(folder)
model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
texts = [json.loads(line)["sentence"] for line in open(inputs)]
with torch.no_grad():
    print("".join(str(int(model(**tok(t, truncation=True, return_tensors="pt")).logits.argmax())) for t in texts))
"""

PLAIN_HF_MEAN = """
import json, sys, onnxruntime
from sentence_transformers import SentenceTransformer
folder, inputs = sys.argv[1], sys.argv[2]
encoder = SentenceTransformer(folder, device="cpu")
head = onnxruntime.InferenceSession(folder + "/head.onnx", providers=["CPUExecutionProvider"])
texts = [json.loads(line)["sentence"] for line in open(inputs)]
logits = head.run(["logits"], {"pooled": encoder.encode(texts)})[0]
print("".join(str(int(i)) for i in logits.argmax(-1)))
"""

PLAIN_ONNX = """
import json, sys, numpy as np, onnxruntime
from transformers import AutoTokenizer
folder, inputs = sys.argv[1], sys.argv[2]
tok = AutoTokenizer.from_pretrained(folder)
session = onnxruntime.InferenceSession(folder + "/model.onnx", providers=["CPUExecutionProvider"])
names = {i.name for i in session.get_inputs()}
texts = [json.loads(line)["sentence"] for line in open(inputs)]
out = []
for t in texts:
    enc = tok(t, truncation=True, return_tensors="np")
    out.append(str(int(session.run(["logits"], {k: enc[k].astype(np.int64) for k in names})[0].argmax())))
print("".join(out))
"""


@pytest.mark.parametrize("kind, fmt, script", [("dense", "hf", PLAIN_HF), ("layer_drop", "hf", PLAIN_HF),
                                               ("dense mean", "hf", PLAIN_HF_MEAN), ("dense", "onnx", PLAIN_ONNX),
                                               ("int8 onnxruntime", "onnx", PLAIN_ONNX)])
def test_exports_load_without_joulebench(store, tmp_path, kind, fmt, script):
    _, record = export(store, kind, fmt, tmp_path / "x")
    code = "import sys; sys.modules['joulebench'] = None\n" + script  # joulebench cannot be imported
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "x"), str(store["root"] / "dev.jsonl")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == record["quality"]["predictions"]


def test_pick_within_one_point_chooses_a_stored_configuration(store):
    record = select_record(store["path"], pick="within 1 pt")
    assert record["config_hash"] in store["hashes"].values()


def test_bad_input_is_one_line_and_leaves_nothing(store, tmp_path):
    with pytest.raises(UserError, match="--config-hash: 'nopenope' is not in"):
        select_record(store["path"], config_hash="nopenope")
    with pytest.raises(UserError, match="--pick: expected 'within N pt'"):
        select_record(store["path"], pick="cheapest")
    with pytest.raises(UserError, match="give exactly one of --pick"):
        select_record(store["path"])
    with pytest.raises(UserError, match="no configuration in"):
        select_record(store["path"], pick="within 1 pt online")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    with pytest.raises(UserError, match="exists and is not empty; pass --force"):
        export(store, "dense", "hf", busy)
    assert (busy / "keep.txt").read_text() == "mine"
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="is a file, not a folder"):
        export(store, "dense", "hf", tmp_path / "file" / "out")
    with pytest.raises(UserError, match="not an exported folder"):
        Exported(tmp_path)
