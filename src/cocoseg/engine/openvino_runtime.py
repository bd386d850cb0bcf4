"""Run a cocoseg OpenVINO export (`cocoseg export format=openvino`) on CPU, behind the ONNX backend's interface.

The export is a folder holding `model.xml` + `model.bin` (OpenVINO IR converted from the ONNX export),
with the ONNX export's metadata (names, stride, imgsz, ...) in the IR's runtime info under `cocoseg`.
The input handling (batch splitting, padding of a fixed batch, the `input_range` rule) is the ONNX backend's.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cocoseg.engine.device import default_cpu_threads
from cocoseg.engine.onnx_runtime import OnnxBackend, input_divisor
from cocoseg.errors import CocosegError

IR_NAME = "model.xml"


def is_openvino_model(model: Any) -> bool:
    """True for an OpenVINO IR file (.xml) or a folder holding one (what `export format=openvino` writes)."""
    if not isinstance(model, (str, Path)):
        return False
    path = Path(model)
    return path.suffix.lower() == ".xml" or (path.is_dir() and (path / IR_NAME).is_file())


def read_metadata(model: Any) -> dict[str, str]:
    """The cocoseg metadata of an OpenVINO model (an `openvino.Model`), empty when it has none."""
    if not model.has_rt_info(["cocoseg", "names"]):
        return {}
    return {str(k): v.astype(str) for k, v in model.get_rt_info()["cocoseg"].items()}


class _InferSession:
    """An OpenVINO compiled model seen through the one ONNX Runtime call the ONNX backend makes."""

    def __init__(self, compiled: Any) -> None:
        self.request = compiled.create_infer_request()
        self.outputs = [compiled.output(name) for name in ("pred", "protos")]

    def run(self, names: list[str], feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        (chunk,) = feeds.values()
        results = self.request.infer([chunk], share_inputs=True)
        return [np.array(results[out]) for out in self.outputs]  # copies: the request reuses its buffers


class OpenVinoBackend(OnnxBackend):
    """An OpenVINO CPU inference request over a cocoseg export (outputs `pred` and `protos`)."""

    def __init__(self, path: str | Path, device: torch.device | None = None, threads: int | None = None) -> None:
        try:
            import openvino as ov
        except ImportError as exc:
            raise CocosegError("predicting with an OpenVINO model needs openvino (pip install 'cocoseg[openvino]')") from exc
        path = Path(path)
        xml = path / IR_NAME if path.is_dir() else path
        if not xml.is_file():
            raise CocosegError(f"model {path}: no such OpenVINO model ({IR_NAME} missing)")
        core = ov.Core()
        try:
            model = core.read_model(str(xml))
        except Exception as exc:  # openvino raises its own exception types
            raise CocosegError(f"{xml}: OpenVINO cannot read it: {exc}") from exc
        meta = read_metadata(model)
        if "names" not in meta:
            raise CocosegError(f"{xml}: no cocoseg 'names' metadata; export it with `cocoseg export format=openvino`")
        # f32: the same detections as the torch model (a bf16/f16 hint would change them on CPUs that have it)
        config = {"INFERENCE_NUM_THREADS": int(threads or default_cpu_threads()), "PERFORMANCE_HINT": "LATENCY",
                  "INFERENCE_PRECISION_HINT": "f32"}
        compiled = core.compile_model(model, "CPU", config)
        self.session = _InferSession(compiled)
        self.names = {int(k): v for k, v in json.loads(meta["names"]).items()}
        self.num_masks = int(meta.get("num_masks", 32))
        self.stride = int(meta.get("stride", 32))
        self.input_divisor = input_divisor(meta, xml)
        self.input_name = model.input(0).get_any_name()
        self.dtype = np.float16 if model.input(0).get_element_type() == ov.Type.f16 else np.float32
        shape = model.input(0).get_partial_shape()
        b, h, w = shape[0], shape[2], shape[3]
        self.fixed_hw = (h.get_length(), w.get_length()) if h.is_static and w.is_static else None
        self.max_batch = b.get_length() if b.is_static else None
        self.output_names = [o.get_any_name() for o in model.outputs]
        if self.output_names[:2] != ["pred", "protos"]:
            raise CocosegError(f"{xml}: outputs {self.output_names}, expected ['pred', 'protos']")
