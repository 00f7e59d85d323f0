"""Each inference-time reduction vs the dense model, measured through the Runner, side by side.

Fine-tunes minilm-l6 on SST-2 once (a capped training set; the checkpoint is cached and reused
by every configuration), then runs each reduction exactly as a user's config would, offline
(batch 64) and online (batch 1) where relevant. Accuracy and what each reduction realised come
from the Runner's record. Latency and energy ratios are *paired*: right after the Runner's own
measurement, the reduced model and the dense model are timed alternately for ``--rounds``
rounds (same scenario, same threads) and the ratio is the median of the per-round ratios, so
drift in machine load hits both sides of each ratio alike.

    python benchmarks/reductions.py --data-dir ../shared/data

Energy uses the ``estimate`` meter (process CPU seconds x an assumed 15 W per busy core), so its
ratio is a CPU-time ratio, not a power measurement.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joulebench.config.loader import parse_config
from joulebench.measure import pin_threads
from joulebench.models.batching import encode
from joulebench.models.checkpoints import CheckpointCache
from joulebench.runner import MeasuredModel, Runner, RunOptions

TRAIN_EXAMPLES = 4000
#: Early-exit thresholds (entropy, nats) tried with exit heads reading the mean of the tokens.
THRESHOLDS = (0.1, 0.2, 0.35, 0.5)


@dataclass(frozen=True)
class Case:
    """One row: a label, its reductions and the scenario it is measured in."""

    label: str
    reductions: tuple[Any, ...]
    scenario: str


def cases() -> list[Case]:
    """Every reduction, in the scenario its target is about, plus combinations."""
    out = [Case("dense", (), "offline"), Case("dense", (), "online"), Case("int8", ("int8",), "offline")]
    out += [Case("layer_drop k=3", ({"name": "layer_drop", "keep_layers": 3},), "offline"),
            Case("layer_drop k=3 +retrain", ({"name": "layer_drop", "keep_layers": 3, "retrain": True},), "offline")]
    out += [Case("early_exit cls t=0.5", ({"name": "early_exit", "threshold": 0.5},), "online")]
    out += [Case(f"early_exit mean t={t}", ({"name": "early_exit", "threshold": t, "exit_pooling": "mean"},),
                 "online") for t in THRESHOLDS]
    out += [Case("token_prune 0.5", ({"name": "token_prune", "keep_ratio": 0.5},), scenario)
            for scenario in ("offline", "online")]
    out += [Case("token_prune 0.5 after L1", ({"name": "token_prune", "keep_ratio": 0.5, "after_layers": [1]},),
                 scenario) for scenario in ("offline", "online")]
    out += [Case(f"seq_len {n}", ({"name": "seq_len", "max_seq_len": n},), "offline") for n in (16, 32, 64)]
    out += [
        Case("layer_drop 4 +retrain + int8 + seq_len 64",
             ({"name": "layer_drop", "keep_layers": 4, "retrain": True}, "int8",
              {"name": "seq_len", "max_seq_len": 64}), "offline"),
        Case("token_prune 0.5 + int8", ({"name": "token_prune", "keep_ratio": 0.5}, "int8"), "offline"),
        Case("early_exit mean t=0.2 + int8",
             ({"name": "early_exit", "threshold": 0.2, "exit_pooling": "mean"}, "int8"), "online"),
    ]
    return out


def config_for(case: Case, args: argparse.Namespace) -> Any:
    """The RunConfig a user would write for ``case``."""
    data = {
        "task": "sst2", "model": "minilm-l6", "max_seq_len": 128, "name": case.label,
        "train": {"max_train_examples": args.train_examples, "epochs": 1.0, "seed": 0},
        "measure": {"scenario": case.scenario, "batch_size": 64, "threads": args.threads, "energy_meter": "estimate",
                    "warmup_calls": 2, "min_duration_s": args.min_duration_s, "max_duration_s": 30.0,
                    "online_examples": 200,
                    "eval_max_examples": args.eval_max_examples},
        "reductions": list(case.reductions),
    }
    (config,) = parse_config(data, f"benchmark[{case.label}]")
    return config


def realised(record: dict) -> str:
    """One phrase per reduction saying what it realised."""
    parts = []
    for entry in record["reductions"]:
        d = entry["details"]
        name = entry["name"]
        if name == "layer_drop":
            parts.append(f"{d['layers_kept']}/{d['layers_total']} layers" + (" retrained" if d["retrained"] else ""))
        elif name in ("int8", "quantize"):
            parts.append(f"{d['linear_layers_quantized']} Linear {d['dtype']} ({d['backend']})")
        elif name == "early_exit":
            hist = ", ".join(f"L{k}:{v:.0%}" for k, v in d.get("exit_layer_histogram", {}).items())
            parts.append(f"mean layers {d.get('mean_layers_computed')}/{d.get('layers_total')} [{hist}]")
        elif name == "token_prune":
            parts.append(f"tokens kept {d.get('tokens_kept_ratio')}, token-layers {d.get('token_layers_ratio')}")
        elif name == "seq_len":
            parts.append(f"max {d['max_seq_len']} tokens")
    return "; ".join(parts) or "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="folder holding glue/SST-2")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--min-duration-s", type=float, default=2.0, help="timed seconds per measurement (min)")
    parser.add_argument("--rounds", type=int, default=4, help="paired dense/reduced timing rounds per case")
    parser.add_argument("--train-examples", type=int, default=TRAIN_EXAMPLES, help="training-set cap")
    parser.add_argument("--eval-max-examples", type=int, default=None, help="dev-set cap (smoke runs only)")
    parser.add_argument("--records", type=Path, default=None, help="append every record here (JSONL) as it comes")
    args = parser.parse_args()
    pin_threads(args.threads)

    runner = Runner(RunOptions(data_dir=args.data_dir, cache=CheckpointCache(), force=True))
    dev = "all 872" if args.eval_max_examples is None else f"{args.eval_max_examples} of the 872"
    print(f"fine-tuning minilm-l6 on {args.train_examples} SST-2 training examples (1 epoch, cached), "
          f"evaluating on {dev} dev sentences; threads={args.threads}; energy method: estimate; "
          f"{args.rounds} paired rounds per case", flush=True)
    dense = {s: dense_reference(runner, config_for(Case("dense", (), s), args)) for s in ("offline", "online")}
    rows: list[Row] = []
    for case in cases():
        began = time.perf_counter()
        paired: list[tuple[float, float]] = []

        def time_side_by_side(measured: MeasuredModel, scenario: str = case.scenario,
                              paired: list = paired) -> None:
            def mine() -> dict:
                return runner.measure_cost(measured.model, measured.encoded, measured.config, measured.pad_id,
                                           measured.device, measured.threads)

            def ref() -> dict:
                return runner.measure_cost(*dense[scenario], measured.config, measured.pad_id,
                                           measured.device, measured.threads)

            for i in range(args.rounds):  # ABBA order: neither side always goes first
                if i % 2 == 0:
                    reduced = mine()
                    dense_cost = ref()
                else:
                    dense_cost = ref()
                    reduced = mine()
                paired.append((reduced["latency_ms_p50"] / dense_cost["latency_ms_p50"],
                               reduced["energy_j_per_example"] / dense_cost["energy_j_per_example"]))

        record = runner.run(config_for(case, args), on_model=time_side_by_side)
        save(args.records, record)
        rows.append(Row(case, record, statistics.median(p[0] for p in paired),
                        statistics.median(p[1] for p in paired), [p[0] for p in paired]))
        print(f"  {case.label} [{case.scenario}]: acc {record['quality']['accuracy']:.4f}, "
              f"p50 {record['cost']['latency_ms_p50']:.3f} ms/example, paired latency ratio {rows[-1].latency:.2f}x "
              f"({time.perf_counter() - began:.0f} s)", flush=True)
    report(rows)


@dataclass
class Row:
    case: Case
    record: dict
    latency: float  # median over rounds of reduced / dense p50 latency
    energy: float  # the same for energy per example
    latency_rounds: list[float]


def dense_reference(runner: Runner, config: Any) -> tuple[Any, list]:
    """The dense fine-tuned model and its encoded dev set: the other side of every paired ratio."""
    (model, tokenizer, task), _ = runner.fine_tuned(config, "cpu")
    examples = task.load("validation", runner.options.data_dir, config.measure.eval_max_examples, 0)
    return model.eval(), encode(tokenizer, examples, config.max_seq_len)


def save(path: Path | None, record: dict) -> None:
    """Append ``record`` to ``path`` (JSONL), so a long run's results survive an interruption."""
    if path is not None:
        with path.open("a") as fh:
            fh.write(json.dumps(record, default=str) + "\n")


def report(rows: list[Row]) -> None:
    """Print the table and the targets."""
    dense_acc = {r.case.scenario: r.record["quality"]["accuracy"] for r in rows if r.case.label == "dense"}
    print("\n| reduction | scenario | accuracy | Δ acc (points) | p50 ms/example | latency ratio (paired) | "
          "energy ratio (paired, estimate) | realised |")
    print("|---|---|---|---|---|---|---|---|")
    table = {}
    for row in rows:
        acc = row.record["quality"]["accuracy"]
        delta = 100 * (acc - dense_acc[row.case.scenario])
        table[(row.case.label, row.case.scenario)] = (delta, row.latency)
        spread = f" ({min(row.latency_rounds):.2f}-{max(row.latency_rounds):.2f})"
        print(f"| {row.case.label} | {row.case.scenario} | {acc:.4f} | {delta:+.2f} | "
              f"{row.record['cost']['latency_ms_p50']:.2f} | {row.latency:.2f}x{spread} | {row.energy:.2f}x | "
              f"{realised(row.record)} |")
    print("\nTargets:")
    for line in targets(table):
        print(f"- {line}")


def targets(rows: dict[tuple[str, str], tuple[float, float]]) -> list[str]:
    """The issue's targets, each with MET or MISSED and the numbers behind it."""

    def verdict(ok: bool) -> str:
        return "MET" if ok else "MISSED"

    out = []
    d, r = rows[("int8", "offline")]
    out.append(f"int8 offline <= 0.80x latency with <= 1 point loss: {r:.2f}x, {d:+.2f} pts -> "
               f"{verdict(r <= 0.8 and d >= -1)}")
    d, r = rows[("layer_drop k=3", "offline")]
    retrained = rows[("layer_drop k=3 +retrain", "offline")]
    out.append(f"half the layers ~0.55x or better: {r:.2f}x without retraining ({d:+.2f} pts), "
               f"{retrained[1]:.2f}x retrained ({retrained[0]:+.2f} pts) -> "
               f"{verdict(max(r, retrained[1]) <= 0.55 * 1.05)}")
    ok_exits = [(rows[(f"early_exit mean t={t}", "online")], t) for t in THRESHOLDS
                if rows[(f"early_exit mean t={t}", "online")][0] >= -1]
    if ok_exits:
        (d, r), t = min(ok_exits, key=lambda x: x[0][1])
        out.append(f"early exit losing <= 1 point >= 1.3x faster at batch 1: best t={t}: {1 / r:.2f}x faster, "
                   f"{d:+.2f} pts -> {verdict(1 / r >= 1.3)}")
    else:
        out.append("early exit losing <= 1 point >= 1.3x faster at batch 1: no threshold lost <= 1 point -> MISSED")
    for label in ("token_prune 0.5", "token_prune 0.5 after L1"):
        for scenario in ("offline", "online"):
            d, r = rows[(label, scenario)]
            out.append(f"token pruning keeping half the tokens >= 1.4x faster ({label}, {scenario}): "
                       f"{1 / r:.2f}x faster, {d:+.2f} pts -> {verdict(1 / r >= 1.4)}")
    d, r = rows[("seq_len 32", "offline")]
    out.append(f"32 tokens vs 128 visibly cheaper (< 0.95x): {r:.2f}x, {d:+.2f} pts -> {verdict(r < 0.95)}")
    return out


if __name__ == "__main__":
    main()
