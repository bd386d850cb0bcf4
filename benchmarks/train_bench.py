"""Train yolov8n-seg from scratch on the CPU, cocoseg vs the reference: seconds per epoch and final box/mask mAP.

    python benchmarks/train_bench.py [--data coco128|synth] [--epochs N] [--imgsz 320] [--batch 16] [--workers 2]
        [--seed 0] [--set KEY=VALUE ...]
        [--reference-python /path/to/other/venv/bin/python]   (or env COCOSEG_REFERENCE_PYTHON)

--data coco128 (default, 3 epochs): ../shared/data/coco128-seg, the reference's default recipe, imgsz 320,
batch 16, workers 2, train = val = the 128 images as shipped, close_mosaic=0 (the reference turns mosaic off
for the whole run when epochs <= close_mosaic). From scratch, this recipe takes 2 optimizer steps an epoch at
lr ~1e-4 (AdamW, chosen by optimizer=auto): far too few for any mAP in the epochs a CPU affords, so it
measures time. --data synth (15 epochs) measures mAP: cocoseg's synthetic dataset (400 train / 100 val
images, 256 px) exported with cocoseg's converter to the Ultralytics layout, which BOTH sides train on, with
an explicit recipe both accept (the demo's: imgsz 192, batch 8, nbs 8, AdamW lr0 0.003, warmup 0.5 epochs,
close_mosaic 3), scored on the val split, never trained on.

Each side's final last.pt is predicted by its own tool (conf 0.001, max_det 300, masks at the original image
size) into a COCO results file scored by cocoseg's evaluator against the COCO JSON of the same images, so the
two mAPs are measured the same way. Seconds per epoch come from each side's results.csv; each side's line is
printed when known. The reference (Ultralytics) is never a dependency: it runs only when a Python of a
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "coco128-seg"
GT = DATA / "annotations" / "instances_train2017.json"

REFERENCE_TRAIN = r"""
import json, sys, time
from ultralytics import YOLO
yaml_path, project, recipe = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
model = YOLO("yolov8n-seg.yaml")
t = time.perf_counter()
model.train(data=yaml_path, device="cpu", project=project, name="ref", pretrained=False, val=False, plots=False,
            amp=False, **recipe)
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


@dataclass(frozen=True)
class Bench:
    """What each side trains on, what cocoseg validates with, and the COCO JSON both are scored against."""

    ours_train_yaml: Path
    reference_yaml: Path
    ours_val_yaml: Path  # COCO JSON splits: its val image ids are those of `gt`
    gt: Path
    images: Path  # the images of `gt`, predicted by each side
    recipe: dict[str, Any]  # training keys given to both sides as they are


COCO128_RECIPE = {"epochs": 3, "imgsz": 320, "batch": 16, "workers": 2, "close_mosaic": 0}
SYNTH_RECIPE = {"epochs": 15, "imgsz": 192, "batch": 8, "workers": 2, "nbs": 8, "optimizer": "AdamW", "lr0": 0.003,
                "warmup_epochs": 0.5, "close_mosaic": 3}


def read_results(path: Path) -> list[dict]:
    import csv

    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def coco128_bench(tmp: Path, recipe: dict[str, Any]) -> Bench:
    """coco128-seg: the reference reads its shipped YOLO labels, cocoseg the COCO JSON of the same images."""
    text = (f"path: {DATA}\n"
            f"train:\n  images: images/train2017\n  annotations: annotations/instances_train2017.json\n"
            f"val:\n  images: images/train2017\n  annotations: annotations/instances_train2017.json\n"
            "names:\n" + "".join(f"  {i}: '{n}'\n" for i, n in enumerate(_names(GT))))
    ours = tmp / "coco128-seg-coco.yaml"
    ours.write_text(text)
    reference = tmp / "coco128-seg.yaml"
    reference.write_text((DATA / "coco128-seg.yaml").read_text().replace("path: ../datasets/coco128-seg",
                                                                          f"path: {DATA}"))
    return Bench(ours, reference, ours, GT, DATA / "images" / "train2017", recipe)


def synth_bench(tmp: Path, recipe: dict[str, Any]) -> Bench:
    """cocoseg's synthetic data in the Ultralytics layout (cocoseg's converter), the same files for both sides."""
    from cocoseg.convert import convert
    from cocoseg.synth import generate

    synth = generate(tmp / "synth", num_images=500, seed=0, size=(256, 256))
    convert(synth.data_yaml, tmp / "synth-yolo", to="yolo", image_mode="link")
    yolo_yaml = tmp / "synth-yolo" / "data.yaml"
    val = synth.splits["val"]
    return Bench(yolo_yaml, yolo_yaml, synth.data_yaml, val.annotations, val.images_dir, recipe)


def _names(gt: Path) -> list[str]:
    cats = sorted(json.loads(gt.read_text())["categories"], key=lambda c: c["id"])
    return [c["name"] for c in cats]


def score(predictions: Path, gt: Path) -> dict[str, float]:
    """Box and mask mAP of a COCO results file against the COCO JSON `gt` (cocoseg's evaluator)."""
    from cocoseg.eval.evaluator import evaluate

    out = {}
    for iou_type, key in (("bbox", "box"), ("segm", "mask")):
        result = evaluate(str(gt), str(predictions), iou_type)
        out[f"{key}_map"], out[f"{key}_map50"] = round(float(result.ap), 4), round(float(result.ap50), 4)
    return out


def _keys(recipe: dict[str, Any], *names: str) -> list[str]:
    return [f"{k}={recipe[k]}" for k in names]


def run_cocoseg(bench: Bench, tmp: Path) -> dict:
    recipe = bench.recipe
    cmd = [sys.executable, "-m", "cocoseg", "train", f"data={bench.ours_train_yaml}", "model=yolov8n-seg.yaml",
           "device=cpu", "val=False", "plots=False", f"project={tmp}", "name=ours", "cache_labels=False",
           *(f"{k}={v}" for k, v in recipe.items())]
    t = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - t
    run_dir = Path(json.loads(out.stdout.strip().splitlines()[-1])["run_dir"])
    epoch_times = [float(r["time"]) for r in read_results(run_dir / "results.csv")]
    predictions = tmp / "ours_predictions.json"
    # `cocoseg val` of the checkpoint (conf 0.001, max_det 300), saving a COCO results file
    subprocess.run([sys.executable, "-m", "cocoseg", "val", f"model={run_dir / 'weights' / 'last.pt'}",
                    f"data={bench.ours_val_yaml}", *_keys(recipe, "imgsz", "batch", "workers"), "device=cpu",
                    "conf=0.001", "max_det=300", f"save_json={predictions}"], check=True, capture_output=True, text=True)
    return {"seconds_per_epoch": round(sum(epoch_times) / len(epoch_times), 1), "seconds_total": round(seconds, 1),
            **score(predictions, bench.gt)}


def run_reference(bench: Bench, tmp: Path, python: str) -> dict:
    """The reference trains and predicts in its own environment; cocoseg only scores its predictions."""
    out = subprocess.run([python, "-c", REFERENCE_TRAIN, str(bench.reference_yaml), str(tmp / "ref"),
                          json.dumps(bench.recipe)], check=True, capture_output=True, text=True, cwd=tmp)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    save_dir = Path(report["save_dir"])
    # its results.csv `time` is cumulative from the start of its training loop, as ours is per epoch
    rows = read_results(save_dir / "results.csv")
    seconds_per_epoch = float(rows[-1]["time"].strip()) / len(rows)
    raw = tmp / "ref_raw.json"
    subprocess.run([python, "-c", REFERENCE_PREDICT, str(save_dir / "weights" / "last.pt"), str(bench.images),
                    str(bench.recipe["imgsz"]), str(bench.recipe["batch"]), str(raw)],
                   check=True, capture_output=True, text=True, cwd=tmp)
    predictions = tmp / "ref_predictions.json"
    predictions.write_text(json.dumps(coco_results(json.loads(raw.read_text()), bench.gt)))
    return {"seconds_per_epoch": round(seconds_per_epoch, 1), "seconds_total": round(report["seconds"], 1),
            **score(predictions, bench.gt)}


def coco_results(rows: list[dict], gt_path: Path) -> list[dict]:
    """The reference's raw predictions as COCO results (ids by file and category name, compressed RLE)."""
    from pycocotools import mask as mask_utils

    gt = json.loads(gt_path.read_text())
    image_ids = {Path(im["file_name"]).name: im["id"] for im in gt["images"]}
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
    parser.add_argument("--data", choices=("coco128", "synth"), default="coco128")
    for key in ("epochs", "imgsz", "batch", "workers"):
        parser.add_argument(f"--{key}", type=int, default=None, help="default: the recipe's (see the docstring)")
    parser.add_argument("--seed", type=int, default=0, help="training seed, the same on both sides (default: 0)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="another training key for both sides, e.g. --set optimizer=AdamW (repeatable)")
    parser.add_argument("--reference-python", default=os.environ.get("COCOSEG_REFERENCE_PYTHON"))
    args = parser.parse_args()
    if args.data == "coco128" and not DATA.exists():
        sys.exit(f"{DATA} is absent")
    recipe = dict(COCO128_RECIPE if args.data == "coco128" else SYNTH_RECIPE)
    recipe.update({k: getattr(args, k) for k in ("epochs", "imgsz", "batch", "workers") if getattr(args, k)})
    recipe["seed"] = args.seed
    for item in args.set:
        key, _, value = item.partition("=")
        recipe[key] = yaml.safe_load(value)  # typed as the reference's own CLI would: 0.003, True, AdamW
    report: dict = {"data": args.data, "recipe": recipe}
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        bench = (coco128_bench if args.data == "coco128" else synth_bench)(tmp, recipe)
        report["cocoseg"] = run_cocoseg(bench, tmp)
        print(json.dumps({"cocoseg": report["cocoseg"]}), flush=True)
        if args.reference_python:
            report["reference"] = run_reference(bench, tmp, args.reference_python)
            print(json.dumps({"reference": report["reference"]}), flush=True)
            report["time_ratio"] = round(report["cocoseg"]["seconds_per_epoch"]
                                         / report["reference"]["seconds_per_epoch"], 2)
        else:
            report["reference"] = "not run (pass --reference-python or set COCOSEG_REFERENCE_PYTHON)"
    print(json.dumps(report))


if __name__ == "__main__":
    main()
