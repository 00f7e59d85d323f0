"""The examples importance is scored on, and their batches.

By default scoring uses a held-out slice of the *training* split: training examples that the
fine-tuning run did not see (the capped training set is a seeded subset, so the rest of the split
is held out). The evaluation split is never touched unless asked for explicitly
(``split="validation"``), so the accuracy reported on it stays honest. When no held-out training
example exists (no cap, or the full split cannot be loaded) the slice falls back to the
fine-tuning examples themselves, and says so (``source="train_overlap"``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from joulebench.errors import UserError
from joulebench.models.batching import Encoded, collate, encode
from joulebench.tasks.subset import deterministic_subset

log = logging.getLogger("joulebench.structured")

SCORE_SPLITS = ("train", "validation")


def scoring_examples(task: Any, data_dir: Path | None, split: str, n: int, seed: int,
                     fine_tune_examples: Sequence[Any]) -> tuple[list[Any], str]:
    """``n`` examples to score importance on, and where they came from.

    Args:
        task: the Task.
        data_dir: local data root, None for the Hub.
        split: "train" (held-out training slice, the default) or "validation" (explicit opt-in).
        n: how many examples.
        seed: selects the slice (deterministic).
        fine_tune_examples: the examples the model was fine-tuned on (excluded from the slice).

    Returns:
        The examples and their source: "train_heldout", "train_overlap" or "validation".
    """
    if split not in SCORE_SPLITS:
        raise UserError(f"score split must be one of {', '.join(SCORE_SPLITS)}, got {split!r}")
    if split == "validation":
        return task.load("validation", data_dir, n, seed), "validation"
    seen = set(fine_tune_examples)
    try:
        everything = task.load("train", data_dir, None, seed)
    except UserError as exc:
        everything, reason = None, str(exc)
    if everything is not None:
        pool = [e for e in everything if e not in seen]
        if not seen <= set(everything):
            reason = "the training split loaded here is not the one the model was fine-tuned on"
        elif pool:
            return deterministic_subset(pool, n, seed), "train_heldout"
        else:
            reason = "every training example was used for fine-tuning"
    log.warning("importance scored on fine-tuning examples (%s)", reason)
    return deterministic_subset(list(fine_tune_examples), n, seed), "train_overlap"


def labelled_batches(encoded: Sequence[Encoded], batch_size: int, pad_id: int) -> list[dict[str, torch.Tensor]]:
    """Length-sorted padded batches with their targets (fixed order: deterministic)."""
    order = sorted(range(len(encoded)), key=lambda i: (len(encoded[i].input_ids), i))
    return [
        collate([encoded[i] for i in order[start:start + batch_size]], pad_id, with_labels=True)
        for start in range(0, len(order), batch_size)
    ]


def encode_batches(tokenizer: Any, examples: Sequence[Any], max_seq_len: int, batch_size: int,
                   encoder: Any = None) -> list[dict]:
    """Tokenise ``examples`` and batch them with their targets (labels, or a QA window's answer
    start and end tokens).

    Args:
        encoder: ``(examples, max_seq_len) -> encoded``, the task kind's encoding (QA windows);
            None: classification encoding.
    """
    encoded = encode(tokenizer, examples, max_seq_len) if encoder is None else encoder(examples, max_seq_len)
    return labelled_batches(encoded, batch_size, tokenizer.pad_token_id)
