"""COCO evaluation at val2017 scale: cocoseg vs faster-coco-eval vs pycocotools, one fresh process per run.

    python benchmarks/eval_bench.py [--images 5000] [--per_image 100] [--iou_types bbox,segm]
                                    [--tools cocoseg,faster-coco-eval,pycocotools] [--repeat 1]

Builds (once, cached under --workdir) a deterministic set: --images images, 80 categories, ~7.3 GT
per image of which ~1% crowd, --per_image detections per image, segm results as compressed RLE.
Each run times the whole job from JSON files — load GT, load results, evaluate, accumulate,
summarize — in a fresh interpreter (imports excluded from the time, included in peak memory,
the child's VmHWM: on Linux its ru_maxrss would include the parent's peak, kept across exec). cocoseg also runs once with an empty numba cache ("cold":
includes compiling) before its timed "warm" runs. The stats of every tool are compared with
pycocotools' (or faster-coco-eval's when pycocotools is skipped).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _coco_synth import write_eval_files  # noqa: E402

CHILD = r"""
import contextlib, io, json, resource, sys, time
tool, gt, res, iou_type = sys.argv[1:5]
t_import = time.perf_counter()
if tool == "cocoseg":
    from cocoseg.eval import evaluate
elif tool == "pycocotools":
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
else:
    from faster_coco_eval import COCO, COCOeval_faster as COCOeval
start = time.perf_counter()
if tool == "cocoseg":
    result = evaluate(gt, res, iou_type)
    result.summary()
    stats = result.stats.tolist()
else:
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(gt)
        coco_dt = coco_gt.loadRes(res)
        ev = COCOeval(coco_gt, coco_dt, iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    stats = [float(v) for v in ev.stats]
end = time.perf_counter()
try:  # VmHWM: peak RSS of this address space (ru_maxrss would include the parent's, carried over by exec)
    peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")) / 1024
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": end - start, "import_s": start - t_import, "stats": stats, "peak_mb": peak}))
"""

TOOLS = ("cocoseg", "faster-coco-eval", "pycocotools")


def run_child(tool: str, gt: Path, results: Path, iou_type: str, env: dict | None = None) -> dict:
    """One timed evaluation in a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", CHILD, tool, str(gt), str(results), iou_type],
                         capture_output=True, text=True, env={**os.environ, **(env or {})})
    if out.returncode != 0:
        raise RuntimeError(f"{tool} {iou_type} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(tools: list[str], iou_type: str, paths: dict, repeat: int) -> dict[str, dict]:
    """Best-of-`repeat` time and peak memory per tool (cocoseg: plus a cold-cache run)."""
    rows: dict[str, dict] = {}
    for tool in tools:
        if tool == "cocoseg":
            with tempfile.TemporaryDirectory() as cache:
                cold = run_child(tool, paths["gt"], paths[iou_type], iou_type, {"NUMBA_CACHE_DIR": cache})
                runs = [run_child(tool, paths["gt"], paths[iou_type], iou_type, {"NUMBA_CACHE_DIR": cache})
                        for _ in range(repeat)]
        else:
            cold, runs = None, [run_child(tool, paths["gt"], paths[iou_type], iou_type) for _ in range(repeat)]
        best = min(runs, key=lambda r: r["seconds"])
        rows[tool] = {**best, "peak_mb": min(r["peak_mb"] for r in runs), "cold_s": cold and cold["seconds"]}
        extra = f"   (cold numba cache: {cold['seconds']:.2f} s)" if cold else ""
        print(f"  {tool:17s} {best['seconds']:7.2f} s   peak RSS {rows[tool]['peak_mb']:6.0f} MB"
              f"   import {best['import_s']:.2f} s{extra}", flush=True)
    return rows


def report(iou_type: str, rows: dict[str, dict]) -> None:
    """Ratios and stats agreement for one IoU type."""
    ref_name = "pycocotools" if "pycocotools" in rows else "faster-coco-eval" if "faster-coco-eval" in rows else None
    ours = rows.get("cocoseg")
    if ours is None or ref_name is None:
        return
    for other in ("faster-coco-eval", "pycocotools"):
        if other in rows:
            print(f"  cocoseg / {other}: time {ours['seconds'] / rows[other]['seconds']:.3f}x, "
                  f"peak memory {ours['peak_mb'] / rows[other]['peak_mb']:.2f}x")
    ref = rows[ref_name]["stats"]
    for tool, row in rows.items():
        if tool != ref_name:
            diff = max(abs(a - b) for a, b in zip(row["stats"], ref))
            same = "identical" if diff == 0 else f"max |diff| {diff:.3g}"
            print(f"  stats {tool} vs {ref_name}: {same}")
    print(f"  cocoseg AP {ours['stats'][0]:.6f}  AP50 {ours['stats'][1]:.6f}  AR100 {ours['stats'][8]:.6f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--per_image", type=int, default=100)
    parser.add_argument("--iou_types", default="bbox,segm")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=Path(__file__).resolve().parents[1] / ".cocoseg_cache" / "eval_bench")
    args = parser.parse_args()
    tools = [t for t in args.tools.split(",") if t]
    unknown = set(tools) - set(TOOLS)
    if unknown:
        parser.error(f"unknown tools {sorted(unknown)}; choose from {', '.join(TOOLS)}")
    paths = write_eval_files(args.workdir, num_images=args.images, per_image=args.per_image)
    gt = json.loads(paths["gt"].read_text())
    crowd = sum(a["iscrowd"] for a in gt["annotations"])
    print(f"{paths['gt'].parent}: {len(gt['images'])} images, {len(gt['categories'])} categories, "
          f"{len(gt['annotations'])} GT ({crowd} crowd), {args.per_image} detections per image; "
          f"CPUs {os.cpu_count()}")
    del gt
    for iou_type in [t for t in args.iou_types.split(",") if t]:
        print(f"{iou_type} ({paths[iou_type].stat().st_size / 1e6:.0f} MB results):")
        report(iou_type, measure(tools, iou_type, paths, args.repeat))


if __name__ == "__main__":
    main()
