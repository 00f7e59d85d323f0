"""fp32 vs each available int8 backend (and bf16), side by side, on the packaged model.

Picks the default ("auto") int8 backend of the quantize reduction: run it on the machine you
measure on and read the ratios. Optional backends are skipped with the reason when absent
(torchao: ``pip install torchao``; onnxruntime: ``pip install onnx onnxruntime``).

    nice -n 10 python benchmarks/quant_backends.py --data-dir /work/shared/data

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
from joulebench.models.batching import collate, encode
from joulebench.models.loading import load_classifier
from joulebench.reductions.int8_backends import BACKENDS, missing_backend, quantize_int8
from joulebench.reductions.quantize import cpu_bf16_native


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


def median_ms(call: Callable[[], object], repeats: int, budget_s: float = 20.0) -> tuple[float, int]:
    """Median wall time of ``call`` in ms over ``repeats`` calls (after one warm-up call),
    stopping early, after at least 3 calls, once ``budget_s`` is spent (slow backends)."""
    call()
    samples: list[float] = []
    began = time.perf_counter()
    while len(samples) < repeats and (len(samples) < 3 or time.perf_counter() - began < budget_s):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples), len(samples)


def logits(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    out = model(**batch)
    return (out if isinstance(out, torch.Tensor) else out.logits).float()


def variants(base: nn.Module) -> dict[str, Callable[[], nn.Module] | str]:
    """name -> builder of the model to time, or the reason it is skipped."""
    out: dict[str, Callable[[], nn.Module] | str] = {"fp32": lambda: base}
    for backend in BACKENDS:
        reason = missing_backend(backend)
        out[f"int8 {backend}"] = reason or (lambda b=backend: quantize_int8(copy.deepcopy(base), b)[0])
    # Timed even though the quantize reduction refuses bf16 on CPUs without native support: this
    # is the measurement behind that refusal.
    out["bf16 cast"] = lambda: copy.deepcopy(base).to(torch.bfloat16)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="folder holding glue/SST-2 (else synthetic)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    threads = pin_threads(args.threads)
    loaded = load_classifier("minilm-l6", 2)
    base = loaded.model.eval()
    batch = sst2_batch(loaded.tokenizer, args.data_dir, args.batch, seed=0)
    real = batch["attention_mask"].sum(1).float()
    print(f"minilm-l6, batch {args.batch}, {threads} threads, torch {torch.__version__}, "
          f"tokens/example mean {real.mean():.1f} (padded width {batch['input_ids'].shape[1]}), "
          f"native CPU bf16: {cpu_bf16_native()}")
    rows = []
    with torch.inference_mode():
        reference = logits(base, batch)
        fp32_ms = None
        for name, build in variants(base).items():
            if isinstance(build, str):
                rows.append((name, None, None, None, f"skipped: {build}"))
                continue
            model = build()
            ms, calls = median_ms(lambda m=model: logits(m, batch), args.repeats)
            fp32_ms = ms if name == "fp32" else fp32_ms
            diff = float((logits(model, batch) - reference).abs().max())
            rows.append((name, ms, ms / fp32_ms, diff, f"{calls} timed calls"))
            print(f"  {name}: {ms:.1f} ms", flush=True)
    print("\n| variant | ms / batch (median) | vs fp32 | max abs logit diff | note |")
    print("|---|---|---|---|---|")
    for name, ms, ratio, diff, note in rows:
        if ms is None:
            print(f"| {name} | - | - | - | {note} |")
        else:
            print(f"| {name} | {ms:.1f} | {ratio:.2f}x | {diff:.4f} | {note} |")


if __name__ == "__main__":
    main()
