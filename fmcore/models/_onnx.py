"""fmaudit's own networks as ONNX graphs run by onnxruntime: the export every image and tabular model has, and the
compressed variants that live as graphs (onnxruntime's optimised graph, and its static int8 quantisation).

``OnnxNet`` is a torch module whose forward runs the graph on the CPU: the rest of fmaudit (evaluation, latency,
transferred attacks) calls it like any network; it has no gradients, so attacks that need them say so."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn


def export_onnx(net: nn.Module, example: torch.Tensor, path: str | Path) -> Path:
    """Write ``net`` (eval mode) as an ONNX graph with a variable batch size (TorchScript-based exporter, opset
    17: needs no onnxscript)."""
    path = Path(path)
    net = net.eval()
    with torch.no_grad():
        torch.onnx.export(net, (example[:1].float(),), str(path), input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17,
                          dynamo=False)
    return path


def _session(model: bytes | str, threads: int | None = None, optimise_to: str | None = None):
    """A CPU session with every graph optimisation; when ``optimise_to`` is given, the graph is written there
    optimised at the *extended* level only: the layout optimisations above it are specific to this machine's CPU,
    and a stored model must load anywhere (they are applied again when it is loaded)."""
    import onnxruntime as ort

    from ..config import default_threads

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or default_threads()
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if optimise_to:
        options.optimized_model_filepath = optimise_to
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def optimised_graph(net: nn.Module, example: torch.Tensor) -> bytes:
    """The network as onnxruntime's optimised graph (constant folding, fused operators), saved as ONNX bytes."""
    with tempfile.TemporaryDirectory(prefix="fmaudit-onnx-") as tmp:
        src = export_onnx(net, example, Path(tmp) / "model.onnx")
        out = Path(tmp) / "optimised.onnx"
        _session(str(src), optimise_to=str(out))
        return out.read_bytes()


def int8_graph(net: nn.Module, example: torch.Tensor, calibration: np.ndarray, batch: int = 32) -> bytes:
    """The network quantised to int8 by onnxruntime's static quantisation (QOperator format, int8 weights and
    uint8 activations), its activation ranges calibrated on ``calibration`` (encoded training inputs)."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{"input": calibration[i:i + batch].astype(np.float32)}
                                 for i in range(0, len(calibration), batch)])

        def get_next(self):
            return next(self.batches, None)

    import logging

    logging.getLogger().setLevel(logging.ERROR)  # onnxruntime's advice to pre-process, printed on every call
    with tempfile.TemporaryDirectory(prefix="fmaudit-onnx-") as tmp:
        src = export_onnx(net, example, Path(tmp) / "model.onnx")
        out = Path(tmp) / "int8.onnx"
        quantize_static(str(src), str(out), Reader(), quant_format=QuantFormat.QOperator,
                        weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8)
        return out.read_bytes()


class OnnxNet(nn.Module):
    """An ONNX graph behind a torch module's interface: float inputs in, logits out, no gradients."""

    def __init__(self, model: bytes):
        super().__init__()
        self.model = model
        self.session = _session(model)
        self.input = self.session.get_inputs()[0].name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of ``x`` from the graph (refused for inputs that need a gradient)."""
        if x.requires_grad:  # a RuntimeError, as torch raises when no gradient can reach the input
            raise RuntimeError("An onnxruntime graph has no gradients: attack it with a black-box attack, or attack "
                               "the torch model it was made from.")
        out = self.session.run(None, {self.input: x.detach().float().numpy()})[0]
        return torch.from_numpy(np.ascontiguousarray(out))

    def __getstate__(self):
        return {"model": self.model}

    def __setstate__(self, state):
        nn.Module.__init__(self)
        self.model = state["model"]
        self.session = _session(self.model)
        self.input = self.session.get_inputs()[0].name
