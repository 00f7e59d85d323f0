"""The task-kind protocol: everything a kind of task decides, in one class per kind.

A kind says how a declared task's rows are read and checked, what head the model gets, how examples are
encoded, predicted and scored (with the per-example scores that paired statistics resample), how its
predictions are exported and predicted again, and which reductions apply. Consumers ask the kind
(:func:`joulebench.tasks.kinds.kind_of`, :func:`~joulebench.tasks.kinds.kind_named`); adding one is a module
with a :class:`TaskKind` subclass and its ``@register_task_kind`` line.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from joulebench.errors import UserError
from joulebench.models.batching import EvalBatch

Progress = Callable[[int, int], None]

#: Keys of a training batch that are targets, not model inputs.
TARGET_KEYS = ("labels", "start_positions", "end_positions")


def digest(values: Sequence[object]) -> str:
    """What identifies a list of examples (by their labels or ids), so paired figures compare like with like."""
    return hashlib.sha256(",".join(map(str, values)).encode()).hexdigest()[:16]


def output_logits(output: Any) -> torch.Tensor:
    return output if isinstance(output, torch.Tensor) else output.logits


def batch_inputs(batch: dict[str, torch.Tensor], device: str = "cpu") -> dict[str, torch.Tensor]:
    """The model inputs of a batch made with targets (``collate(..., with_labels=True)``)."""
    return {k: v.to(device) for k, v in batch.items() if k not in TARGET_KEYS}


def batch_size_of(batch: dict[str, torch.Tensor]) -> int:
    """Examples (or QA windows) in a batch."""
    return int(batch["input_ids"].shape[0])


def digits(field: str) -> np.ndarray:
    """A string of one digit per example as integers."""
    return (np.frombuffer(field.encode(), dtype=np.uint8) - ord("0")).astype(np.int64)


def forward_batches(model: nn.Module, batches: list[EvalBatch], progress: Progress,
                    take: Callable[[EvalBatch, Any], None]) -> float | None:
    """Run every batch once, handing each output to ``take``; the FLOPs counted on the same forward passes, summed
    (None from the first batch the counter cannot count)."""
    from joulebench.measure import counted_forward

    flops_total: float | None = 0.0
    for i, batch in enumerate(batches):
        if flops_total is not None:  # one forward pass gives both the outputs and the FLOPs
            output, counted = counted_forward(model, batch.inputs)
            flops_total = None if counted is None else flops_total + counted
        else:
            output = model(**batch.inputs)
        take(batch, output)
        progress(i + 1, len(batches))
    return flops_total


class TaskKind(ABC):
    """What a kind of task decides. Subclasses set the class attributes and override what differs.

    Attributes:
        name: the kind's key (``task.kind``, a record's ``task_kind``).
        declared_as: the names a task declaration's ``kind:`` may use for it, with how many text columns each
            reads (``{"pair_classification": (2,)}``; ``()``: the kind names its columns itself).
        metrics: the metrics a declaration may ask for; ``default_metrics`` when it asks for none.
        target: what a declaration's ``label`` column holds (``"label"``, ``"target"``), None when it has none.
        has_label_names: whether a declaration may name its classes (``labels:``).
        named_columns: columns the kind reads by fixed names (overridable by the same keys in a declaration).
        windows: whether long inputs become several windows (the configuration's ``doc_stride`` applies).
        stratified: whether a dev split carved from train is stratified by label.
        reductions: the reductions that apply, None for every registered one; ``refused`` says why others
            do not (by name; else ``refused_default``).
        single_output: whether the head gives one logits tensor (what graph engines run); False for a head with
            several outputs (a span head's start and end logits), which only torch engines run.
        export_formats: the export formats that hold the kind's predictions; ``pipeline_tag``: the Hub's;
            ``predicts_from_export``: whether ``joulebench predict`` reads an export of it
            (:meth:`predictions_from_outputs`).
        per_unit_cost: the record's cost section that prices one scored unit, None for ``energy_j_per_example``.
        record_marker: a quality key only this kind's records have (to recognise records without ``task_kind``).
        quality_metrics: the analysis's quality metrics this kind's records hold: ``{metric: (quality key, factor
            to the analysis's scale)}``; ``metric_names`` maps a task's own metric name to the analysis's.
    """

    name: ClassVar[str]
    declared_as: ClassVar[dict[str, tuple[int, ...]]] = {}
    metrics: ClassVar[tuple[str, ...]] = ()
    default_metrics: ClassVar[tuple[str, ...]] = ()
    target: ClassVar[str | None] = "label"
    has_label_names: ClassVar[bool] = False
    named_columns: ClassVar[dict[str, str]] = {}
    windows: ClassVar[bool] = False
    stratified: ClassVar[bool] = False
    reductions: ClassVar[tuple[str, ...] | None] = None
    refused: ClassVar[dict[str, str]] = {}
    refused_default: ClassVar[str] = "it is not built for this kind of task"
    single_output: ClassVar[bool] = True
    export_formats: ClassVar[tuple[str, ...]] = ("joulebench", "hf", "onnx", "openvino")
    pipeline_tag: ClassVar[str] = "text-classification"
    predicts_from_export: ClassVar[bool] = False
    per_unit_cost: ClassVar[str | None] = None
    record_marker: ClassVar[str | None] = None
    quality_metrics: ClassVar[dict[str, tuple[str, float]]] = {}
    metric_names: ClassVar[dict[str, str]] = {}

    @property
    def described(self) -> str:
        """How error messages name a task of this kind."""
        return f"a {self.name} task"

    # -- which reductions apply -------------------------------------------------------------------------------
    def refusal(self, reduction: str) -> str | None:
        """None when ``reduction`` can change a model of this kind, else why not (one phrase)."""
        if reduction in self.refused:
            return self.refused[reduction]
        if self.reductions is None or reduction in self.reductions:
            return None
        return self.refused_default

    # -- a declared task's rows -------------------------------------------------------------------------------
    def num_labels(self, task: Any) -> int:
        """Outputs of the model's head for ``task``."""
        return len(task.label_names)

    @abstractmethod
    def read_examples(self, task: Any, table: Any) -> list:
        """The examples of one declared table, checked (one-line errors name the file, row and column)."""
        ...

    def input_key(self, example: Any) -> tuple:
        """What makes two examples the same input (for leakage between splits)."""
        return (example.text_a, example.text_b)

    def check_train(self, task: Any, examples: Sequence[Any], where: str) -> None:
        """Raise UserError when a training split cannot train this kind (e.g. one class only)."""
        return None

    @abstractmethod
    def score_declared(self, task: Any, predictions: Any, labels: Any) -> dict[str, float]:
        """A declared task's metrics with their standard errors."""
        ...

    def slices(self, task: Any, examples: Sequence[Any]) -> dict[str, list[bool]]:
        """The kind's own slices of an evaluation set (length quartiles, labels...)."""
        from joulebench.tasks.slices import length_quartiles, words

        return length_quartiles([len(words(e.text_a)) + len(words(e.text_b or "")) for e in examples])

    # -- the model ----------------------------------------------------------------------------------------------
    def load_model(self, config: Any, task: Any) -> Any:
        return self.load_pretrained(config.model, task, config.train.seed, config.classifier_pooling)

    @abstractmethod
    def load_pretrained(self, ref: str, task: Any, seed: int, pooling: str = "cls") -> Any:
        """``ref`` with this kind's freshly initialised head (drawn from ``seed``): the model before fine-tuning."""
        ...

    @abstractmethod
    def encode(self, tokenizer: Any, examples: Sequence[Any], max_seq_len: int, config: Any) -> list:
        """The examples as the model reads them (QA: windows with answer positions)."""

    @abstractmethod
    def evaluate(self, model: nn.Module, task: Any, examples: Sequence[Any], encoded: list, batches: list[EvalBatch],
                 progress: Progress) -> tuple[dict, float | None, dict | None]:
        """Quality over the split (with what paired statistics need per example), FLOPs per encoded input, and
        the predictions file's content (None when the quality holds them)."""
        ...

    # -- records ------------------------------------------------------------------------------------------------
    def example_scores(self, quality: Mapping, metric: str) -> tuple[np.ndarray, tuple] | None:
        """Per-example scores of ``metric`` in [0, 1] and what identifies the examples; None when the metric is
        not a mean over examples of this kind."""
        return None

    # -- exports ------------------------------------------------------------------------------------------------
    def export_refusal(self, fmt: str) -> str | None:
        """None when ``fmt`` holds this kind's model, else why not."""
        if fmt in self.export_formats:
            return None
        return f"exporting a {self.name} task as {fmt} is not built yet"

    def predictions_from_outputs(self, outputs: list[list[float]], labels: list[str] | None) -> list[dict]:
        """One dict per input of an exported model's raw outputs: ``prediction`` and ``output``."""
        raise UserError(f"predicting a {self.name} task from an export is not built yet")
