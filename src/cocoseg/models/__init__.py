"""YOLOv8-seg models: blocks, the five scales as data, a registry, checkpoint loading.

Input and output contract of `SegmentationModel`. Images [B, 3, H, W] are RGB with uint8 values
0..255 (a uint8 tensor or any float dtype), H and W multiples of 32; the model normalises them itself
(`model.normalize`, (x - mean) / std with YOLOv8's mean 0 and std 255, non-persistent buffers), so
every caller and every exported graph takes the same input. A = sum over strides 8/16/32 of (H/s)*(W/s);
8400 at 640x640.

- `model(images)`, in train and eval mode alike: the raw head outputs `(levels, coeffs, protos)`,
  which is what `SegmentationLoss` takes:
    levels list of 3 tensors [B, 4*reg_max + nc, H_i, W_i] for strides 8, 16, 32: the first
           4*reg_max channels are box-distribution logits (left, top, right, bottom, reg_max bins
           each, side-major), the last nc channels class logits (before sigmoid).
    coeffs [B, 32, A]: mask coefficients, levels in order P3, P4, P5, each flattened row-major,
           the same anchor order as `cocoseg.ops.make_anchors(levels, model.stride)`.
    protos [B, 32, H/4, W/4]: mask prototypes; an instance mask is sigmoid(coefficients @ protos).
- `model.decode(outputs)` (or `model.infer(images)` = decode(model(images))): `(pred, protos)` with
    pred   [B, 4 + nc + 32, A]: rows 0..3 box centre x, centre y, width, height in input pixels;
           rows 4..4+nc class scores after sigmoid; last 32 rows mask coefficients.
  This is what `cocoseg.ops.postprocess` takes and the layout of the ONNX/OpenVINO exports (outputs
  `pred` and `protos`, input 0..255, metadata `input_range` "0-255").
  Boxes decode as `cocoseg.ops.dist_to_box(expected_distances, anchor_points) * stride`, where the
  expected distance is the softmax-weighted mean of the bins 0..reg_max-1 (`model.head.dfl`).
"""
from cocoseg.models.config import SCALES, ModelConfig
from cocoseg.models.hub import load_model, model_from_state, model_state
from cocoseg.models.profile import ModelInfo, format_info, model_info
from cocoseg.models.reference_import import import_reference_checkpoint
from cocoseg.models.safe_unpickle import UnsafeCheckpointError
from cocoseg.models.yolov8_seg import SegmentationModel
from cocoseg.models.zoo import build_model, list_models, register_model

__all__ = [
    "SCALES", "ModelConfig", "ModelInfo", "SegmentationModel", "UnsafeCheckpointError", "build_model",
    "format_info", "import_reference_checkpoint", "list_models", "load_model", "model_from_state", "model_info",
    "model_state", "register_model",
]

# training: task-aligned assignment and the YOLOv8-seg loss
from cocoseg.models.assigner import TaskAlignedAssigner  # noqa: E402
from cocoseg.models.loss import SegmentationLoss  # noqa: E402

__all__ += ["SegmentationLoss", "TaskAlignedAssigner"]
