"""``joulebench ticket``: find, test, transfer and price lottery tickets (Chen et al. 2020).

Each command reads a study file (``configs/ticket*.yaml``: a ``base`` run config plus search,
baseline, MLM and transfer settings), writes masks to ``OUT/masks/`` and one record per trained
ticket to ``OUT/results.jsonl`` (the store every other command uses), and prints Markdown tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from joulebench.commands.options import CacheDir, DataDir, out_option

app = typer.Typer(no_args_is_help=True, help="Lottery tickets: IMP search, baselines, transfer, MLM tickets, price.")

StudyFile = Annotated[Path, typer.Argument(help="Ticket study YAML (configs/ticket*.yaml).")]
Out = Annotated[Path, out_option(help="Output directory: OUT/results.jsonl and OUT/masks/.")]
Force = Annotated[bool, typer.Option("--force", help="Re-run configurations already stored.")]


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _study(config: Path, out: Path, data_dir: Path | None, cache_dir: Path | None, force: bool, **override: object):
    import dataclasses

    from joulebench.commands.options import checkpoint_cache
    from joulebench.experiments.lottery.settings import load_study
    from joulebench.experiments.lottery.study import TicketStudy
    from joulebench.tasks import resolve_data_dir

    settings = load_study(config)
    if override.get("task"):
        settings = settings.with_task(str(override["task"]), config.parent)
    if override.get("text"):
        settings = dataclasses.replace(settings, mlm=dataclasses.replace(settings.mlm, text_file=str(override["text"])))
    cache = checkpoint_cache(cache_dir)
    return TicketStudy(settings, out, resolve_data_dir(data_dir), cache, say=_say, force=force)


@app.command()
def search(
    config: StudyFile,
    out: Out,
    task: Annotated[str | None, typer.Option("--task", help="Override base.task.")] = None,
    data_dir: DataDir = None,
    cache_dir: CacheDir = None,
    force: Force = False,
) -> None:
    """IMP (or one-shot) masks at every sparsity, with dense, random-pruning and random-reinit baselines."""
    study = _study(config, out, data_dir, cache_dir, force, task=task)
    study.search()
    print(study.tables())


@app.command()
def evaluate(
    config: StudyFile,
    out: Out,
    mask: Annotated[list[Path], typer.Option("--mask", help="Mask file (repeat for several).")],
    task: Annotated[list[str] | None, typer.Option("--task", help="Task to fine-tune on (repeatable).")] = None,
    init: Annotated[list[str] | None, typer.Option("--init", help="pretrained|rewind|random|finetuned.")] = None,
    execution: Annotated[str, typer.Option("--execution", help="dense or sparse_csr.")] = "dense",
    random_pruning: Annotated[
        bool, typer.Option("--random-pruning", help="Also a random mask with the same per-layer sparsity.")
    ] = False,
    data_dir: DataDir = None,
    cache_dir: CacheDir = None,
    force: Force = False,
) -> None:
    """Fine-tune saved masks (from any task or MLM) and record them next to the dense baseline."""
    study = _study(config, out, data_dir, cache_dir, force)
    tasks = list(task) if task else [study.s.base.task]
    study.evaluate(list(mask), tasks, list(init) if init else ["pretrained"], execution, random_pruning)
    for t in tasks:
        print(study.tables(t))


@app.command()
def transfer(config: StudyFile, out: Out, data_dir: DataDir = None, cache_dir: CacheDir = None,
             force: Force = False) -> None:
    """Masks found on each task (and optionally by MLM) fine-tuned on every task: the transfer matrix."""
    study = _study(config, out, data_dir, cache_dir, force)
    print(study.transfer())


@app.command()
def mlm(
    config: StudyFile,
    out: Out,
    text: Annotated[
        Path | None, typer.Option("--text", help="Unlabelled text, one example per line; default: the task's inputs.")
    ] = None,
    data_dir: DataDir = None,
    cache_dir: CacheDir = None,
    force: Force = False,
) -> None:
    """Task-agnostic tickets: IMP on masked-language modelling, then fine-tuned downstream."""
    study = _study(config, out, data_dir, cache_dir, force, text=text)
    study.mlm()
    for task in study.s.mlm.downstream or (study.s.base.task,):
        print(study.tables(task))


@app.command()
def table(
    out: Out,
    task: Annotated[list[str], typer.Option("--task", help="Task(s) to tabulate.")],
    transfer_sparsity: Annotated[
        float | None, typer.Option("--transfer-sparsity", help="Also the transfer matrix at this sparsity.")
    ] = None,
) -> None:
    """Print the accuracy-vs-sparsity, price (and transfer) tables from OUT/results.jsonl; runs nothing."""
    from joulebench.experiments.lottery import tables
    from joulebench.results.store import ResultStore

    records = ResultStore.in_dir(out).records()
    for t in task:
        print(tables.accuracy_table(records, t) + "\n\n" + tables.price_table(records, t) + "\n")
    if transfer_sparsity is not None:
        print(tables.transfer_matrix(records, list(task), transfer_sparsity))


@app.command("validate")
def validate(config: Annotated[list[Path], typer.Argument(help="Ticket study YAML files.")]) -> None:
    """Check ticket study files without running them."""
    from joulebench.experiments.lottery.settings import load_study

    for path in config:
        s = load_study(path)
        print(f"ok  {path}  {s.base.task}/{s.base.model} {s.search.method} "
              f"{', '.join(f'{x:.0%}' for x in s.search.levels())}")
