"""GPU readiness in one run (about 5 minutes on one H100 with 16 CPU cores); prints one JSON report.

    python benchmarks/gpu_check.py [--iters 300] [--batch 32] [--imgsz 640] [--workers 16] [--out DIR]

Needs nothing outside the repository: it writes cocoseg's synthetic dataset, then checks, each in its
own try (an error is recorded in the report and the other checks still run):

- train: yolov8n-seg with AMP for ~`--iters` iterations at `--imgsz`, batch `--batch`: every loss
  finite, the last 50 iterations' mean total loss below the first 50's, GradScaler skipping under
  half of the optimizer steps; images/s of training;
- loader: the training loader alone at `--workers` workers, images/s (compare with training's: a
  GPU faster than its loader is starved);
- half: prediction in float16 vs float32 on the val images: every float32 detection with score >= 0.25
  (each image's top 5 if the model has none) has a float16 one of the same class with box IoU >= 0.9
  and mask IoU >= 0.8, and the total counts at conf 0.05 agree within 10 %;
- val: `validate_model` on CUDA (mAP and seconds); export: ONNX float32 and float16 traced on CUDA,
  ONNX Runtime on the float32 file giving the torch model's detections (same rule as half);
- ddp: a 1-process NCCL DDP training run through torchrun (`python -m torch.distributed.run`).

Exit status 0 when every check passed, 1 otherwise; without CUDA it prints one line and exits 2.
`--device cpu --smoke` runs every check tiny on CPU (to test this script where no GPU is).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def _check(report: dict, name: str, fn: Callable[[], dict]) -> dict | None:
    """Run one check; its result or its error (type, message, last frames) goes into the report."""
    t0 = time.perf_counter()
    try:
        out = fn()
        report["checks"][name] = {"ok": bool(out.pop("ok", True)), **out}
    except Exception as exc:  # one failing check must not hide the others
        out = None
        frames = traceback.format_exception(type(exc), exc, exc.__traceback__)
        report["checks"][name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}",
                                  "where": "".join(frames[-3:])[-1500:]}
    report["checks"][name]["seconds"] = round(time.perf_counter() - t0, 2)
    print(f"gpu_check: {name}: {'ok' if report['checks'][name]['ok'] else 'FAILED'} "
          f"({report['checks'][name]['seconds']} s)", file=sys.stderr)
    return out


def make_data(out: Path, images: int, size: int) -> dict:
    from cocoseg.synth import generate

    data = generate(out / "data", num_images=images, seed=0, size=(size, size), val_fraction=0.1)
    return {"data_yaml": str(data.data_yaml), "images": images}


def _train_config(args: argparse.Namespace, data: str, out: Path, name: str, epochs: int, **extra: Any) -> Any:
    from cocoseg.engine.config import TrainConfig

    settings = {"data": data, "model": "yolov8n-seg.yaml", "epochs": epochs, "imgsz": args.imgsz, "batch": args.batch,
                "workers": args.workers, "device": args.device, "project": str(out / "runs"), "name": name,
                "plots": False, "val": False, "amp": True, "exist_ok": True, "pretrained": False, "close_mosaic": 0,
                **extra}
    return TrainConfig.from_overrides({k: str(v) for k, v in settings.items()})


def train_check(args: argparse.Namespace, data: str, out: Path) -> dict:
    """AMP training: per-iteration losses, GradScaler skips, images/s."""
    import numpy as np
    import torch

    from cocoseg.engine.trainer import Trainer

    class Recording(Trainer):
        losses: list[float] = []
        skipped = steps = 0
        stamps: list[float] = []

        def _step(self, batch: dict) -> np.ndarray:
            items = super()._step(batch)
            Recording.losses.append(float(items.sum()))
            Recording.stamps.append(time.perf_counter())
            return items

        def _optimizer_step(self) -> None:
            scale = self.scaler.get_scale() if self.scaler.is_enabled() else 1.0
            super()._optimizer_step()
            Recording.steps += 1
            Recording.skipped += int(self.scaler.is_enabled() and self.scaler.get_scale() < scale)

    iters_per_epoch = max(1, math.ceil(0.9 * args.images / args.batch))
    epochs = max(1, math.ceil(args.iters / iters_per_epoch))
    trainer = Recording(_train_config(args, data, out, "amp", epochs))
    t0 = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - t0
    losses, stamps = Recording.losses, Recording.stamps
    k = min(50, max(1, len(losses) // 4))
    first, last = float(np.mean(losses[:k])), float(np.mean(losses[-k:]))
    timed = stamps[k:] if len(stamps) > k + 1 else stamps
    per_s = args.batch * (len(timed) - 1) / (timed[-1] - timed[0]) if len(timed) > 1 else float("nan")
    finite = bool(np.isfinite(losses).all())
    ok = (finite and last < first and Recording.skipped < 0.5 * max(Recording.steps, 1)
          and (trainer.amp or args.device == "cpu"))
    weights = Path(trainer.run_path) / "weights" / "last.pt"
    return {"ok": ok, "iterations": len(losses), "epochs": epochs, "amp": trainer.amp, "losses_finite": finite,
            "loss_first_mean": first, "loss_last_mean": last, "optimizer_steps": Recording.steps,
            "scaler_skipped_steps": Recording.skipped, "train_images_per_s": per_s, "seconds": seconds,
            "weights": str(weights), "max_memory_gib": torch.cuda.max_memory_allocated() / 2**30
            if torch.cuda.is_available() else 0.0}


def loader_check(args: argparse.Namespace, data: str, out: Path, batches: int) -> dict:
    """The training loader alone: images/s at `--workers` workers (first batch excluded)."""
    import torch

    from cocoseg.data import AugmentConfig, SegmentationDataset, collate
    from cocoseg.data.split_labels import load_split_labels

    split = load_split_labels(data, "train")
    dataset = SegmentationDataset(split.labels, args.imgsz, augment=True, hyp=AugmentConfig())
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch, shuffle=True, num_workers=args.workers,
                                         collate_fn=collate, pin_memory=torch.cuda.is_available(),
                                         persistent_workers=args.workers > 0)
    seen, t0, n = 0, None, 0
    while seen < batches:
        for batch in loader:
            seen += 1
            if t0 is None:
                t0 = time.perf_counter()
            else:
                n += len(batch["img"])
            if seen >= batches:
                break
    return {"loader_images_per_s": n / (time.perf_counter() - t0), "workers": args.workers, "batches": batches}


def _match(ref: list, other: list, box_iou_min: float, mask_iou_min: float) -> dict:
    """How many of `ref`'s confident detections `other` reproduces (same class, box and mask IoU)."""
    import numpy as np

    from cocoseg.masks import iou as mask_iou

    wanted = matched = 0
    count_ref = count_other = 0
    # the confident detections; a barely trained model may have none: then each image's top 5
    confident = any((r.scores >= 0.25).any() for r in ref)
    for a, b in zip(ref, other):
        count_ref, count_other = count_ref + len(a), count_other + len(b)
        rles_a, rles_b = a.masks.rle(), b.masks.rle()
        chosen = np.flatnonzero(a.scores >= 0.25) if confident else np.argsort(-a.scores)[:5]
        for i in chosen.tolist():
            wanted += 1
            same = np.flatnonzero(b.classes == a.classes[i])
            if not len(same):
                continue
            lt = np.maximum(a.boxes_xyxy[i, :2], b.boxes_xyxy[same, :2])
            rb = np.minimum(a.boxes_xyxy[i, 2:], b.boxes_xyxy[same, 2:])
            inter = np.clip(rb - lt, 0, None).prod(1)
            area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])  # noqa: E731
            ious = inter / (area(a.boxes_xyxy[i]) + area(b.boxes_xyxy[same]) - inter)
            j = int(same[int(np.argmax(ious))])
            if ious.max() >= box_iou_min and mask_iou([rles_a[i]], [rles_b[j]], [0])[0, 0] >= mask_iou_min:
                matched += 1
    counts_agree = abs(count_ref - count_other) <= max(2, 0.1 * count_ref)  # scores at conf may flip
    return {"ok": matched == wanted and counts_agree and wanted > 0, "compared": wanted, "matched": matched,
            "compared_what": "score>=0.25" if confident else "top 5 per image (none >= 0.25)",
            "detections_ref": count_ref, "detections_other": count_other,
            "tolerance": f"same class, box IoU>={box_iou_min}, mask IoU>={mask_iou_min}; total counts within 10%"}


def _val_images(data: str, limit: int) -> list[Path]:
    folder = Path(data).parent / "images" / "val"
    return sorted(folder.iterdir())[:limit]


def half_check(args: argparse.Namespace, weights: str, data: str) -> dict:
    from cocoseg.engine.predictor import Predictor

    images = _val_images(data, 32)
    kw = dict(imgsz=args.imgsz, conf=0.05, device=args.device, batch=8)
    full = Predictor(weights, **kw)(images)
    half = Predictor(weights, half=args.device != "cpu", **kw)(images)
    return _match(full, half, 0.9, 0.8)


def val_check(args: argparse.Namespace, weights: str, data: str) -> dict:
    from cocoseg.engine.validator import validate_model

    t0 = time.perf_counter()
    metrics = validate_model(weights, data, imgsz=args.imgsz, batch=args.batch, workers=min(args.workers, 8),
                             device=args.device)
    return {**metrics.as_dict(), "val_seconds": time.perf_counter() - t0}


def export_check(args: argparse.Namespace, weights: str, data: str, out: Path) -> dict:
    import onnx

    from cocoseg.engine.export import export_onnx
    from cocoseg.engine.predictor import Predictor

    f32 = export_onnx(weights, out / "f32.onnx", imgsz=args.imgsz, device=args.device)
    onnx.checker.check_model(str(f32))
    result: dict = {"onnx_f32_mib": f32.stat().st_size / 2**20}
    if args.device != "cpu":
        f16 = export_onnx(weights, out / "f16.onnx", imgsz=args.imgsz, device=args.device, half=True)
        onnx.checker.check_model(str(f16))
        result["onnx_f16_mib"] = f16.stat().st_size / 2**20
    images = _val_images(data, 8)
    kw = dict(imgsz=args.imgsz, conf=0.05, device="cpu")
    match = _match(Predictor(weights, **kw)(images), Predictor(f32, **kw)(images), 0.95, 0.9)
    return {**result, **{f"onnxruntime_{k}": v for k, v in match.items() if k != "ok"}, "ok": match["ok"]}


def ddp_check(args: argparse.Namespace, data: str, out: Path) -> dict:
    """torchrun, 1 process, NCCL (gloo on CPU), the trainer's DDP path forced on."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=1", __file__,
           "--child-ddp", data, "--out", str(out), "--imgsz", str(args.imgsz), "--batch", str(args.batch),
           "--workers", str(min(args.workers, 8)), "--device", args.device]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])})
    if proc.returncode:
        raise RuntimeError(f"torchrun exited {proc.returncode}: {proc.stderr.strip()[-1200:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def ddp_child(args: argparse.Namespace) -> None:
    import torch

    from cocoseg.engine.distributed import DistContext
    from cocoseg.engine.trainer import Trainer

    class Forced(DistContext):
        @property
        def enabled(self) -> bool:  # a 1-process job still goes through init_process_group and DDP
            return True

    dist = Forced(int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"]), int(os.environ["WORLD_SIZE"]))
    cfg = _train_config(args, args.child_ddp, args.out, "ddp", 1, max_iters=20, val=True)
    trainer = Trainer(cfg, dist)
    metrics = trainer.train()
    wrapped = type(trainer.train_model).__name__
    backend = torch.distributed.get_backend() if torch.distributed.is_initialized() else "none"
    print(json.dumps({"ok": wrapped == "DistributedDataParallel", "backend": backend, "wrapped": wrapped,
                      "mask_map50": metrics.get("mask_map50")}))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=300)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--imgsz", type=int, default=640)
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--images", type=int, default=256,
                    help="synthetic images written (90 %% train; cocoseg synth takes ~0.2-1 s per 640 image)")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes (with --device cpu: test this script)")
    ap.add_argument("--out", type=Path, default=None, help="work folder (default: a temporary one)")
    ap.add_argument("--child-ddp", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_ddp:
        ddp_child(args)
        return 0
    import torch

    if args.device != "cpu" and not torch.cuda.is_available():
        print(f"gpu_check: no CUDA device visible to torch {torch.__version__} (CUDA build: {torch.version.cuda}); "
              "nothing checked", file=sys.stderr)
        return 2
    if args.smoke:
        args.iters, args.batch, args.imgsz, args.workers, args.images = 6, 4, 96, 2, 40
    out = args.out or Path(tempfile.mkdtemp(prefix="cocoseg_gpu_check_"))
    report: dict = {"device": torch.cuda.get_device_name() if args.device != "cpu" else "cpu",
                    "torch": torch.__version__, "cuda": torch.version.cuda, "cpus": os.cpu_count(),
                    "settings": {k: v for k, v in vars(args).items() if k not in ("child_ddp", "out")},
                    "checks": {}}
    data = _check(report, "data", lambda: make_data(out, args.images, args.imgsz))
    if data is not None:
        yaml = data["data_yaml"]
        trained = _check(report, "train", lambda: train_check(args, yaml, out))
        _check(report, "loader", lambda: loader_check(args, yaml, out, 5 if args.smoke else 40))
        weights = trained["weights"] if trained else "yolov8n-seg"  # a fresh model still tests the paths
        _check(report, "half", lambda: half_check(args, weights, yaml))
        _check(report, "val", lambda: val_check(args, weights, yaml))
        _check(report, "export", lambda: export_check(args, weights, yaml, out))
        _check(report, "ddp", lambda: ddp_check(args, yaml, out))
    checks = report["checks"]
    if "train" in checks and "loader" in checks and checks["loader"]["ok"] and checks["train"]["ok"]:
        report["gpu_starved"] = checks["loader"]["loader_images_per_s"] < 1.1 * checks["train"]["train_images_per_s"]
    report["ok"] = all(c["ok"] for c in checks.values())
    print(json.dumps(report, indent=1, default=str))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
