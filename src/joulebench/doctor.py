"""``joulebench doctor``: what this machine supports, what ``auto`` picks on it, and which energy
meter a run would use, each with the reason. The int8 and 16-bit choices come from the backend
probe (measured here once per machine fingerprint, a few seconds, then cached)."""

from __future__ import annotations

#: The precisions ``doctor --engines`` times on every engine
ENGINE_PRECISIONS = ("fp32", "bf16", "int8")


def engine_lines(data_dir: object = None) -> list[str]:
    """Every engine x precision measured on the packaged MiniLM (a fresh random head) over 64 SST-2-length inputs
    built from the tokenizer's vocabulary: median seconds per batch, ratio to torch fp32, and agreement of its
    predictions with torch fp32's (equal accuracy needs a fine-tuned model: a run's ``engine: auto`` checks it on
    training inputs)."""
    import torch

    from joulebench.engines import ENGINES, EngineContext
    from joulebench.measure import make_energy_meter
    from joulebench.models.loading import load_classifier
    from joulebench.on_engine import compare_engines

    loaded = load_classifier("minilm-l6", num_labels=2)
    model, tokenizer = loaded.model.eval(), loaded.tokenizer
    words = ["the film", "is", "a quiet", "triumph", "of", "tedious", "and", "moving", "acting", "plot"]
    generator = torch.Generator().manual_seed(0)
    texts = [" ".join(words[int(i)] for i in torch.randint(0, len(words), (int(n),), generator=generator))
             for n in torch.randint(4, 20, (64,), generator=generator)]
    batch = dict(tokenizer(texts, padding=True, truncation=True, max_length=64, return_tensors="pt"))
    batch.setdefault("token_type_ids", torch.zeros_like(batch["input_ids"]))
    halves = [{k: v[:32] for k, v in batch.items()}, {k: v[32:] for k, v in batch.items()}]
    ctx = EngineContext(device="cpu", threads=torch.get_num_threads(), example=batch, calibration=lambda: halves,
                        calibration_note="64 made-up sentences")
    rows = compare_engines(model, ctx, [(e, p) for e in ENGINES.names() for p in ENGINE_PRECISIONS],
                           lambda: make_energy_meter("estimate", device="cpu"))
    base = next(r["median_s"] for r in rows if (r["engine"], r["precision"]) == ("torch", "fp32"))
    lines = []
    for r in sorted(rows, key=lambda r: r.get("median_s", float("inf"))):
        if "skipped" in r:
            lines.append(f"engine {r['engine']} {r['precision']}: not run: {r['skipped']}")
            continue
        lines.append(f"engine {r['engine']} {r['precision']} (ran {r['precision_ran']}): {r['median_s'] * 1e3:.1f} ms "
                     f"per batch of 64, {r['median_s'] / base:.2f}x torch fp32, agreement {r['agreement']:.2f}, "
                     f"one-off {r['one_off_s']:.1f} s")
    fastest = min((r for r in rows if "median_s" in r and r["agreement"] >= 0.99), key=lambda r: r["median_s"])
    lines.append(f"fastest here at equal predictions: {fastest['engine']} {fastest['precision']}")
    return lines


def doctor_lines(reprobe: bool = False) -> list[str]:
    """The report, one line per fact."""
    import torch

    from joulebench.engines import ENGINES
    from joulebench.env_info import cpu_features, cpu_model, torch_backends
    from joulebench.errors import UserError
    from joulebench.measure.energy import nvml, rapl
    from joulebench.reductions.backend_probe import HALF_CANDIDATES, INT8_CANDIDATES, probe_backends, probe_dir
    from joulebench.reductions.int8_backends import BACKENDS, missing_backend
    from joulebench.reductions.quantize import device_problem, resolve_backend, resolve_half

    backends = torch_backends()
    lines = [f"cpu: {cpu_model()}; features: {', '.join(cpu_features()) or 'unknown'}",
             f"torch {torch.__version__}: CPU capability {backends['cpu_capability']}, oneDNN "
             f"{'yes' if backends['mkldnn'] else 'no'}, quantized engines {', '.join(backends['quantized_engines'])}"]
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    lines.append(f"gpu: {gpu or 'none visible to torch'}")
    for name in BACKENDS:
        why = missing_backend(name)
        lines.append(f"int8 backend {name}: {'available' if why is None else 'unavailable: ' + why}")
    cached = not reprobe and any(probe_dir().glob("*.json"))
    probe = probe_backends(torch.get_num_threads(), "cpu", force=reprobe)
    lines.append(f"backend probe ({'cached' if cached else 'measured now'}, {probe.measured_utc}, machine "
                 f"{probe.key}, {torch.get_num_threads()} threads): fp32 {probe.median_ms['fp32']:.1f} ms/batch; "
                 f"{probe.summary(INT8_CANDIDATES + HALF_CANDIDATES)} of fp32")
    lines.append(f"int8 backend auto (engine torch) -> {resolve_backend('auto').picked}")
    for name in ENGINES.names():
        engine = ENGINES.get(name)
        why = engine.missing()
        if why is not None:
            lines.append(f"engine {name}: unavailable: {why}")
            continue
        runs = [p for p in engine.precisions if engine.precision_problem(p, "cpu") is None]
        lines.append(f"engine {name} {engine.version()}: precisions here {', '.join(runs)}"
                     + ("" if engine.dynamic else "; fixed graph (no early exit or token pruning)"))
    for dtype in ("bf16", "fp16"):
        problem = device_problem(dtype, "cpu")
        lines.append(f"{dtype} on cpu: {'runs (native kernels)' if problem is None else 'refused: ' + problem}")
    try:
        lines.append(f"dtype auto16 on cpu -> {resolve_half('cpu').picked}")
    except UserError as exc:
        lines.append(f"dtype auto16 on cpu -> refused: {exc}")
    ok_rapl, why_rapl = rapl.probe()
    ok_nvml, why_nvml = nvml.probe("cuda") if gpu else (False, "no CUDA device")
    if ok_nvml:
        meter = "nvml (GPU runs)"
    elif ok_rapl:
        meter = "rapl"
    else:
        meter = "estimate (CPU time x watts per core: an estimate, not a measurement)"
    lines += [f"energy: rapl {'yes' if ok_rapl else 'no'} ({why_rapl}); nvml {'yes' if ok_nvml else 'no'} ({why_nvml})",
              f"energy meter auto -> {meter}; sampled power (energy_meter: sampled) "
              f"{'available' if ok_rapl or ok_nvml else 'unavailable (needs RAPL or NVML)'}"]
    return lines
