"""Command-line options shared by every command, declared once: where data and checkpoints live, and the runner
built from them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder holding glue/SST-2, glue/MRPC, squad/ (default: $JOULEBENCH_DATA, else "
                                    "./data or ../shared/data when they hold glue/, else the Hugging Face Hub)."),
]
CacheDir = Annotated[
    Path | None,
    typer.Option("--cache-dir", help="Cache folder; checkpoints go to CACHE/checkpoints (default: $JOULEBENCH_CACHE "
                                     "or ~/.cache/joulebench)."),
]


ExportFormat = Annotated[
    str,
    typer.Option("--format", help="auto (hf where it can hold the model, else onnx, else openvino, else "
                                  "joulebench), hf, onnx, openvino (an OpenVINO IR folder) or joulebench; each written "
                                  "folder is loaded back and checked."),
]
Force = Annotated[bool, typer.Option("--force", help="Replace an existing --out folder.")]


def out_option(help: str) -> Any:
    """The ``--out`` option, spelt once for every command; ``help`` says what the command writes there."""
    return typer.Option("--out", help=help)


#: ``--out`` of the commands that append records (run, sweep, search)
RecordsOut = Annotated[Path, out_option("Output directory; records go to OUT/results.jsonl.")]


def checkpoints_dir(cache_dir: Path | None) -> Path | None:
    """The ``checkpoints/`` folder under ``--cache-dir``, or None for the default cache."""
    return cache_dir / "checkpoints" if cache_dir else None


def checkpoint_cache(cache_dir: Path | None) -> Any:
    """The checkpoint cache under ``--cache-dir`` (its ``checkpoints/`` folder), or the default one."""
    from joulebench.models.checkpoints import CheckpointCache

    return CheckpointCache(checkpoints_dir(cache_dir))


def make_runner(data_dir: Path | None, cache_dir: Path | None, force: bool = False, bars: Any = None) -> Any:
    """The runner every command uses: the resolved data folder and the checkpoint cache."""
    from joulebench.runner import Runner, RunOptions
    from joulebench.tasks import resolve_data_dir

    return Runner(RunOptions(data_dir=resolve_data_dir(data_dir), cache=checkpoint_cache(cache_dir), progress=bars,
                             force=force))
