"""The core of a ticket study: its settings, store, dense baselines, ticket training, records and evaluation.

The search (IMP, one-shot), transfer and MLM experiments build on it (``search.py``, ``transfer.py``,
``mlm.py``); ``study.py`` puts them together and says what the records are.
"""

from __future__ import annotations

import copy
import dataclasses
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from joulebench.config.schema import ReductionSpec, RunConfig, config_hash, stable_hash
from joulebench.errors import UserError
from joulebench.experiments.lottery import tables
from joulebench.experiments.lottery.settings import StudySettings
from joulebench.measure.cost import count_parameters
from joulebench.models.batching import eval_batches
from joulebench.models.checkpoints import CheckpointCache
from joulebench.reductions.base import build_reduction_config
from joulebench.reductions.lottery.masks import MaskEnforcer, TicketMask, apply_mask, load_mask, save_mask
from joulebench.reductions.lottery.price import nonzero_flops_per_example, ticket_details
from joulebench.reductions.lottery.pruning import random_mask_like
from joulebench.reductions.lottery.reduction import mask_recipe, prepare_ticket
from joulebench.reductions.lottery.sparse import to_sparse_csr
from joulebench.results.record import build_record
from joulebench.results.store import ResultStore
from joulebench.tasks.kinds import encoder_for, kind_of
from joulebench.tasks.resolve import task_of

Say = Callable[[str], None]


def _initial(config: RunConfig, task_name: str, seed: int) -> Any:
    """The model (and tokenizer) of ``task_name``'s kind before fine-tuning: the same loader and seed as the
    runner's, so the rewound ticket starts where the dense run did (a span head for question answering)."""
    task = task_of(dataclasses.replace(config, task=task_name) if task_name != config.task else config)
    return kind_of(task).load_pretrained(config.model, task, seed, config.classifier_pooling)


def _encode(config: RunConfig, tokenizer: Any, examples: list) -> list:
    """``examples`` encoded as ``config``'s task kind does (QA: windows with answer positions)."""

    return encoder_for(task_of(config), tokenizer, config)(examples, config.max_seq_len)


@dataclass(frozen=True)
class DenseBaseline:
    """The dense model's primary metric over seeds, and the matching rule: paired non-inferiority on the same
    examples (Chen et al.'s mean - 1 std over seeds is recorded beside it)."""

    task: str
    metric: str
    seeds: tuple[int, ...]
    values: tuple[float, ...]
    records: tuple[dict, ...] = ()
    tolerance: float = 0.01

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values)

    @property
    def std(self) -> float:
        """Sample standard deviation over seeds (0 with one seed)."""
        return statistics.stdev(self.values) if len(self.values) > 1 else 0.0

    def judge(self, score: float, quality: dict | None = None) -> dict:
        """Record details: does a ticket with ``score`` (and per-example ``quality``) match the dense model?"""
        from types import SimpleNamespace

        from joulebench.analysis.paired import paired_difference
        from joulebench.results.schema import primary_metric_of

        chen = bool(score >= self.mean - self.std)
        diff = None
        if quality is not None and self.records:
            ticket = {"quality": quality}
            metric = primary_metric_of(self.records[0]) or self.metric
            diff = paired_difference(SimpleNamespace(records=[ticket]), SimpleNamespace(records=list(self.records)),
                                     metric)
        paired = {} if diff is None else {
            "matching_paired_delta": diff.delta, "matching_paired_ci95": [diff.low, diff.high]}
        return {
            "matching": diff.non_inferior(self.tolerance) if diff is not None else chen,
            "matching_rule": (f"paired non-inferiority: the 95% paired-bootstrap interval of the difference to the "
                              f"dense model ({len(self.values)} seed(s), averaged per example) excludes a loss of "
                              f"{self.tolerance:g}") if diff is not None else
            f"{self.metric} >= dense mean - 1 std over {len(self.values)} seed(s) (Chen et al. 2020)",
            **paired,
            "matching_chen": chen,
            "dense_metric": self.metric,
            "dense_mean": self.mean,
            "dense_std": self.std,
            "dense_seeds": list(self.seeds),
            **({"matching_note": "one dense seed: std is 0, so matching means >= the dense score"}
               if len(self.values) == 1 else {}),
        }


def _level_tag(level: float) -> str:
    return f"s{round(level * 100, 3):g}".replace(".", "p")


class StudyCore:
    """Runs the parts of a ticket study and writes their records to ``OUT/results.jsonl``.

    Args:
        settings: the study file.
        out: output directory (records in ``results.jsonl``, masks in ``masks/``).
        data_dir: local data root (None = the Hub).
        cache: checkpoint cache for dense models and trained tickets.
        say: progress lines (the CLI prints them).
        force: re-run configurations already stored.
    """

    def __init__(self, settings: StudySettings, out: str | Path, data_dir: Path | None = None,
                 cache: CheckpointCache | None = None, say: Say = print, force: bool = False) -> None:
        from joulebench.runner import Runner, RunOptions, resolve_device

        self.s = settings
        self.out = Path(out)
        self.store = ResultStore.in_dir(self.out)
        self.masks_dir = self.out / "masks"
        self.data_dir = data_dir
        self.cache = cache or CheckpointCache()
        self.runner = Runner(RunOptions(data_dir=data_dir, cache=self.cache, force=force))
        self.device = resolve_device(settings.base.measure.device)
        self.say = say
        self.force = force
        self._dense: dict[str, DenseBaseline] = {}
        self._by_hash: dict[str, dict] | None = None
        from joulebench.measure import pin_threads

        pin_threads(settings.base.measure.threads)  # training too, as the runner does

    # -- configs and the store ------------------------------------------------------------------------
    def run_config(self, task: str, seed: int, ticket: dict | None = None, name: str | None = None) -> RunConfig:
        """The base config on ``task`` with ``train.seed = seed`` and an optional ticket reduction."""
        base = self.s.base
        specs: tuple[ReductionSpec, ...] = ()
        if ticket is not None:
            spec = ReductionSpec("ticket", tuple(sorted(ticket.items())))
            build_reduction_config(spec, "ticket study")
            specs = (spec,)
        declared = self.s.declared.get(task)
        return dataclasses.replace(base, task=task, task_spec=declared, task_data=None if task != base.task
                                   else base.task_data, train=dataclasses.replace(base.train, seed=seed),
                                   reductions=specs, name=name)

    def task(self, name: str) -> Any:
        """The task named ``name`` in this study: a declared one when the study declares it, else built in."""
        return task_of(self.run_config(name, self.s.base.train.seed))

    def stored(self, config: RunConfig) -> dict | None:
        """The stored record of ``config`` (None when absent or when forcing)."""
        if self.force:
            return None
        if self._by_hash is None:
            self._by_hash = {str(r["config_hash"]): r for r in self.store.records() if r.get("config_hash")}
        return self._by_hash.get(config_hash(self.runner.bind(config)))

    def _append(self, record: dict) -> None:
        self.store.append(record)
        if self._by_hash is not None:
            self._by_hash[record["config_hash"]] = record

    # -- dense baseline -------------------------------------------------------------------------------
    def dense(self, task: str) -> DenseBaseline:
        """Train (or reuse) and record the dense model for every dense seed; return its statistics."""
        if task in self._dense:
            return self._dense[task]
        metric = self.task(task).primary_metric
        values, records = [], []
        seeds = self.s.baselines.dense_seeds
        for seed in seeds:
            config = self.run_config(task, seed, name=f"dense {task} seed{seed}")
            record = self.stored(config)
            if record is None:
                self.say(f"dense {task} seed {seed}: fine-tune and measure")
                record = self.runner.run(config, self.store)
                if record is None:  # stored meanwhile by another process
                    self._by_hash = None
                    record = self.stored(config)
                    if record is None:
                        raise UserError(f"dense {task} seed {seed}: the run stored no record in {self.store.path}")
                elif self._by_hash is not None:
                    self._by_hash[record["config_hash"]] = record
            values.append(float(record["quality"][metric]))
            records.append(record)
            self.say(f"dense {task} seed {seed}: {metric} {values[-1]:.4f}")
        self._dense[task] = DenseBaseline(task, metric, tuple(seeds), tuple(values), tuple(records),
                                          self.s.baselines.matching_tolerance)
        return self._dense[task]

    # -- training -------------------------------------------------------------------------------------
    def _train(self, model: nn.Module, config: RunConfig, tokenizer: Any, hook: Callable | None, what: str) -> dict:
        from joulebench.training.trainer import fine_tune

        task = task_of(config)
        examples = task.load("train", self.data_dir, config.train.max_train_examples, config.train.seed)
        encoded = _encode(config, tokenizer, examples)
        every = max(1, len(encoded) // config.train.batch_size // 4)

        def progress(step: int, total: int, loss: float) -> None:
            if step % every == 0 or step == total:
                self.say(f"  {what}: step {step}/{total} loss {loss:.4f}")

        result = fine_tune(model, encoded, config.train, tokenizer.pad_token_id, device=self.device,
                           after_step=hook, progress=progress)
        model.to("cpu")
        return {"reused": False, "train_time_s": round(result.train_time_s, 3), "final_loss": result.final_loss,
                "steps": result.steps, "train_examples": config.train.max_train_examples,
                "epochs": config.train.epochs}

    def _ticket_key(self, config: RunConfig, mask: TicketMask, init: str) -> str:
        rewind = mask.provenance.get("rewind_weights") if init == "rewind" else None
        return stable_hash({"ticket": mask.digest(), "init": init, "rewind": rewind,
                            "training": config.training_dict()})

    def trained_ticket(self, config: RunConfig, mask: TicketMask, init: str, keep: bool = False
                       ) -> tuple[nn.Module, Any, dict]:
        """``mask`` trained with ``config``'s settings from the ``init`` starting point (or from the cache)."""

        task = task_of(config)
        loaded = _initial(config, config.task, config.train.seed)
        model, tokenizer = loaded.model, loaded.tokenizer
        if init == "finetuned":
            (dense, _, _), info = self.runner.fine_tuned(config, self.device)
            model.load_state_dict(dense.state_dict())
            apply_mask(model, mask)
            return model.eval(), tokenizer, {**info, "ticket_init": init}
        key = self._ticket_key(config, mask, init)
        if self.cache.has(key):
            self.cache.load_into(key, model)
            return model.eval(), tokenizer, {"checkpoint": key, "reused": True, "train_time_s": None,
                                             "ticket_init": init}
        if init == "pretrained":  # ``model`` is already the initial state (same loader, same seed)
            apply_mask(model, mask)
        else:
            prepare_ticket(model, mask, init, config.model, task, config.train.seed)
        info = self._train(model, config, tokenizer, MaskEnforcer(mask), f"train {config.name or 'ticket'}")
        if keep:
            self.cache.save(key, model, {"ticket": mask.digest(), "init": init, "training": config.training_dict()})
        return model.eval(), tokenizer, {"checkpoint": key if keep else None, **info, "ticket_init": init}

    # -- measuring and recording ----------------------------------------------------------------------
    def record(self, config: RunConfig, model: nn.Module, tokenizer: Any, mask: TicketMask, train_info: dict,
               extra: dict | None = None) -> dict:
        """Evaluate and measure ``model`` (the trained ticket) like the runner does; append the record."""
        from joulebench.env_info import environment
        from joulebench.measure import pin_threads

        task = task_of(config)
        spec = config.reductions[0]
        params = spec.params_dict()
        execution = params.get("execution", "dense")
        details = ticket_details(mask, model, execution)
        details.update(init=params.get("init", "pretrained"), mask_digest=mask.digest(),
                       mask_provenance=mask.provenance,
                       mask_recipe=mask_recipe(mask.provenance, details.get("sparsity")), **(extra or {}))
        if execution == "sparse_csr":
            model = copy.deepcopy(model)
            details.update(to_sparse_csr(model, mask, min_sparsity=float(params.get("csr_min_sparsity", 0.0))))
        threads = pin_threads(config.measure.threads)
        pad = tokenizer.pad_token_id
        model.to(self.device).eval()
        # The runner's own evaluation and measurement, so ticket records read like every other record.
        _, encoded, quality, flops, _ = self.runner.score(model, task, tokenizer, config.max_seq_len, config,
                                                          self.device)
        cost = self.runner.measure_cost(model, encoded, config, pad, self.device, threads)
        cost["flops_per_example"] = flops
        cost["param_count"] = count_parameters(model)
        batches = eval_batches(encoded, config.measure.batch_size, pad)
        tokens = sum(b.inputs["input_ids"].numel() for b in batches) / max(1, len(encoded))
        details["tokens_per_example"] = tokens
        details["flops_per_example_nonzero"] = nonzero_flops_per_example(flops, tokens, details)
        details.update(self.dense(config.task).judge(float(quality[task.primary_metric]), quality))
        bound = self.runner.bind(config)
        record = build_record(bound, config_hash(bound), [{"name": "ticket", "params": params, "details": details}],
                              quality, cost, train_info, environment(threads, self.device),
                              task_kind=kind_of(task).name)
        self._append(record)
        mark = "matching" if details["matching"] else "not matching"
        self.say(f"  {config.name}: {task.primary_metric} {quality[task.primary_metric]:.4f} ({mark}); "
                 f"p50 {cost.get('latency_ms_p50', float('nan')):.3g} ms/ex ({execution})")
        return record

    def _evaluate_mask(self, task: str, seed: int, mask_path: Path, mask: TicketMask, init: str, label: str,
                       execution: str = "dense", keep: bool = False, extra: dict | None = None) -> dict:
        ticket = {"mask": str(mask_path), "init": init, "execution": execution}
        config = self.run_config(task, seed, ticket, name=label)
        record = self.stored(config)
        if record is not None:
            return record
        self.say(f"{label}: train and measure")
        model, tokenizer, info = self.trained_ticket(config, mask, init, keep=keep)
        return self.record(config, model, tokenizer, mask, info, extra)

    # -- search ---------------------------------------------------------------------------------------
    def mask_path(self, task: str, kind: str, seed: int, level: float) -> Path:
        """Where a mask of this kind, seed and sparsity is saved; the name carries a hash of the
        study's search recipe, so a study re-run with other settings into the same folder makes
        new masks instead of reusing the old ones."""
        recipe = {k: v for k, v in self._provenance(task, seed, kind, self.s.search.levels()).items()
                  if k not in ("seed", "objective")}
        recipe["training"]["train"].pop("seed", None)
        recipe["search"] = {k: v for k, v in dataclasses.asdict(self.s.search).items() if k != "seeds"}
        return self.masks_dir / f"{task}-{kind}-seed{seed}-{_level_tag(level)}-r{stable_hash(recipe)[:8]}.safetensors"

    def evaluate(self, mask_paths: list[Path], tasks: list[str] | None, inits: list[str], execution: str,
                 random_pruning: bool = False) -> list[dict]:
        """Fine-tune given masks on tasks (each init), optionally with a random-pruning twin."""
        seed = self.s.base.train.seed
        records = []
        for path in mask_paths:
            mask = load_mask(path)
            for task in tasks or [self.s.base.task]:
                self.dense(task)
                for init in inits:
                    label = f"ticket {path.stem} on {task} ({init}, {execution})"
                    extra = self._transfer_extra(mask, task)
                    records.append(self._evaluate_mask(task, seed, path, mask, init, label, execution, extra=extra))
                if random_pruning:
                    rpath = self.masks_dir / f"{path.stem}-random-seed{seed}.safetensors"
                    rmask = load_mask(rpath) if rpath.is_file() else TicketMask(
                        random_mask_like(mask.masks, seed), {**mask.provenance, "kind": "random",
                                                             "random_like": path.name}, targets=mask.targets)
                    if not rpath.is_file():
                        save_mask(rmask, rpath)
                    records.append(self._evaluate_mask(task, seed, rpath, rmask, "pretrained",
                                                       f"random-pruning like {path.stem} on {task}"))
        return records

    def tables(self, task: str | None = None) -> str:
        """Accuracy-vs-sparsity and price tables of everything stored for ``task``."""
        task = task or self.s.base.task
        records = self.store.records()
        return tables.accuracy_table(records, task) + "\n\n" + tables.price_table(records, task)

    def _provenance(self, task: str | None, seed: int, objective: str, levels: tuple[float, ...]) -> dict:
        return {"task": task, "model": self.s.base.model, "objective": objective, "seed": seed,
                "targets": self.s.search.targets,
                "schedule": list(levels), "method": self.s.search.method,
                "training": self.run_config(task or self.s.base.task, seed).training_dict()}

    @staticmethod
    def _transfer_extra(mask: TicketMask, task: str) -> dict:
        source = mask.provenance.get("task")
        objective = mask.provenance.get("objective", "task")
        if objective == "mlm":
            return {"transfer": {"source": "mlm", "target": task}}
        if source and source != task:
            return {"transfer": {"source": source, "target": task}}
        return {}
