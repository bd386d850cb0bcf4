"""Run an exported cocoseg ONNX model with ONNX Runtime, behind the same interface as the torch backend."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from cocoseg.engine.device import default_cpu_threads
from cocoseg.errors import CocosegError


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
        self.names = {int(k): v for k, v in json.loads(meta["names"]).items()}
        self.num_masks = int(meta.get("num_masks", 32))
        self.stride = int(meta.get("stride", 32))
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.dtype = np.float16 if "float16" in inp.type else np.float32
        b, _, h, w = inp.shape
        self.fixed_hw = (h, w) if isinstance(h, int) and isinstance(w, int) else None
        self.max_batch = b if isinstance(b, int) else None
        self.output_names = [o.name for o in self.session.get_outputs()]
        if self.output_names[:2] != ["pred", "protos"]:
            raise CocosegError(f"{path}: outputs {self.output_names}, expected ['pred', 'protos']")

    def __call__(self, batch_rgb: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 [B, H, W, 3] RGB -> (pred, protos) as CPU float32 tensors; splits batches the model cannot take."""
        step = self.max_batch or len(batch_rgb)
        preds, protos = [], []
        for start in range(0, len(batch_rgb), step):
            chunk = batch_rgb[start : start + step].transpose(0, 3, 1, 2).astype(self.dtype) / self.dtype(255)
            n = len(chunk)
            if n < step:  # a fixed-batch export: pad the last chunk
                chunk = np.concatenate([chunk, np.zeros((step - n, *chunk.shape[1:]), chunk.dtype)])
            pred, proto = self.session.run(["pred", "protos"], {self.input_name: np.ascontiguousarray(chunk)})
            preds.append(pred[:n])
            protos.append(proto[:n])
        return (torch.from_numpy(np.concatenate(preds)).float(), torch.from_numpy(np.concatenate(protos)).float())
