"""The study at full scale (issue #34): full SST-2, MRPC and SQuAD v1.1, seeds 0-2, every reduction; resumable.

Three phases, each safe to interrupt and re-run (it resumes where it stopped):

  python benchmarks/study.py train [--threads 1]   # every fine-tuning and re-training, into the checkpoint cache;
                                                   # no timing, so it may run beside other work (niced)
  python benchmarks/study.py measure               # every configuration, timed in ABBA rounds with its dense
                                                   # seed (needs a quiet machine), into runs/study/results.jsonl
  python benchmarks/study.py keep                  # the compact copy of the records (after an interrupted measure)
  python benchmarks/study.py page                  # docs/results/study.md from the kept records

``--smallest`` runs the study's smallest configuration end to end (what CI runs): MRPC seed 0, 64 training pairs,
dense and int8, 32 dev pairs, into a temporary folder, then the page from those records.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # study_page beside it
SPECS = [ROOT / "configs" / "study" / f"{task}.yaml" for task in ("sst2", "mrpc", "squad")]
OUT = ROOT / "runs" / "study"
#: the kept records, compact (per-call samples and window lists dropped): what the page is rebuilt from
KEPT = ROOT / "benchmarks" / "results" / "study_records.jsonl"
PAGE = ROOT / "docs" / "results" / "study.md"
FIGURES = ROOT / "docs" / "results" / "study"
REBUILD = "python benchmarks/study.py page"
#: what each record keeps of its cost section's per-call detail: nothing (the summaries stay)
DROPPED_COST_KEYS = ("latency_samples_ms", "windows", "power")
SMALLEST = {"task": "mrpc", "model": "minilm-l6", "max_seq_len": 64,
            "train": {"epochs": 1, "max_train_examples": 64, "batch_size": 16, "min_steps": 0, "seed": 0},
            "measure": {"scenario": "offline", "batch_size": 16, "repeats": 2, "eval_max_examples": 32,
                        "warmup_calls": 1}}

log = logging.getLogger("study")


def study_configs(specs: list[Path]) -> list:
    """The study's configurations, in the order they are worth having: dense models of every task and seed
    first, then reductions by seed (seed 0 of every task before seed 1), SQuAD's long trainings last."""
    from joulebench.experiments.sweep.expand import load_sweep

    configs = [c for spec in specs for c in load_sweep(spec)]

    def order(c) -> tuple:
        return (c.task == "squad", bool(c.reductions) or c.regime != "full", c.train.seed, c.task)

    return sorted(configs, key=order)


def train(configs: list, threads: int) -> None:
    """Every training behind ``configs`` (base fine-tuning, reductions' re-trainings), cached; nothing timed."""
    import torch

    from joulebench.runner import Runner, RunOptions
    from joulebench.tasks import resolve_data_dir

    torch.set_num_threads(threads)
    runner = Runner(RunOptions(data_dir=resolve_data_dir(None)))
    seen: set[str] = set()
    for i, config in enumerate(configs, 1):
        key = runner.train_key(config) + repr(config.reductions)
        if key in seen:  # online and offline share their trainings
            continue
        seen.add(key)
        started = time.time()
        runner.built(config, "cpu")
        print(f"[{i}/{len(configs)}] trained {config.task} seed {config.train.seed} {config.regime} "
              f"{[r.name for r in config.reductions]} in {time.time() - started:.0f} s", flush=True)


def compact(record: dict) -> dict:
    """``record`` without its per-call samples, windows and power traces (the summaries stay)."""
    cost = {k: v for k, v in (record.get("cost") or {}).items() if k not in DROPPED_COST_KEYS}
    vs = cost.get("vs_baseline")
    if isinstance(vs, dict):
        cost["vs_baseline"] = {k: v for k, v in vs.items() if k not in ("baseline_windows",)}
    quality = {k: v for k, v in (record.get("quality") or {}).items() if k != "slices"}
    return {**record, "cost": cost, "quality": quality}


def measure(specs: list[Path], out: Path, kept: Path) -> None:
    """Every configuration of ``specs`` not yet measured, paired with its seed's dense model, into ``out``; then
    the compact copy of every record (``kept``), rewritten atomically."""
    from joulebench.experiments.sweep.driver import run_sweep

    for spec in specs:
        run_sweep(spec, out, keep_going=True, where=spec.name)
        keep(out, kept)


def keep(out: Path, kept: Path) -> None:
    from joulebench.results.store import ResultStore

    records = ResultStore.in_dir(out).records()
    tmp = kept.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(compact(r), sort_keys=True) + "\n" for r in records))
    os.replace(tmp, kept)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("phase", choices=("train", "measure", "keep", "page"))
    parser.add_argument("--smallest", action="store_true",
                        help="the study's smallest configuration end to end in a temporary folder (what CI runs)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads for the train phase")
    parser.add_argument("--task", action="append", help="only these tasks (sst2, mrpc, squad)")
    parser.add_argument("--seed", type=int, action="append",
                        help="train phase: only these seeds (to finish one seed's trainings first)")
    args = parser.parse_args(argv)
    specs = [s for s in SPECS if not args.task or s.stem in args.task]
    logging.basicConfig(level=logging.WARNING)
    if args.smallest:
        return smallest(args.phase)
    if args.phase == "train":
        train([c for c in study_configs(specs) if not args.seed or c.train.seed in args.seed], args.threads)
    elif args.phase == "measure":
        measure(specs, OUT, KEPT)
    elif args.phase == "keep":  # the compact copy of what an interrupted measure phase wrote
        keep(OUT, KEPT)
    else:
        from study_page import write_page

        write_page(KEPT, PAGE, FIGURES, SPECS, REBUILD)
    return 0


def smallest(phase: str) -> int:
    """The smallest configuration of the study through every phase: MRPC seed 0 on 64 training pairs, dense and
    int8 (OpenVINO), 32 dev pairs, in a temporary folder; the page built from those records."""
    import tempfile

    import yaml
    from study_page import write_page

    with tempfile.TemporaryDirectory(prefix="joulebench-study-") as tmp:
        spec = Path(tmp) / "mrpc.yaml"
        spec.write_text(yaml.safe_dump({**SMALLEST, "name": "study-smallest",
                                        "grid": [{"reductions": [[], ["int8"]], "engine": ["torch", "openvino"]}]}))
        train(study_configs([spec]), 2)
        measure([spec], Path(tmp) / "runs", Path(tmp) / "kept.jsonl")
        page = Path(tmp) / "study.md"
        write_page(Path(tmp) / "kept.jsonl", page, Path(tmp) / "figures", [spec], "python benchmarks/study.py page")
        first = page.read_bytes()
        write_page(Path(tmp) / "kept.jsonl", page, Path(tmp) / "figures", [spec], "python benchmarks/study.py page")
        if page.read_bytes() != first:
            import difflib

            diff = difflib.unified_diff(first.decode().splitlines(), page.read_text().splitlines(), lineterm="", n=0)
            print("the page is not rebuilt byte for byte from its records:\n" + "\n".join(list(diff)[:20]),
                  file=sys.stderr)
            return 1
        print(page.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
