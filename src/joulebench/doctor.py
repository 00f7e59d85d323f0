"""``joulebench doctor``: what this machine supports, what ``auto`` picks on it, and which energy
meter a run would use, each with the reason. Nothing is measured: the lines say where a choice is
a fixed preference rather than a measurement made here."""

from __future__ import annotations


def doctor_lines() -> list[str]:
    """The report, one line per fact."""
    import torch

    from joulebench.env_info import cpu_features, cpu_model, torch_backends
    from joulebench.measure.energy import nvml, rapl
    from joulebench.reductions.int8_backends import AUTO_ORDER, BACKENDS, missing_backend
    from joulebench.reductions.quantize import device_problem, resolve_backend

    backends = torch_backends()
    lines = [f"cpu: {cpu_model()}; features: {', '.join(cpu_features()) or 'unknown'}",
             f"torch {torch.__version__}: CPU capability {backends['cpu_capability']}, oneDNN "
             f"{'yes' if backends['mkldnn'] else 'no'}, quantized engines {', '.join(backends['quantized_engines'])}"]
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    lines.append(f"gpu: {gpu or 'none visible to torch'}")
    for name in BACKENDS:
        why = missing_backend(name)
        lines.append(f"int8 backend {name}: {'available' if why is None else 'unavailable: ' + why}")
    try:
        auto = resolve_backend("auto")
        lines.append(f"int8 backend auto -> {auto} (a fixed preference, {', '.join(AUTO_ORDER)}, from "
                     "benchmarks/quant_backends.py on an AVX2 machine; not probed on this machine)")
    except Exception as exc:  # no backend at all is itself the answer
        lines.append(f"int8 backend auto -> none: {exc}")
    for dtype in ("bf16", "fp16"):
        problem = device_problem(dtype, "cpu")
        lines.append(f"{dtype} on cpu: {'runs (native kernels)' if problem is None else 'refused: ' + problem}")
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
