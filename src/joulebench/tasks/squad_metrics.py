"""SQuAD v1.1 scoring: exact match and F1 with the official answer normalisation.

The rules are those of the official evaluation script (v1.1): an answer is lower-cased, its
punctuation removed, the articles "a", "an", "the" removed and its white space collapsed; exact
match is equality of the normalised strings, F1 the harmonic mean of token precision and recall
over the normalised tokens (tokens counted with multiplicity); each question takes the maximum over
its gold answers, and the figures are means over all questions, in percent. A question without a
prediction scores 0 (the official script says "Unanswered question ... will receive score 0").
"""

from __future__ import annotations

import random
import re
import string
from collections import Counter
from collections.abc import Mapping, Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces (the official order of steps)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1(prediction: str, gold: str) -> float:
    predicted, expected = normalize_answer(prediction).split(), normalize_answer(gold).split()
    common = Counter(predicted) & Counter(expected)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(predicted), same / len(expected)
    return 2 * precision * recall / (precision + recall)


def question_scores(predictions: Mapping[str, str], golds: Mapping[str, Sequence[str]]) -> list[tuple[float, float]]:
    """(EM, F1) of every question of ``golds``, in its order: the max over its gold answers."""
    out = []
    for qid, answers in golds.items():
        if qid not in predictions:
            out.append((0.0, 0.0))
            continue
        answer = predictions[qid]
        out.append((max(exact_match(answer, g) for g in answers), max(f1(answer, g) for g in answers)))
    return out


def bootstrap_interval(values: Sequence[float], resamples: int = 1000, seed: int = 0) -> list[float]:
    """95% percentile interval of the mean of ``values`` over questions resampled with replacement."""
    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(values[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples))
    return [means[int(0.025 * resamples)], means[int(0.975 * resamples) - 1]]


def squad_scores(predictions: Mapping[str, str], golds: Mapping[str, Sequence[str]],
                 resamples: int = 1000) -> dict:
    """``exact_match`` and ``f1`` in percent over every question of ``golds``, each with its
    standard error and a bootstrap 95% interval over questions, and ``n_examples``."""
    if not golds:
        raise ValueError("squad_scores needs at least one question")
    scores = question_scores(predictions, golds)
    out: dict = {"n_examples": len(scores)}
    for index, name in enumerate(("exact_match", "f1")):
        values = [100.0 * s[index] for s in scores]
        mean = sum(values) / len(values)
        var = sum((v - mean) ** 2 for v in values) / max(1, len(values) - 1)
        out[name] = mean
        out[f"{name}_stderr"] = (var / len(values)) ** 0.5
        out[f"{name}_ci95"] = bootstrap_interval(values, resamples)
    out["unanswered"] = sum(qid not in predictions for qid in golds)
    return out
