"""``regression``: one input (or a pair), one number (STS-B style); a one-output head trained on squared error."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch

from joulebench.tasks.kinds.classification import ClassificationKind


class RegressionKind(ClassificationKind):
    """One input, one number: the prediction is the head's single output; Pearson and Spearman."""

    name = "regression"
    declared_as: ClassVar[dict[str, tuple[int, ...]]] = {"regression": (1, 2)}
    metrics = ("pearson", "spearman")
    default_metrics = ("pearson", "spearman")
    target = "target"
    has_label_names = False
    stratified = False
    #: what changes the encoder or its numbers, not what reads class predictions
    reductions = ("layer_drop", "int8", "quantize", "seq_len", "structured_prune", "ticket")
    refused_default = "it works on class predictions"

    def num_labels(self, task: Any) -> int:
        return 1

    def targets_of_table(self, task: Any, table: Any) -> list:
        from joulebench.tasks.tables import numbers

        return numbers(table, task.declaration.label or "", "label")

    def check_train(self, task: Any, examples: Sequence[Any], where: str) -> None:
        return None

    def slices(self, task: Any, examples: Sequence[Any]) -> dict[str, list[bool]]:
        return super(ClassificationKind, self).slices(task, examples)

    def predictions_of(self, logits: torch.Tensor) -> list:
        """The prediction of each row: the head's single output."""
        return logits.float().view(-1).tolist()

    def targets_of(self, encoded: Sequence[Any]) -> list:
        return [float(e.label) for e in encoded]

    def example_scores(self, quality: Mapping, metric: str) -> tuple[np.ndarray, tuple] | None:
        return None  # Pearson and Spearman are whole-set metrics (paired by resampling examples)

    def predictions_from_outputs(self, outputs: list[list[float]], labels: list[str] | None) -> list[dict]:
        return [{"prediction": row[0], "output": row} for row in outputs]
