"""Input/output contract (one forward in both modes, an explicit decode), Conv+BN fusion, the DFL decoder, config."""
from __future__ import annotations

import pytest
import torch

from cocoseg.errors import CocosegError
from cocoseg.models import ModelConfig, build_model
from cocoseg.models.blocks import DFL
from cocoseg.ops import dist_to_box, make_anchors


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = build_model("yolov8n-seg", num_classes=3)
    # non-trivial BN statistics so fusion is really exercised
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 2.0)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.5, 0.5)
    return m


def test_attributes(model):
    assert model.nc == 3 and model.reg_max == 16 and model.num_masks == 32
    assert model.names == {0: "class0", 1: "class1", 2: "class2"}
    assert model.stride.tolist() == [8.0, 16.0, 32.0]
    assert model.config.scale == "n" and model.config.num_classes == 3
    assert len(model.head.box_branches) == len(model.head.cls_branches) == len(model.head.coef_branches) == 3
    assert build_model("yolov8n-seg").names[0] == "person"  # 80 classes default to the COCO names


def test_train_outputs_decode_to_eval_outputs(model):
    """forward returns the same raw outputs in train and eval mode; `infer` (forward, then the explicit
    decode) gives what the raw levels decode to with the public ops."""
    x = torch.rand(2, 3, 96, 64) * 255
    model.train()
    for mod in model.modules():  # train-mode outputs, but with the same (running) BN statistics
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.eval()
    with torch.no_grad():
        levels, coeffs, protos = model(x)
        model.eval()
        eval_levels, eval_coeffs, _ = model(x)
        pred, protos_eval = model.infer(x)
    assert all(torch.equal(a, b) for a, b in zip(levels, eval_levels)) and torch.equal(coeffs, eval_coeffs)
    assert [tuple(t.shape) for t in levels] == [(2, 67, 12, 8), (2, 67, 6, 4), (2, 67, 3, 2)]
    anchors = 96 + 24 + 6
    assert coeffs.shape == (2, 32, anchors) and protos.shape == (2, 32, 24, 16)
    torch.testing.assert_close(protos, protos_eval)
    flat = torch.cat([t.flatten(2) for t in levels], 2)
    points, strides = make_anchors(levels, model.stride)
    assert points.shape == (anchors, 2) and strides.shape == (anchors, 1)
    probs = flat[:, :64].view(2, 4, 16, anchors).softmax(2)
    dist = (probs * torch.arange(16.0).view(1, 1, 16, 1)).sum(2)  # expectation over bins
    boxes = dist_to_box(dist.transpose(1, 2), points) * strides
    torch.testing.assert_close(pred[:, :4].transpose(1, 2), boxes, atol=1e-4, rtol=1e-5)
    torch.testing.assert_close(pred[:, 4:7], flat[:, 64:].sigmoid())
    torch.testing.assert_close(pred[:, 7:], coeffs)


def test_make_anchors_order_is_row_major_per_level():
    points, strides = make_anchors([(2, 3), (1, 1)], [8, 16])
    expected = [[0.5, 0.5], [1.5, 0.5], [2.5, 0.5], [0.5, 1.5], [1.5, 1.5], [2.5, 1.5], [0.5, 0.5]]
    assert points.tolist() == expected
    assert strides.flatten().tolist() == [8.0] * 6 + [16.0]


def test_fusion_preserves_outputs(model):
    import copy

    x = torch.rand(1, 3, 64, 64) * 255
    model.eval()
    fused = copy.deepcopy(model).fuse()
    assert fused.is_fused and not model.is_fused
    with torch.no_grad():
        a, pa = model.infer(x)
        b, pb = fused.infer(x)
    torch.testing.assert_close(a, b, atol=2e-3, rtol=1e-4)
    torch.testing.assert_close(pa, pb, atol=1e-4, rtol=1e-4)


def test_dfl_is_the_expectation_over_bins():
    logits = torch.randn(2, 64, 5)
    out = DFL(16)(logits)
    expected = (logits.view(2, 4, 16, 5).softmax(2) * torch.arange(16.0).view(1, 1, 16, 1)).sum(2)
    torch.testing.assert_close(out, expected)


def test_bias_priors():
    m = build_model("yolov8n-seg", num_classes=80)
    assert torch.all(m.head.box_branches[0][-1].bias == 1.0)
    prior = torch.sigmoid(m.head.cls_branches[0][-1].bias[0]).item()
    assert prior == pytest.approx(5 / 80 / 80**2, rel=1e-3)  # 5 objects over 80 classes on an 80x80 grid


def test_config_round_trip_and_errors():
    cfg = ModelConfig.for_scale("m", 7)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    assert (cfg.ch(64), cfg.ch(1024), cfg.n(3), cfg.n(6)) == (48, 576, 2, 4)
    with pytest.raises(CocosegError, match="unknown keys"):
        ModelConfig.from_dict({**cfg.to_dict(), "widht": 1})
    with pytest.raises(CocosegError, match="unknown model"):
        build_model("yolov8q-seg")
    with pytest.raises(CocosegError, match="names"):
        build_model("yolov8n-seg", num_classes=2, names=["a"])


def test_the_model_normalises_uint8_range_input_itself(model):
    """uint8 and float 0..255 give the same outputs as the network run on x / 255; the buffers stay out of
    the state dict, so the reference's and older checkpoints still load strictly."""
    model.eval()
    x = torch.randint(0, 256, (1, 3, 64, 64), dtype=torch.uint8)
    with torch.no_grad():
        from_uint8, _ = model.infer(x)
        from_float, _ = model.infer(x.float())
        by_hand = model.decode(model.head(model.neck(*model.backbone(x.float() / 255))))[0]
    assert torch.equal(from_uint8, from_float) and torch.equal(from_float, by_hand)
    assert not any(k.startswith("input_") for k in model.state_dict())
    assert model.input_std.flatten().tolist() == [255.0] * 3
