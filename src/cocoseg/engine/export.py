"""ONNX export with named, documented outputs and the metadata prediction needs (names, stride, imgsz)."""
from __future__ import annotations

import copy
import io
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch

from cocoseg import __version__
from cocoseg.engine.device import resolve_half, select_device
from cocoseg.errors import CocosegError
from cocoseg.io import atomic_write
from cocoseg.models import SegmentationModel, load_model
from cocoseg.ops.letterbox import stride_imgsz

OPSET = 17
# the graph normalises its input itself (the model's first op); exports before this key took 0..1
INPUT_RANGE = "0-255"
INPUT_DOC = ("images: float [B, 3, H, W], RGB, values 0..255 (the graph divides by 255), letterboxed (gray 114 "
             "padding), H and W multiples of 32")
OUTPUT_DOCS = {
    "pred": (
        "[B, 4 + nc + 32, A] per anchor: box centre x, centre y, width, height in input pixels; nc class "
        "scores after sigmoid; 32 mask coefficients. A = sum over strides 8/16/32 of (H/s)*(W/s)."
    ),
    "protos": "[B, 32, H/4, W/4] mask prototypes; instance mask = sigmoid(coefficients @ protos) > 0.5, cropped to its box.",
}


def export_onnx(
    model: str | Path | SegmentationModel,
    path: str | Path | None = None,
    *,
    imgsz: int | tuple[int, int] = 640,
    batch: int = 1,
    dynamic: bool = False,
    half: bool = False,
    device: str | torch.device | None = "cpu",
    opset: int = OPSET,
) -> Path:
    """Export a model to ONNX (fused Conv+BN); returns the written path (default: beside the checkpoint).

    `dynamic` makes batch, height and width dynamic; `half` exports float16 (needs a CUDA device to
    trace). The file is written atomically and carries metadata: names, stride, imgsz, nc, num_masks.
    """
    import onnx

    net = copy.deepcopy(model) if isinstance(model, SegmentationModel) else load_model(model)
    dev = select_device(device)
    if half and not resolve_half(half, dev):
        raise CocosegError("half=True: float16 export needs device=cuda (float16 convolutions are not run on CPU)")
    size = stride_imgsz(imgsz, int(net.stride.max()))
    h, w = (size, size) if isinstance(size, int) else size
    net = net.eval().fuse().to(dev)
    net = net.half() if half else net.float()
    dummy = torch.zeros(batch, 3, h, w, device=dev, dtype=torch.float16 if half else torch.float32)
    out = Path(path) if path else _default_path(model, net)
    proto = _to_onnx(net, dummy, dynamic, opset)
    _add_metadata(proto, net, (h, w), dynamic, half)
    onnx.checker.check_model(proto)
    return atomic_write(out, lambda fh: fh.write(proto.SerializeToString()), mode="wb")


def _default_path(model: Any, net: SegmentationModel) -> Path:
    if isinstance(model, (str, Path)) and Path(model).is_file():
        return Path(model).with_suffix(".onnx")
    return Path(f"{net.config.name}.onnx")


class _InferenceGraph(torch.nn.Module):
    """What is exported: the model's forward followed by its decoding step (outputs pred, protos)."""

    def __init__(self, net: SegmentationModel) -> None:
        super().__init__()
        self.net = net

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net.infer(images)


def _to_onnx(net: SegmentationModel, dummy: torch.Tensor, dynamic: bool, opset: int) -> Any:
    import onnx

    axes = None
    if dynamic:
        axes = {"images": {0: "batch", 2: "height", 3: "width"}, "pred": {0: "batch", 2: "anchors"},
                "protos": {0: "batch", 2: "proto_height", 3: "proto_width"}}
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shape-dependent Python values
        torch.onnx.export(
            _InferenceGraph(net), (dummy,), buffer, input_names=["images"], output_names=["pred", "protos"], dynamic_axes=axes,
            opset_version=opset, dynamo=False, do_constant_folding=True,
        )
    return onnx.load_model_from_string(buffer.getvalue())


def _add_metadata(proto: Any, net: SegmentationModel, imgsz: tuple[int, int], dynamic: bool, half: bool) -> None:
    meta = {
        "producer": "cocoseg", "version": __version__, "task": "segment", "model": net.config.name,
        "names": json.dumps({str(k): v for k, v in net.names.items()}), "nc": str(net.nc),
        "num_masks": str(net.num_masks), "stride": str(int(net.stride.max())),
        "strides": json.dumps([int(s) for s in net.stride.tolist()]), "imgsz": json.dumps(list(imgsz)),
        "dynamic": str(dynamic), "half": str(half), "outputs": json.dumps(OUTPUT_DOCS), "input_range": INPUT_RANGE,
    }
    channels = {"pred": 4 + net.nc + net.num_masks, "protos": net.num_masks}
    for out in proto.graph.output:  # the tracer leaves the channel dims symbolic under dynamic axes
        out.type.tensor_type.shape.dim[1].dim_value = channels[out.name]
    del proto.metadata_props[:]
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.graph.input[0].doc_string = INPUT_DOC
    for out in proto.graph.output:
        out.doc_string = OUTPUT_DOCS.get(out.name, "")
    proto.doc_string = f"cocoseg {net.config.name} ({net.nc} classes), outputs pred and protos; see metadata 'outputs'"


def export_openvino(
    model: str | Path | SegmentationModel,
    path: str | Path | None = None,
    *,
    imgsz: int | tuple[int, int] = 640,
    batch: int = 1,
    dynamic: bool = False,
    half: bool = False,
    opset: int = OPSET,
) -> Path:
    """Export a model to an OpenVINO IR folder (model.xml + model.bin) through the ONNX export.

    The folder (default: `<checkpoint>_openvino/` beside the checkpoint) carries the ONNX export's
    metadata in the IR's runtime info (`cocoseg/names`, `stride`, `imgsz`, ...); `half` stores the
    weights as float16 (OpenVINO's CPU plugin computes in float32 either way). Written atomically.
    """
    try:
        import openvino as ov
    except ImportError as exc:
        raise CocosegError("format=openvino needs the openvino package (pip install 'cocoseg[openvino]')") from exc
    import onnx

    out = Path(path) if path else _default_openvino_path(model)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        onnx_path = export_onnx(model, tmp / "model.onnx", imgsz=imgsz, batch=batch, dynamic=dynamic, opset=opset)
        meta = {p.key: p.value for p in onnx.load(str(onnx_path), load_external_data=False).metadata_props}
        ov_model = ov.convert_model(str(onnx_path))
        for key, value in meta.items():
            ov_model.set_rt_info(value, ["cocoseg", key])
        ov.save_model(ov_model, str(tmp / "model.xml"), compress_to_fp16=half)
        onnx_path.unlink()
        _replace_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _default_openvino_path(model: Any) -> Path:
    if isinstance(model, (str, Path)) and Path(model).is_file():
        return Path(model).with_name(f"{Path(model).stem}_openvino")
    name = model.config.name if isinstance(model, SegmentationModel) else Path(str(model)).stem
    return Path(f"{name}_openvino")


def _replace_folder(new: Path, target: Path) -> None:
    """Move the finished folder `new` to `target`, replacing an older export there."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old.{os.getpid()}")
        os.replace(target, old)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
