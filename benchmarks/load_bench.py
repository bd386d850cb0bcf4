"""Load + index a val2017-scale COCO JSON: cocoseg vs pycocotools, time and peak memory, one process each.

    python benchmarks/load_bench.py [--images 5000] [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _coco_synth import write_gt  # noqa: E402

RUNNERS = {
    "pycocotools": (
        "import contextlib, io\nfrom pycocotools.coco import COCO\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n    ds = COCO(PATH)\n"
        "n = len(ds.imgToAnns[ds.dataset['images'][0]['id']])"
    ),
    "cocoseg": (
        "from cocoseg.io import CocoDataset\nds = CocoDataset.load(PATH)\n"
        "n = len(ds.anns_for_image(ds.images[0]['id']))"
    ),
}

CHILD = """
import time, json, sys
PATH = sys.argv[1]
t = time.perf_counter()
{body}
dt = time.perf_counter() - t
# VmHWM, not ru_maxrss: the latter can carry the parent's peak across exec
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({{"seconds": dt, "peak_mb": hwm / 1024}}))
"""


def run(tool: str, path: Path) -> dict:
    """Time one load+index in a fresh interpreter (imports excluded from the time, included in memory)."""
    out = subprocess.run([sys.executable, "-c", CHILD.format(body=RUNNERS[tool]), str(path)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--gt", type=Path, default=None, help="an existing COCO JSON instead of the generated one")
    args = parser.parse_args()
    path = args.gt or write_gt(Path(tempfile.gettempdir()) / f"cocoseg_bench_gt_{args.images}.json", num_images=args.images)
    data = json.loads(path.read_text())
    print(f"{path} ({path.stat().st_size / 1e6:.1f} MB): {len(data['images'])} images, "
          f"{len(data['annotations'])} annotations")
    best = {}
    for tool in RUNNERS:
        runs = [run(tool, path) for _ in range(args.repeat)]
        best[tool] = {"seconds": min(r["seconds"] for r in runs), "peak_mb": min(r["peak_mb"] for r in runs)}
        print(f"{tool:12s} load+index {best[tool]['seconds']:.3f} s   peak RSS {best[tool]['peak_mb']:.0f} MB")
    ref, ours = best["pycocotools"], best["cocoseg"]
    print(f"ratio cocoseg/pycocotools: time {ours['seconds'] / ref['seconds']:.2f}x, "
          f"peak memory {ours['peak_mb'] / ref['peak_mb']:.2f}x")


if __name__ == "__main__":
    main()
