"""Structured pruning: does latency fall with the FLOPs removed?

The packaged all-MiniLM-L6-v2 classifier, dense and compacted with 30 %, 50 % and 70 % of its
attention heads and FFN units removed (magnitude importance, global ranking after per-layer
normalisation; weights physically removed), side by side in one run on real SST-2 dev sentences:
offline (length-bucketed batches of 64) and online (batch size 1). Models are interleaved over
several rounds so drift in machine load hits all alike. Ratios use the fastest round of each
model (on a shared machine the minimum is the least disturbed estimate, as ``timeit`` does);
medians and process CPU time are printed beside them.

FLOPs are counted by PyTorch's FLOP counter (matmuls, incl. attention). "Proportional" means the
latency removed is at least 80 % of the FLOPs removed: ``1 - t/t0 >= 0.8 * (1 - F/F0)``.

    nice -n 10 python benchmarks/structured.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from joulebench.measure import forward_flops, pin_threads
from joulebench.models.batching import encode, eval_batches
from joulebench.models.loading import load_classifier
from joulebench.reductions.structured import StructureMask, compact, current_mask, magnitude_importance
from joulebench.reductions.structured.layers import geometry, param_count
from joulebench.reductions.structured.search import prune_step
from joulebench.tasks import get_task, resolve_data_dir


def pruned_model(fraction: float):
    """minilm-l6 with ``fraction`` of all heads and of all FFN units removed."""
    model = load_classifier("minilm-l6", 2, seed=0).model.eval()
    if fraction == 0:
        return model
    geo = geometry(model)
    full = StructureMask.full(geo)
    n_heads = round(fraction * geo.num_layers * geo.num_heads)
    n_units = round(fraction * geo.num_layers * geo.intermediate_size)
    mask = prune_step(full, magnitude_importance(model), n_heads, n_units, "neuron")
    return compact(model, mask)


def time_pass(model: torch.nn.Module, batches: list) -> tuple[float, float]:
    """Wall time and process CPU time (all threads) of one pass over ``batches``, ms per example."""
    n = sum(b.size for b in batches)
    start, cpu = time.perf_counter(), time.process_time()
    for b in batches:
        model(**b.inputs)
    return (time.perf_counter() - start) * 1e3 / n, (time.process_time() - cpu) * 1e3 / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--fractions", default="0.3,0.5,0.7")
    parser.add_argument("--offline-examples", type=int, default=128, help="dev sentences per offline pass")
    parser.add_argument("--online-examples", type=int, default=32, help="single-sentence calls per online pass")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--max-seq-len", type=int, default=64)
    args = parser.parse_args()

    threads = pin_threads(args.threads)
    task = get_task("sst2")
    fractions = [0.0] + [float(f) for f in args.fractions.split(",")]
    models = {f: pruned_model(f) for f in fractions}
    tokenizer = load_classifier("minilm-l6", 2).tokenizer
    examples = task.load("validation", resolve_data_dir(args.data_dir), args.offline_examples, 0)
    encoded = encode(tokenizer, examples, args.max_seq_len)
    offline = eval_batches(encoded, 64, tokenizer.pad_token_id)
    online = eval_batches(encoded[: args.online_examples], 1, tokenizer.pad_token_id)
    mean_tokens = statistics.fmean(len(e.input_ids) for e in encoded)
    print(f"threads={threads} offline: {len(encoded)} SST-2 dev sentences, batch 64 | online: "
          f"{len(online)} calls, batch 1 | mean {mean_tokens:.1f} tokens/sentence | rounds={args.rounds}")

    flops = {f: sum(forward_flops(m, b.inputs) for b in offline) / len(encoded) for f, m in models.items()}
    times: dict[str, dict[float, list[tuple[float, float]]]] = {"offline": {f: [] for f in fractions},
                                                                "online": {f: [] for f in fractions}}
    with torch.inference_mode():
        for m in models.values():  # warm-up
            time_pass(m, offline[:1])
            time_pass(m, online[:4])
        for r in range(args.rounds):
            order = fractions[r % len(fractions):] + fractions[: r % len(fractions)]
            for f in order:
                times["offline"][f].append(time_pass(models[f], offline))
                times["online"][f].append(time_pass(models[f], online))

    best = {s: {f: min(w for w, _ in v) for f, v in d.items()} for s, d in times.items()}
    med = {s: {f: statistics.median(w for w, _ in v) for f, v in d.items()} for s, d in times.items()}
    cpu = {s: {f: min(c for _, c in v) for f, v in d.items()} for s, d in times.items()}
    header = ("| removed | heads kept | FFN units kept | params (M) | MFLOPs/ex | FLOPs ratio | scenario "
              "| ms/example (min) | latency ratio | latency removed / FLOPs removed | proportional? "
              "| ms/example (median) | median ratio | CPU ms/example (min) | CPU-time ratio |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    dense_params = param_count(models[0.0])
    for f in fractions:
        mask = current_mask(models[f])
        fr = flops[f] / flops[0.0]
        for scenario in ("offline", "online"):
            lr = best[scenario][f] / best[scenario][0.0]
            share = (1 - lr) / (1 - fr) if f else float("nan")
            verdict = "–" if not f else ("yes" if 1 - lr >= 0.8 * (1 - fr) else "no")
            print(f"| {f:.0%} | {mask.n_heads_kept}/{mask.heads.numel()} | {mask.n_ffn_kept}/{mask.ffn.numel()} "
                  f"| {param_count(models[f]) / 1e6:.2f} | {flops[f] / 1e6:.0f} | {fr:.3f} | {scenario} "
                  f"| {best[scenario][f]:.3f} | {lr:.3f} | {share:.2f} | {verdict} "
                  f"| {med[scenario][f]:.3f} | {med[scenario][f] / med[scenario][0.0]:.3f} "
                  f"| {cpu[scenario][f]:.3f} | {cpu[scenario][f] / cpu[scenario][0.0]:.3f} |")
    for scenario in ("offline", "online"):
        walls = [w for w, _ in times[scenario][0.0]]
        print(f"dense {scenario}: wall time max/min over rounds {max(walls) / min(walls):.2f}")
    print(f"dense params {dense_params / 1e6:.2f} M")


if __name__ == "__main__":
    main()
