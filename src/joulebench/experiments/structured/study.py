"""Prasanna et al.'s study: good / bad / random subnetworks x pruned / retrained x seeds.

For each seed the run's model is fine-tuned (train.seed = seed), importance is scored on a slice
of training data held out from fine-tuning, and the iterative search removes heads and FFN blocks
until held-out accuracy falls below ``stop_fraction`` of the full model's. The good mask found,
a bad one (least important structures, same size) and a random one (same size) are saved as
JSON; each is then measured by the ordinary runner through the ``structured_prune`` reduction, as
pruned (the fine-tuned weights, pruned) and as retrained (the pre-trained weights, pruned, then
fine-tuned with the run's settings), next to the dense model. Every measurement is an ordinary
record in the results store, so the subnetworks sit on the same frontier as everything else.
"""

from __future__ import annotations

import dataclasses
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joulebench.config.schema import ReductionSpec, RunConfig, config_hash
from joulebench.errors import UserError
from joulebench.reductions.structured.data import encode_batches, scoring_examples
from joulebench.reductions.structured.layers import geometry
from joulebench.reductions.structured.mask import StructureMask, save_mask
from joulebench.reductions.structured.pipeline import Targets, make_scorer
from joulebench.reductions.structured.search import SearchResult, iterative_prune, variant_mask
from joulebench.tasks.kinds import encoder_for

Log = Callable[[str], None]


@dataclass(frozen=True)
class StudySettings:
    """How the study searches and what it measures.

    Attributes:
        seeds: fine-tuning seeds (each gives its own importance, masks and retraining).
        variants: subset of good, bad, random.
        retrained: also measure each variant retrained from the pre-trained weights.
        retrain_epochs: epochs of that retraining; None = the run's train.epochs (same budget as
            the dense model).
        stop_fraction: the stopping rule (Prasanna et al.: 0.9).
        importance: gradient or magnitude.
        ffn_unit: block (whole FFN blocks, as Prasanna et al.) or neuron.
        heads_step_frac: heads removed per step, as a fraction of all heads.
        ffn_step_frac: FFN units per step (neuron only).
        score_examples: held-out examples for importance and the stopping rule.
        score_split: train (held out from fine-tuning) or validation (explicit opt-in).
        score_batch_size: batch size while scoring.
    """

    seeds: tuple[int, ...] = (0, 1, 2)
    variants: tuple[str, ...] = ("good", "bad", "random")
    retrained: bool = True
    retrain_epochs: float | None = None
    stop_fraction: float = 0.9
    importance: str = "gradient"
    ffn_unit: str = "block"
    heads_step_frac: float = 0.1
    ffn_step_frac: float = 0.1
    score_examples: int = 512
    score_split: str = "train"
    score_batch_size: int = 32


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[-40:] or "model"


def search_seed(runner: Any, config: RunConfig, settings: StudySettings, device: str = "cpu") -> SearchResult:
    """Fine-tune ``config`` (cached) and run the stopping-rule search on held-out training data."""
    (model, tokenizer, task), _ = runner.fine_tuned(config, device)
    data_dir = runner.options.data_dir
    fine_tune = task.load("train", data_dir, config.train.max_train_examples, config.train.seed)
    examples, source = scoring_examples(task, data_dir, settings.score_split, settings.score_examples,
                                        config.train.seed, fine_tune)
    batches = encode_batches(tokenizer, examples, config.max_seq_len, settings.score_batch_size,
                             encoder_for(task, tokenizer, config))
    targets = Targets(None, None, settings.ffn_unit, settings.heads_step_frac, settings.ffn_step_frac,
                      settings.stop_fraction, True)
    geo = geometry(model)
    result = iterative_prune(make_scorer(model, batches, settings.importance, device), StructureMask.full(geo),
                             targets.plan(geo))
    meta = {"scoring_data": source, "n_score_examples": len(examples)}
    return dataclasses.replace(result, mask=result.mask.with_meta(**meta))


def seed_masks(config: RunConfig, result: SearchResult, settings: StudySettings, masks_dir: Path) -> dict[str, Path]:
    """Save the good mask and its same-size bad and random variants; variant -> file."""
    seed = config.train.seed
    meta = {"task": config.task, "model": config.model, "seed": seed, "importance": settings.importance,
            "ffn_unit": settings.ffn_unit, "stop_fraction": settings.stop_fraction,
            "full_score_accuracy": result.full_accuracy, "pruned_score_accuracy": result.accuracy,
            "search": result.trace}
    paths = {}
    for variant in settings.variants:
        mask = variant_mask(variant, result.mask, result.initial, settings.ffn_unit, seed).with_meta(**meta)
        # the digest in the name: a changed mask is a new file, hence a new config hash
        name = f"{config.task}-{_slug(config.model)}-seed{seed}-{variant}-{mask.digest()}.json"
        paths[variant] = save_mask(mask, masks_dir / name)
    return paths


def study_configs(config: RunConfig, masks: dict[str, Path], settings: StudySettings) -> list[tuple[str, RunConfig]]:
    """(kind, config) for the dense model and each variant, pruned and retrained."""
    seed = config.train.seed
    out = [("dense", dataclasses.replace(config, reductions=(), name=f"dense seed {seed}"))]
    retrained = "retrained" if settings.retrain_epochs is None else f"retrained {settings.retrain_epochs:g} ep"
    kinds = [("pruned", False)] + ([(retrained, True)] if settings.retrained else [])
    for variant, path in masks.items():
        for kind, retrain in kinds:
            params: tuple[tuple[str, object], ...] = (("mask", str(path)), ("retrain", retrain))
            if retrain and settings.retrain_epochs is not None:
                params += (("retrain_epochs", settings.retrain_epochs),)
            spec = ReductionSpec("structured_prune", params)
            out.append((f"{variant}/{kind}", dataclasses.replace(
                config, reductions=(spec,), name=f"structured {variant} {kind} seed {seed}")))
    return out


def _row(kind: str, seed: int, record: dict) -> dict:
    details = record["reductions"][-1].get("details", {}) if record.get("reductions") else {}
    cost, quality = record.get("cost", {}), record.get("quality", {})
    return {
        "kind": kind, "scenario": record.get("scenario"), "seed": seed, "accuracy": quality.get("accuracy"),
        "param_count": cost.get("param_count"), "flops_per_example": cost.get("flops_per_example"),
        "latency_ms_p50": cost.get("latency_ms_p50"), "energy_j_per_example": cost.get("energy_j_per_example"),
        "heads_kept": details.get("heads_kept"), "ffn_units_kept": details.get("ffn_units_kept"),
        "config_hash": record.get("config_hash"),
    }


def run_study(runner: Any, bases: list[RunConfig], settings: StudySettings, store: Any, masks_dir: Path,
              log: Log = print, device: str = "cpu") -> list[dict]:
    """Search, save masks and measure every (seed, variant, kind, scenario); one row per record.

    ``bases`` are configurations that differ only in how they are measured (e.g. offline and
    online scenarios); the search runs once per seed. Records already in ``store`` are not re-run
    (their rows are read back).
    """
    if any(b.reductions for b in bases):
        raise UserError("prune search: the base configuration must have no reductions")
    if len({config_hash(dataclasses.replace(b, measure=bases[0].measure)) for b in bases}) != 1:
        raise UserError("prune search: the configurations may differ only in their measure section")
    rows = []
    for seed in settings.seeds:
        seeded = [dataclasses.replace(b, train=dataclasses.replace(b.train, seed=seed)) for b in bases]
        log(f"seed {seed}: fine-tune (or reuse) and search (stop below {settings.stop_fraction:g} x full)")
        result = search_seed(runner, seeded[0], settings, device)
        mask = result.mask
        log(f"  full {result.full_accuracy:.4f} -> {result.accuracy:.4f} on {mask.meta['n_score_examples']} "
            f"held-out ({mask.meta['scoring_data']}); kept {mask.n_heads_kept}/{mask.heads.numel()} heads, "
            f"{mask.n_ffn_blocks_kept}/{mask.num_layers} FFN blocks, {mask.n_ffn_kept}/{mask.ffn.numel()} units")
        masks = seed_masks(seeded[0], result, settings, masks_dir)
        stored = {r.get("config_hash"): r for r in store.records()}
        for config in seeded:
            for kind, cfg in study_configs(config, masks, settings):
                log(f"  {cfg.name} ({cfg.measure.scenario})")
                record = runner.run(cfg, store) or stored.get(config_hash(runner.bind(cfg)))
                if record is not None:
                    rows.append(_row(kind, seed, record))
    return rows


def summarize(rows: list[dict]) -> list[dict]:
    """Mean, spread and per-seed values of accuracy (and sizes, costs) per scenario and kind."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["scenario"], row["kind"]), []).append(row)
    order = ["dense"] + [f"{v}/{k}" for v in ("good", "bad", "random") for k in ("pruned", "retrained")]

    def rank(key: tuple[str, str]) -> tuple[str, int, str]:
        kind = key[1].split(" ", 1)[0]  # "good/retrained 3 ep" sorts with "good/retrained"
        return key[0] or "", order.index(kind) if kind in order else len(order), key[1]

    out = []
    for scenario, kind in sorted(groups, key=rank):
        group = groups[(scenario, kind)]
        accs = [r["accuracy"] for r in group if r["accuracy"] is not None]

        def mean(key: str, group: list[dict] = group) -> float | None:
            values = [r[key] for r in group if r[key] is not None]
            return statistics.fmean(values) if values else None

        out.append({
            "scenario": scenario, "kind": kind, "n_seeds": len(group),
            "accuracy_mean": statistics.fmean(accs) if accs else None,
            "accuracy_std": (statistics.stdev(accs) if len(accs) > 1 else 0.0) if accs else None,
            "accuracy_min": min(accs) if accs else None, "accuracy_max": max(accs) if accs else None,
            "accuracy_per_seed": {str(r["seed"]): r["accuracy"] for r in group},
            "param_count_mean": mean("param_count"), "heads_kept_mean": mean("heads_kept"),
            "ffn_units_kept_mean": mean("ffn_units_kept"), "flops_per_example_mean": mean("flops_per_example"),
            "latency_ms_p50_mean": mean("latency_ms_p50"),
        })
    return out


def markdown_table(summary: list[dict]) -> str:
    """The summary as a Markdown table."""

    def fmt(value: Any, spec: str) -> str:
        return "–" if value is None else format(value, spec)

    lines = ["| scenario | subnetwork | seeds | accuracy mean ± sd | min – max | heads kept | FFN units kept "
             "| params (M) | MFLOPs/ex | latency p50 ms/ex |", "|---|---|---|---|---|---|---|---|---|---|"]
    for s in summary:
        lines.append(
            f"| {s['scenario']} | {s['kind']} | {s['n_seeds']} "
            f"| {fmt(s['accuracy_mean'], '.4f')} ± {fmt(s['accuracy_std'], '.4f')} "
            f"| {fmt(s['accuracy_min'], '.4f')} – {fmt(s['accuracy_max'], '.4f')} "
            f"| {fmt(s['heads_kept_mean'], '.1f')} | {fmt(s['ffn_units_kept_mean'], '.0f')} "
            f"| {fmt(None if s['param_count_mean'] is None else s['param_count_mean'] / 1e6, '.2f')} "
            f"| {fmt(None if s['flops_per_example_mean'] is None else s['flops_per_example_mean'] / 1e6, '.0f')} "
            f"| {fmt(s['latency_ms_p50_mean'], '.3f')} |")
    return "\n".join(lines)
