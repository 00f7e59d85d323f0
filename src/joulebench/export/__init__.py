"""Take the winner away: the chosen configuration as a deployable folder, with a model card of what was measured.

    from joulebench.export import export_record, select_record
    record = select_record("runs/demo/results.jsonl", pick="within 1 pt")
    export_record(record, Path("exported"), fmt="auto", data_dir=None)

The folder is written to a temporary sibling and renamed when complete: nothing half-written is left.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joulebench.errors import UserError
from joulebench.export.formats import label_names
from joulebench.export.select import config_of_record, select_record
from joulebench.tasks.kinds import kind_of

__all__ = ["ExportResult", "export_config", "export_record", "select_record", "write_folder"]

HOW_TO_LOAD = {
    "hf": "```python\nfrom transformers import pipeline\n"
          "classify = pipeline('text-classification', model=FOLDER)\n"
          "classify(texts)  # [{'label': one of LABELS, 'score': ...}, ...]\n```\n"
          "(`AutoModelForSequenceClassification.from_pretrained(FOLDER)` loads it too), or "
          "`joulebench predict FOLDER --input FILE`.",
    "hf-mean": "A sentence-transformers folder: the encoder (`AutoModel.from_pretrained(FOLDER)` loads it cleanly) "
               "mean-pools the tokens as the model was trained, and the head is its own file (`head.onnx`, and its "
               "weights in `head.safetensors`, see `head.json`):\n\n```python\nimport onnxruntime\n"
               "from sentence_transformers import SentenceTransformer\n"
               "encoder = SentenceTransformer(FOLDER, device='cpu')\n"
               "head = onnxruntime.InferenceSession(FOLDER + '/head.onnx', providers=['CPUExecutionProvider'])\n"
               "vectors = encoder.encode(texts)  # (n, width) float32, mean-pooled\n"
               "logits = head.run(['logits'], {'pooled': vectors})[0]\n"
               "labels = [LABELS[i] for i in logits.argmax(-1)]\n```\n"
               "or `joulebench predict FOLDER --input FILE`.",
    "onnx": "```python\nimport onnxruntime\nfrom transformers import AutoTokenizer\n"
            "tokenizer = AutoTokenizer.from_pretrained(FOLDER)  # gives exactly the graph's inputs\n"
            "session = onnxruntime.InferenceSession(FOLDER + '/model.onnx', providers=['CPUExecutionProvider'])\n"
            "enc = tokenizer(texts, padding=True, truncation=True, return_tensors='np')\n"
            "logits = session.run(['logits'], dict(enc))[0]\n"
            "labels = [LABELS[i] for i in logits.argmax(-1)]\n```\n"
            "or `joulebench predict FOLDER --input FILE`.",
    "openvino": "```python\nimport json\nimport openvino as ov\nfrom transformers import AutoTokenizer\n"
                "tokenizer = AutoTokenizer.from_pretrained(FOLDER)  # gives exactly the model's inputs\n"
                "hint = json.load(open(FOLDER + '/openvino_config.json'))  # the precision the record ran\n"
                "model = ov.Core().compile_model(FOLDER + '/openvino_model.xml', 'CPU', hint)\n"
                "enc = tokenizer(texts, padding=True, truncation=True, return_tensors='np')\n"
                "logits = model(dict(enc))['logits']\n"
                "labels = [LABELS[i] for i in logits.argmax(-1)]\n```\n"
                "or `joulebench predict FOLDER --input FILE`.",
    "joulebench": "`joulebench predict FOLDER --input FILE [--data-dir D]` rebuilds the reduced model from "
                  "`checkpoints/`: it needs joulebench, the pre-trained base model and the task's data (reductions "
                  "calibrated on held-out training examples choose again, the same way); no training runs.",
}


@dataclass
class ExportResult:
    folder: Path
    format: str
    record: dict | None
    refused: dict[str, str]


def export_record(record: dict, out: Path, fmt: str = "auto", data_dir: Path | None = None,
                  cache_dir: Path | None = None, force: bool = False, baseline: dict | None = None) -> ExportResult:
    """Rebuild the record's model and write it to ``out`` in ``fmt`` (``auto``, ``hf``, ``onnx``, ``joulebench``).

    Raises:
        UserError: an existing non-empty ``out`` without ``force``, ``out`` below a file, or a format that
            cannot express the configuration's reductions (named, with the reason).
    """
    from joulebench.export.rebuild import rebuild

    _check_format(fmt)
    _check_out(Path(out), force)
    rebuilt = rebuild(config_of_record(record), data_dir, cache_dir)
    if rebuilt.config.task_data != record.get("task_data"):
        where = data_dir or "the Hub"
        raise UserError(f"the data under {where} is not the data record {record.get('config_hash')} was made on "
                        f"(digest {rebuilt.config.task_data} vs {record.get('task_data')}); pass its --data-dir")
    return write_folder(rebuilt, Path(out), fmt, record, baseline)


def export_config(config: Any, out: Path, fmt: str = "auto", data_dir: Path | None = None,
                  cache_dir: Path | None = None, force: bool = False) -> ExportResult:
    """Export a configuration that has no record yet (``joulebench prune export``): the same folder, with a card
    that says nothing was measured."""
    from joulebench.export.rebuild import rebuild

    _check_format(fmt)
    _check_out(Path(out), force)
    return write_folder(rebuild(config, data_dir, cache_dir), Path(out), fmt, None, None)


def write_folder(rebuilt: Any, out: Path, fmt: str, record: dict | None, baseline: dict | None) -> ExportResult:
    """Write the rebuilt model to a temporary sibling of ``out`` in ``fmt``, then rename it to ``out``."""
    from joulebench.export.card import model_card, unmeasured_card
    from joulebench.export.formats import FORMATS, WRITERS, why_not

    refused = {f: why for f in FORMATS if (why := why_not(f, rebuilt)) is not None}
    if fmt != "auto" and fmt in refused:
        names = " + ".join(r["name"] for r in rebuilt.reductions) or "the dense model"
        raise UserError(f"--format {fmt}: cannot express {names}: {refused[fmt]}")
    for chosen in [fmt] if fmt != "auto" else [f for f in FORMATS if f not in refused]:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
        try:
            info = WRITERS[chosen](rebuilt, tmp)
        except UserError as exc:  # written, loaded back, and not the same model: the next format, or the error
            shutil.rmtree(tmp, ignore_errors=True)
            if fmt != "auto":
                raise
            refused[chosen] = str(exc)
            continue
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        try:
            key = "hf-mean" if chosen == "hf" and not info.get("loads_whole", True) else chosen
            labels = info.get("labels") or label_names(rebuilt.task)
            info["how_to_load"] = HOW_TO_LOAD[key].replace("LABELS", repr(labels) if labels else "range(2)")
            meta = {"format": chosen, "config_hash": None if record is None else record.get("config_hash"),
                    "task": _task_info(rebuilt), "max_seq_len": rebuilt.max_seq_len,
                    "batch_size": rebuilt.config.measure.batch_size, "formats_refused": refused,
                    "format_details": info, "record": record, "config": rebuilt.config.to_dict(),
                    "reductions": rebuilt.reductions}
            (tmp / "joulebench.json").write_text(json.dumps(meta, indent=1, default=str) + "\n")
            card = unmeasured_card(rebuilt, chosen, info) if record is None else \
                model_card(record, baseline, chosen, info)
            (tmp / "MODEL_CARD.md").write_text(card + "\n")
            if out.exists():
                shutil.rmtree(out)
            os.replace(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return ExportResult(out, chosen, record, refused)
    raise AssertionError("the joulebench format holds every model")  # pragma: no cover


def _check_format(fmt: str) -> None:
    from joulebench.export.formats import FORMATS

    if fmt not in ("auto", *FORMATS):
        raise UserError(f"--format: expected auto, {', '.join(FORMATS)}, got {fmt!r}")


def _check_out(out: Path, force: bool) -> None:
    from joulebench.paths import writable_folder

    for parent in [out, *out.parents]:
        if parent.exists() and not parent.is_dir():
            raise UserError(f"--out {out}: {parent} is a file, not a folder")
    if out.exists() and any(out.iterdir()) and not force:
        raise UserError(f"--out {out}: the folder exists and is not empty; pass --force to replace it")
    writable_folder(out.parent, "--out")


def _task_info(rebuilt: Any) -> dict[str, Any]:
    """What ``predict`` needs to read new inputs: the text columns, the kind and the label names."""
    task = rebuilt.task
    spec = getattr(task, "declaration", None)
    if spec is not None:
        columns = list(spec.text)
        labels = list(task.label_names) if kind_of(task).has_label_names else None
    else:
        columns = [c for c in getattr(task, "text_columns", ("text", None)) if c is not None]
        labels = label_names(task) or [str(i) for i in range(task.num_labels)]
    return {"name": task.name, "kind": kind_of(task).name, "text_columns": columns,
            "labels": labels}
