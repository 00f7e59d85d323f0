"""Slices of an evaluation set, declared per kind of task and computed from the data alone.

A slice is a named subset of the evaluation examples (a boolean per example). Reports compare a
reduction with its baseline on each slice, because a reduction can hurt rare constructions while
the aggregate holds. Slices depend only on the examples (and, for rare words, on word counts in
the training split); no slice is chosen by looking at any model's results.

Single sentences (SST-2): word-count quartiles, negation, rare words, each gold label.
Sentence pairs (MRPC, QQP): word-count quartiles of the pair, low and high word overlap between
the two sentences (below / above the median Jaccard overlap), each gold label.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")

#: Negation cues (Councill et al. 2010's lexical cues, as tokens of the lower-cased text).
NEGATION_CUES = frozenset({
    "not", "no", "never", "nothing", "nobody", "none", "nor", "neither", "nowhere", "cannot", "without",
    "n't", "hardly", "barely", "scarcely",
})

#: A word is rare when the training split holds it fewer than this many times.
RARE_WORD_MAX_TRAIN_COUNT = 5


def words(text: str) -> list[str]:
    """Lower-cased word tokens, with clitics such as "n't" split off as their own token."""
    return _WORD.findall(text.lower().replace("n't", " n't"))


def word_counts(texts: Iterable[str]) -> Counter:
    """How often each word occurs over ``texts``."""
    counts: Counter = Counter()
    for text in texts:
        counts.update(w for w in words(text) if w != "n't")
    return counts


def length_quartiles(lengths: Sequence[int]) -> dict[str, list[bool]]:
    """Four slices by length, cut at the quartiles of ``lengths`` (the evaluation set's own)."""
    arr = np.asarray(lengths, dtype=float)
    q1, q2, q3 = np.percentile(arr, [25, 50, 75])
    bounds = [(-np.inf, q1), (q1, q2), (q2, q3), (q3, np.inf)]
    out = {}
    for i, (lo, hi) in enumerate(bounds, start=1):
        # (lo, hi]: every example falls in exactly one quartile
        out[f"length_q{i}"] = [bool(lo < x <= hi) for x in arr]
    return out


def label_slices(labels: Sequence[int]) -> dict[str, list[bool]]:
    """One slice per gold label present."""
    return {f"label_{label}": [y == label for y in labels] for label in sorted(set(labels))}


def single_sentence_slices(texts: Sequence[str], labels: Sequence[int],
                           train_counts: Counter | None) -> dict[str, list[bool]]:
    """SST-2-style slices: length quartiles, negation, rare words (needs train counts), labels."""
    tokenised = [words(t) for t in texts]
    out = length_quartiles([len(t) for t in tokenised])
    out["negation"] = [any(w in NEGATION_CUES for w in t) for t in tokenised]
    if train_counts is not None:
        out["rare_words"] = [any(train_counts[w] < RARE_WORD_MAX_TRAIN_COUNT for w in t if w != "n't")
                             for t in tokenised]
    out.update(label_slices(labels))
    return out


def pair_slices(texts_a: Sequence[str], texts_b: Sequence[str], labels: Sequence[int]) -> dict[str, list[bool]]:
    """Sentence-pair slices: pair length quartiles, low/high word overlap, labels."""
    a_words, b_words = [set(words(t)) for t in texts_a], [set(words(t)) for t in texts_b]
    out = length_quartiles([len(words(a)) + len(words(b)) for a, b in zip(texts_a, texts_b, strict=True)])
    overlap = [len(a & b) / max(1, len(a | b)) for a, b in zip(a_words, b_words, strict=True)]
    median = float(np.median(overlap))
    out["overlap_low"] = [x <= median for x in overlap]
    out["overlap_high"] = [x > median for x in overlap]
    out.update(label_slices(labels))
    return out


def pack(mask: Sequence[bool]) -> str:
    """A boolean per example as hex (bit i of the packed big-endian bytes is example i)."""
    return np.packbits(np.asarray(mask, dtype=bool)).tobytes().hex()


def unpack(hex_bits: str, n: int) -> np.ndarray:
    """The inverse of :func:`pack` for ``n`` examples."""
    return np.unpackbits(np.frombuffer(bytes.fromhex(hex_bits), dtype=np.uint8))[:n].astype(bool)
