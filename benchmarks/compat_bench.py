"""The pycocotools drop-in: the same unchanged pycocotools script on pycocotools, on cocoseg.compat and on
faster-coco-eval's drop-in, one fresh process per run, on the same files.

    python benchmarks/compat_bench.py [--images 5000] [--per_image 100] [--iou_types bbox,segm]
                                      [--client script,torchvision,torchmetrics] [--repeat 2]

"script" is the classic COCO(gt) / loadRes / evaluate / accumulate / summarize; "torchvision" drives
COCOeval the way torchvision's detection reference does (batches of 8 images: loadRes, cocoDt assigned,
params.imgIds set, evaluate, evalImgs read; then evalImgs merged, accumulate, summarize); "torchmetrics"
is `MeanAveragePrecision(backend="pycocotools")` updated in batches of 8 images and computed (bbox; the
tensors are built before the clock starts; needs torch and torchmetrics). The drop-ins
are installed with their `init_as_pycocotools()` before the script imports pycocotools. Times are the
whole job after the imports; runs of the tools are interleaved; the stats are compared with pycocotools'.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _coco_synth import write_eval_files  # noqa: E402

CHILD = r"""
import contextlib, copy, io, json, sys, time
import numpy as np
tool, client, gt_file, res_file, iou_type = sys.argv[1:6]
if tool == "cocoseg":
    import cocoseg.compat
    cocoseg.compat.init_as_pycocotools()
elif tool == "faster-coco-eval":
    import faster_coco_eval
    faster_coco_eval.init_as_pycocotools()
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
if client == "torchmetrics":  # MeanAveragePrecision(backend="pycocotools") over the same boxes, batches of 8
    import torch, types
    import torchmetrics.detection.mean_ap as tm_map  # it only needs torchvision's box_convert: a stand-in
    tm_map._TORCHVISION_AVAILABLE = True
    xywh = lambda b: torch.stack([b[:, 0], b[:, 1], b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], 1)
    sys.modules["torchvision"] = types.SimpleNamespace(ops=types.SimpleNamespace(box_convert=lambda b, **_: xywh(b)))
    sys.modules["torchvision.ops"] = sys.modules["torchvision"].ops
    gt_data, by_image = json.load(open(gt_file)), {}
    for kind, records in (("gt", gt_data["annotations"]), ("dt", json.load(open(res_file)))):
        for r in records:
            by_image.setdefault((kind, r["image_id"]), []).append(r)
    boxes = lambda rs: torch.tensor([[x, y, x + w, y + h] for x, y, w, h in (r["bbox"] for r in rs)],
                                    dtype=torch.float64).reshape(-1, 4)
    def column(rs, key, dtype=torch.int64):
        return torch.tensor([r[key] for r in rs], dtype=dtype)
    preds, target = [], []
    for im in sorted(i["id"] for i in gt_data["images"]):
        d, g = by_image.get(("dt", im), []), by_image.get(("gt", im), [])
        preds.append({"boxes": boxes(d), "scores": column(d, "score", torch.float64), "labels": column(d, "category_id")})
        target.append({"boxes": boxes(g), "labels": column(g, "category_id"), "iscrowd": column(g, "iscrowd"),
                       "area": column(g, "area", torch.float64)})
start = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    if client == "torchmetrics":
        metric = tm_map.MeanAveragePrecision(backend="pycocotools", iou_type="bbox")
        for b in range(0, len(preds), 8):
            metric.update(preds[b:b + 8], target[b:b + 8])
        out = metric.compute()
        stats = [float(out[k]) for k in ("map", "map_50", "map_75", "map_small", "map_medium", "map_large",
                                         "mar_1", "mar_10", "mar_100", "mar_small", "mar_medium", "mar_large")]
    else:
        coco_gt = COCO(gt_file)
    if client == "script":
        ev = COCOeval(coco_gt, coco_gt.loadRes(res_file), iou_type)
        ev.evaluate()
    elif client == "torchvision":
        results = json.load(open(res_file))
        by_image = {}
        for r in results:
            by_image.setdefault(r["image_id"], []).append(r)
        ev = COCOeval(coco_gt, iouType=iou_type)
        images, parts = sorted(coco_gt.getImgIds()), []
        for b in range(0, len(images), 8):
            ids = images[b:b + 8]
            batch = [r for i in ids for r in by_image.get(i, [])]
            ev.cocoDt = COCO.loadRes(coco_gt, batch) if batch else COCO()
            ev.params.imgIds = list(ids)
            ev.evaluate()
            parts.append(np.asarray(ev.evalImgs).reshape(-1, len(ev.params.areaRng), len(ev.params.imgIds)))
        ev.evalImgs = list(np.concatenate(parts, 2).flatten())
        ev.params.imgIds = images
        ev._paramsEval = copy.deepcopy(ev.params)
    if client != "torchmetrics":
        ev.accumulate()
        ev.summarize()
        stats = [float(v) for v in ev.stats]
end = time.perf_counter()
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024
print(json.dumps({"seconds": end - start, "stats": stats, "peak_mb": peak}))
"""

TOOLS = ("cocoseg", "faster-coco-eval", "pycocotools")


def run_child(tool: str, client: str, gt: Path, results: Path, iou_type: str) -> dict:
    """One timed run in a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", CHILD, tool, client, str(gt), str(results), iou_type],
                         capture_output=True, text=True, env=dict(os.environ))
    if out.returncode != 0:
        raise RuntimeError(f"{tool} {client} {iou_type} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(tools: list[str], client: str, iou_type: str, paths: dict, repeat: int) -> None:
    """Interleaved runs; prints the range of times, peak memory, ratios and stats agreement."""
    run_child("cocoseg", client, paths["gt"], paths[iou_type], iou_type)  # fills the numba cache
    runs: dict[str, list[dict]] = {t: [] for t in tools}
    for _ in range(repeat):
        for tool in list(runs):
            try:
                runs[tool].append(run_child(tool, client, paths["gt"], paths[iou_type], iou_type))
            except RuntimeError as exc:  # a drop-in that cannot run this client is reported, not fatal
                print(f"  {tool:17s} FAILED: {str(exc).strip().splitlines()[-1]}", flush=True)
                del runs[tool]
    tools = [t for t in tools if t in runs]
    times = {t: sorted(r["seconds"] for r in rs) for t, rs in runs.items()}
    for tool in tools:
        print(f"  {tool:17s} {times[tool][0]:7.2f}-{times[tool][-1]:.2f} s   peak RSS "
              f"{min(r['peak_mb'] for r in runs[tool]):6.0f} MB", flush=True)
    ref = "pycocotools" if "pycocotools" in runs else tools[0]
    for tool in tools:
        if tool != ref:
            print(f"  {ref} / {tool}: {times[ref][0] / times[tool][0]:.1f}x faster (best runs)")
            same = all(r["stats"] == runs[ref][0]["stats"] for r in runs[tool])
            print(f"  stats {tool} vs {ref}: {'identical' if same else 'DIFFER'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--per_image", type=int, default=100)
    parser.add_argument("--iou_types", default="bbox,segm")
    parser.add_argument("--client", default="script,torchvision,torchmetrics")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path(__file__).resolve().parents[1] / ".cocoseg_cache" / "eval_bench")
    args = parser.parse_args()
    tools = [t for t in args.tools.split(",") if t]
    if set(tools) - set(TOOLS):
        parser.error(f"unknown tools {sorted(set(tools) - set(TOOLS))}; choose from {', '.join(TOOLS)}")
    paths = write_eval_files(args.workdir, num_images=args.images, per_image=args.per_image)
    print(f"{paths['gt'].parent}: {args.images} images, {args.per_image} detections per image; CPUs {os.cpu_count()}")
    for client in [c for c in args.client.split(",") if c]:
        for iou_type in [t for t in args.iou_types.split(",") if t]:
            if client == "torchmetrics" and iou_type != "bbox":
                continue  # its masks are dense (N, H, W) tensors: the data alone would outweigh the evaluation
            print(f"{client} {iou_type}:", flush=True)
            measure(tools, client, iou_type, paths, args.repeat)


if __name__ == "__main__":
    main()
