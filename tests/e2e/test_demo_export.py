"""The demo's pick, exported in every format that can express it: its predictions on the SST-2 dev sentences equal
the record's, and the model card's figures are the record's. Needs a finished demo: CI runs it after
`joulebench demo` with JOULEBENCH_DEMO_OUT set to the demo's folder (and skips it in the first e2e pass)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from joulebench.errors import UserError
from joulebench.export import export_record, select_record
from joulebench.export.predict import predict_file
from joulebench.tasks import get_task, resolve_data_dir

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo() -> Path:
    folder = os.environ.get("JOULEBENCH_DEMO_OUT")
    if not folder or not (Path(folder) / "results.jsonl").is_file():
        pytest.skip("no finished demo: set JOULEBENCH_DEMO_OUT to a `joulebench demo --out` folder")
    return Path(folder)


def test_the_demo_pick_exports_and_predicts_its_own_dev_predictions(demo, tmp_path):
    data_dir = resolve_data_dir(None)
    record = select_record(demo, pick="within 1 pt")
    dev = get_task("sst2").load("validation", data_dir, record["config"]["measure"]["eval_max_examples"], 0)
    inputs = tmp_path / "dev.jsonl"
    inputs.write_text("".join(json.dumps({"sentence": e.text_a}) + "\n" for e in dev))
    exported = []
    for fmt in ("hf", "onnx", "joulebench"):
        try:
            done = export_record(record, tmp_path / fmt, fmt, data_dir)
        except UserError as exc:
            assert "cannot" in str(exc) and fmt != "joulebench", exc  # the joulebench format holds every model
            continue
        exported.append(fmt)
        rows = predict_file(done.folder, inputs, None, data_dir=data_dir)
        assert "".join(str(r["label_index"]) for r in rows) == record["quality"]["predictions"], fmt
        card = (done.folder / "MODEL_CARD.md").read_text()
        cost = record["cost"]
        for figure in (f"{cost['energy_j_per_example']:.4g} J", f"{cost['latency_ms_p50']:.4g} / "
                       f"{cost['latency_ms_p99']:.4g} ms", f"{cost['throughput_eps']:.4g} examples/s",
                       f"accuracy: {record['quality']['accuracy']:.4g}", record["config_hash"]):
            assert figure in card, (fmt, figure)
    assert "joulebench" in exported, exported  # and hf/onnx wherever they can hold the reductions
