"""Prediction end to end: sources, letterbox round trip, masks in original pixels, COCO outputs, the CLI."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from cocoseg.cli.main import main
from cocoseg.engine.checkpoints import save_checkpoint
from cocoseg.engine.predictor import Predictor
from cocoseg.errors import CocosegError
from cocoseg.io import CocoDataset
from cocoseg.masks import decode, polygons_to_rle
from cocoseg.models import build_model

SHARED = Path(__file__).resolve().parents[2].parent / "shared"



def synthetic_images(n: int = 3) -> list[np.ndarray]:
    """Noisy backgrounds with a few filled shapes, different sizes (BGR uint8)."""
    rng = np.random.default_rng(0)
    images = []
    for k, (h, w) in enumerate([(150, 200), (180, 120), (150, 200)][:n]):
        img = rng.integers(0, 80, (h, w, 3), dtype=np.uint8)
        for _ in range(4):
            x, y, r = int(rng.integers(20, w - 20)), int(rng.integers(20, h - 20)), int(rng.integers(8, 30))
            color = tuple(int(c) for c in rng.integers(100, 255, 3))
            cv2.circle(img, (x, y), r, color, -1) if k % 2 else cv2.rectangle(img, (x - r, y - r), (x + r, y), color, -1)
        images.append(img)
    return images


def calibrated_model() -> torch.nn.Module:
    """A fresh yolov8n-seg whose BN statistics come from real activations and whose class bias puts the
    top 0.5% anchors above 0.5: an untrained network that still gives content-dependent detections."""
    torch.manual_seed(0)
    model = build_model("yolov8n-seg", num_classes=3, names=["disc", "square", "other"])
    batch = torch.stack([torch.from_numpy(cv2.resize(im, (160, 128))[..., ::-1].copy()).permute(2, 0, 1)
                         for im in synthetic_images()])  # uint8: the model normalises its input
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration pass
    with torch.no_grad():
        model.train()(batch)
        model.eval()
        for branch in model.head.cls_branches:
            branch[-1].weight.mul_(2.0)
        scores = model.infer(batch)[0][:, 4:7]
        shift = torch.logit(scores.amax(1).flatten()).quantile(0.995).item()
        for branch in model.head.cls_branches:
            branch[-1].bias.sub_(shift)
    return model


@pytest.fixture(scope="module")
def model():
    return calibrated_model()


@pytest.fixture
def image_dir(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for i, img in enumerate(synthetic_images()):
        cv2.imwrite(str(folder / f"img{i}.png"), img)
    return folder


def test_results_in_original_pixels(model, image_dir):
    results = Predictor(model, imgsz=160, conf=0.3, threads=1)(image_dir)
    assert [Path(r.path).name for r in results] == ["img0.png", "img1.png", "img2.png"]
    assert sum(len(r) for r in results) > 0
    for r, img in zip(results, synthetic_images()):
        h, w = img.shape[:2]
        assert r.image_shape == (h, w) and r.masks is not None and len(r.masks) == len(r)
        assert np.all(np.diff(r.scores) <= 0) and np.all(r.scores > 0.3)
        assert np.all(r.boxes_xyxy >= 0) and np.all(r.boxes_xyxy[:, 2] <= w) and np.all(r.boxes_xyxy[:, 3] <= h)
        bitmaps = r.masks.bitmaps()
        for box, mask in zip(r.boxes_xyxy, bitmaps):
            ys, xs = np.nonzero(mask)
            if len(xs):  # mask pixels lie inside the box (pixel c inside iff x1 <= c < x2)
                assert xs.min() >= np.floor(box[0]) and xs.max() < box[2] and ys.max() < box[3]
        records = r.to_coco(image_id=5)
        assert [rec["category_id"] for rec in records] == (r.classes + 1).tolist()
        if records:
            np.testing.assert_array_equal(decode([rec["segmentation"] for rec in records]), bitmaps)
            x, y, bw, bh = records[0]["bbox"]
            np.testing.assert_allclose([x, y, x + bw, y + bh], r.boxes_xyxy[0], atol=2e-3)
            for parts, mask in zip(r.masks.polygons(), bitmaps):  # offset polygons rasterize back exactly
                if parts:
                    np.testing.assert_array_equal(decode(polygons_to_rle(parts, h, w)), mask)


def test_sources_batches_and_arrays_agree(model, image_dir, tmp_path):
    kw = dict(imgsz=160, conf=0.3, threads=1, rect=False)
    single = Predictor(model, **kw)(image_dir)
    listing = tmp_path / "list.txt"
    listing.write_text("# images\nimages/img0.png\n\nimages/img1.png\nimages/img2.png\n")
    runs = {
        "glob": Predictor(model, **kw)(str(image_dir / "*.png")),
        "list": Predictor(model, **kw)(listing),
        "batch": Predictor(model, batch=2, **kw)(image_dir),
        "arrays": Predictor(model, **kw)([cv2.imread(str(p)) for p in sorted(image_dir.iterdir())]),
    }
    for name, results in runs.items():
        assert [len(r) for r in results] == [len(r) for r in single], name
        for a, b in zip(results, single):  # batched convolutions round differently: near-equal masks
            np.testing.assert_allclose(a.boxes_xyxy, b.boxes_xyxy, atol=1e-3)
            ma, mb = a.masks.bitmaps(), b.masks.bitmaps()
            assert (ma != mb).sum() <= 1e-3 * max(mb.sum(), 1), name


def test_video_source_and_retina_masks(model, tmp_path):
    path = tmp_path / "clip.avi"
    frames = synthetic_images()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5, (200, 150))
    for f in (frames[0], frames[2], frames[0]):
        writer.write(f)
    writer.release()
    results = Predictor(model, imgsz=160, conf=0.3, threads=1, retina_masks=True)(path)
    assert [r.frame for r in results] == [0, 1, 2] and all(r.path == str(path) for r in results)
    proto = Predictor(model, imgsz=160, conf=0.3, threads=1)(path)
    for a, b in zip(results, proto):  # same detections; masks differ only near box borders
        assert len(a) == len(b) and np.array_equal(a.boxes_xyxy, b.boxes_xyxy)
        for box, ma, mb in zip(a.boxes_xyxy, a.masks.bitmaps(), b.masks.bitmaps()):
            # cropping before upsampling changes logits within ~2 prototype cells (4 input px each) of the edges
            m = int(np.ceil(2 * 4 / 0.8)) + 1
            x1, y1, x2, y2 = (int(v) for v in np.round(box))
            assert np.array_equal(ma[y1 + m : y2 - m, x1 + m : x2 - m], mb[y1 + m : y2 - m, x1 + m : x2 - m])


def test_cli_predict_outputs(model, image_dir, tmp_path, caplog):
    weights = save_checkpoint(tmp_path / "best.pt", model)
    dataset = tmp_path / "prelabels.json"
    common = [f"model={weights}", f"source={image_dir}", "imgsz=160", "conf=0.3", "threads=1"]
    assert main(["predict", *common, "save=True", f"project={tmp_path / 'runs'}", f"save_coco={dataset}",
                 "as_dataset=True"]) == 0
    assert sorted(p.name for p in (tmp_path / "runs" / "exp").iterdir()) == ["img0.png", "img1.png", "img2.png"]
    prelabels = CocoDataset.load(dataset)  # a valid COCO dataset
    assert [img["file_name"] for img in prelabels.images] == ["img0.png", "img1.png", "img2.png"]  # no '..'
    assert prelabels.info["images_root"] == str(Path(image_dir).resolve())
    assert [img["id"] for img in prelabels.images] == [1, 2, 3]  # no integer stems: 1..N, mapping beside
    assert json.loads((tmp_path / "prelabels_image_ids.json").read_text())[str(Path(image_dir) / "img0.png")] == 1
    assert [c["name"] for c in prelabels.categories] == ["disc", "square", "other"]
    results_path = tmp_path / "results.json"
    assert main(["predict", *common, f"save_coco={results_path}", f"ann={dataset}"]) == 0
    records = json.loads(results_path.read_text())
    assert len(records) == len(prelabels.annotations)
    assert {r["image_id"] for r in records} <= {img["id"] for img in prelabels.images}
    assert all(isinstance(r["segmentation"]["counts"], str) for r in records)
    drawn = cv2.imread(str(tmp_path / "runs" / "exp" / "img0.png"))
    assert drawn.shape == (150, 200, 3)


def test_errors(model, tmp_path):
    with pytest.raises(CocosegError, match="no such file, folder or glob"):
        Predictor(model, threads=1)(tmp_path / "nothing.jpg")
    with pytest.raises(CocosegError, match="imgsz"):
        Predictor(model, imgsz=0, threads=1)
    assert Predictor(model, imgsz=100, threads=1).imgsz == (128, 128)  # rounded up to the stride, with a warning
    (tmp_path / "notes.md").write_text("x")
    with pytest.raises(CocosegError, match="unsupported file type"):
        Predictor(model, threads=1)(tmp_path / "notes.md")
    assert main(["predict", "model=yolov8n-seg", f"source={tmp_path / 'missing'}"]) == 1


def test_reference_checkpoint_on_real_images():
    ckpt = SHARED / "fixtures" / "reference-yolov8-seg" / "yolov8n-seg-ref.pt"
    images = SHARED / "data" / "coco128-seg" / "images" / "train2017"
    if not ckpt.exists() or not images.exists():
        pytest.skip(f"{SHARED} is absent (the ../shared data is only beside the project in CI and dev)")
    files = sorted(images.glob("*.jpg"))[:2]
    results = Predictor(ckpt, imgsz=320, conf=0.0002, max_det=20, threads=1)(files)
    for r, f in zip(results, files):
        assert r.image_shape == cv2.imread(str(f)).shape[:2] and len(r) <= 20


def test_device_choice(monkeypatch):
    from cocoseg.engine import device

    assert device.select_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(CocosegError, match="CUDA is not available"):
            device.select_device("cuda")
        assert device.select_device(None).type in ("cpu", "mps")
    with pytest.raises(CocosegError, match="not a device"):
        device.select_device("tpu7")
    files = {"/sys/fs/cgroup/cpu.max": "150000 100000"}
    monkeypatch.setattr(device, "_read", lambda path: files.get(path, ""))
    assert device._cgroup_cpu_quota() == 1  # 1.5 CPUs of quota -> 1 whole thread
    files["/sys/fs/cgroup/cpu.max"] = "max 100000"
    assert device._cgroup_cpu_quota() is None
    monkeypatch.setattr(device, "available_cpus", lambda: 8)
    monkeypatch.setattr(device.os, "getloadavg", lambda: (0.2, 0.0, 0.0))
    assert device.default_cpu_threads() == 8  # an idle machine: every core
    monkeypatch.setattr(device.os, "getloadavg", lambda: (5.6, 0.0, 0.0))
    assert device.default_cpu_threads() == 2  # six cores busy elsewhere
