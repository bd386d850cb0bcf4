"""Training-loader throughput (images/s) with mosaic on coco128-seg: cocoseg vs the reference loader.

    python benchmarks/dataloader_bench.py [--imgsz 640] [--workers 2] [--batch 16] [--batches 24]
        [--reference-python /path/to/other/venv/bin/python]   (or env COCOSEG_REFERENCE_PYTHON)

The reference (Ultralytics) is never a dependency: it is timed only when a Python of a separate
environment that has it installed is given, in its own process, on the same images and settings
(mosaic 1.0, the default augmentation, overlap masks, mask ratio 4). Each loader runs in a fresh
process; the first batch (worker start-up) is excluded from the timing.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "coco128-seg"

COCOSEG = r"""
import json, sys, time, torch
from cocoseg.data import SegmentationDataset, collate
from cocoseg.data.labels import parse_coco
from cocoseg.io import CocoDataset
root, imgsz, workers, batch, batches = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
coco = CocoDataset.load(f"{root}/annotations/instances_train2017.json")
ds = SegmentationDataset(parse_coco(coco, f"{root}/images/train2017"), imgsz, augment=True)
loader = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, num_workers=workers, collate_fn=collate,
                                     persistent_workers=workers > 0, generator=torch.Generator().manual_seed(0))
n, t0, seen = 0, None, 0
while seen < batches:
    for b in loader:
        seen += 1
        if t0 is None:
            t0 = time.perf_counter()
        else:
            n += len(b["img"])
        if seen >= batches:
            break
print(json.dumps({"images_per_s": n / (time.perf_counter() - t0)}))
"""

REFERENCE = r"""
import json, sys, time
from ultralytics.cfg import get_cfg
from ultralytics.data import build_dataloader, build_yolo_dataset
from ultralytics.data.utils import check_det_dataset
yaml_path, imgsz, workers, batch, batches = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
cfg = get_cfg(overrides={"task": "segment", "imgsz": imgsz, "mosaic": 1.0})
data = check_det_dataset(yaml_path)
ds = build_yolo_dataset(cfg, data["train"], batch, data, mode="train")
loader = build_dataloader(ds, batch, workers, shuffle=True)
n, t0, seen = 0, None, 0
while seen < batches:
    for b in loader:
        seen += 1
        if t0 is None:
            t0 = time.perf_counter()
        else:
            n += len(b["img"])
        if seen >= batches:
            break
print(json.dumps({"images_per_s": n / (time.perf_counter() - t0)}))
"""


def reference_yaml(tmp: Path) -> Path:
    """coco128-seg's YAML with an absolute path (the shipped one assumes ../datasets)."""
    text = (DATA / "coco128-seg.yaml").read_text().replace("path: ../datasets/coco128-seg", f"path: {DATA}")
    out = tmp / "coco128-seg.yaml"
    out.write_text(text)
    return out


def run(python: str, script: str, args: list[str]) -> float:
    """images/s reported by `script` run in a fresh `python` process."""
    out = subprocess.run([python, "-c", script, *args], check=True, capture_output=True, text=True,
                         cwd=tempfile.gettempdir())
    return float(json.loads(out.stdout.strip().splitlines()[-1])["images_per_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--batches", type=int, default=24, help="batches timed (after the first)")
    parser.add_argument("--reference-python", default=os.environ.get("COCOSEG_REFERENCE_PYTHON"),
                        help="python of a separate environment with ultralytics installed")
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"{DATA} is absent")
    common = [str(args.imgsz), str(args.workers), str(args.batch), str(args.batches)]
    ours = run(sys.executable, COCOSEG, [str(DATA), *common])
    report = {"imgsz": args.imgsz, "workers": args.workers, "batch": args.batch, "cocoseg_images_per_s": round(ours, 1)}
    if args.reference_python:
        with tempfile.TemporaryDirectory() as tmp:
            ref = run(args.reference_python, REFERENCE, [str(reference_yaml(Path(tmp))), *common])
        report.update(reference_images_per_s=round(ref, 1), speedup=round(ours / ref, 2))
    else:
        report["reference"] = "not run (pass --reference-python or set COCOSEG_REFERENCE_PYTHON)"
    print(json.dumps(report))


if __name__ == "__main__":
    main()
