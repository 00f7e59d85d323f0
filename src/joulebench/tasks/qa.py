"""Extractive QA windows and span decoding (the ``qa`` task kind).

A question and its context become one or more windows of at most ``max_seq_len`` tokens:
``[CLS] question [SEP] context-part [SEP]``, the context cut into overlapping parts that advance
by ``max_seq_len - question - 3 - doc_stride`` tokens (``doc_stride`` is the overlap, as in the
Hugging Face examples' ``stride``). Each window keeps, for its context tokens, their character
offsets in the context, so a predicted span maps back to text. Training windows carry the answer's
token start and end, or (0, 0) ([CLS]) when the answer is not inside the window.

Decoding: in every window, the ``n_best`` highest start and end logits over context tokens form
candidate spans (end >= start, at most ``max_answer_len`` tokens); a span's score is its start
plus end logit; the best span over all windows of a question is its answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from joulebench.errors import UserError


@dataclass(frozen=True)
class QAWindow:
    """One window of one question (unpadded), as the batching code expects an encoded example.

    Attributes:
        input_ids, token_type_ids: the window's tokens.
        label: (start, end) token positions of the answer, (0, 0) when it is not in the window.
        example: index of the question in the split.
        offsets: per token, its (start, end) character offsets in the context, or None for
            question and special tokens.
    """

    input_ids: list[int]
    token_type_ids: list[int]
    label: tuple[int, int]
    example: int
    offsets: tuple[tuple[int, int] | None, ...]


def encode_qa(tokenizer: Any, examples: Sequence[Any], max_seq_len: int, doc_stride: int) -> list[QAWindow]:
    """Windows of every example, in example order.

    Raises:
        ValueError: a tokenizer without offsets (a "fast" tokenizer is needed), or a window too
            short for the question plus any context.
    """
    if not examples:
        return []
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError("question answering needs a fast tokenizer (character offsets)")
    questions = fitted_questions(tokenizer, [e.question.lstrip() for e in examples], max_seq_len, doc_stride)
    out = tokenizer(questions, [e.context for e in examples],
                    truncation="only_second", max_length=max_seq_len, stride=doc_stride,
                    return_overflowing_tokens=True, return_offsets_mapping=True, padding=False,
                    return_token_type_ids=True)
    windows = []
    for w, example_index in enumerate(out["overflow_to_sample_mapping"]):
        example = examples[example_index]
        sequence_ids = out.sequence_ids(w)
        offsets = tuple(tuple(o) if s == 1 else None for o, s in zip(out["offset_mapping"][w], sequence_ids,
                                                                       strict=True))
        windows.append(QAWindow(out["input_ids"][w], out["token_type_ids"][w],
                                _answer_tokens(example, offsets), example_index, offsets))
    return windows


def question_limit(tokenizer: Any, max_seq_len: int, doc_stride: int) -> int:
    """The most question tokens a window of ``max_seq_len`` holds beside at least one context token that is not
    overlap (the tokenizer refuses a window whose stride does not fit beside the question)."""
    return max_seq_len - tokenizer.num_special_tokens_to_add(pair=True) - doc_stride - 1


def fitted_questions(tokenizer: Any, questions: Sequence[str], max_seq_len: int, doc_stride: int) -> list[str]:
    """Questions cut to :func:`question_limit` tokens (at a token boundary), as the reference SQuAD preprocessing
    caps the query length; questions that fit are unchanged.

    Raises:
        ValueError: not even one question token fits.
    """
    limit = question_limit(tokenizer, max_seq_len, doc_stride)
    if limit < 1:
        raise ValueError(f"a window of {max_seq_len} tokens with overlap {doc_stride} holds no question token")
    encoded = tokenizer(list(questions), add_special_tokens=False, return_offsets_mapping=True)
    out = []
    for question, ids, offsets in zip(questions, encoded["input_ids"], encoded["offset_mapping"], strict=True):
        out.append(question if len(ids) <= limit else question[: offsets[limit - 1][1]])
    return out


def _answer_tokens(example: Any, offsets: Sequence[tuple[int, int] | None]) -> tuple[int, int]:
    """Token start and end of the first gold answer inside the window, else (0, 0)."""
    start_char = example.answer_starts[0]
    end_char = start_char + len(example.answers[0])
    spans = {i: o for i, o in enumerate(offsets) if o is not None}
    context = list(spans)
    if not context or spans[context[0]][0] > start_char or spans[context[-1]][1] < end_char:
        return (0, 0)
    start = next(i for i in context if spans[i][1] > start_char)
    end = next(i for i in reversed(context) if spans[i][0] < end_char)
    return (start, end)


@dataclass
class SpanSearch:
    """Best span found so far for each question."""

    n_best: int = 20
    max_answer_len: int = 30

    def __post_init__(self) -> None:
        self.best: dict[int, tuple[float, int, int]] = {}  # example -> (score, start char, end char)

    def add(self, window: QAWindow, start_logits: torch.Tensor, end_logits: torch.Tensor) -> None:
        """Consider the spans of one window (its logits, unpadded length or longer)."""
        n = len(window.input_ids)
        start_logits, end_logits = start_logits[:n].float(), end_logits[:n].float()
        context = torch.tensor([o is not None for o in window.offsets])
        if not bool(context.any()):
            return
        floor = torch.finfo(torch.float32).min
        starts = start_logits.masked_fill(~context, floor).topk(min(self.n_best, n)).indices.tolist()
        ends = end_logits.masked_fill(~context, floor).topk(min(self.n_best, n)).indices.tolist()
        best = self.best.get(window.example)
        for s in starts:
            if window.offsets[s] is None:
                continue
            for e in ends:
                if window.offsets[e] is None or e < s or e - s + 1 > self.max_answer_len:
                    continue
                score = float(start_logits[s] + end_logits[e])
                if best is None or score > best[0]:
                    best = (score, window.offsets[s][0], window.offsets[e][1])
        if best is not None:
            self.best[window.example] = best

    def answers(self, examples: Sequence[Any]) -> dict[str, str]:
        """``{question id: answer text}`` for every example that got a span."""
        return {examples[i].id: examples[i].context[s:e] for i, (_, s, e) in self.best.items()}


def read_qa_examples(table: Any, columns: dict[str, str]) -> list:
    """A declared extractive QA table's questions, checked (unique ids; every answer at its offset)."""
    from joulebench.tasks.squad import QAExample
    from joulebench.tasks.tables import text_values

    ids = [str(v) for v in table.column(columns["id"], "id")]
    questions = text_values(table, columns["question"], "question")
    contexts = text_values(table, columns["context"], "context")
    answers = table.column(columns["answers"], "answers")
    seen: dict[str, int] = {}
    out = []
    for row, (qid, question, context, answer) in enumerate(zip(ids, questions, contexts, answers, strict=True)):
        if qid in seen:
            first = table.where(seen[qid]).split(" ", 1)[1]
            raise UserError(f"{table.where(row, columns['id'])}: question id {qid!r} already used on {first}; "
                            "answers are keyed by id, so ids must be unique")
        seen[qid] = row
        texts, starts = _answers(answer, table, row, columns["answers"])
        for text, start in zip(texts, starts, strict=True):
            if context[start:start + len(text)] != text:
                raise UserError(f"{table.where(row, columns['answers'])}: answer {text!r} is not in the context at "
                                f"offset {start}")
        out.append(QAExample(qid, question, context, tuple(texts), tuple(starts)))
    return out


def _answers(value: Any, table: Any, row: int, column: str) -> tuple[list[str], list[int]]:
    where = table.where(row, column)
    if isinstance(value, str):
        import json

        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not isinstance(value, Mapping) or not isinstance(value.get("text"), list) \
            or not isinstance(value.get("answer_start"), list) or len(value["text"]) != len(value["answer_start"]) \
            or not value["text"]:
        raise UserError(f"{where}: expected {{text: [answers], answer_start: [offsets]}} with at least one answer, "
                        f"got {str(value)[:80]!r}")
    texts, starts = value["text"], value["answer_start"]
    if not all(isinstance(t, str) for t in texts) or not all(isinstance(s, int) and s >= 0 for s in starts):
        raise UserError(f"{where}: answers must be texts and answer_start non-negative integers")
    return texts, starts
