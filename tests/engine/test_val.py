"""In-memory validation equals `cocoseg eval` on the saved predictions; fitness; class-count check."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from cocoseg.engine.validator import ValMetrics, validate_model
from cocoseg.errors import CocosegError


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from cocoseg.engine.checkpoints import save_checkpoint
    from cocoseg.models import build_model
    from cocoseg.synth import generate

    root = tmp_path_factory.mktemp("val")
    data = generate(root / "data", num_images=8, seed=2, size=(64, 64), val_fraction=0.5)
    torch.manual_seed(0)
    net = build_model("yolov8n-seg", 9)
    net.head.init_biases(64)
    save_checkpoint(root / "m.pt", net)
    return root, data


def test_in_memory_metrics_equal_eval_of_saved_predictions(tiny, tmp_path):
    from cocoseg.eval.evaluator import evaluate

    root, data = tiny
    saved = tmp_path / "predictions.json"
    metrics = validate_model(root / "m.pt", str(data.data_yaml), imgsz=64, batch=2, workers=0, conf=0.0001,
                             device="cpu", save_json=str(saved))
    records = json.loads(saved.read_text())
    assert records and {"image_id", "category_id", "bbox", "score", "segmentation"} <= set(records[0])
    gt = data.splits["val"].annotations
    box, mask = evaluate(gt, saved, "bbox"), evaluate(gt, saved, "segm")
    assert metrics.box_map == box.ap and metrics.box_map50 == box.ap50
    assert metrics.mask_map == mask.ap and metrics.mask_map50 == mask.ap50
    assert box.ap50 > 0  # an untrained model at conf 1e-4 still matches some boxes
    # the `cocoseg eval` command on the saved file says the same
    from cocoseg.cli.main import main

    for iou_type, (ap, ap50) in (("bbox", (metrics.box_map, metrics.box_map50)),
                                 ("segm", (metrics.mask_map, metrics.mask_map50))):
        out = tmp_path / f"{iou_type}.json"
        assert main(["eval", str(gt), str(saved), f"--iou_type={iou_type}", f"--out={out}", "--per_class=False"]) == 0
        reported = json.loads(out.read_text())["metrics"]
        assert (reported["ap"], reported["ap50"]) == (ap, ap50)
    # pycocotools agrees on the saved file too
    pytest.importorskip("pycocotools")
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(gt))
        ev = COCOeval(coco, coco.loadRes(str(saved)), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert np.isclose(ev.stats[0], metrics.box_map, atol=1e-12) and np.isclose(ev.stats[1], metrics.box_map50, atol=1e-12)


def test_fitness_weights_map50_and_map():
    m = ValMetrics(box_map=0.5, box_map50=0.8, mask_map=0.4, mask_map50=0.7)
    assert m.fitness == pytest.approx(0.1 * 1.5 + 0.9 * 0.9)


def test_class_count_mismatch_is_a_clear_error(tiny, tmp_path):
    from cocoseg.engine.checkpoints import save_checkpoint
    from cocoseg.models import build_model

    root, data = tiny
    path = save_checkpoint(tmp_path / "m3.pt", build_model("yolov8n-seg", 3))
    with pytest.raises(CocosegError, match="3 classes"):
        validate_model(path, str(data.data_yaml), imgsz=64, workers=0, device="cpu")


def test_save_json_true_means_the_run_folder(tiny, tmp_path, monkeypatch):
    from cocoseg.cli.main import main

    root, data = tiny
    monkeypatch.chdir(tmp_path)
    args = ["val", f"model={root / 'm.pt'}", f"data={data.data_yaml}", "imgsz=64", "batch=4", "workers=0",
            "device=cpu", "save_json=True", f"project={tmp_path / 'runs'}"]
    assert main(args) == 0
    assert not (tmp_path / "True").exists()
    assert isinstance(json.loads((tmp_path / "runs" / "val" / "predictions.json").read_text()), list)
    assert main(args[:-2] + ["save_json=False"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]


def test_val_of_an_onnx_export_matches_the_checkpoint(tiny, tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    from cocoseg.cli.main import main
    from cocoseg.engine.export import export_onnx

    root, data = tiny
    onnx_path = export_onnx(root / "m.pt", tmp_path / "m.onnx", imgsz=64)  # static: val takes its 64
    common = [f"data={data.data_yaml}", "batch=4", "workers=0", "device=cpu", "conf=0.0001"]
    assert main(["val", f"model={onnx_path}", *common]) == 0
    from_onnx = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    torch_metrics = validate_model(root / "m.pt", str(data.data_yaml), imgsz=64, batch=4, workers=0, conf=0.0001,
                                   device="cpu")
    assert from_onnx["box_map50"] > 0
    for key, value in torch_metrics.as_dict().items():
        assert from_onnx[key] == pytest.approx(value, abs=0.02), key


def test_rect_batches_follow_the_reference_rule(tiny, capsys):
    from cocoseg.cli.main import main
    from cocoseg.engine.validator import rect_batch_shapes

    # sorted aspect ratios h/w; imgsz 320, stride 32, pad 0.5: ceil(side * 10 + 0.5) * 32
    shapes = rect_batch_shapes([(240, 320), (300, 320), (320, 320), (320, 240), (480, 320)], 2, 320)
    # batch 1 is wide (max h/w 0.9375): H ceil(9.375 + 0.5) = 10 strides, W ceil(10.5) = 11; batch 2 spans
    # h/w = 1: square; batch 3 is tall (min h/w 1.5): W ceil(6.67 + 0.5) = 8 strides
    assert shapes == [(320, 352), (352, 352), (352, 256)]
    root, data = tiny
    assert main(["val", f"model={root / 'm.pt'}", f"data={data.data_yaml}", "imgsz=64", "batch=4", "workers=0",
                 "device=cpu", "rect=True"]) == 0
    assert set(json.loads(capsys.readouterr().out.strip().splitlines()[-1])) >= {"box_map", "mask_map"}
    from cocoseg.data import SegmentationDataset
    from cocoseg.data.split_labels import load_split_labels
    from cocoseg.engine.validator import Validator

    split = load_split_labels(str(data.data_yaml), "val", need_gt=True)
    rect = Validator(split.gt, SegmentationDataset(split.labels, 64, with_masks=False), batch=4, rect=True)
    assert tuple(next(iter(rect.loader()))["img"].shape[-2:]) == (96, 96)  # 64 x 64 images: ceil(2 + 0.5) strides
