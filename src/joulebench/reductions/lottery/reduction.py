"""The ``ticket`` reduction: run a saved lottery-ticket mask through the ordinary runner.

``{name: ticket, mask: masks/sst2-imp-seed0-r07.safetensors}`` rewinds the model to its
pre-trained weights (the ticket's defining property: the subnetwork is trained from the
pre-trained initialisation, not pruned after fine-tuning), applies the mask, fine-tunes with the
run's training settings while keeping pruned weights at zero, and returns the trained
subnetwork; ``init: random`` is the random re-initialisation baseline and ``init: finetuned``
plain magnitude pruning of the fine-tuned dense model. ``execution: sparse_csr`` runs the pruned
matrices with CSR kernels instead of dense ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from joulebench.errors import UserError
from joulebench.models.pooling import pooling_of
from joulebench.reductions.base import ReductionContext, param, register_reduction
from joulebench.reductions.lottery.masks import MaskEnforcer, TicketMask, apply_mask, check_compatible, load_mask
from joulebench.reductions.lottery.price import ticket_details
from joulebench.reductions.lottery.sparse import to_sparse_csr

EXECUTIONS = ("dense", "sparse_csr")
INITS = ("pretrained", "rewind", "random", "finetuned")
RANDOM_INIT_SEED_OFFSET = 1_000_003


#: Provenance keys that describe how a mask was made (not which seed or file made it).
RECIPE_KEYS = ("task", "model", "objective", "kind", "targets", "schedule", "method")


def mask_recipe(provenance: dict, sparsity: float | None) -> dict:
    """How a ticket mask was made, without its seed: seeds of one recipe aggregate in reports."""
    recipe = {k: provenance[k] for k in RECIPE_KEYS if k in provenance}
    training = provenance.get("training")
    if isinstance(training, dict):
        recipe["training"] = {**training, "train": {k: v for k, v in (training.get("train") or {}).items()
                                                    if k != "seed"}}
    recipe["sparsity"] = None if sparsity is None else round(float(sparsity), 3)
    return recipe


def _help(text: str, default: Any) -> Any:
    return field(default=default, metadata={"help": text})


@dataclass(frozen=True)
class TicketConfig:
    """Parameters of the ``ticket`` reduction."""

    mask: str = param("Path of a ticket mask (.safetensors written by `joulebench ticket`); identified by its content.",
                      "", file=True)
    execution: str = _help("dense (masked weights, dense kernels) or sparse_csr (CSR matmul for pruned layers).",
                           "dense")
    init: str = _help("pretrained: rewind to pre-trained weights and fine-tune the subnetwork (a ticket); "
                      "rewind: the mask's own rewind point (early fine-tuning weights saved with it, else "
                      "pre-trained); random: same mask on randomly initialised weights; finetuned: mask the "
                      "fine-tuned dense model (magnitude pruning, no rewind).", "pretrained")
    pretrained: str | None = _help("Model to rewind to (alias, path or Hub id); null = the mask's provenance model.",
                                   None)
    retrain_epochs: float | None = _help("init finetuned only: epochs of masked re-training (null = none).", None)
    csr_min_sparsity: float = _help("sparse_csr only: keep matrices sparser than this dense (CSR loses there).", 0.0)

    def validate(self) -> None:
        """Raise ValueError naming the field when a value is impossible."""
        if not self.mask:
            raise ValueError("mask: the path of a ticket mask is required")
        if not self.mask.endswith(".safetensors"):
            raise ValueError(f"mask must be a .safetensors file, got {self.mask!r}")
        if self.execution not in EXECUTIONS:
            raise ValueError(f"execution must be one of {', '.join(EXECUTIONS)}, got {self.execution!r}")
        if self.init not in INITS:
            raise ValueError(f"init must be one of {', '.join(INITS)}, got {self.init!r}")
        if self.retrain_epochs is not None:
            if self.init != "finetuned":
                raise ValueError("retrain_epochs applies to init finetuned only (pretrained and random always train)")
            if self.retrain_epochs <= 0:
                raise ValueError(f"retrain_epochs must be > 0 or null, got {self.retrain_epochs}")
        if not 0 <= self.csr_min_sparsity < 1:
            raise ValueError(f"csr_min_sparsity must be in [0, 1), got {self.csr_min_sparsity}")


def initial_model(model_ref: str, task: Any, seed: int, random_init: bool = False,
                  pooling: str = "cls") -> nn.Module:
    """The model as it is before fine-tuning: pre-trained encoder, the head of ``task``'s kind (a
    classifier, or a span head for question answering) drawn from ``seed``.

    This is what the runner starts from, so rewinding to it rewinds the dense run too. With
    ``random_init`` every weight is drawn afresh by Hugging Face's initialiser, from a seed derived
    from ``seed`` (not ``seed`` itself, which a randomly initialised "pre-trained" test model used).
    """
    from joulebench.tasks.kinds import kind_of

    model = kind_of(task).load_pretrained(model_ref, task, seed, pooling).model
    if random_init:
        torch.manual_seed(RANDOM_INIT_SEED_OFFSET + seed)
        model = type(model)(model.config)
    return model.eval()


def load_start_state(model: nn.Module, start: nn.Module, where: str) -> None:
    """Copy ``start``'s weights into ``model`` after checking both are the same architecture."""
    target, source = model.state_dict(), start.state_dict()
    for key, value in target.items():
        if key not in source or tuple(source[key].shape) != tuple(value.shape):
            found = "missing" if key not in source else f"shaped {tuple(source[key].shape)}"
            raise UserError(f"{where}: the model to rewind to does not match the run's model: tensor {key!r} is "
                            f"{tuple(value.shape)} in the run but {found} in the rewind model")
    model.load_state_dict(source, strict=True)


def rewind_weights_path(mask: TicketMask) -> Path | None:
    """The early-fine-tuning weights a mask was found with (``rewind_weights`` in its provenance)."""
    name = mask.provenance.get("rewind_weights")
    if not name:
        return None
    folder = mask.source.parent if mask.source is not None else Path(".")
    path = folder / name
    if not path.is_file():
        raise UserError(f"ticket: the mask's rewind weights {path} are missing (they are saved beside the mask)")
    return path


def prepare_ticket(model: nn.Module, mask: TicketMask, init: str, model_ref: str, task: Any, seed: int) -> None:
    """Load the starting weights for ``init`` into ``model`` and apply the mask (no training);
    ``task`` says which head the starting model has (see :func:`initial_model`)."""
    check_compatible(model, mask)
    rewind_path = rewind_weights_path(mask) if init == "rewind" else None
    if rewind_path is not None:
        from safetensors.torch import load_file

        twin = initial_model(model_ref, task, seed, pooling=pooling_of(model))
        twin.load_state_dict(load_file(str(rewind_path)), strict=True)
        load_start_state(model, twin, "ticket (init rewind)")
    elif init in ("pretrained", "rewind", "random"):
        start = initial_model(model_ref, task, seed, random_init=init == "random", pooling=pooling_of(model))
        load_start_state(model, start, f"ticket (init {init})")
    apply_mask(model, mask)


@register_reduction("ticket", help="lottery-ticket mask (IMP / random / MLM), rewound and fine-tuned; dense or CSR")
class Ticket:
    """Apply a saved lottery-ticket mask (see :class:`TicketConfig`)."""


    config_cls = TicketConfig

    @staticmethod
    def file_digest(path: str) -> str:
        """A mask file's identity: the digest of its bits (not the provenance saved beside them)."""
        return load_mask(path).digest()

    def apply(self, model: nn.Module, cfg: TicketConfig, ctx: ReductionContext) -> tuple[nn.Module, dict]:
        """Rewind, mask, fine-tune with the mask held, then optionally convert to CSR."""
        mask = load_mask(cfg.mask)
        check_compatible(model, mask)
        ref = cfg.pretrained or mask.provenance.get("model")
        if cfg.init != "finetuned" and not ref:
            raise UserError(f"ticket {cfg.mask}: its provenance names no model; set 'pretrained' to rewind to")
        prepare_ticket(model, mask, cfg.init, ref or "", ctx.task, ctx.seed)
        if cfg.init != "finetuned" or cfg.retrain_epochs:
            if ctx.fine_tune is None:
                raise UserError("ticket: this context cannot train, but the ticket needs fine-tuning")
            if cfg.init != "finetuned" and ctx.regime != "full":
                raise UserError(f"ticket init={cfg.init}: a rewound ticket is re-trained in full, but the "
                                f"configuration's regime is {ctx.regime!r}; use regime: full or init: finetuned")
            epochs = cfg.retrain_epochs if cfg.init == "finetuned" else None
            ctx.fine_tune(model, epochs=epochs, after_step=MaskEnforcer(mask), what=f"ticket {cfg.init} retrain")
        model.eval()
        details = ticket_details(mask, model, cfg.execution)
        details.update(
            init=cfg.init, rewound_to=ref if cfg.init in ("pretrained", "rewind") else None,
            mask_provenance=mask.provenance,
            mask_recipe=mask_recipe(mask.provenance, details.get("sparsity")),
            matching=None,
            matching_note="needs the dense baseline over seeds; `joulebench ticket` commands fill it in",
        )
        if cfg.execution == "sparse_csr":
            details.update(to_sparse_csr(model, mask, min_sparsity=cfg.csr_min_sparsity))
        return model, details
