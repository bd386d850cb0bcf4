"""Train yolov8n-seg from scratch on coco128-seg on the CPU: seconds per epoch and final box/mask mAP.

    python benchmarks/train_bench.py [--epochs 3] [--imgsz 320] [--batch 16] [--workers 2]
        [--reference-python /path/to/other/venv/bin/python]   (or env COCOSEG_REFERENCE_PYTHON)

Both trainings use the same settings (imgsz 320, batch 16, workers 2, CPU, the default recipe, train =
val = the 128 images as shipped, close_mosaic=0 because the reference turns mosaic off for the whole
run when epochs <= close_mosaic). Each side's final last.pt (the reference's through cocoseg's
reference-checkpoint importer) is predicted by `cocoseg val` (conf 0.001, max_det 300) into a COCO results
file scored by cocoseg's evaluator, so the two mAPs are measured the same way and compare the trained
weights. Seconds per epoch come from each side's results.csv; each side's line is printed when known. The reference (Ultralytics) is never a dependency: it runs only when a Python of a
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
    """`cocoseg val` of `weights` (a cocoseg checkpoint or, through cocoseg's importer, a reference one)
    saving a COCO results file, then scored: both sides' weights go through the same prediction
    (conf 0.001, max_det 300) and the same evaluator."""
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
    """The reference trains in its own environment; its last.pt is predicted by cocoseg (its own
    `val(save_json=True)` writes no predictions.json for this dataset layout)."""
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
    return {"seconds_per_epoch": round(seconds_per_epoch, 1), "seconds_total": round(report["seconds"], 1),
            **predict_and_score(save_dir / "weights" / "last.pt", coco_yaml(tmp), args, tmp / "ref_predictions.json")}


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
