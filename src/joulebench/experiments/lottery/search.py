"""Finding tickets: iterative magnitude pruning (IMP) with rewinding, one-shot pruning, and their baselines."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from joulebench.config.schema import RunConfig
from joulebench.experiments.lottery.core import StudyCore, _initial
from joulebench.reductions.lottery.imp import ImpSchedule, iterative_magnitude_pruning
from joulebench.reductions.lottery.masks import TicketMask, load_mask, save_mask
from joulebench.reductions.lottery.pruning import global_magnitude_mask, random_mask_like
from joulebench.reductions.lottery.targets import prunable_weights


class TicketSearch(StudyCore):
    """Finding tickets: iterative magnitude pruning (IMP) with rewinding, one-shot pruning, and their baselines."""

    def search(self, task: str | None = None, levels: tuple[float, ...] | None = None,
               baselines: bool = True) -> dict[float, Path]:
        """IMP (or one-shot) on ``task`` for every search seed, then the baselines; returns seed-0 masks."""
        task = task or self.s.base.task
        levels = levels or self.s.search.levels()
        self.dense(task)
        found: dict[float, Path] = {}
        for i, seed in enumerate(self.s.search.seeds):
            if self.s.search.method == "imp":
                paths = self._imp(task, seed, levels)
            else:
                paths = self._one_shot(task, seed, levels)
            if i == 0:
                found = paths
            if baselines:
                self._baselines(task, seed, paths)
        return found

    def _imp(self, task: str, seed: int, levels: tuple[float, ...]) -> dict[float, Path]:
        dense_config = self.run_config(task, seed, name=f"dense {task} seed{seed}")
        loaded = _initial(dense_config, task, seed)
        model, tokenizer = loaded.model, loaded.tokenizer
        rewind_step = self.s.search.rewind_step
        paths: dict[float, Path] = {}
        rewind_file: list[str] = []
        trained_now: dict[int, dict] = {}

        def train(m: nn.Module, hook: Callable | None, r: int) -> None:
            if r == 0 and rewind_step is None:  # the dense run: the runner's cached fine-tune
                (dense, _, _), trained_now[r] = self.runner.fine_tuned(dense_config, self.device)
                m.load_state_dict(dense.state_dict())
                return
            trained_now[r] = self._train(m, dense_config, tokenizer, hook, f"IMP {task} seed {seed} round {r}")

        def save_rewind(state: dict[str, torch.Tensor]) -> None:
            from safetensors.torch import save_file

            path = self.masks_dir / f"{task}-imp-seed{seed}-rewind-step{rewind_step}.safetensors"
            path.parent.mkdir(parents=True, exist_ok=True)
            save_file({k: v.contiguous() for k, v in state.items()}, str(path))
            rewind_file.append(path.name)

        def before_train(r: int, mask: TicketMask, m: nn.Module) -> bool:
            if rewind_file:
                mask.provenance["rewind_weights"] = rewind_file[0]
            path = save_mask(mask, self.mask_path(task, "imp", seed, levels[r - 1]))
            mask.source = path
            paths[levels[r - 1]] = path
            key = self._ticket_key(self._round_config(task, seed, path, r, levels), mask, self._init())
            if self.cache.has(key):
                self.say(f"IMP {task} seed {seed} round {r}: trained ticket found in the cache")
                self.cache.load_into(key, m)
                return True
            self.say(f"IMP {task} seed {seed} round {r} ({levels[r - 1]:.0%}): rewind and train")
            return False

        def on_round(r: int, mask: TicketMask | None, m: nn.Module) -> None:
            if mask is None:
                self.say(f"IMP {task} seed {seed}: dense round done")
                return
            config = self._round_config(task, seed, paths[levels[r - 1]], r, levels)
            key = self._ticket_key(config, mask, self._init())
            if trained_now.get(r):
                self.cache.save(key, m, {"ticket": mask.digest(), "init": self._init(),
                                         "training": config.training_dict()})
            if self.stored(config) is None:
                info = {"checkpoint": key, "ticket_init": self._init(),
                        **trained_now.get(r, {"reused": True, "train_time_s": None,
                                              "train_examples": config.train.max_train_examples,
                                              "epochs": config.train.epochs})}
                info["checkpoint"] = key
                self.record(config, copy.deepcopy(m).eval(), tokenizer, mask, info, {"imp_round": r})
            if any(abs(levels[r - 1] - lv) < 1e-9 for lv in self.s.baselines.sparse_execution or ()):
                csr = self.run_config(task, seed, {**self._ticket(paths[levels[r - 1]]), "execution": "sparse_csr"},
                                      name=f"IMP {task} seed{seed} {levels[r - 1]:.0%} csr")
                if self.stored(csr) is None:
                    self.record(csr, copy.deepcopy(m).eval(), tokenizer, mask,
                                {"checkpoint": key, "reused": True, "ticket_init": self._init()}, {"imp_round": r})
            m.train()

        self.say(f"IMP {task} seed {seed}: levels {', '.join(f'{s:.0%}' for s in levels)}")
        iterative_magnitude_pruning(
            model, ImpSchedule(levels, rewind_step, self.s.search.targets), train, on_round,
            provenance=self._provenance(task, seed, "task", levels), before_train=before_train,
            on_rewind_point=save_rewind,
        )
        return paths

    def _init(self) -> str:
        return "rewind" if self.s.search.rewind_step is not None else "pretrained"

    def _ticket(self, path: Path) -> dict:
        return {"mask": str(path), "init": self._init(), "execution": "dense"}

    def _round_config(self, task: str, seed: int, path: Path, r: int, levels: tuple[float, ...]) -> RunConfig:
        return self.run_config(task, seed, self._ticket(path), name=f"IMP {task} seed{seed} {levels[r - 1]:.0%}")

    def _one_shot(self, task: str, seed: int, levels: tuple[float, ...]) -> dict[float, Path]:
        model = _initial(self.run_config(task, seed), task, seed).model
        weights = {k: w.detach() for k, w in prunable_weights(model, self.s.search.targets).items()}
        paths = {}
        for r, level in enumerate(levels, start=1):
            mask = TicketMask(global_magnitude_mask(weights, level),
                              {**self._provenance(task, seed, "task", levels), "kind": "one_shot", "round": r,
                               "sparsity_target": level, "rewind": "pretrained",
                               "note": "global magnitude of the pre-trained weights, no training"},
                              targets=self.s.search.targets)
            path = save_mask(mask, self.mask_path(task, "oneshot", seed, level))
            mask.source = path
            paths[level] = path
            self._evaluate_mask(task, seed, path, mask, "pretrained", f"one-shot {task} seed{seed} {level:.0%}")
        return paths

    def _baselines(self, task: str, seed: int, paths: dict[float, Path]) -> None:
        b = self.s.baselines
        levels = [lv for lv in (b.sparsities or tuple(paths)) if lv in paths]
        missing = [lv for lv in (b.sparsities or ()) if lv not in paths]
        if missing:
            self.say(f"baselines: no searched mask at {missing}; skipped there")
        for level in levels:
            mask = load_mask(paths[level])
            if b.random_pruning:
                rpath = self.mask_path(task, "random", seed, level)
                if rpath.is_file():
                    rmask = load_mask(rpath)
                else:
                    rmask = TicketMask(random_mask_like(mask.masks, seed * 100_003 + int(round(level * 10_000))),
                                       {**mask.provenance, "kind": "random", "random_like": paths[level].name,
                                        "note": "same per-layer sparsity as the ticket, uniform random positions"},
                                       targets=mask.targets)
                    save_mask(rmask, rpath)
                    rmask.source = rpath
                self._evaluate_mask(task, seed, rpath, rmask, "pretrained", f"random-pruning {task} seed{seed} "
                                    f"{level:.0%}")
            if b.random_reinit:
                self._evaluate_mask(task, seed, paths[level], mask, "random", f"random-reinit {task} seed{seed} "
                                    f"{level:.0%}")

    # -- evaluate, transfer, mlm ----------------------------------------------------------------------
