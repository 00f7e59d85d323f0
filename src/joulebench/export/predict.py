"""``joulebench predict``: an exported folder run on new inputs, batched as the record's evaluation was."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from joulebench.errors import UserError
from joulebench.export.formats import FORMATS
from joulebench.tasks.base import Example
from joulebench.tasks.kinds import kind_named


class Exported:
    """An exported folder, loaded: its model, tokenizer and what the export says about its task."""

    def __init__(self, folder: str | Path, data_dir: Path | None = None) -> None:
        folder = Path(folder)
        self.data_dir = data_dir
        meta_path = folder / "joulebench.json"
        if not meta_path.is_file():
            raise UserError(f"{folder}: not an exported folder (no joulebench.json); make one with joulebench export")
        self.folder = folder
        try:
            self.meta = json.loads(meta_path.read_text())
            missing = [k for k in ("format", "task", "max_seq_len") if k not in self.meta]
        except (ValueError, TypeError, AttributeError):
            missing = ["readable JSON"]
        if missing or self.meta.get("format") not in FORMATS:
            lacking = ", ".join(missing) or "a known format"
            raise UserError(f"{meta_path}: not a joulebench export description (lacks {lacking}); re-export the "
                            "folder with joulebench export")
        self.format = self.meta["format"]
        self.task = self.meta["task"]
        self.max_seq_len = int(self.meta["max_seq_len"])
        self.batch_size = int(self.meta.get("batch_size") or 64)
        self.kind = kind_named(self.task.get("kind", "classification"))
        if not self.kind.predicts_from_export:
            raise UserError(f"{folder}: predicting {self.kind.described} from an export is not built yet")
        self.model, self.tokenizer = self._load()

    def _load(self) -> tuple[nn.Module, Any]:
        from transformers import AutoTokenizer

        from joulebench.export import formats

        if self.format == "hf":
            details = self.meta.get("format_details") or {}
            return formats.load_hf(self.folder, details.get("pooling", "cls")), AutoTokenizer.from_pretrained(
                self.folder)
        if self.format == "onnx":
            return formats.load_onnx(self.folder), AutoTokenizer.from_pretrained(self.folder)
        if self.format == "openvino":
            return formats.load_openvino(self.folder), AutoTokenizer.from_pretrained(self.folder)
        from joulebench.export.rebuild import rebuild
        from joulebench.export.select import config_of_record
        from joulebench.tasks import resolve_data_dir

        record = self.meta["record"]
        data_dir = resolve_data_dir(self.data_dir)
        rebuilt = rebuild(config_of_record(record), data_dir, self.folder / "checkpoints")
        if rebuilt.config.task_data != record.get("task_data"):  # calibrated choices were made on that data
            raise UserError(f"{self.folder}: the joulebench format rebuilds the model with the data it was made on "
                            f"(digest {record.get('task_data')}); {data_dir or 'the Hub'} holds other data: pass "
                            "--data-dir")
        return rebuilt.model, rebuilt.tokenizer

    @torch.inference_mode()
    def predict(self, examples: Sequence[Example], progress: Callable[[int, int], None] | None = None) -> list[dict]:
        """One dict per example, in order: ``prediction`` (label name or value) and the raw ``output``."""
        from joulebench.models.batching import encode, eval_batches

        encoded = encode(self.tokenizer, list(examples), self.max_seq_len)
        batches = eval_batches(encoded, self.batch_size, self.tokenizer.pad_token_id)
        outputs: list[list[float]] = [[] for _ in encoded]
        for i, batch in enumerate(batches):
            output = self.model(**batch.inputs)
            logits = (output if isinstance(output, torch.Tensor) else output.logits).float()
            for idx, row in zip(batch.indices, logits.tolist(), strict=True):
                outputs[idx] = row
            if progress is not None:
                progress(i + 1, len(batches))
        return self.kind.predictions_from_outputs(outputs, self.task.get("labels"))

    def read_inputs(self, path: Path) -> list[Example]:
        """The rows of a JSON Lines or CSV file as examples, by the task's text columns (or ``text``/``text_b``)."""
        from joulebench.tasks.tables import read_table, text_values

        table = read_table(path)
        columns = list(self.task["text_columns"])
        if not all(c in table.columns for c in columns):
            fallback = ["text", "text_b"][: len(columns)]
            if all(c in table.columns for c in fallback):
                columns = fallback
        texts = [text_values(table, c, "the exported task's text") for c in columns]
        second = texts[1] if len(texts) > 1 else [None] * len(texts[0])
        return [Example(a, b, 0) for a, b in zip(texts[0], second, strict=True)]


def predict_file(folder: str | Path, inputs: str | Path, out: str | Path | None,
                 progress: Callable[[int, int], None] | None = None, data_dir: Path | None = None) -> list[dict]:
    """Predict every row of ``inputs``; write ``out`` (JSON Lines, atomically) when given.

    Args:
        data_dir: the data folder of a built-in task, for the ``joulebench`` format (it rebuilds reductions
            whose trained parts and calibrated choices came from that data).
    """
    exported = Exported(folder, data_dir)
    examples = exported.read_inputs(Path(inputs))
    rows = exported.predict(examples, progress)
    if out is not None:
        out = Path(out)
        from joulebench.paths import writable_folder

        writable_folder(out.parent, "--out")
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
        os.replace(tmp, out)
    return rows
