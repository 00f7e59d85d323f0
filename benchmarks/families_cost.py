"""Cost at real size without weights: BERT-base and DistilBERT shapes, side by side in one run.

Builds the full-size architectures from the configs shipped with joulebench (random weights: only
cost is meaningful) and times, interleaved round by round on the same inputs, fp32 dense, int8
(torch_ao dynamic), bf16 (only where the CPU has native BF16), layer drop 6 of 12 and sequence
length 64 instead of 128. Prints each configuration's median latency per batch with its spread over
rounds and its ratio to dense BERT-base fp32, and the DistilBERT/BERT-base ratio beside the
DistilBERT paper's (Sanh et al. 2019 report 0.61 of BERT-base's CPU inference time).

    .venv/bin/python benchmarks/families_cost.py [--rounds 7] [--batch 8]
"""

from __future__ import annotations

import argparse
import copy
import platform
import statistics
import time

import torch

from joulebench.env_info import environment
from joulebench.models.loading import load_classifier
from joulebench.reductions.int8_backends import quantize_int8
from joulebench.reductions.layer_drop import keep_bottom_layers


def _bf16_native() -> bool:
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    bert = load_classifier("random:bert-base-uncased", 2).model.eval()
    distil = load_classifier("random:distilbert-base-uncased", 2).model.eval()
    ids = torch.randint(1000, 30000, (args.batch, 128))
    ids[:, 0] = 101
    full = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    short = {"input_ids": ids[:, :64], "attention_mask": torch.ones_like(ids[:, :64])}
    configs: dict[str, tuple[torch.nn.Module, dict, torch.dtype | None]] = {
        "bert-base fp32 (128 tokens)": (bert, full, None),
        "bert-base int8 torch_ao": (quantize_int8(copy.deepcopy(bert), "torch_ao")[0], full, None),
        "bert-base layer drop 6 of 12": (_dropped(bert, 6), full, None),
        "bert-base seq_len 64": (bert, short, None),
        "distilbert fp32 (128 tokens)": (distil, full, None),
        "distilbert int8 torch_ao": (quantize_int8(copy.deepcopy(distil), "torch_ao")[0], full, None),
    }
    if _bf16_native():
        configs["bert-base bf16 autocast"] = (bert, full, torch.bfloat16)
        configs["distilbert bf16 autocast"] = (distil, full, torch.bfloat16)
    times: dict[str, list[float]] = {name: [] for name in configs}
    with torch.inference_mode():
        for model, inputs, dtype in configs.values():  # warm-up, not timed
            _call(model, inputs, dtype)
        for r in range(args.rounds):  # interleaved; the order alternates every round (ABBA)
            order = list(configs) if r % 2 == 0 else list(reversed(configs))
            for name in order:
                model, inputs, dtype = configs[name]
                start = time.perf_counter()
                _call(model, inputs, dtype)
                times[name].append(time.perf_counter() - start)
    env = environment(args.threads, "cpu")
    print(f"machine: {env.get('cpu') or platform.processor()}; features {','.join(env.get('cpu_features') or [])}; "
          f"threads {args.threads}; torch {torch.__version__}; joulebench {env.get('git_rev')}; {env.get('time_utc')}")
    print(f"workload: batch {args.batch} x 128 random tokens (seq_len row: first 64), random weights "
          f"(cost only), {args.rounds} interleaved rounds, medians")
    base = statistics.median(times["bert-base fp32 (128 tokens)"])
    print(f"{'configuration':<32} {'median ms':>10} {'min..max ms':>18} {'vs bert-base fp32':>18}")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"{name:<32} {med * 1e3:>10.1f} {min(values) * 1e3:>8.1f}..{max(values) * 1e3:<8.1f} "
              f"{med / base:>17.3f}x")
    ratios = sorted(d / b for d, b in zip(times["distilbert fp32 (128 tokens)"], times["bert-base fp32 (128 tokens)"],
                                          strict=True))
    print(f"DistilBERT / BERT-base fp32 time: {statistics.median(ratios):.3f} (per-round range "
          f"{ratios[0]:.3f}..{ratios[-1]:.3f}); DistilBERT paper (Sanh et al. 2019, CPU): 0.61")


def _dropped(model: torch.nn.Module, keep: int) -> torch.nn.Module:
    dropped = copy.deepcopy(model)
    keep_bottom_layers(dropped, keep)
    return dropped


def _call(model: torch.nn.Module, inputs: dict, dtype: torch.dtype | None) -> None:
    if dtype is None:
        model(**inputs)
        return
    with torch.autocast("cpu", dtype=dtype):
        model(**inputs)


if __name__ == "__main__":
    main()
