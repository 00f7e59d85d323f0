"""From a configuration to an engine: the precision it asks, the old forms that named an engine inside
``reductions``, the refusal said at validate and at run, and the label records show."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from joulebench.engines.base import ENGINES, refusal

#: Reductions whose data-dependent control flow a fixed graph cannot hold.
DYNAMIC = ("early_exit", "token_prune")
#: Engines that run the torch module itself: precision is carried out in torch by the quantize reduction.
TORCH_ENGINES = ("torch", "torch_compile")
AUTO = "auto"


def precision_of(reductions: Sequence[Any]) -> str:
    """The precision a configuration's reductions ask for: a ``quantize``/``int8`` entry's dtype, else fp32
    (``auto16`` stays for the engine to resolve)."""
    for spec in reductions:
        params = spec.params_dict() if hasattr(spec, "params_dict") else dict(spec.get("params") or spec)
        name = spec.name if hasattr(spec, "name") else spec.get("name")
        if name == "int8":
            return "int8"
        if name == "quantize":
            return str(params.get("dtype", "int8"))
    return "fp32"


def legacy_engine(reductions: list[Any]) -> tuple[list[Any], str | None, str | None]:
    """The old forms that put the engine inside ``reductions`` (``{name: runtime, engine: onnxruntime}``, ``int8``
    or ``quantize`` with ``backend: onnxruntime``) mapped onto the ``engine`` field: (reductions without them, the
    engine they named or None, a one-line note or None)."""
    kept, engine, said = [], None, None
    for item in reductions:
        if isinstance(item, dict) and item.get("name") == "runtime":
            engine = str(item.get("engine", "onnxruntime"))
            said = f"{{name: runtime, engine: {engine}}} is now written engine: {engine}"
            continue
        if isinstance(item, dict) and item.get("name") in ("int8", "quantize") and item.get("backend") == "onnxruntime":
            engine = "onnxruntime"
            item = {k: v for k, v in item.items() if k != "backend"}
            said = f"{item['name']} with backend: onnxruntime is now written engine: onnxruntime with {item['name']}"
        kept.append(item)
    return kept, engine, said


def engine_problem(engine: str, reductions: Sequence[Any], device: str, span: bool) -> str | None:
    """Why ``engine`` cannot run a configuration with these reductions on ``device`` here, or None."""
    precision = precision_of(reductions)
    if engine == AUTO:
        return None if precision == "fp32" else (f"engine auto chooses among engines for fp32 models; with a "
                                                  f"{precision} precision name the engine (torch, openvino, ...)")
    names = [spec.name if hasattr(spec, "name") else spec.get("name") for spec in reductions]
    if precision == "auto16" and engine not in TORCH_ENGINES:
        return f"engine {engine}: dtype auto16 is resolved by torch's backend probe; name bf16 or fp16 for {engine}"
    if precision == "auto16":
        precision = "bf16"
    return refusal(ENGINES.get(engine), precision, "cpu" if device == "auto" else device,
                   [n for n in names if n in DYNAMIC], span)


#: What each reduction asks of an engine, for the matrix: (name, a configuration entry)
MATRIX_ENTRIES = {"quantize": {"name": "quantize", "dtype": "bf16"}, "int8": {"name": "int8"}}


def engine_matrix(reductions: Sequence[str], device: str = "cpu") -> list[tuple[str, dict[str, str]]]:
    """Engine x reduction on this machine: ``yes``, or ``no: why`` (what validate says). ``quantize`` stands for a
    16-bit cast (bf16), ``int8`` for int8."""
    rows = []
    for engine in ENGINES.names():
        cells = {}
        for name in reductions:
            entry = MATRIX_ENTRIES.get(name, {"name": name})
            problem = engine_problem(engine, [entry], device, False)
            cells[name] = "yes" if problem is None else f"no: {problem}"
        rows.append((engine, cells))
    return rows
