"""Run an exported ONNX model with ONNX Runtime, behind the same interface as the torch backend.

Both cocoseg's exports (outputs `pred`, `protos`; `names` metadata in JSON) and the reference
implementation's (outputs `output0`, `output1`; `names` a Python dict literal such as
"{0: 'person', 1: 'bicycle'}") load; the literal is read with `ast.literal_eval`, never executed.

Input: cocoseg's exports since the model normalises itself (metadata `input_range` "0-255") take the
letterboxed uint8 values as they are. Graphs without that key take 0..1 (the reference's exports, and
cocoseg's older ones, which get a warning to re-export): for them this backend divides by 255.
"""
from __future__ import annotations

import ast
import json
import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from cocoseg.engine.device import default_cpu_threads
from cocoseg.errors import CocosegError

LOGGER = logging.getLogger(__name__)

class OnnxBackend:
    """An ONNX Runtime session over a cocoseg export (outputs `pred` and `protos`, metadata `names`)."""

    def __init__(self, path: str | Path, device: torch.device | None = None, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise CocosegError("predicting with an .onnx model needs onnxruntime (pip install onnxruntime)") from exc
        path = Path(path)
        if not path.is_file():
            raise CocosegError(f"model {path}: no such file")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or default_cpu_threads()
        # no busy-waiting after a run: the NMS and mask steps that follow need those cores
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers = ["CPUExecutionProvider"]
        if device is not None and device.type == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        try:
            self.session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise CocosegError(f"{path}: ONNX Runtime cannot load it: {exc}") from exc
        meta = self.session.get_modelmeta().custom_metadata_map
        if "names" not in meta:
            raise CocosegError(f"{path}: no 'names' metadata; export it with `cocoseg export`")
        self.names = parse_names(meta["names"], path)
        self.num_masks = int(meta.get("num_masks", 32))
        self.stride = int(meta.get("stride", 32))
        self.input_divisor = input_divisor(meta, path)
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.dtype = np.float16 if "float16" in inp.type else np.float32
        b, _, h, w = inp.shape
        self.fixed_hw = (h, w) if isinstance(h, int) and isinstance(w, int) else None
        self.max_batch = b if isinstance(b, int) else None
        outputs = self.session.get_outputs()
        self.output_names = [o.name for o in outputs][:2]
        if self.output_names not in (["pred", "protos"], ["output0", "output1"]) or len(outputs[1].shape) != 4:
            raise CocosegError(f"{path}: outputs {[o.name for o in outputs]}, expected pred [B, 4+nc+nm, A] and "
                               "protos [B, nm, H, W] (cocoseg's or the reference's segmentation export)")

    def __call__(self, batch_rgb: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 [B, H, W, 3] RGB -> (pred, protos) as CPU float32 tensors; splits batches the model cannot take."""
        step = self.max_batch or len(batch_rgb)
        preds, protos = [], []
        for start in range(0, len(batch_rgb), step):
            chunk = batch_rgb[start : start + step].transpose(0, 3, 1, 2).astype(self.dtype)
            if self.input_divisor != 1:  # a graph that takes 0..1 (see the module docstring)
                chunk /= self.dtype(self.input_divisor)
            n = len(chunk)
            if n < step:  # a fixed-batch export: pad the last chunk
                chunk = np.concatenate([chunk, np.zeros((step - n, *chunk.shape[1:]), chunk.dtype)])
            pred, proto = self.session.run(self.output_names, {self.input_name: np.ascontiguousarray(chunk)})
            preds.append(pred[:n])
            protos.append(proto[:n])
        return (torch.from_numpy(np.concatenate(preds)).float(), torch.from_numpy(np.concatenate(protos)).float())


def input_divisor(meta: Mapping[str, str], path: str | Path) -> float:
    """What the uint8 input is divided by before it is fed: 1 for a graph that normalises itself
    (`input_range` "0-255"), 255 for one that takes 0..1; an older cocoseg export is named, once."""
    declared = meta.get("input_range")
    if declared == "0-255":
        return 1.0
    if declared is not None:
        raise CocosegError(f"{path}: metadata input_range {declared!r} is not one cocoseg knows ('0-255')")
    if meta.get("producer") == "cocoseg":
        LOGGER.warning("%s: exported by cocoseg %s, before the model normalised its own input: fed 0..1 as it "
                       "expects; re-export it (`cocoseg export`) to take 0..255 like every newer export",
                       path, meta.get("version", "?"))
    return 255.0


def parse_names(text: str, path: str | Path = "model") -> dict[int, str]:
    """Class names from ONNX metadata: a JSON object (cocoseg) or a Python dict/list literal (the reference)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        try:
            value = ast.literal_eval(text)  # literals only: no names, calls or attributes are evaluated
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            raise CocosegError(f"{path}: metadata 'names' is neither JSON nor a Python literal: {text[:60]!r}") from None
    if isinstance(value, (list, tuple)):
        value = dict(enumerate(value))
    try:
        names = {int(k): str(v) for k, v in value.items()}
    except (AttributeError, TypeError, ValueError):
        raise CocosegError(f"{path}: metadata 'names' must map class ids to names, got {text[:60]!r}") from None
    if sorted(names) != list(range(len(names))):
        raise CocosegError(f"{path}: metadata 'names' ids must be 0..{len(names) - 1}, got {sorted(names)[:8]}")
    return names
