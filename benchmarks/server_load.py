"""Latency against load (the server scenario) for the demo's checkpoint: dense, int8, 16-bit, layer drop.

Every configuration is the demo's fine-tuned MiniLM (the same cached checkpoint `joulebench demo`
trains), reduced as the demo reduces it. Requests (SST-2 dev sentences drawn once) arrive by the
same Poisson schedule for every configuration at each offered rate and are served with dynamic
batching; latency includes queueing. Configurations are interleaved at each rate and the order
rotates between repeats, so drift in machine load falls on all of them alike. Then each one's
highest rate holding the p99 bound is searched (doubling, then bisection). Prints a table and
writes the plot the README shows.

    nice -n 10 python benchmarks/server_load.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
from pathlib import Path

from joulebench.env_info import cpu_features, cpu_model
from joulebench.measure import make_energy_meter, pin_threads
from joulebench.measure.server import find_max_rate, load_summary
from joulebench.models.checkpoints import CheckpointCache
from joulebench.runner import MeasuredModel, Runner, RunOptions, server_settings, server_workload

CASES = {
    "dense": [],
    "int8 (auto)": [{"name": "int8"}],
    "16-bit (auto16)": [{"name": "quantize", "dtype": "auto16"}],
    "layer_drop 4 (retrained)": [{"name": "layer_drop", "keep_layers": 4, "retrain": True}],
}


def demo_base():
    """The demo's dense offline configuration (its checkpoint identity)."""
    from joulebench.demo import demo_configs

    configs, _ = demo_configs()
    return next(c for c in configs if not c.reductions and c.measure.scenario == "offline")


def models(args: argparse.Namespace) -> dict[str, tuple[MeasuredModel, dict]]:
    """label -> (the reduced model as the runner builds it, its record), each run once with a small
    server window (its record gives the accuracy on the whole dev set and the reductions realised)."""
    from joulebench.config.schema import ReductionSpec

    base = demo_base()
    measure = dataclasses.replace(base.measure, scenario="server", repeats=1, server_requests=50, server_qps=20.0,
                                  server_max_batch=args.max_batch, server_max_wait_ms=args.max_wait_ms,
                                  latency_bound_ms=args.bound_ms, energy_meter=args.energy_meter)
    runner = Runner(RunOptions(data_dir=args.data_dir, cache=CheckpointCache()))
    out = {}
    for label, reductions in CASES.items():
        specs = tuple(ReductionSpec(r["name"], tuple(sorted((k, v) for k, v in r.items() if k != "name")))
                      for r in reductions)
        config = dataclasses.replace(base, measure=measure, reductions=specs, name=label)
        captured: list[MeasuredModel] = []
        record = runner.run(config, on_model=captured.append)
        backends = [r["details"].get("backend") or r["details"].get("dtype") for r in record["reductions"]
                    if r["name"] in ("int8", "quantize")]
        label = label.replace("(auto)", f"(auto -> {backends[0]})").replace("(auto16)", f"(auto16 -> {backends[0]})") \
            if backends else label
        out[label] = (captured[0], record)
        print(f"  built {label}: accuracy {record['quality']['accuracy']:.4f}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="folder holding glue/SST-2")
    parser.add_argument("--rates", type=float, nargs="+", default=[25, 50, 100, 150, 200, 300, 400, 600])
    parser.add_argument("--requests", type=int, default=300, help="requests per window")
    parser.add_argument("--repeats", type=int, default=2, help="windows per configuration and rate")
    parser.add_argument("--max-batch", type=int, default=16)
    parser.add_argument("--max-wait-ms", type=float, default=5.0)
    parser.add_argument("--bound-ms", type=float, default=50.0, help="p99 latency bound")
    parser.add_argument("--energy-meter", default="auto")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--plot", type=Path, default=Path("docs/server_latency_vs_load.png"))
    parser.add_argument("--replot", type=Path, default=None,
                        help="only redraw the plot from this script's printed output (no measurement)")
    args = parser.parse_args()
    if args.replot is not None:
        plot(args, table_results(args.replot.read_text()), {})
        return
    threads = pin_threads(args.threads)
    print(f"machine: {cpu_model()} ({', '.join(cpu_features()) or 'no listed features'}); threads={threads}")
    print(f"server scenario: {args.requests} SST-2 dev requests per window, Poisson arrivals (seed 0), dynamic "
          f"batching <= {args.max_batch}, max wait {args.max_wait_ms:g} ms, p99 bound {args.bound_ms:g} ms, "
          f"{args.repeats} windows per configuration and rate, configurations interleaved", flush=True)
    built = models(args)
    meter = make_energy_meter(args.energy_meter, device="cpu")
    labels = list(built)
    results: dict[str, dict[float, list[dict]]] = {label: {rate: [] for rate in args.rates} for label in labels}

    def window(label: str, qps: float):
        measured = built[label][0]
        m = dataclasses.replace(measured.config.measure, server_requests=args.requests)
        work = server_workload(measured.model, measured.encoded, m, measured.pad_id, "cpu", qps)
        return work.window(1, meter, None), m

    for label in labels:  # warm every model up once
        window(label, max(args.rates))
    for repeat in range(args.repeats):
        for rate in args.rates:
            order = labels[repeat % len(labels):] + labels[: repeat % len(labels)]
            for label in order:
                timed, m = window(label, rate)
                results[label][rate].append(load_summary(timed, server_settings(m, rate), args.bound_ms))
        print(f"  repeat {repeat + 1}/{args.repeats} done", flush=True)
    max_rates = {}
    for label in labels:
        measured = built[label][0]
        m = dataclasses.replace(measured.config.measure, server_requests=args.requests)
        max_rates[label] = find_max_rate(lambda q, lab=label: window(lab, q)[0], server_settings(m, args.rates[0]),
                                         args.bound_ms)
    report(args, built, results, max_rates, meter)


def _median(windows: list[dict], key: str) -> float | None:
    values = [w[key] for w in windows if w[key] is not None]
    return statistics.median(values) if values else None


def report(args, built, results, max_rates, meter) -> None:
    method = getattr(meter, "method", "?")
    print(f"\nenergy method: {method} (energy per query over the whole window, idle gaps included)")
    print("\n| configuration | accuracy | offered qps | achieved qps | p50 ms | p99 ms | p99 <= bound | mean batch "
          "| mJ/query |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, by_rate in results.items():
        accuracy = built[label][1]["quality"]["accuracy"]
        for rate, windows in by_rate.items():
            p99 = _median(windows, "latency_ms_p99")
            energy = _median(windows, "energy_j_per_query")
            held = sum(w["bound_held"] for w in windows)
            print(f"| {label} | {accuracy:.4f} | {rate:g} | {_median(windows, 'qps_achieved'):.1f} | "
                  f"{_median(windows, 'latency_ms_p50'):.1f} | {p99:.1f} | {held}/{len(windows)} | "
                  f"{_median(windows, 'mean_batch'):.2f} | {'-' if energy is None else f'{energy * 1e3:.1f}'} |")
    print(f"\n| configuration | highest rate holding p99 <= {args.bound_ms:g} ms | vs dense | rates tried |")
    print("|---|---|---|---|")
    dense = max_rates["dense"]["max_qps"]
    for label, found in max_rates.items():
        rate = found["max_qps"]
        ratio = "-" if rate is None or not dense else f"{rate / dense:.2f}x"
        print(f"| {label} | {'none' if rate is None else f'{rate:.0f} qps'} | {ratio} | {len(found['trials'])} |"
              + (f" {found['note']}" if "note" in found else ""))
    print(f"\n(max-rate search: {max_rates['dense']['method']})")
    plot(args, results, max_rates)


def table_results(text: str) -> dict[str, dict[float, list[dict]]]:
    """The per-rate rows of this script's printed table, as ``results`` (one summary per row)."""
    results: dict[str, dict[float, list[dict]]] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 9 or not cells[2].replace(".", "").isdigit():
            continue
        results.setdefault(cells[0], {})[float(cells[2])] = [{"latency_ms_p99": float(cells[5])}]
    return results


def plot(args, results, max_rates) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label, by_rate in results.items():
        rates = list(by_rate)
        ax.plot(rates, [_median(by_rate[r], "latency_ms_p99") for r in rates], marker="o", label=label)
    ax.axhline(args.bound_ms, color="black", linestyle="--", linewidth=1, label=f"p99 bound {args.bound_ms:g} ms")
    ax.set_xscale("log")
    ax.set_yscale("log")
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    rates = sorted({r for by_rate in results.values() for r in by_rate})
    ax.set_xticks(rates)
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(ScalarFormatter())
        axis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("offered load (queries per second, Poisson)")
    ax.set_ylabel("p99 latency incl. queueing (ms)")
    ax.set_title(f"SST-2 dev, MiniLM-L6 (demo checkpoint), 2 CPU threads, dynamic batching <= {args.max_batch}, "
                 f"wait <= {args.max_wait_ms:g} ms", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    args.plot.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.plot, dpi=110)
    print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
