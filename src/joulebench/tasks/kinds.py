"""Task kinds: what a task's model head is, how its examples are encoded, predicted and scored.

``classification`` (the GLUE tasks): a sequence-classification head, one encoded example per
input, argmax over the logits, accuracy/F1. ``qa`` (SQuAD): a span head, several windows per
question (``max_seq_len``, ``doc_stride``), the best span over a question's windows, exact match and
F1. The runner asks the kind and never assumes either; a new kind is one class here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from joulebench.errors import UserError
from joulebench.measure import counted_forward
from joulebench.models.batching import EvalBatch, encode

Progress = Callable[[int, int], None]


def _digest(values: Sequence[object]) -> str:
    import hashlib

    return hashlib.sha256(",".join(map(str, values)).encode()).hexdigest()[:16]


def _output_logits(output: Any) -> torch.Tensor:
    return output if isinstance(output, torch.Tensor) else output.logits


#: Keys of a training batch that are targets, not model inputs.
TARGET_KEYS = ("labels", "start_positions", "end_positions")


def batch_inputs(batch: dict[str, torch.Tensor], device: str = "cpu") -> dict[str, torch.Tensor]:
    """The model inputs of a batch made with targets (``collate(..., with_labels=True)``)."""
    return {k: v.to(device) for k, v in batch.items() if k not in TARGET_KEYS}


def batch_size_of(batch: dict[str, torch.Tensor]) -> int:
    """Examples (or QA windows) in a batch."""
    return int(batch["input_ids"].shape[0])


def supervised_loss(output: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
    """The loss *summed* over a batch's examples and how many it got right, for either kind of head.

    A classification batch has ``labels`` (cross-entropy of the logits; right = argmax is the
    label); a QA batch has ``start_positions`` and ``end_positions`` (the mean of the start and end
    cross-entropies, as the span head's own loss; right = both argmaxes hit the gold tokens, the
    window-level exact match). Summed, not averaged, so per-example gate gradients add up.
    """
    if "labels" in batch and batch["labels"].is_floating_point():  # a regression target: squared error
        values = _output_logits(output).float().view(-1)
        targets = batch["labels"].to(values.device).float().view(-1)
        return nn.functional.mse_loss(values, targets, reduction="sum"), 0
    if "labels" in batch:
        logits = _output_logits(output).float()
        labels = batch["labels"].to(logits.device)
        loss = nn.functional.cross_entropy(logits, labels, reduction="sum")
        return loss, int((logits.argmax(-1) == labels).sum())
    start, end = output.start_logits.float(), output.end_logits.float()
    gold_start = batch["start_positions"].to(start.device)
    gold_end = batch["end_positions"].to(end.device)
    loss = (nn.functional.cross_entropy(start, gold_start, reduction="sum")
            + nn.functional.cross_entropy(end, gold_end, reduction="sum")) / 2
    right = (start.argmax(-1) == gold_start) & (end.argmax(-1) == gold_end)
    return loss, int(right.sum())


class ClassificationKind:
    """One input, one label: argmax over the logits."""

    name = "classification"

    def load_model(self, config: Any, task: Any) -> Any:
        return self.load_pretrained(config.model, task, config.train.seed, config.classifier_pooling)

    def load_pretrained(self, ref: str, task: Any, seed: int, pooling: str = "cls") -> Any:
        """``ref`` with this kind's freshly initialised head (drawn from ``seed``): the model before
        fine-tuning."""
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
        flops_total: float | None = 0.0
        for i, batch in enumerate(batches):
            if flops_total is not None:  # one forward pass gives both the predictions and the FLOPs
                output, counted = counted_forward(model, batch.inputs)
                flops_total = None if counted is None else flops_total + counted
            else:
                output = model(**batch.inputs)
            for idx, pred in zip(batch.indices, self.predictions_of(_output_logits(output)), strict=True):
                predictions[idx] = pred
            progress(i + 1, len(batches))
        labels = self.targets_of(encoded)
        quality = task.score(predictions, labels)
        quality["split"] = "validation"
        # Per-example outcomes, so analysis can pair any two configurations on the same examples.
        quality["predictions"], quality["labels"] = outcome_field(predictions), outcome_field(labels)
        quality["examples_sha256"] = _digest(labels)
        return quality, None if flops_total is None else flops_total / len(encoded), None


def outcome_field(values: Sequence[int] | Sequence[float]) -> str | list:
    """Per-example classes as one digit each (up to 10 classes), else the list of values (more classes,
    regression targets rounded to 6 significant digits)."""
    if all(isinstance(v, int) and 0 <= v < 10 for v in values):
        return "".join(map(str, values))
    return [v if isinstance(v, int) else float(f"{v:.6g}") for v in values]


class RegressionKind(ClassificationKind):
    """One input, one number (STS-B style): a one-output head trained on squared error; the prediction is
    the output itself."""

    name = "regression"

    def predictions_of(self, logits: torch.Tensor) -> list:
        """The prediction of each row: the head's single output."""
        return logits.float().view(-1).tolist()

    def targets_of(self, encoded: Sequence[Any]) -> list:
        return [float(e.label) for e in encoded]


class SpanKind:
    """Extractive QA: windows per question, the best span over them (:mod:`joulebench.tasks.qa`)."""

    name = "qa"
    n_best = 20
    max_answer_len = 30

    def load_model(self, config: Any, task: Any) -> Any:
        return self.load_pretrained(config.model, task, config.train.seed)

    def load_pretrained(self, ref: str, task: Any, seed: int, pooling: str = "cls") -> Any:
        """``ref`` with a freshly initialised span head (drawn from ``seed``; no pooling to choose)."""
        from joulebench.models.loading import load_span_model

        return load_span_model(ref, seed=seed)

    def encode(self, tokenizer: Any, examples: Sequence[Any], max_seq_len: int, config: Any) -> list:
        from joulebench.tasks.qa import encode_qa

        stride = min(config.doc_stride, max_seq_len // 2)  # a shorter window keeps at most half of it as overlap
        try:
            return encode_qa(tokenizer, examples, max_seq_len, stride)
        except Exception as exc:  # the tokenizer refuses a window too short for a question
            raise UserError(f"task {config.task}: max_seq_len {max_seq_len} with doc_stride {stride} cannot hold "
                            f"these questions ({str(exc).strip().splitlines()[0][:160]}); raise max_seq_len") from None

    @torch.inference_mode()
    def evaluate(self, model: nn.Module, task: Any, examples: Sequence[Any], encoded: list, batches: list[EvalBatch],
                 progress: Progress) -> tuple[dict, float | None, dict | None]:
        """EM/F1 over the questions, FLOPs per window, and ``{question id: answer}``."""
        from joulebench.tasks.qa import SpanSearch

        search = SpanSearch(self.n_best, self.max_answer_len)
        flops_total: float | None = 0.0
        for i, batch in enumerate(batches):
            if flops_total is not None:
                output, counted = counted_forward(model, batch.inputs)
                flops_total = None if counted is None else flops_total + counted
            else:
                output = model(**batch.inputs)
            for row, idx in enumerate(batch.indices):
                search.add(encoded[idx], output.start_logits[row], output.end_logits[row])
            progress(i + 1, len(batches))
        predictions = search.answers(examples)
        quality = task.score(predictions, examples)
        quality["split"] = "validation"
        quality["n_windows"] = len(encoded)
        quality["windows_per_question"] = len(encoded) / len(examples)
        quality["decoding"] = {"n_best": self.n_best, "max_answer_len": self.max_answer_len}
        from joulebench.tasks.squad_metrics import question_scores

        scores = question_scores(predictions, {e.id: e.answers for e in examples})
        # Per-question outcomes, so analysis can pair two configurations on the same questions.
        quality["question_exact"] = "".join(str(int(em)) for em, _ in scores)
        quality["question_f1"] = [round(f, 4) for _, f in scores]
        quality["examples_sha256"] = _digest([e.id for e in examples])
        return quality, None if flops_total is None else flops_total / len(encoded), predictions


KINDS = {"classification": ClassificationKind(), "regression": RegressionKind(), "qa": SpanKind()}


def kind_of(task: Any) -> Any:
    """The kind of ``task`` (``task.kind``, classification when it says none)."""
    return KINDS[getattr(task, "kind", "classification")]


def encoder_for(task: Any, tokenizer: Any, config: Any) -> Callable[[Sequence[Any], int], list]:
    """``(examples, max_seq_len) -> encoded`` as ``task``'s kind encodes them for ``config`` (a QA
    question becomes windows with answer positions)."""
    kind = kind_of(task)
    return lambda examples, max_seq_len: kind.encode(tokenizer, list(examples), max_seq_len, config)

