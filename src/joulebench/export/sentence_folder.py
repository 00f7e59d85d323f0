"""A mean-pooled classifier as a sentence-transformers folder whose encoder loads cleanly.

The folder holds exactly the weights the family's base class (``AutoModel``) expects in ``model.safetensors``,
a sentence-transformers pooling module (mean of the real tokens, as the model was trained), and the head in
files of its own: ``head.safetensors`` (its weights, the family's names) and ``head.onnx`` (pooled vector ->
logits), so that ``SentenceTransformer(folder).encode(texts)`` followed by the head gives the record's
predictions without joulebench.
"""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

#: sentence-transformers' module list of a Transformer followed by mean pooling.
MODULES = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
           {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]


def base_model_weights(config: Any) -> tuple[str, dict[str, torch.Size]]:
    """The class name ``AutoModel`` builds for ``config`` and the weights it expects with their shapes (built on
    the meta device: no memory, no initialisation)."""
    from transformers import AutoModel

    with torch.device("meta"):
        base = AutoModel.from_config(config)
    return type(base).__name__, {name: tensor.shape for name, tensor in base.state_dict().items()}


def split_model(model: nn.Module) -> tuple[str, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(encoder attribute, encoder weights without its prefix, head weights) of a classifier."""
    from joulebench.models.families import family_of

    encoder = family_of(model).encoder(model)
    prefix = next(name for name, module in model.named_children() if module is encoder)
    state = model.state_dict()
    inner = {k[len(prefix) + 1:]: v for k, v in state.items() if k.startswith(prefix + ".")}
    head = {k: v for k, v in state.items() if not k.startswith(prefix + ".")}
    return prefix, inner, head


def write_sentence_folder(model: nn.Module, folder: Path, max_seq_len: int, pretrained: Any,
                          labels: list[str] | None) -> dict[str, Any]:
    """Write ``model`` (a mean-pooled classifier) into ``folder``; returns what ``joulebench.json`` says of it.

    Args:
        pretrained: ``() -> nn.Module``, the pre-trained encoder as its family's base class: the weights the
            base class expects that the classifier does not hold (BERT's and RoBERTa's pooler, which a
            mean-pooled head never reads) are taken from it unchanged, so the encoder loads without a
            missing-weights report.
        labels: the classes' names, in label order (None for regression).
    """
    from safetensors.torch import save_file

    from joulebench.errors import UserError
    from joulebench.models.families import family_of

    family = family_of(model)
    prefix, encoder_state, head_state = split_model(model)
    config: Any = copy.deepcopy(model.config)
    class_name, expected = base_model_weights(config)
    config.architectures = [class_name]
    unexpected = sorted(set(encoder_state) - set(expected))
    if unexpected:
        raise UserError(f"--format hf: the encoder holds weights its base class {class_name} does not know "
                        f"({', '.join(unexpected[:3])}); use --format onnx or joulebench")
    borrowed = sorted(set(expected) - set(encoder_state))
    if borrowed:
        source = pretrained().state_dict()
        for name in borrowed:
            if name not in source or source[name].shape != expected[name]:
                raise UserError(f"--format hf: {class_name} expects {name!r}, which neither the model nor its "
                                "pre-trained checkpoint holds; use --format onnx or joulebench")
            encoder_state[name] = source[name]
    save_file({k: v.detach().contiguous() for k, v in encoder_state.items()}, str(folder / "model.safetensors"),
              metadata={"format": "pt"})
    config.save_pretrained(folder)
    save_file({k: v.detach().contiguous() for k, v in head_state.items()}, str(folder / "head.safetensors"),
              metadata={"format": "pt"})
    _export_head(family.vector_head(model), config.hidden_size, folder / "head.onnx")
    description = {
        "pooling": "mean of the last hidden states over the real tokens (attention_mask = 1)",
        "encoder": f"model.safetensors: exactly the weights {class_name} expects (AutoModel.from_pretrained)",
        "borrowed_from_pretrained": {name: "the pre-trained model's own, unchanged; the mean-pooled head never "
                                     "reads it" for name in borrowed},
        "head_weights": {name: list(t.shape) for name, t in head_state.items()},
        "head": f"head.safetensors ({family.model_type}'s own head: {', '.join(family.classifier_names())}), and "
                "head.onnx: input 'pooled' (batch, width) -> output 'logits'",
        "labels": labels,
        "encoder_prefix": prefix,
    }
    (folder / "head.json").write_text(json.dumps(description, indent=1) + "\n")
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(
        {"word_embedding_dimension": config.hidden_size, "pooling_mode_mean_tokens": True,
         "pooling_mode_cls_token": False, "pooling_mode_max_tokens": False}, indent=1) + "\n")
    (folder / "modules.json").write_text(json.dumps(MODULES, indent=1) + "\n")
    (folder / "sentence_bert_config.json").write_text(json.dumps(
        {"max_seq_length": max_seq_len, "do_lower_case": False}, indent=1) + "\n")
    return description


class _Head(nn.Module):
    def __init__(self, head: nn.Module) -> None:
        super().__init__()
        self.head = head

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.head(pooled)


def _export_head(head: nn.Module, width: int, path: Path) -> None:
    """The head as an ONNX graph, pooled (batch, width) float32 -> logits."""
    module = _Head(copy.deepcopy(head)).float().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (torch.zeros(2, width),), str(path), input_names=["pooled"],
                          output_names=["logits"], dynamic_axes={"pooled": {0: "batch"}, "logits": {0: "batch"}},
                          opset_version=17, dynamo=False)


def load_sentence_folder(folder: Path) -> nn.Module:
    """joulebench's mean-pooled classifier rebuilt from a sentence folder (the export's own check)."""
    from safetensors.torch import load_file
    from transformers import AutoConfig

    from joulebench.errors import UserError
    from joulebench.models.loading import classifier_class

    config = AutoConfig.from_pretrained(folder)
    description = json.loads((folder / "head.json").read_text())
    model = classifier_class(config, "mean")(config)
    prefix = description["encoder_prefix"]
    state = {f"{prefix}.{k}": v for k, v in load_file(str(folder / "model.safetensors")).items()
             if k not in description["borrowed_from_pretrained"]}
    state.update(load_file(str(folder / "head.safetensors")))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise UserError(f"{folder}: the sentence folder does not rebuild the classifier (missing {missing[:3]}, "
                        f"unexpected {unexpected[:3]})")
    dtype = next(iter(state.values())).dtype
    return model.to(dtype).eval()
