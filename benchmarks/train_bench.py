"""Train yolov8n-seg from scratch on coco128-seg on the CPU: seconds per epoch and final box/mask mAP.

    python benchmarks/train_bench.py [--epochs 3] [--imgsz 320] [--batch 16] [--workers 2]
        [--reference-python /path/to/other/venv/bin/python]   (or env COCOSEG_REFERENCE_PYTHON)

Both trainings use the same settings (imgsz 320, batch 16, workers 2, CPU, the default recipe, train =
val = the 128 images as shipped, close_mosaic=0 because the reference turns mosaic off for the whole
run when epochs <= close_mosaic). Each side's final last.pt is predicted by its own tool (conf 0.001,
max_det 300, masks at the original image size) into a COCO results file scored by cocoseg's evaluator
against the COCO JSON of the same images, so the two mAPs are measured the same way. Seconds per epoch come from each side's results.csv; each side's line is printed when known. The reference (Ultralytics) is never a dependency: it runs only when a Python of a
separate environment that has it installed is given.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "coco128-seg"
GT = DATA / "annotations" / "instances_train2017.json"

REFERENCE_TRAIN = r"""
import json, sys, time
from ultralytics import YOLO
yaml_path, epochs, imgsz, batch, workers, project = sys.argv[1:7]
model = YOLO("yolov8n-seg.yaml")
t = time.perf_counter()
model.train(data=yaml_path, epochs=int(epochs), imgsz=int(imgsz), batch=int(batch), workers=int(workers), device="cpu",
            project=project, name="ref", pretrained=False, val=False, plots=False, amp=False, close_mosaic=0)
print(json.dumps({"seconds": time.perf_counter() - t, "save_dir": str(model.trainer.save_dir)}))
"""


# the reference's own prediction of its last.pt (its val(save_json=True) writes no predictions.json for this
# dataset layout, and cocoseg's importer does not read this version's checkpoints): masks at the original
# image size, written as uncompressed COCO RLE with numpy only (its environment has no pycocotools)
REFERENCE_PREDICT = r"""
import json, sys
from pathlib import Path
import numpy as np
from ultralytics import YOLO
weights, images, imgsz, batch, out = sys.argv[1:6]
model = YOLO(weights)
rows = []
for r in model.predict(source=images, imgsz=int(imgsz), conf=0.001, max_det=300, device="cpu", batch=int(batch),
                       retina_masks=True, stream=True, verbose=False):
    masks = r.masks.data.numpy() > 0.5 if r.masks is not None else []
    for box, score, cls, mask in zip(r.boxes.xyxy.tolist(), r.boxes.conf.tolist(), r.boxes.cls.tolist(), masks):
        flat = mask.flatten(order="F").astype(np.int8)
        change = np.flatnonzero(np.diff(flat)) + 1
        edges = np.concatenate([[0], change, [flat.size]])
        counts = np.diff(edges).tolist()
        if flat[0]:
            counts = [0] + counts
        rows.append({"file": Path(r.path).name, "name": r.names[int(cls)], "score": score, "box": box,
                     "size": list(mask.shape), "counts": counts})
Path(out).write_text(json.dumps(rows))
"""


def read_results(path: Path) -> list[dict]:
    import csv

    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def coco_yaml(tmp: Path) -> Path:
    """coco128-seg as COCO JSON splits (train = val, the 128 images), for cocoseg's loader."""
    text = (f"path: {DATA}\n"
            f"train:\n  images: images/train2017\n  annotations: annotations/instances_train2017.json\n"
            f"val:\n  images: images/train2017\n  annotations: annotations/instances_train2017.json\n"
            "names:\n" + "".join(f"  {i}: '{n}'\n" for i, n in enumerate(_names())))
    out = tmp / "coco128-seg-coco.yaml"
    out.write_text(text)
    return out


def _names() -> list[str]:
    cats = sorted(json.loads(GT.read_text())["categories"], key=lambda c: c["id"])
    return [c["name"] for c in cats]


def score(predictions: Path) -> dict[str, float]:
    """Box and mask mAP of a COCO results file against coco128's COCO JSON (cocoseg's evaluator)."""
    from cocoseg.eval.evaluator import evaluate

    out = {}
    for iou_type, key in (("bbox", "box"), ("segm", "mask")):
        result = evaluate(str(GT), str(predictions), iou_type)
        out[f"{key}_map"], out[f"{key}_map50"] = round(float(result.ap), 4), round(float(result.ap50), 4)
    return out


def predict_and_score(weights: Path, data: Path, args: argparse.Namespace, out: Path) -> dict[str, float]:
    """`cocoseg val` of a cocoseg checkpoint (conf 0.001, max_det 300) saving a COCO results file, scored."""
    subprocess.run([sys.executable, "-m", "cocoseg", "val", f"model={weights}", f"data={data}", f"imgsz={args.imgsz}",
                    f"batch={args.batch}", f"workers={args.workers}", "device=cpu", "conf=0.001", "max_det=300",
                    f"save_json={out}"], check=True, capture_output=True, text=True)
    return score(out)


def run_cocoseg(args: argparse.Namespace, tmp: Path) -> dict:
    data = coco_yaml(tmp)
    cmd = [sys.executable, "-m", "cocoseg", "train", f"data={data}", "model=yolov8n-seg", f"epochs={args.epochs}",
           f"imgsz={args.imgsz}", f"batch={args.batch}", f"workers={args.workers}", "device=cpu", "val=False",
           "plots=False", f"project={tmp}", "name=ours", "cache_labels=False", "close_mosaic=0"]
    t = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - t
    run_dir = Path(json.loads(out.stdout.strip().splitlines()[-1])["run_dir"])
    epoch_times = [float(r["time"]) for r in read_results(run_dir / "results.csv")]
    return {"seconds_per_epoch": round(sum(epoch_times) / len(epoch_times), 1), "seconds_total": round(seconds, 1),
            **predict_and_score(run_dir / "weights" / "last.pt", data, args, tmp / "ours_predictions.json")}


def run_reference(args: argparse.Namespace, tmp: Path) -> dict:
    """The reference trains and predicts in its own environment; cocoseg only scores its predictions."""
    yaml_text = (DATA / "coco128-seg.yaml").read_text().replace("path: ../datasets/coco128-seg", f"path: {DATA}")
    yaml_path = tmp / "coco128-seg.yaml"
    yaml_path.write_text(yaml_text)
    out = subprocess.run([args.reference_python, "-c", REFERENCE_TRAIN, str(yaml_path), str(args.epochs),
                          str(args.imgsz), str(args.batch), str(args.workers), str(tmp / "ref")],
                         check=True, capture_output=True, text=True, cwd=tmp)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    save_dir = Path(report["save_dir"])
    # its results.csv `time` is cumulative from the start of its training loop, as ours is per epoch
    rows = read_results(save_dir / "results.csv")
    seconds_per_epoch = float(rows[-1]["time"].strip()) / len(rows)
    raw = tmp / "ref_raw.json"
    subprocess.run([args.reference_python, "-c", REFERENCE_PREDICT, str(save_dir / "weights" / "last.pt"),
                    str(DATA / "images" / "train2017"), str(args.imgsz), str(args.batch), str(raw)],
                   check=True, capture_output=True, text=True, cwd=tmp)
    preds = tmp / "ref_predictions.json"
    preds.write_text(json.dumps(coco_results(json.loads(raw.read_text()))))
    return {"seconds_per_epoch": round(seconds_per_epoch, 1), "seconds_total": round(report["seconds"], 1),
            **score(preds)}


def coco_results(rows: list[dict]) -> list[dict]:
    """The reference's raw predictions as COCO results (ids by file and category name, compressed RLE)."""
    from pycocotools import mask as mask_utils

    gt = json.loads(GT.read_text())
    image_ids = {im["file_name"]: im["id"] for im in gt["images"]}
    cat_ids = {c["name"]: c["id"] for c in gt["categories"]}
    out = []
    for r in rows:
        h, w = r["size"]
        rle = mask_utils.frPyObjects({"size": [h, w], "counts": r["counts"]}, h, w)
        rle["counts"] = rle["counts"].decode("ascii")
        x1, y1, x2, y2 = r["box"]
        out.append({"image_id": image_ids[r["file"]], "category_id": cat_ids[r["name"]], "score": r["score"],
                    "bbox": [x1, y1, x2 - x1, y2 - y1], "segmentation": rle})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--imgsz", type=int, default=320)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reference-python", default=os.environ.get("COCOSEG_REFERENCE_PYTHON"))
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"{DATA} is absent")
    report: dict = {"epochs": args.epochs, "imgsz": args.imgsz, "batch": args.batch, "workers": args.workers}
    with tempfile.TemporaryDirectory() as tmp:
        report["cocoseg"] = run_cocoseg(args, Path(tmp))
        print(json.dumps({"cocoseg": report["cocoseg"]}), flush=True)
        if args.reference_python:
            report["reference"] = run_reference(args, Path(tmp))
            print(json.dumps({"reference": report["reference"]}), flush=True)
            report["time_ratio"] = round(report["cocoseg"]["seconds_per_epoch"]
                                         / report["reference"]["seconds_per_epoch"], 2)
        else:
            report["reference"] = "not run (pass --reference-python or set COCOSEG_REFERENCE_PYTHON)"
    print(json.dumps(report))

if __name__ == "__main__":
    main()
