"""Do calibrated promises hold on the split they are reported on? Before and after, seed by seed.

Early exit and token pruning with ``max_drop`` 0.01 and 0.02 (Learn-then-Test, delta 0.1) on SST-2 and MRPC,
the packaged MiniLM fine-tuned on 2,000 training examples (1 epoch, at least 100 steps) per seed, each
configuration timed offline (batches of 64) in ABBA rounds against the dense model of its seed:

- before: ``calibration: heldout_train`` (1,000 training examples the fine-tuning did not see: the rule the
  issue measured; SST-2's training file is mostly short phrases, its dev set full sentences);
- after: ``calibration: auto`` (dev cross-fitted on two halves: each half's figure from the knob chosen on the
  other, delta / 2 per half).

For every seed it prints the realised drop on dev against the dense model of the same seed (paired, bootstrap
95% interval), whether the promise broke (the whole interval above max_drop), and the time ratio to dense; per
row, how many seeds broke it and the median time ratio. A promise may break at most delta of the time by
construction (plus dev's own noise, which the interval absorbs).

    python benchmarks/promises.py --out runs/promises                      # resumable: stored runs are skipped
    python benchmarks/promises.py --out runs/promises --seeds 0 1 --tasks sst2   # a smaller run
"""

from __future__ import annotations

import argparse
import datetime
import statistics
from pathlib import Path

import torch

from joulebench import promises
from joulebench.configuration import parse_config
from joulebench.env_info import cpu_model
from joulebench.models.checkpoints import CheckpointCache
from joulebench.results.store import ResultStore
from joulebench.runner import Runner, RunOptions, paired_baseline
from joulebench.tasks import resolve_data_dir

REDUCTIONS = {
    "early_exit": {"name": "early_exit", "exit_pooling": "mean", "exit_epochs": 0.5},
    "token_prune": {"name": "token_prune", "after_layers": [1, 2, 3]},
}
RULES = {"before": "heldout_train", "after": "auto"}


def configs(task: str, seed: int, train: int, drops: list[float],
            exit_pooling: str = "mean") -> list[tuple[str, float | None, str | None, object]]:
    base = {"task": task, "model": "minilm-l6", "max_seq_len": 64,
            "train": {"epochs": 1, "max_train_examples": train, "lr": 1.0e-4, "head_lr": 1.0e-4, "seed": seed},
            "measure": {"scenario": "offline", "batch_size": 64, "repeats": 3}}
    out: list[tuple[str, float | None, str | None, object]] = [("dense", None, None, parse_config(base)[0])]
    for name, params in REDUCTIONS.items():
        for drop in drops:
            for rule, calibration in RULES.items():
                reduction = {**params, "max_drop": drop, "calibration": calibration, "calibration_examples": 1000}
                if name == "early_exit":
                    reduction["exit_pooling"] = exit_pooling
                out.append((name, drop, rule, parse_config({**base, "reductions": [reduction]})[0]))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder of results.jsonl (resumable)")
    parser.add_argument("--tasks", nargs="+", default=["sst2", "mrpc"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--drops", nargs="+", type=float, default=[0.01, 0.02])
    parser.add_argument("--reductions", nargs="+", default=list(REDUCTIONS), choices=list(REDUCTIONS))
    parser.add_argument("--exit-pooling", default="mean", choices=["mean", "cls"],
                        help="what early exit's heads read: mean (the demo's) or cls (early_exit's default)")
    parser.add_argument("--train", type=int, default=2000, help="training examples per fine-tuning")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--cache-dir", type=Path, default=None, help="checkpoint cache (default: OUT/cache)")
    args = parser.parse_args()
    data = resolve_data_dir(args.data_dir)
    runner = Runner(RunOptions(data_dir=data, cache=CheckpointCache(args.cache_dir or args.out / "cache")))
    store = ResultStore.in_dir(args.out)
    plan = [(task, seed, item) for task in args.tasks for seed in args.seeds
            for item in configs(task, seed, args.train, args.drops, args.exit_pooling) if item[0] in args.reductions]
    plan.sort(key=lambda p: list(REDUCTIONS).index(p[2][0]))  # every early exit first, then token pruning
    for task, seed, (name, drop, rule, config) in plan:
        record = runner.run(config, store, baseline=paired_baseline(config)) or _stored(store, runner, config)
        print(f"{task} seed {seed} {name} max_drop {drop} {rule}: {_line(record)}", flush=True)
    rows: dict[tuple, list[dict]] = {}  # every record of the store, also those of earlier invocations
    for record in store.records():
        reductions = record.get("reductions") or []
        if len(reductions) != 1 or reductions[0]["name"] not in REDUCTIONS:
            continue
        params = reductions[0]["params"]
        rule = next((k for k, v in RULES.items() if v == params.get("calibration")), None)
        name = reductions[0]["name"] + (f" ({params.get('exit_pooling', 'cls')} exits)"
                                        if reductions[0]["name"] == "early_exit" else "")
        if rule is not None:
            rows.setdefault((record["task"], name, params.get("max_drop"), rule), []).append(record)
    print()
    print(f"machine: {cpu_model()}, {torch.get_num_threads()} threads; {datetime.datetime.now(datetime.UTC):%Y-%m-%d}")
    print(f"budget: minilm-l6 fine-tuned on {args.train} training examples per seed (1 epoch, >= 100 steps), "
          "max_seq_len 64; dev: SST-2 872 sentences, MRPC 408 pairs; offline, batch 64, 3 ABBA rounds")
    print("| task | reduction | max_drop | calibration | realised drop per seed, pt [95% CI] | broken | "
          "time vs dense (median over seeds) |")
    print("|---|---|---|---|---|---|---|")
    for (task, name, drop, rule), records in sorted(rows.items(), key=lambda kv: (
            kv[0][1], kv[0][0], kv[0][2], list(RULES).index(kv[0][3]))):
        records.sort(key=lambda r: r["config"]["train"]["seed"])
        found = [promises.promise_of(r) or {} for r in records]
        drops = ", ".join(_drop(p) for p in found)
        broken = sum(bool(p.get("broken")) for p in found)
        times = [p["time_ratio"] for p in found if p.get("time_ratio") is not None]
        time = f"{statistics.median(times):.2f}x" if times else "n/a"
        seeds = ",".join(str(r["config"]["train"]["seed"]) for r in records)
        print(f"| {task} | {name} | {drop} | {rule} ({RULES[rule]}) | seeds {seeds}: {drops} | "
              f"{broken} of {len(found)} | {time} |")
    return 0


def _stored(store: ResultStore, runner: Runner, config) -> dict:
    from joulebench.config import config_hash

    chash = config_hash(runner.bind(config))
    return next(r for r in store.records() if r.get("config_hash") == chash)


def _drop(promise: dict) -> str:
    if promise.get("realised_drop") is None:
        return "n/a"
    low, high = promise["ci95"]
    mark = " (broken)" if promise.get("broken") else ""
    return f"{100 * promise['realised_drop']:+.2f} [{100 * low:+.2f}, {100 * high:+.2f}]{mark}"


def _line(record: dict) -> str:
    promise = promises.promise_of(record) or {}
    time = promise.get("time_ratio")
    return f"drop {_drop(promise)} pt; time {'n/a' if time is None else f'{time:.2f}x'}"


if __name__ == "__main__":
    raise SystemExit(main())
