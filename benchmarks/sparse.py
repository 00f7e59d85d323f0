"""Dense vs sparse execution of a lottery ticket, side by side, on the packaged MiniLM.

    nice -n 10 python benchmarks/sparse.py --data-dir /work/shared/data [--masks runs/tickets/masks]

For each sparsity (default 50/70/90%) the same masked model runs three ways: the dense model
(no mask), the dense model with the mask applied (zeros multiplied by dense kernels: what a
ticket costs as usually deployed), and the pruned Linears swapped for CSR matmuls
(``torch.sparse``). Calls alternate between the variants within each repeat, so a change in
machine load hits all of them alike. Ratios are CSR / dense-masked latency per example.

Masks: the IMP tickets of ``joulebench ticket search`` when ``--masks`` holds
``sst2-imp-seed0-s<NN>.safetensors``, else one-shot global magnitude masks of the pre-trained
weights (wall-clock depends on how many weights are zero and where, not on their values, so a
one-shot mask prices the kernels the same way; the report says which was used).

2:4 semi-structured sparsity runs only with CUDA; otherwise it is skipped with the reason.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
from pathlib import Path

import torch

from joulebench.measure import make_energy_meter, pin_threads
from joulebench.measure.timing import time_passes, warm_up
from joulebench.models.batching import eval_batches
from joulebench.reductions.lottery import (
    TicketMask,
    apply_mask,
    global_magnitude_mask,
    linear_flops_per_token,
    load_mask,
    prunable_weights,
    storage_bytes,
    to_sparse_csr,
)
from joulebench.reductions.lottery.sparse import semi_structured_available, to_semi_structured_24


def _inputs(tokenizer, data_dir: Path | None, n: int, max_seq_len: int) -> tuple[list, str]:
    from joulebench.models.batching import Encoded, encode
    from joulebench.tasks import get_task, resolve_data_dir

    root = resolve_data_dir(data_dir)
    if root is not None:
        return encode(tokenizer, get_task("sst2").load("validation", root, n, 0), max_seq_len), "SST-2 dev"
    gen = torch.Generator().manual_seed(0)  # offline without data: random 30-token sentences
    ids = [[101, *torch.randint(1000, 29000, (28,), generator=gen).tolist(), 102] for _ in range(n)]
    return [Encoded(i, [0] * len(i), 0) for i in ids], "random tokens (no --data-dir)"


def _time(model, batches, meter, passes: int) -> tuple[list[float], float | None, str]:
    calls = [lambda b=b: model(**b.inputs) for b in batches]
    sizes = [b.size for b in batches]
    with torch.inference_mode():
        warm_up(calls, 1)
        t = time_passes(calls, sizes, passes=passes, meter=meter)
    energy = None if t.energy.energy_j is None else t.energy.energy_j / t.n_examples
    return t.per_example_ms(), energy, t.energy.method


def _mask(model, sparsity: float, masks_dir: Path | None, targets: str) -> tuple[TicketMask, str]:
    if masks_dir is not None:
        path = masks_dir / f"sst2-imp-seed0-s{round(sparsity * 100):g}.safetensors"
        if path.is_file():
            return load_mask(path), f"IMP ticket {path.name}"
    weights = {k: w.detach() for k, w in prunable_weights(model, targets).items()}
    mask = TicketMask(global_magnitude_mask(weights, sparsity), targets=targets)
    return mask, f"one-shot magnitude of the pre-trained weights ({targets})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--masks", type=Path, default=None, help="folder with sst2-imp-seed0-s<NN>.safetensors")
    parser.add_argument("--sparsities", type=float, nargs="+", default=[0.5, 0.7, 0.9])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--targets", default="encoder", help="one-shot masks: encoder or encoder+pooler")
    parser.add_argument("--examples", type=int, default=128, help="offline examples (batches of 64)")
    parser.add_argument("--online-examples", type=int, default=24, help="batch-size-1 requests")
    parser.add_argument("--repeats", type=int, default=3, help="alternating rounds per variant")
    parser.add_argument("--passes", type=int, default=2, help="whole passes over the batches per variant and round")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    args = parser.parse_args(argv)

    from joulebench.models.loading import load_classifier

    threads = pin_threads(args.threads)
    loaded = load_classifier("minilm-l6", 2, seed=0)
    dense_model, tokenizer = loaded.model.eval(), loaded.tokenizer
    encoded, source = _inputs(tokenizer, args.data_dir, args.examples, 64)
    scenarios = {"offline b64": eval_batches(encoded, 64, tokenizer.pad_token_id),
                 "online b1": eval_batches(encoded[: args.online_examples], 1, tokenizer.pad_token_id)}
    meter = make_energy_meter("auto", device="cpu")
    print(f"# dense vs sparse execution: minilm-l6, {threads} thread(s), inputs: {source}, "
          f"torch {torch.__version__}, energy: {type(meter).__name__}", flush=True)
    rows = []
    for sparsity in args.sparsities:
        mask, mask_source = _mask(dense_model, sparsity, args.masks, args.targets)
        masked = apply_mask(copy.deepcopy(dense_model), mask)
        csr = copy.deepcopy(masked)
        to_sparse_csr(csr, mask)
        probe = scenarios["offline b64"][0].inputs
        with torch.inference_mode():
            diff = float((masked(**probe).logits - csr(**probe).logits).abs().max())
        flops = linear_flops_per_token(mask, dense_model)
        sizes = storage_bytes(mask, dense_model)
        for scenario, batches in scenarios.items():
            samples: dict[str, list[float]] = {"dense": [], "masked": [], "csr": []}
            energy: dict[str, list[float]] = {"dense": [], "masked": [], "csr": []}
            method = ""
            for _ in range(args.repeats):  # alternate, so load drift hits every variant alike
                for name, model in (("dense", dense_model), ("masked", masked), ("csr", csr)):
                    per_ex, joules, method = _time(model, batches, meter, args.passes)
                    samples[name].extend(per_ex)
                    if joules is not None:
                        energy[name].append(joules)
            med = {k: statistics.median(v) for k, v in samples.items()}
            rows.append({
                "sparsity": sparsity, "scenario": scenario, "mask": mask_source,
                "ms_per_example": med, "energy_j_per_example": {k: statistics.median(v) if v else None
                                                                for k, v in energy.items()},
                "energy_method": method, "csr_over_masked": med["csr"] / med["masked"],
                "masked_over_dense": med["masked"] / med["dense"], "max_abs_logit_diff": diff,
                "nonzero_flop_ratio": flops["flops_per_token_pruned_linears_nonzero"]
                / flops["flops_per_token_pruned_linears_dense"],
                "mb_dense": sizes["model_bytes_dense"] / 1e6, "mb_csr": sizes["model_bytes_csr"] / 1e6,
                "mb_bitmask": sizes["model_bytes_bitmask"] / 1e6,
            })
            print(f"  {sparsity:.0%} {scenario}: dense {med['dense']:.3f} masked {med['masked']:.3f} "
                  f"csr {med['csr']:.3f} ms/ex", flush=True)

    print("\n| sparsity | scenario | dense ms/ex | dense+mask ms/ex | CSR ms/ex | CSR / dense+mask | "
          "J/ex dense+mask | J/ex CSR | nonzero FLOPs | MB dense → CSR | max abs Δlogit |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ms, ej = r["ms_per_example"], r["energy_j_per_example"]
        fmt = (lambda x: "n/a" if x is None else f"{x:.3g}")  # noqa: E731
        print(f"| {r['sparsity']:.0%} | {r['scenario']} | {ms['dense']:.3f} | {ms['masked']:.3f} | {ms['csr']:.3f} | "
              f"{r['csr_over_masked']:.2f}× | {fmt(ej['masked'])} | {fmt(ej['csr'])} | "
              f"{r['nonzero_flop_ratio']:.0%} | {r['mb_dense']:.1f} → {r['mb_csr']:.1f} | "
              f"{r['max_abs_logit_diff']:.1e} |")
    print(f"\nmasks: {rows[0]['mask'] if rows else '-'}; energy method: {rows[0]['energy_method'] if rows else '-'}")
    for r in rows:
        ratio = r["csr_over_masked"]
        verdict = ("CSR pays" if ratio < 0.95 else "CSR does not pay" if ratio > 1.05 else "no clear difference")
        print(f"- {r['sparsity']:.0%} {r['scenario']}: {verdict} (CSR {ratio:.2f}× the dense-kernel time; "
              f"the mask alone: {r['masked_over_dense']:.2f}× dense; nonzero FLOPs {r['nonzero_flop_ratio']:.0%})")
    ok, why = semi_structured_available()
    if ok:
        half = dense_model.to("cuda", torch.float16)
        semi = copy.deepcopy(half)
        info = to_semi_structured_24(semi)
        batch = {k: v.to("cuda") for k, v in scenarios["offline b64"][0].inputs.items()}
        sync = torch.cuda.synchronize
        with torch.inference_mode():
            warm_up([lambda: half(**batch), lambda: semi(**batch)], 6, sync)
            t_dense = time_passes([lambda: half(**batch)], [64], passes=20,
                                  meter=make_energy_meter("auto", device="cuda"), sync=sync)
            t_semi = time_passes([lambda: semi(**batch)], [64], passes=20,
                                 meter=make_energy_meter("auto", device="cuda"), sync=sync)
        d, s = statistics.median(t_dense.per_example_ms()), statistics.median(t_semi.per_example_ms())
        print(f"- 2:4 semi-structured (CUDA fp16, {info['semi_structured_layers']} layers, {info['note']}): "
              f"dense {d:.4f} vs 2:4 {s:.4f} ms/ex ({s / d:.2f}×)")
        rows.append({"semi_structured_24": {"dense_ms": d, "semi_ms": s}})
    else:
        print(f"- 2:4 semi-structured: skipped ({why})")
    if args.json is not None:
        args.json.write_text(json.dumps({"threads": threads, "inputs": source, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
