"""End-to-end YOLOv8n-seg prediction latency on CPU: read, preprocess, forward, NMS, masks, per image.

    python benchmarks/predict_bench.py [--model PATH] [--images DIR] [--n 16] [--imgsz 640] [--conf 0.002]
        [--threads N] [--ref-python PATH]

Runs cocoseg with torch (all cores, and 1 thread like the reference's default), with ONNX Runtime and
with OpenVINO (when installed: `cocoseg[openvino]`), and, where `--ref-python` (or $COCOSEG_REF_PYTHON /
$COCOSEG_REFERENCE_PYTHON) names a Python that has the reference package installed (a separate
environment, never a cocoseg dependency), the reference implementation on the same images with the
same weights, in a subprocess (also through the reference's own OpenVINO export where that environment
has openvino); then prints each total as a ratio of the reference's, the range over the rounds, and
OpenVINO's total as a ratio of ONNX Runtime's.

The default weights are the random-weight reference fixture (../shared); `--conf 0.002` gives it a few
dozen detections per image so that the mask post-processing is exercised. With released COCO weights
use `--model yolov8n-seg.pt --conf 0.25`.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEFAULT_MODEL = SHARED / "fixtures" / "reference-yolov8-seg" / "yolov8n-seg-nc3-ref.pt"
DEFAULT_IMAGES = SHARED / "data" / "coco128-seg" / "images" / "train2017"
PHASES = ("read", "preprocess", "forward", "nms", "masks")

REFERENCE_CHILD = """
import json, sys, time
import cv2
from ultralytics import YOLO
model_path, imgsz, conf, fmt, files = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5:]
model = YOLO(model_path)
if fmt == "openvino":
    model = YOLO(model.export(format="openvino", imgsz=imgsz, dynamic=True), task="segment")
kw = dict(imgsz=imgsz, conf=conf, device="cpu", verbose=False)
for f in files[:2]:
    model.predict(cv2.imread(f), **kw)  # warm-up
rows = []
for f in files:
    t0 = time.perf_counter()
    image = cv2.imread(f)
    t1 = time.perf_counter()
    r = model.predict(image, **kw)[0]
    t2 = time.perf_counter()
    s = r.speed
    rows.append({"read": (t1 - t0) * 1e3, "preprocess": s["preprocess"], "forward": s["inference"],
                 "postprocess": s["postprocess"], "total": (t2 - t0) * 1e3, "detections": len(r)})
import torch
print(json.dumps({"threads": torch.get_num_threads(), "rows": rows}))
"""


def run_cocoseg(model: str | Path, files: list[Path], imgsz: int, conf: float, threads: int | None) -> dict:
    """Per-image phase times (ms) of cocoseg's Predictor; the first two images warm up."""
    from cocoseg.engine.device import set_cpu_threads
    from cocoseg.engine.predictor import Predictor

    threads = set_cpu_threads(threads)  # torch's count is the application's to set
    predictor = Predictor(model, imgsz=imgsz, conf=conf, threads=threads)
    list(predictor.stream(files[:2]))
    rows = []
    for f in files:
        t0 = time.perf_counter()
        (result,) = predictor.stream(f)
        total = (time.perf_counter() - t0) * 1e3
        rows.append({**{k: result.speed[k] for k in PHASES}, "total": total, "detections": len(result)})
    return {"threads": predictor.threads, "rows": rows}


def run_reference(python: str, model: Path, files: list[Path], imgsz: int, conf: float,
                  fmt: str = "torch") -> dict | None:
    """The reference implementation in its own interpreter (`fmt` torch or openvino: its own export of
    the same weights); None (with the reason) if it cannot run."""
    cmd = [python, "-c", REFERENCE_CHILD, str(model), str(imgsz), str(conf), fmt, *map(str, files)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"reference: could not run with {python}:\n{proc.stderr.strip()[-800:]}")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def medians(run: dict) -> dict:
    """Median of each phase over the images, plus the mean detection count."""
    rows = run["rows"]
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0] if k != "detections"}
    med["detections"] = statistics.mean(r["detections"] for r in rows)
    med["threads"] = run["threads"]
    return med


def report(name: str, med: dict, reference_total: float | None, totals: list[float]) -> None:
    post = med.get("postprocess", med.get("nms", 0) + med.get("masks", 0))
    phases = " ".join(f"{k} {med[k]:6.1f}" for k in ("read", "preprocess", "forward"))
    detail = f"nms {med['nms']:5.1f} masks {med['masks']:6.1f}" if "nms" in med else f"nms+masks {post:6.1f}"
    det = med["detections"]
    per_det = f"{post / det:5.2f}" if det else "    -"
    ratio = f"{med['total'] / reference_total:5.2f}x ref" if reference_total else ""
    spread = f"[{min(totals):6.1f}..{max(totals):6.1f}]"
    print(f"{name:22s} {med['threads']:>2} thr  {phases}  {detail}  post/det {per_det} ms  "
          f"total {med['total']:6.1f} ms {spread}  dets {det:5.1f}  {ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--images", type=Path, default=DEFAULT_IMAGES)
    parser.add_argument("--n", type=int, default=16, help="images timed (after 2 warm-up images)")
    parser.add_argument("--imgsz", type=int, default=640)
    parser.add_argument("--conf", type=float, default=0.002)
    parser.add_argument("--threads", type=int, default=None,
                        help="cocoseg CPU threads besides the 1-thread run (default: every core)")
    parser.add_argument("--repeat", type=int, default=1, help="interleaved rounds; the fastest round is kept")
    parser.add_argument("--ref-python",
                        default=os.environ.get("COCOSEG_REF_PYTHON") or os.environ.get("COCOSEG_REFERENCE_PYTHON"),
                        help="a Python with the reference package installed (or $COCOSEG_REF_PYTHON)")
    args = parser.parse_args()
    if not args.model.exists() or not args.images.exists():
        sys.exit(f"missing {args.model} or {args.images} (pass --model and --images)")
    files = sorted(p for p in args.images.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[: args.n]

    from cocoseg.engine.device import available_cpus, default_cpu_threads
    from cocoseg.engine.export import export_onnx

    onnx_path = Path(tempfile.mkdtemp()) / "model.onnx"
    export_onnx(args.model, onnx_path, imgsz=args.imgsz, dynamic=True)
    openvino_path = _openvino_export(args.model, onnx_path.with_name("model_openvino"), args.imgsz)
    print(f"{args.model.name}, {len(files)} images from {args.images}, imgsz {args.imgsz}, conf {args.conf}; "
          f"median ms per image, best of {args.repeat} round(s)")
    runs: dict[str, Callable[[], dict | None]] = {}
    if args.ref_python:
        runs["reference"] = lambda: run_reference(args.ref_python, args.model, files, args.imgsz, args.conf)
        runs["reference openvino"] = lambda: run_reference(args.ref_python, args.model, files, args.imgsz,
                                                           args.conf, "openvino")
    else:
        print("reference: not run (give --ref-python or COCOSEG_REF_PYTHON: a separate env with the reference)")
    print(f"cocoseg's default thread count now: {default_cpu_threads()} of {available_cpus()} cores (load-aware)")
    # the default (load-aware) count, every core, and 1 thread like the reference
    for label, threads in (("default", None), ("all", args.threads or available_cpus()), ("1", 1)):
        runs[f"cocoseg torch/{label}"] = lambda t=threads: run_cocoseg(args.model, files, args.imgsz, args.conf, t)
        runs[f"cocoseg onnx/{label}"] = lambda t=threads: run_cocoseg(onnx_path, files, args.imgsz, args.conf, t)
        if openvino_path is not None:
            runs[f"cocoseg openvino/{label}"] = lambda t=threads: run_cocoseg(openvino_path, files, args.imgsz,
                                                                             args.conf, t)
    best: dict[str, dict] = {}
    totals: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        for name, fn in runs.items():
            run = fn()
            if run is None:
                continue
            totals.setdefault(name, []).append(medians(run)["total"])
            if name not in best or medians(run)["total"] < best[name]["total"]:
                best[name] = medians(run)
    ref_total = best["reference"]["total"] if "reference" in best else None
    for name, med in best.items():
        report(name.replace("/", " "), med, ref_total if not name.startswith("reference") else None, totals[name])
    for label in ("default", "all", "1"):
        ov, ort = best.get(f"cocoseg openvino/{label}"), best.get(f"cocoseg onnx/{label}")
        if ov and ort:
            pairs = [a / b for a, b in zip(totals[f"cocoseg openvino/{label}"], totals[f"cocoseg onnx/{label}"])]
            print(f"openvino / onnxruntime ({label} threads): {ov['total'] / ort['total']:.2f}x best-of, "
                  f"{min(pairs):.2f}..{max(pairs):.2f}x per round")


def _openvino_export(model: Path, path: Path, imgsz: int) -> Path | None:
    """cocoseg's OpenVINO export of the weights, or None (printed) without the openvino package."""
    from cocoseg.engine.export import export_openvino
    from cocoseg.errors import CocosegError

    try:
        return export_openvino(model, path, imgsz=imgsz, dynamic=True)
    except CocosegError as exc:
        print(f"cocoseg openvino: not run ({exc})")
        return None


if __name__ == "__main__":
    main()
