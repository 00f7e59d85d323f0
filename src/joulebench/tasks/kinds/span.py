"""``qa``: extractive question answering (SQuAD); windows per question, the best span over them, EM and F1."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from joulebench.errors import UserError
from joulebench.models.batching import EvalBatch
from joulebench.tasks.kinds.base import Progress, TaskKind, digest, digits, forward_batches

#: SQuAD-style column names of a declared extractive QA task (overridable by the same keys).
QA_COLUMNS = {"id": "id", "question": "question", "context": "context", "answers": "answers"}


class SpanKind(TaskKind):
    """Extractive QA: windows per question, the best span over them (:mod:`joulebench.tasks.qa`)."""

    name = "qa"
    declared_as: ClassVar[dict[str, tuple[int, ...]]] = {"extractive_qa": ()}
    metrics = ("exact_match", "qa_f1")
    default_metrics = ("qa_f1", "exact_match")
    target = None
    named_columns = QA_COLUMNS
    windows = True
    reductions = ("layer_drop", "int8", "quantize", "seq_len", "structured_prune", "ticket")
    refused: ClassVar[dict[str, str]] = {
        "token_prune": "it ranks tokens by attention and may drop context tokens the answer needs; a span-safe "
                       "pruning is not built yet",
        "early_exit": "its exit heads predict classes; exit heads that predict spans are not built yet",
        "distill": "its loss compares class logits; a span distillation loss is not built yet",
    }
    refused_default = "it is built for classification heads"
    single_output = False
    export_formats = ("joulebench",)

    def export_refusal(self, fmt: str) -> str | None:
        if fmt in self.export_formats:
            return None
        return f"exporting question answering as {fmt} is not built yet (span decoding lives in joulebench)"
    pipeline_tag = "question-answering"
    per_unit_cost = "per_question"
    record_marker = "exact_match"
    quality_metrics: ClassVar[dict[str, tuple[str, float]]] = {"exact_match": ("exact_match", 0.01),
                                                               "span_f1": ("f1", 0.01)}
    metric_names: ClassVar[dict[str, str]] = {"f1": "span_f1"}
    n_best = 20
    max_answer_len = 30

    @property
    def described(self) -> str:
        return "question answering"

    # -- a declared task's rows --
    def num_labels(self, task: Any) -> int:
        return 2

    def read_examples(self, task: Any, table: Any) -> list:
        from joulebench.tasks.qa import read_qa_examples

        return read_qa_examples(table, dict(task.declaration.qa_columns))

    def input_key(self, example: Any) -> tuple:
        return (example.question, example.context)

    def score_declared(self, task: Any, predictions: Any, labels: Any) -> dict[str, float]:
        from joulebench.tasks.squad_metrics import squad_scores

        return squad_scores(predictions, {e.id: e.answers for e in labels})

    def slices(self, task: Any, examples: Sequence[Any]) -> dict[str, list[bool]]:
        from joulebench.tasks.slices import length_quartiles, words

        return length_quartiles([len(words(e.question)) + len(words(e.context)) for e in examples])

    # -- the model --
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
        from joulebench.tasks.squad_metrics import question_scores

        search = SpanSearch(self.n_best, self.max_answer_len)

        def take(batch: EvalBatch, output: Any) -> None:
            for row, idx in enumerate(batch.indices):
                search.add(encoded[idx], output.start_logits[row], output.end_logits[row])

        flops_total = forward_batches(model, batches, progress, take)
        predictions = search.answers(examples)
        quality = task.score(predictions, examples)
        quality["split"] = "validation"
        quality["n_windows"] = len(encoded)
        quality["windows_per_question"] = len(encoded) / len(examples)
        quality["decoding"] = {"n_best": self.n_best, "max_answer_len": self.max_answer_len}
        scores = question_scores(predictions, {e.id: e.answers for e in examples})
        # Per-question outcomes, so analysis can pair two configurations on the same questions.
        quality["question_exact"] = "".join(str(int(em)) for em, _ in scores)
        quality["question_f1"] = [round(f, 4) for _, f in scores]
        quality["examples_sha256"] = digest([e.id for e in examples])
        return quality, None if flops_total is None else flops_total / len(encoded), predictions

    # -- records --
    def example_scores(self, quality: Mapping, metric: str) -> tuple[np.ndarray, tuple] | None:
        """Exact match (0/1) or F1 per question, identified by the questions' digest."""
        if metric == "exact_match":
            bits = quality.get("question_exact")
            values = digits(bits).astype(float) if isinstance(bits, str) and bits else None
        elif metric == "span_f1":
            scores = quality.get("question_f1")
            values = np.asarray(scores, dtype=float) if isinstance(scores, list) and scores else None
        else:
            return None
        found = quality.get("examples_sha256")
        return None if values is None or found is None else (values, (found, len(values)))
