"""Tiny random BERTs (32 wide, 4 heads, FFN 64, vocabulary 100) and hand-made training data."""

from __future__ import annotations

import torch
from transformers import BertConfig, BertForSequenceClassification

from joulebench.models.batching import Encoded

VOCAB = 100


def tiny(layers: int = 2, hidden: int = 32, seed: int = 0) -> BertForSequenceClassification:
    """A random BERT classifier: ``layers`` layers, ``hidden`` wide, 4 heads, FFN 64, vocab 100."""
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=VOCAB, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=64, num_labels=2, pad_token_id=0)
    return BertForSequenceClassification(config).eval()


def encoded_examples(n: int = 24, seed: int = 0) -> list[Encoded]:
    """Random token sequences ([CLS]=2 ... [SEP]=3) labelled by their second token's parity."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        length = int(torch.randint(4, 12, (1,), generator=gen))
        ids = [2, *torch.randint(5, VOCAB, (length,), generator=gen).tolist(), 3]
        out.append(Encoded(ids, [0] * len(ids), ids[1] % 2))
    return out
