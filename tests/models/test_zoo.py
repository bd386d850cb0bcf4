"""Every registered scale: parameter counts, GFLOPs and the output contract on a tiny input."""
from __future__ import annotations

import pytest
import torch

from cocoseg.models import build_model, list_models, model_info

# published parameter counts (M, 0.1 precision) and true / table-convention GFLOPs at 640
TABLE = {
    "yolov8n-seg": (3.4, 12.0, 12.6),
    "yolov8s-seg": (11.8, 40.1, 42.6),
    "yolov8m-seg": (27.3, 104.5, 110.2),
    "yolov8l-seg": (46.0, 210.4, 220.5),
    "yolov8x-seg": (71.8, 328.4, 344.1),
}


def test_registry_lists_the_five_scales():
    assert list_models() == list(TABLE)


@pytest.mark.parametrize("name", list(TABLE))
def test_params_and_gflops_match_the_table(name):
    with torch.device("meta"):
        model = build_model(name)
    info = model_info(model, 640)
    params_m, gflops, gflops_table = TABLE[name]
    assert round(info.params / 1e6, 1) == params_m
    assert round(info.gflops, 1) == gflops
    assert round(info.gflops_table_convention, 1) == gflops_table
    assert info.params_fused < info.params  # BN affine params folded away


def test_exact_param_counts_of_the_reference_fixtures():
    with torch.device("meta"):
        assert sum(p.numel() for p in build_model("yolov8n-seg").parameters()) == 3_409_968
        assert sum(p.numel() for p in build_model("yolov8n-seg", num_classes=3).parameters()) == 3_264_201


@pytest.mark.parametrize("name", list(TABLE))
def test_forward_contract_at_64px(name):
    torch.manual_seed(0)
    model = build_model(name, num_classes=5).eval()
    with torch.no_grad():
        pred, protos = model.infer(torch.rand(1, 3, 64, 64) * 255)
    assert pred.shape == (1, 4 + 5 + 32, 8 * 8 + 4 * 4 + 2 * 2)
    assert protos.shape == (1, 32, 16, 16)
    scores = pred[:, 4:9]
    assert torch.all((scores >= 0) & (scores <= 1))
    assert torch.isfinite(pred).all()
