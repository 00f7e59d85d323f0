"""torch and ONNX Runtime side by side: fp32, every int8 backend, bf16 and fp16, on the packaged model.

Shows the candidates that ``quantize``'s ``backend: auto`` and ``dtype: auto16`` choose from, on
the real model, next to what the backend probe (a small MiniLM-shaped model, cached per machine)
picked on this machine, so a disagreement is visible. Every variant is timed in interleaved rounds
(one call each per round, order rotating), and its ratio to torch fp32 is formed per round and
summarised as the median with a 95% interval. Optional backends are skipped with the reason when
absent (torchao: ``pip install torchao``).

    nice -n 10 python benchmarks/quant_backends.py --data-dir ../shared/data

Inputs are a batch of SST-2 dev sentences (``--data-dir``) or, without data, random token ids
with SST-2-like lengths (8-45 tokens, median ~23).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from joulebench.measure import pin_threads
from joulebench.measure.protocol import median_interval
from joulebench.models.batching import collate, encode
from joulebench.models.loading import load_classifier
from joulebench.reductions.int8_backends import BACKENDS, missing_backend, onnxruntime_model, quantize_int8
from joulebench.reductions.quantize import cpu_bf16_native, eligible_int8, resolve_backend, resolve_half


def sst2_batch(tokenizer: object, data_dir: Path | None, batch: int, seed: int) -> dict[str, torch.Tensor]:
    """``batch`` SST-2 dev sentences, or random ids with SST-2-like lengths without data."""
    if data_dir is not None:
        from joulebench.tasks import get_task

        examples = get_task("sst2").load("validation", data_dir, batch, seed)
        return collate(encode(tokenizer, examples, 128), tokenizer.pad_token_id)
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.randint(8, 46, (batch,), generator=gen).tolist()
    ids = torch.zeros(batch, max(lengths), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, n in enumerate(lengths):
        ids[row, :n] = torch.randint(1000, 29000, (n,), generator=gen)
        ids[row, 0], ids[row, n - 1] = 101, 102
        mask[row, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1e3


def logits(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    out = model(**batch)
    return (out if isinstance(out, torch.Tensor) else out.logits).float()


def variants(base: nn.Module) -> dict[str, Callable[[], nn.Module] | str]:
    """name -> builder of the model to time, or the reason it is skipped."""
    ort = missing_backend("onnxruntime")
    out: dict[str, Callable[[], nn.Module] | str] = {
        "fp32 torch": lambda: base,
        "fp32 onnxruntime": ort or (lambda: onnxruntime_model(copy.deepcopy(base), int8=False)[0]),
    }
    for backend in BACKENDS:
        reason = missing_backend(backend)
        out[f"int8 {backend}"] = reason or (lambda b=backend: quantize_int8(copy.deepcopy(base), b)[0])
    # Timed even where the quantize reduction refuses them (no native bf16, no fp16 kernels): this
    # is the measurement behind those refusals.
    out["bf16 torch"] = lambda: copy.deepcopy(base).to(torch.bfloat16)
    out["fp16 torch"] = lambda: copy.deepcopy(base).to(torch.float16)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="folder holding glue/SST-2 (else synthetic)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--slow-factor", type=float, default=20.0,
                        help="a variant whose first call takes this many times fp32's is timed 3 times only")
    args = parser.parse_args()

    threads = pin_threads(args.threads)
    loaded = load_classifier("minilm-l6", 2)
    base = loaded.model.eval()
    batch = sst2_batch(loaded.tokenizer, args.data_dir, args.batch, seed=0)
    real = batch["attention_mask"].sum(1).float()
    print(f"minilm-l6 (packaged), batch {args.batch}, {threads} threads, torch {torch.__version__}, "
          f"tokens/example mean {real.mean():.1f} (padded width {batch['input_ids'].shape[1]}), "
          f"native CPU bf16: {cpu_bf16_native()}")
    skipped: dict[str, str] = {}
    calls: dict[str, Callable[[], torch.Tensor]] = {}
    with torch.inference_mode():
        reference = logits(base, batch)
        for name, build in variants(base).items():
            if isinstance(build, str):
                skipped[name] = build
                continue
            model = build()
            calls[name] = lambda m=model: logits(m, batch)
            calls[name]()  # warm-up
        first = {name: timed(call) for name, call in calls.items()}
        slow = {n for n, ms in first.items() if ms > args.slow_factor * first["fp32 torch"]}
        samples = {name: [] for name in calls}
        ratios = {name: [] for name in calls}
        names = list(calls)
        for r in range(args.rounds):
            order = names[r % len(names):] + names[: r % len(names)]
            this_round = {}
            for name in order:
                if name in slow and len(samples[name]) >= 3:
                    continue
                this_round[name] = timed(calls[name])
                samples[name].append(this_round[name])
            for name, ms in this_round.items():
                ratios[name].append(ms / this_round["fp32 torch"])
        diffs = {name: float((call() - reference).abs().max()) for name, call in calls.items()}
    print("\n| variant | ms / batch (median) | vs torch fp32 (per-round ratio, 95% CI) | max abs logit diff | calls |")
    print("|---|---|---|---|---|")
    for name in variants(base):
        if name in skipped:
            print(f"| {name} | - | - | - | skipped: {skipped[name]} |")
            continue
        med, lo, hi = median_interval(ratios[name], log=True)
        print(f"| {name} | {statistics.median(samples[name]):.1f} | {med:.2f}x [{lo:.2f}, {hi:.2f}] | "
              f"{diffs[name]:.4f} | {len(samples[name])} |")
    int8 = {n.split()[1]: statistics.median(ratios[n]) for n in calls if n.startswith("int8")}
    half = {n.split()[0]: statistics.median(ratios[n]) for n in ("bf16 torch", "fp16 torch") if n in calls}
    fastest_int8 = min(int8, key=int8.__getitem__)
    fastest_half = min(half, key=half.__getitem__)
    auto_int8 = resolve_backend("auto", eligible_int8((), 0))
    print(f"\nfastest int8 here: {fastest_int8}; backend auto (as the last reduction) picks {auto_int8.picked}: "
          f"{'agrees' if auto_int8.picked == fastest_int8 else 'DISAGREES'} ({auto_int8.reason})")
    try:
        auto_half = resolve_half("cpu").picked
    except Exception as exc:  # refused: say why
        auto_half = f"refused ({exc})"
    print(f"fastest 16-bit here: {fastest_half} ({half[fastest_half]:.2f}x); dtype auto16 picks {auto_half}")


if __name__ == "__main__":
    main()
