"""Train yolov8n-seg from scratch on coco128-seg on the CPU: seconds per epoch and final box/mask mAP.

    python benchmarks/train_bench.py [--epochs 3] [--imgsz 320] [--batch 16] [--workers 2]
        [--reference-python /path/to/other/venv/bin/python]   (or env COCOSEG_REFERENCE_PYTHON)

Both trainings use the same settings (imgsz 320, batch 16, workers 2, CPU, the default recipe, train =
val = the 128 images as shipped, close_mosaic=0 because the reference turns mosaic off for the whole
run when epochs <= close_mosaic); each final model's predictions are saved as a COCO results file and
scored by cocoseg's evaluator against the COCO JSON of the same images, so the two mAPs are measured
the same way. The reference (Ultralytics) is never a dependency: it runs only when a Python of a
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
seconds = time.perf_counter() - t
metrics = model.val(data=yaml_path, imgsz=int(imgsz), batch=int(batch), save_json=True, project=project, name="refval",
                    plots=False, device="cpu")
print(json.dumps({"seconds": seconds, "json": str(metrics.save_dir / "predictions.json")}))
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


def run_cocoseg(args: argparse.Namespace, tmp: Path) -> dict:
    data = coco_yaml(tmp)
    cmd = [sys.executable, "-m", "cocoseg", "train", f"data={data}", "model=yolov8n-seg", f"epochs={args.epochs}",
           f"imgsz={args.imgsz}", f"batch={args.batch}", f"workers={args.workers}", "device=cpu", "val=False",
           "plots=False", f"project={tmp}", "name=ours", "cache_labels=False", "close_mosaic=0"]
    t = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - t
    run_dir = Path(json.loads(out.stdout.strip().splitlines()[-1])["run_dir"])
    preds = tmp / "ours_predictions.json"
    subprocess.run([sys.executable, "-m", "cocoseg", "val", f"model={run_dir / 'weights' / 'last.pt'}", f"data={data}",
                    f"imgsz={args.imgsz}", f"batch={args.batch}", f"workers={args.workers}", "device=cpu",
                    f"save_json={preds}"], check=True, capture_output=True, text=True)
    epoch_times = [float(r["time"]) for r in read_results(run_dir / "results.csv")]
    return {"seconds_per_epoch": round(sum(epoch_times) / len(epoch_times), 1),
            "seconds_total": round(seconds, 1), **score(preds)}


def run_reference(args: argparse.Namespace, tmp: Path) -> dict:
    yaml_text = (DATA / "coco128-seg.yaml").read_text().replace("path: ../datasets/coco128-seg", f"path: {DATA}")
    yaml_path = tmp / "coco128-seg.yaml"
    yaml_path.write_text(yaml_text)
    out = subprocess.run([args.reference_python, "-c", REFERENCE_TRAIN, str(yaml_path), str(args.epochs),
                          str(args.imgsz), str(args.batch), str(args.workers), str(tmp / "ref")],
                         check=True, capture_output=True, text=True, cwd=tmp)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    # its JSON uses COCO-91 category ids for the 80 names, which are coco128's category ids; its time
    # includes its per-epoch overheads (dataloader start), as the results.csv time of ours does
    return {"seconds_per_epoch": round(report["seconds"] / args.epochs, 1), **score(Path(report["json"]))}


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
    with tempfile.TemporaryDirectory() as tmp:
        report: dict = {"epochs": args.epochs, "imgsz": args.imgsz, "batch": args.batch, "workers": args.workers,
                        "cocoseg": run_cocoseg(args, Path(tmp))}
        if args.reference_python:
            report["reference"] = run_reference(args, Path(tmp))
            report["time_ratio"] = round(report["cocoseg"]["seconds_per_epoch"]
                                         / report["reference"]["seconds_per_epoch"], 2)
        else:
            report["reference"] = "not run (pass --reference-python or set COCOSEG_REFERENCE_PYTHON)"
    print(json.dumps(report))


if __name__ == "__main__":
    main()
