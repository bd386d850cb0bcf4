"""COCO evaluation at val2017 or Objects365 scale: cocoseg vs faster-coco-eval vs pycocotools, one fresh process per run.

    python benchmarks/eval_bench.py [--images 5000] [--per_image 100] [--iou_types bbox,segm]
                                    [--tools cocoseg,faster-coco-eval,pycocotools] [--repeat 1]

Builds (once, cached under --workdir) a deterministic set: --images images, 80 categories, ~7.3 GT
per image of which ~1% crowd, --per_image detections per image, segm results as compressed RLE.
Each run times the whole job from JSON files — import, load GT, load results, evaluate, accumulate,
summarize — in a fresh interpreter, interpreter start included; peak memory is the child's VmHWM
(on Linux its ru_maxrss would include the parent's peak, kept across exec). Phases are printed per
tool. cocoseg also runs once with an empty numba cache ("cold": includes compiling) before its
timed "warm" runs. The stats of every tool are compared with
pycocotools' (or faster-coco-eval's when pycocotools is skipped).
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

sys.path.insert(0, str(Path(__file__).parent))
from _coco_synth import write_eval_files  # noqa: E402

CHILD = r"""
import contextlib, io, json, resource, sys, time
tool, gt, res, iou_type = sys.argv[1:5]
marks = [("start", time.perf_counter())]
mark = lambda name: marks.append((name, time.perf_counter()))
if tool == "cocoseg":
    from cocoseg.eval import Evaluator
    from cocoseg.io.results import load_results
elif tool == "pycocotools":
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
elif tool == "hotcoco":
    from hotcoco import COCO, COCOeval
elif tool == "ultrafast-pycocotools":
    from ultrafast_pycocotools import COCO, COCOeval
else:
    from faster_coco_eval import COCO, COCOeval_faster as COCOeval
mark("import")
if tool == "cocoseg":
    ev = Evaluator(gt, iou_type)
    mark("gt")
    dets = load_results(res, ev.image_sizes)
    mark("results")
    ev.add_results(dets)
    mark("match")
    result = ev.compute()
    result.summary()
    stats = result.stats.tolist()
    mark("accumulate")
else:
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(gt)
        mark("gt")
        coco_dt = coco_gt.loadRes(res)
        mark("results")
        ev = COCOeval(coco_gt, coco_dt, iou_type)
        ev.evaluate()
        mark("match")
        ev.accumulate()
        ev.summarize()
        mark("accumulate")
    stats = [float(v) for v in ev.stats]
try:  # VmHWM: peak RSS of this address space (ru_maxrss would include the parent's, carried over by exec)
    peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")) / 1024
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
phases = {name: t - marks[i][1] for i, (name, t) in enumerate(marks[1:])}
print(json.dumps({"seconds": marks[-1][1] - marks[0][1], "phases": phases, "stats": stats, "peak_mb": peak}))
"""

TOOLS = ("cocoseg", "hotcoco", "ultrafast-pycocotools", "faster-coco-eval", "pycocotools")
PHASES = ("import", "gt", "results", "match", "accumulate")
SCALES = {  # name: (images, categories, GT per image, detections per image, GT polygons)
    "val2017": (5000, 80, 7.3, 100, True),
    "objects365": (80000, 365, 15.0, 50, False),  # Objects365 val: boxes only
}


def run_child(tool: str, gt: Path, results: Path, iou_type: str, env: dict | None = None) -> dict:
    """One evaluation in a fresh interpreter; `process_s` is the whole process, interpreter start included."""
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD, tool, str(gt), str(results), iou_type],
                         capture_output=True, text=True, env={**os.environ, **(env or {})})
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"{tool} {iou_type} failed:\n{out.stderr[-3000:]}")
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "process_s": wall}


def measure(tools: list[str], iou_type: str, paths: dict, repeat: int) -> dict[str, list[dict]]:
    """`repeat` runs per tool, interleaved (tool order rotates each round); cocoseg first compiles its cache."""
    with tempfile.TemporaryDirectory() as cache:
        # bytecode written as `pip install` does (the reference tools' is; PYTHONDONTWRITEBYTECODE would
        # make every cocoseg run compile its sources, ~30 ms of "import")
        env = {"NUMBA_CACHE_DIR": cache, "PYTHONDONTWRITEBYTECODE": ""}
        if "cocoseg" in tools:
            cold = run_child("cocoseg", paths["gt"], paths[iou_type], iou_type, env)
            print(f"  cocoseg cold numba cache: {cold['process_s']:.2f} s", flush=True)
        runs: dict[str, list[dict]] = {t: [] for t in tools}
        for r in range(repeat):
            for tool in tools[r % len(tools):] + tools[:r % len(tools)]:
                runs[tool].append(run_child(tool, paths["gt"], paths[iou_type], iou_type, env))
    for tool in tools:
        rs = runs[tool]
        t = [x["process_s"] for x in rs]
        m = [x["peak_mb"] for x in rs]
        phases = "  ".join(f"{p} {min(x['phases'][p] for x in rs):.2f}" for p in PHASES)
        print(f"  {tool:22s} {_span(t, ' s')}   peak RSS {_span(m, ' MB', 0)}   phases(best): {phases}", flush=True)
    return runs


def _span(values: list[float], unit: str, digits: int = 2) -> str:
    lo, hi = min(values), max(values)
    return f"{lo:.{digits}f}{unit}" if lo == hi or len(values) == 1 else f"{lo:.{digits}f}-{hi:.{digits}f}{unit}"


def report(runs: dict[str, list[dict]]) -> None:
    """Ratios against each other tool and stats agreement."""
    ours = runs.get("cocoseg")
    best = {t: min(r["process_s"] for r in rs) for t, rs in runs.items()}
    peak = {t: min(r["peak_mb"] for r in rs) for t, rs in runs.items()}
    if ours is not None:
        for other in runs:
            if other != "cocoseg":
                print(f"  cocoseg / {other}: time {best['cocoseg'] / best[other]:.2f}x, "
                      f"peak memory {peak['cocoseg'] / peak[other]:.2f}x")
    ref_name = next((t for t in ("pycocotools", "faster-coco-eval", "hotcoco") if t in runs), None)
    if ref_name is None:
        return
    ref = runs[ref_name][0]["stats"]
    for tool, rs in runs.items():
        if tool != ref_name:
            diff = max(abs(a - b) for a, b in zip(rs[0]["stats"], ref))
            print(f"  stats {tool} vs {ref_name}: {'identical' if diff == 0 else f'max |diff| {diff:.3g}'}")
    if ours is not None:
        st = ours[0]["stats"]
        print(f"  cocoseg AP {st[0]:.6f}  AP50 {st[1]:.6f}  AR100 {st[8]:.6f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SCALES), default="val2017")
    parser.add_argument("--images", type=int, help="override the scale's image count")
    parser.add_argument("--per_image", type=int, help="override the scale's detections per image")
    parser.add_argument("--iou_types", default="bbox,segm")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path(__file__).resolve().parents[1] / ".cocoseg_cache" / "eval_bench")
    args = parser.parse_args()
    tools = [t for t in args.tools.split(",") if t]
    unknown = set(tools) - set(TOOLS)
    if unknown:
        parser.error(f"unknown tools {sorted(unknown)}; choose from {', '.join(TOOLS)}")
    images, cats, per_gt, per_image, polygons = SCALES[args.scale]
    images, per_image = args.images or images, args.per_image or per_image
    kinds = [t for t in args.iou_types.split(",") if t]
    paths = write_eval_files(args.workdir, num_images=images, per_image=per_image, num_categories=cats,
                             anns_per_image=per_gt, kinds=kinds, polygons=polygons)
    kinds = [k for k in kinds if k in paths]
    print(f"{paths['gt'].parent}: {images} images, {cats} categories, ~{per_gt} GT and {per_image} detections "
          f"per image; CPUs {os.cpu_count()}; whole-process time (best run and range) and peak RSS")
    for iou_type in kinds:
        print(f"{iou_type} ({paths[iou_type].stat().st_size / 1e6:.0f} MB results, "
              f"GT {paths['gt'].stat().st_size / 1e6:.0f} MB):")
        report(measure(tools, iou_type, paths, args.repeat))


if __name__ == "__main__":
    main()
