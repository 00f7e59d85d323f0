"""One short check of joulebench's GPU path, for a machine with a CUDA GPU (never CI).

Checks, each printed as PASS / FAIL / SKIP with its figures:
  1. the GPU as the record names it (name, driver, power limit) and what `auto` meter it gets;
  2. the NVML energy counter against NVML power sampled by joulebench's sampled meter, over the
     same busy window (the two should agree within 10%), and the idle power the sampler measured;
  3. CUDA timing: time_passes with torch.cuda.synchronize against CUDA events, and without the
     synchronisation (which must read far lower: the reason the runner synchronises);
  4. fp16 and bf16 on the packaged MiniLM against fp32: latency ratio and largest logit difference,
     and what `dtype: auto16` (the backend probe on CUDA) picks;
  5. 2:4 semi-structured sparsity: a 2:4-pruned fp16 Linear stack through sparse kernels against
     dense fp16, same outputs up to rounding;
  6. the GPU peak-memory method (PeakMemory on cuda) against torch.cuda.max_memory_allocated.

    python benchmarks/gpu_check.py --out benchmarks/results/gpu_check.txt

Exit status 0 when every check that ran passed, 1 when one failed, 3 without a CUDA device.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

RESULTS: list[dict] = []


def check(name: str, passed: bool | None, **figures: object) -> None:
    state = "SKIP" if passed is None else ("PASS" if passed else "FAIL")
    RESULTS.append({"check": name, "state": state, **figures})
    shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items())
    print(f"[{state}] {name}: {shown}", flush=True)


def busy(seconds: float, n: int = 4096) -> Callable[[], None]:
    a = torch.randn(n, n, device="cuda", dtype=torch.float16)

    def run() -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            for _ in range(8):
                a @ a
            torch.cuda.synchronize()
    return run


def check_environment() -> None:
    from joulebench.env_info import gpu_details
    from joulebench.measure.energy import nvml

    details = gpu_details()
    ok, why = nvml.probe("cuda")
    check("gpu named in records", bool(details and details.get("driver") and details.get("power_limit_w")),
          **(details or {}), nvml_meter=ok, nvml_note=why)


def check_nvml_vs_sampled() -> None:
    from joulebench.measure.energy.nvml import NvmlMeter
    from joulebench.measure.energy.sampled import NvmlPower, SampledMeter

    if not NvmlMeter.available("cuda"):
        check("nvml energy vs sampled power", None, reason="NVML energy counter unavailable")
        return
    counter, sampled = NvmlMeter("cuda"), SampledMeter(NvmlPower("cuda"))
    work = busy(5.0)
    work()  # warm: clocks up
    counter.begin_window("w")
    sampled.begin_window("w")
    work()
    by_sampling = sampled.end_window("w")
    by_counter = counter.end_window("w")
    ratio = by_sampling.energy_j / by_counter.energy_j
    trace = by_sampling.power
    check("nvml energy vs sampled power", abs(ratio - 1) <= 0.10, counter_j=by_counter.energy_j,
          sampled_gross_j=by_sampling.energy_j, ratio=ratio, idle_w=None if trace is None else trace.idle_w,
          net_j=None if trace is None else trace.net_j, samples=None if trace is None else len(trace.t_s))


def check_timing() -> None:
    from joulebench.measure.energy.estimate import EstimateMeter
    from joulebench.measure.timing import time_passes

    a = torch.randn(4096, 4096, device="cuda", dtype=torch.float16)
    calls = [lambda: a @ a] * 20
    meter = EstimateMeter(device="cuda")
    time_passes(calls, [1] * 20, passes=1, meter=meter, sync=torch.cuda.synchronize)  # warm
    synced = time_passes(calls, [1] * 20, passes=3, meter=meter, sync=torch.cuda.synchronize)
    unsynced = time_passes(calls, [1] * 20, passes=3, meter=meter, sync=None)
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(60):
        a @ a
    end.record()
    torch.cuda.synchronize()
    events_ms = start.elapsed_time(end) / 60
    synced_ms = sum(synced.samples_ms) / len(synced.samples_ms)
    unsynced_ms = sum(unsynced.samples_ms) / len(unsynced.samples_ms)
    check("cuda timing with synchronisation", abs(synced_ms / events_ms - 1) <= 0.25 and unsynced_ms < synced_ms,
          synced_ms=synced_ms, cuda_events_ms=events_ms, unsynced_ms=unsynced_ms)


def check_half_precision() -> None:
    from joulebench.models.loading import load_classifier
    from joulebench.reductions.quantize import resolve_half

    model = load_classifier("minilm-l6", 2).model.eval().cuda()
    ids = torch.randint(1000, 20000, (64, 48), device="cuda")
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "token_type_ids": torch.zeros_like(ids)}

    def timed(m: torch.nn.Module) -> tuple[float, torch.Tensor]:
        with torch.inference_mode():
            for _ in range(3):
                m(**batch)
            torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(20):
                out = m(**batch)
            torch.cuda.synchronize()
        logits = out if isinstance(out, torch.Tensor) else out.logits
        return (time.perf_counter() - start) / 20 * 1e3, logits.float()

    fp32_ms, reference = timed(model)
    for dtype, torch_dtype in (("fp16", torch.float16), ("bf16", torch.bfloat16)):
        ms, logits = timed(model.to(torch_dtype))
        diff = float((logits - reference).abs().max())
        check(f"{dtype} on cuda", ms < fp32_ms and diff < 0.1, fp32_ms=fp32_ms, ms=ms, ratio=ms / fp32_ms,
              max_logit_diff=diff)
        model.float()
    picked = resolve_half("cuda")
    check("dtype auto16 on cuda (backend probe)", True, picked=picked.picked, reason=picked.reason)


def check_two_four() -> None:
    from joulebench.reductions.lottery.sparse import SemiStructuredLinear, semi_structured_available, two_four_mask

    ok, why = semi_structured_available()
    if not ok:
        check("2:4 semi-structured sparsity", None, reason=why)
        return
    linear = torch.nn.Linear(4096, 4096).half().cuda()
    with torch.no_grad():
        linear.weight.mul_(two_four_mask(linear.weight).half())
    sparse = SemiStructuredLinear(linear)
    x = torch.randn(2048, 4096, device="cuda", dtype=torch.float16)

    def ms(f: Callable[[], torch.Tensor]) -> float:
        for _ in range(5):
            f()
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(50):
            f()
        torch.cuda.synchronize()
        return (time.perf_counter() - start) / 50 * 1e3

    with torch.inference_mode():
        diff = float((sparse(x) - linear(x)).abs().max())
        dense_ms, sparse_ms = ms(lambda: linear(x)), ms(lambda: sparse(x))
    check("2:4 semi-structured sparsity", diff < 0.5, dense_ms=dense_ms, sparse_ms=sparse_ms,
          speedup=dense_ms / sparse_ms, max_abs_diff=diff)


def check_peak_memory() -> None:
    from joulebench.measure.memory import PeakMemory

    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    with PeakMemory(device="cuda") as mem:
        x = torch.empty(256 * 2**20, dtype=torch.uint8, device="cuda")  # 256 MiB
        del x
    direct_mb = (torch.cuda.max_memory_allocated() - base) / 2**20
    check("gpu peak memory method", abs(mem.peak_mb - direct_mb) <= 0.05 * direct_mb + 8,
          peak_mb=mem.peak_mb, method=mem.method, direct_mb=direct_mb)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON lines here")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device visible to torch: nothing to check (this script is for a GPU machine)")
        return 3
    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name(0)}", flush=True)
    for step in (check_environment, check_nvml_vs_sampled, check_timing, check_half_precision, check_two_four,
                 check_peak_memory):
        try:
            step()
        except Exception as exc:  # one broken check must not hide the others' findings
            check(step.__name__, False, error=f"{type(exc).__name__}: {exc}")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("".join(json.dumps(r, default=str) + "\n" for r in RESULTS))
    return 1 if any(r["state"] == "FAIL" for r in RESULTS) else 0


if __name__ == "__main__":
    sys.exit(main())
