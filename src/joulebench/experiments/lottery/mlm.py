"""MLM tickets: masks found on the pre-training objective (masked language modelling), evaluated per task."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from torch import nn

from joulebench.errors import UserError
from joulebench.experiments.lottery.core import StudyCore
from joulebench.models.batching import encode
from joulebench.reductions.lottery.imp import ImpSchedule, iterative_magnitude_pruning
from joulebench.reductions.lottery.masks import TicketMask, load_mask, save_mask


class MlmTickets(StudyCore):
    """MLM tickets: masks found on the pre-training objective (masked language modelling), evaluated per task."""

    def _mlm_tag(self) -> str:
        file = self.s.mlm.text_file
        return f"text-{Path(file).stem}" if file else self.s.base.task

    def mlm(self) -> dict[float, Path]:
        """IMP on the MLM objective, then the masks fine-tuned downstream; returns the masks."""
        from joulebench.reductions.lottery.mlm import build_mlm_model, text_examples
        from joulebench.training.trainer import fine_tune

        m, base = self.s.mlm, self.s.base
        seed = base.train.seed
        levels = self.s.search.levels()
        tag = self._mlm_tag()
        paths = {lv: self.mask_path(tag, "mlm", seed, lv) for lv in levels}
        if all(p.is_file() for p in paths.values()):
            self.say(f"MLM masks for {tag} found in {self.masks_dir}; not searching again")
        else:
            model, tokenizer, head = build_mlm_model(base.model, seed=seed, mlm_probability=m.mlm_probability)
            self.say(f"MLM head: {head['note']}")
            texts = text_examples(m.text_file, None if m.text_file else self.task(base.task), self.data_dir,
                                  m.max_texts, seed)
            encoded = encode(tokenizer, texts, base.max_seq_len)
            train_cfg = dataclasses.replace(base.train, epochs=m.epochs, lr=m.lr or base.train.lr)
            losses: dict[int, float | None] = {}

            def train(model_: nn.Module, hook: Callable | None, r: int) -> None:
                every = max(1, len(encoded) // train_cfg.batch_size // 4)

                def progress(step: int, total: int, loss: float) -> None:
                    if step % every == 0 or step == total:
                        self.say(f"  MLM round {r}: step {step}/{total} loss {loss:.4f}")

                result = fine_tune(model_, encoded, train_cfg, tokenizer.pad_token_id, device=self.device,
                                   after_step=hook, progress=progress)
                model_.to("cpu")
                losses[r] = result.final_loss

            def on_round(r: int, mask: TicketMask | None, model_: nn.Module) -> None:
                self.say(f"MLM round {r}: final loss {losses.get(r)}")
                model_.train()

            def before_train(r: int, mask: TicketMask, model_: nn.Module) -> bool:
                mask.provenance["mlm_loss_previous_round"] = losses.get(r - 1)
                save_mask(mask, paths[levels[r - 1]])
                self.say(f"MLM round {r} ({levels[r - 1]:.0%}): rewind and train")
                return False

            text_source = f"file {m.text_file}" if m.text_file else f"{base.task} training inputs"
            provenance = {**self._provenance(base.task if not m.text_file else None, seed, "mlm", levels),
                          "text_source": text_source, "texts": len(texts), "mlm_probability": m.mlm_probability,
                          "mlm_training": dataclasses.asdict(train_cfg), "mlm_head": head}
            iterative_magnitude_pruning(model, ImpSchedule(levels, targets=self.s.search.targets), train, on_round,
                                        provenance=provenance,
                                        before_train=before_train)
        for task in m.downstream or (base.task,):
            self.dense(task)
            for level in m.downstream_sparsities or levels:
                if level not in paths:
                    raise UserError(f"mlm.downstream_sparsities: {level} is not a searched level")
                mask = load_mask(paths[level])
                extra = {"transfer": {"source": "mlm", "target": task}, "mlm_head": mask.provenance.get("mlm_head")}
                self._evaluate_mask(task, seed, paths[level], mask, "pretrained",
                                    f"MLM ticket ({tag}) on {task} {level:.0%}", extra=extra)
        return paths

    # -- tables ---------------------------------------------------------------------------------------
