"""Harness overhead: joulebench's offline measurement vs a plain hand-written loop.

Same model (the packaged all-MiniLM-L6-v2), same length-bucketed batches of real SST-2 dev
sentences, same threads. The two are interleaved over several rounds so drift in machine load
hits both alike; the ratio of median throughputs is printed. Goal: harness / plain >= 0.95.

    python benchmarks/harness_overhead.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from joulebench.configuration import parse_config
from joulebench.measure import pin_threads
from joulebench.models.batching import encode, eval_batches
from joulebench.models.loading import load_classifier
from joulebench.runner import Runner
from joulebench.tasks import get_task, resolve_data_dir


def plain_loop_eps(model: torch.nn.Module, batches: list, passes: int) -> float:
    """What a user would write by hand: time whole passes over the batches."""
    n = sum(b.size for b in batches) * passes
    with torch.inference_mode():
        for b in batches[:3]:
            model(**b.inputs)
        start = time.perf_counter()
        for _ in range(passes):
            for b in batches:
                _ = model(**b.inputs).logits
        return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    threads = pin_threads(args.threads)
    task = get_task("sst2")
    loaded = load_classifier("minilm-l6", task.num_labels)
    model = loaded.model.eval()
    examples = task.load("validation", resolve_data_dir(args.data_dir))
    encoded = encode(loaded.tokenizer, examples, 64)
    (config,) = parse_config({
        "task": "sst2", "max_seq_len": 64,
        "measure": {"batch_size": 64, "warmup_calls": 3, "repeats": 1, "passes": 1, "threads": threads},
    })
    batches = eval_batches(encoded, 64, loaded.tokenizer.pad_token_id)
    runner = Runner()
    harness, plain = [], []
    for r in range(args.rounds):
        cost = runner.measure_cost(model, encoded, config, loaded.tokenizer.pad_token_id, "cpu", threads)
        harness.append(cost["throughput_eps"])
        plain.append(plain_loop_eps(model, batches, passes=1))
        print(f"round {r + 1}: harness {harness[-1]:8.1f} ex/s   plain loop {plain[-1]:8.1f} ex/s")
    h, p = statistics.median(harness), statistics.median(plain)
    ratio = h / p
    print(f"\nmedian throughput over {args.rounds} rounds, {len(examples)} SST-2 dev sentences, "
          f"batch 64, {threads} threads, {torch.__version__}")
    print(f"  harness {h:.1f} ex/s | plain loop {p:.1f} ex/s | ratio {ratio:.3f} (goal >= 0.95: "
          f"{'met' if ratio >= 0.95 else 'NOT met'})")


if __name__ == "__main__":
    main()
