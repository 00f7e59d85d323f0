"""MODEL_CARD.md of an exported configuration: Hugging Face model-card metadata, then what joulebench measured,
every figure read from the record (nothing re-measured, nothing rounded away: the record sits beside it)."""

from __future__ import annotations

from typing import Any

import yaml

from joulebench.analysis.aggregate import aggregate
from joulebench.analysis.paired import paired_difference
from joulebench.results.schema import engine_of, primary_metric_of
from joulebench.tasks.kinds import kind_of_record

#: Packaged aliases -> the Hub model they are.
BASE_MODELS = {"minilm-l6": "sentence-transformers/all-MiniLM-L6-v2"}
Z95 = 1.959964


def _figure(value: Any, digits: int = 4) -> str:
    return "null" if value is None else f"{value:.{digits}g}"


def quality_lines(record: dict, baseline: dict | None) -> tuple[list[str], list[dict]]:
    """Quality with its interval, and the paired difference to the baseline; plus the model-index metrics."""
    quality = record.get("quality") or {}
    primary = primary_metric_of(record) or "accuracy"
    names = [m for m in ("accuracy", "f1", "macro_f1", "mcc", "pearson", "spearman", "exact_match") if m in quality]
    lines, metrics = [], []
    for name in names:
        value, stderr = quality.get(name), quality.get(f"{name}_stderr")
        interval = "" if stderr is None else f" ± {Z95 * stderr:.4f} (95%, from the standard error)"
        lines.append(f"- {name}: {_figure(value)}{interval} on {quality.get('n_examples')} examples "
                     f"({quality.get('split', 'validation')})")
        metrics.append({"type": name, "value": value, "name": f"{name} ({quality.get('split', 'validation')})"})
    if baseline is not None and baseline is not record:
        point, base = aggregate([record])[0], aggregate([baseline])[0]
        metric = "span_f1" if primary == "span_f1" else primary
        diff = paired_difference(point, base, metric)
        if diff is not None:
            lines.append(f"- paired difference to the dense baseline ({metric}): {diff.delta:+.4f} "
                         f"[{diff.low:+.4f}, {diff.high:+.4f}] (95% paired bootstrap over the same {diff.n} examples)")
    return lines, metrics


#: the Hub's library_name of each export format
LIBRARIES = {"hf": "transformers", "onnx": "onnx", "openvino": "openvino", "joulebench": "joulebench"}


def model_card(record: dict, baseline: dict | None, fmt: str, info: dict[str, Any]) -> str:
    """The card's text."""
    config, cost, train, env = (record.get(k) or {} for k in ("config", "cost", "train", "env"))
    task = record.get("task")
    spec = config.get("task_spec") or {}
    reductions = [r["name"] for r in record.get("reductions", [])]
    q_lines, metrics = quality_lines(record, baseline)
    metadata = {
        "base_model": BASE_MODELS.get(str(config.get("model")), config.get("model")),
        "library_name": LIBRARIES[fmt],
        "pipeline_tag": kind_of_record(record).pipeline_tag,
        "tags": ["joulebench", *reductions],
        "datasets": [task],
        "metrics": [m["type"] for m in metrics],
        "model-index": [{"name": f"{task}-{'+'.join(reductions) or 'dense'}", "results": [{
            "task": {"type": "text-classification", "name": task},
            "dataset": {"name": task, "type": spec.get("name", task), "split": "validation",
                        "revision": record.get("task_data")},
            "metrics": metrics}]}],
    }
    ratio = (cost.get("vs_baseline") or {}).get("energy") or {}
    ratio_text = "" if not ratio else (f"; {ratio.get('ratio'):.3f}x the dense baseline "
                                       f"[{ratio['ci95'][0]:.3f}, {ratio['ci95'][1]:.3f}] (paired ABBA rounds)"
                                       if ratio.get("ci95") else f"; {ratio.get('ratio'):.3f}x the dense baseline")
    features = ", ".join(env.get("cpu_features") or [])
    lines = [
        "---", yaml.safe_dump(metadata, sort_keys=False).strip(), "---", "",
        f"# {task}: {config.get('model')} with {' + '.join(reductions) or 'no reduction'}", "",
        f"Exported by joulebench from configuration `{record.get('config_hash')}` as `{fmt}`. "
        f"Every figure below is the record's own (`joulebench.json` holds it whole).", "",
        "## How to load", "", info.get("how_to_load", ""), "",
        "## Quality", "", *q_lines, "",
        "## Cost (measured by joulebench on the machine below)", "",
        f"- energy per example: {_figure(cost.get('energy_j_per_example'))} J (method: {cost.get('energy_method')}"
        f"{'' if cost.get('energy_method') in ('rapl', 'nvml') else ', an estimate'}){ratio_text}",
        f"  - {cost.get('energy_note', '')}",
        f"- latency p50 / p99: {_figure(cost.get('latency_ms_p50'))} / {_figure(cost.get('latency_ms_p99'))} ms "
        f"({record.get('scenario')} scenario, batch size {cost.get('batch_size')})",
        f"- throughput: {_figure(cost.get('throughput_eps'))} examples/s",
        f"- peak memory: {_figure(cost.get('peak_mem_mb'))} MB ({cost.get('peak_mem_method')})",
        f"- FLOPs per example: {_figure(cost.get('flops_per_example'))}; parameters: {cost.get('param_count')}",
        "",
        "## Machine", "",
        f"- CPU: {env.get('cpu')} ({env.get('cpu_count')} logical CPUs; {features}); GPU: {env.get('gpu')}",
        f"- threads: {cost.get('threads')}; device: {cost.get('device')}; torch {env.get('torch')}, "
        f"transformers {env.get('transformers')}, onnxruntime {env.get('onnxruntime')}",
        f"- engine: {record.get('engine') or engine_of(record.get('reductions') or [])}{_engine_run(record)}",
        "",
        "## Training budget", "",
        f"- {config.get('regime')} fine-tuning, {train.get('train_examples') or 'all'} training examples, "
        f"{train.get('epochs')} epoch(s), {train.get('steps')} optimizer steps "
        f"(lr {(config.get('train') or {}).get('lr')}, batch {(config.get('train') or {}).get('batch_size')}, "
        f"seed {(config.get('train') or {}).get('seed')}); total steps with re-training: {train.get('total_steps')}; "
        f"training energy: {_figure(train.get('total_energy_j'))} J",
        f"- data digest: `{record.get('task_data')}`; config hash: `{record.get('config_hash')}`", "",
    ]
    return "\n".join(lines)


def unmeasured_card(rebuilt: Any, fmt: str, info: dict[str, Any]) -> str:
    """The card of a configuration exported before any measurement (``joulebench prune export``)."""
    config = rebuilt.config
    reductions = [r["name"] for r in rebuilt.reductions]
    metadata = {"base_model": BASE_MODELS.get(config.model, config.model),
                "library_name": LIBRARIES[fmt],
                "pipeline_tag": "text-classification", "tags": ["joulebench", *reductions], "datasets": [config.task]}
    return "\n".join([
        "---", yaml.safe_dump(metadata, sort_keys=False).strip(), "---", "",
        f"# {config.task}: {config.model} with {' + '.join(reductions) or 'no reduction'}", "",
        "Nothing was measured for this export: run the configuration (`joulebench run`) and export its record "
        "(`joulebench export RESULTS --config-hash H`) for a card with quality and cost.", "",
        "## How to load", "", info.get("how_to_load", ""), "",
        f"## Training budget\n\n- {config.regime} fine-tuning, {config.train.max_train_examples or 'all'} training "
        f"examples, {config.train.epochs} epoch(s), lr {config.train.lr}, seed {config.train.seed}",
    ])


def _engine_run(record: dict) -> str:
    """What the engine said it ran (version, precision asked and run, the one-off cost), where the record has it."""
    run = record.get("engine_run") or {}
    if not run:
        return ""
    text = f" ({run.get('name')} {run.get('version')}; precision asked {run.get('precision_asked')}, ran " \
           f"{run.get('precision_ran')}, read from {run.get('precision_source')})"
    if run.get("warning"):
        text += f"; warning: {run['warning']}"
    one_off = run.get("one_off") or {}
    if one_off:
        text += f"; one-off: {one_off.get('what')}, {one_off.get('time_s')} s, {_figure(one_off.get('energy_j'))} J"
    return text
