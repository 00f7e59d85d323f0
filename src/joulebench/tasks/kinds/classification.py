"""``classification``: one input (or a pair), one class; argmax over the logits; accuracy, F1, macro F1, MCC."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from joulebench.errors import UserError
from joulebench.models.batching import EvalBatch, encode
from joulebench.tasks.kinds.base import Progress, TaskKind, digest, digits, forward_batches, output_logits


def outcome_field(values: Sequence[int] | Sequence[float]) -> str | list:
    """Per-example classes as one digit each (up to 10 classes), else the list of values (more classes,
    regression targets rounded to 6 significant digits)."""
    if all(isinstance(v, int) and 0 <= v < 10 for v in values):
        return "".join(map(str, values))
    return [v if isinstance(v, int) else float(f"{v:.6g}") for v in values]


def outcome_values(field: str | list) -> np.ndarray:
    """An :func:`outcome_field` read back."""
    return digits(field) if isinstance(field, str) else np.asarray(field)


class ClassificationKind(TaskKind):
    """One input, one label: argmax over the logits."""

    name = "classification"
    declared_as: ClassVar[dict[str, tuple[int, ...]]] = {"classification": (1,), "pair_classification": (2,)}
    metrics: ClassVar[tuple[str, ...]] = ("accuracy", "f1", "macro_f1", "mcc")
    default_metrics: ClassVar[tuple[str, ...]] = ("accuracy",)
    has_label_names = True
    stratified = True
    predicts_from_export = True
    quality_metrics: ClassVar[dict[str, tuple[str, float]]] = {
        m: (m, 1.0) for m in ("accuracy", "f1", "macro_f1", "mcc", "pearson", "spearman")}

    # -- a declared task's rows --
    def read_examples(self, task: Any, table: Any) -> list:
        from joulebench.tasks.base import Example
        from joulebench.tasks.tables import text_values

        d = task.declaration
        texts = [text_values(table, column, "text") for column in d.text]
        targets = self.targets_of_table(task, table)
        second = texts[1] if len(texts) > 1 else [None] * len(targets)
        return [Example(a, b, y) for a, b, y in zip(texts[0], second, targets, strict=True)]

    def targets_of_table(self, task: Any, table: Any) -> list:
        raw = table.column(task.declaration.label or "", "label")
        return [task.label_index(value, table, row) for row, value in enumerate(raw)]

    def check_train(self, task: Any, examples: Sequence[Any], where: str) -> None:
        present = {e.label for e in examples}
        if len(present) < 2:
            raise UserError(f"{where}: the training split holds one label only "
                            f"({task.label_names[next(iter(present))]}); expected at least two")

    def score_declared(self, task: Any, predictions: Any, labels: Any) -> dict[str, float]:
        from joulebench.tasks.metrics import declared_scores

        return declared_scores(task.metric_names, predictions, labels, task.num_labels)

    def slices(self, task: Any, examples: Sequence[Any]) -> dict[str, list[bool]]:
        from joulebench.tasks.slices import label_slices

        out = super().slices(task, examples)
        named = label_slices([e.label for e in examples])
        out.update({f"label_{task.label_names[int(k.split('_', 1)[1])]}": v for k, v in named.items()})
        return out

    # -- the model --
    def load_pretrained(self, ref: str, task: Any, seed: int, pooling: str = "cls") -> Any:
        from joulebench.models.loading import load_classifier

        return load_classifier(ref, task.num_labels, seed=seed, pooling=pooling)

    def encode(self, tokenizer: Any, examples: Sequence[Any], max_seq_len: int, config: Any) -> list:
        return encode(tokenizer, examples, max_seq_len)

    def predictions_of(self, logits: torch.Tensor) -> list:
        """The prediction of each row of a batch's outputs: the class with the highest logit."""
        return logits.argmax(-1).tolist()

    def targets_of(self, encoded: Sequence[Any]) -> list:
        """The gold value of each encoded example, as scored."""
        return [e.label for e in encoded]

    @torch.inference_mode()
    def evaluate(self, model: nn.Module, task: Any, examples: Sequence[Any], encoded: list, batches: list[EvalBatch],
                 progress: Progress) -> tuple[dict, float | None, dict | None]:
        """Quality over the split, FLOPs per example, and no predictions file."""
        predictions: list = [None] * len(encoded)

        def take(batch: EvalBatch, output: Any) -> None:
            for idx, pred in zip(batch.indices, self.predictions_of(output_logits(output)), strict=True):
                predictions[idx] = pred

        flops_total = forward_batches(model, batches, progress, take)
        labels = self.targets_of(encoded)
        quality = task.score(predictions, labels)
        quality["split"] = "validation"
        # Per-example outcomes, so analysis can pair any two configurations on the same examples.
        quality["predictions"], quality["labels"] = outcome_field(predictions), outcome_field(labels)
        quality["examples_sha256"] = digest(labels)
        return quality, None if flops_total is None else flops_total / len(encoded), None

    # -- records --
    def example_scores(self, quality: Mapping, metric: str) -> tuple[np.ndarray, tuple] | None:
        """Accuracy's per-example right/wrong, identified by the examples' digest and labels."""
        preds, labels = quality.get("predictions"), quality.get("labels")
        if metric != "accuracy" or not isinstance(preds, (str, list)) or not isinstance(labels, (str, list)) \
                or len(preds) != len(labels) or not preds:
            return None
        gold = outcome_values(labels)
        return (outcome_values(preds) == gold).astype(float), (quality.get("examples_sha256"), gold.tobytes())

    # -- exports --
    def predictions_from_outputs(self, outputs: list[list[float]], labels: list[str] | None) -> list[dict]:
        out = []
        for row in outputs:
            index = max(range(len(row)), key=row.__getitem__)
            out.append({"prediction": labels[index] if labels else index, "label_index": index, "output": row})
        return out
