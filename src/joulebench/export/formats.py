"""The formats an exported folder can take, which reductions each can express, and how each is written.

- ``hf``: a transformers folder (config.json, model.safetensors, tokenizer files) with the task's label names.
  A classifier whose head is the family's own loads whole with ``AutoModelForSequenceClassification`` and
  ``pipeline("text-classification")``; a mean-pooled head (sentence encoders such as MiniLM) is a
  sentence-transformers folder whose encoder loads cleanly with ``AutoModel``, the head in ``head.safetensors``
  and ``head.onnx`` (``sentence_folder``). Written, then loaded back and checked against the model: a reduction
  the format cannot hold (per-layer head counts, int8 modules) is refused.
- ``onnx``: ``model.onnx`` taking the tokenizer's ``input_ids``, ``attention_mask``, ``token_type_ids``
  and returning ``logits`` (pooling and head inside the graph), plus the tokenizer files: the very graph
  the record ran when its engine was onnxruntime (its int8 included), else the fp32 model exported.
- ``openvino``: an OpenVINO IR folder (``openvino_model.xml``/``.bin``, same inputs and ``logits``) and the
  tokenizer: the very model the record ran when its engine was openvino (its int8 included; compile it with the
  precision hint written in ``joulebench.json`` and the card), else the fp32 model converted.
- ``joulebench``: the checkpoint-cache entries the configuration was built from (``checkpoints/``);
  ``joulebench predict`` rebuilds the reduced model from them exactly, for every reduction (early exit and
  token pruning change the forward pass itself, which neither format above holds).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from joulebench.errors import UserError
from joulebench.export.rebuild import Rebuilt
from joulebench.tasks.kinds import kind_of

FORMATS = ("hf", "onnx", "openvino", "joulebench")


def _int8_modules(model: nn.Module) -> int:
    return sum("quantized" in type(m).__module__ for m in model.modules())


def _dtype(model: nn.Module) -> torch.dtype | None:
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), None)


def why_not(fmt: str, rebuilt: Rebuilt) -> str | None:
    """None when ``fmt`` can hold the rebuilt model, else why it cannot (one phrase)."""
    from transformers import PreTrainedModel

    model = rebuilt.model
    refused = kind_of(rebuilt.task).export_refusal(fmt)
    if refused is not None:
        return refused
    if fmt == "joulebench":
        return None
    ran = _graph_engine(model)
    own = {"onnx": "model.onnx", "openvino": "ov_model"}
    if fmt in own:
        if ran is not None:
            return None if own[fmt] in model.exported else f"the record ran on {ran}; export it as {ran_format(ran)}"
        if _int8_modules(model):
            return f"int8 in torch runs only in torch; measure int8 with engine: {_engine_of(fmt)} to export {fmt}"
        if not isinstance(model, PreTrainedModel):
            return "this reduction changes the forward pass (early exit, token pruning); use --format joulebench"
        if _dtype(model) not in (torch.float32, None):
            return f"the model runs in {_dtype(model)}; export it as hf"
        return None
    if ran is not None:
        return f"the record ran a graph on {ran}; export it as {ran_format(ran)}"
    if _int8_modules(model):
        return "int8 modules (torch_ao) have no transformers format; use --format joulebench"
    if not isinstance(model, PreTrainedModel):
        return "this reduction changes the forward pass (early exit, token pruning); use --format joulebench"
    return None


def _graph_engine(model: nn.Module) -> str | None:
    """The graph engine a rebuilt model runs on (onnxruntime, openvino), None for a torch module."""
    exported = getattr(model, "exported", None)
    if not isinstance(exported, dict):
        return None
    return "openvino" if "ov_model" in exported else "onnxruntime"


def ran_format(engine: str) -> str:
    return {"onnxruntime": "onnx", "openvino": "openvino"}[engine]


def _engine_of(fmt: str) -> str:
    return {"onnx": "onnxruntime", "openvino": "openvino"}[fmt]


def label_names(task: Any) -> list[str] | None:
    """The classes' names in label order (a declared task's, GLUE's), None for kinds without classes (regression,
    spans)."""
    if not kind_of(task).has_label_names:
        return None
    names = getattr(task, "label_names", None)
    return None if names is None else [str(n) for n in names]


def _name_labels(model: nn.Module, names: list[str] | None) -> None:
    """``id2label``/``label2id`` of the model's config: the task's names, so pipelines say them."""
    config: Any = getattr(model, "config", None)
    if config is None or names is None or len(names) != config.num_labels:
        return
    config.id2label = dict(enumerate(names))
    config.label2id = {name: i for i, name in enumerate(names)}


def write_hf(rebuilt: Rebuilt, folder: Path) -> dict[str, Any]:
    """A transformers folder; checked by loading it back. Returns what ``joulebench.json`` says about it.

    A head of the family's own (``cls``, and ModernBERT's ``mean``) is the family's standard sequence-classification
    folder; a mean-pooled head elsewhere is a sentence-transformers folder (``sentence_folder``)."""
    from joulebench.export.sentence_folder import load_sentence_folder, write_sentence_folder
    from joulebench.models.loading import pretrained_encoder
    from joulebench.models.pooling import pooling_of

    model = rebuilt.model
    labels = label_names(rebuilt.task)
    _name_labels(model, labels)
    pooling = pooling_of(model)
    info: dict[str, Any] = {"pooling": pooling, "loads_whole": True, "labels": labels}
    sentence = pooling == "mean" and getattr(model.config, "model_type", "") != "modernbert"
    try:
        if sentence:
            info["loads_whole"] = False
            info["head"] = write_sentence_folder(
                model, folder, rebuilt.max_seq_len,
                lambda: pretrained_encoder(rebuilt.config.model, rebuilt.config.train.seed), labels)
        else:
            model.save_pretrained(folder, safe_serialization=True)
        _save_tokenizer(rebuilt, folder)
        reloaded = load_sentence_folder(folder) if sentence else load_hf(folder, pooling)
    except UserError:
        raise
    except Exception as exc:  # e.g. per-layer head counts that one config cannot state
        raise UserError(f"--format hf cannot hold this model ({' '.join(str(exc).split())[:160]}); "
                        "use --format onnx or joulebench") from None
    _check_same(model, reloaded, rebuilt, "hf")
    return info


def load_hf(folder: Path, pooling: str) -> nn.Module:
    """The classifier of an ``hf`` export (joulebench's class for a mean-pooled head)."""
    from transformers import AutoConfig

    from joulebench.export.sentence_folder import load_sentence_folder
    from joulebench.models.loading import classifier_class

    if (folder / "head.safetensors").is_file():  # a sentence folder (folders exported before it: the whole model)
        return load_sentence_folder(folder)
    config = AutoConfig.from_pretrained(folder)
    return classifier_class(config, pooling).from_pretrained(folder, use_safetensors=True).eval()


def write_onnx(rebuilt: Rebuilt, folder: Path) -> dict[str, Any]:
    """``model.onnx`` (the record's own onnxruntime graph, or the fp32 model exported) and the tokenizer."""
    from joulebench.engines.graph import export_onnx

    path = folder / "model.onnx"
    own = (getattr(rebuilt.model, "exported", None) or {}).get("model.onnx")
    if own is not None:
        path.write_bytes(own)
    else:
        export_onnx(rebuilt.model, path)
    import onnx

    graph = onnx.load(str(path)).graph
    inputs = [i.name for i in graph.input]
    _save_tokenizer(rebuilt, folder, inputs)
    _check_same(rebuilt.model, load_onnx(folder), rebuilt, "onnx")
    return {"graph": "the record's own onnxruntime graph" if own is not None else "fp32 model exported by torch.onnx",
            "inputs": inputs, "outputs": [o.name for o in graph.output]}


def load_onnx(folder: Path) -> nn.Module:
    """An onnxruntime session of an ``onnx`` export, called like a classifier."""
    import onnxruntime

    from joulebench.engines.graph import GraphClassifier
    from joulebench.engines.onnxruntime_engine import session_options

    session = onnxruntime.InferenceSession(str(folder / "model.onnx"), session_options(torch.get_num_threads()),
                                           providers=["CPUExecutionProvider"])
    return GraphClassifier(lambda feed: session.run(["logits"], feed)[0], {i.name for i in session.get_inputs()},
                           None).eval()


def write_openvino(rebuilt: Rebuilt, folder: Path) -> dict[str, Any]:
    """``openvino_model.xml``/``.bin`` (the record's own OpenVINO model, or the fp32 model converted), the
    tokenizer, and the precision hint to compile it with."""
    import openvino as ov

    from joulebench.engines.openvino_engine import convert

    exported = getattr(rebuilt.model, "exported", None) or {}
    own = exported.get("ov_model")
    ov_model = own if own is not None else convert(rebuilt.model)
    ov.save_model(ov_model, str(folder / "openvino_model.xml"), compress_to_fp16=False)
    hint = exported.get("precision_hint", "f32")
    (folder / "openvino_config.json").write_text(f'{{"INFERENCE_PRECISION_HINT": "{hint}"}}\n')
    inputs = [port.get_any_name() for port in ov_model.inputs]
    _save_tokenizer(rebuilt, folder, inputs)
    _check_same(rebuilt.model, load_openvino(folder), rebuilt, "openvino")
    return {"graph": "the record's own OpenVINO model" if own is not None else "fp32 model converted by openvino",
            "inputs": inputs, "outputs": ["logits"], "precision_hint": hint}


def load_openvino(folder: Path) -> nn.Module:
    """An OpenVINO compiled model of an ``openvino`` export (with its precision hint), called like a classifier."""
    import json

    import openvino as ov

    from joulebench.engines.graph import GraphClassifier

    config = json.loads((folder / "openvino_config.json").read_text())
    compiled = ov.Core().compile_model(str(folder / "openvino_model.xml"), "CPU",
                                       {**config, "INFERENCE_NUM_THREADS": torch.get_num_threads()})
    request = compiled.create_infer_request()
    return GraphClassifier(lambda feed: request.infer(feed)[0], {p.get_any_name() for p in compiled.inputs},
                           None).eval()


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
    "hf": write_hf, "onnx": write_onnx, "openvino": write_openvino, "joulebench": write_joulebench}


def _save_tokenizer(rebuilt: Rebuilt, folder: Path, inputs: list[str] | None = None) -> None:
    """The tokenizer, cutting where the record cut, and giving exactly the inputs the written model takes
    (``inputs``; else the family's: no ``token_type_ids`` for a family without segment ids), so that
    ``model(**tokenizer(texts))`` and ``session.run(None, dict(tokenizer(texts)))`` work as they are."""
    tokenizer = rebuilt.tokenizer
    tokenizer.model_max_length = rebuilt.max_seq_len  # seq_len included: inputs are cut where the record cut them
    if inputs is None:
        inputs = list(tokenizer.model_input_names)
        if not _takes_token_types(rebuilt.model):
            inputs = [name for name in inputs if name != "token_type_ids"]
    names = [name for name in tokenizer.model_input_names if name in inputs]
    if names != list(tokenizer.model_input_names):
        tokenizer.model_input_names = names
        tokenizer.init_kwargs["model_input_names"] = names  # what save_pretrained writes
    tokenizer.save_pretrained(folder)


def _takes_token_types(model: nn.Module) -> bool:
    from transformers import PreTrainedModel

    from joulebench.models.families import family_of

    return not isinstance(model, PreTrainedModel) or family_of(model).takes_token_type_ids


@torch.inference_mode()
def _check_same(model: nn.Module, reloaded: nn.Module, rebuilt: Rebuilt, fmt: str) -> None:
    """The written model must give the rebuilt model's predictions on a few real inputs, else it is refused."""
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
