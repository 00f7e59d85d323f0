"""OpenVINO (CPU device): the torch module converted by ``openvino.convert_model``, compiled with the precision
pinned (``INFERENCE_PRECISION_HINT``: OpenVINO otherwise picks bf16 on CPUs that have it, silently).

int8 is NNCF's post-training quantization (``nncf.quantize``, transformer preset) calibrated on training
sentences, never on the reported split; what is not quantized runs in fp32. The precision the record states is
read off the runtime model (each operation's ``runtimePrecision``)."""

from __future__ import annotations

import collections
import importlib.util
import logging
import warnings
from typing import Any, ClassVar

from torch import nn

from joulebench.engines.base import EngineContext, Prepared, register_engine
from joulebench.engines.graph import INPUT_NAMES, GraphClassifier, LogitsOnly, example_inputs

HINTS = {"fp32": "f32", "bf16": "bf16", "fp16": "f16", "int8": "f32"}
#: OpenVINO's names of runtime precisions -> ours
RAN = {"f32": "fp32", "bf16": "bf16", "f16": "fp16", "i8": "int8", "u8": "int8"}
MATMUL_LAYERS = ("FullyConnected", "MatMul")


def capabilities() -> list[str]:
    """The CPU device's optimization capabilities (FP32, BF16, FP16, INT8, ...)."""
    import openvino as ov

    return list(ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"))


def convert(model: nn.Module) -> Any:
    """``model`` (logits from ids, mask, token types) as an OpenVINO model with dynamic batch and length."""
    import openvino as ov

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ov_model = ov.convert_model(LogitsOnly(model.cpu()).eval(), example_input=example_inputs(),
                                    input=[(name, [-1, -1], ov.Type.i64) for name in INPUT_NAMES])
    for name, port in zip(INPUT_NAMES, ov_model.inputs, strict=True):
        port.get_tensor().set_names({name})
    ov_model.outputs[0].get_tensor().set_names({"logits"})
    return ov_model


def runtime_precision(compiled: Any) -> tuple[str, dict[str, dict[str, int]]]:
    """The precision the compiled model's matrix products run in, and {layer type: {precision: count}}."""
    table: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for op in compiled.get_runtime_model().get_ops():
        info = op.get_rt_info()
        if "layerType" in info and "runtimePrecision" in info:
            table[info["layerType"].astype(str)][info["runtimePrecision"].astype(str)] += 1
    products: collections.Counter = collections.Counter()
    for layer in MATMUL_LAYERS:
        products.update(table.get(layer, {}))
    main = products.most_common(1)[0][0] if products else "f32"
    return RAN.get(main, main), {k: dict(v) for k, v in table.items() if k in MATMUL_LAYERS}


def quantize_int8(ov_model: Any, batches: list[dict]) -> Any:
    """NNCF post-training int8 quantization of ``ov_model`` calibrated on ``batches`` (training inputs)."""
    import nncf

    logging.getLogger("nncf").setLevel(logging.ERROR)
    dataset = nncf.Dataset(batches, lambda b: {name: b[name].numpy() for name in INPUT_NAMES if name in b})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return nncf.quantize(ov_model, dataset, model_type=nncf.ModelType.TRANSFORMER, subset_size=len(batches),
                             fast_bias_correction=True)


@register_engine("openvino", help="OpenVINO on CPU, precision pinned; int8 by NNCF post-training quantization")
class OpenVino:
    """OpenVINO."""

    name: ClassVar[str]
    precisions: ClassVar[tuple[str, ...]] = ("fp32", "bf16", "fp16", "int8")
    dynamic: ClassVar[bool] = False
    span: ClassVar[bool] = False
    devices: ClassVar[tuple[str, ...]] = ("cpu",)  # OpenVINO's GPU device would be another module

    def missing(self) -> str | None:
        absent = [p for p in ("openvino", "nncf") if importlib.util.find_spec(p) is None]
        return f"{' and '.join(absent)} not installed (pip install {' '.join(absent)})" if absent else None

    def precision_problem(self, precision: str, device: str) -> str | None:
        needs = {"bf16": "BF16", "fp16": "FP16", "int8": "INT8"}.get(precision)
        if needs is not None and needs not in capabilities():
            return (f"engine openvino cannot execute {precision} on this CPU (its capabilities: "
                    f"{', '.join(capabilities())}); use fp32 or int8")
        return None

    def version(self) -> str:
        import openvino as ov

        return ov.get_version()

    def prepare(self, model: nn.Module, precision: str, ctx: EngineContext) -> Prepared:
        import openvino as ov

        ov_model = convert(model)
        one_off = "conversion from the torch module, compilation"
        if precision == "int8":
            if ctx.calibration is None:
                raise ValueError("openvino int8 needs calibration batches (training inputs)")
            ov_model = quantize_int8(ov_model, ctx.calibration())
            one_off += f", NNCF int8 calibration on {ctx.calibration_note}"
        config = {"INFERENCE_PRECISION_HINT": HINTS[precision], "INFERENCE_NUM_THREADS": ctx.threads,
                  "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1}
        compiled = ov.Core().compile_model(ov_model, "CPU", config)
        request = compiled.create_infer_request()
        inputs = {port.get_any_name() for port in compiled.inputs}
        ran, table = runtime_precision(compiled)

        def run(feed: dict) -> Any:
            return request.infer(feed, share_inputs=True)[0]

        weights = sum(_size(op.get_output_shape(0)) for op in ov_model.get_ops()
                      if op.get_type_name() == "Constant" and op.get_output_partial_shape(0).is_static)
        exported = {"ov_model": ov_model, "precision_hint": HINTS[precision]}
        wrapper = GraphClassifier(run, inputs, getattr(model, "config", None), weights, exported)
        facts = {"name": self.name, "version": ov.get_version(), "device": "cpu", "threads": ctx.threads,
                 "precision_asked": precision, "precision_hint": HINTS[precision], "precision_ran": ran,
                 "precision_source": "runtimePrecision of the runtime model's matrix products",
                 "runtime_precisions": table,
                 "warning": None if ran == precision else f"asked {precision}, OpenVINO's runtime model runs {ran}",
                 "one_off": one_off}
        return Prepared(wrapper.eval(), facts)


def _size(shape: Any) -> int:
    total = 1
    for d in shape:
        total *= int(d)
    return total if total > 1 else 0
