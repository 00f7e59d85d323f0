"""`export` and `predict`: the chosen record as a deployable folder, and that folder run on new inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from joulebench.commands.options import CacheDir, DataDir, ExportFormat, Force, out_option
from joulebench.display import ProgressBars
from joulebench.results.store import results_path


def export(
    results: Annotated[Path, typer.Argument(help="results.jsonl of a run, sweep or search (or its folder).")],
    out: Annotated[Path, out_option(help="Folder to write (refused if it exists and is not empty).")],
    pick: Annotated[str | None, typer.Option("--pick", help="'within 1 pt': the cheapest configuration (energy per "
                                             "example) non-inferior within 1 point of its baseline; add "
                                             "'(point estimate)' for that rule.")] = None,
    config_hash: Annotated[str | None, typer.Option("--config-hash", help="Export this record instead.")] = None,
    fmt: ExportFormat = "auto",
    force: Force = False,
    data_dir: DataDir = None,
    cache_dir: CacheDir = None,
) -> None:
    """Write the chosen configuration as a deployable folder with MODEL_CARD.md and joulebench.json."""
    from joulebench.analysis.load import load_records
    from joulebench.commands.options import checkpoints_dir
    from joulebench.export import export_record, select_record
    from joulebench.tasks import resolve_data_dir

    record = select_record(results, pick, config_hash)
    path = results_path(results)
    wanted = ((record.get("cost") or {}).get("vs_baseline") or {}).get("baseline_config_hash")
    baseline = next((r for r in load_records(path) if wanted and r.get("config_hash") == wanted), None)
    done = export_record(record, out, fmt, resolve_data_dir(data_dir), checkpoints_dir(cache_dir), force, baseline)
    print(f"exported {record.get('config_hash')} ({record.get('name') or record.get('task')}) as {done.format} "
          f"to {done.folder}")
    for name, why in done.refused.items():
        print(f"  not as {name}: {why}")


def predict(
    folder: Annotated[Path, typer.Argument(help="A folder written by joulebench export.")],
    input_file: Annotated[Path, typer.Option("--input", help="JSON Lines or CSV with the task's text columns.")],
    out: Annotated[Path | None, out_option(help="Predictions, one JSON object per line "
                                             "(default: printed).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Run an exported folder on new inputs (batched, with a progress bar on long files)."""
    import json

    from joulebench.export.predict import predict_file

    with ProgressBars() as bars:
        rows = predict_file(folder, input_file, out, progress=lambda done, total: bars("predict", done, total),
                            data_dir=data_dir)
    if out is None:
        for row in rows:
            print(json.dumps(row))
    else:
        print(f"{len(rows)} predictions: {out}")
