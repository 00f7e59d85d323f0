"""Masked-language-modelling (MLM) objective for task-agnostic tickets (Chen et al. 2020, sec. 5).

:class:`MaskedLmModel` puts a BERT MLM head on the classifier's encoder. The encoder keeps its
pooler, so an MLM mask covers exactly the tensors a classifier's mask covers and transfers to
any downstream task (the pooler gets no gradient from MLM and is ranked by its pre-trained
magnitude, as in Chen et al.'s code, whose BertForMaskedLM still had a pooler). Its ``forward``
takes the trainer's classification batches, masks tokens itself (15%: 80% [MASK], 10% random,
10% unchanged) and returns the MLM loss, so the project's ``fine_tune`` loop trains it unchanged.

Checkpoints without an MLM head (the packaged all-MiniLM-L6-v2 is a bare ``BertModel``) get a
new one: the transform (dense + GELU + LayerNorm) is newly initialised from the seed and the
decoder is tied to the word embeddings; :func:`build_mlm_model` says which happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from joulebench.errors import UserError
from joulebench.tasks.base import Example

#: A transformers module tree navigated by attribute (torch types such attributes as ``Tensor | Module``).
HFModule = Any

_HEAD_KEYS = ("cls.predictions.transform.dense.weight", "cls.predictions.transform.LayerNorm.weight")


@dataclass
class MlmOutput:
    """What the trainer reads (``loss``), plus the logits at the masked positions."""

    loss: torch.Tensor
    logits: torch.Tensor


class MaskedLmModel(nn.Module):
    """A BERT encoder (with pooler) and an MLM head whose decoder is tied to the word embeddings.

    Args:
        encoder: a ``BertModel`` (e.g. ``classifier.bert``).
        head: a ``BertOnlyMLMHead`` whose decoder weight is ``encoder``'s word-embedding matrix.
        mask_token_id: id of ``[MASK]``.
        special_ids: ids never masked ([CLS], [SEP], [PAD] ...).
        mlm_probability: fraction of (non-special) tokens predicted.
        seed: seeds the masking, so a round is reproducible.
    """

    special_ids: torch.Tensor  # a buffer

    def __init__(self, encoder: HFModule, head: HFModule, mask_token_id: int, special_ids: Sequence[int],
                 mlm_probability: float = 0.15, seed: int = 0) -> None:
        super().__init__()
        self.bert = encoder
        self.cls = head
        self.mask_token_id = int(mask_token_id)
        self.register_buffer("special_ids", torch.tensor(sorted(set(special_ids)), dtype=torch.long), persistent=False)
        self.mlm_probability = mlm_probability
        self.vocab_size = int(encoder.config.vocab_size)
        self.generator = torch.Generator().manual_seed(seed)
        from joulebench.models.families import family_of

        self.takes_token_type_ids = family_of(encoder).takes_token_type_ids

    @property
    def base_model(self) -> nn.Module:
        """The encoder (what ticket masks refer to)."""
        return self.bert

    @property
    def config(self) -> Any:
        """The encoder's config."""
        return self.bert.config

    def mask_tokens(self, input_ids: torch.Tensor,
                    attention_mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """BERT's corruption: returns (corrupted ids, labels with -100 where nothing is predicted)."""
        ids = input_ids.detach().cpu()
        maskable = ~torch.isin(ids, self.special_ids.cpu())
        if attention_mask is not None:
            maskable &= attention_mask.detach().cpu().bool()
        chosen = (torch.rand(ids.shape, generator=self.generator) < self.mlm_probability) & maskable
        if not chosen.any() and maskable.any():  # a batch of very short texts: predict one token anyway
            candidates = maskable.flatten().nonzero().flatten()
            pick = candidates[torch.randint(len(candidates), (1,), generator=self.generator)]
            chosen.view(-1)[pick] = True
        labels = torch.where(chosen, ids, torch.full_like(ids, -100))
        roll = torch.rand(ids.shape, generator=self.generator)
        corrupted = ids.clone()
        corrupted[chosen & (roll < 0.8)] = self.mask_token_id
        randomised = chosen & (roll >= 0.8) & (roll < 0.9)
        corrupted[randomised] = torch.randint(self.vocab_size, ids.shape, generator=self.generator)[randomised]
        return corrupted.to(input_ids.device), labels.to(input_ids.device)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None) -> MlmOutput:
        """MLM loss on a batch; ``labels`` (the task's classes, from the trainer's batches) are ignored."""
        corrupted, mlm_labels = self.mask_tokens(input_ids, attention_mask)
        given = {"token_type_ids": token_type_ids} if self.takes_token_type_ids else {}
        hidden = self.bert(input_ids=corrupted, attention_mask=attention_mask, **given).last_hidden_state
        where = mlm_labels != -100
        logits = self.cls(hidden[where])  # only predicted positions: the vocabulary projection is costly
        loss = F.cross_entropy(logits, mlm_labels[where])
        return MlmOutput(loss=loss, logits=logits)


def _init_head(head: HFModule, std: float) -> None:
    with torch.no_grad():
        transform = head.predictions.transform
        transform.dense.weight.normal_(0.0, std)
        transform.dense.bias.zero_()
        transform.LayerNorm.weight.fill_(1.0)
        transform.LayerNorm.bias.zero_()
        head.predictions.bias.zero_()


def tie_head(head: HFModule, encoder: HFModule) -> None:
    """Tie the head's decoder to ``encoder``'s word embeddings (and its bias to the head bias)."""
    head.predictions.decoder.weight = encoder.embeddings.word_embeddings.weight
    head.predictions.decoder.bias = head.predictions.bias


def mlm_head_for(target: Any, encoder: HFModule, seed: int) -> tuple[nn.Module, dict]:
    """The checkpoint's MLM head if it has one, else a new one; tied to ``encoder``'s embeddings.

    Args:
        target: what :func:`joulebench.models.resolve_model` returned (path, Hub id or a
            tiny-model spec dict).
        encoder: the ``BertModel`` the head goes on.
        seed: initialises a new transform.

    Returns:
        The head and a description for records (``source``: ``pretrained`` or ``new``).
    """
    from transformers.models.bert.modeling_bert import BertOnlyMLMHead

    config = encoder.config
    head = BertOnlyMLMHead(config)
    torch.manual_seed(seed)
    _init_head(head, float(getattr(config, "initializer_range", 0.02)))
    source = "new"
    if not isinstance(target, dict):
        from transformers import BertForMaskedLM

        pair: Any = BertForMaskedLM.from_pretrained(target, output_loading_info=True, use_safetensors=True)
        loaded, info = pair  # (model, loading info) with output_loading_info
        if not any(k in info.get("missing_keys", ()) for k in _HEAD_KEYS):
            state = {k: v for k, v in loaded.cls.state_dict().items() if not k.startswith("predictions.decoder.")}
            head.load_state_dict(state, strict=False)
            source = "pretrained"
    tie_head(head, encoder)
    if source == "new":
        note = ("the checkpoint has no MLM head: built a BertForMaskedLM-style head; its transform "
                f"(dense + GELU + LayerNorm) is newly initialised (seed {seed}, std "
                f"{getattr(config, 'initializer_range', 0.02)}) and its decoder is tied to the word embeddings")
    else:
        note = "the checkpoint's own pre-trained MLM head; decoder tied to the word embeddings"
    return head, {"source": source, "decoder": "tied to word embeddings", "note": note}


def build_mlm_model(model_ref: str, seed: int = 0, mlm_probability: float = 0.15) -> tuple[MaskedLmModel, Any, dict]:
    """An MLM model on the pre-trained encoder of ``model_ref``, its tokenizer, and how its head was made.

    The encoder is taken from ``load_classifier(model_ref, ...)`` so its parameter names, pooler
    included, are those of the downstream classifiers the mask will be applied to. BERT-family
    encoders get BERT's MLM head; every other family gets its own ``...ForMaskedLM`` head
    (:meth:`joulebench.models.families.EncoderFamily.mlm_head`).

    Raises:
        UserError: the encoder's family is not supported, or its tokenizer has no mask token.
    """
    from joulebench.models.families import family_of
    from joulebench.models.loading import load_classifier, resolve_model

    loaded = load_classifier(model_ref, 2, seed=seed)
    family = family_of(loaded.model)
    encoder, tokenizer = family.encoder(loaded.model), loaded.tokenizer
    if tokenizer.mask_token_id is None:
        raise UserError(f"model {model_ref!r}: its tokenizer has no [MASK] token")
    if family.builds_mlm_head:
        head, info = mlm_head_for(resolve_model(model_ref), encoder, seed)
    else:
        head, info = family_mlm_head(resolve_model(model_ref), encoder, seed)
    model = MaskedLmModel(encoder, head, tokenizer.mask_token_id, tokenizer.all_special_ids,
                          mlm_probability=mlm_probability, seed=seed)
    return model, tokenizer, info


def family_mlm_head(target: Any, encoder: HFModule, seed: int) -> tuple[nn.Module, dict]:
    """The family's own MLM head (pre-trained when the checkpoint has one), decoder tied to the word embeddings."""
    from transformers import AutoModelForMaskedLM

    from joulebench.models.families import family_of

    family = family_of(encoder)
    torch.manual_seed(seed)
    mlm = AutoModelForMaskedLM.from_config(encoder.config)
    source = "new"
    if not isinstance(target, dict):
        loaded, info = AutoModelForMaskedLM.from_pretrained(target, output_loading_info=True, use_safetensors=True)
        prefix = loaded.base_model_prefix + "."
        head_missing = [k for k in info.get("missing_keys", ()) if not k.startswith(prefix)]
        if not head_missing:
            mlm = loaded
            source = "pretrained"
    head = family.mlm_head(mlm)
    embeddings = encoder.get_input_embeddings().weight
    for module in head.modules():  # tie the vocabulary projection to the encoder's word embeddings
        if isinstance(module, nn.Linear) and module.weight.shape == embeddings.shape:
            module.weight = embeddings
    note = ("the checkpoint's own pre-trained MLM head" if source == "pretrained" else
            f"the checkpoint has no MLM head: the family's MLM head, newly initialised (seed {seed})")
    return head, {"source": source, "decoder": "tied to word embeddings", "note": note + "; decoder tied to the "
                  "word embeddings"}


def text_examples(
    text_file: str | Path | None,
    task: Any = None,
    data_dir: Path | None = None,
    max_examples: int | None = None,
    seed: int = 0,
) -> list[Example]:
    """Unlabelled texts as :class:`Example` (label 0): lines of ``text_file``, else the task's training inputs.

    Raises:
        UserError: a missing or empty text file, or neither a file nor a task.
    """
    if text_file is not None:
        path = Path(text_file).expanduser()
        if not path.is_file():
            raise UserError(f"MLM text file {path}: no such file")
        lines = [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
        texts = [t for t in lines if t]
        if not texts:
            raise UserError(f"MLM text file {path}: no non-empty lines")
        if max_examples is not None and len(texts) > max_examples:
            gen = torch.Generator().manual_seed(seed)
            keep = sorted(torch.randperm(len(texts), generator=gen)[:max_examples].tolist())
            texts = [texts[i] for i in keep]
        return [Example(t, None, 0) for t in texts]
    if task is None:
        raise UserError("MLM tickets need a text file or a task whose training texts to use")
    return [Example(e.text_a, e.text_b, 0) for e in task.load("train", data_dir, max_examples, seed)]
