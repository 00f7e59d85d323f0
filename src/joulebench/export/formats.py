"""The formats an exported folder can take, which reductions each can express, and how each is written.

- ``hf``: a transformers folder (config.json, model.safetensors, tokenizer files). A classifier whose head
  is the family's stock one loads whole with ``AutoModelForSequenceClassification``; a mean-pooled head
  (sentence encoders such as MiniLM) is the encoder plus ``head.json`` (how to pool and which weights
  form the head) and a sentence-transformers pooling config. Written, then loaded back and checked
  against the model: a reduction the format cannot hold (per-layer head counts, int8 modules) is refused.
- ``onnx``: ``model.onnx`` taking the tokenizer's ``input_ids``, ``attention_mask``, ``token_type_ids``
  and returning ``logits`` (pooling and head inside the graph), plus the tokenizer files: the very graph
  the record ran when its engine was onnxruntime, else the fp32 model exported.
- ``joulebench``: the checkpoint-cache entries the configuration was built from (``checkpoints/``);
  ``joulebench predict`` rebuilds the reduced model from them exactly, for every reduction (early exit and
  token pruning change the forward pass itself, which neither format above holds).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from joulebench.export.rebuild import Rebuilt

FORMATS = ("hf", "onnx", "joulebench")


def _int8_modules(model: nn.Module) -> int:
    return sum("quantized" in type(m).__module__ for m in model.modules())


def _dtype(model: nn.Module) -> torch.dtype | None:
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), None)


def why_not(fmt: str, rebuilt: Rebuilt) -> str | None:
    """None when ``fmt`` can hold the rebuilt model, else why it cannot (one phrase)."""
    from transformers import PreTrainedModel

    model = rebuilt.model
    if getattr(rebuilt.task, "kind", "classification") == "qa" and fmt != "joulebench":
        return "exporting question answering as hf/onnx is not built yet (span decoding lives in joulebench)"
    if fmt == "joulebench":
        return None
    if fmt == "onnx":
        if hasattr(model, "onnx_bytes"):
            return None
        if _int8_modules(model):
            return "int8 by torch_ao runs only in torch; measure int8 with backend: onnxruntime to export ONNX"
        if not isinstance(model, PreTrainedModel):
            return "this reduction changes the forward pass (early exit, token pruning); use --format joulebench"
        if _dtype(model) not in (torch.float32, None):
            return f"the model runs in {_dtype(model)}; export it as hf"
        return None
    if hasattr(model, "onnx_bytes"):
        return "the record ran an onnxruntime graph; export it as onnx"
    if _int8_modules(model):
        return "int8 modules (torch_ao) have no transformers format; use --format joulebench"
    if not isinstance(model, PreTrainedModel):
        return "this reduction changes the forward pass (early exit, token pruning); use --format joulebench"
    return None


def write_hf(rebuilt: Rebuilt, folder: Path) -> dict[str, Any]:
    """A transformers folder; checked by loading it back. Returns what ``joulebench.json`` says about it."""
    from joulebench.models.pooling import pooling_of

    model = rebuilt.model
    model.save_pretrained(folder, safe_serialization=True)
    _save_tokenizer(rebuilt, folder)
    pooling = pooling_of(model)
    info: dict[str, Any] = {"pooling": pooling, "loads_whole": True}
    if pooling == "mean" and getattr(model.config, "model_type", "") != "modernbert":
        info["loads_whole"] = False
        info["head"] = _write_mean_head(model, folder)
    try:
        reloaded = load_hf(folder, pooling)
    except Exception as exc:  # e.g. per-layer head counts that one config cannot state
        from joulebench.errors import UserError

        raise UserError(f"--format hf cannot hold this model ({' '.join(str(exc).split())[:160]}); "
                        "use --format onnx or joulebench") from None
    _check_same(model, reloaded, rebuilt, "hf")
    return info


def _write_mean_head(model: nn.Module, folder: Path) -> dict[str, Any]:
    """``head.json`` and a sentence-transformers pooling config for a mean-pooled classifier."""
    from joulebench.models.families import family_of

    family = family_of(model)
    config: Any = model.config
    encoder_prefix = next(name for name, module in model.named_children() if module is family.encoder(model))
    head = {name: list(tensor.shape) for name, tensor in model.state_dict().items()
            if not name.startswith(encoder_prefix + ".")}
    description = {
        "pooling": "mean of the last hidden states over the real tokens (attention_mask = 1)",
        "encoder": f"AutoModel.from_pretrained(this folder) (weights under '{encoder_prefix}.')",
        "head_weights": head,
        "head": "the weights above, applied to the pooled vector as the family's sequence-classification head "
                f"({family.model_type}: {', '.join(family.classifier_names())})",
        "labels": config.num_labels,
    }
    (folder / "head.json").write_text(json.dumps(description, indent=1) + "\n")
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(
        {"word_embedding_dimension": config.hidden_size, "pooling_mode_mean_tokens": True,
         "pooling_mode_cls_token": False}, indent=1) + "\n")
    (folder / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}], indent=1) + "\n")
    return description


def load_hf(folder: Path, pooling: str) -> nn.Module:
    """The classifier of an ``hf`` export (joulebench's class for a mean-pooled head)."""
    from transformers import AutoConfig

    from joulebench.models.loading import classifier_class

    config = AutoConfig.from_pretrained(folder)
    return classifier_class(config, pooling).from_pretrained(folder, use_safetensors=True).eval()


def write_onnx(rebuilt: Rebuilt, folder: Path) -> dict[str, Any]:
    """``model.onnx`` (the record's own onnxruntime graph, or the fp32 model exported) and the tokenizer."""
    from joulebench.reductions.int8_backends import export_onnx

    path = folder / "model.onnx"
    own = getattr(rebuilt.model, "onnx_bytes", None)
    if own is not None:
        path.write_bytes(own)
    else:
        export_onnx(rebuilt.model, path)
    _save_tokenizer(rebuilt, folder)
    _check_same(rebuilt.model, load_onnx(folder), rebuilt, "onnx")
    return {"graph": "the record's own onnxruntime graph" if own is not None else "fp32 model exported by torch.onnx",
            "inputs": ["input_ids", "attention_mask", "token_type_ids"], "outputs": ["logits"]}


def load_onnx(folder: Path) -> nn.Module:
    """An onnxruntime session of an ``onnx`` export, called like a classifier."""
    import onnxruntime

    from joulebench.reductions.int8_backends import OnnxRuntimeClassifier

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = onnxruntime.InferenceSession(str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"])
    return OnnxRuntimeClassifier(session, None).eval()


def write_joulebench(rebuilt: Rebuilt, folder: Path) -> dict[str, Any]:
    """The cache entries the configuration needs, copied under ``checkpoints/``."""
    target = folder / "checkpoints"
    target.mkdir()
    copied = []
    for key in rebuilt.cache.used:
        if rebuilt.cache.has(key):
            shutil.copytree(rebuilt.cache.path(key), target / key)
            copied.append(key)
    _save_tokenizer(rebuilt, folder)
    return {"checkpoints": copied, "base_model": rebuilt.config.model,
            "needs": f"joulebench, the pre-trained model {rebuilt.config.model!r} (its architecture; every trained "
                     "weight comes from checkpoints/) and the task's data (its digest must match the record's)"}


WRITERS: dict[str, Callable[[Rebuilt, Path], dict[str, Any]]] = {
    "hf": write_hf, "onnx": write_onnx, "joulebench": write_joulebench}


def _save_tokenizer(rebuilt: Rebuilt, folder: Path) -> None:
    tokenizer = rebuilt.tokenizer
    tokenizer.model_max_length = rebuilt.max_seq_len  # seq_len included: inputs are cut where the record cut them
    tokenizer.save_pretrained(folder)


@torch.inference_mode()
def _check_same(model: nn.Module, reloaded: nn.Module, rebuilt: Rebuilt, fmt: str) -> None:
    """The written model must give the rebuilt model's predictions on a few real inputs, else it is refused."""
    from joulebench.errors import UserError
    from joulebench.models.batching import collate, encode

    examples = rebuilt.task.load("validation", rebuilt.data_dir, 16, 0)
    batch = collate(encode(rebuilt.tokenizer, examples, rebuilt.max_seq_len), rebuilt.tokenizer.pad_token_id)
    mine, theirs = (_logits(m(**batch)).float() for m in (model, reloaded))
    if mine.shape != theirs.shape or not torch.allclose(mine, theirs, atol=1e-3, rtol=1e-3):
        gap = float((mine - theirs).abs().max()) if mine.shape == theirs.shape else "another shape"
        raise UserError(f"--format {fmt}: the written model does not reproduce this configuration's outputs "
                        f"(max difference {gap}); use --format joulebench")


def _logits(output: Any) -> torch.Tensor:
    return output if isinstance(output, torch.Tensor) else output.logits
