"""Shared fixtures: tiny random BERTs and the small task fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

FIXTURES = Path(__file__).parent / "fixtures"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def fixture_data_dir() -> Path:
    """Folder with small official-layout GLUE fixtures (SST-2, MRPC, QQP)."""
    return FIXTURES


@pytest.fixture
def tiny_bert():
    """A 4-layer, 32-wide random-init BertForSequenceClassification (2 labels)."""
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=100, hidden_size=32, num_hidden_layers=4, num_attention_heads=4,
        intermediate_size=64, max_position_embeddings=64, num_labels=2,
    )
    return BertForSequenceClassification(config).eval()


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"
