"""YOLOv8-seg models: blocks, the five scales as data, a registry, checkpoint loading.

Output contract of `SegmentationModel.forward(images)`, images [B, 3, H, W] RGB in 0..1 with H, W
multiples of 32 (A = sum over strides 8/16/32 of (H/s)*(W/s); 8400 at 640x640):

- eval mode (`model.eval()`): a tuple `(pred, protos)`
    pred   [B, 4 + nc + 32, A]: rows 0..3 box centre x, centre y, width, height in input pixels;
           rows 4..4+nc class scores after sigmoid; last 32 rows mask coefficients.
    protos [B, 32, H/4, W/4]: mask prototypes; an instance mask is sigmoid(coefficients @ protos).
  This is also the layout of the ONNX export (outputs named `pred` and `protos`).
- train mode: a tuple `(levels, coeffs, protos)`
    levels list of 3 tensors [B, 4*reg_max + nc, H_i, W_i] for strides 8, 16, 32: the first
           4*reg_max channels are box-distribution logits (left, top, right, bottom, reg_max bins
           each, side-major), the last nc channels class logits (before sigmoid).
    coeffs [B, 32, A]: mask coefficients, levels in order P3, P4, P5, each flattened row-major,
           the same anchor order as `cocoseg.ops.make_anchors(levels, model.stride)`.
    protos [B, 32, H/4, W/4] as in eval mode.
  Decode boxes with `cocoseg.ops.dist_to_box(expected_distances, anchor_points) * stride`, where the
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
