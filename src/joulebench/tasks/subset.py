"""Deterministic random subsets, so that training caps (``max_examples``) are reproducible."""

from __future__ import annotations

import hashlib
import heapq

from joulebench.errors import UserError
from joulebench.tasks.base import Example


def deterministic_subset(
    examples: list[Example], max_examples: int | None, seed: int
) -> list[Example]:
    """Keep a seeded random subset of ``max_examples`` examples, in their original order.

    Each example gets a key from a hash of ``seed`` and its *content* (not its position), and
    the ``max_examples`` smallest keys win. Why this and not ``rng.choice``:

    * the same seed picks the same examples from a local file and from the Hub even when they
      list rows in a different order (the shared SST-2 train.tsv does);
    * subsets nest: with one seed, the 1,000-example subset lies inside the 2,000-example one,
      which keeps learning curves consistent;
    * it does not depend on numpy or Python RNG streams, which may change between versions.

    Args:
        examples: all examples of a split.
        max_examples: cap, or None for all; a cap at or above ``len(examples)`` keeps all.
        seed: any integer; the same seed gives the same subset.

    Returns:
        A new list (``examples`` is not modified).

    Raises:
        UserError: ``max_examples`` is not a positive integer or ``seed`` not an integer.
    """
    if max_examples is None:
        return list(examples)
    # bool is an int subclass; `max_examples=True` is a config mistake, not a cap of 1.
    if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 1:
        raise UserError(f"max_examples must be a positive integer, got {max_examples!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise UserError(f"seed must be an integer, got {seed!r}")
    if max_examples >= len(examples):
        return list(examples)
    # The index breaks ties between exact duplicates, keeping the choice deterministic.
    keyed = ((_key(seed, example), index) for index, example in enumerate(examples))
    chosen = sorted(index for _, index in heapq.nsmallest(max_examples, keyed))
    return [examples[index] for index in chosen]


def _key(seed: int, example: Example) -> bytes:
    """Stable 64-bit hash of ``seed`` and the example's fields."""
    # \x1f (unit separator) cannot be confused with text; \x00 marks a missing text_b so
    # that None and "" hash differently.
    if not hasattr(example, "text_a"):  # another kind of example (a QA question): all its fields
        import dataclasses

        fields = dataclasses.astuple(example)  # type: ignore[call-overload]
        payload = "\x1f".join([str(seed), *map(str, fields)])
        return hashlib.blake2b(payload.encode("utf-8"), digest_size=8).digest()
    text_b = "\x00" if example.text_b is None else example.text_b
    payload = f"{seed}\x1f{example.label}\x1f{example.text_a}\x1f{text_b}"
    return hashlib.blake2b(payload.encode("utf-8"), digest_size=8).digest()


def held_out(examples: list[Example], max_examples: int | None, seed: int, n: int) -> list[Example]:
    """``n`` examples of a split that the training subset ``deterministic_subset(examples,
    max_examples, seed)`` does not contain: a calibration split carved from the training data, so
    that knobs chosen from data are never chosen on the split that is reported.

    Raises:
        UserError: the training subset uses the whole split, so nothing is left to hold out.
    """
    training = set(deterministic_subset(examples, max_examples, seed))
    rest = [e for e in examples if e not in training]
    if not rest:
        raise UserError(
            f"no training examples are left for a calibration split: train.max_train_examples={max_examples} "
            f"uses all {len(examples)}; set it lower"
        )
    return deterministic_subset(rest, n, seed)
