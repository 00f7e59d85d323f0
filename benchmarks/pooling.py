"""What the classification head reads: [CLS] through the pooler vs the mean of the tokens.

all-MiniLM-L6-v2 was trained as a mean-pooled sentence encoder; BERT's standard head reads the
pooler's [CLS] output, which this model never trained. This runs the rows where that matters most,
the frozen regime (only the head trains) and small training budgets, once with
``classifier_pooling: cls`` and once with ``mean`` (what ``auto`` picks for this model, from its
sentence-transformers pooling config), every other setting equal, through the Runner, and prints
dev accuracy with the paired difference mean - cls (bootstrap 95% interval over the 872 dev
sentences; it covers the dev sampling, not seed variation, so two seeds are shown where the
budget is small).

    python benchmarks/pooling.py --data-dir ../shared/data --out runs/bench_pooling

Re-running resumes (records already in OUT are kept; fine-tuned checkpoints are cached). Costs are
measured like any run (the head's pooling changes no layer), but this benchmark is about accuracy.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from joulebench.analysis.aggregate import aggregate
from joulebench.analysis.paired import paired_difference
from joulebench.config.schema import config_hash
from joulebench.configuration import parse_config
from joulebench.env_info import cpu_features, cpu_model
from joulebench.measure import pin_threads
from joulebench.models.checkpoints import CheckpointCache
from joulebench.report.format import diff_text
from joulebench.results.store import ResultStore
from joulebench.runner import Runner, RunOptions

POOLINGS = ("cls", "mean")


@dataclass(frozen=True)
class Row:
    """A training setting run with both poolings."""

    label: str
    regime: str
    train: dict


def rows() -> list[Row]:
    """Frozen on the whole training set (the README baseline's settings), then small full budgets."""
    out = [Row("frozen, whole train set (67,349), lr 2e-3", "frozen",
               {"epochs": 1, "batch_size": 32, "lr": 2.0e-3, "warmup_ratio": 0.06, "seed": 0})]
    for n in (500, 1000):
        for seed in (0, 1):
            out.append(Row(f"full, {n} sentences, default lr, seeds 0 and 1", "full",
                           {"epochs": 1, "batch_size": 32, "max_train_examples": n, "seed": seed}))
    out.append(Row("full, 4,000 sentences, lr 1e-4 (the demo's budget), seed 0", "full",
                   {"epochs": 1, "batch_size": 32, "max_train_examples": 4000, "lr": 1.0e-4, "seed": 0}))
    return out


def config_for(row: Row, pooling: str, args: argparse.Namespace):
    data = {
        "task": "sst2", "model": "minilm-l6", "regime": row.regime, "classifier_pooling": pooling,
        "max_seq_len": 64, "name": f"{row.label} [{pooling}]", "train": row.train,
        "measure": {"scenario": "offline", "batch_size": 64, "threads": args.threads, "energy_meter": "estimate",
                    "repeats": 3, "eval_max_examples": args.eval_max_examples},
    }
    (config,) = parse_config(data, f"benchmark[{row.label}]")
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="folder holding glue/SST-2")
    parser.add_argument("--out", type=Path, default=Path("runs/bench_pooling"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--eval-max-examples", type=int, default=None, help="dev-set cap (smoke runs only)")
    parser.add_argument("--only-small", action="store_true", help="skip the whole-train-set frozen row")
    args = parser.parse_args()
    pin_threads(args.threads)
    runner = Runner(RunOptions(data_dir=args.data_dir, cache=CheckpointCache()))
    store = ResultStore.in_dir(args.out)
    print(f"machine: {cpu_model()} ({', '.join(cpu_features()) or 'no listed features'}); threads={args.threads}")
    chosen = [r for r in rows() if not (args.only_small and r.regime == "frozen")]
    for row in chosen:
        for pooling in POOLINGS:
            record = runner.run(config_for(row, pooling, args), store)
            state = "measured" if record is not None else "already in the store"
            print(f"  {row.label} [{pooling}]: {state}", flush=True)
    points = {r["config_hash"]: p for p in aggregate(store.records()) for r in p.records}
    print("\n| training | steps | accuracy, cls | accuracy, mean | Δ mean − cls (paired 95% CI) |")
    print("|---|---|---|---|---|")
    printed = set()
    for row in chosen:
        if row.label in printed:  # the seeds of one budget are one point (accuracy averaged over seeds)
            continue
        printed.add(row.label)
        cls, mean = (points.get(config_hash(config_for(row, p, args))) for p in POOLINGS)
        if cls is None or mean is None:
            continue
        steps = mean.records[0]["train"].get("steps")
        seeds = "" if len(mean.seeds) < 2 else f" (per seed: cls {_per_seed(cls)}, mean {_per_seed(mean)})"
        print(f"| {row.label}{seeds} | {steps} | {cls.mean('accuracy'):.4f} | {mean.mean('accuracy'):.4f} | "
              f"{diff_text(paired_difference(mean, cls))} |")


def _per_seed(point) -> str:
    return " / ".join(f"{r['quality']['accuracy']:.3f}" for r in point.records)


if __name__ == "__main__":
    main()
