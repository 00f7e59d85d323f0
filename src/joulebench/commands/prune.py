"""``joulebench prune``: structured pruning of heads and FFN units (score, search + study, export)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from joulebench.commands.options import CacheDir, DataDir, ExportFormat, Force, make_runner, out_option
from joulebench.errors import UserError

app = typer.Typer(no_args_is_help=True, help="Structured pruning of attention heads and FFN units.")

ConfigArg = Annotated[Path, typer.Argument(help="YAML file with one configuration (no reductions).")]
MaxTrain = Annotated[
    int | None, typer.Option("--max-train-examples", help="Override train.max_train_examples (keeps runs short).")]
Epochs = Annotated[float | None, typer.Option("--epochs", help="Override train.epochs.")]
Importance = Annotated[str, typer.Option("--importance", help="gradient or magnitude.")]
ScoreExamples = Annotated[int, typer.Option("--score-examples", help="Held-out examples to score importance on.")]
ScoreSplit = Annotated[str, typer.Option("--score-split", help="train (held out from fine-tuning) or validation.")]


def _configs(path: Path, max_train: int | None, epochs: float | None) -> list:
    from joulebench.configuration import load_configs

    configs = load_configs(path)
    changes: dict[str, Any] = {k: v for k, v in (("max_train_examples", max_train), ("epochs", epochs))
                               if v is not None}
    if changes:
        configs = [dataclasses.replace(c, train=dataclasses.replace(c.train, **changes)) for c in configs]
    for config in configs:
        try:
            config.validate()
        except ValueError as exc:
            raise UserError(f"{path}: {exc}") from None
    return configs


def _split_ints(text: str, what: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise UserError(f"{what}: expected comma-separated integers, got {text!r}") from None


@app.command()
def score(
    config: ConfigArg,
    out: Annotated[Path | None, out_option(help="Write the scores to this JSON file.")] = None,
    importance: Importance = "gradient",
    score_examples: ScoreExamples = 512,
    score_split: ScoreSplit = "train",
    max_train_examples: MaxTrain = None,
    epochs: Epochs = None,
    data_dir: DataDir = None,
    cache_dir: CacheDir = None,
) -> None:
    """Importance of every head and FFN block of the fine-tuned model (per-layer normalised)."""
    from joulebench.display import ProgressBars, console
    from joulebench.reductions.structured.data import encode_batches, scoring_examples
    from joulebench.reductions.structured.importance import METHODS
    from joulebench.reductions.structured.layers import geometry
    from joulebench.reductions.structured.mask import StructureMask
    from joulebench.reductions.structured.pipeline import make_scorer
    from joulebench.tasks.kinds import encoder_for

    if importance not in METHODS:
        raise UserError(f"--importance must be one of {', '.join(METHODS)}, got {importance!r}")
    base = _configs(config, max_train_examples, epochs)[0]
    with ProgressBars() as bars:
        runner = make_runner(data_dir, cache_dir, False, bars)
        (model, tokenizer, task), _ = runner.fine_tuned(base, "cpu")
    fine_tune = task.load("train", runner.options.data_dir, base.train.max_train_examples, base.train.seed)
    examples, source = scoring_examples(task, runner.options.data_dir, score_split, score_examples,
                                        base.train.seed, fine_tune)
    batches = encode_batches(tokenizer, examples, base.max_seq_len, 32,
                             encoder_for(task, tokenizer, base))
    scored = make_scorer(model, batches, importance)(StructureMask.full(geometry(model)))
    imp = scored.importance
    console.print(f"{importance} importance on {len(examples)} examples ({source}); "
                  f"accuracy there {scored.accuracy:.4f}")
    print("layer  heads (normalised per layer)" + " " * 30 + "FFN block")
    for layer, row in enumerate(imp.heads.tolist()):
        print(f"{layer:>5}  " + " ".join(f"{v:.2f}" for v in row) + f"   {float(imp.ffn_blocks[layer]):.4g}")
    if out is not None:
        from joulebench.paths import writable_folder

        writable_folder(out.parent, "--out")
        out.write_text(json.dumps({"config": base.to_dict(), "scoring_data": source,
                                   "accuracy": scored.accuracy, **imp.to_json()}) + "\n")
        print(f"scores: {out}")


@app.command()
def search(
    config: ConfigArg,
    out: Annotated[Path, out_option(
        help="Output directory: OUT/results.jsonl, OUT/masks/, OUT/structured_study.md.")],
    seeds: Annotated[str, typer.Option("--seeds", help="Comma-separated fine-tuning seeds.")] = "0,1,2",
    variants: Annotated[str, typer.Option(
        "--variants", help="Comma-separated subset of good,bad,random.")] = "good,bad,random",
    retrained: Annotated[bool, typer.Option(
        "--retrained/--no-retrained", help="Also retrain each subnetwork from the pre-trained weights.")] = True,
    retrain_epochs: Annotated[float | None, typer.Option(
        "--retrain-epochs", help="Epochs of the retraining (default: the config's train.epochs).")] = None,
    stop_fraction: Annotated[float, typer.Option(
        "--stop-fraction", help="Stop when held-out accuracy < this x full.")] = 0.9,
    ffn_unit: Annotated[str, typer.Option("--ffn-unit", help="block (whole FFN blocks) or neuron.")] = "block",
    heads_step_frac: Annotated[float, typer.Option(
        "--heads-step-frac", help="Heads removed per step (fraction of all).")] = 0.1,
    importance: Importance = "gradient",
    score_examples: ScoreExamples = 512,
    score_split: ScoreSplit = "train",
    max_train_examples: MaxTrain = None,
    epochs: Epochs = None,
    data_dir: DataDir = None,
    cache_dir: CacheDir = None,
    force: Annotated[bool, typer.Option("--force", help="Re-run configurations already stored.")] = False,
) -> None:
    """Iterative search with the stopping rule, then good/bad/random x pruned/retrained x seeds."""
    from joulebench.display import ProgressBars, console
    from joulebench.experiments.structured.study import StudySettings, markdown_table, run_study, summarize
    from joulebench.reductions.structured.reduction import StructuredPruneConfig
    from joulebench.results.store import ResultStore

    settings = StudySettings(
        seeds=_split_ints(seeds, "--seeds"), variants=tuple(v.strip() for v in variants.split(",") if v.strip()),
        retrained=retrained, retrain_epochs=retrain_epochs, stop_fraction=stop_fraction, importance=importance,
        ffn_unit=ffn_unit, heads_step_frac=heads_step_frac, score_examples=score_examples, score_split=score_split,
    )
    try:  # the reduction's own validation covers every shared setting
        StructuredPruneConfig(retrain_epochs=retrain_epochs, stop_fraction=stop_fraction, importance=importance,
                              ffn_unit=ffn_unit, heads_step_frac=heads_step_frac, score_examples=score_examples,
                              score_split=score_split).validate()
    except ValueError as exc:
        raise UserError(f"prune search: {exc}") from None
    bad = [v for v in settings.variants if v not in ("good", "bad", "random")]
    if bad or not settings.variants or not settings.seeds:
        raise UserError(f"prune search: need seeds and variants from good,bad,random (got {variants!r})")
    bases = _configs(config, max_train_examples, epochs)
    store = ResultStore.in_dir(out)
    with ProgressBars() as bars:
        runner = make_runner(data_dir, cache_dir, force, bars)
        rows = run_study(runner, bases, settings, store, out / "masks", log=console.print)
    summary = summarize(rows)
    table = markdown_table(summary)
    print(table)
    (out / "structured_study.md").write_text(table + "\n")
    (out / "structured_study.json").write_text(json.dumps({"settings": dataclasses.asdict(settings),
                                                           "summary": summary, "rows": rows}, indent=1) + "\n")
    print(f"records: {store.path}\nmasks: {out / 'masks'}\nsummary: {out / 'structured_study.md'}")


@app.command()
def export(
    config: ConfigArg,
    mask: Annotated[Path, typer.Option("--mask", help="Mask JSON written by `prune search`.")],
    out: Annotated[Path, out_option(help="Folder to write (as `joulebench export` writes one).")],
    fmt: ExportFormat = "auto",
    force: Force = False,
    data_dir: DataDir = None,
    cache_dir: CacheDir = None,
) -> None:
    """Compact the fine-tuned model with a saved mask and export it: `joulebench export` for a configuration
    with a structured_prune(mask=...) reduction that has not been measured yet."""
    import dataclasses

    from joulebench.commands.options import checkpoints_dir
    from joulebench.config.schema import ReductionSpec
    from joulebench.export import export_config
    from joulebench.tasks import resolve_data_dir

    base = _configs(config, None, None)[0]
    spec = ReductionSpec("structured_prune", (("mask", str(mask)),))
    from joulebench.reductions import validate_reduction

    validate_reduction(spec, "--mask")
    chosen = dataclasses.replace(base, reductions=(*base.reductions, spec))
    done = export_config(chosen, out, fmt, resolve_data_dir(data_dir), checkpoints_dir(cache_dir), force)
    print(f"exported {base.task}/{base.model} + structured_prune(mask={mask}) as {done.format} to {done.folder}")
