"""Fixtures for the structured-pruning tests: a tiny random BERT, tensor inputs, a fake tokenizer."""

from __future__ import annotations

import zlib
from collections.abc import Callable

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from joulebench.reductions.structured.data import labelled_batches
from joulebench.tasks.base import Example

VOCAB, PAD, CLS, SEP = 100, 0, 2, 3


def build_tiny(seed: int = 0) -> BertForSequenceClassification:
    """3 layers, 4 heads of width 8, 64 FFN units; weights large enough that every unit matters."""
    torch.manual_seed(seed)
    config = BertConfig(hidden_size=32, num_hidden_layers=3, num_attention_heads=4, intermediate_size=64,
                        vocab_size=VOCAB, max_position_embeddings=64, num_labels=2, pad_token_id=PAD,
                        initializer_range=0.2)
    return BertForSequenceClassification(config).eval()


@pytest.fixture
def tiny() -> BertForSequenceClassification:
    return build_tiny()


@pytest.fixture
def make_tiny() -> Callable[[int], BertForSequenceClassification]:
    return build_tiny


def make_inputs(batch: int = 6, width: int = 12, seed: int = 0, labels: bool = False) -> dict[str, torch.Tensor]:
    """Random token ids with right padding on some rows (so attention masks matter)."""
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(4, VOCAB, (batch, width), generator=gen)
    mask = torch.ones(batch, width, dtype=torch.long)
    for row in range(batch):
        length = width - (row * 3) % (width // 2)
        ids[row, length:] = PAD
        mask[row, length:] = 0
        ids[row, 0], ids[row, length - 1] = CLS, SEP
    out = {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}
    if labels:
        out["labels"] = torch.randint(0, 2, (batch,), generator=gen)
    return out


@pytest.fixture
def inputs() -> dict[str, torch.Tensor]:
    return make_inputs()


@pytest.fixture
def scoring_batches() -> list[dict[str, torch.Tensor]]:
    """Three labelled batches of different widths."""
    return [make_inputs(batch=8, width=w, seed=s, labels=True) for s, w in enumerate((8, 12, 16))]


class FakeTokenizer:
    """Word-hash tokenizer with the call signature ``joulebench.models.batching.encode`` uses."""

    pad_token_id = PAD

    def _ids(self, text: str) -> list[int]:
        return [4 + zlib.crc32(w.encode()) % (VOCAB - 4) for w in text.lower().split()]

    def __call__(self, texts_a, texts_b=None, truncation=True, max_length=32, **_: object) -> dict:
        ids, types = [], []
        for i, a in enumerate(texts_a):
            row = [CLS] + self._ids(a)[: max_length - 2] + [SEP]
            kinds = [0] * len(row)
            if texts_b is not None:
                b = self._ids(texts_b[i])[: max(0, max_length - len(row) - 1)] + [SEP]
                row, kinds = row + b, kinds + [1] * len(b)
            ids.append(row[:max_length])
            types.append(kinds[:max_length])
        return {"input_ids": ids, "token_type_ids": types}


@pytest.fixture
def tokenizer() -> FakeTokenizer:
    return FakeTokenizer()


def examples_batches(examples: list[Example]) -> list[dict[str, torch.Tensor]]:
    from joulebench.models.batching import encode

    return labelled_batches(encode(FakeTokenizer(), examples, 32), 8, PAD)
