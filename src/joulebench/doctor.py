"""``joulebench doctor``: what this machine supports, what ``auto`` picks on it, and which energy
meter a run would use, each with the reason. The int8 and 16-bit choices come from the backend
probe (measured here once per machine fingerprint, a few seconds, then cached)."""

from __future__ import annotations


def doctor_lines(reprobe: bool = False) -> list[str]:
    """The report, one line per fact."""
    import torch

    from joulebench.env_info import cpu_features, cpu_model, torch_backends
    from joulebench.errors import UserError
    from joulebench.measure.energy import nvml, rapl
    from joulebench.reductions.backend_probe import HALF_CANDIDATES, INT8_CANDIDATES, probe_backends, probe_dir
    from joulebench.reductions.int8_backends import BACKENDS, missing_backend
    from joulebench.reductions.quantize import device_problem, eligible_int8, resolve_backend, resolve_half

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
    for where, eligible in (("as the last reduction", eligible_int8((), 0)),
                            ("with reductions after it", eligible_int8((), 1))):
        try:
            lines.append(f"int8 backend auto {where} -> {resolve_backend('auto', eligible).picked}")
        except UserError as exc:
            lines.append(f"int8 backend auto {where} -> none: {exc}")
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
