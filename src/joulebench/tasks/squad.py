"""SQuAD v1.1: extractive question answering (Rajpurkar et al., 2016).

Local layout: ``<data_dir>/squad/train-v1.1.json`` and ``dev-v1.1.json`` in the official JSON
layout (``data[].paragraphs[].{context, qas[].{id, question, answers[].{answer_start, text}}}``);
without ``data_dir`` the Hub's ``squad`` dataset. The task's kind is ``qa``: its head predicts an
answer span (:mod:`joulebench.tasks.qa`), and it is scored by exact match and F1
(:mod:`joulebench.tasks.squad_metrics`).
"""

from __future__ import annotations

import hashlib
import heapq
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from joulebench.errors import UserError
from joulebench.tasks.base import SPLITS, TASKS
from joulebench.tasks.squad_metrics import squad_scores


@dataclass(frozen=True)
class QAExample:
    """One question on one context, with its gold answers (text and character offset)."""

    id: str
    question: str
    context: str
    answers: tuple[str, ...]
    answer_starts: tuple[int, ...]


def _subset(examples: list[QAExample], max_examples: int | None, seed: int) -> list[QAExample]:
    """A seeded subset by content hash, in file order (as the GLUE tasks' ``deterministic_subset``)."""
    if max_examples is None or max_examples >= len(examples):
        return list(examples)
    if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 1:
        raise UserError(f"max_examples must be a positive integer, got {max_examples!r}")

    def key(e: QAExample) -> bytes:
        return hashlib.blake2b(f"{seed}\x1f{e.id}\x1f{e.question}".encode(), digest_size=8).digest()

    chosen = sorted(i for _, i in heapq.nsmallest(max_examples, ((key(e), i) for i, e in enumerate(examples))))
    return [examples[i] for i in chosen]


def _need(value: Any, kind: type, where: str, what: str) -> Any:
    if not isinstance(value, kind) or isinstance(value, bool):
        raise UserError(f"{where}: {what}, got {type(value).__name__} {str(value)[:60]!r}")
    return value


def parse_squad(data: Any, path: str, split: str) -> list[QAExample]:
    """Examples of an official-layout SQuAD v1.1 document, every field checked.

    Raises:
        UserError: a missing key, a value of the wrong type, an answer that does not occur in its
            context at its offset, a question without answers, or no question at all; the message
            names the file and where in it.
    """
    articles = _need(data, dict, path, "expected a JSON object with a 'data' list").get("data")
    _need(articles, list, f"{path}: key 'data'", "expected a list of articles")
    examples: list[QAExample] = []
    seen: dict[str, str] = {}
    for a, article in enumerate(articles):
        where_a = f"{path}: data[{a}]"
        paragraphs = _need(article, dict, where_a, "expected an object").get("paragraphs")
        _need(paragraphs, list, f"{where_a}.paragraphs", "expected a list (missing key 'paragraphs'?)")
        for p, paragraph in enumerate(paragraphs):
            where_p = f"{where_a}.paragraphs[{p}]"
            _need(paragraph, dict, where_p, "expected an object")
            context = _need(paragraph.get("context"), str, f"{where_p}.context",
                            "expected the context text (missing key 'context'?)")
            qas = _need(paragraph.get("qas"), list, f"{where_p}.qas", "expected a list of questions")
            for q, qa in enumerate(qas):
                where_q = f"{where_p}.qas[{q}]"
                _need(qa, dict, where_q, "expected an object")
                qid = _need(qa.get("id"), str, f"{where_q}.id", "expected the question id as text")
                if qid in seen:
                    raise UserError(f"{where_q}.id: question id {qid!r} is used twice (first at {seen[qid]}); "
                                    "answers are keyed by id, so ids must be unique")
                seen[qid] = where_q
                question = _need(qa.get("question"), str, f"{where_q}.question (id {qid})",
                                 "expected the question text")
                if not question.strip():
                    raise UserError(f"{where_q}.question (id {qid}): empty question")
                answers = _need(qa.get("answers"), list, f"{where_q}.answers (id {qid})", "expected a list of answers")
                if not answers:
                    raise UserError(f"{where_q}.answers (id {qid}): no answer; SQuAD v1.1 gives every question one")
                texts, starts = [], []
                for n, answer in enumerate(answers):
                    where_n = f"{where_q}.answers[{n}] (id {qid})"
                    _need(answer, dict, where_n, "expected an object with 'text' and 'answer_start'")
                    text = _need(answer.get("text"), str, f"{where_n}.text", "expected the answer text")
                    start = _need(answer.get("answer_start"), int, f"{where_n}.answer_start",
                                  "expected a character offset (integer)")
                    if context[start:start + len(text)] != text:
                        raise UserError(f"{where_n}: answer {text[:40]!r} does not occur in its context at "
                                        f"answer_start {start} (the context there reads "
                                        f"{context[start:start + len(text)][:40]!r})")
                    texts.append(text)
                    starts.append(start)
                examples.append(QAExample(qid, question, context, tuple(texts), tuple(starts)))
    if not examples:
        raise UserError(f"{path}: no questions in the {split} split; expected at least one")
    return examples


class Squad:
    """SQuAD v1.1 extractive QA: the answer is a span of the context; exact match and F1."""

    name = "squad"
    kind = "qa"
    num_labels = 2  # start and end logits per token
    primary_metric = "f1"
    metric_names: tuple[str, ...] = ("exact_match", "f1")
    hub_id = ("squad", "plain_text")
    files: ClassVar[Mapping[str, str]] = {"train": "train-v1.1.json", "validation": "dev-v1.1.json"}

    def __repr__(self) -> str:
        return "<task squad>"

    def load(self, split: str, data_dir: Path | None, max_examples: int | None = None,
             seed: int = 0) -> list[QAExample]:
        """See :meth:`joulebench.tasks.base.Task.load`."""
        if split not in SPLITS:
            raise UserError(f"task 'squad' has no split {split!r}; expected one of: {', '.join(SPLITS)}")
        examples = self._load_hub(split) if data_dir is None else self._load_local(split, Path(data_dir))
        return _subset(examples, max_examples, seed)

    def data_digest(self, data_dir: Path | None) -> str:
        """The data's identity: the content digest of the local files, or the Hub dataset."""
        if data_dir is None:
            return f"hub:{self.hub_id[0]}/{self.hub_id[1]}"
        from joulebench.tasks.tables import digest_files

        return digest_files([Path(data_dir) / "squad" / name for name in sorted(set(self.files.values()))])

    def _load_local(self, split: str, data_dir: Path) -> list[QAExample]:
        path = data_dir / "squad" / self.files[split]
        if not path.is_file():
            raise UserError(f"{path} not found; expected {data_dir / 'squad'}/ holding train-v1.1.json and "
                            "dev-v1.1.json in the official SQuAD v1.1 layout")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            raise UserError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
        return parse_squad(data, str(path), split)

    def _load_hub(self, split: str) -> list[QAExample]:
        from joulebench.tasks.hub import load_hub_columns

        columns = load_hub_columns(self.hub_id, split, ["id", "question", "context", "answers"])
        data = {"data": [{"paragraphs": [{"context": c, "qas": [
            {"id": i, "question": q, "answers": [{"text": t, "answer_start": s}
                                                  for t, s in zip(a["text"], a["answer_start"], strict=True)]}]}]}
            for i, q, c, a in zip(columns["id"], columns["question"], columns["context"], columns["answers"],
                                  strict=True)]}
        return parse_squad(data, f"Hub dataset squad split {split!r}", split)

    def score(self, predictions: Mapping[str, str], examples: Sequence[QAExample]) -> dict:
        """Exact match and F1 (percent) over ``examples`` of ``{question id: answer text}``."""
        return squad_scores(predictions, {e.id: e.answers for e in examples})


SQUAD = TASKS.register("squad", help="SQuAD v1.1 extractive question answering; exact match and F1")(Squad())
