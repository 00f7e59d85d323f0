"""Exports load cleanly in the libraries people already use, for every family (tiny random-init models, SST-2
fixture): a ``cls`` head as the family's sequence-classification folder (AutoModelForSequenceClassification and
``pipeline`` with no missing or unexpected weights, the task's label names), a mean-pooled head as a
sentence-transformers folder whose encoder loads cleanly (ModernBERT: its own class, so the pipeline works), and
ONNX graphs whose inputs are the tokenizer's outputs and whose output is ``logits``. Each reproduces the record's
dev predictions without joulebench (run in a subprocess that cannot import it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from joulebench.configuration import parse_config
from joulebench.export import export_record
from joulebench.models.checkpoints import CheckpointCache
from joulebench.models.loading import TINY_CONFIGS
from joulebench.results.store import ResultStore
from joulebench.runner import Runner, RunOptions
from joulebench.tasks import get_task

FAMILIES = list(TINY_CONFIGS)
MEASURE = {"repeats": 1, "warmup_calls": 0, "batch_size": 16}

#: Plain transformers: the load report must be empty and the pipeline must say the task's label names.
PIPELINE = """
import json, sys
from transformers import AutoModelForSequenceClassification, pipeline
folder, inputs = sys.argv[1], sys.argv[2]
_, info = AutoModelForSequenceClassification.from_pretrained(folder, output_loading_info=True)
report = {k: sorted(map(str, v)) for k, v in info.items() if v}
classify = pipeline("text-classification", model=folder, device="cpu")
texts = [json.loads(line)["sentence"] for line in open(inputs)]
labels = [out["label"] for out in classify(texts, truncation=True)]
print(json.dumps({"report": report, "labels": labels}))
"""

#: sentence-transformers: the encoder's load report must be empty; encode() + head.onnx gives the predictions.
SENTENCE = """
import json, logging, sys, onnxruntime
from transformers import AutoModel
from sentence_transformers import SentenceTransformer
folder, inputs = sys.argv[1], sys.argv[2]
_, info = AutoModel.from_pretrained(folder, output_loading_info=True)
report = {k: sorted(map(str, v)) for k, v in info.items() if v}
warnings = []
handler = logging.Handler()
handler.emit = lambda record: warnings.append(record.getMessage()) if record.levelno >= logging.WARNING else None
logging.getLogger().addHandler(handler)
encoder = SentenceTransformer(folder, device="cpu")
head = onnxruntime.InferenceSession(folder + "/head.onnx", providers=["CPUExecutionProvider"])
texts = [json.loads(line)["sentence"] for line in open(inputs)]
logits = head.run(["logits"], {"pooled": encoder.encode(texts)})[0]
names = json.load(open(folder + "/config.json"))["id2label"]
print(json.dumps({"report": report, "labels": [names[str(int(i))] for i in logits.argmax(-1)],
                  "warnings": warnings}))
"""

#: Plain onnxruntime, the generic way: every tokenizer output is fed as it comes.
ONNX = """
import json, sys, onnxruntime
from transformers import AutoTokenizer
folder, inputs = sys.argv[1], sys.argv[2]
tok = AutoTokenizer.from_pretrained(folder)
session = onnxruntime.InferenceSession(folder + "/model.onnx", providers=["CPUExecutionProvider"])
texts = [json.loads(line)["sentence"] for line in open(inputs)]
ids = [int(session.run(["logits"], dict(tok(t, truncation=True, return_tensors="np")))[0].argmax()) for t in texts]
print(json.dumps({"inputs": [i.name for i in session.get_inputs()], "outputs": [o.name for o in session.get_outputs()],
                  "tokenizer": sorted(tok("a b")), "labels": ids}))
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("family-exports")
    data = Path(__file__).resolve().parents[2] / "fixtures"
    runner = Runner(RunOptions(data_dir=data, cache=CheckpointCache(root / "cache")))
    results = ResultStore.in_dir(root / "out")
    records = {}
    for family in FAMILIES:
        for pooling in ("cls", "mean"):
            (config,) = parse_config({"task": "sst2", "model": f"tiny-random-{family}", "max_seq_len": 32,
                                      "classifier_pooling": pooling, "train": {"batch_size": 16, "min_steps": 0},
                                      "measure": MEASURE, "name": f"{family} {pooling}"})
            records[family, pooling] = runner.run(config, results)
    dev = [e.text_a for e in get_task("sst2").load("validation", data)]
    (root / "dev.jsonl").write_text("".join(json.dumps({"sentence": t}) + "\n" for t in dev))
    return {"root": root, "data": data, "records": records}


def _without_joulebench(script: str, folder: Path, inputs: Path) -> dict:
    code = "import sys; sys.modules['joulebench'] = None\n" + script
    done = subprocess.run([sys.executable, "-c", code, str(folder), str(inputs)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _names(record: dict) -> list[str]:
    return [("negative", "positive")[int(d)] for d in record["quality"]["predictions"]]


@pytest.mark.parametrize("family", FAMILIES)
def test_a_cls_head_loads_whole_in_transformers_and_the_pipeline(store, family, tmp_path):
    record = store["records"][family, "cls"]
    export_record(record, tmp_path / "hf", "hf", store["data"], store["root"] / "cache")
    seen = _without_joulebench(PIPELINE, tmp_path / "hf", store["root"] / "dev.jsonl")
    assert seen["report"] == {}, seen["report"]
    assert seen["labels"] == _names(record)


@pytest.mark.parametrize("family", FAMILIES)
def test_a_mean_head_loads_cleanly_in_sentence_transformers(store, family, tmp_path):
    record = store["records"][family, "mean"]
    export_record(record, tmp_path / "hf", "hf", store["data"], store["root"] / "cache")
    if family == "modernbert":  # its own class holds mean pooling: the standard folder, the pipeline works
        seen = _without_joulebench(PIPELINE, tmp_path / "hf", store["root"] / "dev.jsonl")
    else:
        seen = _without_joulebench(SENTENCE, tmp_path / "hf", store["root"] / "dev.jsonl")
        assert not [w for w in seen["warnings"] if "weight" in w.lower()], seen["warnings"]
    assert seen["report"] == {}, seen["report"]
    assert seen["labels"] == _names(record)
    card = (tmp_path / "hf" / "MODEL_CARD.md").read_text()
    assert "['negative', 'positive']" in card


@pytest.mark.parametrize("family", FAMILIES)
def test_onnx_takes_the_tokenizers_outputs_and_returns_logits(store, family, tmp_path):
    record = store["records"][family, "cls"]
    export_record(record, tmp_path / "onnx", "onnx", store["data"], store["root"] / "cache")
    seen = _without_joulebench(ONNX, tmp_path / "onnx", store["root"] / "dev.jsonl")
    assert sorted(seen["inputs"]) == seen["tokenizer"] and seen["outputs"] == ["logits"]
    assert "".join(map(str, seen["labels"])) == record["quality"]["predictions"]


@pytest.mark.parametrize("pooling, fmt, answer", [("cls", "hf", "[o['label'] for o in classify(texts)]"),
                                                  ("mean", "hf", "labels"), ("cls", "onnx", "labels")])
def test_the_cards_example_runs_as_written(store, tmp_path, pooling, fmt, answer):
    record = store["records"]["bert", pooling]
    export_record(record, tmp_path / "x", fmt, store["data"], store["root"] / "cache")
    card = (tmp_path / "x" / "MODEL_CARD.md").read_text()
    example = card.split("```python\n", 1)[1].split("```", 1)[0]
    assert len(example.splitlines()) <= 10
    texts = [json.loads(line)["sentence"] for line in (store["root"] / "dev.jsonl").read_text().splitlines()]
    script = (f"import json\nFOLDER = {str(tmp_path / 'x')!r}\ntexts = {texts!r}\n{example}\n"
              f"print(json.dumps([str(x) for x in {answer}]))\n")
    seen = _without_joulebench(script, tmp_path / "x", store["root"] / "dev.jsonl")
    assert seen == _names(record)
